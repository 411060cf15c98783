/**
 * Loader for the candle CSV files. Everything read from a file is validated here, once; a malformed file
 * raises a `DataError` whose message starts with `file:line:` and names the value as written. Times are
 * milliseconds since the Unix epoch (UTC) throughout.
 */
import { readFileSync } from "node:fs";
import { DataError, InsufficientDataError } from "../core/errors";
import { readFailure } from "../core/io";
import { integerCandleProblem } from "./integer-candle";
import type { Candle, CandleSeries, Gap } from "./types";

/**
 * `YYYY-MM-DD HH:MM:SS[.fff]`, `T` or space between date and time, then nothing (UTC), `Z`, or an ISO 8601
 * offset `+HH:MM`, `+HHMM`, `+HH` (or `-`).
 */
const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(?:Z|([+-])(\d{2})(?::?(\d{2}))?)?$/;

/** Milliseconds since the Unix epoch: 11 to 14 digits (1973 to 5138), so epoch seconds are not taken for ms. */
const EPOCH_MS = /^\d{11,14}$/;

/** A plain decimal number with an optional exponent (`4261.48`, `-6.876e-05`); no `NaN`, `Infinity`, hex. */
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** The accepted timestamp formats, for messages. */
export const TIMESTAMP_FORMATS =
  "YYYY-MM-DD HH:MM:SS[.fff] (UTC), ISO 8601 YYYY-MM-DDTHH:MM:SS[.fff][Z|+HH:MM], " +
  "or milliseconds since the Unix epoch (11 to 14 digits)";

/** Required columns, in the order their cells are handed to the row parsers. */
const CANDLE_COLUMNS = ["timestamp", "open", "high", "low", "close", "volume"] as const;

/**
 * Parses a timestamp in one of the {@link TIMESTAMP_FORMATS}: `YYYY-MM-DD HH:MM:SS[.fff]` (1 to 3 fraction
 * digits; `T` may replace the space), UTC unless it ends in an ISO 8601 offset (`Z`, `+02:00`, `-0530`,
 * `+01`); or an integer of 11 to 14 digits, milliseconds since the Unix epoch. Returns milliseconds since the
 * Unix epoch, or `undefined` when the text is malformed or is not a real calendar date and time (month 13,
 * February 30, hour 24, second 60, an offset beyond 23:59, or a year before 0100, which `Date.UTC` would map
 * into the 1900s).
 */
export function parseTimestamp(text: string): number | undefined {
  if (EPOCH_MS.test(text)) return Number(text);
  const match = TIMESTAMP.exec(text);
  if (match === null) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number);
  const millis = match[7] === undefined ? 0 : Number(match[7].padEnd(3, "0"));
  const time = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  // Date.UTC silently rolls invalid fields over (Feb 30 -> Mar 1): accept only if every field round-trips.
  const date = new Date(time);
  const roundTrips =
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    date.getUTCHours() === hour &&
    date.getUTCMinutes() === minute &&
    date.getUTCSeconds() === second;
  if (!roundTrips) return undefined;
  if (match[8] === undefined) return time;
  const [offsetHours, offsetMinutes] = [Number(match[9]), Number(match[10] ?? 0)];
  if (offsetHours > 23 || offsetMinutes > 59) return undefined;
  // Local time = UTC + offset, so UTC = local - offset.
  return time - (match[8] === "+" ? 1 : -1) * (offsetHours * 60 + offsetMinutes) * 60_000;
}

/**
 * Parses candle CSV text: a header naming the columns `timestamp, open, high, low, close, volume` (any order,
 * case-insensitive; any other column is an error, as an unknown key is), then one bar per line; blank lines are ignored, CRLF is accepted.
 * Every cell must be a plain decimal number (timestamps as in `parseTimestamp`); the bars must then pass
 * the checks of `candleSeriesFrom`.
 * @param source file name (or label) used in error messages and stored on the series.
 * @throws DataError naming `source:line` and the offending value; InsufficientDataError for fewer than 2 bars.
 */
export function parseCandlesCsv(text: string, source: string): CandleSeries {
  return candleSeriesFrom(candleCsvRows(text, source), source);
}

/** The name of a field of a candle (`time`, `open`, ..., `volume`). */
export type CandleField = keyof Candle;

/** One bar as read from a source, before the checks of `candleSeriesFrom`. */
export interface CandleRow {
  /** Where the bar came from, for messages: a 1-based line number, or a label such as `candles[3]`. */
  at: number | string;
  candle: Candle;
  /** Each field as written in the source (a cell, a JSON value), for messages. */
  written: Record<CandleField, string>;
}

/**
 * Checks bars read from any source (CSV file, HTTP payload) and builds the series; the one place the
 * candle rules live. Prices must be > 0, volume >= 0, and `low <= min(open, close) <= max(open, close) <=
 * high`. Timestamps must be strictly increasing; the bar interval (ms) is the smallest spacing between
 * consecutive bars, every spacing must be a whole multiple of it, and larger spacings are reported as `gaps`.
 * Every value must have an integer candle form (integer-candle.ts: decimals and bounds). Rows are checked as they are iterated, so a lazy iterable reports the first bad row of its source first.
 * @param source file name, URL or label used in error messages and stored on the series.
 * @throws DataError naming `source:line` (or `source: at:`) and the offending value; InsufficientDataError
 *   for fewer than 2 bars.
 */
export function candleSeriesFrom(rows: Iterable<CandleRow>, source: string): CandleSeries {
  const candles: Candle[] = [];
  const stamps: Stamp[] = [];
  let intervalMs = Infinity;

  for (const { at, candle, written } of rows) {
    const stamp = { time: candle.time, text: written.time, at };
    const previous = stamps.length > 0 ? stamps[stamps.length - 1] : undefined;
    checkIncreasing(previous, stamp, source);
    if (previous !== undefined) intervalMs = Math.min(intervalMs, stamp.time - previous.time);

    const { open, high, low, close, volume } = candle;
    for (const price of ["open", "high", "low", "close"] as const) {
      if (!(candle[price] > 0)) throw rowError(source, at, `non-positive ${price} ${written[price]}`);
    }
    if (volume < 0) throw rowError(source, at, `negative volume ${written.volume}`);
    if (high < low) throw rowError(source, at, `high ${written.high} < low ${written.low}`);
    // Every bar of the real Binance file satisfies these, so a violation means a corrupt or shifted row.
    if (low > open) throw rowError(source, at, `low ${written.low} > open ${written.open}`);
    if (low > close) throw rowError(source, at, `low ${written.low} > close ${written.close}`);
    if (high < open) throw rowError(source, at, `high ${written.high} < open ${written.open}`);
    if (high < close) throw rowError(source, at, `high ${written.high} < close ${written.close}`);
    // The proofs read integer candles: a value they cannot hold exactly is this row's error, not a later one.
    const problem = integerCandleProblem(candle, written);
    if (problem !== undefined) throw rowError(source, at, problem);

    candles.push({ time: stamp.time, open, high, low, close, volume });
    stamps.push(stamp);
  }

  if (candles.length < 2) {
    throw new InsufficientDataError(
      `${source}: need at least 2 candles to infer the bar interval, found ${candles.length}`,
    );
  }
  return { source, candles, intervalMs, gaps: findGaps(stamps, intervalMs, source) };
}

/** The bars of candle CSV text, each parsed as its line is reached. */
function* candleCsvRows(text: string, source: string): Generator<CandleRow> {
  for (const { cells, line } of csvRows(text, source, CANDLE_COLUMNS)) {
    const [time, open, high, low, close, volume] = cells;
    const candle = {
      time: parseTimestampCell(time, source, line),
      open: parseNumberCell(open, "open", source, line),
      high: parseNumberCell(high, "high", source, line),
      low: parseNumberCell(low, "low", source, line),
      close: parseNumberCell(close, "close", source, line),
      volume: parseNumberCell(volume, "volume", source, line),
    };
    yield { at: line, candle, written: { time, open, high, low, close, volume } };
  }
}

/**
 * Reads and parses a candle CSV file (see `parseCandlesCsv`).
 * @throws DataError(path, undefined, `readFailure`'s reason: "file not found"...) when the file cannot be read.
 */
export function loadCandles(path: string): CandleSeries {
  return parseCandlesCsv(readText(path), path);
}

// ---------------------------------------------------------------------------------------------------------
// Shared CSV handling

/** A parsed timestamp with the text and the place (1-based line, or label) it came from, for messages. */
interface Stamp {
  time: number;
  text: string;
  at: number | string;
}

/** A DataError at a row: `source:line: reason` for a line number, `source: label: reason` for a label. */
function rowError(source: string, at: number | string, reason: string): DataError {
  return typeof at === "number"
    ? new DataError(source, at, reason)
    : new DataError(source, undefined, `${at}: ${reason}`);
}

/** A row's place in running text: `line 12` or `candles[3]`. */
function placeOf(at: number | string): string {
  return typeof at === "number" ? `line ${at}` : at;
}

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new DataError(path, undefined, readFailure(error));
  }
}

/**
 * Walks a comma-separated text (no quoting) in one pass. The first non-blank line is the header; `columns`
 * are looked up in it by trimmed, case-insensitive name. Each later non-blank line yields the trimmed cells
 * of `columns` (in that order) and its 1-based physical line number.
 */
function* csvRows(
  text: string,
  source: string,
  columns: readonly string[],
): Generator<{ cells: string[]; line: number }> {
  const lines = text.split("\n");
  let width = 0;
  let positions: number[] | undefined;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    const content = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (content.trim() === "") continue;
    const fields = content.split(",");
    const line = i + 1;
    if (positions === undefined) {
      width = fields.length;
      positions = findColumns(fields, columns, source, line);
      continue;
    }
    if (fields.length !== width) {
      throw new DataError(source, line, `expected ${width} fields as in the header, found ${fields.length}`);
    }
    yield { cells: positions.map((p) => fields[p].trim()), line };
  }
  if (positions === undefined) throw new DataError(source, undefined, "file is empty (no header row)");
}

/**
 * Positions of `columns` in the header row; a missing, repeated or unknown column is an error at the header line.
 */
function findColumns(header: string[], columns: readonly string[], source: string, line: number): number[] {
  // trim() also drops a UTF-8 byte-order mark in front of the first name.
  const names = header.map((name) => name.trim());
  const lower = names.map((name) => name.toLowerCase());
  const unknown = names.find((_, i) => !columns.includes(lower[i]));
  if (unknown !== undefined) {
    throw new DataError(
      source,
      line,
      `unknown column ${JSON.stringify(unknown)} (the columns are ${columns.join(", ")}, in any order)`,
    );
  }
  return columns.map((column) => {
    const position = lower.indexOf(column);
    if (position < 0) {
      throw new DataError(source, line, `missing column '${column}' (header has: ${names.join(", ")})`);
    }
    if (lower.indexOf(column, position + 1) >= 0) {
      throw new DataError(source, line, `column '${column}' appears more than once in the header`);
    }
    return position;
  });
}

/** A finite decimal number, or a DataError naming the column and the cell as written. */
function parseNumberCell(cell: string, column: string, source: string, line: number): number {
  const value = DECIMAL.test(cell) ? Number(cell) : NaN;
  if (!Number.isFinite(value)) {
    throw new DataError(source, line, `${column} ${JSON.stringify(cell)} is not a finite decimal number`);
  }
  return value;
}

function parseTimestampCell(cell: string, source: string, line: number): number {
  const time = parseTimestamp(cell);
  if (time === undefined) {
    throw new DataError(
      source,
      line,
      `invalid timestamp ${JSON.stringify(cell)} (expected ${TIMESTAMP_FORMATS})`,
    );
  }
  return time;
}

/** Timestamps must strictly increase: equal is a duplicate, smaller is out of order. */
function checkIncreasing(previous: Stamp | undefined, next: Stamp, source: string): void {
  if (previous === undefined || next.time > previous.time) return;
  if (next.time === previous.time) {
    throw rowError(
      source,
      next.at,
      `duplicate timestamp ${next.text} (first seen on ${placeOf(previous.at)})`,
    );
  }
  throw rowError(
    source,
    next.at,
    `timestamps not sorted: ${next.text} comes after ${previous.text} (${placeOf(previous.at)})`,
  );
}

/**
 * Checks every spacing is a whole multiple of `intervalMs` and lists the spacings larger than it. When one
 * is not, the row blamed is the first that is off the grid of the most common spacing: one misaligned bar
 * (say 03:17 among 2 h bars) makes the smallest spacing meaningless, and the first spacing that is not a
 * multiple of it is then an innocent one near the top of the file.
 */
function findGaps(stamps: readonly Stamp[], intervalMs: number, source: string): Gap[] {
  const spacings = stamps.slice(1).map((s, i) => s.time - stamps[i].time);
  if (spacings.some((spacing) => spacing % intervalMs !== 0)) {
    const grid = mostCommon(spacings);
    const i = 1 + spacings.findIndex((spacing) => spacing % grid !== 0);
    throw rowError(
      source,
      stamps[i].at,
      `timestamp ${stamps[i].text} is not aligned to the ${formatDuration(grid)} bar grid ` +
        `(${formatDuration(spacings[i - 1])} after ${stamps[i - 1].text} on ${placeOf(stamps[i - 1].at)})`,
    );
  }
  const gaps: Gap[] = [];
  for (let i = 1; i < stamps.length; i++) {
    const spacing = spacings[i - 1];
    if (spacing === intervalMs) continue;
    gaps.push({
      afterIndex: i - 1,
      from: stamps[i - 1].time,
      to: stamps[i].time,
      missingBars: spacing / intervalMs - 1,
    });
  }
  return gaps;
}

/** The most frequent value (the smallest of equally frequent ones). */
function mostCommon(values: readonly number[]): number {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best = values[0];
  for (const [v, n] of counts) {
    const bestCount = counts.get(best)!;
    if (n > bestCount || (n === bestCount && v < best)) best = v;
  }
  return best;
}

/** A duration in ms as the largest whole unit: `2h`, `15m`, `1d`, `1500ms`. */
function formatDuration(ms: number): string {
  const units: [string, number][] = [
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1_000],
  ];
  for (const [unit, size] of units) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}
