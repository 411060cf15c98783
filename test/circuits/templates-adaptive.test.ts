/**
 * circuits/lib/adaptive.circom: AdaptiveCalibration with the shipped rule (models/calibrations.json) against
 * models/adaptive.ts (`windowOutcome`, `adaptiveUpdate`, `stateToNum`): every annealing stage and its
 * boundaries, the clamp at both ends, breach and covered bars at the exact threshold, every lag (bar
 * s = t - 12 - lag of the last 24 bars), "no outcome" (no pending margin, a missing bar inside the selected 13
 * bars; one outside them changes nothing), prices at the publisher's extremes, real BTC bars, the
 * constraint-count pin, out-of-range states and lags without a witness, and forged witnesses (breach, step
 * quotient, stage, maximum, presence, the lag's one-hot) that the constraints reject.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { buildWindow, integerCandlesOf, type WindowBar } from "../../candles";
import { ADAPTIVE_BARS, emitAdaptiveCalibration, adaptiveStateWidths } from "../../circuits/adaptive-params";
import {
  bitEdits,
  bitsOf,
  FIELD_MODULUS,
  loadCircuit,
  readSymbols,
  runForgery,
  signalRange,
  witnessFailure,
  type Forgery,
  type TestCircuit,
} from "../helpers/circuits";
import { expectForgeryRejected, expectNoWitness } from "../helpers/circuits/expect";
import { WINDOW_BARS } from "../../candles/window";
import {
  adaptiveUpdate,
  stateToNum,
  windowOutcome,
  type AdaptiveRule,
  type AdaptiveState,
} from "../../models/adaptive";
import { loadCalibrations } from "../../models/market-calibrations";
import { loadCandles } from "../../candles/load-data";
import { MAX_OUTCOME_LAG, TARGET_HORIZON_BARS as H } from "../../models/target";

const RULE: AdaptiveRule = loadCalibrations("models/calibrations.json").adaptive;
const W = adaptiveStateWidths(RULE);
const INPUTS = ["num", "outcomes", "mmS", "lag", "close", "high", "low"] as const;
const LAGS = MAX_OUTCOME_LAG + 1;
/** The template reads bars t - 23 .. t (BARS of them): bar s = t - 12 - lag is bars[S0 - lag]. */
const BARS = ADAPTIVE_BARS;
const S0 = BARS - 1 - H;
const OUTPUTS = ["processed", "breach", "newNum", "newOutcomes", "calibrationNum"] as const;

/** A wrapper around AdaptiveCalibration of the shipped rule, component `a`. */
function adaptiveSource(): string {
  const out: string[] = [];
  const line = (s = "") => out.push(s);
  line("pragma circom 2.1.0;");
  line('include "adaptive.circom";');
  line("template Wrap() {");
  for (const s of INPUTS.slice(0, 4)) line(`    signal input ${s};`);
  line(`    signal input close[${BARS}];`);
  line(`    signal input high[${BARS - 1}];`);
  line(`    signal input low[${BARS - 1}];`);
  emitAdaptiveCalibration(line, RULE, "a");
  for (const s of INPUTS) line(`    a.${s} <== ${s};`);
  for (const s of OUTPUTS) {
    line(`    signal output ${s};`);
    line(`    ${s} <== a.${s};`);
  }
  line("}");
  line("component main = Wrap();");
  return out.join("\n") + "\n";
}

/** The last 24 bars t - 23 .. t of a window and the prior (bar s = t - 12 - lag) as the template's inputs. */
interface Case {
  state: AdaptiveState;
  mmS: bigint;
  /** 0 when absent. */
  lag?: number;
  bars: Pick<WindowBar, "close" | "high" | "low" | "missing">[];
}

const inputOf = (c: Case) => ({
  num: c.state.num,
  outcomes: BigInt(c.state.outcomes),
  mmS: c.mmS,
  lag: BigInt(c.lag ?? 0),
  close: c.bars.map((b) => b.close),
  high: c.bars.slice(1).map((b) => b.high),
  low: c.bars.slice(1).map((b) => b.low),
});

/** What the integer engine says the template outputs. */
function expected(c: Case): Record<string, bigint> {
  const outcome = windowOutcome(c.bars, c.mmS, c.lag ?? 0);
  const next = adaptiveUpdate(c.state, outcome, RULE);
  return {
    processed: outcome === null ? 0n : 1n,
    ...(outcome === null ? {} : { breach: outcome ? 1n : 0n }),
    newNum: next.num,
    newOutcomes: BigInt(next.outcomes),
    calibrationNum: stateToNum(next.num),
  };
}

async function run(circuit: TestCircuit, c: Case): Promise<Record<string, bigint>> {
  const w = await circuit.witness(inputOf(c));
  expect(circuit.violated(w)).toEqual([]);
  const out: Record<string, bigint> = Object.fromEntries(
    OUTPUTS.map((o) => [o, circuit.read(w, `main.${o}`)]),
  );
  // breach is the comparison on whatever the window holds: it moves nothing unless the outcome is processed
  if (out.processed === 0n) delete out.breach;
  return out;
}

const BASE = 100_00000000n;
const MISSING = { close: 0n, high: 0n, low: 0n, missing: true };

/**
 * 24 present bars at 100 (8 decimals), the move `move` down at bar s + 7 or up at bar s + 4 for bar
 * s = t - 12 - lag (bars[S0 - lag]).
 */
function flatBars(move: bigint, down: boolean, lag = 0): Case["bars"] {
  const bars = Array.from({ length: BARS }, () => ({ close: BASE, high: BASE, low: BASE, missing: false }));
  const s = S0 - lag;
  if (down) bars[s + 7] = { ...bars[s + 7], low: BASE - move };
  else bars[s + 4] = { ...bars[s + 4], high: BASE + move };
  return bars;
}

describe("AdaptiveCalibration (shipped rule)", () => {
  let o1: TestCircuit;
  let o2: TestCircuit;

  beforeAll(async () => {
    [o1, o2] = await Promise.all([
      loadCircuit(adaptiveSource(), "AdaptiveCalibration", { O: 1 }),
      loadCircuit(adaptiveSource(), "AdaptiveCalibration", { O: 2 }),
    ]);
  });

  it("pins the --O2 cost: 2,298 (the lag's one-hot and selection 312, Maximum(24, 65) 1,583, the state's step)", () => {
    // one-hot of the lag 12 booleanities (its two sums are linear); selection 12 * (2 * 12 + 1) = 300 products;
    // Maximum(2H, 65) 24 * 65 + 23 = 1,583; SignedRangeCheck(80) + mmS * closeS = 81; Presence of mmS and 24
    // closes (2 each) + 12 selected missing counts + IsZero 2 + processed 1 = 65; range checks 14 + 2 * 26 +
    // 2 * 11 = 88; stage flags 3 * 12 = 36; c, num * c, FloorShiftToRange(16, 0, 24), breach * step = 43;
    // ClampRange 2 * (29 + 1) = 60; newNum, newOutcomes 2; CeilShiftToRange(8, 0, 20) = 28
    // (circuits/lib/adaptive.circom's header; before the lag it was 1,962)
    expect(o2.constraints).toBe(12 + 300 + 1583 + 81 + 65 + 88 + 36 + 43 + 60 + 2 + 28);
  });

  it("agrees with the engine at every stage boundary, breach and covered, with the clamp at both ends", async () => {
    const threshold = 1000n; // mmS = 1000 bps of close 100: a move of 10 is the threshold
    const moves = [9_99999999n, 10_00000000n, 10_00000001n, 25_00000000n, 0n];
    const outcomesList = [0, 1, 499, 500, 501, 999, 1000, 1001, 1499, 1500];
    const nums = [W.numMin, W.numMin + 1n, 49021n << 8n, 49021n * 256n + 255n, W.numMax - 1n, W.numMax];
    let n = 0;
    for (const outcomes of outcomesList) {
      for (const num of nums) {
        for (const move of moves) {
          for (const down of [false, true]) {
            const lag = n % LAGS; // every lag, in turn
            const c: Case = {
              state: { num, outcomes },
              mmS: threshold,
              lag,
              bars: flatBars(move, down, lag),
            };
            expect(
              await run(o2, c),
              `num ${num} outcomes ${outcomes} move ${move} down ${down} lag ${lag}`,
            ).toEqual(expected(c));
            n++;
          }
        }
      }
    }
    expect(n).toBe(600);
  });

  it("breaches exactly when 10000 * move > mmS * close_s (equality is covered)", async () => {
    const state = { num: 49021n << 8n, outcomes: 10 };
    for (let lag = 0; lag < LAGS; lag++) {
      for (const [move, breach] of [
        [10_00000000n, 0n],
        [10_00000001n, 1n],
      ] as const) {
        const out = await run(o2, { state, mmS: 1000n, lag, bars: flatBars(move, true, lag) });
        expect(out.breach, `lag ${lag} move ${move}`).toBe(breach);
        expect(out.processed).toBe(1n);
      }
    }
  });

  it("reads the move of bar s = t - 12 - lag only: a move outside its 12 bars after s is not its breach", async () => {
    // a move of 25 (threshold 10) at one bar b of t - 22 .. t: lag's outcome breaches exactly when b is in
    // s + 1 .. s + 12, i.e. b - 12 <= s < b; the engine (windowOutcome with the lag) agrees at every pair
    const state = { num: 49021n << 8n, outcomes: 600 };
    let breaches = 0;
    for (let b = 1; b < BARS; b++) {
      for (const down of [false, true]) {
        const bars = Array.from({ length: BARS }, () => ({
          close: BASE,
          high: BASE,
          low: BASE,
          missing: false,
        }));
        bars[b] = down ? { ...bars[b], low: BASE - 25_00000000n } : { ...bars[b], high: BASE + 25_00000000n };
        for (let lag = 0; lag < LAGS; lag++) {
          const c: Case = { state, mmS: 1000n, lag, bars };
          const s = S0 - lag;
          const out = await run(o2, c);
          expect(out, `bar ${b} lag ${lag}`).toEqual(expected(c));
          expect(out.breach, `bar ${b} lag ${lag}`).toBe(s < b && b <= s + H ? 1n : 0n);
          if (out.breach === 1n) breaches++;
        }
      }
    }
    expect(breaches).toBe(2 * LAGS * H);
  });

  it("counts a breach at lag > 0 that the update's own bar t - 12 (lag 0) would not see", async () => {
    // the catch-up case: bar t - 15 (bars[8]) fell 25; an update whose pending outcome is bar t - 17 (lag 5)
    // counts it, as the engine's windowOutcome does, while bar t - 12's outcome (lag 0) is covered
    const bars = Array.from({ length: BARS }, () => ({ close: BASE, high: BASE, low: BASE, missing: false }));
    bars[8] = { ...bars[8], low: BASE - 25_00000000n };
    const state = { num: 49021n << 8n, outcomes: 600 };
    const late: Case = { state, mmS: 1000n, lag: 5, bars };
    const onTime: Case = { state, mmS: 1000n, lag: 0, bars };
    expect(windowOutcome(bars, 1000n, 5)).toBe(true);
    expect(windowOutcome(bars, 1000n, 0)).toBe(false);
    const outLate = await run(o2, late);
    expect(outLate).toEqual(expected(late));
    expect(outLate.breach).toBe(1n);
    expect(outLate.newNum).toBeGreaterThan(state.num);
    const outOnTime = await run(o2, onTime);
    expect(outOnTime).toEqual(expected(onTime));
    expect(outOnTime.breach).toBe(0n);
    expect(outOnTime.newNum).toBeLessThan(state.num);
  });

  it("keeps the state for 'no outcome': no pending margin (mmS 0), or a missing bar in s..s+12", async () => {
    const state = { num: 60000n << 8n, outcomes: 700 };
    for (const [mmS, lag, missing] of [
      [0n, 0, -1],
      [1000n, 0, 0], // bar s
      [1000n, 0, 5],
      [1000n, 0, H], // bar s + 12 = t
      [0n, 0, 3],
      [1000n, 11, 0], // bar s = t - 23
      [1000n, 11, H], // bar s + 12 = t - 11
      [1000n, 4, 7],
      [0n, 7, -1],
    ] as const) {
      const bars = flatBars(25_00000000n, true, lag);
      if (missing >= 0) bars[S0 - lag + missing] = MISSING;
      const c: Case = { state, mmS, lag, bars };
      const out = await run(o2, c);
      expect(out, `mmS ${mmS} lag ${lag} missing s + ${missing}`).toEqual(expected(c));
      expect(out.processed).toBe(0n);
      expect(out.newNum).toBe(state.num);
      expect(out.newOutcomes).toBe(700n);
      expect(out.calibrationNum).toBe(60000n);
    }
  });

  it("processes the outcome when the missing bars lie outside s..s+12 (before s or after s + 12)", async () => {
    const state = { num: 60000n << 8n, outcomes: 700 };
    for (const [lag, missing] of [
      [0, [0, 5, S0 - 1]], // bars t - 23, t - 18, t - 13: before s = t - 12
      [11, [H + 1, BARS - 1]], // bars t - 10 and t: after s + 12 = t - 11
      [5, [S0 - 6, S0 - 5 + H + 1]], // the bars just outside s = t - 17 .. t - 5
    ] as const) {
      const bars = flatBars(25_00000000n, true, lag);
      for (const b of missing) bars[b] = MISSING;
      const c: Case = { state, mmS: 1000n, lag, bars };
      const out = await run(o2, c);
      expect(out, `lag ${lag} missing ${missing.join(", ")}`).toEqual(expected(c));
      expect(out.processed).toBe(1n);
      expect(out.breach).toBe(1n);
      expect(out.newOutcomes).toBe(701n);
    }
  });

  it("has the engine's witness at the publisher's price extremes (1 and 2^64 - 1), for every margin and clamp end", async () => {
    // the largest and smallest prices a signed bar may hold: a move near 2^64 must neither overflow the maximum
    // nor the breach comparison, and a missing bar next to such bars must still give "no outcome"; the 13 bars
    // s..s+12 at lag 0 and at lag 11, the other 11 bars extreme too (they are multiplied by 0, never compared)
    const top = (1n << 64n) - 1n;
    const bar = (close: bigint, low: bigint, high: bigint) => ({ close, low, high, missing: false });
    const later = (b: Case["bars"][number]) => Array.from({ length: H }, () => b);
    const others = Array.from({ length: MAX_OUTCOME_LAG }, (_, i) =>
      i % 2 ? bar(top, 1n, top) : bar(1n, 1n, 1n),
    );
    const shapes: Case["bars"][] = [
      [bar(top, top, top), ...later(bar(1n, 1n, top))],
      [bar(1n, 1n, 1n), ...later(bar(top, top, top))],
      [MISSING, ...later(bar(top, 1n, top))],
      [bar(top, top, top), ...later(bar(1n, 1n, top)).map((b, i) => (i === 5 ? MISSING : b))],
    ];
    let n = 0;
    for (const shape of shapes) {
      const placed: [number, Case["bars"]][] = [
        [0, [...others, ...shape]],
        [MAX_OUTCOME_LAG, [...shape, ...others]],
      ];
      for (const [lag, bars] of placed) {
        for (const mmS of [0n, 1n, 5000n, 10000n, (1n << 14n) - 1n]) {
          for (const [num, outcomes] of [
            [W.numMin, 0],
            [W.numMin, 1500],
            [W.numMax, 0],
            [W.numMax, 1500],
          ] as const) {
            const c: Case = { state: { num, outcomes }, mmS, lag, bars };
            expect(await run(o2, c), `lag ${lag} mmS ${mmS} num ${num} outcomes ${outcomes}`).toEqual(
              expected(c),
            );
            n++;
          }
        }
      }
    }
    expect(n).toBe(160);
  });

  it("agrees with the engine on real BTC bars, at every lag and margins around each bar's realised move", async () => {
    // the last 24 bars of the signed window ending at bar `end`, gaps as missing bars: the window (layout v3)
    // signs every one's high and low, the candle file's (before v3 they stopped 12 bars back)
    const series = loadCandles("models/data/btcusdt-2h.csv");
    const ints = integerCandlesOf(series);
    const byTime = new Map(ints.map((c, i) => [series.candles[i].time, c]));
    let breaches = 0;
    let covered = 0;
    for (let k = 0; k < 30; k++) {
      const end = 1000 + k * 677;
      const lag = k % LAGS;
      const win = buildWindow(series, 1n, end, WINDOW_BARS, ints);
      const bars = win.bars.slice(win.bars.length - BARS);
      for (const b of bars) {
        const c = byTime.get(b.time);
        if (c !== undefined) expect([b.high, b.low], `bar ${b.time}`).toEqual([c.high, c.low]);
        else expect(b.missing).toBe(true);
      }
      const tail = bars.slice(S0 - lag, S0 - lag + H + 1);
      const close = tail[0].close;
      let move = 0n;
      for (const b of tail.slice(1)) {
        move = [move, close - b.low, b.high - close].reduce((a, v) => (v > a ? v : a));
      }
      // the smallest margin that covers the move, and its neighbours
      const cover = (10000n * move + close - 1n) / close;
      for (const mmS of [cover - 1n, cover, cover + 1n, 1n, 10000n]) {
        if (mmS <= 0n || mmS > 10000n) continue;
        const c: Case = {
          state: { num: BigInt(40000 + 997 * k) << 8n, outcomes: (k * 61) % 1501 },
          mmS,
          lag,
          bars,
        };
        const want = expected(c);
        expect(await run(o2, c), `bar ${end} lag ${lag} mmS ${mmS}`).toEqual(want);
        if (want.breach === 1n) breaches++;
        else covered++;
      }
    }
    expect(breaches).toBeGreaterThan(20);
    expect(covered).toBeGreaterThan(20);
  });

  it("reads the real highs and lows of a lagged outcome from a signed window: covered at 9999 bps at every lag", async () => {
    // The last bar of the file's signed window: every outcome of lag 0 .. 11 moved far less than 99.99 %, so a
    // margin of 9999 bps covers it. With layout v2 (highs and lows of the last 12 bars only) bars t-22..t-12
    // held 0 and every lag >= 1 read a low of 0: a move of close_s, a breach at any margin below 10000.
    const series = loadCandles("models/data/btcusdt-2h.csv");
    const end = series.candles.length - 1;
    const win = buildWindow(series, 1n, end, WINDOW_BARS);
    const bars = win.bars.slice(win.bars.length - BARS);
    expect(bars.every((b) => !b.missing && b.low > 0n)).toBe(true);
    const v2 = bars.map((b, i) => (i < BARS - H ? { ...b, high: 0n, low: 0n } : b));
    const state = { num: 49021n << 8n, outcomes: 600 };
    for (let lag = 0; lag < LAGS; lag++) {
      const c: Case = { state, mmS: 9999n, lag, bars };
      const out = await run(o2, c);
      expect(out, `lag ${lag}`).toEqual(expected(c));
      expect([out.processed, out.breach], `lag ${lag}`).toEqual([1n, 0n]);
      // the v2 window's zeros: the same outcome breaches from lag 1 on (lag 0 reads bars t-11..t only)
      const old: Case = { ...c, bars: v2 };
      const outOld = await run(o2, old);
      expect(outOld, `v2 lag ${lag}`).toEqual(expected(old));
      expect(outOld.breach, `v2 lag ${lag}`).toBe(lag === 0 ? 0n : 1n);
    }
  });

  it("has no witness for a state outside its range (num outside [min, max], outcomes above the cap, mmS >= 2^14)", async () => {
    const good: Case = { state: { num: W.numMin, outcomes: 0 }, mmS: 1000n, bars: flatBars(1n, true) };
    const base = inputOf(good);
    for (const edit of [
      { num: W.numMin - 1n },
      { num: W.numMax + 1n },
      { outcomes: BigInt(W.cap + 1) },
      { outcomes: -1n },
      { mmS: 1n << 14n },
    ]) {
      await expectNoWitness(o2, { ...base, ...edit }, "RangeCheck");
    }
    expect(await witnessFailure(o2, base)).toBeUndefined();
  });

  it("has no witness for a lag outside [0, 11] (12, 15, 16, -1, p / 2: the one-hot's sum is 0)", async () => {
    const base = inputOf({ state: { num: W.numMin, outcomes: 0 }, mmS: 1000n, bars: flatBars(1n, true) });
    for (const lag of [12n, 15n, 16n, -1n, FIELD_MODULUS >> 1n]) {
      await expectNoWitness(o2, { ...base, lag }, "AdaptiveCalibration");
    }
    expect(await witnessFailure(o2, { ...base, lag: 11n })).toBeUndefined();
  });

  describe("forged witnesses (the outputs edited, the constraint that pins each hint rejects them)", () => {
    // A covered bar at stage 1 (move 5 against a threshold of 10): the honest step is down.
    const from = inputOf({
      state: { num: 49021n << 8n, outcomes: 600 },
      mmS: 1000n,
      bars: flatBars(5_00000000n, true),
    });

    it("rejects a breach claimed for a covered bar (the sum of the comparison's decomposition)", async () => {
      await expectRefused(o1, o2, {
        name: "breach = 1 on a covered bar",
        from,
        edits: () => ({ "main.breach": 1n }),
        // the decomposition's sum: its bits (the top one is main.breach at --O1) must add up to the difference
        rejectedBy: [...signalRange("main.a.exceeds.bits", 0, 79), "main.a.exceeds.rc.in", "main.breach"],
      });
    });

    it("rejects a smaller maximum move that would hide a breach (out - in[i] >= 0 for the largest move)", async () => {
      // max - 1, with every other difference's bits edited to match: the largest move is in[12] = close_s -
      // low of bar s + 7, and out - in[12] = -1 has no 65-bit decomposition (its bits are left at 0).
      await expectRefused(o1, o2, {
        name: "max move - 1",
        from,
        edits: (read) => {
          const edits: Record<string, bigint> = { "main.a.largest.out": read("main.a.largest.out") - 1n };
          for (let i = 0; i < 2 * H; i++) {
            const d = read(`main.a.largest.atLeast[${i}].in`) - 1n;
            edits[`main.a.largest.atLeast[${i}].in`] = d;
            Object.assign(edits, bitEdits(`main.a.largest.atLeast[${i}].bits`, bitsOf(d < 0n ? 0n : d, 65)));
          }
          return edits;
        },
        rejectedBy: [
          ...signalRange("main.a.largest.atLeast[12].bits", 0, 65),
          "main.a.largest.atLeast[12].in",
        ],
      });
    });

    it("rejects a step quotient off by one (FloorShiftToRange's decomposition of num * c)", async () => {
      await expectRefused(o1, o2, {
        name: "step + 1",
        from,
        edits: (read) => bitEdits("main.a.step.d.bits", bitsOf(read("main.a.scaled") + (1n << 16n), 40)),
        rejectedBy: ["main.a.scaled", ...signalRange("main.a.step.d.bits", 0, 40)],
      });
    });

    it("rejects another annealing stage's step (c, the linear choice by the stage flags and the breach bit)", async () => {
      // 600 outcomes is stage 1 (down step 2^-11: c = 2^(16 - 11) = 32); stage 0's c = 64 would step twice as far
      await expectRefused(o1, o2, {
        name: "stage 0's step at 600 outcomes",
        from,
        edits: () => ({ "main.a.c": 64n }),
        rejectedBy: [
          "main.a.c",
          "main.a.ge[0].bits[11]",
          "main.a.ge[1].bits[11]",
          "main.a.ge[2].bits[11]",
          "main.breach",
        ],
      });
    });

    it("rejects 'no outcome' for a bar with an accepted margin (IsZero of mmS: in * out = 0)", async () => {
      await expectRefused(o1, o2, {
        name: "processed = 0 with mmS = 1000",
        from,
        edits: () => ({ "main.a.hasOutcome.z.inv": 0n, "main.a.hasOutcome.z.out": 1n }),
        rejectedBy: ["main.mmS", "main.a.hasOutcome.z.out"],
      });
    });

    // What a forger gains most from: hiding a breach (the scale goes down instead of up). A breached bar at
    // stage 1: the move of 25 against a threshold of 10.
    const breached = inputOf({
      state: { num: 49021n << 8n, outcomes: 600 },
      mmS: 1000n,
      bars: flatBars(25_00000000n, true),
    });

    it("rejects a breach hidden on a breached bar, the covered step taken instead (the comparison's decomposition)", async () => {
      // breach = 0, and every signal downstream of it taken from the honest witness of a covered bar with the
      // same state and margin (c, the step, the clamp, the new state and its calibrationNum): the forgery is
      // consistent everywhere except the one decomposition that pins the sign bit to the window's move
      const covered = inputOf({
        state: { num: 49021n << 8n, outcomes: 600 },
        mmS: 1000n,
        bars: flatBars(5_00000000n, true),
      });
      const wc = await o1.witness(covered);
      const upstream = [
        ...["e[", "closePart", "highPart", "lowPart", "missingPart"],
        ...["largest", "exceeds", "threshold", "present", "allPresent", "hasOutcome"],
      ];
      const downstream = [...readSymbols(o1.symPath).index]
        .filter(([name, wire]) => wire > 0 && name.startsWith("main.a."))
        .map(([name]) => name)
        .filter((name) => !upstream.some((u) => name.startsWith(`main.a.${u}`)));
      const outputs = OUTPUTS.map((o) => `main.${o}`);
      const edits = Object.fromEntries([...downstream, ...outputs].map((n) => [n, o1.read(wc, n)]));
      expect(edits["main.breach"]).toBe(0n);
      expect(edits["main.newNum"]).toBeLessThan(breached.num);
      await expectForgeryRejected(o1, o2, {
        name: "breach = 0 on a breached bar, covered step",
        from: breached,
        edits: () => edits,
        rejectedBy: [...signalRange("main.a.exceeds.bits", 0, 79), "main.a.exceeds.rc.in", "main.breach"],
      });
    });

    it("rejects 'no outcome' from a present bar of s..s+12 claimed missing (IsZero of its close: in * out = 0)", async () => {
      // the bar's flag, and everything after it, taken from the honest witness of the same window with that bar
      // missing (the selected count of missing bars, processed = 0, the state kept and its calibrationNum):
      // only the IsZero constraint that ties the flag to the bar's (present) close is left to refuse it
      for (const [lag, k] of [
        [0, 0],
        [0, 5],
        [0, H],
        [9, 0],
        [9, H],
      ] as const) {
        const b = S0 - lag + k;
        const at = (bars: Case["bars"]) =>
          inputOf({ state: { num: breached.num, outcomes: 600 }, mmS: 1000n, lag, bars });
        const honest = at(flatBars(25_00000000n, true, lag));
        const bars = flatBars(25_00000000n, true, lag);
        bars[b] = MISSING;
        const wm = await o1.witness(at(bars));
        const spliced = [
          `main.a.present[${b}].`,
          "main.a.missingPart",
          "main.a.allPresent.",
          "main.a.ceil.",
          "main.a.newNum",
        ];
        const names = [...readSymbols(o1.symPath).index]
          .filter(([name, wire]) => wire > 0 && spliced.some((prefix) => name.startsWith(prefix)))
          .map(([name]) => name);
        const edits = Object.fromEntries(
          [...names, ...OUTPUTS.filter((o) => o !== "breach").map((o) => `main.${o}`)].map((n) => [
            n,
            o1.read(wm, n),
          ]),
        );
        expect(edits["main.processed"]).toBe(0n);
        expect(edits["main.newNum"]).toBe(breached.num);
        await expectForgeryRejected(o1, o2, {
          name: `processed = 0 with bar s + ${k} present, lag ${lag}`,
          from: honest,
          edits: () => edits,
          rejectedBy: [`main.close[${b}]`, `main.a.present[${b}].z.out`],
        });
      }
    });

    it("rejects another bar's outcome under the stated lag (sum_j j e_j = lag)", async () => {
      // bar t fell 25: the outcome of bar s = t - 12 (lag 0) breaches, that of t - 13 (lag 1) does not see
      // bar t. The forger states lag 0 (the oracle's) but selects bar t - 13: the honest witness of lag 1
      // with only the input lag set back to 0, so the one-hot, the selection and everything after it are
      // consistent, and only the constraint tying the one-hot to lag refuses it
      const bars = flatBars(0n, true);
      bars[BARS - 1] = { ...bars[BARS - 1], low: BASE - 25_00000000n };
      const at = (lag: number) =>
        inputOf({ state: { num: 49021n << 8n, outcomes: 600 }, mmS: 1000n, lag, bars });
      const w0 = await o1.witness(at(0));
      expect(o1.read(w0, "main.breach")).toBe(1n);
      const w1 = await o1.witness(at(1));
      expect(o1.read(w1, "main.breach")).toBe(0n);
      await expectForgeryRejected(o1, o2, {
        name: "lag 0 stated, bar t - 13 selected",
        from: at(1),
        edits: () => ({ "main.lag": 0n }),
        rejectedBy: ["main.lag", ...signalRange("main.a.e", 1, LAGS)],
      });
    });

    it("rejects a selection that is not one-hot (the booleanity of e_j)", async () => {
      // e_1 = 2, e_2 = -1 keeps sum e = 1 and sum j e = 0 = lag: it would select 2 close[10] - close[9] as
      // close_s (and the same mix of highs and lows); the sums hold, and e_1's booleanity is among the
      // violated constraints (with e_2's and the products that read e)
      await expectRefused(o1, o2, {
        name: "e = (0, 2, -1, 0, ...)",
        from,
        edits: () => ({
          "main.a.e[0]": 0n,
          "main.a.e[1]": 2n,
          "main.a.e[2]": FIELD_MODULUS - 1n,
        }),
        rejectedBy: ["main.a.e[1]"],
      });
    });
  });
});

/**
 * The forged witness is refused: honest witnesses pass both builds, the --O1 system violates the constraint
 * over `rejectedBy` (among the downstream ones the edit also breaks), and the --O2 system rejects the edits.
 */
async function expectRefused(o1: TestCircuit, o2: TestCircuit, f: Forgery): Promise<void> {
  const r = await runForgery(o1, o2, f);
  expect(r.honestViolations).toEqual([]);
  expect(r.o1Violated, f.name).toContainEqual([...f.rejectedBy].sort());
  expect(r.o2Violated.length, `${f.name}: --O2 must reject`).toBeGreaterThan(0);
}
