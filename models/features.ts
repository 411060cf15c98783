/**
 * Features per bar, computed only from data at or before the bar (its own candle included: a bar's
 * features are known at its close). Every window is taken by time, so a gap shortens the window instead
 * of stretching it, and no return is ever computed across a gap (see returns.ts). A feature whose window
 * covers less than MIN_WINDOW_COVERAGE of its bars is unavailable, and so is the whole vector at that bar.
 *
 * Each value depends only on the bars inside its windows, summed in a fixed order, so anyone holding the
 * same candles recomputes the same float64 values (and so the same integer features) whatever history
 * precedes the window in their file.
 *
 * The default set needs candles alone; funding-rate features are an option for markets that have them.
 */
import { InsufficientDataError } from "./errors";
import { barLogReturns } from "./returns";
import type { CandleSeries, FundingSeries } from "./types";

/** Bars in the 1-day, 3.5-day and 7-day windows (2-hour bars). */
export const WINDOW_1D = 12;
export const WINDOW_3D5 = 42;
export const WINDOW_7D = 84;
/** A window must hold at least this fraction of its bars (returns) to be used. */
export const MIN_WINDOW_COVERAGE = 0.75;
/** Bars of history a feature vector can reach back over: vol-of-vol needs 1-day vols over 7 days. */
export const FEATURE_LOOKBACK_BARS = WINDOW_7D + WINDOW_1D;
/** Funding prints expected per 7 days (every 8 h) and the least a 7-day funding window must hold. */
const FUNDING_MIN_PRINTS_7D = 15;
const DAY_MS = 86_400_000;

/** A feature's identity and the bounds [lo, hi) the quantised model declares for it (in its own units). */
export interface FeatureDefinition {
  name: string;
  description: string;
  source: "candles" | "funding";
  /** Declared lower bound (inclusive), in the feature's units. */
  lo: number;
  /** Declared upper bound (exclusive), in the feature's units. */
  hi: number;
}

/*
 * Bounds: volatilities and returns are per 2-hour bar in log units; a 2-hour move of e^2 (x7.4) is not a
 * market, so [0, 2). A z-score of a point against a sample that contains it is bounded by sqrt(n - 1)
 * (Samuelson's inequality): 9.11 for 84 bars, so [-16, 16); the same bound holds for a coefficient of
 * variation. Drawdown from a high is in [0, 1).
 */
const CANDLE_FEATURES: FeatureDefinition[] = [
  {
    name: "rv_1d",
    description: "realised vol of 2h log returns over 1 day (RMS)",
    source: "candles",
    lo: 0,
    hi: 2,
  },
  {
    name: "rv_3d5",
    description: "realised vol of 2h log returns over 3.5 days",
    source: "candles",
    lo: 0,
    hi: 2,
  },
  {
    name: "rv_7d",
    description: "realised vol of 2h log returns over 7 days",
    source: "candles",
    lo: 0,
    hi: 2,
  },
  {
    name: "parkinson_1d",
    description: "Parkinson high-low range vol over 1 day",
    source: "candles",
    lo: 0,
    hi: 2,
  },
  { name: "abs_return", description: "absolute log return of the last bar", source: "candles", lo: 0, hi: 2 },
  {
    name: "volume_z_7d",
    description: "z-score of the bar's volume against the 7-day window",
    source: "candles",
    lo: -16,
    hi: 16,
  },
  {
    name: "drawdown_7d",
    description: "1 - close / highest high of the 7-day window",
    source: "candles",
    lo: 0,
    hi: 1,
  },
  {
    name: "volvol_7d",
    description: "coefficient of variation of the 1-day vol over 7 days",
    source: "candles",
    lo: 0,
    hi: 16,
  },
];

const FUNDING_FEATURES: FeatureDefinition[] = [
  {
    name: "funding_rate",
    description: "last funding rate printed by the bar's close (within 24 h)",
    source: "funding",
    lo: -1,
    hi: 1,
  },
  {
    name: "funding_abs_mean_7d",
    description: "mean absolute funding rate over the 7 days to the bar's close",
    source: "funding",
    lo: 0,
    hi: 1,
  },
];

/** The feature list of a model: candle features, then funding features when `funding` is set. */
export function featureDefinitions(funding: boolean): FeatureDefinition[] {
  return funding ? [...CANDLE_FEATURES, ...FUNDING_FEATURES] : [...CANDLE_FEATURES];
}

/** Per-bar features of a series: `rows[t]` is the vector at bar t, or null with `reasons[t]` saying why. */
export interface FeatureMatrix {
  names: string[];
  rows: (number[] | null)[];
  reasons: (string | null)[];
}

/** First index of the window of `bars` bars ending at t (by time), and how many bars it holds. */
function windowStart(series: CandleSeries, t: number, bars: number): number {
  const { candles, intervalMs } = series;
  const earliest = candles[t].time - bars * intervalMs;
  let s = t;
  while (s > 0 && candles[s - 1].time > earliest) s--;
  return s;
}

function minBars(bars: number): number {
  return Math.ceil(bars * MIN_WINDOW_COVERAGE);
}

/** RMS of the non-null returns in [s, t]; a string reason when too few. */
function rms(returns: (number | null)[], s: number, t: number, bars: number, label: string): number | string {
  let sum = 0;
  let n = 0;
  for (let k = s; k <= t; k++) {
    const r = returns[k];
    if (r !== null) {
      sum += r * r;
      n++;
    }
  }
  if (n < minBars(bars)) return `${label} window has ${n} returns, needs ${minBars(bars)}`;
  return Math.sqrt(sum / n);
}

/** Compute the feature vectors of every bar. `funding` adds the funding features. */
export function computeFeatures(series: CandleSeries, funding?: FundingSeries): FeatureMatrix {
  const { candles, intervalMs } = series;
  const names = featureDefinitions(funding !== undefined).map((f) => f.name);
  const returns = barLogReturns(series);
  const rv1d: (number | string)[] = candles.map((_, t) =>
    rms(returns, windowStart(series, t, WINDOW_1D), t, WINDOW_1D, "1d"),
  );
  const rows: (number[] | null)[] = [];
  const reasons: (string | null)[] = [];
  let fundingFrom = 0;
  for (let t = 0; t < candles.length; t++) {
    const v = featureVector(t);
    if (typeof v === "string") {
      rows.push(null);
      reasons.push(v);
    } else {
      rows.push(v);
      reasons.push(null);
    }
  }
  return { names, rows, reasons };

  function featureVector(t: number): number[] | string {
    const r = returns[t];
    if (r === null) return t === 0 ? "first bar has no previous close" : "bar follows a gap (no return)";
    const s1 = windowStart(series, t, WINDOW_1D);
    const s35 = windowStart(series, t, WINDOW_3D5);
    const s7 = windowStart(series, t, WINDOW_7D);
    const rv1 = rv1d[t];
    if (typeof rv1 === "string") return rv1;
    const rv35 = rms(returns, s35, t, WINDOW_3D5, "3.5d");
    if (typeof rv35 === "string") return rv35;
    const rv7 = rms(returns, s7, t, WINDOW_7D, "7d");
    if (typeof rv7 === "string") return rv7;
    if (t - s7 + 1 < minBars(WINDOW_7D))
      return `7d window has ${t - s7 + 1} bars, needs ${minBars(WINDOW_7D)}`;

    let hl2 = 0;
    for (let k = s1; k <= t; k++) hl2 += Math.log(candles[k].high / candles[k].low) ** 2;
    const parkinson = Math.sqrt(hl2 / (t - s1 + 1) / (4 * Math.LN2));

    let vSum = 0;
    let hi = 0;
    for (let k = s7; k <= t; k++) {
      vSum += candles[k].volume;
      hi = Math.max(hi, candles[k].high);
    }
    const n7 = t - s7 + 1;
    const vMean = vSum / n7;
    let vVar = 0;
    for (let k = s7; k <= t; k++) vVar += (candles[k].volume - vMean) ** 2;
    const vStd = Math.sqrt(vVar / n7);
    const volumeZ = vStd > 0 ? (candles[t].volume - vMean) / vStd : 0;
    const drawdown = 1 - candles[t].close / hi;

    const vols: number[] = [];
    for (let k = s7; k <= t; k++) {
      const v = rv1d[k];
      if (typeof v === "number") vols.push(v);
    }
    if (vols.length < minBars(WINDOW_7D)) {
      return `7d window has ${vols.length} 1d vols, needs ${minBars(WINDOW_7D)}`;
    }
    let volSum = 0;
    for (const v of vols) volSum += v;
    const volMean = volSum / vols.length;
    let volVar = 0;
    for (const v of vols) volVar += (v - volMean) ** 2;
    const volvol = volMean > 0 ? Math.sqrt(volVar / vols.length) / volMean : 0;

    const out = [rv1, rv35, rv7, parkinson, Math.abs(r), volumeZ, drawdown, volvol];
    if (funding) {
      const f = fundingFeatures(t);
      if (typeof f === "string") return f;
      out.push(...f);
    }
    return out;
  }

  function fundingFeatures(t: number): number[] | string {
    const rates = funding!.rates;
    const close = candles[t].time + intervalMs;
    // Prints are known at their own timestamp: use those at or before the bar's close.
    while (fundingFrom < rates.length && rates[fundingFrom].time <= close - 7 * DAY_MS) fundingFrom++;
    let last = -1;
    let absSum = 0;
    let n = 0;
    for (let k = fundingFrom; k < rates.length && rates[k].time <= close; k++) {
      last = k;
      absSum += Math.abs(rates[k].rate);
      n++;
    }
    if (last < 0 || rates[last].time <= close - DAY_MS)
      return "no funding print in the 24 h before the bar's close";
    if (n < FUNDING_MIN_PRINTS_7D) return `7d funding window has ${n} prints, needs ${FUNDING_MIN_PRINTS_7D}`;
    return [rates[last].rate, absSum / n];
  }
}

/** The feature vector at bar `index`, or an InsufficientDataError saying why it cannot be computed. */
export function featuresAt(series: CandleSeries, index: number, funding?: FundingSeries): number[] {
  if (!Number.isInteger(index) || index < 0 || index >= series.candles.length) {
    throw new RangeError(`featuresAt: bar index ${index} is not in [0, ${series.candles.length - 1}]`);
  }
  // Only the lookback before `index` matters; slice it so a long file costs no more than a short one.
  const from = Math.max(0, index - FEATURE_LOOKBACK_BARS - 1);
  const window: CandleSeries = { ...series, candles: series.candles.slice(from, index + 1) };
  const m = computeFeatures(window, funding);
  const row = m.rows[index - from];
  if (row === null) {
    const at = new Date(series.candles[index].time).toISOString();
    throw new InsufficientDataError(
      `${series.source}: no features for the bar at ${at}: ${m.reasons[index - from]}`,
    );
  }
  return row;
}
