/**
 * The publisher's config file (`zkrisk publisher serve --config publisher.json`): the keystore, the archive
 * directory, the poll interval, the HTTP listener, the markets to sign and the batches of them to sign.
 * Validated here, once, at start: unknown keys are errors (a misspelt optional field must not fall back to its
 * default in silence), every error names the file, the field and the value, relative paths are taken from the
 * config file's directory.
 * No secret is in the file: the keystore's password comes from ZKRISK_PUBLISHER_PASSWORD at start.
 *
 *   { "key": "publisher.key.json",                 keystore made by `zkrisk publisher keygen` (required)
 *     "archive": "archive",                        directory of the signed windows and batches (required; created)
 *     "pollSeconds": 10,                           seconds between reads of the sources (0.1 to 3600)
 *     "listen": { "host": "127.0.0.1", "port": 8090 },
 *     "markets": [ { "market": "BTC-USDT",         label (printable ASCII, at most 31 bytes, or a decimal id)
 *                    "intervalMs": 7200000,        the bar interval the source must have, ms
 *                    "source": { "klines": "https://api.binance.com/api/v3/klines?symbol=BTCUSDT&interval=2h" },
 *                    "backfillBars": 1 },         bars signed on a first start with an empty archive (1 to 10000)
 *                  { "market": "ETH-USDT", "intervalMs": 7200000, "source": { "csv": "eth.csv" } } ],
 *     "batches": [ { "batch": "majors",             label: [A-Za-z0-9][A-Za-z0-9._-]{0,30}, unique ignoring case
 *                    "markets": ["BTC-USDT", "ETH-USDT"] } ] }
 *                                                  2 to 32 distinct labels of `markets`, of one intervalMs, in any
 *                                                  order; `batches` is optional (default none)
 *
 * `source` is one of `{csv}`, `{url, timeoutMs}`, `{klines}` (feeds/source-config.ts). A batch is signed at
 * every bar close where all its markets have a signed window (serve/batch-signer.ts); its label names its URL
 * (`/v1/batches/majors`) and its archive directory (`ARCHIVE/_batches/majors`).
 *
 * `loadPublisherConfig` also checks that the archive can be written (a create-and-remove probe), so a config that
 * passes `--check` does not fail at start on its archive.
 */
import { statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { INTERVAL_BITS } from "../../candles";
import { MAX_BATCH_MARKETS } from "../../candles/batch-digest";
import { marketIdOf, marketLabelProblem } from "../../candles/market-id";
import { readCandleSourceConfig, redactedSourceConfig, type CandleSourceConfig } from "../../feeds";
import { outDirOption } from "../../core/paths";
import { ConfigError, UsageError, ZkriskError } from "../../core/errors";
import { readJsonFile } from "../../core/io";
import {
  existingPath,
  JsonReader,
  nonEmptyString,
  optionalNumber,
  type JsonErrorFactory,
} from "../../core/validate";
import { BATCHES_DIRECTORY, marketDirectory } from "./archive";

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
  /** The batches to sign (none when the file has no `batches`). */
  batches: PublisherBatchConfig[];
}

/** A batch the publisher signs: the windows of several of its markets at each bar close, under one signature. */
export interface PublisherBatchConfig {
  /** The label (`BATCH_LABEL`); names the batch in the URL, the archive directory and the logs. */
  batch: string;
  /** The labels of its markets (`PublisherMarketConfig.market`), as written; all of one bar interval. */
  markets: string[];
}

/** A batch label: a safe file name and URL path segment of at most 31 characters. */
export const BATCH_LABEL = /^[A-Za-z0-9][A-Za-z0-9._-]{0,30}$/;

/** Fewest and most markets in a configured batch (the signed batch circuit's sizes). */
export const BATCH_MARKETS = { min: 2, max: MAX_BATCH_MARKETS } as const;

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
 * Reads and validates a publisher config file; relative paths in it are taken from the file's directory. Beyond
 * `parsePublisherConfig`, the archive must be a directory the publisher can write (`checkArchiveWritable`).
 * @throws ConfigError `file: field: reason`, naming the bad value.
 */
export function loadPublisherConfig(path: string): PublisherConfig {
  let doc: unknown;
  try {
    doc = readJsonFile(path, "CONFIG_INVALID");
  } catch (err) {
    throw err instanceof ZkriskError ? new ConfigError(err.message) : err;
  }
  const cfg = parsePublisherConfig(doc, path, dirname(resolve(path)));
  checkArchiveWritable(cfg);
  return cfg;
}

/**
 * Refuses an archive the publisher could not write: under a file, or where nothing can be created (read-only, no
 * permission, a pseudo file system such as /proc), and the same for each market's and batch's directory in it.
 * Only trying tells: an empty directory is created and removed in the nearest existing directory on each path
 * (core/paths.ts `outDirOption`, as for the commands' outputs), so nothing is left behind.
 * @throws ConfigError `file: archive: reason`, naming the path.
 */
function checkArchiveWritable(cfg: PublisherConfig): void {
  const field = `${cfg.file}: archive`;
  const directories = [
    cfg.archive,
    ...cfg.markets.map((m) => join(cfg.archive, marketDirectory(m.market, m.marketId))),
    ...cfg.batches.map((b) => join(cfg.archive, BATCHES_DIRECTORY, b.batch)),
  ];
  try {
    for (const directory of directories) outDirOption(field, directory);
  } catch (err) {
    throw err instanceof UsageError ? new ConfigError(err.message) : err;
  }
}

/**
 * Validates a parsed publisher config document.
 * @param file the config file's name, for messages.
 * @param baseDir directory relative paths are resolved against (the config file's).
 * @throws ConfigError `file: field: reason`, naming the bad value.
 */
export function parsePublisherConfig(value: unknown, file: string, baseDir: string): PublisherConfig {
  const r = new JsonReader(file, value, "", configError);
  r.onlyKeys(["key", "archive", "pollSeconds", "listen", "markets", "batches"]);
  const base = resolve(baseDir);
  const D = PUBLISHER_DEFAULTS;

  const key = existingPath(r.at("key"), base, "file");
  const archive = resolve(base, nonEmptyString(r.at("archive")));
  if (isFile(archive)) r.at("archive").error(`${archive} is a file, not a directory`);
  const listen = r.optional("listen")?.onlyKeys(["host", "port"]);
  const host = listen?.optional("host");
  const markets = readMarkets(r.at("markets"), base);
  const batches = r.optional("batches");
  return {
    file,
    key,
    archive,
    pollSeconds: optionalNumber(r, "pollSeconds", D.pollSeconds, 0.1, 3600, { integer: false }),
    listen: {
      host: host ? nonEmptyString(host) : D.host,
      port: listen ? optionalNumber(listen, "port", D.port, 0, 65535) : D.port,
    },
    markets,
    batches: batches === undefined ? [] : readBatches(batches, markets),
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

function readBatches(r: JsonReader, markets: readonly PublisherMarketConfig[]): PublisherBatchConfig[] {
  const configured = new Map(markets.map((m, index) => [m.market, { market: m, index }]));
  const labels = new Map<string, { batch: string; index: number }>();
  return r.items().map((b, index) => {
    b.onlyKeys(["batch", "markets"]);
    const label = b.at("batch");
    const batch = label.string();
    if (!BATCH_LABEL.test(batch)) {
      label.error(
        `expected a label of 1 to 31 letters, digits, ".", "_" or "-", starting with a letter or digit, ` +
          `got ${JSON.stringify(batch)}`,
      );
    }
    // Archive directories must differ on case-insensitive file systems too.
    const same = labels.get(batch.toLowerCase());
    if (same !== undefined) {
      const ignoringCase = same.batch === batch ? "" : ` (${JSON.stringify(same.batch)}; labels ignore case)`;
      label.error(
        `duplicate batch ${JSON.stringify(batch)}: already batches[${same.index}].batch${ignoringCase}`,
      );
    }
    labels.set(batch.toLowerCase(), { batch, index });

    const list = b.at("markets");
    const items = list.items();
    if (items.length < BATCH_MARKETS.min || items.length > BATCH_MARKETS.max) {
      list.error(
        `expected ${BATCH_MARKETS.min} to ${BATCH_MARKETS.max} markets, got ${items.length}` +
          (items.length === 0 ? "" : ` (${JSON.stringify(list.raw())})`),
      );
    }
    const seen = new Map<string, number>();
    let first: { market: PublisherMarketConfig; index: number } | undefined;
    const names = items.map((item, j) => {
      const market = item.string();
      const found =
        configured.get(market) ??
        item.error(
          `${JSON.stringify(market)} is not one of this config's markets (${[...configured.keys()].join(", ")})`,
        );
      const twice = seen.get(market);
      if (twice !== undefined)
        item.error(`duplicate market ${JSON.stringify(market)}: already batches[${index}].markets[${twice}]`);
      seen.set(market, j);
      const reference = (first ??= found);
      if (found.market.intervalMs !== reference.market.intervalMs) {
        item.error(
          `${JSON.stringify(market)} has bars of ${found.market.intervalMs} ms (markets[${found.index}].intervalMs), ` +
            `but ${JSON.stringify(reference.market.market)} has bars of ${reference.market.intervalMs} ms ` +
            `(a batch's markets share one bar interval)`,
        );
      }
      return market;
    });
    return { batch, markets: names };
  });
}

/** The market label as a field element; the label rules are `marketIdOf`'s. */
function marketIdIn(r: JsonReader, market: string): bigint {
  const problem = marketLabelProblem(market);
  return problem === undefined ? marketIdOf(market) : r.error(problem);
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
    batches: cfg.batches.map((b) => ({ batch: b.batch, markets: [...b.markets] })),
  };
}
