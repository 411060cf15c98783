/**
 * The signed-update circuit with the adaptive rule (circuits/generate-update-circuit.ts, `adaptive`) on real
 * signed BTC windows: its packed update equals what the integer engine gives (windowOutcome with the prior's lag,
 * adaptiveUpdate, the policy at the new state's calibrationNum), over a run of consecutive bars as the oracle
 * would see them (`PendingOutcomes`: bars with no accepted update, outcomes caught up later with a lag, breaches,
 * covered bars), at the clamp, at every annealing stage and lag; a prover that changes the state, margin or lag
 * it starts from changes the public signal (which the oracle compares with its storage), and the update cannot be
 * edited after the fact.
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
import {
  initialState,
  PendingOutcomes,
  stateToNum,
  windowOutcome,
  type AdaptiveRule,
  type AdaptiveState,
} from "../../models/adaptive";
import { loadCalibrations } from "../../models/market-calibrations";
import { loadCandles } from "../../candles/load-data";
import { loadQuantizedModel } from "../../models/quantized-model";
import { MAX_OUTCOME_LAG } from "../../models/target";
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
/**
 * The selection's products that read the highs and lows of bars t - 22 .. t - 12 wired to constant 0, which fold
 * away at --O2: none since window layout v3 signs the highs and lows of the last 24 bars (the window's range part
 * covers bars t - 23 .. t). With layout v2's 12-bar range part they were 2 x (the 11 highs' and lows' products with
 * e_j that fell before it, 1 + 2 + ... + 11 = 66) = 132.
 */
const ZERO_PRODUCTS = 0;
const DOMAIN = 77n;
/** The smallest margin (bps) that covers the outcome of bar s = t - 12 - lag in `bars` (a present outcome). */
function coveringMargin(bars: Parameters<typeof windowOutcome>[0], lag: number): bigint {
  let lo = 1n;
  let hi = 10000n;
  if (windowOutcome(bars, hi, lag) !== false) throw new Error(`lag ${lag}: no margin covers it`);
  while (lo < hi) {
    const mid = (lo + hi) / 2n;
    if (windowOutcome(bars, mid, lag) === false) hi = mid;
    else lo = mid + 1n;
  }
  return lo;
}

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
    lag = 0,
  ): Promise<SignedUpdateInput> => {
    const window = buildWindow(series, marketIdOf(MARKET), index, WINDOW_BARS, ints);
    return signedUpdateInput(model, "constant", {
      windows: [await signWindow(key, MARKET, window)],
      publishers,
      domain: DOMAIN,
      adaptive: { rule: RULE, state, marginS, lag },
    });
  };

  const outputsOf = async (input: SignedUpdateInput["input"]) => {
    const w = await circuit.witness(input as never);
    expect(circuit.violated(w)).toEqual([]);
    return UPDATE_SIGNALS.map((name) => circuit.read(w, `main.${name}`));
  };

  it("costs the plain circuit's parts, the adaptive step and the policy with a private calibration", () => {
    // the plain circuit's 22,766 (signed-update-circuit.test.ts, window layout v3; FieldLowBits(L) costs 511 for
    // any L, so 87 digest bits cost what 180 did) + AdaptiveCalibration 2,298 (templates-adaptive.test.ts), every
    // one of its selection products reading a signed high or low (ZERO_PRODUCTS = 0) + 164 for the policy with
    // k = calibrationNum * (10000 + bufferBps) a signal (MarginPolicyPrivateK's range checks of y and k and their
    // product, and the raw MM and IM intervals widened to scale 4.0). With layout v2: 21,941 + 2,298 - 132 + 164
    // = 24,271; before the lag: 21,941 + 1,962 + 164 = 24,067.
    expect(circuit.constraints).toBe(22766 + 2298 - ZERO_PRODUCTS + 164);
    expect(circuit.constraints).toBe(25228);
  });

  it("agrees with the engine over 40 consecutive bars as the oracle sees them (missed bars, late outcomes)", async () => {
    const start = series.candles.length - 40;
    const missed = new Set([start + 3, start + 17, start + 18]);
    const pending = new PendingOutcomes();
    const barOf = (t: number) => series.candles[t].time / series.intervalMs;
    let state = initialState(model.policy.calibrationNum);
    let outcomes = 0;
    let none = 0;
    let late = 0;
    for (let t = start; t < series.candles.length; t++) {
      if (missed.has(t)) continue;
      const { marginS, lag } = pending.prior(barOf(t));
      const built = await inputAt(t, state, marginS, lag);
      expect(await outputsOf(built.input), `bar ${t}`).toEqual(built.publicSignals);
      const u = unpackAdaptiveUpdate(built.publicSignals[0]);
      const a = built.adaptive!;
      expect(u.before).toEqual({ num: state.num, outcomes: BigInt(state.outcomes) });
      expect([u.marginS, u.lag]).toEqual([marginS, BigInt(lag)]);
      expect(u.after).toEqual({ num: a.after.num, outcomes: BigInt(a.after.outcomes) });
      expect(u.mm).toBe(built.trace.maintenanceMarginBps);
      expect(u.digest).toBe(adaptiveDigestSignal(built.windowDigest));
      if (a.outcome === null) none++;
      else outcomes++;
      if (a.outcome !== null && lag > 0) late++;
      state = a.after;
      expect(pending.accept(barOf(t), u.mm)).toEqual([]);
    }
    // no outcome: the first 12 bars but the missed start + 3 (11), and start + 15 (its bar s = start + 3 was
    // missed, and no older bar is pending); the outcomes of start + 5 .. start + 16, whose bars s + 12 came
    // while start + 17 and start + 18 were missed, are caught up at lag 2 by start + 19 .. start + 30
    expect(none).toBe(11 + 1);
    expect(outcomes).toBe(40 - 3 - 12);
    expect(late).toBe(12);
  }, 600_000);

  it("reads a late outcome's real highs and lows: lag 3 covered at 9999 bps, where layout v2's zeros breached", async () => {
    // the last bar t: the outcome of bar t - 15 moved a few per cent; the signed window (layout v3) holds the highs
    // and lows of bars t - 14 .. t - 12 that a v2 window held as 0 (a move of close_s: a breach below 10000 bps)
    const t = series.candles.length - 1;
    const window = buildWindow(series, marketIdOf(MARKET), t, WINDOW_BARS, ints);
    const n = window.bars.length;
    for (const b of window.bars.slice(n - 24)) expect(b.low).toBeGreaterThan(0n);
    expect(coveringMargin(window.bars, 3)).toBeLessThan(1000n);
    const state = { num: 49021n << 8n, outcomes: 600 };
    const built = await inputAt(t, state, 9999n, 3);
    expect(await outputsOf(built.input)).toEqual(built.publicSignals);
    expect(built.adaptive!.outcome).toBe(false);
    expect(built.adaptive!.after.num).toBeLessThan(state.num);
    expect((built.input.low as string[]).slice(0, 12).every((l) => BigInt(l) > 0n)).toBe(true);
    // the same window as layout v2 signed it (high = low = 0 before its last 12 bars): the engine's outcome of
    // the same bar at the same margin breaches (no v2 window has a witness any more: the digest is v3's)
    const v2 = window.bars.map((b, i) => (i < n - 12 ? { ...b, high: 0n, low: 0n } : b));
    expect(windowOutcome(v2, 9999n, 3)).toBe(true);
    expect(windowOutcome(window.bars, 9999n, 3)).toBe(false);
  }, 600_000);

  it("counts the breach of a late outcome (lag > 0) that the outcome at lag 0 does not have", async () => {
    // a bar t near the end whose bar t - 15 moved more than bar t - 12: bar t - 12's smallest covering margin
    // covers lag 0; the same margin for bar t - 15 (a pending outcome caught up late, lag 3) breaches, as
    // windowOutcome says on the signed window's real highs and lows
    const lag = 3;
    let t = series.candles.length - 1;
    let window = buildWindow(series, marketIdOf(MARKET), t, WINDOW_BARS, ints);
    while (coveringMargin(window.bars, lag) <= coveringMargin(window.bars, 0)) {
      t--;
      window = buildWindow(series, marketIdOf(MARKET), t, WINDOW_BARS, ints);
    }
    expect(t).toBeGreaterThan(series.candles.length - 50);
    const state = { num: 49021n << 8n, outcomes: 600 };
    const marginS = coveringMargin(window.bars, 0);
    expect(windowOutcome(window.bars, marginS, 0)).toBe(false);
    expect(windowOutcome(window.bars, marginS, lag)).toBe(true);
    const covered = await inputAt(t, state, marginS, 0);
    const breached = await inputAt(t, state, marginS, lag);
    expect(await outputsOf(covered.input)).toEqual(covered.publicSignals);
    expect(await outputsOf(breached.input)).toEqual(breached.publicSignals);
    expect(covered.adaptive!.outcome).toBe(false);
    expect(breached.adaptive!.outcome).toBe(true);
    expect(breached.adaptive!.after.num).toBeGreaterThan(state.num);
    expect(covered.adaptive!.after.num).toBeLessThan(state.num);
  }, 600_000);

  it("agrees at every annealing stage, with breaches, and at the clamp's ends", async () => {
    const t = series.candles.length - 1;
    const cases: [AdaptiveState, bigint, number][] = [
      [{ num: BigInt(RULE.maxNum) << 8n, outcomes: 0 }, 1n, 0], // a breach at the top: clamped
      [{ num: BigInt(RULE.minNum) << 8n, outcomes: 1500 }, 10000n, 0], // covered at the bottom: clamped
      [{ num: 49021n << 8n, outcomes: 499 }, 1n, 1],
      [{ num: 49021n << 8n, outcomes: 500 }, 1n, 0],
      [{ num: 49021n << 8n, outcomes: 1000 }, 9999n, 7],
      [{ num: 123456789n >> 3n, outcomes: 1499 }, 700n, MAX_OUTCOME_LAG],
    ];
    let breaches = 0;
    for (const [state, marginS, lag] of cases) {
      const built = await inputAt(t, state, marginS, lag);
      expect(await outputsOf(built.input), `${state.num} ${state.outcomes} ${marginS} ${lag}`).toEqual(
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
    const honest = await inputAt(t, state, 1200n, 2);
    const w = await circuit.witness(honest.input as never);
    const prior = (update: bigint) => (update >> 72n) & ((1n << 56n) - 1n);
    expect(prior(honest.publicSignals[0])).toBe(
      packAdaptivePrior({ num: state.num, outcomes: 600n }, 1200n, 2n),
    );
    // a prover starting from another num, another count, claiming "no outcome", or another pending bar (lag):
    // the signal's prior differs
    for (const edit of [
      { stateNum: state.num + 1n },
      { stateOutcomes: 601n },
      { marginS: 0n },
      { lag: 0n },
      { lag: 11n },
    ]) {
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
    const forgedNew = circuit.edit(w, { "main.update": circuit.read(w, "main.update") + (1n << 128n) });
    expect(circuit.violated(forgedNew).length).toBeGreaterThan(0);
    // the lag edited after the fact: the update's defining constraint, and no witness with the input lag 12
    const forgedLag = circuit.edit(w, { "main.update": circuit.read(w, "main.update") + (1n << 124n) });
    expect(circuit.violated(forgedLag).length).toBeGreaterThan(0);
    await expect(circuit.witness({ ...honest.input, lag: "12" } as never)).rejects.toThrow(/Assert Failed/);
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
    for (const [state, marginS, lag] of [
      [{ num: 70000n << 8n, outcomes: 42 }, 900n, 0],
      [{ num: 70000n << 8n, outcomes: 42 }, 900n, 4],
      [{ num: BigInt(RULE.maxNum) << 8n, outcomes: 1500 }, 0n, 0],
    ] as const) {
      const built = await signedUpdateInput(model, "committed", {
        windows: [await signWindow(key, MARKET, window)],
        publishers,
        domain: DOMAIN,
        adaptive: { rule: RULE, state, marginS, lag },
      });
      const w = await circuit.witness(built.input as never);
      expect(circuit.violated(w)).toEqual([]);
      expect(UPDATE_SIGNALS.map((name) => circuit.read(w, `main.${name}`))).toEqual(built.publicSignals);
    }
    expect(generated.modelCommitment).toBeGreaterThan(0n);
  }, 600_000);
});
