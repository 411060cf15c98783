import { describe, expect, it } from "vitest";

import {
  calibrateEwmaK,
  ewmaVolatility,
  NINETY_DAYS_MS,
  rollingHistoricalQuantile,
  staticQuantile,
} from "../../models/baselines";
import {
  BASELINE_NAMES,
  baselineMargins,
  evaluateBacktest,
  goalSummary,
  goalVerdict,
  goalVerdicts,
  matchedCoverageScale,
  type BacktestReport,
  type GoalInput,
  type MarginSeries,
} from "../../models/backtest";
import { InsufficientDataError } from "../../core/errors";
import { kupiecPof } from "../../models/kupiec";
import { DEFAULT_POLICY, marginFromQuantile } from "../../models/policy";
import { barLogReturns } from "../../models/returns";
import { quantile } from "../../models/stats";
import { adverseMoveTargets, targetObservedAt } from "../../models/target";
import type { Candle, CandleSeries, Gap } from "../../candles/types";
import { loadCandles } from "../../candles/load-data";
import { marketChart, type MarketSeries } from "../../models/backtest-output";
import { loadQuantizedModel } from "../../models/quantized-model";
import { calibrationFor, loadCalibrations } from "../../models/market-calibrations";
import { pooledGoalVerdicts, runBacktest, type PooledModelResult } from "../../models/run-backtest";
import { join } from "node:path";

const H = 2 * 60 * 60 * 1000; // one 2 h bar, ms
const T0 = Date.UTC(2024, 0, 1); // 2024-01-01T00:00:00.000Z

/** A 2 h series whose bar i opens at T0 + slots[i] * H, with the given closes (flat bars: open = high = low). */
function seriesAt(slots: number[], closes?: number[]): CandleSeries {
  const candles: Candle[] = slots.map((k, i) => {
    const c = closes?.[i] ?? 100;
    return { time: T0 + k * H, open: c, high: c, low: c, close: c, volume: 1 };
  });
  const gaps: Gap[] = [];
  for (let i = 1; i < slots.length; i++) {
    if (slots[i] - slots[i - 1] > 1) {
      gaps.push({
        afterIndex: i - 1,
        from: candles[i - 1].time,
        to: candles[i].time,
        missingBars: slots[i] - slots[i - 1] - 1,
      });
    }
  }
  return { source: "hand-made", candles, intervalMs: H, gaps };
}

/** Slots 0..n-1, skipping the slots listed in `missing`. */
function slotsWithout(count: number, missing: number[] = []): number[] {
  const out: number[] = [];
  for (let k = 0; out.length < count; k++) if (!missing.includes(k)) out.push(k);
  return out;
}

/** Deterministic uniform [0, 1) generator (32-bit LCG). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function constant<T>(n: number, v: T): T[] {
  return new Array<T>(n).fill(v);
}

describe("evaluateBacktest on a hand-made series", () => {
  // 30 bars of 2 h with one missing bar after index 19: bar i opens at T0 + i*H for i <= 19, T0 + (i+1)*H after.
  const series = seriesAt(slotsWithout(30, [20]));
  const time = (i: number): number => series.candles[i].time;

  // Hand-set targets (fractions); null = no full 24 h ahead.
  const targets: (number | null)[] = constant<number | null>(30, null);
  Object.assign(targets, {
    0: 0.005,
    1: 0.02, // = B's 200 bps: equality is not a breach
    2: 0.01, // = A's 100 bps: equality is not a breach
    3: 0.0101,
    4: 0.003,
    // 5: null
    6: 0.025,
    7: 0.0199,
    20: 0.015,
    21: 0.0201,
    22: 0.0001,
  });

  // Model A: 100 bps / IM 150 everywhere except bar 7 (no estimate).
  const a: MarginSeries = {
    name: "A",
    maintenanceMarginBps: constant<number | null>(30, 100),
    initialMarginBps: constant<number | null>(30, 150),
  };
  a.maintenanceMarginBps[7] = null;
  a.initialMarginBps[7] = null;
  // Model B: no estimate at bar 0; 200 bps / IM 300, except 300 / 450 at bar 21.
  const b: MarginSeries = {
    name: "B",
    maintenanceMarginBps: constant<number | null>(30, 200),
    initialMarginBps: constant<number | null>(30, 300),
  };
  b.maintenanceMarginBps[0] = null;
  b.initialMarginBps[0] = null;
  b.maintenanceMarginBps[21] = 300;
  b.initialMarginBps[21] = 450;

  it("evaluates only bars with a target and a margin from every model, with strict breaches", () => {
    // Targets present at {0,1,2,3,4,6,7,20,21,22}; bar 0 dropped (B has no margin), bar 7 dropped (A has none)
    // -> evaluated {1,2,3,4,6,20,21,22}: 8 bars, for both models.
    // A (MM 0.01):  1: 0.02 > 0.01 yes; 2: 0.01 = 0.01 no; 3: 0.0101 yes; 4 no; 6: 0.025 yes; 20: 0.015 yes;
    //               21: 0.0201 yes; 22 no -> 5 breaches, rate 5/8 = 0.625, avg MM 100, avg IM 150.
    // B (MM 0.02, 0.03 at 21): 1: 0.02 = 0.02 no; 6: 0.025 yes; 21: 0.0201 <= 0.03 no; the rest are below
    //               -> 1 breach, rate 1/8 = 0.125, avg MM (7*200 + 300)/8 = 212.5, avg IM (7*300 + 450)/8 = 318.75.
    const r = evaluateBacktest(series, targets, [a, b]);
    expect(r.bars).toBe(8);
    expect(r.models.map((m) => m.name)).toEqual(["A", "B"]);
    expect(r.models[0]).toMatchObject({
      name: "A",
      breaches: 5,
      breachRate: 0.625,
      kupiecP: kupiecPof(5, 8, 0.01),
      avgMaintenanceMarginBps: 100,
      avgInitialMarginBps: 150,
    });
    expect(r.models[1]).toMatchObject({
      name: "B",
      breaches: 1,
      breachRate: 0.125,
      kupiecP: kupiecPof(1, 8, 0.01),
      avgMaintenanceMarginBps: 212.5,
      avgInitialMarginBps: 318.75,
    });
    // Kupiec against mpmath (see kupiec.test.ts): 5 of 8 -> 2.5154066552170566e-9, 1 of 8 -> 0.06832859042968058.
    expect(r.models[0].kupiecP).toBeCloseTo(2.5154066552170565e-9, 15);
    expect(r.models[1].kupiecP).toBeCloseTo(0.06832859042968058, 12);
    // First evaluated bar 1 opens at T0 + 2 h; last, bar 22, at T0 + 23 * 2 h = T0 + 46 h (after the gap).
    expect(r.period).toEqual({ from: "2024-01-01T02:00:00.000Z", to: "2024-01-02T22:00:00.000Z" });

    // Largest shortfall: A's worst breach is bar 6 (250 bps against 100), B's its only one (250 against 200).
    expect(r.models[0].maxShortfallBps).toBeCloseTo(150, 9);
    expect(r.models[1].maxShortfallBps).toBeCloseTo(50, 9);
    // At 1 % in hindsight, floor(0.08) = 0 breaches are allowed: the scale is the largest ratio target / MM,
    // A's 2.5 (bar 6) and B's 1.25 (bar 6, 0.025 against 0.02), times the average MM.
    expect(r.models[0].matchedAvgMaintenanceMarginBps).toBeCloseTo(2.5 * 100, 9);
    expect(r.models[1].matchedAvgMaintenanceMarginBps).toBeCloseTo(1.25 * 212.5, 9);
    // Daily samples: the evaluated bars sit in slots {1,2,3,4,6,21,22,23}, i.e. offsets 1,2,3,4,6,9,10,11, one
    // sample each; A breaches in offsets 1,3,6,9,10. The median of 8 p-values (5 of kupiecPof(1,1), 3 of
    // kupiecPof(0,1)) is the mean of the 4th and 5th smallest: kupiecPof(1, 1).
    const d = r.models[0].daily;
    expect(d.offsets.map((o) => o.samples)).toEqual([0, 1, 1, 1, 1, 0, 1, 0, 0, 1, 1, 1]);
    expect(d.offsets.map((o) => o.breaches)).toEqual([0, 1, 0, 1, 0, 0, 1, 0, 0, 1, 1, 0]);
    expect(d.kupiec.median).toBeCloseTo(kupiecPof(1, 1, 0.01), 15);
    expect(d.kupiec.worst).toBeCloseTo(kupiecPof(1, 1, 0.01), 15);
    // No two samples of an offset are a day apart: no transition, independence p 1.
    expect(d.independence).toEqual({ median: 1, worst: 1 });
    expect(r.models[0].coverageValid).toBe(false);
  });

  it("evaluates a model alone on its own bars", () => {
    // A alone: targets at {0,1,2,3,4,6,20,21,22} (bar 7 has no A margin) -> 9 bars; breaches 1,3,6,20,21 = 5.
    const r = evaluateBacktest(series, targets, [a]);
    expect(r.bars).toBe(9);
    expect(r.models[0].breaches).toBe(5);
    expect(r.models[0].breachRate).toBe(5 / 9);
    expect(r.period.from).toBe("2024-01-01T00:00:00.000Z");
  });

  it("filters on open time with inclusive bounds", () => {
    // [time(3), time(20)] -> {3, 4, 6, 20}: A breaches 3, 6, 20 = 3; B breaches 6 = 1; B avg MM 200.
    const r = evaluateBacktest(series, targets, [a, b], { fromMs: time(3), toMs: time(20) });
    expect(r.bars).toBe(4);
    expect(r.models.map((m) => m.breaches)).toEqual([3, 1]);
    expect(r.models[1].avgMaintenanceMarginBps).toBe(200);
    // Bar 3 opens at T0 + 6 h; bar 20, after the missing slot, at T0 + 21 * 2 h = T0 + 42 h.
    expect(r.period).toEqual({ from: "2024-01-01T06:00:00.000Z", to: "2024-01-02T18:00:00.000Z" });

    // One millisecond inside the bounds drops the bars on them: {4, 6}.
    const inner = evaluateBacktest(series, targets, [a, b], { fromMs: time(3) + 1, toMs: time(20) - 1 });
    expect(inner.bars).toBe(2);
    expect(inner.period).toEqual({ from: "2024-01-01T08:00:00.000Z", to: "2024-01-01T12:00:00.000Z" });

    // Only a lower bound: {20, 21, 22}.
    expect(evaluateBacktest(series, targets, [a, b], { fromMs: time(8) }).bars).toBe(3);
    // Only an upper bound: {1, 2, 3, 4, 6}.
    expect(evaluateBacktest(series, targets, [a, b], { toMs: time(6) }).bars).toBe(5);
  });

  it("throws InsufficientDataError naming the period when no bar can be evaluated", () => {
    const run = (): unknown => evaluateBacktest(series, targets, [a, b], { fromMs: time(8), toMs: time(19) });
    expect(run).toThrow(InsufficientDataError);
    expect(run).toThrow("[2024-01-01T16:00:00.000Z, 2024-01-02T14:00:00.000Z]");
    try {
      run();
    } catch (e) {
      expect((e as InsufficientDataError).code).toBe("DATA_INSUFFICIENT");
    }
    expect(() => evaluateBacktest(series, constant(30, null), [a, b])).toThrow("[start, end]");
  });

  it("rejects misaligned inputs", () => {
    expect(() => evaluateBacktest(series, targets.slice(1), [a])).toThrow(
      /targets has 29 entries, expected 30/,
    );
    const short: MarginSeries = { ...a, initialMarginBps: a.initialMarginBps.slice(1) };
    expect(() => evaluateBacktest(series, targets, [short])).toThrow(/"A" initialMarginBps has 29 entries/);
    expect(() => evaluateBacktest(series, targets, [])).toThrow(RangeError);
    const noIm: MarginSeries = { ...a, initialMarginBps: [...a.initialMarginBps] };
    noIm.initialMarginBps[3] = null;
    expect(() => evaluateBacktest(series, targets, [noIm])).toThrow(/no initial margin at bar 3/);
    expect(() => evaluateBacktest(series, targets, [a], { fromMs: NaN })).toThrow(/fromMs .* got NaN/);
  });
});

describe("matchedCoverageScale", () => {
  it("is the ratio ranked floor(1 % of n) + 1 from the top, so exactly that many bars breach", () => {
    // 250 bars: 2 breaches allowed; ratios 1..250 shuffled, so the scale is 248 and 249, 250 breach.
    const ratios = Array.from({ length: 250 }, (_, i) => ((i * 97) % 250) + 1);
    expect(matchedCoverageScale(ratios)).toBe(248);
    expect(ratios.filter((r) => r > 248).length).toBe(2);
    // Ties at the scale are covered (the breach test is strict).
    expect(matchedCoverageScale([5, 5, 5, ...Array<number>(197).fill(1)])).toBe(5);
    // 99 bars allow none: the largest ratio.
    expect(matchedCoverageScale(Array.from({ length: 99 }, (_, i) => i / 10))).toBeCloseTo(9.8, 12);
  });

  it("is infinite when more zero margins breach than 1 % allows, and refuses no bars", () => {
    expect(matchedCoverageScale([Infinity, 0.5, 0.2])).toBe(Infinity);
    expect(() => matchedCoverageScale([])).toThrow(RangeError);
  });

  it("makes the hindsight MM independent of a model's own scale", () => {
    const n = 400;
    const series = seriesAt(slotsWithout(n));
    const targets = Array.from({ length: n }, (_, i) => 0.001 + ((i * 7919) % 101) / 5000);
    const mm = Array.from({ length: n }, (_, i) => 40 + ((i * 31) % 17));
    const model = (name: string, k: number): MarginSeries => ({
      name,
      maintenanceMarginBps: mm.map((v) => v * k),
      initialMarginBps: mm.map((v) => v * k * 1.5),
    });
    const r = evaluateBacktest(series, targets, [model("x1", 1), model("x3", 3)]);
    expect(r.models[0].avgMaintenanceMarginBps * 3).toBeCloseTo(r.models[1].avgMaintenanceMarginBps, 9);
    expect(r.models[0].matchedAvgMaintenanceMarginBps).toBeCloseTo(
      r.models[1].matchedAvgMaintenanceMarginBps,
      9,
    );
    // And it breaches on floor(1 % of 400) = 4 bars when applied.
    const c = r.models[0].matchedAvgMaintenanceMarginBps / r.models[0].avgMaintenanceMarginBps;
    expect(targets.filter((y, i) => y > (c * mm[i]) / 10000).length).toBe(4);
  });
});

describe("staticQuantile", () => {
  it("is the type-7 quantile of the training targets", () => {
    // Sorted 0.01..0.05; h = 4 * 0.99 = 3.96 -> 0.04 + 0.96 * (0.05 - 0.04) = 0.0496.
    expect(staticQuantile([0.05, 0.01, 0.03, 0.02, 0.04])).toBeCloseTo(0.0496, 15);
    // Median: h = 4 * 0.5 = 2 -> 0.03.
    expect(staticQuantile([0.05, 0.01, 0.03, 0.02, 0.04], 0.5)).toBeCloseTo(0.03, 15);
    expect(() => staticQuantile([])).toThrow(InsufficientDataError);
    expect(() => staticQuantile([0.01], 1.5)).toThrow(/level must be in \[0, 1\], got 1.5/);
  });
});

describe("ewmaVolatility", () => {
  it("seeds on the first seedBars non-null returns, then updates; null returns leave sigma unchanged", () => {
    // seedBars = 2, lambda = 0.9
    // t0: null             -> null (no return yet)
    // t1: 0.02             -> null (1 of 2 seed returns)
    // t2: null             -> null (seed still incomplete)
    // t3: -0.02            -> seed sigma2 = (0.0004 + 0.0004) / 2 = 0.0004 -> sigma 0.02
    // t4: null             -> 0.02 (unchanged)
    // t5: 0.05             -> sigma2 = 0.9 * 0.0004 + 0.1 * 0.0025 = 0.00036 + 0.00025 = 0.00061
    // t6: 0.01             -> sigma2 = 0.9 * 0.00061 + 0.1 * 0.0001 = 0.000549 + 0.00001 = 0.000559
    const out = ewmaVolatility([null, 0.02, null, -0.02, null, 0.05, 0.01], 0.9, 2);
    expect(out.slice(0, 3)).toEqual([null, null, null]);
    expect(out[3]).toBeCloseTo(0.02, 15);
    expect(out[4]).toBe(out[3]);
    expect(out[5]).toBeCloseTo(Math.sqrt(0.00061), 15);
    expect(out[6]).toBeCloseTo(Math.sqrt(0.000559), 15);
  });

  it("invents no return across a gap in a candle series", () => {
    // Closes 100, 110, [missing bar], 50, 55: returns null, ln 1.1, null (after the gap), ln 1.1.
    // seedBars = 1, lambda = 0.5: sigma2 = ln^2 1.1 at t1, unchanged at t2,
    // 0.5 ln^2 1.1 + 0.5 ln^2 1.1 = ln^2 1.1 at t3: sigma = ln 1.1 throughout. A return ln(50/110) across
    // the gap would have raised it.
    const s = seriesAt([0, 1, 3, 4], [100, 110, 50, 55]);
    const out = ewmaVolatility(barLogReturns(s), 0.5, 1);
    expect(out[0]).toBeNull();
    for (const t of [1, 2, 3]) expect(out[t]).toBeCloseTo(Math.log(1.1), 15);
  });

  it("uses the RiskMetrics defaults (lambda 0.94, 84-bar seed)", () => {
    const r = lcg(7);
    const returns = Array.from({ length: 100 }, () => (r() - 0.5) / 50);
    const out = ewmaVolatility(returns);
    expect(out[82]).toBeNull();
    const seed = returns.slice(0, 84).reduce((s, x) => s + x * x, 0) / 84;
    expect(out[83]).toBeCloseTo(Math.sqrt(seed), 15);
    expect(out[84]).toBeCloseTo(Math.sqrt(0.94 * seed + 0.06 * returns[84] ** 2), 15);
  });

  it("rejects bad parameters", () => {
    expect(() => ewmaVolatility([], 1)).toThrow(/lambda must be in \(0, 1\), got 1/);
    expect(() => ewmaVolatility([], 0)).toThrow(RangeError);
    expect(() => ewmaVolatility([], 0.94, 0)).toThrow(/seedBars must be an integer >= 1, got 0/);
    expect(() => ewmaVolatility([], 0.94, 1.5)).toThrow(RangeError);
  });
});

describe("calibrateEwmaK", () => {
  // t:        0     1     2     3     4     5
  // target: 0.02  0.03  null  0.05  0.04  0.01
  // sigma:  0.01  null  0.01  0.02  0.01  0
  // ratio:  2     -     -     2.5   4     - (sigma 0)
  const targets = [0.02, 0.03, null, 0.05, 0.04, 0.01];
  const sigmas = [0.01, null, 0.01, 0.02, 0.01, 0];

  it("is the quantile of target / sigma over the included bars with both values", () => {
    // include excludes bar 4 -> ratios {2, 2.5}: q99 = 2 + 0.99 * 0.5 = 2.495; median 2.25.
    const notFour = (t: number): boolean => t !== 4;
    expect(calibrateEwmaK(targets, sigmas, notFour)).toBeCloseTo(2.495, 14);
    expect(calibrateEwmaK(targets, sigmas, notFour, 0.5)).toBeCloseTo(2.25, 14);
    // All bars -> {2, 2.5, 4}: h = 2 * 0.99 = 1.98 -> 2.5 + 0.98 * 1.5 = 3.97.
    expect(calibrateEwmaK(targets, sigmas, () => true)).toBeCloseTo(3.97, 14);
  });

  it("throws when nothing qualifies or the arrays differ in length", () => {
    expect(() => calibrateEwmaK(targets, sigmas, (t) => t === 2)).toThrow(InsufficientDataError);
    expect(() => calibrateEwmaK(targets, sigmas.slice(1), () => true)).toThrow(/sigmas has 5 entries/);
  });
});

describe("rollingHistoricalQuantile", () => {
  // target_s is known at targetObservedAt(T_s) = T_s + 13 H, so bar t (closing at T_t + H) may use it iff
  // T_s <= T_t - 12 H.
  const huge = 1000 * H;

  it("uses a target only once it is fully observed by the bar's close", () => {
    const s = seriesAt(slotsWithout(20));
    const targets = constant<number | null>(20, null);
    targets[0] = 0.01;
    targets[1] = 0.05;
    const q = rollingHistoricalQuantile(s, targets, huge, 0.99, 1);
    // Bars 0..11: nothing observed yet.
    expect(q.slice(0, 12)).toEqual(constant(12, null));
    // Bar 12 closes at T0 + 13 H = targetObservedAt(T_0): only target_0 -> 0.01. Using target_1 one bar early
    // (observed at T0 + 14 H) would give 0.01 + 0.99 * 0.04 = 0.0496.
    expect(targetObservedAt(s.candles[0].time, H)).toBe(s.candles[12].time + H);
    expect(q[12]).toBe(0.01);
    // Bar 13: {0.01, 0.05} -> 0.0496.
    expect(q[13]).toBeCloseTo(0.0496, 15);
  });

  it("drops targets whose open time leaves the window (strict start)", () => {
    // windowMs = 14 H: T_s > T_t + H - 14 H = T_t - 13 H and T_s <= T_t - 12 H -> exactly s = t - 12.
    const s = seriesAt(slotsWithout(20));
    const targets = constant<number | null>(20, null);
    targets[0] = 0.01;
    targets[1] = 0.05;
    targets[2] = 0.03;
    const q = rollingHistoricalQuantile(s, targets, 14 * H, 0.99, 1);
    expect(q.slice(11, 16)).toEqual([null, 0.01, 0.05, 0.03, null]);
  });

  it("measures windows in time, not bars, across a gap", () => {
    // Slots 10 and 11 missing: bar 10 opens at slot 12, so it may use slots <= 0, i.e. bar 0 only (by index,
    // 10 - 12 < 0 would allow none). Bar 11 (slot 13) may use bars 0 and 1.
    const s = seriesAt(slotsWithout(20, [10, 11]));
    const targets = constant<number | null>(20, null);
    targets[0] = 0.02;
    targets[1] = 0.04;
    const q = rollingHistoricalQuantile(s, targets, huge, 0.5, 1);
    expect(q[9]).toBeNull();
    expect(q[10]).toBe(0.02);
    expect(q[11]).toBeCloseTo(0.03, 15);
  });

  it("requires half the window's bars by default", () => {
    // windowMs = 30 H -> minCount = 15. Bar t uses s in [t - 28, t - 12]: t - 11 targets while t <= 28.
    // targets[s] = (s + 1) / 1000.
    const s = seriesAt(slotsWithout(40));
    const targets = Array.from({ length: 40 }, (_, i) => (i + 1) / 1000);
    const q = rollingHistoricalQuantile(s, targets, 30 * H);
    expect(q[25]).toBeNull(); // 14 targets
    // Bar 26: 0.001..0.015 (15 values); h = 14 * 0.99 = 13.86 -> 0.014 + 0.86 * 0.001 = 0.01486.
    expect(q[26]).toBeCloseTo(0.01486, 15);
    // Bar 30: s in [2, 18] -> 0.003..0.019 (17 values); h = 16 * 0.99 = 15.84 -> 0.018 + 0.84 * 0.001 = 0.01884.
    expect(q[30]).toBeCloseTo(0.01884, 15);
  });

  it("agrees with a brute-force filter on a random series with gaps, nulls and ties", () => {
    const r = lcg(42);
    const n = 400;
    const slots: number[] = [];
    for (let k = 0; slots.length < n; k++) if (r() > 0.03) slots.push(k);
    const s = seriesAt(slots);
    const targets = slots.map(() => (r() < 0.1 ? null : Math.round(r() * 50) / 1000));
    const windowMs = 50 * H;
    const got = rollingHistoricalQuantile(s, targets, windowMs, 0.9, 5);
    const expected = s.candles.map((c) => {
      const close = c.time + H;
      const vals: number[] = [];
      s.candles.forEach((cs, i) => {
        const y = targets[i];
        if (y !== null && targetObservedAt(cs.time, H) <= close && cs.time > close - windowMs) vals.push(y);
      });
      return vals.length >= 5 ? quantile(vals, 0.9) : null;
    });
    expect(got).toEqual(expected);
    expect(got.filter((v) => v !== null).length).toBeGreaterThan(300);
  });

  it("rejects bad parameters", () => {
    const s = seriesAt(slotsWithout(3));
    expect(() => rollingHistoricalQuantile(s, [null, null])).toThrow(/targets has 2 entries, expected 3/);
    expect(() => rollingHistoricalQuantile(s, [null, null, null], 0)).toThrow(/windowMs .* got 0/);
    expect(() => rollingHistoricalQuantile(s, [null, null, null], H, 0.99, 0)).toThrow(/minCount .* got 0/);
  });
});

describe("baselineMargins", () => {
  // 800 bars of a seeded random walk (2 h log-return sd ~ 1 %), with slots 600..601 missing.
  const r = lcg(2024);
  const slots = slotsWithout(800, [600, 601]);
  const candles: Candle[] = [];
  let close = 30_000;
  for (const k of slots) {
    const open = close;
    close = open * Math.exp((r() - 0.5) * 0.035);
    const high = Math.max(open, close) * (1 + r() * 0.004);
    const low = Math.min(open, close) * (1 - r() * 0.004);
    candles.push({ time: T0 + k * H, open, high, low, close, volume: 1 });
  }
  const series: CandleSeries = { source: "random-walk", candles, intervalMs: H, gaps: [] };
  const targets = adverseMoveTargets(series);
  // Training: bars 0..399 by open time. A target is known by trainRange.toMs = T_399 only for s <= 386.
  // Plant outliers at bars 387..399 (in the range, observed after toMs): they must not reach static or k.
  for (let t = 387; t < 400; t++) targets[t] = 0.9;
  const trainRange = { fromMs: candles[0].time, toMs: candles[399].time };
  const margins = baselineMargins(series, targets, DEFAULT_POLICY, trainRange);
  const trainTargets = targets.slice(0, 387).filter((y): y is number => y !== null);

  it("builds the three named baselines, aligned with the candles", () => {
    expect(margins.map((m) => m.name)).toEqual(["static-q99", "ewma-0.94", "rolling-90d-q99"]);
    for (const m of margins) {
      expect(m.maintenanceMarginBps).toHaveLength(800);
      expect(m.initialMarginBps).toHaveLength(800);
    }
  });

  it("static: the training q99 of targets known by the end of training, through the policy", () => {
    expect(trainTargets).toHaveLength(387);
    const expected = marginFromQuantile(quantile(trainTargets, 0.99), DEFAULT_POLICY);
    // With the 13 planted 0.9 targets the q99 would be 0.9 -> MM at the 5000 bps cap.
    expect(expected.maintenanceMarginBps).toBeLessThan(2000);
    expect(margins[0].maintenanceMarginBps).toEqual(constant(800, expected.maintenanceMarginBps));
    expect(margins[0].initialMarginBps).toEqual(constant(800, expected.initialMarginBps));
  });

  it("ewma: k * sigma with k calibrated on the training bars, null before the 84-return seed", () => {
    const sigmas = ewmaVolatility(barLogReturns(series), 0.94, 84);
    const k = calibrateEwmaK(targets, sigmas, (t) => t <= 386, 0.99);
    // Returns start at bar 1, so the seed completes at bar 84.
    expect(margins[1].maintenanceMarginBps[83]).toBeNull();
    expect(margins[1].maintenanceMarginBps[84]).not.toBeNull();
    for (const t of [84, 300, 599, 600, 799]) {
      const e = marginFromQuantile(k * (sigmas[t] as number), DEFAULT_POLICY);
      expect([margins[1].maintenanceMarginBps[t], margins[1].initialMarginBps[t]]).toEqual([
        e.maintenanceMarginBps,
        e.initialMarginBps,
      ]);
    }
  });

  it("rolling: the 90-day quantile, null until 540 targets are known", () => {
    const q = rollingHistoricalQuantile(series, targets, NINETY_DAYS_MS, 0.99);
    expect(margins[2].maintenanceMarginBps).toEqual(
      q.map((v) => (v === null ? null : marginFromQuantile(v, DEFAULT_POLICY).maintenanceMarginBps)),
    );
    // All targets of bars 0..587 exist (the first gap-affected target is bar 588), so bar t has t - 11 known
    // targets: the 540th arrives at bar 551.
    expect(margins[2].maintenanceMarginBps[550]).toBeNull();
    expect(margins[2].maintenanceMarginBps[551]).not.toBeNull();
  });

  it("feeds the evaluator: all three compared on the same out-of-sample bars", () => {
    const report = evaluateBacktest(series, targets, margins, { fromMs: candles[400].time });
    // Rolling starts at 551; targets are null for 588..599 (their 24 h spans the gap) and for the last 12 bars
    // (788..799) -> 551..587 (37) + 600..787 (188) = 225 bars.
    expect(report.bars).toBe(225);
    expect(report.period.from).toBe(new Date(candles[551].time).toISOString());
    expect(report.period.to).toBe(new Date(candles[787].time).toISOString());
    for (const m of report.models) {
      expect(m.breachRate).toBe(m.breaches / 225);
      expect(m.avgInitialMarginBps).toBeGreaterThanOrEqual(m.avgMaintenanceMarginBps);
    }
  });

  it("throws when the training period holds no known target", () => {
    const t = candles[10].time;
    expect(() => baselineMargins(series, targets, DEFAULT_POLICY, { fromMs: t, toMs: t })).toThrow(
      InsufficientDataError,
    );
    expect(() => baselineMargins(series, targets, DEFAULT_POLICY, { fromMs: t, toMs: t - 1 })).toThrow(
      RangeError,
    );
  });
});

describe("the goal: valid, and an average MM below every valid baseline", () => {
  const row = (name: string, avg: number, coverage: GoalInput["coverage"] = "valid"): GoalInput => ({
    name,
    avgMaintenanceMarginBps: avg,
    coverage,
  });
  const [staticQ, ewma, rolling] = BASELINE_NAMES;

  it("is met below every valid baseline, whatever the invalid ones charge", () => {
    const v = goalVerdict(row("m", 1100), [
      row(staticQ, 900, "not valid"),
      row(ewma, 1200),
      row(rolling, 1100.5),
    ]);
    expect(v).toEqual({ model: "m", met: true, coverage: "valid", lowerValid: [] });
  });

  it("is not met at or above a valid baseline (equal is not below), naming each", () => {
    const v = goalVerdict(row("m", 1100), [
      row(staticQ, 1100),
      row(ewma, 1050),
      row(rolling, 1000, "too short"),
    ]);
    expect(v.met).toBe(false);
    expect(v.lowerValid).toEqual([
      { name: staticQ, avgMaintenanceMarginBps: 1100 },
      { name: ewma, avgMaintenanceMarginBps: 1050 },
    ]);
  });

  it("is not met by a model whose own coverage is not valid or too short, however cheap", () => {
    for (const coverage of ["not valid", "too short"] as const) {
      const v = goalVerdict(row("m", 10, coverage), [row(ewma, 2000)]);
      expect(v).toEqual({ model: "m", met: false, coverage, lowerValid: [] });
    }
  });

  it("judges every model of a report that is not a baseline, against the baselines only", () => {
    const verdicts = goalVerdicts([
      row("zkrisk-quantized", 1000),
      row("zkrisk-quantized-adaptive", 1200),
      row(staticQ, 2000),
      row(ewma, 1100),
      row(rolling, 1300, "not valid"),
    ]);
    expect(verdicts.map((g) => [g.model, g.met])).toEqual([
      ["zkrisk-quantized", true],
      ["zkrisk-quantized-adaptive", false],
    ]);
    expect(goalSummary(verdicts)).toBe(
      "goal (valid, and avg MM below every valid baseline): zkrisk-quantized met; " +
        "zkrisk-quantized-adaptive not met (ewma-0.94 1100.0 bps)",
    );
    expect(goalSummary(goalVerdicts([row(ewma, 1)]))).toBe("");
    expect(goalSummary([goalVerdict(row("m", 5, "too short"), [row(ewma, 4)])])).toBe(
      "goal (valid, and avg MM below every valid baseline): m not met (coverage too short, ewma-0.94 4.0 bps)",
    );
  });
});

describe("the goal needs a baseline on the same bars", () => {
  const row = (name: string, avg: number, coverage: GoalInput["coverage"] = "valid"): GoalInput => ({
    name,
    avgMaintenanceMarginBps: avg,
    coverage,
  });
  const [staticQ, ewma, rolling] = BASELINE_NAMES;

  it("is not met against no baseline at all, and says why", () => {
    const v = goalVerdict(row("m", 1100), []);
    expect(v).toEqual({ model: "m", met: false, coverage: "valid", lowerValid: [] });
    expect(goalSummary([v])).toBe(
      "goal (valid, and avg MM below every valid baseline): m not met (no baseline evaluated on the same bars)",
    );
    // A report whose baselines were all unavailable (a few months of data).
    expect(goalVerdicts([row("zkrisk-quantized", 1000)]).map((g) => g.met)).toEqual([false]);
    // Baselines evaluated but none valid: the comparison was made, and the goal is met.
    expect(goalVerdict(row("m", 1100), [row(staticQ, 900, "not valid")]).met).toBe(true);
  });

  /** Reports that evaluated the given models (only their names matter to the pooled goal). */
  const reports = (...markets: string[][]): BacktestReport[] =>
    markets.map((names) => ({ models: names.map((name) => ({ name })) }) as unknown as BacktestReport);
  const pooledRow = (name: string, markets: number, avg: number): PooledModelResult =>
    ({ name, markets, avgMaintenanceMarginBps: avg, coverage: "valid" }) as PooledModelResult;

  it("pooled: compares a model only with the baselines pooled over the same markets", () => {
    // Market 1 (cheap) has every baseline; market 2 (dear) has none: each baseline's pool is market 1 alone,
    // so its lower average MM says nothing about the model's pool of both markets.
    const rs = reports(["zk", staticQ, ewma, rolling], ["zk"]);
    const pooled = [pooledRow("zk", 2, 1500), pooledRow(ewma, 1, 1100), pooledRow(rolling, 1, 1000)];
    expect(pooledGoalVerdicts(rs, pooled)).toEqual([
      { model: "zk", met: false, coverage: "valid", lowerValid: [] },
    ]);
    // The same baselines on both markets: compared, and the lower valid ones named.
    const both = reports(["zk", ewma, rolling], ["zk", ewma, rolling]);
    const pooled2 = [pooledRow("zk", 2, 1500), pooledRow(ewma, 2, 1600), pooledRow(rolling, 2, 1400)];
    expect(pooledGoalVerdicts(both, pooled2)).toEqual([
      {
        model: "zk",
        met: false,
        coverage: "valid",
        lowerValid: [{ name: rolling, avgMaintenanceMarginBps: 1400 }],
      },
    ]);
    // Only the baseline on the model's markets counts: rolling (market 1 only) is left out, EWMA (both) is above.
    const mixed = reports(["zk", ewma, rolling], ["zk", ewma]);
    const pooled3 = [pooledRow("zk", 2, 1500), pooledRow(ewma, 2, 1600), pooledRow(rolling, 1, 900)];
    expect(pooledGoalVerdicts(mixed, pooled3)[0]).toMatchObject({ met: true, lowerValid: [] });
  });
});

describe("static and EWMA baselines never see the evaluated bars' future", () => {
  const model = loadQuantizedModel(join(__dirname, "../../models/btc-usdt-2h.quantized.json"));
  const full = loadCandles(join(__dirname, "../../models/data/btcusdt-2h.csv"));
  // 2020-06 .. 2022-02: covers the end of the model's training period (2017-08-24 .. 2021-12-30 22:00).
  const lo = Date.UTC(2020, 5, 1);
  const hi = Date.UTC(2022, 2, 1);
  const series: CandleSeries = {
    ...full,
    candles: full.candles.filter((c) => c.time >= lo && c.time < hi),
    gaps: [],
  };
  const targets = adverseMoveTargets(series);
  const run = (fromMs: number) =>
    runBacktest({ kind: "quantized", model }, series, { fromMs, toMs: Date.UTC(2022, 0, 31) });

  it("inside the training period: fitted on the file before the period, on targets known by its start", () => {
    const fromMs = Date.UTC(2021, 5, 1);
    const r = run(fromMs);
    expect(r.baselineTraining.source).toBe("file-before-period");
    expect(targetObservedAt(Date.parse(r.baselineTraining.to), H)).toBeLessThanOrEqual(fromMs);
    // The static margin is the q99 of exactly those targets.
    const known = targets.filter(
      (y, t): y is number => y !== null && targetObservedAt(series.candles[t].time, H) <= fromMs - H,
    );
    expect(r.baselineTraining.bars).toBe(known.length);
    const staticMm = marginFromQuantile(quantile(known, 0.99), model.policy).maintenanceMarginBps;
    expect(r.models.find((m) => m.name === "static-q99")?.avgMaintenanceMarginBps).toBe(staticMm);
  }, 60_000);

  it("uses the training period once its last target is observed by the period's start, not a bar before", () => {
    // The last training bar (2021-12-30 22:00) has its 24 h observed at 2022-01-01 00:00.
    expect(run(Date.UTC(2022, 0, 1)).baselineTraining).toMatchObject({
      source: "model-training-period",
      to: "2021-12-30T22:00:00.000Z",
    });
    const early = run(Date.UTC(2021, 11, 31, 22));
    expect(early.baselineTraining.source).toBe("file-before-period");
    expect(early.unavailable).toEqual([]);
  }, 60_000);

  it("a file shorter than the feature window: refused naming the 85-bar window and the file's span", () => {
    const short: CandleSeries = { ...series, candles: series.candles.slice(0, 90), gaps: [] };
    expect(() => runBacktest({ kind: "quantized", model }, short, {})).toThrow(
      /no bar of the period has both a full 24 h ahead and the model's 85-bar feature window \(the file spans /,
    );
  });

  it("names the evaluated bars the model was fitted on: its network's splits on its own market, and its calibration", () => {
    const calibrations = loadCalibrations(join(__dirname, "../../models/calibrations.json"));
    const range = { fromMs: Date.UTC(2021, 5, 1), toMs: Date.UTC(2022, 0, 31) };
    const asMarket = (market: string | undefined) =>
      runBacktest({ kind: "quantized", model }, series, range, undefined, {
        market,
        calibration: calibrationFor(calibrations, market),
      }).inSample;
    expect(asMarket("BTC-USDT")).toEqual([
      { fit: "network training", from: "2021-06-01T00:00:00.000Z", to: "2021-12-30T22:00:00.000Z" },
      { fit: "network validation", from: "2022-01-01T00:00:00.000Z", to: "2022-01-31T00:00:00.000Z" },
      { fit: "calibration", from: "2022-01-01T00:00:00.000Z", to: "2022-01-31T00:00:00.000Z" },
    ]);
    // Another market's file: the network never saw it, its own calibration was fitted on its 2022.
    expect(asMarket("ETH-USDT")).toEqual([
      { fit: "calibration", from: "2022-01-01T00:00:00.000Z", to: "2022-01-31T00:00:00.000Z" },
    ]);
    // A market without a calibration runs on the new-market rule, fitted on no bar.
    expect(asMarket("DOGE-USDT")).toEqual([]);
    // Without a market, the model file's own scale: its splits cannot be told to be this market's.
    expect(runBacktest({ kind: "quantized", model }, series, range).inSample).toEqual([]);
    // From the test split on: out of sample.
    expect(
      runBacktest({ kind: "quantized", model }, full, { fromMs: Date.UTC(2023, 0, 1) }, undefined, {
        market: "BTC-USDT",
        calibration: calibrationFor(calibrations, "BTC-USDT"),
      }).inSample,
    ).toEqual([]);
  }, 60_000);
});

describe("the report's chart on any history length", () => {
  it("charts a series of 50,000 bars (about 11 years of 2 h bars) without overflowing the stack", () => {
    const n = 50_000;
    const time = Array.from({ length: n }, (_, i) => T0 + i * H);
    const moveBps = time.map((_, i) => 100 + (i % 997));
    const mm = (base: number) => time.map((_, i) => base + (i % 13));
    const models = [1000, 1050].map((base) => {
      const m = mm(base);
      return { name: `m${base}`, mm: m, im: m, breach: m.map((v, i) => moveBps[i] > v) };
    });
    const s = { market: "LONG", report: {}, time, features: [], moveBps, models } as unknown as MarketSeries;
    const svg = marketChart(s);
    // The axis top is 5 % above the largest value charted: MM 1062 (1050 + 12), the moves reach 1096.
    expect(svg).toContain("(top 1151)");
    for (const m of models) {
      const markers = svg.match(new RegExp(`class="breach" data-model="${m.name}"`, "g")) ?? [];
      expect(markers.length).toBe(m.breach.filter(Boolean).length);
    }
  });
});

describe("the adaptive rows of the test-split table in docs/model-results.md (ETH-USDT, 2023-01-01 on)", () => {
  const quantized = loadQuantizedModel(join(__dirname, "../../models/btc-usdt-2h.quantized.json"));
  const calibrations = loadCalibrations(join(__dirname, "../../models/calibrations.json"));
  const series = loadCandles(join(__dirname, "../../models/data/ethusdt-2h.csv"));
  const adaptiveRow = (missRate: number) => {
    const report = runBacktest(
      { kind: "quantized", model: quantized },
      series,
      { fromMs: Date.UTC(2023, 0, 1) },
      "q",
      {
        market: "ETH-USDT",
        calibration: calibrationFor(calibrations, "ETH-USDT"),
        adaptive: { rule: calibrations.adaptive, missRate },
      },
    );
    return { bars: report.bars, ...report.models.find((m) => m.name === "q-adaptive")! };
  };

  it("every update accepted: the figures of the rule before catch-up (it differs only at missed updates)", () => {
    const row = adaptiveRow(0);
    expect([row.bars, row.breaches, row.avgMaintenanceMarginBps.toFixed(1)]).toEqual([6538, 72, "1314.3"]);
  }, 120_000);

  it("10 % of updates missed: their outcomes processed late (90 breaches at 1248.8 bps before catch-up)", () => {
    const row = adaptiveRow(0.1);
    expect([row.bars, row.breaches, row.avgMaintenanceMarginBps.toFixed(1)]).toEqual([6538, 88, "1253.7"]);
    expect(row.coverage).toBe("valid");
  }, 120_000);
});
