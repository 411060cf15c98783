/**
 * `zkrisk publisher serve`: load the config, unlock the key (password from ZKRISK_PUBLISHER_PASSWORD), open the
 * archive and check it is this key's, serve the HTTP API, and poll the sources every `pollSeconds`, signing
 * each new window once, then each batch whose markets' windows are all archived at a new bar close, once; on
 * SIGINT or SIGTERM, finish the window or batch in hand, close the API and return. Connections are treated
 * as core/json-api.ts says (`HTTP_LIMITS`): a flood of them, or slow clients, can neither use up the open
 * files the signing needs nor hold up the shutdown.
 * Log lines are JSON (pino) on stderr; none holds the private key or the password.
 */
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import pino, { type Logger } from "pino";
import type { FastifyInstance } from "fastify";
import { candleSourceOf } from "../../feeds";
import { ConfigError } from "../../core/errors";
import { checkListenAddress, listenJsonApi, type HttpLimits } from "../../core/json-api";
import { comparePublicKeys, type PublicKey } from "../eddsa";
import { publisherPassword, unlockKeystore } from "../keystore";
import { UnsupportedVersionError } from "../errors";
import { readSignedBatch, SIGNED_BATCH_VERSION, type SignedBatch } from "../signed-batch";
import { readSignedWindow, SIGNED_WINDOW_VERSION, type SignedWindow } from "../signed-window";
import { BATCHES_DIRECTORY, BatchArchive, marketDirectory, WindowArchive } from "./archive";
import { BatchSigner, type SignedBatchBar } from "./batch-signer";
import { loadPublisherConfig, redactedPublisherConfig, type PublisherConfig } from "./config";
import { buildPublisherApi } from "./http";
import { PublisherMetrics } from "./metrics";
import { WindowSigner, type PollReport } from "./signer";

/** Options of `startPublisher`. */
export interface StartPublisherOptions {
  /** Where ZKRISK_PUBLISHER_PASSWORD is read (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** The clock that says which bars have closed, ms (default `Date.now`). */
  now?: () => number;
  /** Bars per signed window (default WINDOW_BARS). */
  bars?: number;
  /** The API's connection limits other than `HTTP_LIMITS` (core/json-api.ts); tests pass small ones. */
  limits?: Partial<HttpLimits>;
}

/** What a publisher did while it ran. */
export interface PublisherSummary {
  /** Polls completed. */
  polls: number;
  /** Windows signed and archived. */
  signed: number;
  /** Batches signed and archived. */
  batches: number;
  /** Disagreements between a source and the archive, each counted once. */
  disagreements: number;
}

/** What one poll did: the windows (signer.ts) and then the batches (batch-signer.ts). */
export interface PublisherPollReport extends PollReport {
  /** Batches signed in this poll, oldest first per batch. */
  batches: SignedBatchBar[];
}

/** A started publisher with its API listening. */
export interface RunningPublisher {
  config: PublisherConfig;
  /** `http://host:port` the API listens on. */
  url: string;
  publicKey: PublicKey;
  archive: WindowArchive;
  /** The signed batches (`ARCHIVE/_batches/`). */
  batchArchive: BatchArchive;
  metrics: PublisherMetrics;
  api: FastifyInstance;
  /** Polls the sources now and signs what is due, after any poll under way (polls never overlap). */
  poll(): Promise<PublisherPollReport>;
  /** Stops polling (the window or batch in hand is finished and archived), closes the API; idempotent. */
  stop(): Promise<PublisherSummary>;
}

/** The newest archived document of a market or a batch, verified, or undefined when none is archived. */
interface NewestArchived {
  window(market: string): Promise<{ file: string; signed: SignedWindow } | undefined>;
  batch(batch: string): Promise<{ file: string; signed: SignedBatch } | undefined>;
}

/** The newest archived documents of open archives. */
function newestOf(archive: WindowArchive, batchArchive: BatchArchive): NewestArchived {
  return {
    async window(market) {
      const newest = archive.latest(market);
      return newest === undefined ? undefined : archive.read(market, newest);
    },
    async batch(batch) {
      const newest = batchArchive.latest(batch);
      return newest === undefined ? undefined : batchArchive.read(batch, newest);
    },
  };
}

/** The open time (ms) named by the newest `<endTime ms>.json` in `dir`, or undefined (none, or no directory). */
function newestFileIn(dir: string): string | undefined {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  const times = names
    .map((name) => /^(\d{1,15})\.json$/.exec(name))
    .filter((m) => m !== null)
    .map((m) => Number(m[1]));
  return times.length === 0 ? undefined : join(dir, `${Math.max(...times)}.json`);
}

/** The newest archived documents read from the archive's files, creating nothing (for `--check`). */
function newestOnDisk(cfg: PublisherConfig): NewestArchived {
  const byMarket = new Map(cfg.markets.map((m) => [m.market, marketDirectory(m.market, m.marketId)]));
  return {
    async window(market) {
      const file = newestFileIn(join(cfg.archive, byMarket.get(market)!));
      return file === undefined ? undefined : { file, signed: await readSignedWindow(file) };
    },
    async batch(batch) {
      const file = newestFileIn(join(cfg.archive, BATCHES_DIRECTORY, batch));
      return file === undefined ? undefined : { file, signed: await readSignedBatch(file) };
    },
  };
}

/**
 * Checks that the archive holds this publisher's windows and batches: the newest window of each market must
 * carry this key, the market's label and its bar interval, and the newest batch of each batch this key and
 * the batch's markets (each is verified as it is read).
 * @throws ConfigError naming the config's `archive`, `intervalMs` or batch `markets` and the file (an archive of
 *   an older file version: naming the file and its version); PublisherFileError or SignatureError for an
 *   archived file that does not check.
 */
async function checkArchive(cfg: PublisherConfig, archived: NewestArchived, key: PublicKey): Promise<void> {
  const otherKey = (file: string, signer: PublicKey) =>
    new ConfigError(
      `${cfg.file}: archive: ${file} is signed by another key (Ax ${signer.Ax}); each publisher ` +
        `key keeps its own archive: give this key (Ax ${key.Ax}) another archive directory`,
    );
  // An archive of an older file version (windows of digest layout v2) is refused as a whole: its newest window
  // cannot anchor the signer's comparisons (signer.ts) and its files are no longer served.
  const current = async <T>(read: Promise<T>): Promise<T> => {
    try {
      return await read;
    } catch (err) {
      if (!(err instanceof UnsupportedVersionError)) throw err;
      throw new ConfigError(
        `${cfg.file}: archive: ${err.file}: ${err.reason}. This publisher signs version ` +
          `${SIGNED_WINDOW_VERSION} windows (version ${SIGNED_BATCH_VERSION} batches): give it another archive ` +
          "directory",
      );
    }
  };
  for (const [i, m] of cfg.markets.entries()) {
    const newest = await current(archived.window(m.market));
    if (newest === undefined) continue;
    const { file, signed } = newest;
    if (comparePublicKeys(signed.publicKey, key) !== 0) throw otherKey(file, signed.publicKey);
    if (signed.market !== m.market) {
      throw new ConfigError(
        `${cfg.file}: archive: ${file} holds market ${JSON.stringify(signed.market)}, not ${JSON.stringify(m.market)}`,
      );
    }
    if (signed.window.intervalMs !== m.intervalMs) {
      throw new ConfigError(
        `${cfg.file}: markets[${i}].intervalMs: ${m.intervalMs}, but the archived windows of ${m.market} have ` +
          `bars of ${signed.window.intervalMs} ms (${file})`,
      );
    }
  }
  for (const [i, b] of cfg.batches.entries()) {
    const newest = await current(archived.batch(b.batch));
    if (newest === undefined) continue;
    const { file, signed } = newest;
    if (comparePublicKeys(signed.publicKey, key) !== 0) throw otherKey(file, signed.publicKey);
    const held = signed.markets.map((m) => m.market).sort();
    if (JSON.stringify(held) !== JSON.stringify([...b.markets].sort())) {
      throw new ConfigError(
        `${cfg.file}: batches[${i}].markets: ${JSON.stringify(b.markets)}, but the archived batches of ` +
          `${b.batch} hold ${JSON.stringify(held)} (${file}); a batch label keeps its markets: give this ` +
          `set of markets another label`,
      );
    }
  }
}

/**
 * Opens (creating their directories) the archives of the config's markets and batches.
 * @throws ConfigError naming the config's `archive` when a directory cannot be created or listed (the archive
 *   became unwritable after the config was loaded, or the config was not loaded by `loadPublisherConfig`).
 */
function openArchives(cfg: PublisherConfig): { archive: WindowArchive; batchArchive: BatchArchive } {
  try {
    return {
      archive: WindowArchive.open(cfg.archive, cfg.markets),
      batchArchive: BatchArchive.open(cfg.archive, cfg.batches),
    };
  } catch (err) {
    const { code, message } = err as NodeJS.ErrnoException;
    if (typeof code !== "string" || !/^E[A-Z]+$/.test(code)) throw err;
    throw new ConfigError(`${cfg.file}: archive: cannot open ${cfg.archive}: ${message}`);
  }
}

/** Whether the directory `dir` holds a file at any depth (not only directories). */
function holdsFiles(dir: string): boolean {
  return readdirSync(dir, { withFileTypes: true }).some(
    (entry) => !entry.isDirectory() || holdsFiles(join(dir, entry.name)),
  );
}

/**
 * Starts a publisher from a loaded config: checks it can listen where the config says, unlocks the key, opens
 * and checks the archive, listens, and polls at once and then every `pollSeconds`. A start that fails after
 * opening the archive removes the archive directory again if it made it and nothing was written there.
 * @throws ConfigError naming `listen.host` or `listen.port` when it cannot listen there (before the key is
 *   unlocked); UsageError when ZKRISK_PUBLISHER_PASSWORD is unset; PublisherFileError for the keystore (or a
 *   wrong password); ConfigError for an archive that cannot be opened (`openArchives`) or is not this
 *   publisher's (see `checkArchive`).
 */
export async function startPublisher(
  cfg: PublisherConfig,
  log: Logger,
  options: StartPublisherOptions = {},
): Promise<RunningPublisher> {
  // A bad host or a port in use fails here, before the key is unlocked or the archive created; listening
  // below can still fail (another process may take the port meanwhile), and undoes the archive then.
  await checkListenAddress(cfg, { port: true });
  const key = await unlockKeystore(cfg.key, publisherPassword(options.env));
  const createdArchive = !existsSync(cfg.archive);
  const { archive, batchArchive } = openArchives(cfg);
  const metrics = new PublisherMetrics({
    windows: () => Object.fromEntries(cfg.markets.map((m) => [m.market, archive.count(m.market)])),
    batches: () => Object.fromEntries(cfg.batches.map((b) => [b.batch, batchArchive.count(b.batch)])),
    verifications: () => ({ window: archive.verifications, batch: batchArchive.verifications }),
  });
  const markets = cfg.markets.map((m) => ({ ...m, reader: candleSourceOf(m.source) }));
  const signer = new WindowSigner({
    key,
    archive,
    markets,
    metrics,
    log,
    now: options.now,
    bars: options.bars,
  });
  const batchSigner = new BatchSigner({
    key,
    windows: archive,
    batches: batchArchive,
    config: cfg.batches,
    markets: cfg.markets,
    metrics,
    log,
  });
  const api = await buildPublisherApi({
    archive,
    batchArchive,
    metrics,
    markets: cfg.markets.map((m) => m.market),
    batches: cfg.batches,
    publicKey: key.publicKey,
    status: (market) => signer.marketStatus(market),
    batchError: (batch) => batchSigner.lastError(batch),
    log,
    limits: options.limits,
  });
  let url: string;
  try {
    await checkArchive(cfg, newestOf(archive, batchArchive), key.publicKey);
    url = await listenJsonApi(api, cfg);
  } catch (err) {
    await api.close();
    if (createdArchive && existsSync(cfg.archive) && !holdsFiles(cfg.archive)) {
      rmSync(cfg.archive, { recursive: true, force: true });
    }
    throw err;
  }

  const summary: PublisherSummary = { polls: 0, signed: 0, batches: 0, disagreements: 0 };
  let stopping = false;
  let last: Promise<unknown> = Promise.resolve();
  const poll = (): Promise<PublisherPollReport> => {
    const next = last.then(async () => {
      const windows = await signer.poll(() => stopping);
      const report = { ...windows, batches: await batchSigner.sign(() => stopping) };
      summary.polls++;
      summary.signed += report.signed.length;
      summary.batches += report.batches.length;
      summary.disagreements += report.disagreements.length;
      return report;
    });
    last = next.catch(() => undefined);
    return next;
  };
  let wake: (() => void) | undefined;
  const loop = (async () => {
    while (!stopping) {
      try {
        await poll();
      } catch (err) {
        log.error({ err: (err as Error).message }, "poll failed; trying again at the next poll");
      }
      if (stopping) break;
      await new Promise<void>((done) => {
        const timer = setTimeout(done, cfg.pollSeconds * 1000);
        wake = () => {
          clearTimeout(timer);
          done();
        };
      });
    }
  })();
  log.info(
    {
      url,
      publicKey: { Ax: key.publicKey.Ax.toString(), Ay: key.publicKey.Ay.toString() },
      markets: cfg.markets.map((m) => m.market),
      batches: cfg.batches.map((b) => b.batch),
      archive: cfg.archive,
    },
    "publisher ready",
  );

  let stopped: Promise<PublisherSummary> | undefined;
  return {
    config: cfg,
    url,
    publicKey: key.publicKey,
    archive,
    batchArchive,
    metrics,
    api,
    poll,
    stop: () =>
      (stopped ??= (async () => {
        log.info("shutting down: finishing the window or batch in hand");
        stopping = true;
        wake?.();
        await loop;
        await last;
        // Bounded: requests being answered get HTTP_LIMITS.closeDrainMs; idle and slow clients are closed.
        await api.close();
        log.info(summary, "stopped");
        return { ...summary };
      })()),
  };
}

/** What `checkPublisher` prints: the config without secrets and the key's public key. */
export interface PublisherCheck {
  config: Record<string, unknown>;
  publicKey: PublicKey;
}

/**
 * Checks what `servePublisher` would check at start, without listening or signing: the config, that
 * `listen.host` is an address of this machine (not that the port is free: a running publisher may hold it),
 * the keystore unlocked with ZKRISK_PUBLISHER_PASSWORD (a wrong password fails here, not at start), every
 * file source (`csv`, a `klines` file) read as a poll reads it, and the archive's newest window of each market and
 * batch of each batch as a start checks them (this key's, this market's and interval, these markets: so a new key
 * pointed at the old key's archive fails here, not at start), read without creating anything. URL sources are not
 * contacted: a source that is down at start is retried every poll anyway.
 * @throws ConfigError naming the config file and the source's field, `listen.host`, or the archive's file (see
 *   `checkArchive`); UsageError when the password is unset; PublisherFileError for the keystore or a wrong
 *   password, or an archived file that does not check.
 */
export async function checkPublisher(
  configPath: string,
  env: NodeJS.ProcessEnv = process.env,
  onDerive?: () => void,
): Promise<PublisherCheck> {
  const cfg = loadPublisherConfig(configPath);
  await checkListenAddress(cfg, { port: false });
  for (const [i, m] of cfg.markets.entries()) {
    if (m.source.kind !== "csv" && m.source.kind !== "klines-file") continue;
    try {
      await candleSourceOf(m.source).read();
    } catch (err) {
      throw new ConfigError(`${configPath}: markets[${i}].source: ${(err as Error).message}`);
    }
  }
  const key = await unlockKeystore(cfg.key, publisherPassword(env), onDerive);
  await checkArchive(cfg, newestOnDisk(cfg), key.publicKey);
  return { config: redactedPublisherConfig(cfg), publicKey: key.publicKey };
}

/** Options of `servePublisher`. */
export interface ServePublisherOptions {
  config: string;
  /** pino level (default info). */
  logLevel?: string;
  env?: NodeJS.ProcessEnv;
}

/** What a publisher run ends with. */
export interface PublisherRun extends PublisherSummary {
  url: string;
  publicKey: PublicKey;
  /** The signal that stopped it. */
  signal: NodeJS.Signals;
}

/** Runs a publisher until SIGINT or SIGTERM, logging JSON lines on stderr. */
export async function servePublisher(opts: ServePublisherOptions): Promise<PublisherRun> {
  const cfg = loadPublisherConfig(opts.config);
  const log = pino(
    { level: opts.logLevel ?? "info", base: { pid: process.pid } },
    pino.destination({ dest: 2, sync: true }),
  );
  log.info({ config: redactedPublisherConfig(cfg) }, "starting");
  const running = await startPublisher(cfg, log, { env: opts.env });
  const signal = await new Promise<NodeJS.Signals>((done) => {
    const onSignal = (received: NodeJS.Signals) => {
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
      done(received);
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });
  log.info({ signal }, "signal received");
  const summary = await running.stop();
  return { url: running.url, publicKey: running.publicKey, signal, ...summary };
}
