/**
 * Loader for the market-data CSV files (candles, funding rates). Everything read from a file is validated
 * here, once; a malformed file raises a `DataError` whose message starts with `file:line:` and names the
 * value as written. Times are milliseconds since the Unix epoch (UTC) throughout.
 */
import { readFileSync } from "node:fs";
import { DataError, InsufficientDataError } from "./errors";
import type { Candle, CandleSeries, FundingRate, FundingSeries, Gap } from "./types";

/** `YYYY-MM-DD HH:MM:SS[.fff]`, `T` or space between date and time, optional trailing `Z`. */
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?Z?$/;

/** A plain decimal number with an optional exponent (`4261.48`, `-6.876e-05`); no `NaN`, `Infinity`, hex. */
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

const TIMESTAMP_FORMAT = "UTC YYYY-MM-DD HH:MM:SS[.fff]";

/** Required columns, in the order their cells are handed to the row parsers. */
const CANDLE_COLUMNS = ["timestamp", "open", "high", "low", "close", "volume"] as const;
const FUNDING_COLUMNS = ["timestamp", "funding_rate"] as const;

/**
 * Parses a UTC timestamp `YYYY-MM-DD HH:MM:SS[.fff]` (1 to 3 fraction digits; `T` may replace the space;
 * a trailing `Z` is allowed). Returns milliseconds since the Unix epoch, or `undefined` when the text is
 * malformed or is not a real calendar date and time (month 13, February 30, hour 24, second 60, or a year
 * before 0100, which `Date.UTC` would map into the 1900s).
 */
export function parseTimestamp(text: string): number | undefined {
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
  return roundTrips ? time : undefined;
}

/**
 * Parses candle CSV text: a header naming the columns `timestamp, open, high, low, close, volume` (any order,
 * case-insensitive, extra columns ignored), then one bar per line; blank lines are ignored, CRLF is accepted.
 * Prices must be > 0, volume >= 0, and `low <= min(open, close) <= max(open, close) <= high`. Timestamps
 * must be strictly increasing; the bar interval (ms) is the smallest spacing between consecutive bars, every
 * spacing must be a whole multiple of it, and larger spacings are reported as `gaps`.
 * @param source file name (or label) used in error messages and stored on the series.
 * @throws DataError naming `source:line` and the offending value; InsufficientDataError for fewer than 2 bars.
 */
export function parseCandlesCsv(text: string, source: string): CandleSeries {
  const candles: Candle[] = [];
  const stamps: Stamp[] = [];
  let intervalMs = Infinity;

  forEachCsvRow(text, source, CANDLE_COLUMNS, (cells, line) => {
    const [timeText, openText, highText, lowText, closeText, volumeText] = cells;
    const stamp = { time: parseTimestampCell(timeText, source, line), text: timeText, line };
    const previous = stamps.length > 0 ? stamps[stamps.length - 1] : undefined;
    checkIncreasing(previous, stamp, source);
    if (previous !== undefined) intervalMs = Math.min(intervalMs, stamp.time - previous.time);

    const open = parsePriceCell(openText, "open", source, line);
    const high = parsePriceCell(highText, "high", source, line);
    const low = parsePriceCell(lowText, "low", source, line);
    const close = parsePriceCell(closeText, "close", source, line);
    const volume = parseNumberCell(volumeText, "volume", source, line);
    if (volume < 0) throw new DataError(source, line, `negative volume ${volumeText}`);
    if (high < low) throw new DataError(source, line, `high ${highText} < low ${lowText}`);
    // Every bar of the real Binance file satisfies these, so a violation means a corrupt or shifted row.
    if (low > open) throw new DataError(source, line, `low ${lowText} > open ${openText}`);
    if (low > close) throw new DataError(source, line, `low ${lowText} > close ${closeText}`);
    if (high < open) throw new DataError(source, line, `high ${highText} < open ${openText}`);
    if (high < close) throw new DataError(source, line, `high ${highText} < close ${closeText}`);

    candles.push({ time: stamp.time, open, high, low, close, volume });
    stamps.push(stamp);
  });

  if (candles.length < 2) {
    throw new InsufficientDataError(
      `${source}: need at least 2 candles to infer the bar interval, found ${candles.length}`,
    );
  }
  return { source, candles, intervalMs, gaps: findGaps(stamps, intervalMs, source) };
}

/**
 * Reads and parses a candle CSV file (see `parseCandlesCsv`).
 * @throws DataError(path, undefined, "cannot read file: ...") when the file cannot be read.
 */
export function loadCandles(path: string): CandleSeries {
  return parseCandlesCsv(readText(path), path);
}

/**
 * Parses funding-rate CSV text with columns `timestamp, funding_rate` (same header and line rules as
 * candles). Timestamps may carry milliseconds and need not sit on any grid, but must be strictly increasing;
 * the rate (a fraction per funding period, e.g. 0.0001 = 1 bp) must be finite and may be negative or zero.
 * @throws DataError naming `source:line` and the offending value; InsufficientDataError for a file with no rows.
 */
export function parseFundingCsv(text: string, source: string): FundingSeries {
  const rates: FundingRate[] = [];
  let previous: Stamp | undefined;

  forEachCsvRow(text, source, FUNDING_COLUMNS, (cells, line) => {
    const [timeText, rateText] = cells;
    const stamp = { time: parseTimestampCell(timeText, source, line), text: timeText, line };
    checkIncreasing(previous, stamp, source);
    rates.push({ time: stamp.time, rate: parseNumberCell(rateText, "funding_rate", source, line) });
    previous = stamp;
  });

  if (rates.length === 0) throw new InsufficientDataError(`${source}: no funding rates after the header`);
  return { source, rates };
}

/**
 * Reads and parses a funding-rate CSV file (see `parseFundingCsv`).
 * @throws DataError(path, undefined, "cannot read file: ...") when the file cannot be read.
 */
export function loadFunding(path: string): FundingSeries {
  return parseFundingCsv(readText(path), path);
}

// ---------------------------------------------------------------------------------------------------------
// Shared CSV handling

/** A parsed timestamp with the text and 1-based line it came from, for messages. */
interface Stamp {
  time: number;
  text: string;
  line: number;
}

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new DataError(path, undefined, `cannot read file: ${reason}`);
  }
}

/**
 * Walks a comma-separated text (no quoting) in one pass. The first non-blank line is the header; `columns`
 * are looked up in it by trimmed, case-insensitive name. For each later non-blank line, `visit` gets the
 * trimmed cells of `columns` (in that order) and the 1-based physical line number.
 */
function forEachCsvRow(
  text: string,
  source: string,
  columns: readonly string[],
  visit: (cells: string[], line: number) => void,
): void {
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
    visit(
      positions.map((p) => fields[p].trim()),
      line,
    );
  }
  if (positions === undefined) throw new DataError(source, undefined, "file is empty (no header row)");
}

/** Positions of `columns` in the header row; a missing or repeated column is an error at the header line. */
function findColumns(header: string[], columns: readonly string[], source: string, line: number): number[] {
  // trim() also drops a UTF-8 byte-order mark in front of the first name.
  const names = header.map((name) => name.trim());
  const lower = names.map((name) => name.toLowerCase());
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

/** A price: a finite decimal number > 0. */
function parsePriceCell(cell: string, column: string, source: string, line: number): number {
  const value = parseNumberCell(cell, column, source, line);
  if (value <= 0) throw new DataError(source, line, `non-positive ${column} ${cell}`);
  return value;
}

function parseTimestampCell(cell: string, source: string, line: number): number {
  const time = parseTimestamp(cell);
  if (time === undefined) {
    throw new DataError(
      source,
      line,
      `invalid timestamp ${JSON.stringify(cell)} (expected ${TIMESTAMP_FORMAT})`,
    );
  }
  return time;
}

/** Timestamps must strictly increase: equal is a duplicate, smaller is out of order. */
function checkIncreasing(previous: Stamp | undefined, next: Stamp, source: string): void {
  if (previous === undefined || next.time > previous.time) return;
  if (next.time === previous.time) {
    throw new DataError(
      source,
      next.line,
      `duplicate timestamp ${next.text} (first seen on line ${previous.line})`,
    );
  }
  throw new DataError(
    source,
    next.line,
    `timestamps not sorted: ${next.text} comes after ${previous.text} (line ${previous.line})`,
  );
}

/** Checks every spacing is a whole multiple of `intervalMs` and lists the spacings larger than it. */
function findGaps(stamps: readonly Stamp[], intervalMs: number, source: string): Gap[] {
  const gaps: Gap[] = [];
  for (let i = 1; i < stamps.length; i++) {
    const spacing = stamps[i].time - stamps[i - 1].time;
    if (spacing === intervalMs) continue;
    if (spacing % intervalMs !== 0) {
      throw new DataError(
        source,
        stamps[i].line,
        `timestamp ${stamps[i].text} is not aligned to the ${formatDuration(intervalMs)} bar grid ` +
          `(${formatDuration(spacing)} after ${stamps[i - 1].text} on line ${stamps[i - 1].line})`,
      );
    }
    gaps.push({
      afterIndex: i - 1,
      from: stamps[i - 1].time,
      to: stamps[i].time,
      missingBars: spacing / intervalMs - 1,
    });
  }
  return gaps;
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
