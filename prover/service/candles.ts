/**
 * Candle sources of the prover service: a CSV file another process appends to, or an HTTP endpoint that
 * answers JSON. Both give a `CandleSeries` checked by the same rules as the CSV loader (`candleSeriesFrom`
 * in models/load-data.ts), and both raise a `DataError` naming the file or URL and the bad element. Which
 * bar to prove, and whether it may be proved at all, is decided by `latestClosedBar` and `barProblem`.
 */
import { open, type FileHandle } from "node:fs/promises";
import { barWindowFeatures } from "../../features/window-features";
import { BoundsError, DataError, InsufficientDataError } from "../../models/errors";
import { candleSeriesFrom, parseCandlesCsv, parseTimestamp, type CandleRow } from "../../models/load-data";
import { checkBarInterval } from "../../models/predict";
import type { CandleSeries } from "../../models/types";
import { JsonReader, type JsonErrorFactory } from "../../models/validate";
import type { CandleSourceConfig } from "./config";

/** Where a market's candles come from. */
export interface CandleSource {
  /** The file or URL, for logs. */
  readonly label: string;
  /**
   * The candles as they are now.
   * @throws DataError naming the source (and line or element) when the data cannot be read or is malformed;
   *   InsufficientDataError when it holds fewer than 2 bars.
   */
  read(): Promise<CandleSeries>;
}

/** The source a market's `candles` config describes. */
export function candleSourceOf(config: CandleSourceConfig): CandleSource {
  return config.kind === "csv"
    ? new CsvCandleSource(config.path)
    : new HttpCandleSource(config.url, config.timeoutMs);
}

/**
 * A source whose reads are shared: reads made while one is under way wait for it, and its result serves
 * every read for `maxAgeMs` after it arrived. Twenty API requests at once then cost one fetch, not twenty.
 * A failed read is not kept: the next read tries again.
 */
export function sharedSource(source: CandleSource, maxAgeMs: number): CandleSource {
  let inFlight: Promise<CandleSeries> | undefined;
  let last: { at: number; series: CandleSeries } | undefined;
  return {
    label: source.label,
    read() {
      if (last !== undefined && Date.now() - last.at <= maxAgeMs) return Promise.resolve(last.series);
      inFlight ??= source
        .read()
        .then((series) => {
          last = { at: Date.now(), series };
          return series;
        })
        .finally(() => (inFlight = undefined));
      return inFlight;
    },
  };
}

/**
 * A candle CSV file (format of `parseCandlesCsv`) that another process appends to. A last line without
 * its newline is still being written and is left for a later read; the header, though, must be complete.
 * The parsed series is kept while the file's size and modification time are unchanged, so polling an
 * unchanged file costs one `stat` and returns the same object.
 */
export class CsvCandleSource implements CandleSource {
  private cache: { size: number; mtimeMs: number; series: CandleSeries } | undefined;

  constructor(readonly path: string) {}

  get label(): string {
    return this.path;
  }

  async read(): Promise<CandleSeries> {
    let file: FileHandle | undefined;
    let bytes: Buffer;
    let size: number;
    let mtimeMs: number;
    try {
      file = await open(this.path, "r");
      ({ size, mtimeMs } = await file.stat());
      if (this.cache !== undefined && this.cache.size === size && this.cache.mtimeMs === mtimeMs) {
        return this.cache.series;
      }
      bytes = await readPrefix(file, size);
    } catch (err) {
      throw new DataError(this.path, undefined, `cannot read file: ${(err as Error).message}`);
    } finally {
      await file?.close();
    }
    const series = parseCandlesCsv(completeLines(bytes, this.path), this.path);
    this.cache = { size, mtimeMs, series };
    return series;
  }
}

/**
 * The first `size` bytes of a file (fewer if it shrank): exactly what a `stat` saw, so bytes appended
 * meanwhile are left for the next read and the cache key matches the content parsed.
 */
async function readPrefix(file: FileHandle, size: number): Promise<Buffer> {
  const bytes = Buffer.alloc(size);
  let filled = 0;
  while (filled < size) {
    const { bytesRead } = await file.read(bytes, filled, size - filled, filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return bytes.subarray(0, filled);
}

/**
 * The text of the complete lines of `bytes`: everything up to and including the last newline. (A newline
 * byte is never part of a multi-byte UTF-8 character, so cutting there is safe.)
 * @throws DataError when no line is complete yet although the file is not empty: the header is being written.
 */
function completeLines(bytes: Buffer, path: string): string {
  const end = bytes.lastIndexOf(0x0a) + 1;
  const text = bytes.subarray(0, end).toString("utf8");
  if (text.trim() === "" && bytes.subarray(end).toString("utf8").trim() !== "") {
    throw new DataError(path, undefined, "the header line is incomplete (no newline after it yet)");
  }
  return text;
}

/** Number fields of a candle in a JSON payload, in the order they are checked. */
const NUMBER_FIELDS = ["open", "high", "low", "close", "volume"] as const;

/**
 * An HTTP endpoint answering `GET url` with status 200 and JSON: an array of candles or `{ "candles": [...] }`
 * (other fields of that object are ignored), each `{ "time", "open", "high", "low", "close", "volume" }`.
 * `time` is the bar's open time, in ms since the Unix epoch or as a UTC timestamp
 * (`2024-06-01T10:00:00Z`, the CSV loader's format); the others are JSON numbers. Extra fields of a candle
 * are ignored, as extra CSV columns are.
 */
export class HttpCandleSource implements CandleSource {
  constructor(
    readonly url: string,
    /** Limit on the whole request (connect, headers and body), ms. */
    readonly timeoutMs: number,
  ) {}

  get label(): string {
    return this.url;
  }

  async read(): Promise<CandleSeries> {
    const fail = (reason: string) => new DataError(this.url, undefined, reason);
    let text: string;
    try {
      const response = await fetch(this.url, {
        headers: { accept: "application/json" },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      if (response.status !== 200) {
        await response.body?.cancel();
        throw fail(`HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}`);
      }
      text = await response.text();
    } catch (err) {
      if (err instanceof DataError) throw err;
      if ((err as Error).name === "TimeoutError")
        throw fail(`no complete answer within ${this.timeoutMs} ms`);
      const cause = (err as { cause?: unknown }).cause;
      throw fail(`request failed: ${cause instanceof Error ? cause.message : (err as Error).message}`);
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw fail(`not valid JSON: ${(err as Error).message}`);
    }
    return candleSeriesFrom(jsonCandleRows(doc, this.url), this.url);
  }
}

/** The candles of a JSON payload, each checked for its types as it is reached. */
function* jsonCandleRows(doc: unknown, url: string): Generator<CandleRow> {
  const dataError: JsonErrorFactory = (file, field, reason) =>
    new DataError(file, undefined, `${field}: ${reason}`);
  const root = new JsonReader(url, doc, "", dataError);
  if (!Array.isArray(doc) && (typeof doc !== "object" || doc === null)) {
    root.error(`expected an array of candles or {"candles": [...]}, got ${JSON.stringify(doc)}`);
  }
  // Elements are named candles[i] in both forms.
  const list = Array.isArray(doc) ? new JsonReader(url, doc, "candles", dataError) : root.at("candles");
  const items = list.items();
  for (let i = 0; i < items.length; i++) {
    const c = items[i];
    const time = readTime(c.at("time"));
    const [open, high, low, close, volume] = NUMBER_FIELDS.map((field) => c.at(field).number());
    const show = (v: number) => JSON.stringify(v);
    yield {
      at: `candles[${i}]`,
      candle: { time: time.ms, open, high, low, close, volume },
      written: {
        time: time.written,
        open: show(open),
        high: show(high),
        low: show(low),
        close: show(close),
        volume: show(volume),
      },
    };
  }
}

/** A JSON `time`: integer ms since the epoch, or a UTC timestamp string; and how to show it in messages. */
function readTime(r: JsonReader): { ms: number; written: string } {
  if (typeof r.raw() === "string") {
    const text = r.string();
    const ms = parseTimestamp(text);
    if (ms === undefined) {
      r.error(
        `expected ms since the Unix epoch or a UTC time YYYY-MM-DDTHH:MM:SS[.fff]Z, got ${JSON.stringify(text)}`,
      );
    }
    return { ms, written: text };
  }
  const ms = r.integer(0, MAX_TIME_MS);
  return { ms, written: `${ms} (${new Date(ms).toISOString()})` };
}

/** Largest time a JavaScript Date holds, ms. */
const MAX_TIME_MS = 8.64e15;

/**
 * Index of the newest bar that has closed by `nowMs` (its open time + the interval <= nowMs), or undefined
 * when none has. The bar still forming is never proved: its candle would change after the proof.
 */
export function latestClosedBar(series: CandleSeries, nowMs: number): number | undefined {
  const { candles, intervalMs } = series;
  for (let i = candles.length - 1; i >= 0; i--) if (candles[i].time + intervalMs <= nowMs) return i;
  return undefined;
}

/**
 * Why the bar at `index` must not be proved, or undefined when it may be. The reasons, in the order they are
 * checked, each naming the source: the series' bar interval is not the model's (`expectedIntervalMs`, the
 * model file's `barIntervalMs`); the bar directly follows a gap (`3 bars missing before <time>`), so it has
 * no return; or its window features cannot be computed (the window starts before the series or misses too
 * many bars, or a feature breaks its bound). Meant for the service's log when it skips an update.
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
