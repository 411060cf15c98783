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
 * refused. The bar still forming is the last element; `latestClosedBar` leaves it out.
 */
import { DataError } from "../core/errors";
import { candleSeriesFrom, type CandleRow } from "../candles/load-data";
import type { CandleSeries } from "../candles/types";
import { JsonReader } from "../core/validate";
import { ChangedFileReader, dataError, epochMs, fetchJson, parseJson, type CandleSource } from "./sources";

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

/** Binance klines JSON in a file that another process replaces (atomically) with newer bars. */
export class KlinesFileSource implements CandleSource {
  private readonly file: ChangedFileReader<CandleSeries>;

  constructor(readonly path: string) {
    this.file = new ChangedFileReader(path, (bytes) =>
      klinesSeries(parseJson(bytes.toString("utf8"), path), path),
    );
  }

  get label(): string {
    return this.path;
  }

  read(): Promise<CandleSeries> {
    return this.file.read();
  }
}

/** Binance klines JSON from `GET url`, e.g. `https://api.binance.com/api/v3/klines?symbol=BTCUSDT&interval=2h`. */
export class KlinesHttpSource implements CandleSource {
  constructor(
    readonly url: string,
    /** Limit on the whole request (connect, headers and body), ms. */
    readonly timeoutMs: number,
  ) {}

  get label(): string {
    return this.url;
  }

  async read(): Promise<CandleSeries> {
    return klinesSeries(await fetchJson(this.url, this.timeoutMs), this.url);
  }
}
