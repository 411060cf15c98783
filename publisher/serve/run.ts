/**
 * `zkrisk publisher serve`: load the config, unlock the key (password from ZKRISK_PUBLISHER_PASSWORD), open the
 * archive, serve the HTTP API, then check that the archive is this key's (every file read: about 14 s warm for
 * a year of 8 markets and 2 batches, docs/publisher-service.md), the API answering meanwhile that the
 * publisher is starting (503 for /health, the windows and the batches, with the check's progress), then poll
 * the sources every `pollSeconds`, signing each new window once, then each batch whose markets' windows are all
 * archived at a new bar close, once. On SIGINT or SIGTERM, finish the window or batch in hand (or end the
 * archive check), close the API and return. Connections are treated as core/json-api.ts says (`HTTP_LIMITS`):
 * a flood of them, or slow clients, can neither use up the open files the signing needs nor hold up the
 * shutdown.
 * Log lines are JSON (pino) on stderr; none holds the private key or the password.
 */
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import pino, { type Logger } from "pino";
import type { FastifyInstance } from "fastify";
import type { CandleSeries } from "../../candles/types";
import { candleSourceOf } from "../../feeds";
import { ConfigError } from "../../core/errors";
import { checkListenAddress, listenJsonApi, type HttpLimits } from "../../core/json-api";
import { LogDestination } from "../../core/log-destination";
import type { PublicKey } from "../eddsa";
import { publisherPassword, unlockKeystore } from "../keystore";
import { UnsupportedVersionError } from "../errors";
import { SIGNED_BATCH_VERSION } from "../signed-batch";
import { SIGNED_WINDOW_VERSION } from "../signed-window";
import { ArchiveMismatchError, BatchArchive, WindowArchive, type ScanOptions } from "./archive";
import { BatchSigner, type SignedBatchBar } from "./batch-signer";
import { loadPublisherConfig, redactedPublisherConfig, type PublisherConfig } from "./config";
import { buildPublisherApi, type ArchiveCheckProgress } from "./http";
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
  /** Called once the API listens, before the archive is checked (the API answers "starting" until then). */
  onListening?(listening: { url: string; publicKey: PublicKey }): void;
  /**
   * Stops the start: once aborted, the archive check ends before its next file, the API is closed, and
   * `startPublisher` throws the signal's reason (`servePublisher`: SIGINT or SIGTERM during the check). A stop
   * asked for before the API listens takes effect when the check begins.
   */
  signal?: AbortSignal;
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

/** The archives of a publisher: its windows and its batches. */
interface Archives {
  archive: WindowArchive;
  batchArchive: BatchArchive;
}

/**
 * Checks that the archive holds only this publisher's windows and batches, each the one its file names. The
 * newest window of each market and the newest batch of each batch are verified (digests and signature) as a read
 * does, then every archived file is read (`scan`: its key, its market or markets, its bar interval and the end
 * time its name says, without verifying signatures; measured 0.54 to 0.65 ms a window file and 1.15 to 1.31 ms a
 * batch file, docs/publisher-service.md).
 *
 * One file that is not (another key's, another market's or bar's) stops the start rather than being skipped with
 * a warning: the archive is the publisher's own record of what it signed, served as such and signed again into
 * its batches, so a foreign file in it means someone with write access changed that record, which an operator
 * must look at before the publisher vouches for it again; a skipped file would stay in place, one warning in the
 * log of a start that otherwise looks healthy. The message names the config field or the file, the mismatch and
 * what to do.
 * @param o.onFile called after each file `scan` read (the progress /health shows while starting).
 * @param o.signal ends the check before the next file once aborted.
 * @throws ConfigError naming the config's `archive`, `intervalMs` or batch `markets` and the file (an archive of
 *   an older file version: naming the file and its version); PublisherFileError or SignatureError for an
 *   archived file that does not check; `o.signal`'s reason once it is aborted.
 * @returns the number of window and batch files read.
 */
async function checkArchive(
  cfg: PublisherConfig,
  { archive, batchArchive }: Archives,
  o: ScanOptions = {},
): Promise<{ windows: number; batches: number }> {
  const key = archive.publicKey;
  // An archive of an older file version (windows of digest layout v2) is refused as a whole: its newest window
  // cannot anchor the signer's comparisons (signer.ts) and its files are no longer served.
  const current = async <T>(
    read: Promise<T>,
    foreign: (err: ArchiveMismatchError) => ConfigError,
  ): Promise<T> => {
    try {
      return await read;
    } catch (err) {
      if (err instanceof ArchiveMismatchError) throw foreign(err);
      if (!(err instanceof UnsupportedVersionError)) throw err;
      throw new ConfigError(
        `${cfg.file}: archive: ${err.file}: ${err.reason}. This publisher signs version ` +
          `${SIGNED_WINDOW_VERSION} windows (version ${SIGNED_BATCH_VERSION} batches): give it another archive ` +
          "directory",
      );
    }
  };
  /** The ConfigError of a file that is not this publisher's record of its bar (the config's own cases aside). */
  const foreign = (err: ArchiveMismatchError): ConfigError => {
    if (err.kind === "publicKey") {
      return new ConfigError(
        `${cfg.file}: archive: ${err.file} is signed by another key (Ax ${err.found}); each publisher ` +
          `key keeps its own archive: give this key (Ax ${key.Ax}) another archive directory`,
      );
    }
    return new ConfigError(
      `${cfg.file}: archive: ${err.message}; the archive holds only this publisher's own record of each bar: ` +
        "move the file out of the archive (and find out how it got there)",
    );
  };
  const counts = { windows: 0, batches: 0 };
  for (const [i, m] of cfg.markets.entries()) {
    const refuse = (err: ArchiveMismatchError) =>
      err.kind === "intervalMs"
        ? new ConfigError(
            `${cfg.file}: markets[${i}].intervalMs: ${m.intervalMs}, but the archived windows of ${m.market} have ` +
              `bars of ${err.found} ms (${err.file})`,
          )
        : foreign(err);
    const newest = archive.latest(m.market);
    o.signal?.throwIfAborted();
    if (newest !== undefined) await current(archive.read(m.market, newest), refuse);
    counts.windows += await current(archive.scan(m.market, o), refuse);
  }
  for (const [i, b] of cfg.batches.entries()) {
    const refuse = (err: ArchiveMismatchError) =>
      err.kind === "market"
        ? new ConfigError(
            `${cfg.file}: batches[${i}].markets: ${JSON.stringify(b.markets)}, but the archived batches of ` +
              `${b.batch} hold ${err.found} (${err.file}); a batch label keeps its markets: give this ` +
              `set of markets another label`,
          )
        : foreign(err);
    const newest = batchArchive.latest(b.batch);
    o.signal?.throwIfAborted();
    if (newest !== undefined) await current(batchArchive.read(b.batch, newest), refuse);
    counts.batches += await current(batchArchive.scan(b.batch, o), refuse);
  }
  return counts;
}

/**
 * Opens the archives of the config's markets and batches for the publisher's key `key`, creating their
 * directories unless `create` is false (`--check`, which creates nothing).
 * @throws ConfigError naming the config's `archive` when a directory cannot be created or listed (the archive
 *   became unwritable after the config was loaded, or the config was not loaded by `loadPublisherConfig`).
 */
function openArchives(cfg: PublisherConfig, key: PublicKey, create = true): Archives {
  try {
    return {
      archive: WindowArchive.open(cfg.archive, cfg.markets, key, { create }),
      batchArchive: BatchArchive.open(cfg.archive, cfg.batches, key, { create }),
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
 * the archive, listens, checks the archive, and polls at once and then every `pollSeconds`; it returns once
 * the check passed. While the archive is checked (every file read: `checkArchive`, a minute or two for a year
 * of 8 markets and 2 batches) the API answers, "starting": /health and the window and batch routes 503 with the
 * check's progress (http.ts), `zkrisk_publisher_starting` 1; nothing is signed. A start that fails or is stopped
 * (`options.signal`) after opening the archive closes the API, so nothing is left listening, and removes the
 * archive directory again if it made it and nothing was written there.
 * @throws ConfigError naming `listen.host` or `listen.port` when it cannot listen there (before the key is
 *   unlocked); UsageError when ZKRISK_PUBLISHER_PASSWORD is unset; PublisherFileError for the keystore (or a
 *   wrong password); ConfigError for an archive that cannot be opened (`openArchives`) or is not this
 *   publisher's (see `checkArchive`); `options.signal`'s reason when it was aborted before the check passed.
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
  const archives = openArchives(cfg, key.publicKey);
  const { archive, batchArchive } = archives;
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
  // The archive check's progress, shown while `checking`.
  const progress: ArchiveCheckProgress = {
    filesRead: 0,
    filesTotal:
      cfg.markets.reduce((n, m) => n + archive.count(m.market), 0) +
      cfg.batches.reduce((n, b) => n + batchArchive.count(b.batch), 0),
  };
  let checking = true;
  const api = await buildPublisherApi({
    archive,
    batchArchive,
    metrics,
    markets: cfg.markets.map((m) => m.market),
    batches: cfg.batches,
    publicKey: key.publicKey,
    status: (market) => signer.marketStatus(market),
    batchError: (batch) => batchSigner.lastError(batch),
    starting: () => (checking ? { ...progress } : undefined),
    log,
    limits: options.limits,
  });
  metrics.starting.set(1);
  let url: string;
  try {
    // Listening first: the check grows with the archive, and meanwhile an operator, a monitor or a prover is
    // answered "starting" (with the progress) rather than refused a connection, as by a publisher that is down.
    url = await listenJsonApi(api, cfg);
    options.onListening?.({ url, publicKey: key.publicKey });
    log.info(
      { url, files: progress.filesTotal },
      "listening; checking the archive (/health, windows and batches answer 503 until it passed)",
    );
    const checked = await checkArchive(cfg, archives, {
      signal: options.signal,
      onFile: () => {
        progress.filesRead++;
      },
    });
    log.info(checked, "archive checked: every file is this key's record of its bar");
  } catch (err) {
    // Nothing is left listening; the requests being answered get HTTP_LIMITS.closeDrainMs, as at a stop.
    await api.close();
    if (createdArchive && existsSync(cfg.archive) && !holdsFiles(cfg.archive)) {
      rmSync(cfg.archive, { recursive: true, force: true });
    }
    throw err;
  }
  checking = false;
  metrics.starting.set(0);

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
        try {
          log.error({ err: (err as Error).message }, "poll failed; trying again at the next poll");
        } catch {
          // A logger that throws (servePublisher's never does: core/log-destination.ts) must not end the polling.
        }
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
 * file source (`csv`, a `klines` file) read as a poll reads it, its bars of the market's `intervalMs`, and the
 * archive as a start checks it (`checkArchive`: the newest window of each market and batch of each batch verified,
 * every file this key's record of the bar its name says; so a new key pointed at the old key's archive fails here,
 * not at start), read without creating anything. URL sources are not contacted: a source that is down at start is
 * retried every poll anyway.
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
    let series: CandleSeries;
    try {
      series = await candleSourceOf(m.source).read();
    } catch (err) {
      throw new ConfigError(`${configPath}: markets[${i}].source: ${(err as Error).message}`);
    }
    // as a poll would find (serve/signer.ts): bars of another interval are never signed
    if (series.intervalMs !== m.intervalMs) {
      throw new ConfigError(
        `${configPath}: markets[${i}].intervalMs: ${m.intervalMs}, but the source's bars are ${series.intervalMs} ` +
          `ms apart (${series.source})`,
      );
    }
  }
  const key = await unlockKeystore(cfg.key, publisherPassword(env), onDerive);
  await checkArchive(cfg, openArchives(cfg, key.publicKey, false));
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

/** The first SIGINT or SIGTERM from now on. */
interface StopSignal {
  /** The signal, once received. */
  received: Promise<NodeJS.Signals>;
  /** Aborted when it is received. */
  aborted: AbortSignal;
  /** Stops waiting (a signal has Node's default effect again). */
  dispose(): void;
}

/**
 * Waits for the first SIGINT or SIGTERM, and logs it. Only the first is handled: a second one has Node's default
 * effect (the process ends at once), a way out of a stop that hangs.
 */
function stopSignal(log: Logger): StopSignal {
  const controller = new AbortController();
  let onSignal: (signal: NodeJS.Signals) => void = () => undefined;
  const dispose = () => {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  };
  const received = new Promise<NodeJS.Signals>((done) => {
    onSignal = (signal) => {
      dispose();
      log.info({ signal }, "signal received");
      done(signal);
      controller.abort();
    };
  });
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  return { received, aborted: controller.signal, dispose };
}

/**
 * Runs a publisher until SIGINT or SIGTERM, logging JSON lines on stderr. A line that cannot be written (stderr on a
 * full disk) is dropped and counted in `zkrisk_publisher_log_lines_dropped_total`, never thrown from the log call
 * (core/log-destination.ts): signing needs no log. A signal during the start (the archive check) ends the check
 * and closes the API, and the run returns as after any stop, having signed nothing.
 */
export async function servePublisher(opts: ServePublisherOptions): Promise<PublisherRun> {
  const cfg = loadPublisherConfig(opts.config);
  const log = pino({ level: opts.logLevel ?? "info", base: { pid: process.pid } }, new LogDestination());
  log.info({ config: redactedPublisherConfig(cfg) }, "starting");
  // Before the start: a signal during the archive check ends it cleanly (by default it would end the process).
  const stop = stopSignal(log);
  let listening: { url: string; publicKey: PublicKey } | undefined;
  let running: RunningPublisher;
  try {
    running = await startPublisher(cfg, log, {
      env: opts.env,
      signal: stop.aborted,
      onListening: (l) => {
        listening = l;
      },
    });
  } catch (err) {
    stop.dispose();
    if (listening === undefined || !stop.aborted.aborted || err !== stop.aborted.reason) throw err;
    const stopped = { polls: 0, signed: 0, batches: 0, disagreements: 0 };
    log.info(stopped, "stopped during the archive check");
    return { ...listening, signal: await stop.received, ...stopped };
  }
  const signal = await stop.received;
  const summary = await running.stop();
  return { url: running.url, publicKey: running.publicKey, signal, ...summary };
}
