/**
 * Candle feeds: where a long-running process (the prover service, a publisher) reads closed bars from. A CSV
 * file another process appends to, or an HTTP endpoint answering JSON candles; the Binance klines shape is in
 * binance-klines.ts. Every source gives a `CandleSeries` checked by the same rules as the CSV loader
 * (`candleSeriesFrom` in candles/load-data.ts) and raises a `DataError` naming the file or URL and the bad
 * element. `latestClosedBar` says which bar has closed.
 */
import { open, type FileHandle } from "node:fs/promises";
import { DataError } from "../core/errors";
import { readFailure } from "../core/io";
import { JsonTextError, parseJsonText } from "../core/json-text";
import { readCappedBody } from "../core/http-body";
import { candleSeriesFrom, parseCandlesCsv, parseTimestamp, type CandleRow } from "../candles/load-data";
import type { CandleSeries } from "../candles/types";
import { JsonReader, type JsonErrorFactory } from "../core/validate";

/** What a reader needs from a source beyond its newest bars. */
export interface SourceNeed {
  /**
   * The oldest bar open time (ms) the reader needs. A source that serves its newest bars a page at a time
   * (Binance klines over HTTP) fetches older pages until it reaches this bar; the others hold all their bars
   * and ignore it.
   */
  fromMs?: number;
}

/** Where a market's candles come from. */
export interface CandleSource {
  /** The file or URL, for logs. */
  readonly label: string;
  /**
   * The candles as they are now.
   * @param need how far back the reader needs bars (see `SourceNeed`).
   * @throws DataError naming the source (and line or element) when the data cannot be read or is malformed;
   *   InsufficientDataError when it holds fewer than 2 bars.
   */
  read(need?: SourceNeed): Promise<CandleSeries>;
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
 * The bytes of a file, read again only when its size or modification time changed: polling an unchanged
 * file costs one `stat` and gives the same parsed value. Bytes appended between the `stat` and the read are
 * left for the next read, so the cache key always matches the content parsed.
 */
export class ChangedFileReader<T> {
  private cache: { size: number; mtimeMs: number; value: T } | undefined;

  constructor(
    readonly path: string,
    /** Parses the bytes; what it throws is passed on and nothing is cached. */
    private readonly parse: (bytes: Buffer) => T,
  ) {}

  /**
   * The parsed content as it is now.
   * @throws DataError `path: ` and `readFailure`'s reason (file not found...); whatever `parse` throws.
   */
  async read(): Promise<T> {
    let file: FileHandle | undefined;
    let bytes: Buffer;
    let size: number;
    let mtimeMs: number;
    try {
      file = await open(this.path, "r");
      ({ size, mtimeMs } = await file.stat());
      if (this.cache !== undefined && this.cache.size === size && this.cache.mtimeMs === mtimeMs) {
        return this.cache.value;
      }
      bytes = await readPrefix(file, size);
    } catch (err) {
      throw new DataError(this.path, undefined, readFailure(err));
    } finally {
      await file?.close();
    }
    const value = this.parse(bytes);
    this.cache = { size, mtimeMs, value };
    return value;
  }
}

/**
 * A candle CSV file (format of `parseCandlesCsv`) that another process appends to. A last line without
 * its newline is still being written and is left for a later read; the header, though, must be complete.
 * The parsed series is kept while the file's size and modification time are unchanged, so polling an
 * unchanged file costs one `stat` and returns the same object.
 */
export class CsvCandleSource implements CandleSource {
  private readonly file: ChangedFileReader<CandleSeries>;

  constructor(readonly path: string) {
    this.file = new ChangedFileReader(path, (bytes) => parseCandlesCsv(completeLines(bytes, path), path));
  }

  get label(): string {
    return this.path;
  }

  read(): Promise<CandleSeries> {
    return this.file.read();
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

/** An HTTP answer other than 200 from a source: its status, and how long it asks not to be asked again. */
export class SourceHttpError extends DataError {
  constructor(
    url: string,
    readonly status: number,
    statusText: string,
    /** The answer's `Retry-After`, ms (undefined when it has none that parses). */
    readonly retryAfterMs: number | undefined,
  ) {
    super(url, undefined, `HTTP ${status}${statusText ? ` ${statusText}` : ""}`);
  }
}

/**
 * A `Retry-After` header's wait, ms: delay-seconds, or an HTTP date (from `nowMs`); undefined when absent or
 * malformed.
 */
export function retryAfterMs(header: string | null, nowMs: number): number | undefined {
  if (header === null) return undefined;
  const text = header.trim();
  if (/^\d{1,9}$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/**
 * The most bytes of a candle source's answer read, after decompression: a page of 1,000 Binance klines is about
 * 180 KB, and a JSON source serving the whole 2 h history of BTC-USDT since 2017 (30,000 candles) about 3 MB. The rest
 * of a longer answer is cancelled, never downloaded, so a broken feed or a gzip bomb costs no more memory than this.
 */
export const SOURCE_MAX_ANSWER_BYTES = 16 * 1024 * 1024;

/**
 * `GET url` answered with status 200 and JSON, parsed. A redirect is refused (the source is read at the URL
 * configured), and the answer is read up to {@link SOURCE_MAX_ANSWER_BYTES}.
 * @param timeoutMs limit on the whole request (connect, headers and body), ms.
 * @throws SourceHttpError (a DataError) naming the URL for an HTTP status other than 200; DataError naming the
 *   URL: no answer within `timeoutMs`, a failed request (a redirect among them), a longer answer, or a body that is
 *   not JSON or holds a key twice in one object (`parseJson`).
 */
export async function fetchJson(url: string, timeoutMs: number): Promise<unknown> {
  const fail = (reason: string) => new DataError(url, undefined, reason);
  const signal = AbortSignal.timeout(timeoutMs);
  const timedOut = () => fail(`no complete answer within ${timeoutMs} ms`);
  let response: Response;
  try {
    response = await fetch(url, { headers: { accept: "application/json" }, redirect: "error", signal });
  } catch (err) {
    if ((err as Error).name === "TimeoutError") throw timedOut();
    const cause = (err as { cause?: unknown }).cause;
    throw fail(`request failed: ${cause instanceof Error ? cause.message : (err as Error).message}`);
  }
  if (response.status !== 200) {
    await response.body?.cancel().catch(() => undefined);
    const wait = retryAfterMs(response.headers.get("retry-after"), Date.now());
    throw new SourceHttpError(url, response.status, response.statusText, wait);
  }
  const body = await readCappedBody(response, SOURCE_MAX_ANSWER_BYTES);
  if (body.kind === "failed") throw signal.aborted ? timedOut() : fail(`request failed: ${body.reason}`);
  if (body.kind === "over") {
    throw fail(
      `an answer of more than ${SOURCE_MAX_ANSWER_BYTES} bytes (the most read of a source's answer), not read`,
    );
  }
  return parseJson(body.text, url);
}

/**
 * JSON text parsed (`parseJsonText`: a key held twice in one object is refused).
 * @throws DataError `source:line:column: not valid JSON: ...` or `source:line:column: duplicate key 'k' (first at
 *   line L)` (for a URL: `url: line L, column C: ...`).
 */
export function parseJson(text: string, source: string): unknown {
  try {
    return parseJsonText(text, source);
  } catch (err) {
    if (!(err instanceof JsonTextError)) throw err;
    // the place (`file:line:column`, `url: line L, column C`) stands for the file: a DataError's line is a CSV's
    throw new DataError(err.place, undefined, err.reason);
  }
}

/** HTTP statuses that say "too many requests": 429, and 418, Binance's ban of a client that went on asking. */
const RATE_LIMITED = new Set([429, 418]);

/** How long a source is left alone after a 429 or 418 without a `Retry-After`, ms. */
export const DEFAULT_RATE_LIMIT_BACKOFF_MS = 60_000;

/** The longest wait a `Retry-After` is obeyed for, ms (Binance bans for up to 3 days). */
export const MAX_RATE_LIMIT_BACKOFF_MS = 3 * 24 * 3_600_000;

/**
 * The back-off of an HTTP source told it asks too often: after a 429 or a 418 (Binance answers 429 with a
 * `Retry-After`, and bans with 418, for minutes up to days, a client that keeps asking), no request is made
 * before the time the server gave (`Retry-After`, else {@link DEFAULT_RATE_LIMIT_BACKOFF_MS}); each read meanwhile
 * fails at once, naming the status and the time.
 *
 * The wait is measured on a monotonic clock (`performance.now()`), not the wall clock: a wall clock stepped back
 * (NTP, an operator) during a 60 s back-off would otherwise stretch it by the step (6 h back: 6 h without a read),
 * and one stepped forward would cut it short. The wall clock only says when the wait ends, in the message.
 */
export class RateLimitBackoff {
  private until: { elapsedMs: number; shownMs: number; reason: string } | undefined;

  constructor(
    readonly url: string,
    /** The wall clock the end of a wait is shown in, ms. */
    private readonly now: () => number = Date.now,
    /** The monotonic clock waits are measured on, ms (default `performance.now()`). */
    private readonly elapsed: () => number = () => performance.now(),
  ) {}

  /** @throws DataError naming the URL while a back-off is under way. */
  check(): void {
    if (this.until === undefined) return;
    if (this.elapsed() >= this.until.elapsedMs) {
      this.until = undefined;
      return;
    }
    throw new DataError(
      this.url,
      undefined,
      `${this.until.reason}: not asked again before ${new Date(this.until.shownMs).toISOString()}`,
    );
  }

  /** Runs `request`, starting a back-off when it fails with a 429 or a 418 (and passing the error on). */
  async run<T>(request: () => Promise<T>): Promise<T> {
    this.check();
    try {
      return await request();
    } catch (err) {
      if (err instanceof SourceHttpError && RATE_LIMITED.has(err.status)) {
        const wait = Math.min(err.retryAfterMs ?? DEFAULT_RATE_LIMIT_BACKOFF_MS, MAX_RATE_LIMIT_BACKOFF_MS);
        this.until = { elapsedMs: this.elapsed() + wait, shownMs: this.now() + wait, reason: err.reason };
        throw new DataError(
          err.file,
          undefined,
          `${err.reason}: rate limited, not asked again before ${new Date(this.until.shownMs).toISOString()}`,
        );
      }
      throw err;
    }
  }
}

/** Raises a reader's errors as DataErrors: `source: field: reason`. */
export const dataError: JsonErrorFactory = (file, field, reason) =>
  new DataError(file, undefined, `${field}: ${reason}`);

/** Number fields of a candle in a JSON payload, in the order they are checked. */
const NUMBER_FIELDS = ["open", "high", "low", "close", "volume"] as const;

/**
 * An HTTP endpoint answering `GET url` with status 200 and JSON: an array of candles or `{ "candles": [...] }`
 * (other fields of that object are ignored), each `{ "time", "open", "high", "low", "close", "volume" }`.
 * `time` is the bar's open time, in ms since the Unix epoch or as a UTC timestamp
 * (`2024-06-01T10:00:00Z`, the CSV loader's format); the others are JSON numbers. Extra fields of a candle
 * are ignored, as extra CSV columns are. A 429 or 418 answer makes it wait as the server asks before asking again
 * (`RateLimitBackoff`).
 */
export class HttpCandleSource implements CandleSource {
  private readonly backoff: RateLimitBackoff;

  constructor(
    readonly url: string,
    /** Limit on the whole request (connect, headers and body), ms. */
    readonly timeoutMs: number,
    /** The wall clock of the rate-limit back-off (`RateLimitBackoff`: its messages; waits are monotonic), ms. */
    now: () => number = Date.now,
  ) {
    this.backoff = new RateLimitBackoff(url, now);
  }

  get label(): string {
    return this.url;
  }

  async read(): Promise<CandleSeries> {
    const doc = await this.backoff.run(() => fetchJson(this.url, this.timeoutMs));
    return candleSeriesFrom(jsonCandleRows(doc, this.url), this.url);
  }
}

/** The candles of a JSON payload, each checked for its types as it is reached. */
function* jsonCandleRows(doc: unknown, url: string): Generator<CandleRow> {
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
  return epochMs(r);
}

/** Largest time a JavaScript Date holds, ms. */
const MAX_TIME_MS = 8.64e15;

/** A JSON integer of ms since the Unix epoch, and how to show it in messages. */
export function epochMs(r: JsonReader): { ms: number; written: string } {
  const ms = r.integer(0, MAX_TIME_MS);
  return { ms, written: `${ms} (${new Date(ms).toISOString()})` };
}

/**
 * Index of the newest bar that has closed by `nowMs` (its open time + the interval <= nowMs), or undefined
 * when none has. The bar still forming is never proved or signed: its candle would change afterwards.
 */
export function latestClosedBar(series: CandleSeries, nowMs: number): number | undefined {
  const { candles, intervalMs } = series;
  for (let i = candles.length - 1; i >= 0; i--) if (candles[i].time + intervalMs <= nowMs) return i;
  return undefined;
}
