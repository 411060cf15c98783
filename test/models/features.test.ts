import { seededRandom } from "../../models/stats";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { InsufficientDataError } from "../../models/errors";
import { computeFeatures, featuresAt, type FeatureMatrix } from "../../models/features";
import { loadCandles, loadFunding } from "../../models/load-data";
import { barLogReturns } from "../../models/returns";
import type { Candle, CandleSeries, FundingRate, FundingSeries, Gap } from "../../models/types";

const ROOT = path.join(__dirname, "../..");
const CANDLE_FILE = path.join(ROOT, "models/data/btcusdt-2h.csv");
const FUNDING_FILE = path.join(ROOT, "models/data/btcusdt-funding-8h.csv");

const HOUR = 3_600_000;
const BAR = 2 * HOUR;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2024, 0, 1);

/** Feature names in the order of the default (candle-only) vector. */
const CANDLE_NAMES = [
  "rv_1d",
  "rv_3d5",
  "rv_7d",
  "parkinson_1d",
  "abs_return",
  "volume_z_7d",
  "drawdown_7d",
  "volvol_7d",
];

const prng = seededRandom;

/** A series over `candles` with its gaps listed by a plain scan (independent of the loader). */
function seriesOf(candles: Candle[], intervalMs = BAR, source = "test"): CandleSeries {
  const gaps: Gap[] = [];
  for (let i = 1; i < candles.length; i++) {
    const spacing = candles[i].time - candles[i - 1].time;
    if (spacing > intervalMs) {
      gaps.push({
        afterIndex: i - 1,
        from: candles[i - 1].time,
        to: candles[i].time,
        missingBars: spacing / intervalMs - 1,
      });
    }
  }
  return { source, candles, intervalMs, gaps };
}

/** A candle with open = previous close and high/low set `up`/`down` (fractions) beyond the body. */
function bar(time: number, open: number, close: number, volume: number, up = 0.001, down = 0.001): Candle {
  return {
    time,
    open,
    high: Math.max(open, close) * (1 + up),
    low: Math.min(open, close) * (1 - down),
    close,
    volume,
  };
}

/** `n` gapless 2h bars whose closes are `closeAt(t)`, each bar opening at the previous close. */
function patternCandles(
  n: number,
  closeAt: (t: number) => number,
  volumeAt: (t: number) => number,
  up: (t: number) => number = () => 0.001,
  down: (t: number) => number = () => 0.001,
): Candle[] {
  const out: Candle[] = [];
  for (let t = 0; t < n; t++) {
    const open = t === 0 ? closeAt(0) : closeAt(t - 1);
    out.push(bar(T0 + t * BAR, open, closeAt(t), volumeAt(t), up(t), down(t)));
  }
  return out;
}

/** A copy of `c` with its prices and volume scaled by random factors, still a valid candle. */
function perturbCandle(c: Candle, rnd: () => number): Candle {
  const f = () => 0.8 + 0.4 * rnd();
  const open = c.open * f();
  const close = c.close * f();
  return {
    time: c.time,
    open,
    close,
    high: Math.max(c.high * f(), open, close),
    low: Math.min(c.low * f(), open, close),
    volume: c.volume * f(),
  };
}

/** Row and reason of bar t, for whole-row comparisons. */
function at(m: FeatureMatrix, t: number): { row: number[] | null; reason: string | null } {
  return { row: m.rows[t], reason: m.reasons[t] };
}

/** The error `run` throws (fails the test if it returns). */
function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error, none was thrown");
}

const realSeries = loadCandles(CANDLE_FILE);

describe("computeFeatures: no look-ahead", () => {
  // 2,600 bars of the real file that contain four gaps (after file indices 3736, 3827, 5110, 5419).
  const FROM = 3000;
  const slice = seriesOf(realSeries.candles.slice(FROM, FROM + 2600), realSeries.intervalMs, "slice");
  const base = computeFeatures(slice);

  const rnd = prng(20240601);
  const picked = new Set<number>();
  while (picked.size < 30) picked.add(700 + Math.floor(rnd() * 1890));
  // Bars just after each gap: the gap bar itself (no features) and the first bars that may have them.
  for (const g of slice.gaps) for (const d of [1, 2, 3, 12]) picked.add(g.afterIndex + d);
  const indices = [...picked].sort((a, b) => a - b);

  it("the slice holds the gaps the test relies on", () => {
    expect(slice.gaps.map((g) => g.afterIndex + FROM)).toEqual([3736, 3827, 5110, 5419]);
    expect(indices.length).toBeGreaterThanOrEqual(40);
    expect(indices.every((t) => t < slice.candles.length - 1)).toBe(true);
  });

  it("features at t are unchanged when every later candle is perturbed or removed", () => {
    let compared = 0;
    for (const t of indices) {
      const r = prng(t);
      const perturbed = slice.candles.map((c, k) => (k > t ? perturbCandle(c, r) : c));
      const viaPerturbed = computeFeatures(seriesOf(perturbed, slice.intervalMs));
      const viaTruncated = computeFeatures(seriesOf(slice.candles.slice(0, t + 1), slice.intervalMs));
      expect(at(viaPerturbed, t), `bar ${t}, later candles perturbed`).toEqual(at(base, t));
      expect(at(viaTruncated, t), `bar ${t}, series truncated after it`).toEqual(at(base, t));
      // The perturbation really reached the later bars: the next bar's features (when defined) moved.
      if (base.rows[t + 1] !== null) expect(viaPerturbed.rows[t + 1]).not.toEqual(base.rows[t + 1]);
      if (base.rows[t] !== null) compared++;
    }
    // Most picked bars have a vector, so the equalities above compare numbers, not just nulls.
    expect(compared).toBeGreaterThanOrEqual(30);
  });

  it("a bar right after a gap has no features, perturbed or not", () => {
    for (const g of slice.gaps) {
      const t = g.afterIndex + 1;
      expect(base.rows[t]).toBeNull();
      expect(base.reasons[t]).toMatch(/gap/);
    }
  });

  it("perturbing bar t itself changes the features at t", () => {
    for (const t of indices) {
      if (base.rows[t] === null) continue;
      const c = slice.candles[t];
      const close = c.close * 1.01;
      const moved: Candle = { ...c, close, high: Math.max(c.high, close), volume: c.volume * 1.5 };
      const candles = slice.candles.map((x, k) => (k === t ? moved : x));
      const m = computeFeatures(seriesOf(candles, slice.intervalMs));
      expect(m.rows[t], `bar ${t}`).not.toBeNull();
      expect(m.rows[t], `bar ${t}`).not.toEqual(base.rows[t]);
    }
  });

  it("funding features at t ignore every funding print after the bar's close", () => {
    const funding = loadFunding(FUNDING_FILE);
    // 1,200 bars from 2021-01-01, well inside the funding history.
    const start = realSeries.candles.findIndex((c) => c.time >= Date.UTC(2021, 0, 1));
    const s = seriesOf(realSeries.candles.slice(start, start + 1200), realSeries.intervalMs);
    const full = computeFeatures(s, funding);
    const r = prng(7);
    let compared = 0;
    for (let i = 0; i < 12; i++) {
      const t = 650 + Math.floor(r() * 540);
      const close = s.candles[t].time + s.intervalMs;
      const later = funding.rates.map((p) =>
        p.time > close ? { time: p.time, rate: p.rate * -3 + 0.01 } : p,
      );
      const cut = funding.rates.filter((p) => p.time <= close);
      const viaLater = computeFeatures(s, { source: "changed", rates: later });
      const viaCut = computeFeatures(s, { source: "cut", rates: cut });
      expect(at(viaLater, t), `bar ${t}`).toEqual(at(full, t));
      expect(at(viaCut, t), `bar ${t}`).toEqual(at(full, t));
      if (full.rows[t] !== null) compared++;
    }
    expect(compared).toBeGreaterThanOrEqual(10);
  });
});

/** Column of feature `name` in a matrix (fails the test when the feature is missing). */
function col(m: FeatureMatrix, name: string): number {
  const i = m.names.indexOf(name);
  expect(i, `feature ${name}`).toBeGreaterThanOrEqual(0);
  return i;
}

/** Length of the hand-made series: long enough that every window is full well before the bars checked. */
const N = 760;
/** In the gap series, bars after this index are shifted later by the missing bars. */
const GAP_AFTER = 649;

describe("computeFeatures: gaps", () => {
  /** N bars with drifting closes, a 2x jump in close at the first bar after the gap, `missing` bars missing. */
  function gapSeries(missing: number): CandleSeries {
    const candles = patternCandles(
      N,
      (t) => 100 * Math.exp(0.002 * (t % 50) + 0.003 * ((t * 7) % 5)) * (t > GAP_AFTER ? 2 : 1),
      (t) => 10 + (t % 3),
    ).map((c, t) => (t > GAP_AFTER ? { ...c, time: c.time + missing * BAR } : c));
    return seriesOf(candles);
  }
  const G = GAP_AFTER + 1; // first bar after the gap

  it("barLogReturns is null for the first bar and after a gap, and ln(c_t / c_t-1) elsewhere", () => {
    const s = gapSeries(2);
    expect(s.gaps).toHaveLength(1);
    const r = barLogReturns(s);
    expect(r[0]).toBeNull();
    expect(r[G]).toBeNull();
    const c = s.candles;
    for (const t of [1, 2, G - 1, G + 1, N - 1]) expect(r[t]).toBe(Math.log(c[t].close / c[t - 1].close));
    expect(r.filter((x) => x === null)).toHaveLength(2);
  });

  it("the bar after a gap has no features and a reason naming the gap", () => {
    const m = computeFeatures(gapSeries(2));
    expect(m.rows[G]).toBeNull();
    expect(m.reasons[G]).toMatch(/gap/);
    expect(m.rows[G - 1]).not.toBeNull();
  });

  it("windows are taken by time: after a 2-bar gap the 1d window holds 9 returns, none across the gap", () => {
    const s = gapSeries(2);
    const m = computeFeatures(s);
    const row = m.rows[G + 1];
    expect(row).not.toBeNull();
    // Bar G+1 opens 12 bar-lengths after bar G-9 (2 bars are missing), so its 1d window (by time) holds
    // bars G-8..G+1; the return of bar G spans the gap and is missing: RMS over bars G-8..G-1 and G+1.
    const c = s.candles;
    const ks = [-8, -7, -6, -5, -4, -3, -2, -1, 1].map((d) => G + d);
    const rets = ks.map((k) => Math.log(c[k].close / c[k - 1].close));
    const rv = Math.sqrt(rets.reduce((a, x) => a + x * x, 0) / rets.length);
    expect(row![col(m, "rv_1d")]).toBeCloseTo(rv, 14);
    // Had the 2x jump across the gap been used, rv_1d would exceed 0.2; the window's own returns are < 0.02.
    expect(row![col(m, "rv_1d")]).toBeLessThan(0.02);
    // Parkinson averages the bars present in the window by time: G-8..G+1 (10 bars).
    const hl = [-8, -7, -6, -5, -4, -3, -2, -1, 0, 1].map((d) => Math.log(c[G + d].high / c[G + d].low) ** 2);
    const parkinson = Math.sqrt(hl.reduce((a, x) => a + x, 0) / 10 / (4 * Math.LN2));
    expect(row![col(m, "parkinson_1d")]).toBeCloseTo(parkinson, 14);
  });

  it("a 3-bar gap leaves the next bar's 1d window with 8 returns, under the 9 it needs", () => {
    const m = computeFeatures(gapSeries(3));
    expect(m.rows[G + 1]).toBeNull();
    expect(m.reasons[G + 1]).toBe("1d window has 8 returns, needs 9");
  });

  it("after a 13-bar gap, every window refills from the bars after it", () => {
    // Bar G+j opens (j + 13) bar-lengths after bar G-1. Its 1d window holds only post-gap bars, so j
    // returns; the 3.5d window keeps pre-gap bars G-28+j.. (28 - j of them) plus j post-gap returns; the 7d
    // window keeps 70 - j pre-gap bars (each with a 1d vol) and the post-gap bars G..G+j, of which only
    // G+9.. have the 9 returns a 1d vol needs: 70 - j + (j - 8) = 62 vols until the pre-gap bars run out
    // at j = 70, then j - 8.
    const m = computeFeatures(gapSeries(13));
    expect(m.reasons[G + 8]).toBe("1d window has 8 returns, needs 9");
    expect(m.reasons[G + 9]).toBe("3.5d window has 28 returns, needs 32");
    expect(m.reasons[G + 31]).toBe("3.5d window has 31 returns, needs 32");
    for (const j of [32, 50, 70])
      expect(m.reasons[G + j], `bar G+${j}`).toBe("7d window has 62 1d vols, needs 63");
    for (let j = 1; j <= 70; j++) expect(m.rows[G + j], `bar G+${j}`).toBeNull();
    expect(m.rows[G + 71]).not.toBeNull();
  });
});

describe("computeFeatures: values on hand-made series", () => {
  it("alternating +a / -a returns give the closed-form values", () => {
    const a = 0.01;
    const b = 0.005;
    // Closes alternate 100 (even bars) and 100 e^a (odd bars); each bar opens at the previous close and
    // reaches e^b above its body and e^-b below it, so ln(H / L) = a + 2b for every bar after the first.
    const candles: Candle[] = [];
    for (let t = 0; t < N; t++) {
      const close = t % 2 === 0 ? 100 : 100 * Math.exp(a);
      const open = t === 0 ? 100 : candles[t - 1].close;
      const high = Math.max(open, close) * Math.exp(b);
      const low = Math.min(open, close) * Math.exp(-b);
      candles.push({ time: T0 + t * BAR, open, high, low, close, volume: 42 });
    }
    const m = computeFeatures(seriesOf(candles));
    for (const name of CANDLE_NAMES) col(m, name);
    const parkinson = (a + 2 * b) / (2 * Math.sqrt(Math.LN2));
    for (const t of [700, 701, 758, 759]) {
      const row = m.rows[t]!;
      expect(row).not.toBeNull();
      const v = (name: string) => row[col(m, name)];
      expect(v("rv_1d")).toBeCloseTo(a, 12);
      expect(v("rv_3d5")).toBeCloseTo(a, 12);
      expect(v("rv_7d")).toBeCloseTo(a, 12);
      expect(v("parkinson_1d")).toBeCloseTo(parkinson, 12);
      expect(v("abs_return")).toBeCloseTo(a, 12);
      expect(v("volume_z_7d")).toBe(0); // constant volume: zero spread, z-score 0 by definition
      // The highest high of the window is 100 e^(a+b), reached by every bar.
      expect(v("drawdown_7d")).toBeCloseTo(t % 2 === 0 ? 1 - Math.exp(-(a + b)) : 1 - Math.exp(-b), 12);
      expect(v("volvol_7d")).toBeCloseTo(0, 12); // every 1d vol is a: no variation
    }
  });

  it("a varying series matches a direct index-window computation", () => {
    const closeAt = (t: number) => 100 * Math.exp(0.004 * (((t * 7) % 11) - 5) + 0.001 * (t % 97));
    const volumeAt = (t: number) => 10 + ((t * 13) % 17);
    const up = (t: number) => 0.001 * (((t * 3) % 5) + 1);
    const down = (t: number) => 0.001 * (((t * 5) % 7) + 1);
    const c = patternCandles(N, closeAt, volumeAt, up, down);
    const m = computeFeatures(seriesOf(c));

    const ret = (k: number) => Math.log(c[k].close / c[k - 1].close);
    /** RMS of the returns of bars t-n+1..t. */
    const rv = (t: number, n: number): number => {
      let s = 0;
      for (let k = t - n + 1; k <= t; k++) s += ret(k) ** 2;
      return Math.sqrt(s / n);
    };
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const std = (xs: number[]) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));

    for (const t of [700, 731, 759]) {
      const row = m.rows[t]!;
      expect(row).not.toBeNull();
      const w7 = Array.from({ length: 84 }, (_, i) => t - 83 + i);
      const w1 = Array.from({ length: 12 }, (_, i) => t - 11 + i);
      const vols = w7.map((k) => rv(k, 12));
      const volumes = w7.map((k) => c[k].volume);
      const hl2 = w1.map((k) => Math.log(c[k].high / c[k].low) ** 2);
      const expected: Record<string, number> = {
        rv_1d: rv(t, 12),
        rv_3d5: rv(t, 42),
        rv_7d: rv(t, 84),
        parkinson_1d: Math.sqrt(mean(hl2) / (4 * Math.LN2)),
        abs_return: Math.abs(ret(t)),
        volume_z_7d: (c[t].volume - mean(volumes)) / std(volumes),
        drawdown_7d: 1 - c[t].close / Math.max(...w7.map((k) => c[k].high)),
        volvol_7d: std(vols) / mean(vols),
      };
      for (const name of CANDLE_NAMES) {
        expect(row[col(m, name)], `${name} at bar ${t}`).toBeCloseTo(expected[name], 12);
      }
      // The pattern is rich enough that a window one bar too long or too short would be caught.
      for (const n of [12, 42, 84]) {
        expect(rv(t, n + 1)).not.toBeCloseTo(rv(t, n), 6);
        expect(rv(t, n - 1)).not.toBeCloseTo(rv(t, n), 6);
      }
    }
  });

  it("early bars have no vector, with the first window that is short as the reason", () => {
    const m = computeFeatures(
      seriesOf(
        patternCandles(
          N,
          (t) => 100 + (t % 4),
          () => 5,
        ),
      ),
    );
    expect(m.reasons[0]).toBe("first bar has no previous close");
    expect(m.reasons[8]).toBe("1d window has 8 returns, needs 9");
    expect(m.reasons[30]).toBe("3.5d window has 30 returns, needs 32");
    expect(m.reasons[62]).toBe("7d window has 62 returns, needs 63");
    for (let t = 0; t <= 70; t++) expect(m.rows[t], `bar ${t}`).toBeNull();
    for (let t = 600; t < N; t++) expect(m.rows[t], `bar ${t}`).not.toBeNull();
  });
});

describe("featuresAt", () => {
  const all = computeFeatures(realSeries);

  it("equals the row of computeFeatures on the real series", () => {
    const r = prng(99);
    const indices = [97, 98, 500, 3739, 3740, 30064];
    for (let i = 0; i < 10; i++) indices.push(1000 + Math.floor(r() * 29_000));
    let compared = 0;
    for (const t of indices) {
      if (all.rows[t] === null) continue;
      expect(featuresAt(realSeries, t), `bar ${t}`).toEqual(all.rows[t]);
      compared++;
    }
    expect(compared).toBeGreaterThanOrEqual(12);
  });

  it("throws InsufficientDataError with the reason for an early bar", () => {
    const error = thrown(() => featuresAt(realSeries, 50));
    expect(error).toBeInstanceOf(InsufficientDataError);
    expect((error as InsufficientDataError).code).toBe("DATA_INSUFFICIENT");
    expect((error as Error).message).toContain(all.reasons[50]!);
    expect((error as Error).message).toContain(new Date(realSeries.candles[50].time).toISOString());
    expect(() => featuresAt(realSeries, 0)).toThrow(/first bar has no previous close/);
  });

  it("throws InsufficientDataError for the bar after a gap", () => {
    const t = 3737; // first bar after the gap that follows file index 3736
    expect(realSeries.candles[t].time - realSeries.candles[t - 1].time).toBeGreaterThan(
      realSeries.intervalMs,
    );
    const error = thrown(() => featuresAt(realSeries, t));
    expect(error).toBeInstanceOf(InsufficientDataError);
    expect((error as Error).message).toMatch(/gap/);
  });

  it("with funding, equals the row of computeFeatures with funding", () => {
    const s = seriesOf(
      patternCandles(
        N,
        (t) => 100 + (t % 5),
        (t) => 10 + (t % 7),
      ),
    );
    const funding: FundingSeries = {
      source: "f",
      rates: Array.from({ length: 200 }, (_, k) => ({ time: T0 + k * 8 * HOUR, rate: 1e-4 * ((k % 3) - 1) })),
    };
    const m = computeFeatures(s, funding);
    for (const t of [700, 730, 759]) {
      expect(m.rows[t]).not.toBeNull();
      expect(featuresAt(s, t, funding)).toEqual(m.rows[t]);
    }
  });
});

describe("computeFeatures: funding", () => {
  const candles = patternCandles(
    N,
    (t) => 100 + ((t * 3) % 7),
    (t) => 10 + (t % 4),
  );
  const s = seriesOf(candles);
  // Prints every 8 h from T0 (print k at 8k h), with distinct rates of both signs, plus one print inside
  // bar 702 (open 1404 h, close 1406 h) and one 1 ms after bar 702's close.
  const grid: FundingRate[] = Array.from({ length: 191 }, (_, k) => ({
    time: T0 + k * 8 * HOUR,
    rate: (k % 2 === 0 ? 1 : -1) * (k + 1) * 1e-6,
  }));
  const inside = { time: T0 + 1405 * HOUR, rate: 0.0007 };
  const justAfter = { time: T0 + 1406 * HOUR + 1, rate: -0.0009 };
  const rates = [...grid, inside, justAfter].sort((x, y) => x.time - y.time);
  const funding: FundingSeries = { source: "hand", rates };
  const m = computeFeatures(s, funding);
  const plain = computeFeatures(s);

  /** Expected [last rate, mean |rate|] at close time `close`: prints in (close - 7 d, close]. */
  function expected(close: number): [number, number] {
    const used = rates.filter((p) => p.time > close - 7 * DAY && p.time <= close);
    return [used[used.length - 1].rate, used.reduce((a, p) => a + Math.abs(p.rate), 0) / used.length];
  }

  it("adds the two funding columns after the candle features", () => {
    expect(m.names).toEqual([...plain.names, "funding_rate", "funding_abs_mean_7d"]);
    const n = plain.names.length;
    for (const t of [701, 702, 703]) expect(m.rows[t]!.slice(0, n)).toEqual(plain.rows[t]);
  });

  it("uses the last print at or before the bar's close, not one after it", () => {
    const rate = col(m, "funding_rate");
    expect(candles[702].time + BAR).toBe(T0 + 1406 * HOUR);
    // Bar 701 closes at 1404 h: the last print is the grid one at 1400 h.
    expect(m.rows[701]![rate]).toBe(grid[175].rate);
    // Bar 702 closes at 1406 h: the print at 1405 h counts; those at 1406 h + 1 ms and 1408 h do not.
    expect(m.rows[702]![rate]).toBe(inside.rate);
    // Bar 703 closes at 1408 h: the grid print at exactly its close is used.
    expect(m.rows[703]![rate]).toBe(grid[176].rate);
    for (const t of [701, 702, 703, 730]) {
      const [last, absMean] = expected(candles[t].time + BAR);
      expect(m.rows[t]![rate]).toBe(last);
      expect(m.rows[t]![col(m, "funding_abs_mean_7d")]).toBeCloseTo(absMean, 15);
    }
  });

  it("the 7-day mean excludes a print exactly 7 days before the close", () => {
    // Bar 703 closes at 1408 h, 7 d after grid print 155 (1240 h): the mean covers grid 156..176 and the
    // two extra prints.
    const used = [...grid.slice(156, 177), inside, justAfter];
    const absMean = used.reduce((a, p) => a + Math.abs(p.rate), 0) / used.length;
    expect(m.rows[703]![col(m, "funding_abs_mean_7d")]).toBeCloseTo(absMean, 15);
    const withOld = [...used, grid[155]].reduce((a, p) => a + Math.abs(p.rate), 0) / (used.length + 1);
    expect(m.rows[703]![col(m, "funding_abs_mean_7d")]).not.toBeCloseTo(withOld, 8);
  });

  it("a bar with no print in the 24 h before its close has no vector", () => {
    // Prints stop at 1360 h; bar 702 closes at 1406 h, 46 h later.
    const stale: FundingSeries = { source: "stale", rates: grid.filter((p) => p.time <= T0 + 1360 * HOUR) };
    const sm = computeFeatures(s, stale);
    expect(sm.rows[702]).toBeNull();
    expect(sm.reasons[702]).toBe("no funding print in the 24 h before the bar's close");
  });

  it("a 7-day window with fewer than 15 prints has no vector", () => {
    // Prints every 16 h instead of 8: bar 702's window (1238 h, 1406 h] holds those at 1248, 1264, ..., 1392 h.
    const sparse: FundingSeries = { source: "sparse", rates: grid.filter((_, k) => k % 2 === 0) };
    const sm = computeFeatures(s, sparse);
    expect(sm.rows[702]).toBeNull();
    expect(sm.reasons[702]).toBe("7d funding window has 10 prints, needs 15");
  });
});
