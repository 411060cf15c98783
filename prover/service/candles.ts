/**
 * Whether a bar may be proved (`barProblem`). The candle sources the service reads are in feeds/ (shared with
 * the publisher); which bar has closed is `latestClosedBar` there.
 */
import { barWindowFeatures } from "../../features/window-features";
import { BoundsError, DataError, InsufficientDataError } from "../../models/errors";
import { checkBarInterval } from "../../models/predict";
import type { CandleSeries } from "../../models/types";

/**
 * Why the bar at `index` must not be proved, or undefined when it may be. The reasons, in the order they are
 * checked, each naming the source: the series' bar interval is not the model's (`expectedIntervalMs`, the
 * model file's `barIntervalMs`); the bar directly follows a gap (`3 bars missing before <time>`), so it has
 * no return; or its features cannot be computed (too little history in their windows). Meant for the
 * service's log when it skips an update.
 * @throws RangeError when `index` is not a bar of the series.
 */
export function barProblem(
  series: CandleSeries,
  index: number,
  expectedIntervalMs?: number,
): string | undefined {
  if (expectedIntervalMs !== undefined) {
    try {
      checkBarInterval(series, expectedIntervalMs);
    } catch (err) {
      if (err instanceof DataError) return err.message;
      throw err;
    }
  }
  const gap = series.gaps.find((g) => g.afterIndex === index - 1);
  if (gap !== undefined) {
    const bars = gap.missingBars === 1 ? "1 bar" : `${gap.missingBars} bars`;
    return `${series.source}: ${bars} missing before ${new Date(gap.to).toISOString()}`;
  }
  try {
    barWindowFeatures(series, index);
  } catch (err) {
    if (err instanceof InsufficientDataError || err instanceof BoundsError) return err.message;
    throw err;
  }
  return undefined;
}
