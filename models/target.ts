/**
 * The training and backtest target: the worst adverse move over the next `horizon` bars, long or short,
 *
 *   target_t = max((close_t - min low_{t+1..t+h}) / close_t, (max high_{t+1..t+h} - close_t) / close_t)
 *
 * defined only when the `horizon` bars after t are all present (no gap): a move over missing bars is unknown.
 */
import type { CandleSeries } from "../candles/types";

/** Bars in the target horizon: 12 two-hour bars = 24 h. */
export const TARGET_HORIZON_BARS = 12;

/**
 * Largest lag of an outcome the adaptive rule processes: an update for bar t processes bar s = t - 12 - lag with
 * lag in [0, MAX_OUTCOME_LAG] (models/adaptive.ts `PendingOutcomes`), so bars t - 23 .. t, inside every signed
 * window, hold its move.
 */
export const MAX_OUTCOME_LAG = 11;

/** Target per bar (fraction of close_t), or null where the next `horizon` bars are not all present. */
export function adverseMoveTargets(series: CandleSeries, horizon = TARGET_HORIZON_BARS): (number | null)[] {
  const { candles, intervalMs } = series;
  const out: (number | null)[] = new Array(candles.length).fill(null);
  for (let t = 0; t + horizon < candles.length; t++) {
    if (candles[t + horizon].time - candles[t].time !== horizon * intervalMs) continue;
    let lo = Infinity;
    let hi = -Infinity;
    for (let k = 1; k <= horizon; k++) {
      lo = Math.min(lo, candles[t + k].low);
      hi = Math.max(hi, candles[t + k].high);
    }
    const c = candles[t].close;
    out[t] = Math.max((c - lo) / c, (hi - c) / c);
  }
  return out;
}

/**
 * Open time (ms) at which target_t becomes fully observed: the close of bar t + horizon.
 * A rolling estimator at bar s may use target_t only if this is <= the close of bar s.
 */
export function targetObservedAt(
  openTime: number,
  intervalMs: number,
  horizon = TARGET_HORIZON_BARS,
): number {
  return openTime + (horizon + 1) * intervalMs;
}
