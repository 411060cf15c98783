/**
 * The features of one signed window, in integers: the first step of the integer engine, which now starts at
 * the integer candles a publisher signs (candles/window.ts) and is the single source of truth that the
 * circuit (circuits/lib/window-features.circom) recomputes bit for bit.
 *
 * Every feature is scale-free and made for a circuit: squared price changes over one squared reference
 * price (the last close) instead of a logarithm per bar, one division per feature, square roots of whole
 * numbers, and a maximum over a few sampled closes. Each value is an integer at scale 2^FEATURE_SCALE_BITS.
 *
 * Notation, for the WINDOW_BARS = 85 bars i = 0 .. 84 of a window (bar 84 is the last, t):
 *   c_i, v_i             close and volume; h_i, l_i high and low (read for i >= 73, the last
 *                        FEATURE_RANGE_BARS = 12; the window signs them from bar 61 on, its 24-bar range part)
 *   p_i = [c_i > 0]      the bar is present (a missing bar has every field 0)
 *   ok_i = p_i p_{i-1}   return i (i = 1 .. 84) exists: both of its bars are present
 *   e_i = ok_i (c_i - c_{i-1})^2
 *   C = c_84,  D = C^2,  F = 2^32 (the feature scale),  F2 = 2^64
 *   S(W) = sum of e_i over W,  n(W) = sum of ok_i over W, for a set W of return indexes
 *   W1 = 73..84 (1 day, 12 returns), W35 = 43..84 (3.5 days, 42), W7 = 1..84 (7 days, 84),
 *   B_j = 1 + 12j .. 12 + 12j (day j of the week, j = 0 .. 6)
 *
 * The features (isqrt(x) = floor(sqrt(x)), / is floor division):
 *   rv_1d, rv_3d5, rv_7d  isqrt(S(W) F2 / (n(W) D))        RMS of the price change over the window, / C
 *   range_1d              isqrt(R F2 / (m D)),  R = sum_{i in 73..84} p_i (h_i - l_i)^2, m = sum p_i there
 *   abs_return            isqrt(e_84 F2 / D)                 |c_84 - c_83| / C
 *   volume_ratio_7d       v_84 m7 F / V,  V = sum_{i in 1..84} v_i, m7 = sum_{i in 1..84} p_i  (0 when V = 0)
 *   drawdown_7d           (M - C) F / M,  M = max of c_i over i = 84, 80, ..., 4 (every 8 hours)
 *   volvol_7d             isqrt((7 U2 - U1^2) F2 / U1^2)   (0 when U1 = 0), the coefficient of variation of
 *                         the daily variances u_j = S(B_j) F2 / (n(B_j) D):  U1 = sum u_j, U2 = sum u_j^2
 *
 * A window gives no features (InsufficientDataError, as a gap did before) unless: return 84 exists, n(W1) >= 9,
 * n(W35) >= 32, n(W7) >= 63 (at most a quarter of each window missing), and every day B_j has a return.
 * A feature at or above its declared upper bound is a BoundsError (and has no witness in the circuit).
 *
 * Bit widths (they size the circuit's range checks): prices < 2^64 and volumes < 2^80 (integer-candle.ts), so
 * S < 2^135, S F2 < 2^199, V < 2^87; a feature below 2 (scale 2^32) is an isqrt argument below 2^66; u_j <=
 * n(W7) (q_7 + 1) < 2^73 once rv_7d < 2; U1 < 2^76 and U1^2, 7 U2 < 2^152. Every value stays far below the
 * BN254 field (2^253), so the circuit's field arithmetic never wraps.
 */
import { BoundsError, InsufficientDataError } from "../core/errors";
import {
  barTime,
  WINDOW_BARS,
  buildWindow,
  integerCandlesOf,
  windowViolation,
  type Window,
} from "../candles/window";
import type { CandleSeries } from "../candles/types";

/** The bar interval the features are defined on: 2 hours. */
export const FEATURE_INTERVAL_MS = 7_200_000;
/** Scale of every feature: an integer feature x stands for x / 2^32. */
export const FEATURE_SCALE_BITS = 32;
/** Returns in a day (2-hour bars). */
export const DAY_RETURNS = 12;
/** Days of the week window (the blocks of volvol_7d). */
export const WEEK_DAYS = 7;
/** Returns in the 3.5-day window. */
export const HALF_WEEK_RETURNS = 42;
/** Stride (bars) of the closes the 7-day high is taken over: every 8 hours. */
export const DRAWDOWN_STRIDE = 4;
/** Least returns each window must hold: three quarters of 12, 42 and 84 (rounded up). */
export const MIN_RETURNS = { day: 9, halfWeek: 32, week: 63 } as const;
/**
 * Bars whose high and low range_1d reads: the last 12 of the window (one day, bars 73 .. 84). It is the
 * feature's own span, not the window's range part (`WINDOW_RANGE_BARS` = 24, candles/window.ts, which the
 * adaptive rule's lagged outcomes need): the features, the model trained on them and its quantisation are the
 * same whatever the window signs beyond these bars (it must sign these: FEATURE_RANGE_BARS <= WINDOW_RANGE_BARS,
 * test/features/window-features.test.ts). The circuit's WindowFeatures takes exactly these highs and
 * lows (circuits/lib/window-features.circom, `high[12]`), the last FEATURE_RANGE_BARS of the range part.
 */
export const FEATURE_RANGE_BARS = DAY_RETURNS;

/** A feature's identity and the bounds [lo, hi) the quantised model declares for it (in its own units). */
export interface FeatureDefinition {
  name: string;
  description: string;
  /** Declared lower bound (inclusive), in the feature's units. */
  lo: number;
  /** Declared upper bound (exclusive), in the feature's units. */
  hi: number;
}

/*
 * Bounds: a relative price change of 2 per 2-hour bar (RMS) is not a market, so [0, 2) for the vols, the
 * range and the return; a ratio of one bar's volume to the mean of 84 is at most 84, so [0, 128); a
 * drawdown is in [0, 1); the coefficient of variation of 7 values is at most sqrt(6) (Samuelson), so [0, 4).
 */
export const WINDOW_FEATURES: readonly FeatureDefinition[] = [
  { name: "rv_1d", description: "RMS price change over 1 day, relative to the last close", lo: 0, hi: 2 },
  { name: "rv_3d5", description: "RMS price change over 3.5 days, relative to the last close", lo: 0, hi: 2 },
  { name: "rv_7d", description: "RMS price change over 7 days, relative to the last close", lo: 0, hi: 2 },
  {
    name: "range_1d",
    description: "RMS high-low range over 1 day, relative to the last close",
    lo: 0,
    hi: 2,
  },
  {
    name: "abs_return",
    description: "absolute price change of the last bar, relative to its close",
    lo: 0,
    hi: 2,
  },
  {
    name: "volume_ratio_7d",
    description: "the last bar's volume over the 7-day mean volume",
    lo: 0,
    hi: 128,
  },
  { name: "drawdown_7d", description: "1 - close / highest 8-hourly close of 7 days", lo: 0, hi: 1 },
  { name: "volvol_7d", description: "coefficient of variation of the 7 daily variances", lo: 0, hi: 4 },
];

/** Integer square root: floor(sqrt(x)) for x >= 0 (Newton's method from above, so any size is fast). */
export function isqrt(x: bigint): bigint {
  if (x < 0n) throw new RangeError(`isqrt of a negative number ${x}`);
  if (x < 2n) return x;
  // Start at a power of two above sqrt(x); each step stays above the root until it lands on it.
  let s = 1n << BigInt(Math.ceil(x.toString(2).length / 2));
  for (;;) {
    const next = (s + x / s) >> 1n;
    if (next >= s) return s;
    s = next;
  }
}

const F = 1n << BigInt(FEATURE_SCALE_BITS);
const F2 = F * F;

/** The window sums the features are made of (every intermediate the circuit also computes). */
export interface WindowSums {
  /** C, the last close. */
  close: bigint;
  /** S and n of W1, W35, W7. */
  day: { sum: bigint; count: number };
  halfWeek: { sum: bigint; count: number };
  week: { sum: bigint; count: number };
  /** S and n of each day B_j, j = 0 .. 6. */
  days: { sum: bigint; count: number }[];
  /** e_84: the last squared change. */
  lastSquare: bigint;
  /** R and m of the range feature's bars (the last FEATURE_RANGE_BARS). */
  range: { sum: bigint; count: number };
  /** V and m7 of bars 1 .. 84, and v_84. */
  volume: { sum: bigint; count: number; last: bigint };
  /** M, the highest sampled close. */
  high: bigint;
}

/**
 * The sums of a window (notation above).
 * @throws RangeError for a window that is not well formed or not WINDOW_BARS bars of the feature
 *   interval (callers build it with candles' buildWindow).
 */
export function windowSums(w: Window): WindowSums {
  const violation = windowViolation(w);
  if (violation !== undefined)
    throw new RangeError(`window features: ${violation.field}: ${violation.reason}`);
  if (w.bars.length !== WINDOW_BARS) {
    throw new RangeError(`window features: ${w.bars.length} bars, the features need ${WINDOW_BARS}`);
  }
  if (w.intervalMs !== FEATURE_INTERVAL_MS) {
    throw new RangeError(
      `window features: interval ${w.intervalMs} ms, the features need ${FEATURE_INTERVAL_MS}`,
    );
  }
  const last = WINDOW_BARS - 1;
  const bars = w.bars;
  const square = (i: number): bigint | undefined => {
    if (bars[i].missing || bars[i - 1].missing) return undefined;
    const d = bars[i].close - bars[i - 1].close;
    return d * d;
  };
  const over = (from: number, to: number) => {
    let sum = 0n;
    let count = 0;
    for (let i = from; i <= to; i++) {
      const e = square(i);
      if (e !== undefined) {
        sum += e;
        count++;
      }
    }
    return { sum, count };
  };
  const range = { sum: 0n, count: 0 };
  for (let i = WINDOW_BARS - FEATURE_RANGE_BARS; i <= last; i++) {
    if (bars[i].missing) continue;
    const hl = bars[i].high - bars[i].low;
    range.sum += hl * hl;
    range.count++;
  }
  const volume = { sum: 0n, count: 0, last: bars[last].volume };
  for (let i = 1; i <= last; i++) {
    volume.sum += bars[i].volume;
    if (!bars[i].missing) volume.count++;
  }
  let high = 0n;
  for (let i = last; i > 0; i -= DRAWDOWN_STRIDE) if (bars[i].close > high) high = bars[i].close;
  return {
    close: bars[last].close,
    day: over(last - DAY_RETURNS + 1, last),
    halfWeek: over(last - HALF_WEEK_RETURNS + 1, last),
    week: over(1, last),
    days: Array.from({ length: WEEK_DAYS }, (_, j) => over(1 + DAY_RETURNS * j, DAY_RETURNS * (j + 1))),
    lastSquare: square(last) ?? 0n,
    range,
    volume,
    high,
  };
}

/** Why a window gives no features (the coverage rules above), or undefined when it gives them. */
export function coverageShortfall(s: WindowSums, w: Window): string | undefined {
  const last = w.bars.length - 1;
  if (w.bars[last - 1].missing) return "the bar before the last is missing (no last return)";
  const windows = [
    ["1d", s.day.count, MIN_RETURNS.day],
    ["3.5d", s.halfWeek.count, MIN_RETURNS.halfWeek],
    ["7d", s.week.count, MIN_RETURNS.week],
  ] as const;
  for (const [label, count, min] of windows) {
    if (count < min) return `${label} window has ${count} returns, needs ${min}`;
  }
  const empty = s.days.findIndex((d) => d.count === 0);
  if (empty >= 0) return `day ${empty + 1} of the 7d window has no return`;
  return undefined;
}

/** The daily variances u_j of volvol_7d (notation above). */
export function dailyVariances(s: WindowSums): bigint[] {
  const D = s.close * s.close;
  return s.days.map((d) => (d.sum * F2) / (BigInt(d.count) * D));
}

/**
 * The integer features of a window, in WINDOW_FEATURES order, each at scale 2^32.
 * @throws InsufficientDataError (with the window's end time) when the coverage rules refuse the window;
 *   BoundsError for a feature at or above its declared bound; RangeError for a malformed window.
 */
export function windowFeatures(w: Window): bigint[] {
  const s = windowSums(w);
  const shortfall = coverageShortfall(s, w);
  if (shortfall !== undefined) {
    throw new InsufficientDataError(
      `no features for the window ending at ${new Date(w.endTime).toISOString()}: ${shortfall}`,
    );
  }
  const D = s.close * s.close;
  const rv = (x: { sum: bigint; count: number }) => isqrt((x.sum * F2) / (BigInt(x.count) * D));
  const u = dailyVariances(s);
  const U1 = u.reduce((a, b) => a + b, 0n);
  const U2 = u.reduce((a, b) => a + b * b, 0n);
  const features = [
    rv(s.day),
    rv(s.halfWeek),
    rv(s.week),
    rv(s.range),
    isqrt((s.lastSquare * F2) / D),
    s.volume.sum === 0n ? 0n : (s.volume.last * BigInt(s.volume.count) * F) / s.volume.sum,
    ((s.high - s.close) * F) / s.high,
    U1 === 0n ? 0n : isqrt(((BigInt(WEEK_DAYS) * U2 - U1 * U1) * F2) / (U1 * U1)),
  ];
  WINDOW_FEATURES.forEach((def, i) => {
    if (features[i] >= BigInt(def.hi) * F) {
      throw new BoundsError(
        `feature ${def.name} = ${Number(features[i]) / Number(F)} of the window ending at ` +
          `${new Date(w.endTime).toISOString()} is at or above its declared bound ${def.hi}`,
      );
    }
  });
  return features;
}

/** The float twin of an integer feature vector (what the float model trains on): x / 2^32. */
export function featureFloats(features: readonly bigint[]): number[] {
  return features.map((x) => Number(x) / Number(F));
}

/** Why a bar has no features, in three kinds (a report counts bars by kind). */
export type MissingFeaturesKind = "window before the series" | "gaps in the window" | "outside the bounds";

/**
 * The features of every bar of a series: `rows[t]` for bar t, or null with `reasons[t]` saying why and
 * `kinds[t]` which kind of reason it is.
 */
export interface WindowFeatureMatrix {
  names: string[];
  rows: (bigint[] | null)[];
  reasons: (string | null)[];
  kinds: (MissingFeaturesKind | null)[];
}

/**
 * The integer features at every bar of `series` (each bar's window of WINDOW_BARS bars), as the
 * circuit would compute them from that window. A bar whose window starts before the series, fails the
 * coverage rules or breaks a bound has a null row and its reason.
 * @param marketId labels the windows only: no feature reads it (default 0).
 * @throws DataError when a candle does not convert to integers exactly (integer-candle.ts).
 */
export function seriesWindowFeatures(series: CandleSeries, marketId = 0n): WindowFeatureMatrix {
  const integers = integerCandlesOf(series);
  const rows: (bigint[] | null)[] = [];
  const reasons: (string | null)[] = [];
  const kinds: (MissingFeaturesKind | null)[] = [];
  const first = series.candles.length > 0 ? series.candles[0].time : 0;
  for (let t = 0; t < series.candles.length; t++) {
    if (barTime(series.candles[t].time, series.intervalMs, WINDOW_BARS, 0) < first) {
      rows.push(null);
      reasons.push(`the window of ${WINDOW_BARS} bars starts before the series`);
      kinds.push("window before the series");
      continue;
    }
    try {
      rows.push(windowFeatures(buildWindow(series, marketId, t, WINDOW_BARS, integers)));
      reasons.push(null);
      kinds.push(null);
    } catch (e) {
      if (!(e instanceof InsufficientDataError || e instanceof BoundsError)) throw e;
      rows.push(null);
      reasons.push(e.message);
      kinds.push(e instanceof BoundsError ? "outside the bounds" : "gaps in the window");
    }
  }
  return { names: WINDOW_FEATURES.map((f) => f.name), rows, reasons, kinds };
}

/**
 * The integer features of bar `index` of `series`: those of its window of WINDOW_BARS bars (the row
 * `seriesWindowFeatures` gives that bar), each at scale 2^32.
 * @param marketId labels the window only: no feature reads it (default 0).
 * @throws RangeError for an index that is not a bar of the series, or a series whose bar interval is not
 *   FEATURE_INTERVAL_MS; InsufficientDataError when the window starts before the series or fails the coverage
 *   rules, and BoundsError for a feature at or above its bound, both naming the series; DataError for a candle
 *   that does not convert exactly.
 */
export function barWindowFeatures(series: CandleSeries, index: number, marketId = 0n): bigint[] {
  const window = buildWindow(series, marketId, index, WINDOW_BARS);
  try {
    return windowFeatures(window);
  } catch (e) {
    if (e instanceof InsufficientDataError) throw new InsufficientDataError(`${series.source}: ${e.message}`);
    if (e instanceof BoundsError) throw new BoundsError(`${series.source}: ${e.message}`);
    throw e;
  }
}
