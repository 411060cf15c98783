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

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

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

describe("computeFeatures: gaps", () => {
  /** 100 bars with closes drifting up, a 2x jump in close at bar 80, and `missing` bars before bar 80. */
  function gapSeries(missing: number): CandleSeries {
    const candles = patternCandles(
      100,
      (t) => 100 * Math.exp(0.002 * t + 0.003 * ((t * 7) % 5)) * (t >= 80 ? 2 : 1),
      (t) => 10 + (t % 3),
    ).map((c, t) => (t >= 80 ? { ...c, time: c.time + missing * BAR } : c));
    return seriesOf(candles);
  }

  it("barLogReturns is null for the first bar and after a gap, and ln(c_t / c_t-1) elsewhere", () => {
    const s = gapSeries(2);
    const r = barLogReturns(s);
    expect(r[0]).toBeNull();
    expect(r[80]).toBeNull();
    const c = s.candles;
    for (const t of [1, 2, 79, 81, 99]) expect(r[t]).toBe(Math.log(c[t].close / c[t - 1].close));
    expect(r.filter((x) => x === null)).toHaveLength(2);
  });

  it("the bar after a gap has no features and a reason naming the gap", () => {
    const m = computeFeatures(gapSeries(2));
    expect(m.rows[80]).toBeNull();
    expect(m.reasons[80]).toMatch(/gap/);
    expect(m.rows[79]).not.toBeNull();
  });

  it("windows are taken by time: a 2-bar gap shortens the next bar's 1d window to 9 returns", () => {
    const s = gapSeries(2);
    const m = computeFeatures(s);
    const row = m.rows[81];
    expect(row).not.toBeNull();
    // Bar 81 opens 83 bar-lengths after bar 0, so its 1d window (by time) holds bars 72..81; the return
    // of bar 80 spans the gap and is missing: RMS over the returns of bars 72..79 and 81 only.
    const c = s.candles;
    const rets = [72, 73, 74, 75, 76, 77, 78, 79, 81].map((k) => Math.log(c[k].close / c[k - 1].close));
    const rv = Math.sqrt(rets.reduce((a, x) => a + x * x, 0) / rets.length);
    expect(row![0]).toBeCloseTo(rv, 14);
    // Had the 2x jump across the gap been used, rv_1d would exceed 0.2; the window's own returns are < 0.02.
    expect(row![0]).toBeLessThan(0.02);
    // Parkinson averages the bars present in the window by time: 72..81 (10 bars).
    const hl = [72, 73, 74, 75, 76, 77, 78, 79, 80, 81].map((k) => Math.log(c[k].high / c[k].low) ** 2);
    expect(row![3]).toBeCloseTo(Math.sqrt(hl.reduce((a, x) => a + x, 0) / 10 / (4 * Math.LN2)), 14);
  });

  it("a 3-bar gap leaves the next bar's 1d window with 8 returns, under the 9 it needs", () => {
    const m = computeFeatures(gapSeries(3));
    expect(m.rows[81]).toBeNull();
    expect(m.reasons[81]).toBe("1d window has 8 returns, needs 9");
  });
});

describe("computeFeatures: values on hand-made series", () => {
  it("alternating +a / -a returns give the closed-form values", () => {
    const a = 0.01;
    const b = 0.005;
    // Closes alternate 100 (even bars) and 100 e^a (odd bars); each bar opens at the previous close and
    // reaches e^b above its body and e^-b below it, so ln(H / L) = a + 2b for every bar after the first.
    const candles: Candle[] = [];
    for (let t = 0; t < 100; t++) {
      const close = t % 2 === 0 ? 100 : 100 * Math.exp(a);
      const open = t === 0 ? 100 : candles[t - 1].close;
      const high = Math.max(open, close) * Math.exp(b);
      const low = Math.min(open, close) * Math.exp(-b);
      candles.push({ time: T0 + t * BAR, open, high, low, close, volume: 42 });
    }
    const m = computeFeatures(seriesOf(candles));
    expect(m.names).toEqual(CANDLE_NAMES);
    const parkinson = (a + 2 * b) / (2 * Math.sqrt(Math.LN2));
    for (const t of [90, 95, 98, 99]) {
      const row = m.rows[t]!;
      expect(row).not.toBeNull();
      expect(row[0]).toBeCloseTo(a, 12); // rv_1d
      expect(row[1]).toBeCloseTo(a, 12); // rv_3d5
      expect(row[2]).toBeCloseTo(a, 12); // rv_7d
      expect(row[3]).toBeCloseTo(parkinson, 12);
      expect(row[4]).toBeCloseTo(a, 12); // abs_return
      expect(row[5]).toBe(0); // constant volume: zero spread, z-score 0 by definition
      // Highest high of the window is 100 e^(a+b), reached by every bar.
      expect(row[6]).toBeCloseTo(t % 2 === 0 ? 1 - Math.exp(-(a + b)) : 1 - Math.exp(-b), 12);
      expect(row[7]).toBeCloseTo(0, 12); // every 1d vol is a: no variation
    }
  });

  it("a varying series matches a direct index-window computation", () => {
    const closeAt = (t: number) => 100 * Math.exp(0.004 * (((t * 7) % 11) - 5) + 0.001 * t);
    const volumeAt = (t: number) => 10 + ((t * 13) % 17);
    const up = (t: number) => 0.001 * (((t * 3) % 5) + 1);
    const down = (t: number) => 0.001 * (((t * 5) % 7) + 1);
    const c = patternCandles(100, closeAt, volumeAt, up, down);
    const m = computeFeatures(seriesOf(c));

    const ret = (k: number) => Math.log(c[k].close / c[k - 1].close);
    /** RMS of the returns of bars max(1, t-n+1)..t, or null under 75 % of n. */
    const rv = (t: number, n: number): number | null => {
      const xs: number[] = [];
      for (let k = Math.max(1, t - n + 1); k <= t; k++) xs.push(ret(k));
      return xs.length < Math.ceil(0.75 * n)
        ? null
        : Math.sqrt(xs.reduce((s, x) => s + x * x, 0) / xs.length);
    };
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const std = (xs: number[]) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));

    for (const t of [84, 91, 99]) {
      const row = m.rows[t]!;
      expect(row).not.toBeNull();
      const w7 = Array.from({ length: 84 }, (_, i) => t - 83 + i);
      const w1 = Array.from({ length: 12 }, (_, i) => t - 11 + i);
      const vols = w7.map((k) => rv(k, 12)).filter((v): v is number => v !== null);
      const volumes = w7.map((k) => c[k].volume);
      const hl2 = w1.map((k) => Math.log(c[k].high / c[k].low) ** 2);
      const expected = [
        rv(t, 12)!,
        rv(t, 42)!,
        rv(t, 84)!,
        Math.sqrt(mean(hl2) / (4 * Math.LN2)),
        Math.abs(ret(t)),
        (c[t].volume - mean(volumes)) / std(volumes),
        1 - c[t].close / Math.max(...w7.map((k) => c[k].high)),
        std(vols) / mean(vols),
      ];
      expected.forEach((v, i) => expect(row[i], `${CANDLE_NAMES[i]} at bar ${t}`).toBeCloseTo(v, 12));
    }
    // The pattern is rich enough that a window one bar too long or too short would be caught.
    for (const t of [84, 91, 99]) {
      expect(rv(t, 13)).not.toBeCloseTo(rv(t, 12)!, 6);
      expect(rv(t, 11)).not.toBeCloseTo(rv(t, 12)!, 6);
    }
  });

  it("the first vector appears when the 7d window holds 63 one-day vols", () => {
    const c = patternCandles(
      100,
      (t) => 100 + (t % 4),
      () => 5,
    );
    const m = computeFeatures(seriesOf(c));
    expect(m.reasons[0]).toBe("first bar has no previous close");
    // 1d vols exist from bar 9 (9 returns: bars 1..9); at bar 70 the window 0..70 holds 62 of them.
    expect(m.rows[70]).toBeNull();
    expect(m.reasons[70]).toBe("7d window has 62 1d vols, needs 63");
    expect(m.rows[71]).not.toBeNull();
    expect(m.rows.findIndex((r) => r !== null)).toBe(71);
  });
});

describe("featuresAt", () => {
  const all = computeFeatures(realSeries);

  it("equals the row of computeFeatures on the real series", () => {
    const r = prng(99);
    const indices = [97, 98, 500, 3739, 3740, 30064];
    for (let i = 0; i < 10; i++) indices.push(100 + Math.floor(r() * 29_900));
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
        100,
        (t) => 100 + (t % 5),
        (t) => 10 + (t % 7),
      ),
    );
    const funding: FundingSeries = {
      source: "f",
      rates: Array.from({ length: 40 }, (_, k) => ({ time: T0 + k * 8 * HOUR, rate: 1e-4 * ((k % 3) - 1) })),
    };
    const m = computeFeatures(s, funding);
    for (const t of [80, 90, 99]) {
      expect(m.rows[t]).not.toBeNull();
      expect(featuresAt(s, t, funding)).toEqual(m.rows[t]);
    }
  });
});

describe("computeFeatures: funding", () => {
  const candles = patternCandles(
    100,
    (t) => 100 + ((t * 3) % 7),
    (t) => 10 + (t % 4),
  );
  const s = seriesOf(candles);
  // Prints every 8 h from T0, with distinct rates of both signs, plus one print inside bar 82
  // (open 164 h, close 166 h) and one 1 ms after bar 82's close.
  const grid: FundingRate[] = Array.from({ length: 31 }, (_, k) => ({
    time: T0 + k * 8 * HOUR,
    rate: (k % 2 === 0 ? 1 : -1) * (k + 1) * 1e-5,
  }));
  const inside = { time: T0 + 165 * HOUR, rate: 0.0007 };
  const justAfter = { time: T0 + 166 * HOUR + 1, rate: -0.0009 };
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
    expect(m.names).toEqual([...CANDLE_NAMES, "funding_rate", "funding_abs_mean_7d"]);
    for (const t of [81, 82, 83]) expect(m.rows[t]!.slice(0, 8)).toEqual(plain.rows[t]);
  });

  it("uses the last print at or before the bar's close, not one after it", () => {
    const close82 = candles[82].time + BAR;
    expect(close82).toBe(T0 + 166 * HOUR);
    // Bar 81 closes at 164 h: the last print is the grid one at 160 h.
    expect(m.rows[81]![8]).toBe(grid[20].rate);
    // Bar 82 closes at 166 h: the print at 165 h counts; the one at 166 h + 1 ms and the 168 h one do not.
    expect(m.rows[82]![8]).toBe(inside.rate);
    // Bar 83 closes at 168 h: the grid print at exactly its close is used.
    expect(m.rows[83]![8]).toBe(grid[21].rate);
    for (const t of [81, 82, 83, 90]) {
      const [last, absMean] = expected(candles[t].time + BAR);
      expect(m.rows[t]![8]).toBe(last);
      expect(m.rows[t]![9]).toBeCloseTo(absMean, 15);
    }
  });

  it("the 7-day mean excludes a print exactly 7 days before the close", () => {
    // Bar 83 closes at 168 h = 7 d after the print at 0 h: mean over grid 1..21 plus the two extra prints.
    const used = [...grid.slice(1, 22), inside, justAfter];
    const absMean = used.reduce((a, p) => a + Math.abs(p.rate), 0) / used.length;
    expect(m.rows[83]![9]).toBeCloseTo(absMean, 15);
    const withFirst = [...used, grid[0]].reduce((a, p) => a + Math.abs(p.rate), 0) / (used.length + 1);
    expect(m.rows[83]![9]).not.toBeCloseTo(withFirst, 8);
  });

  it("a bar with no print in the 24 h before its close has no vector", () => {
    // Prints stop at 120 h; bar 82 closes at 166 h, 46 h later.
    const stale: FundingSeries = { source: "stale", rates: grid.filter((p) => p.time <= T0 + 120 * HOUR) };
    const sm = computeFeatures(s, stale);
    expect(sm.rows[82]).toBeNull();
    expect(sm.reasons[82]).toBe("no funding print in the 24 h before the bar's close");
  });

  it("a 7-day window with fewer than 15 prints has no vector", () => {
    // Prints every 16 h instead of 8 h: bar 82's window (-2 h, 166 h] holds the ones at 0, 16, ..., 160 h.
    const sparse: FundingSeries = { source: "sparse", rates: grid.filter((_, k) => k % 2 === 0) };
    const sm = computeFeatures(s, sparse);
    expect(sm.rows[82]).toBeNull();
    expect(sm.reasons[82]).toBe("7d funding window has 11 prints, needs 15");
  });
});
