/**
 * The integer window features: each definition checked against its float meaning on crafted windows, the
 * coverage rules, the declared bounds, and the shipped candles.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildWindow, type Window, type WindowBar } from "../../candles";
import { marketIdOf } from "../../candles/market-id";
import {
  DRAWDOWN_STRIDE,
  FEATURE_INTERVAL_MS,
  FEATURE_RANGE_BARS,
  featureFloats,
  isqrt,
  seriesWindowFeatures,
  WINDOW_FEATURES,
  windowFeatures,
} from "../../features/window-features";
import { integerCandlesOf, WINDOW_BARS, WINDOW_RANGE_BARS } from "../../candles/window";
import { BoundsError, InsufficientDataError } from "../../core/errors";
import { loadCandles } from "../../candles/load-data";

const N = WINDOW_BARS;
const END = Date.UTC(2024, 0, 8);
const UNIT = 100_000_000n; // one quote unit at 8 decimals

/** A window of N bars from closes (quote units, floats with at most 8 decimals) and volumes. */
function windowOf(closes: number[], volumes: number[] = closes.map(() => 1), rangeWidth = 0.01): Window {
  const bars: WindowBar[] = closes.map((c, i) => {
    const time = END - (N - 1 - i) * FEATURE_INTERVAL_MS;
    if (c === 0) return { time, missing: true, high: 0n, low: 0n, close: 0n, volume: 0n };
    const close = BigInt(Math.round(c * 1e8));
    const ranged = i >= N - WINDOW_RANGE_BARS;
    const half = BigInt(Math.round(c * rangeWidth * 0.5e8));
    return {
      time,
      missing: false,
      close,
      volume: BigInt(Math.round(volumes[i] * 1e8)),
      high: ranged ? close + half : 0n,
      low: ranged ? close - half : 0n,
    };
  });
  return { marketId: 1n, intervalMs: FEATURE_INTERVAL_MS, endTime: END, bars };
}

/** A deterministic zig-zag price path around 100 with moves of about 1 %. */
function path(): number[] {
  return Array.from({ length: N }, (_, i) => 100 + ((i * 37) % 11) - 5 + (i % 3) * 0.25);
}

const rms = (xs: number[]) => Math.sqrt(xs.reduce((a, x) => a + x * x, 0) / xs.length);

describe("window features", () => {
  it("declares eight features with their bounds", () => {
    expect(WINDOW_FEATURES.map((f) => `${f.name} [${f.lo}, ${f.hi})`)).toEqual([
      "rv_1d [0, 2)",
      "rv_3d5 [0, 2)",
      "rv_7d [0, 2)",
      "range_1d [0, 2)",
      "abs_return [0, 2)",
      "volume_ratio_7d [0, 128)",
      "drawdown_7d [0, 1)",
      "volvol_7d [0, 4)",
    ]);
    expect(N).toBe(85);
  });

  it("isqrt is the floor of the square root", () => {
    const big = [(1n << 66n) - 1n, 1n << 66n, 10n ** 40n + 12345n, (1n << 199n) + 7n, (1n << 253n) - 1n];
    for (const x of [0n, 1n, 2n, 3n, 4n, 15n, 16n, 17n, ...big]) {
      const s = isqrt(x);
      expect(s * s <= x && (s + 1n) * (s + 1n) > x, `isqrt(${x})`).toBe(true);
    }
    expect(() => isqrt(-1n)).toThrow(RangeError);
  });

  it("computes each feature as its float meaning, floored at scale 2^32", () => {
    const closes = path();
    const volumes = closes.map((_, i) => 1 + (i % 5));
    const w = windowOf(closes, volumes);
    const x = featureFloats(windowFeatures(w));
    const C = closes[N - 1];
    const moves = closes.slice(1).map((c, i) => (c - closes[i]) / C);
    const days = Array.from({ length: 7 }, (_, j) => rms(moves.slice(12 * j, 12 * j + 12)) ** 2);
    const u1 = days.reduce((a, b) => a + b, 0);
    const u2 = days.reduce((a, b) => a + b * b, 0);
    const sampled = closes.filter((_, i) => i > 0 && (N - 1 - i) % DRAWDOWN_STRIDE === 0);
    const expected = [
      rms(moves.slice(-12)),
      rms(moves.slice(-42)),
      rms(moves),
      0.01 * rms(closes.slice(-12).map((c) => c / C)),
      Math.abs(moves[moves.length - 1]),
      (volumes[N - 1] * 84) / volumes.slice(1).reduce((a, b) => a + b, 0),
      1 - C / Math.max(...sampled),
      Math.sqrt(7 * u2 - u1 * u1) / u1,
    ];
    expect(sampled).toHaveLength(21);
    x.forEach((v, i) => {
      expect(v, WINDOW_FEATURES[i].name).toBeLessThanOrEqual(expected[i] + 1e-9);
      expect(v, WINDOW_FEATURES[i].name).toBeGreaterThan(expected[i] - 1e-6 * Math.max(1, expected[i]));
    });
  });

  it("skips returns across missing bars and counts only the returns that exist", () => {
    const closes = path();
    const holed = closes.map((c, i) => (i === 50 || i === 51 ? 0 : c));
    const x = featureFloats(windowFeatures(windowOf(holed)));
    const C = closes[N - 1];
    const moves: number[] = [];
    for (let i = 1; i < N; i++)
      if (holed[i] > 0 && holed[i - 1] > 0) moves.push((holed[i] - holed[i - 1]) / C);
    expect(moves).toHaveLength(81);
    expect(x[2]).toBeCloseTo(rms(moves), 9);
    expect(x[0]).toBeCloseTo(rms(moves.slice(-12)), 9);
  });

  it("is 0 for flat prices (volvol's U1 = 0) and for zero volume (V = 0)", () => {
    const x = windowFeatures(windowOf(new Array<number>(N).fill(100), new Array<number>(N).fill(0), 0));
    expect(x).toEqual([0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n]);
  });

  it("refuses a window the coverage rules refuse, saying which rule", () => {
    const closes = path();
    const cases: [number[], string][] = [
      [[N - 2], "the bar before the last is missing"],
      // A missing bar i removes returns i and i + 1.
      [[74, 77], "1d window has 8 returns, needs 9"],
      [[42, 44, 47, 50, 53, 56], "3.5d window has 31 returns, needs 32"],
      [[2, 5, 8, 11, 14, 17, 20, 23, 26, 29, 32], "7d window has 62 returns, needs 63"],
      [[13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23], "day 2 of the 7d window has no return"],
    ];
    for (const [holes, reason] of cases) {
      const w = windowOf(closes.map((c, i) => (holes.includes(i) ? 0 : c)));
      expect(() => windowFeatures(w), reason).toThrow(InsufficientDataError);
      expect(() => windowFeatures(w), reason).toThrow(reason);
    }
  });

  it("refuses a feature at or above its declared bound", () => {
    // The last close 1 % of the others: every change is about 100 last closes.
    const closes = path().map((c, i) => (i === N - 1 ? 1 : c));
    expect(() => windowFeatures(windowOf(closes))).toThrow(BoundsError);
    expect(() => windowFeatures(windowOf(closes))).toThrow(
      /feature rv_1d = .* at or above its declared bound 2/,
    );
    // Just under the bound passes: changes of 1.9 last closes.
    const high = Array.from({ length: N }, (_, i) => (i % 2 === 0 ? 1 : 2.9));
    const x = featureFloats(windowFeatures(windowOf(high)));
    expect(x[2]).toBeCloseTo(1.9, 9);
  });

  it("range_1d reads the highs and lows of the last FEATURE_RANGE_BARS = 12 bars, not the window's 24", () => {
    expect(FEATURE_RANGE_BARS).toBe(12);
    expect(WINDOW_RANGE_BARS).toBe(24);
    expect(FEATURE_RANGE_BARS).toBeLessThanOrEqual(WINDOW_RANGE_BARS);
    const w = windowOf(path());
    const base = windowFeatures(w);
    // bars 61 .. 72: signed (the adaptive rule's lagged outcomes read them), read by no feature
    const wide = (from: number, to: number) => ({
      ...w,
      bars: w.bars.map((b, i) => (i >= from && i <= to ? { ...b, high: b.high * 3n, low: 1n } : b)),
    });
    expect(windowFeatures(wide(N - WINDOW_RANGE_BARS, N - FEATURE_RANGE_BARS - 1))).toEqual(base);
    // bar 73, the first the feature reads: range_1d moves, and only it
    const moved = windowFeatures(wide(N - FEATURE_RANGE_BARS, N - FEATURE_RANGE_BARS));
    expect(moved[3]).toBeGreaterThan(base[3]);
    expect(moved.filter((_, k) => k !== 3)).toEqual(base.filter((_, k) => k !== 3));
  });

  it("range_1d of a real window is the engine's formula over the candle file's last 12 highs and lows", () => {
    const series = loadCandles(join(__dirname, "../../models/data/btcusdt-2h.csv"));
    const ints = integerCandlesOf(series);
    const F2 = 1n << 64n;
    for (const t of [84, 10_000, series.candles.length - 1]) {
      const last12 = ints.slice(t - 11, t + 1);
      // no gap in the last day: the candle file's last 12 rows are the window's last 12 bars
      expect(series.candles[t].time - series.candles[t - 11].time).toBe(11 * FEATURE_INTERVAL_MS);
      const C = ints[t].close;
      const R = last12.reduce((a, c) => a + (c.high - c.low) ** 2n, 0n);
      const want = isqrt((R * F2) / (12n * C * C));
      const w = buildWindow(series, marketIdOf("BTC-USDT"), t, N, ints);
      expect(windowFeatures(w)[3], `bar ${t}`).toBe(want);
    }
  });

  it("refuses a window of another length or interval", () => {
    const w = windowOf(path());
    expect(() => windowFeatures({ ...w, bars: w.bars.slice(1) })).toThrow(/84 bars, the features need 85/);
    const hourly = {
      ...w,
      intervalMs: 3_600_000,
      bars: w.bars.map((b, i) => ({ ...b, time: END - (N - 1 - i) * 3_600_000 })),
    };
    expect(() => windowFeatures(hourly)).toThrow(/interval 3600000 ms/);
  });

  it("gives the features of every bar of the shipped candles that has a covered window", () => {
    const series = loadCandles(join(__dirname, "../../models/data/btcusdt-2h.csv"));
    const m = seriesWindowFeatures(series, marketIdOf("BTC-USDT"));
    const rows = m.rows.filter((r) => r !== null).length;
    // 30,065 bars: the first 84 have no full window, and 120 windows around the 18 gaps lack coverage.
    expect([series.candles.length, rows]).toEqual([30065, 29861]);
    for (const t of [84, 10_000, series.candles.length - 1]) {
      const w = buildWindow(series, marketIdOf("BTC-USDT"), t, N);
      expect(m.rows[t]).toEqual(windowFeatures(w));
    }
    expect(m.reasons[83]).toBe("the window of 85 bars starts before the series");
    expect(UNIT).toBe(10n ** 8n);
  });
});
