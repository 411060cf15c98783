/**
 * The ADAPTIVE signed batch circuit (circuits/generate-signed-batch-circuit.ts, `adaptive`: every market adaptive)
 * on real signed windows of BTC-USDT and ETH-USDT at one bar close: each market's varying signal is exactly the
 * adaptive update a single signed update of its window would carry (the same engine step, the same layout), but
 * for the digest part, which is the batch digest's low 87 bits; over consecutive bars (with missed bars, outcomes
 * and outcomes caught up late, `PendingOutcomes`) each market's state evolves as the engine says. A prover that
 * starts a market from another state or lag, or swaps the two markets' states, changes that market's public
 * signal (which the oracle compares with its storage); the outputs cannot be edited; and the circuit costs the
 * plain batch's parts plus each market's adaptive step.
 */
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildWindow, integerCandlesOf } from "../../candles";
import { marketIdOf } from "../../candles/market-id";
import { WINDOW_BARS } from "../../candles/window";
import { loadCandles } from "../../candles/load-data";
import { generateSignedBatchCircuit } from "../../circuits/generate-signed-batch-circuit";
import { batchSignalLayout, batchSignalNames } from "../../circuits/public-signals";
import { adaptiveDigestSignal, packAdaptiveUpdate, unpackAdaptiveUpdate } from "../../circuits/statement";
import {
  initialState,
  PendingOutcomes,
  type AdaptiveRule,
  type AdaptiveState,
  type PendingPrior,
} from "../../models/adaptive";
import { loadCalibrations } from "../../models/market-calibrations";
import { loadQuantizedModel } from "../../models/quantized-model";
import { signedBatchInput, type SignedBatchInput } from "../../prover/signed-batch-input";
import { signedUpdateInput } from "../../prover/update-input";
import { publicKeyOf } from "../../publisher/eddsa";
import type { PublisherKey } from "../../publisher/keystore";
import { makePublisherSet, type PublisherSet } from "../../publisher/publisher-set";
import { signBatch } from "../../publisher/signed-batch";
import { signWindow } from "../../publisher/signed-window";
import { loadCircuit, type TestCircuit } from "../helpers/circuits";

const ROOT = join(__dirname, "../..");
const model = loadQuantizedModel(join(ROOT, "models/btc-usdt-2h.quantized.json"));
const RULE: AdaptiveRule = loadCalibrations(join(ROOT, "models/calibrations.json")).adaptive;
const MARKETS = ["BTC-USDT", "ETH-USDT"] as const;
type Market = (typeof MARKETS)[number];
const series = {
  "BTC-USDT": loadCandles(join(ROOT, "models/data/btcusdt-2h.csv")),
  "ETH-USDT": loadCandles(join(ROOT, "models/data/ethusdt-2h.csv")),
};
const ints = {
  "BTC-USDT": integerCandlesOf(series["BTC-USDT"]),
  "ETH-USDT": integerCandlesOf(series["ETH-USDT"]),
};
/** Index of the bar `back` bars before each market's last (the shipped data of both end at the same bar). */
const indexOf = (m: Market, back: number) => series[m].candles.length - 1 - back;
const windowOf = (m: Market, back: number) =>
  buildWindow(series[m], marketIdOf(m), indexOf(m, back), WINDOW_BARS, ints[m]);
const DOMAIN = 77n;

type Priors = Map<string, { state: AdaptiveState } & PendingPrior>;
/**
 * The selection's products with constant 0 highs and lows before the window's range part: none with layout v3's
 * 24-bar range part (132 with layout v2's 12; signed-update-adaptive.test.ts).
 */
const ZERO_PRODUCTS = 0;

describe("adaptive signed batch circuit, N = 2, quorum 1, constant weights", () => {
  let circuit: TestCircuit;
  let key: PublisherKey;
  let publishers: PublisherSet;

  beforeAll(async () => {
    const generated = await generateSignedBatchCircuit(model, "constant", 2, 1, undefined, {
      adaptive: RULE,
    });
    circuit = await loadCircuit(generated.source, "signed_batch2_k1_constant_adaptive");
    const privateKey = new Uint8Array(32).fill(1);
    key = { privateKey, publicKey: await publicKeyOf(privateKey) };
    publishers = await makePublisherSet([key.publicKey], 1);
  }, 900_000);

  const batchAt = async (back: number, priors: Priors): Promise<SignedBatchInput> => {
    const signed = await signBatch(
      key,
      MARKETS.map((m) => ({ market: m, window: windowOf(m, back) })),
    );
    return signedBatchInput(model, "constant", 2, {
      batches: [signed],
      publishers,
      domain: DOMAIN,
      adaptive: { rule: RULE, priors },
    });
  };
  const outputsOf = async (input: SignedBatchInput["input"]) => {
    const w = await circuit.witness(input as never);
    expect(circuit.violated(w)).toEqual([]);
    return batchSignalNames(2, true).map((name) => circuit.read(w, `main.${name}`));
  };

  it("costs the plain batch's parts less its margin range checks, plus each market's adaptive step", () => {
    // plain N = 2 constant batch 39,565 (signed-batch-circuit.test.ts, window layout v3) - the 4 margin range
    // checks (56: the adaptive layout leaves MM and IM 16 bits, bounded by the policy's clamps, as the signed
    // update does) + per market AdaptiveCalibration 2,298 (templates-adaptive.test.ts), every selection product
    // reading a signed high or low, and the policy with a private calibration 164. With layout v2: 37,915 - 56 +
    // 2 * (2,298 - 132 + 164) = 42,519; before the lag: 37,915 - 56 + 2 * (1,962 + 164) = 42,111.
    expect(circuit.constraints).toBe(39565 - 4 * 14 + 2 * (2298 - ZERO_PRODUCTS + 164));
    expect(circuit.constraints).toBe(44433);
  });

  it("gives each market the adaptive update of its single signed update, with the batch digest's bits", async () => {
    const priors: Priors = new Map([
      ["BTC-USDT", { state: initialState(model.policy.calibrationNum), marginS: 0n, lag: 0 }],
      ["ETH-USDT", { state: { num: 59567n << 8n, outcomes: 499 }, marginS: 1n, lag: 4 }],
    ]);
    const built = await batchAt(0, priors);
    expect(await outputsOf(built.input)).toEqual(built.publicSignals);
    const layout = batchSignalLayout(2, true);
    for (const [i, m] of MARKETS.entries()) {
      const single = await signedUpdateInput(model, "constant", {
        windows: [await signWindow(key, m, windowOf(m, 0))],
        publishers,
        domain: DOMAIN,
        adaptive: { rule: RULE, ...priors.get(m)! },
      });
      const mine = unpackAdaptiveUpdate(built.publicSignals[i]);
      const theirs = unpackAdaptiveUpdate(single.publicSignals[0]);
      expect({ ...mine, digest: 0n }, m).toEqual({ ...theirs, digest: 0n });
      expect(mine.digest).toBe(adaptiveDigestSignal(built.batchDigest));
      expect(built.markets[i].adaptive).toEqual(single.adaptive);
    }
    // ETH's bar s = t - 16 breached its 1 bps margin: a step up at stage 0; BTC had no outcome (no margin at s).
    expect(built.markets[1].adaptive!.outcome).toBe(true);
    expect(unpackAdaptiveUpdate(built.publicSignals[1]).lag).toBe(4n);
    expect(built.markets[0].adaptive!.outcome).toBeNull();
    expect(built.publicSignals.slice(layout.marketId, layout.marketId + 2)).toEqual(
      MARKETS.map((m) => marketIdOf(m)),
    );
  }, 600_000);

  it("agrees with the engine over consecutive bars as the oracle sees them (missed bars, late outcomes)", async () => {
    const pending = new Map(MARKETS.map((m) => [m, new PendingOutcomes()]));
    const states = new Map(MARKETS.map((m) => [m, initialState(model.policy.calibrationNum)]));
    const barOf = (m: Market, back: number) =>
      series[m].candles[indexOf(m, back)].time / series[m].intervalMs;
    const missed = new Set([17, 7, 6]);
    let outcomes = 0;
    let late = 0;
    for (let back = 20; back >= 0; back--) {
      if (missed.has(back)) continue;
      const priors: Priors = new Map(
        MARKETS.map((m) => [m, { state: states.get(m)!, ...pending.get(m)!.prior(barOf(m, back)) }]),
      );
      const built = await batchAt(back, priors);
      expect(await outputsOf(built.input), `${back} bars back`).toEqual(built.publicSignals);
      for (const [i, m] of MARKETS.entries()) {
        const a = built.markets[i].adaptive!;
        expect(unpackAdaptiveUpdate(built.publicSignals[i]).lag).toBe(BigInt(a.lag));
        if (a.outcome !== null) outcomes++;
        if (a.outcome !== null && a.lag > 0) late++;
        states.set(m, a.after);
        pending.get(m)!.accept(barOf(m, back), built.markets[i].trace.maintenanceMarginBps);
      }
    }
    // An outcome needs a pending bar s in t - 23 .. t - 12. t 8 bars back processes s 20 back (lag 0); t 7 and
    // 6 back are missed, so s 19 and 18 back are processed late by t 5 and 4 back (lag 2); s 17 back was missed
    // itself, and t 3 .. 0 back process s 16 .. 13 back (lag 1): 7 outcomes a market, 6 of them late.
    expect(outcomes).toBe(2 * 7);
    expect(late).toBe(2 * 6);
  }, 900_000);

  it("ties each market's public signal to the state it starts from: another or swapped state, another signal", async () => {
    const priors: Priors = new Map([
      ["BTC-USDT", { state: { num: 49021n << 8n, outcomes: 600 }, marginS: 900n, lag: 0 }],
      ["ETH-USDT", { state: { num: 59567n << 8n, outcomes: 1200 }, marginS: 1100n, lag: 2 }],
    ]);
    const built = await batchAt(0, priors);
    const honest = await outputsOf(built.input);
    const edit = async (field: "stateNum" | "stateOutcomes" | "marginS" | "lag", values: string[]) =>
      outputsOf({ ...built.input, [field]: values });
    const swapped = await edit("stateNum", [...(built.input.stateNum as string[])].reverse());
    expect(swapped[0]).not.toBe(honest[0]);
    expect(swapped[1]).not.toBe(honest[1]);
    const other = await edit("stateOutcomes", ["601", "1200"]);
    expect(other[0]).not.toBe(honest[0]);
    expect(other[1]).toBe(honest[1]);
    // Whatever state a prover starts from, the signal states it: the oracle compares it with its storage.
    expect(unpackAdaptiveUpdate(other[0]).before.outcomes).toBe(601n);
    // another pending bar (the lags swapped): both signals state the lag they were proved with
    const lags = await edit("lag", ["2", "0"]);
    expect(unpackAdaptiveUpdate(lags[0]).lag).toBe(2n);
    expect(unpackAdaptiveUpdate(lags[1]).lag).toBe(0n);
    expect(lags[0]).not.toBe(honest[0]);
    expect(lags[1]).not.toBe(honest[1]);
    // a lag outside [0, 11] has no witness
    await expect(circuit.witness({ ...built.input, lag: ["0", "12"] } as never)).rejects.toThrow(
      /Assert Failed/,
    );
  }, 600_000);

  it("rejects an edited output or new state (the witness violates constraints)", async () => {
    const priors: Priors = new Map(
      MARKETS.map((m) => [m, { state: { num: 49021n << 8n, outcomes: 10 }, marginS: 1n, lag: 1 }]),
    );
    const built = await batchAt(1, priors);
    const w = await circuit.witness(built.input as never);
    for (const name of [
      "main.update[0]",
      "main.update[1]",
      "main.adaptive1.newNum",
      "main.modelCommitment[1]",
      "main.publisherSet",
    ]) {
      const forged = circuit.edit(w, { [name]: circuit.read(w, name) + 1n });
      expect(circuit.violated(forged).length, name).toBeGreaterThan(0);
    }
    // The packing is the single update's: a new state's num moved by one is update + 2^128, a lag 2^124.
    const u = unpackAdaptiveUpdate(built.publicSignals[1]);
    expect(packAdaptiveUpdate({ ...u, after: { ...u.after, num: u.after.num + 1n } })).toBe(
      built.publicSignals[1] + (1n << 128n),
    );
    expect(packAdaptiveUpdate({ ...u, lag: u.lag + 1n })).toBe(built.publicSignals[1] + (1n << 124n));
  }, 600_000);

  it("refuses a missing or foreign prior, and a batch of one adaptive market", async () => {
    const one: Priors = new Map([["BTC-USDT", { state: initialState(49021), marginS: 0n, lag: 0 }]]);
    await expect(batchAt(0, one)).rejects.toThrow(
      /markets\[1\] \(ETH-USDT\): no adaptive prior for ETH-USDT/,
    );
    const foreign: Priors = new Map([
      ...MARKETS.map((m) => [m, { state: initialState(49021), marginS: 0n, lag: 0 }] as const),
      ["SOL-USDT", { state: initialState(49021), marginS: 0n, lag: 0 }],
    ]);
    await expect(batchAt(0, foreign)).rejects.toThrow(/an adaptive prior is given for SOL-USDT/);
    await expect(
      generateSignedBatchCircuit(model, "constant", 1, 1, undefined, { adaptive: RULE }),
    ).rejects.toThrow(
      /batch size 1 is not an integer in \[2, 32\] \(one adaptive market is a signed update\)/,
    );
  });
});
