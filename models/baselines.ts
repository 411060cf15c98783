/**
 * Baseline estimators of the 99 % adverse-move quantile that the model is backtested against. Each gives,
 * per bar, a q99 as a fraction of close (0.05 = 5 %) or null where it has no estimate yet; the backtest turns
 * them into margins with the same policy as the model.
 */
import { InsufficientDataError } from "../core/errors";
import { quantile } from "./stats";
import { targetObservedAt } from "./target";
import type { CandleSeries } from "../candles/types";

/** 90 days in milliseconds: the default look-back of the rolling historical quantile. */
export const NINETY_DAYS_MS = 90 * 24 * 60 * 60 * 1000;

function checkLevel(fn: string, level: number): void {
  if (!(level >= 0 && level <= 1)) throw new RangeError(`${fn}: level must be in [0, 1], got ${level}`);
}

function checkSameLength(fn: string, what: string, got: number, expected: number): void {
  if (got !== expected) {
    throw new RangeError(`${fn}: ${what} has ${got} entries, expected ${expected} (one per bar)`);
  }
}

/**
 * The static baseline: one quantile of the target over the whole training period, used for every bar.
 * @param trainTargets targets (fractions of close) of the training bars, nulls already removed.
 * @param level quantile level in [0, 1] (0.99).
 * @returns the quantile, a fraction of close.
 * @throws InsufficientDataError when there is no training target.
 */
export function staticQuantile(trainTargets: number[], level = 0.99): number {
  checkLevel("staticQuantile", level);
  if (trainTargets.length === 0) throw new InsufficientDataError("staticQuantile: no training target");
  return quantile(trainTargets, level);
}

/**
 * RiskMetrics EWMA volatility of bar log returns: sigma2_t = lambda * sigma2_{t-1} + (1 - lambda) * r_t^2.
 *
 * sigma2 is seeded with the mean of the first `seedBars` non-null squared returns, and sigma_t is null until
 * then: the bar of the seedBars-th return carries the first value (the seed itself, without a further update).
 * A null return (first bar, or the bar after a gap) leaves sigma2 unchanged: no return is invented.
 * sigma_t uses returns up to and including bar t.
 *
 * @param returns per-bar log returns (dimensionless, per bar interval), null where unknown.
 * @param lambda decay per non-null return, in (0, 1) (0.94, the RiskMetrics daily value).
 * @param seedBars number of non-null returns in the seed, an integer >= 1 (84 two-hour bars = 7 days).
 * @returns per-bar sigma (standard deviation of one bar's log return), null before the seed is complete.
 */
export function ewmaVolatility(returns: (number | null)[], lambda = 0.94, seedBars = 84): (number | null)[] {
  if (!(lambda > 0 && lambda < 1))
    throw new RangeError(`ewmaVolatility: lambda must be in (0, 1), got ${lambda}`);
  if (!Number.isSafeInteger(seedBars) || seedBars < 1) {
    throw new RangeError(`ewmaVolatility: seedBars must be an integer >= 1, got ${seedBars}`);
  }
  const out: (number | null)[] = new Array(returns.length).fill(null);
  let seen = 0;
  let sumSq = 0;
  let sigma2 = NaN;
  for (let t = 0; t < returns.length; t++) {
    const r = returns[t];
    if (seen < seedBars) {
      if (r !== null) {
        seen++;
        sumSq += r * r;
        if (seen === seedBars) sigma2 = sumSq / seedBars;
      }
      if (seen < seedBars) continue;
    } else if (r !== null) {
      sigma2 = lambda * sigma2 + (1 - lambda) * r * r;
    }
    out[t] = Math.sqrt(sigma2);
  }
  return out;
}

/**
 * Scale factor k of the EWMA baseline (q99_t = k * sigma_t): the `level` quantile of target_t / sigma_t over
 * the bars where include(t) holds and both values are present, so that k * sigma covers `level` of those bars.
 * Bars with sigma_t = 0 are skipped (the ratio is undefined).
 *
 * @param targets per-bar targets (fractions of close), null where unknown.
 * @param sigmas per-bar EWMA sigma (per-bar log-return standard deviation), null where not seeded.
 * @param include selects the calibration bars by index (e.g. the training period).
 * @param level quantile level in [0, 1] (0.99).
 * @returns k, dimensionless (fraction of close per unit of sigma).
 * @throws InsufficientDataError when no bar qualifies.
 */
export function calibrateEwmaK(
  targets: (number | null)[],
  sigmas: (number | null)[],
  include: (t: number) => boolean,
  level = 0.99,
): number {
  checkLevel("calibrateEwmaK", level);
  checkSameLength("calibrateEwmaK", "sigmas", sigmas.length, targets.length);
  const ratios: number[] = [];
  for (let t = 0; t < targets.length; t++) {
    const y = targets[t];
    const s = sigmas[t];
    if (y !== null && s !== null && s > 0 && include(t)) ratios.push(y / s);
  }
  if (ratios.length === 0) {
    throw new InsufficientDataError("calibrateEwmaK: no included bar has both a target and a sigma");
  }
  return quantile(ratios, level);
}

/** Index of the first element of the ascending array `a` that is >= v. */
function lowerBound(a: number[], v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Rolling historical quantile of the target. At bar t (open time T_t, close T_t + intervalMs) it is the
 * `level` quantile of the targets target_s that
 *  - are fully observed by the close of bar t: targetObservedAt(T_s) <= T_t + intervalMs (no look-ahead), and
 *  - lie in the window: T_s > T_t + intervalMs - windowMs.
 * Windows are defined on times, not indices, so gaps shrink them. The window is kept sorted incrementally
 * (binary insertion and removal), O(window) per bar.
 *
 * @param series the candles (for open times and the bar interval).
 * @param targets per-bar targets (fractions of close), aligned with `series.candles`, null where unknown.
 * @param windowMs look-back in milliseconds (> 0; 90 days).
 * @param level quantile level in [0, 1] (0.99).
 * @param minCount fewest targets for an estimate (integer >= 1); default: half the bars in the window,
 *   ceil(windowMs / intervalMs / 2) (540 for 90 days of 2 h bars).
 * @returns per-bar quantile (fraction of close), null where fewer than `minCount` targets are usable.
 */
export function rollingHistoricalQuantile(
  series: CandleSeries,
  targets: (number | null)[],
  windowMs = NINETY_DAYS_MS,
  level = 0.99,
  minCount?: number,
): (number | null)[] {
  const fn = "rollingHistoricalQuantile";
  const { candles, intervalMs } = series;
  checkSameLength(fn, "targets", targets.length, candles.length);
  checkLevel(fn, level);
  if (!(windowMs > 0 && Number.isFinite(windowMs))) {
    throw new RangeError(`${fn}: windowMs must be a positive number of milliseconds, got ${windowMs}`);
  }
  const need = minCount ?? Math.max(1, Math.ceil(windowMs / intervalMs / 2));
  if (!Number.isSafeInteger(need) || need < 1) {
    throw new RangeError(`${fn}: minCount must be an integer >= 1, got ${minCount}`);
  }

  const out: (number | null)[] = new Array(candles.length).fill(null);
  const window: number[] = []; // ascending
  const inWindow: boolean[] = new Array(candles.length).fill(false);
  let next = 0; // first bar whose target is not yet observed
  let expired = 0; // first bar not yet past the window's start
  for (let t = 0; t < candles.length; t++) {
    const close = candles[t].time + intervalMs;
    const start = close - windowMs; // exclusive
    // Both pointers only move forward: open times increase, so observation times and expiry do too.
    for (; next < candles.length && targetObservedAt(candles[next].time, intervalMs) <= close; next++) {
      const y = targets[next];
      if (y !== null && candles[next].time > start) {
        window.splice(lowerBound(window, y), 0, y);
        inWindow[next] = true;
      }
    }
    for (; expired < candles.length && candles[expired].time <= start; expired++) {
      const y = targets[expired];
      if (inWindow[expired] && y !== null) {
        window.splice(lowerBound(window, y), 1);
        inWindow[expired] = false;
      }
    }
    // `window` is already sorted, so quantile()'s own sort of the copy is linear.
    if (window.length >= need) out[t] = quantile(window, level);
  }
  return out;
}
