/**
 * Binance klines: the JSON of Binance's `GET /api/v3/klines` (spot) and `/fapi/v1/klines` (futures), from a
 * file or an HTTP URL. The payload is an array of bars, oldest first, each an array:
 *
 *   [ openTime, "open", "high", "low", "close", "volume", closeTime, "quoteVolume", trades, ... ]
 *
 * openTime and closeTime are integers, ms since the Unix epoch, with closeTime = openTime + interval - 1;
 * prices and volume are decimal strings (JSON numbers are accepted too). Entries after closeTime are
 * ignored. The bars then pass the CSV loader's checks (`candleSeriesFrom`), and every bar must span the
 * series' bar interval (closeTime - openTime + 1), so a payload of another interval than it looks like is
 * refused.
 *
 * The bar still forming is the last element of Binance's answer, and the sources here never read it
 * (`withoutFormingKline`): the exchange says which bar is forming, not the local clock, so a clock ahead of the
 * exchange's, or an answer served just before the exchange rolled over to the next bar, cannot make a bar that is
 * still changing look closed (`latestClosedBar` then also asks the clock). A bar is read once the exchange serves a
 * newer one.
 *
 * Over HTTP, Binance serves at most 1000 klines an answer (the URL's `limit`, 500 by default): when the reader
 * needs older bars than the answer holds (a first start with a large `backfillBars`, a restart after a long
 * downtime: `SourceNeed.fromMs`), older pages are fetched with `endTime` (and `limit=1000`), at most
 * {@link MAX_OLDER_PAGES}. A 429 or 418 answer makes the source wait as Binance asks (`RateLimitBackoff`).
 */
import { DataError } from "../core/errors";
import { candleSeriesFrom, type CandleRow } from "../candles/load-data";
import type { CandleSeries } from "../candles/types";
import { JsonReader } from "../core/validate";
import {
  ChangedFileReader,
  dataError,
  epochMs,
  fetchJson,
  parseJson,
  RateLimitBackoff,
  type CandleSource,
  type SourceNeed,
} from "./sources";

/** Most klines Binance serves in one answer (the largest `limit`). */
export const KLINES_PAGE_LIMIT = 1000;

/**
 * Most older pages one read fetches: 12 pages of {@link KLINES_PAGE_LIMIT} reach a publisher's largest backfill
 * (10,000 bars) and the window before its first bar.
 */
export const MAX_OLDER_PAGES = 12;

/**
 * A klines payload without its last element, the bar still forming when Binance answered (see the file header).
 * A payload that is not an array is given back as it is, for `klinesSeries` to refuse.
 */
export function withoutFormingKline(doc: unknown): unknown {
  return Array.isArray(doc) ? doc.slice(0, -1) : doc;
}

/** The open time of a kline as sent, or undefined when it has none (`klinesSeries` then names the element). */
function openTimeOf(kline: unknown): number | undefined {
  return Array.isArray(kline) && Number.isSafeInteger(kline[0]) ? (kline[0] as number) : undefined;
}

/** The entries of a kline read here, by position. */
export const KLINE_FIELDS = ["openTime", "open", "high", "low", "close", "volume", "closeTime"] as const;

/** A plain decimal number, as Binance writes prices and quantities ("60000.01000000"). */
const DECIMAL = /^(?:\d+(?:\.\d*)?|\.\d+)$/;

/** One kline's number (a decimal string or a JSON number) and how it was written. */
function klineNumber(r: JsonReader, name: string): { value: number; written: string } {
  const raw = r.raw();
  if (typeof raw === "number") return { value: r.number(), written: JSON.stringify(raw) };
  if (typeof raw !== "string" || !DECIMAL.test(raw)) {
    r.error(`${name}: expected a decimal string or a number, got ${JSON.stringify(raw)}`);
  }
  return { value: Number(raw), written: raw };
}

/**
 * The series of a klines payload.
 * @param source the file or URL, for messages (`source: klines[3][4]: close: ...`).
 * @throws DataError naming the element and the field; InsufficientDataError for fewer than 2 bars.
 */
export function klinesSeries(doc: unknown, source: string): CandleSeries {
  const spans: { at: string; openTime: number; closeTime: number }[] = [];
  const series = candleSeriesFrom(klineRows(doc, source, spans), source);
  for (const { at, openTime, closeTime } of spans) {
    const span = closeTime - openTime + 1;
    if (span !== series.intervalMs) {
      throw new DataError(
        source,
        undefined,
        `${at}[6]: closeTime ${closeTime} is not openTime + ${series.intervalMs} - 1 (the series' bar interval ` +
          `is ${series.intervalMs} ms; this bar spans ${span} ms)`,
      );
    }
  }
  return series;
}

/** The bars of a klines payload, each checked for its types as it is reached; `spans` collects their times. */
function* klineRows(
  doc: unknown,
  source: string,
  spans: { at: string; openTime: number; closeTime: number }[],
): Generator<CandleRow> {
  const list = new JsonReader(source, doc, "klines", dataError);
  if (!Array.isArray(doc)) {
    list.error(`expected an array of klines [openTime, "open", ..., closeTime, ...], got ${typeof doc}`);
  }
  const items = list.items();
  for (let i = 0; i < items.length; i++) {
    const k = items[i];
    const entries = k.array();
    if (entries.length < KLINE_FIELDS.length) {
      k.error(
        `expected at least ${KLINE_FIELDS.length} entries (${KLINE_FIELDS.join(", ")}), got ${entries.length}`,
      );
    }
    const time = epochMs(k.at(0));
    const [open, high, low, close, volume] = (["open", "high", "low", "close", "volume"] as const).map(
      (name, j) => klineNumber(k.at(j + 1), name),
    );
    const closeTime = k.at(6).integer(0, 8.64e15);
    if (closeTime <= time.ms) k.at(6).error(`closeTime ${closeTime} is not after openTime ${time.ms}`);
    spans.push({ at: `klines[${i}]`, openTime: time.ms, closeTime });
    yield {
      at: `klines[${i}]`,
      candle: {
        time: time.ms,
        open: open.value,
        high: high.value,
        low: low.value,
        close: close.value,
        volume: volume.value,
      },
      written: {
        time: time.written,
        open: open.written,
        high: high.written,
        low: low.written,
        close: close.written,
        volume: volume.written,
      },
    };
  }
}

/**
 * Binance klines JSON in a file that another process replaces (atomically) with newer bars, as the API answers
 * them: the last element, the bar still forming, is left out.
 */
export class KlinesFileSource implements CandleSource {
  private readonly file: ChangedFileReader<CandleSeries>;

  constructor(readonly path: string) {
    this.file = new ChangedFileReader(path, (bytes) =>
      klinesSeries(withoutFormingKline(parseJson(bytes.toString("utf8"), path)), path),
    );
  }

  get label(): string {
    return this.path;
  }

  read(): Promise<CandleSeries> {
    return this.file.read();
  }
}

/**
 * Binance klines JSON from `GET url`, e.g. `https://api.binance.com/api/v3/klines?symbol=BTCUSDT&interval=2h`: the
 * answer without its last element (the bar still forming), and older pages when the reader needs them (see the
 * file header). Errors name `url` as configured (an older page's `endTime` is said in the reason), so the
 * publisher's redaction of the URL's query applies to them too.
 */
export class KlinesHttpSource implements CandleSource {
  private readonly backoff: RateLimitBackoff;

  constructor(
    readonly url: string,
    /** Limit on the whole request (connect, headers and body), ms. */
    readonly timeoutMs: number,
    /** The clock of the rate-limit back-off (`RateLimitBackoff`), ms. */
    now: () => number = Date.now,
  ) {
    this.backoff = new RateLimitBackoff(url, now);
  }

  get label(): string {
    return this.url;
  }

  async read(need: SourceNeed = {}): Promise<CandleSeries> {
    const newest = withoutFormingKline(await this.backoff.run(() => fetchJson(this.url, this.timeoutMs)));
    const klines =
      Array.isArray(newest) && need.fromMs !== undefined
        ? await this.withOlderPages(newest, need.fromMs)
        : newest;
    return klinesSeries(klines, this.url);
  }

  /**
   * `klines` preceded by older pages until its first bar opens at or before `fromMs`, Binance has no older bar
   * (an empty page), or {@link MAX_OLDER_PAGES} were fetched.
   * @throws DataError naming `url` and the page's `endTime`: a failed request, a page that is not an array, or one
   *   whose last bar does not open before the bars it should precede (a server that ignores `endTime`).
   */
  private async withOlderPages(klines: unknown[], fromMs: number): Promise<unknown[]> {
    let all = klines;
    for (let page = 0; page < MAX_OLDER_PAGES; page++) {
      const first = all.length === 0 ? undefined : openTimeOf(all[0]);
      if (first === undefined || first <= fromMs) break;
      const url = new URL(this.url);
      url.searchParams.delete("startTime");
      url.searchParams.set("endTime", String(first - 1));
      url.searchParams.set("limit", String(KLINES_PAGE_LIMIT));
      const where = `older klines (endTime ${first - 1}, ${new Date(first - 1).toISOString()})`;
      let older: unknown;
      try {
        older = await this.backoff.run(() => fetchJson(url.toString(), this.timeoutMs));
      } catch (err) {
        if (!(err instanceof DataError)) throw err;
        throw new DataError(this.url, undefined, `${where}: ${err.reason}`);
      }
      if (!Array.isArray(older)) {
        throw new DataError(
          this.url,
          undefined,
          `${where}: expected an array of klines, got ${typeof older}`,
        );
      }
      if (older.length === 0) break;
      const last = openTimeOf(older[older.length - 1]);
      if (last !== undefined && last >= first) {
        throw new DataError(
          this.url,
          undefined,
          `${where}: the answer ends with a bar opening at ${last}, not before ${first} (is endTime honoured?)`,
        );
      }
      all = [...older, ...all];
    }
    return all;
  }
}
