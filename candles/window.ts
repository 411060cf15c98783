/**
 * A window: the N integer candles of one market ending at one bar, the unit a publisher signs.
 *
 * The window has exactly N bars whatever the source holds: bar i (0-based) opens at
 * `endTime - (N - 1 - i) * intervalMs`, and a bar the source lacks inside the window is a `missing` bar
 * (flag set, fields 0), never dropped. So a bar's open time is implied by its position and the window's
 * header, and the digest (digest.ts) signs the header and position, not each time.
 *
 * Bounds a circuit can range-check: 0 < intervalMs < 2^`INTERVAL_BITS` ms, 0 <= endTime < 2^`TIME_BITS`
 * ms, 1 <= N <= `MAX_WINDOW_BARS`. The last bar must be present (a window ends at a bar that exists).
 */
import { InsufficientDataError } from "../models/errors";
import type { CandleSeries } from "../models/types";
import { integerCandleOf, integerCandleViolation, missingCandle, type IntegerCandle } from "./integer-candle";
import { isoFromMs } from "../core/time";

/** Bit width of the bar interval in ms (below 2^32 ms, about 49.7 days). */
export const INTERVAL_BITS = 32;
/** Bit width of an open time in ms (below 2^48 ms, the year 10889). */
export const TIME_BITS = 48;
/** The most bars a window may hold. */
export const MAX_WINDOW_BARS = 4096;

/** N integer candles of one market, ending at the bar that opens at `endTime`. */
export interface Window {
  /** The market id as a field element (the prover's `marketIdOf` of the market's label). */
  marketId: bigint;
  /** Bar interval, milliseconds. */
  intervalMs: number;
  /** Open time of the last bar, milliseconds since the Unix epoch (UTC). */
  endTime: number;
  /** The N bars, oldest first; bars[N - 1] opens at endTime and is present. */
  bars: IntegerCandle[];
}

/** Open time (ms) of bar `i` of a window of `n` bars ending at `endTime`. */
export function barTime(endTime: number, intervalMs: number, n: number, i: number): number {
  return endTime - (n - 1 - i) * intervalMs;
}

/**
 * The first reason `w` is not a well-formed window, or undefined: header within bounds, bar times on
 * their positions, every candle well formed (integer-candle.ts), the last bar present. Field paths are
 * named as in window files (`intervalMs`, `bars[3].high`).
 */
export function windowViolation(w: Window): { field: string; reason: string } | undefined {
  const n = w.bars.length;
  if (w.marketId < 0n) return { field: "market", reason: `negative market id ${w.marketId}` };
  if (!Number.isSafeInteger(w.intervalMs) || w.intervalMs <= 0 || w.intervalMs >= 2 ** INTERVAL_BITS) {
    return { field: "intervalMs", reason: `${w.intervalMs} is not an integer in [1, 2^${INTERVAL_BITS})` };
  }
  if (n < 1 || n > MAX_WINDOW_BARS) {
    return { field: "bars", reason: `${n} bars, expected 1 to ${MAX_WINDOW_BARS}` };
  }
  const first = barTime(w.endTime, w.intervalMs, n, 0);
  if (!Number.isSafeInteger(w.endTime) || first < 0 || w.endTime >= 2 ** TIME_BITS) {
    return {
      field: "endTime",
      reason: `${w.endTime} with ${n} bars of ${w.intervalMs} ms is outside [0, 2^${TIME_BITS}) ms`,
    };
  }
  for (let i = 0; i < n; i++) {
    const bar = w.bars[i];
    const expected = barTime(w.endTime, w.intervalMs, n, i);
    if (bar.time !== expected) {
      return { field: `bars[${i}].time`, reason: `${bar.time} is not the bar's position time ${expected}` };
    }
    const violation = integerCandleViolation(bar);
    if (violation !== undefined) return { field: `bars[${i}]`, reason: violation };
  }
  if (w.bars[n - 1].missing)
    return { field: `bars[${n - 1}].missing`, reason: "the last bar must be present" };
  return undefined;
}

/**
 * The window of `n` bars of `series` ending at its bar `endIndex`, as integers; bars the series lacks
 * inside the window become `missing` bars. (Find the index of an open time with the CLI's `barIndexAt`.)
 * @param marketId the market id as a field element.
 * @param endIndex index in `series.candles` of the window's last bar.
 * @param n bars in the window, 1 to MAX_WINDOW_BARS.
 * @throws RangeError for n or endIndex out of range; InsufficientDataError when the window starts before
 *   the series' first bar; DataError (integer-candle.ts) for a value that does not convert exactly.
 */
export function buildWindow(series: CandleSeries, marketId: bigint, endIndex: number, n: number): Window {
  const { candles, intervalMs, source } = series;
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_WINDOW_BARS) {
    throw new RangeError(`buildWindow: bars ${n} is not an integer in [1, ${MAX_WINDOW_BARS}]`);
  }
  if (!Number.isInteger(endIndex) || endIndex < 0 || endIndex >= candles.length) {
    throw new RangeError(`buildWindow: bar index ${endIndex} is not in [0, ${candles.length - 1}]`);
  }
  const endTime = candles[endIndex].time;
  const start = barTime(endTime, intervalMs, n, 0);
  if (start < candles[0].time) {
    throw new InsufficientDataError(
      `${source}: a window of ${n} bars ending at ${isoFromMs(endTime)} starts at ${isoFromMs(start)}, before the ` +
        `first bar ${isoFromMs(candles[0].time)}`,
    );
  }
  const bars: IntegerCandle[] = [];
  let k = endIndex;
  for (let i = n - 1; i >= 0; i--) {
    const t = barTime(endTime, intervalMs, n, i);
    while (k >= 0 && candles[k].time > t) k--;
    bars.push(k >= 0 && candles[k].time === t ? integerCandleOf(candles[k], source) : missingCandle(t));
  }
  return { marketId, intervalMs, endTime, bars: bars.reverse() };
}
