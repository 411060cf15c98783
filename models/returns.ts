/** Bar log returns that never span a gap. */
import type { CandleSeries } from "../candles/types";

/**
 * ln(close_t / close_{t-1}) for each bar, or null for the first bar and for a bar that follows a gap
 * (its previous candle is not exactly one interval earlier): no return is invented across missing bars.
 */
export function barLogReturns(series: CandleSeries): (number | null)[] {
  const { candles, intervalMs } = series;
  return candles.map((c, t) =>
    t > 0 && c.time - candles[t - 1].time === intervalMs ? Math.log(c.close / candles[t - 1].close) : null,
  );
}
