/**
 * A window: the N integer candles of one market ending at one bar, the unit a publisher signs.
 *
 * The window has exactly N bars whatever the source holds: bar i (0-based) opens at
 * `endTime - (N - 1 - i) * intervalMs`, and a bar the source lacks inside the window is a `missing` bar
 * (flag set, fields 0), never dropped. So a bar's open time is implied by its position and the window's
 * header, and the digest (digest.ts) signs the header and position, not each time.
 *
 * A window holds only what a proof reads, because every signed value costs the circuit a share of a
 * Poseidon permutation: the close and the volume of every bar, and the high and the low of the last
 * `WINDOW_RANGE_BARS` bars (the range part: the features' range_1d and the adaptive rule's outcomes read
 * them). Opens are never part of a window, and bars before the range part carry high = low = 0. A missing
 * bar has every field 0; a present bar has close >= 1, so "missing" is the same fact as "close = 0", which
 * is how a circuit reads it. The layout of the signed values is the digest's (digest.ts, version 3).
 *
 * Bounds a circuit can range-check: 0 < intervalMs < 2^`INTERVAL_BITS` ms, 0 <= endTime < 2^`TIME_BITS`
 * ms, 1 <= N <= `MAX_WINDOW_BARS`. The last bar must be present (a window ends at a bar that exists).
 */
import { InsufficientDataError } from "../core/errors";
import type { CandleSeries } from "./types";
import {
  fieldBoundViolation,
  integerCandleOf,
  missingCandle,
  type IntegerCandle,
  type IntegerCandleField,
} from "./integer-candle";
import { isoFromMs } from "../core/time";

/** Bit width of the bar interval in ms (below 2^32 ms, about 49.7 days). */
export const INTERVAL_BITS = 32;
/** Bit width of an open time in ms (below 2^48 ms, the year 10889). */
export const TIME_BITS = 48;
/**
 * Bars of the window a publisher signs and a proof reads: 7 days of 2-hour returns and the close before the
 * first, the bars one feature vector reads (features/window-features.ts).
 */
export const WINDOW_BARS = 85;
/** The most bars a window may hold. */
export const MAX_WINDOW_BARS = 4096;
/**
 * The last bars of a window whose high and low are part of it (the range part, bars t - 23 .. t; two days
 * of 2-hour bars). Why 24: the adaptive rule (models/adaptive.ts `windowOutcome`) processes at bar t the
 * outcome of a pending bar s = t - TARGET_HORIZON_BARS - lag, lag in [0, MAX_OUTCOME_LAG] (models/target.ts:
 * 12 and 11), and an outcome compares close_s with the highs and lows of bars s+1 .. s+12, so the most
 * lagged one (s = t - 23) reads the highs and lows of bars t - 22 .. t: 23 bars, within the last 24. With a
 * range part of 12 (layout version 2) a lagged outcome read low = 0 for bars before t - 11 and always
 * breached. The features read fewer (FEATURE_RANGE_BARS, features/window-features.ts: the last 12).
 */
export const WINDOW_RANGE_BARS = 24;

/**
 * One bar of a window: an integer candle without its open. `high` and `low` are 0n outside the range
 * part (the last WINDOW_RANGE_BARS bars); every field is 0n for a missing bar.
 */
export type WindowBar = Omit<IntegerCandle, "open">;

/** Whether bar `i` of a window of `n` bars is in the range part (its high and low are signed). */
export function inRangePart(n: number, i: number): boolean {
  return i >= n - WINDOW_RANGE_BARS;
}

/** A field of a window bar. */
export type WindowBarField = Exclude<IntegerCandleField, "open">;

/** The signed fields of bar `i` of a window of `n` bars, in the order the digest absorbs them per part. */
export function windowBarFields(n: number, i: number): readonly WindowBarField[] {
  return inRangePart(n, i) ? ["close", "volume", "high", "low"] : ["close", "volume"];
}

/** N integer candles of one market, ending at the bar that opens at `endTime`. */
export interface Window {
  /** The market id as a field element (the prover's `marketIdOf` of the market's label). */
  marketId: bigint;
  /** Bar interval, milliseconds. */
  intervalMs: number;
  /** Open time of the last bar, milliseconds since the Unix epoch (UTC). */
  endTime: number;
  /** The N bars, oldest first; bars[N - 1] opens at endTime and is present. */
  bars: WindowBar[];
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
    const violation = windowBarViolation(bar, inRangePart(n, i));
    if (violation !== undefined) return { field: `bars[${i}].${violation.field}`, reason: violation.reason };
  }
  if (w.bars[n - 1].missing)
    return { field: `bars[${n - 1}].missing`, reason: "the last bar must be present" };
  return undefined;
}

/**
 * The first field of a window bar that breaks its bound, or undefined: a missing bar has every field 0; a
 * present bar has close in [1, 2^PRICE_BITS) and volume in [0, 2^VOLUME_BITS); in the range part also
 * 1 <= low <= close <= high < 2^PRICE_BITS, outside it high = low = 0.
 */
export function windowBarViolation(
  bar: WindowBar,
  ranged: boolean,
): { field: string; reason: string } | undefined {
  for (const field of ["close", "volume"] as const) {
    const reason = fieldBoundViolation(field, bar[field], bar.missing);
    if (reason !== undefined) return { field, reason };
  }
  for (const field of ["high", "low"] as const) {
    if (!ranged || bar.missing) {
      if (bar[field] !== 0n) {
        const where = bar.missing ? "a missing bar" : "a bar before the range part";
        return { field, reason: `${field} of ${where} must be 0, got ${bar[field]}` };
      }
      continue;
    }
    const reason = fieldBoundViolation(field, bar[field], false);
    if (reason !== undefined) return { field, reason };
  }
  if (ranged && !bar.missing) {
    if (bar.low > bar.close) return { field: "low", reason: `low ${bar.low} > close ${bar.close}` };
    if (bar.high < bar.close) return { field: "high", reason: `high ${bar.high} < close ${bar.close}` };
  }
  return undefined;
}

/** Bar `i` of a window of `n` bars from an integer candle: its open dropped, outside the range part its high and low. */
export function windowBarOf(c: IntegerCandle, n: number, i: number): WindowBar {
  const bar: WindowBar = {
    time: c.time,
    missing: c.missing,
    high: c.high,
    low: c.low,
    close: c.close,
    volume: c.volume,
  };
  return inRangePart(n, i) || c.missing ? bar : { ...bar, high: 0n, low: 0n };
}

/** Every candle of a series as integers, in order (see `integerCandleOf` for the errors). */
export function integerCandlesOf(series: CandleSeries): IntegerCandle[] {
  return series.candles.map((c) => integerCandleOf(c, series.source));
}

/**
 * The window of `n` bars of `series` ending at its bar `endIndex`, as integers; bars the series lacks
 * inside the window become `missing` bars. (Find the index of an open time with the CLI's `barIndexAt`.)
 * @param marketId the market id as a field element.
 * @param endIndex index in `series.candles` of the window's last bar.
 * @param n bars in the window, 1 to MAX_WINDOW_BARS.
 * @param integers the series' candles already converted (`integerCandlesOf`), to build many windows at once.
 * @throws RangeError for n or endIndex out of range; InsufficientDataError when the window starts before
 *   the series' first bar; DataError (integer-candle.ts) for a value that does not convert exactly.
 */
export function buildWindow(
  series: CandleSeries,
  marketId: bigint,
  endIndex: number,
  n: number,
  integers?: readonly IntegerCandle[],
): Window {
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
  const bars: WindowBar[] = [];
  let k = endIndex;
  for (let i = n - 1; i >= 0; i--) {
    const t = barTime(endTime, intervalMs, n, i);
    while (k >= 0 && candles[k].time > t) k--;
    const present = k >= 0 && candles[k].time === t;
    const candle = present ? (integers?.[k] ?? integerCandleOf(candles[k], source)) : missingCandle(t);
    bars.push(windowBarOf(candle, n, i));
  }
  return { marketId, intervalMs, endTime, bars: bars.reverse() };
}
