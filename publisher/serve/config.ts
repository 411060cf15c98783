/**
 * The publisher's config file (`zkrisk publisher serve --config publisher.json`): the keystore, the archive
 * directory, the poll interval, the HTTP listener and the markets to sign. Validated here, once, at start:
 * unknown keys are errors (a misspelt optional field must not fall back to its default in silence), every
 * error names the file, the field and the value, relative paths are taken from the config file's directory.
 * No secret is in the file: the keystore's password comes from ZKRISK_PUBLISHER_PASSWORD at start.
 *
 *   { "key": "publisher.key.json",                 keystore made by `zkrisk publisher keygen` (required)
 *     "archive": "archive",                        directory of the signed windows (required; created)
 *     "pollSeconds": 10,                           seconds between reads of the sources (0.1 to 3600)
 *     "listen": { "host": "127.0.0.1", "port": 8090 },
 *     "markets": [ { "market": "BTC-USDT",         label (printable ASCII, at most 31 bytes, or a decimal id)
 *                    "intervalMs": 7200000,        the bar interval the source must have, ms
 *                    "source": { "klines": "https://api.binance.com/api/v3/klines?symbol=BTCUSDT&interval=2h" },
 *                    "backfillBars": 1 } ] }       bars signed on a first start with an empty archive (1 to 10000)
 *
 * `source` is one of `{csv}`, `{url, timeoutMs}`, `{klines}` (feeds/source-config.ts).
 */
import { statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { INTERVAL_BITS } from "../../candles";
import { marketIdOf } from "../../candles/market-id";
import { readCandleSourceConfig, redactedSourceConfig, type CandleSourceConfig } from "../../feeds";
import { ConfigError, ZkriskError } from "../../core/errors";
import { readJsonFile } from "../../core/io";
import {
  existingPath,
  JsonReader,
  nonEmptyString,
  optionalNumber,
  type JsonErrorFactory,
} from "../../core/validate";
import { marketDirectory } from "./archive";

/** One market the publisher signs. */
export interface PublisherMarketConfig {
  /** The label as written ("BTC-USDT"); names the market in the signed windows, the URLs and the logs. */
  market: string;
  /** The label as a field element (`marketIdOf`), the window's `marketId`. */
  marketId: bigint;
  /** Bar interval the source must have, ms. */
  intervalMs: number;
  source: CandleSourceConfig;
  /** Bars signed when the market's archive is empty (the newest closed ones). */
  backfillBars: number;
}

/** The validated publisher config: absolute paths, every default filled in, no secret. */
export interface PublisherConfig {
  /** The config file as named when loaded, for messages. */
  file: string;
  /** Absolute path of the publisher's keystore. */
  key: string;
  /** Absolute path of the archive directory. */
  archive: string;
  /** Seconds between two reads of every market's source. */
  pollSeconds: number;
  /** Where the HTTP API listens; port 0 takes any free port. */
  listen: { host: string; port: number };
  markets: PublisherMarketConfig[];
}

/** Defaults of the optional fields. */
export const PUBLISHER_DEFAULTS = {
  pollSeconds: 10,
  host: "127.0.0.1",
  port: 8090,
  backfillBars: 1,
  sourceTimeoutMs: 10_000,
} as const;

/** Most bars a first start may sign per market. */
export const MAX_BACKFILL_BARS = 10_000;

const configError: JsonErrorFactory = (file, field, reason) =>
  new ConfigError(`${file}: ${field}: ${reason}`);

/**
 * Reads and validates a publisher config file; relative paths in it are taken from the file's directory.
 * @throws ConfigError `file: field: reason`, naming the bad value.
 */
export function loadPublisherConfig(path: string): PublisherConfig {
  let doc: unknown;
  try {
    doc = readJsonFile(path, "CONFIG_INVALID");
  } catch (err) {
    throw err instanceof ZkriskError ? new ConfigError(err.message) : err;
  }
  return parsePublisherConfig(doc, path, dirname(resolve(path)));
}

/**
 * Validates a parsed publisher config document.
 * @param file the config file's name, for messages.
 * @param baseDir directory relative paths are resolved against (the config file's).
 * @throws ConfigError `file: field: reason`, naming the bad value.
 */
export function parsePublisherConfig(value: unknown, file: string, baseDir: string): PublisherConfig {
  const r = new JsonReader(file, value, "", configError);
  r.onlyKeys(["key", "archive", "pollSeconds", "listen", "markets"]);
  const base = resolve(baseDir);
  const D = PUBLISHER_DEFAULTS;

  const key = existingPath(r.at("key"), base, "file");
  const archive = resolve(base, nonEmptyString(r.at("archive")));
  if (isFile(archive)) r.at("archive").error(`${archive} is a file, not a directory`);
  const listen = r.optional("listen")?.onlyKeys(["host", "port"]);
  const host = listen?.optional("host");
  return {
    file,
    key,
    archive,
    pollSeconds: optionalNumber(r, "pollSeconds", D.pollSeconds, 0.1, 3600, { integer: false }),
    listen: {
      host: host ? nonEmptyString(host) : D.host,
      port: listen ? optionalNumber(listen, "port", D.port, 0, 65535) : D.port,
    },
    markets: readMarkets(r.at("markets"), base),
  };
}

function readMarkets(r: JsonReader, base: string): PublisherMarketConfig[] {
  const D = PUBLISHER_DEFAULTS;
  const items = r.items();
  if (items.length === 0) r.error("expected at least one market");
  const ids = new Map<bigint, { market: string; index: number }>();
  const directories = new Map<string, { market: string; index: number }>();
  return items.map((m, index) => {
    m.onlyKeys(["market", "intervalMs", "source", "backfillBars"]);
    const label = m.at("market");
    const market = label.string();
    const marketId = marketIdIn(label, market);
    const sameId = ids.get(marketId);
    if (sameId !== undefined) {
      const same =
        sameId.market === market ? "" : ` (the same field element as ${JSON.stringify(sameId.market)})`;
      label.error(
        `duplicate market ${JSON.stringify(market)}${same}: already markets[${sameId.index}].market`,
      );
    }
    ids.set(marketId, { market, index });
    // Archive directories must differ on case-insensitive file systems too.
    const directory = marketDirectory(market, marketId).toLowerCase();
    const sameDirectory = directories.get(directory);
    if (sameDirectory !== undefined) {
      label.error(
        `${JSON.stringify(market)} would share its archive directory with markets[${sameDirectory.index}] ` +
          `(${JSON.stringify(sameDirectory.market)}; directory names ignore case)`,
      );
    }
    directories.set(directory, { market, index });
    return {
      market,
      marketId,
      intervalMs: m.at("intervalMs").integer(1000, 2 ** INTERVAL_BITS - 1),
      source: readCandleSourceConfig(m.at("source"), base, ["csv", "url", "klines"], D.sourceTimeoutMs),
      backfillBars: optionalNumber(m, "backfillBars", D.backfillBars, 1, MAX_BACKFILL_BARS),
    };
  });
}

/** The market label as a field element; the label rules are `marketIdOf`'s. */
function marketIdIn(r: JsonReader, market: string): bigint {
  if (market === "") r.error("expected a non-empty market label");
  try {
    return marketIdOf(market);
  } catch {
    return r.error(
      `expected printable ASCII of at most 31 bytes or a decimal number below the field modulus, ` +
        `got ${JSON.stringify(market)}`,
    );
  }
}

function isFile(path: string): boolean {
  try {
    return !statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The config as a JSON-safe object for logs and `--check`: bigints as strings, URL credentials masked. */
export function redactedPublisherConfig(cfg: PublisherConfig): Record<string, unknown> {
  return {
    file: cfg.file,
    key: cfg.key,
    archive: cfg.archive,
    pollSeconds: cfg.pollSeconds,
    listen: cfg.listen,
    markets: cfg.markets.map((m) => ({
      market: m.market,
      marketId: m.marketId.toString(),
      intervalMs: m.intervalMs,
      source: redactedSourceConfig(m.source),
      backfillBars: m.backfillBars,
    })),
  };
}
