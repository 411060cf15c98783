/**
 * The signed-update circuit with the adaptive rule (circuits/generate-update-circuit.ts, `adaptive`) on real
 * signed BTC windows: its packed update equals what the integer engine gives (windowOutcome, adaptiveUpdate,
 * the policy at the new state's calibrationNum), over a run of consecutive bars as the oracle would see them
 * (bars with no accepted update, breaches, covered bars), at the clamp and at every annealing stage; a prover
 * that changes the state it starts from changes the public signal (which the oracle compares with its storage),
 * and the update cannot be edited after the fact.
 */
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildWindow, integerCandlesOf } from "../../candles";
import { marketIdOf } from "../../candles/market-id";
import { generateUpdateCircuit } from "../../circuits/generate-update-circuit";
import { UPDATE_SIGNALS } from "../../circuits/public-signals";
import { adaptiveDigestSignal, packAdaptivePrior, unpackAdaptiveUpdate } from "../../circuits/statement";
import { loadCircuit, type TestCircuit } from "../helpers/circuits";
import { WINDOW_BARS } from "../../candles/window";
import { initialState, stateToNum, type AdaptiveRule, type AdaptiveState } from "../../models/adaptive";
import { loadCalibrations } from "../../models/market-calibrations";
import { loadCandles } from "../../candles/load-data";
import { loadQuantizedModel } from "../../models/quantized-model";
import { TARGET_HORIZON_BARS } from "../../models/target";
import { publicKeyOf } from "../../publisher/eddsa";
import { makePublisherSet, type PublisherSet } from "../../publisher/publisher-set";
import { signWindow } from "../../publisher/signed-window";
import type { PublisherKey } from "../../publisher/keystore";
import { signedUpdateInput, type SignedUpdateInput } from "../../prover/update-input";

const ROOT = join(__dirname, "../..");
const model = loadQuantizedModel(join(ROOT, "models/btc-usdt-2h.quantized.json"));
const series = loadCandles(join(ROOT, "models/data/btcusdt-2h.csv"));
const ints = integerCandlesOf(series);
const RULE: AdaptiveRule = loadCalibrations(join(ROOT, "models/calibrations.json")).adaptive;
const MARKET = "BTC-USDT";
const DOMAIN = 77n;

describe("signed-update circuit with the adaptive rule, quorum 1, constant weights", () => {
  let circuit: TestCircuit;
  let key: PublisherKey;
  let publishers: PublisherSet;

  beforeAll(async () => {
    const generated = await generateUpdateCircuit(model, "constant", 1, undefined, { adaptive: RULE });
    circuit = await loadCircuit(generated.source, "signed_update_k1_constant_adaptive");
    const privateKey = new Uint8Array(32).fill(1);
    key = { privateKey, publicKey: await publicKeyOf(privateKey) };
    publishers = await makePublisherSet([key.publicKey], 1);
  }, 600_000);

  const inputAt = async (
    index: number,
    state: AdaptiveState,
    marginS: bigint,
  ): Promise<SignedUpdateInput> => {
    const window = buildWindow(series, marketIdOf(MARKET), index, WINDOW_BARS, ints);
    return signedUpdateInput(model, "constant", {
      windows: [await signWindow(key, MARKET, window)],
      publishers,
      domain: DOMAIN,
      adaptive: { rule: RULE, state, marginS },
    });
  };

  const outputsOf = async (input: SignedUpdateInput["input"]) => {
    const w = await circuit.witness(input as never);
    expect(circuit.violated(w)).toEqual([]);
    return UPDATE_SIGNALS.map((name) => circuit.read(w, `main.${name}`));
  };

  it("costs the plain circuit's parts, the adaptive step and the policy with a private calibration", () => {
    // the plain circuit's 21,941 (signed-update-circuit.test.ts; FieldLowBits(L) costs 511 for any L, so 91
    // digest bits cost what 180 did) + AdaptiveCalibration 1,962 (templates-adaptive.test.ts) + 164 for the
    // policy with k = calibrationNum * (10000 + bufferBps) a signal (MarginPolicyPrivateK's range checks of y
    // and k and their product, and the raw MM and IM intervals widened to scale 4.0)
    expect(circuit.constraints).toBe(21941 + 1962 + 164);
  });

  it("agrees with the engine over 40 consecutive bars as the oracle sees them (missed bars, no outcome)", async () => {
    const start = series.candles.length - 40;
    const missed = new Set([start + 3, start + 17, start + 18]);
    const mmAt = new Map<number, bigint>();
    let state = initialState(model.policy.calibrationNum);
    let outcomes = 0;
    let none = 0;
    for (let t = start; t < series.candles.length; t++) {
      if (missed.has(t)) continue;
      const marginS = mmAt.get(t - TARGET_HORIZON_BARS) ?? 0n;
      const built = await inputAt(t, state, marginS);
      expect(await outputsOf(built.input), `bar ${t}`).toEqual(built.publicSignals);
      const u = unpackAdaptiveUpdate(built.publicSignals[0]);
      const a = built.adaptive!;
      expect(u.before).toEqual({ num: state.num, outcomes: BigInt(state.outcomes) });
      expect(u.marginS).toBe(marginS);
      expect(u.after).toEqual({ num: a.after.num, outcomes: BigInt(a.after.outcomes) });
      expect(u.mm).toBe(built.trace.maintenanceMarginBps);
      expect(u.digest).toBe(adaptiveDigestSignal(built.windowDigest));
      if (a.outcome === null) none++;
      else outcomes++;
      state = a.after;
      mmAt.set(t, u.mm);
    }
    // no outcome: the first 12 bars but the missed start + 3 (11), and the three bars 12 after a missed one
    expect(none).toBe(11 + 3);
    expect(outcomes).toBe(40 - 3 - 14);
  }, 600_000);

  it("agrees at every annealing stage, with breaches, and at the clamp's ends", async () => {
    const t = series.candles.length - 1;
    const cases: [AdaptiveState, bigint][] = [
      [{ num: BigInt(RULE.maxNum) << 8n, outcomes: 0 }, 1n], // a breach at the top: clamped
      [{ num: BigInt(RULE.minNum) << 8n, outcomes: 1500 }, 10000n], // covered at the bottom: clamped
      [{ num: 49021n << 8n, outcomes: 499 }, 1n],
      [{ num: 49021n << 8n, outcomes: 500 }, 1n],
      [{ num: 49021n << 8n, outcomes: 1000 }, 9999n],
      [{ num: 123456789n >> 3n, outcomes: 1499 }, 700n],
    ];
    let breaches = 0;
    for (const [state, marginS] of cases) {
      const built = await inputAt(t, state, marginS);
      expect(await outputsOf(built.input), `${state.num} ${state.outcomes} ${marginS}`).toEqual(
        built.publicSignals,
      );
      if (built.adaptive!.outcome === true) breaches++;
      expect(built.adaptive!.calibrationNum).toBe(stateToNum(built.adaptive!.after.num));
    }
    expect(breaches).toBeGreaterThanOrEqual(3);
  }, 600_000);

  it("states the state it started from: another prior gives another signal, and the update cannot be edited", async () => {
    const t = series.candles.length - 1;
    const state = { num: 49021n << 8n, outcomes: 600 };
    const honest = await inputAt(t, state, 1200n);
    const w = await circuit.witness(honest.input as never);
    const prior = (update: bigint) => (update >> 72n) & ((1n << 52n) - 1n);
    expect(prior(honest.publicSignals[0])).toBe(packAdaptivePrior({ num: state.num, outcomes: 600n }, 1200n));
    // a prover starting from another num, another count, or claiming "no outcome": the signal's prior differs
    for (const edit of [{ stateNum: state.num + 1n }, { stateOutcomes: 601n }, { marginS: 0n }]) {
      const input = {
        ...honest.input,
        ...Object.fromEntries(Object.entries(edit).map(([k, v]) => [k, v.toString()])),
      };
      const [update] = await outputsOf(input);
      expect(prior(update)).not.toBe(prior(honest.publicSignals[0]));
    }
    // the update edited after the fact (its prior bits set to another state): its defining constraint refuses it
    const forged = circuit.edit(w, { "main.update": circuit.read(w, "main.update") + (1n << 72n) });
    expect(circuit.violated(forged).length).toBeGreaterThan(0);
    // the new state edited after the fact
    const forgedNew = circuit.edit(w, { "main.update": circuit.read(w, "main.update") + (1n << 124n) });
    expect(circuit.violated(forgedNew).length).toBeGreaterThan(0);
  }, 600_000);
});

describe("signed-update circuit with the adaptive rule, quorum 1, committed weights", () => {
  it("agrees with the engine and states the model file's commitment (its own calibration: the initial state)", async () => {
    const generated = await generateUpdateCircuit(model, "committed", 1, undefined, { adaptive: RULE });
    const circuit = await loadCircuit(generated.source, "signed_update_k1_committed_adaptive");
    const privateKey = new Uint8Array(32).fill(1);
    const key = { privateKey, publicKey: await publicKeyOf(privateKey) };
    const publishers = await makePublisherSet([key.publicKey], 1);
    const t = series.candles.length - 1;
    const window = buildWindow(series, marketIdOf(MARKET), t, WINDOW_BARS, ints);
    for (const [state, marginS] of [
      [{ num: 70000n << 8n, outcomes: 42 }, 900n],
      [{ num: BigInt(RULE.maxNum) << 8n, outcomes: 1500 }, 0n],
    ] as const) {
      const built = await signedUpdateInput(model, "committed", {
        windows: [await signWindow(key, MARKET, window)],
        publishers,
        domain: DOMAIN,
        adaptive: { rule: RULE, state, marginS },
      });
      const w = await circuit.witness(built.input as never);
      expect(circuit.violated(w)).toEqual([]);
      expect(UPDATE_SIGNALS.map((name) => circuit.read(w, `main.${name}`))).toEqual(built.publicSignals);
    }
    expect(generated.modelCommitment).toBeGreaterThan(0n);
  }, 600_000);
});
