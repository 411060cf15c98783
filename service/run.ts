/**
 * `zkrisk serve`: load the config, open the job store, start the service and its HTTP API, and shut down
 * gracefully on SIGTERM or SIGINT (stop taking work, finish or re-queue in-flight jobs, exit 0). The API
 * treats connections as core/json-api.ts says (`HTTP_LIMITS`); on shutdown its connections are closed within
 * the grace, whatever the clients do.
 */
import { existsSync, rmSync } from "node:fs";
import { hostname } from "node:os";
import pino, { type Logger } from "pino";
import type { FastifyInstance } from "fastify";
import { buildApi } from "./api";
import {
  checkListenAddress,
  HTTP_LIMITS,
  listenJsonApi,
  setHttpLimits,
  type HttpLimits,
} from "../core/json-api";
import { loadServiceConfig, type ServiceConfig } from "./config";
import { redactedConfig } from "./redaction";
import { apiTokenHashes, loadSignerKey } from "./secrets";
import type { JobStore } from "./jobs";
import { LocalDispatcher, type Dispatcher } from "./dispatcher";
import { loadMarketFiles } from "./markets";
import { loadBatchFiles } from "./batches";
import { publisherSetCommitment, type PublisherSet } from "../publisher/publisher-set";
import { ProverService } from "./service";
import { RedisDispatcher } from "./redis-queue";
import { redactUrl } from "../core/url";
import { RedisJobStore } from "./redis-store";
import { SqliteJobStore } from "./sqlite-store";

/** Options of `zkrisk serve`. */
export interface ServeOptions {
  config: string;
  logLevel?: string;
  /** Seconds to let in-flight jobs finish on SIGTERM before re-queueing them. */
  graceSeconds?: number;
  /** Only validate the config and print it (redacted). */
  check?: boolean;
  /** `redis://...`: share jobs with other processes over BullMQ on Redis (default: the embedded store). */
  queue?: string;
}

/** A started service with its API listening. */
export interface RunningService {
  service: ProverService;
  api: FastifyInstance;
  /** `http://host:port` the API listens on. */
  url: string;
  stop(): Promise<void>;
}

/** A service on another host whose heartbeat is older than this no longer holds its SQLite file, ms. */
export const OWNER_STALE_MS = 60_000;

/** Redis key prefix of the shared store and queue. */
export const REDIS_PREFIX = "zkrisk";

/**
 * Start a service from a loaded config (used by the CLI and by tests); `queue` selects Redis mode,
 * `limits` replace `HTTP_LIMITS` for the API (tests pass small ones). On stop, the requests the API is
 * answering get at most `graceMs` (and `HTTP_LIMITS.closeDrainMs`), in-flight jobs `graceMs`.
 * @throws ConfigError naming `listen.host` or `listen.port` when the API cannot listen there (the store is
 *   closed again, and a SQLite file this start made removed, as for any failed start).
 */
export async function startService(
  cfg: ServiceConfig,
  log: Logger,
  graceMs = 30_000,
  queue?: string,
  limits: Partial<HttpLimits> = {},
): Promise<RunningService> {
  const tokenHashes = apiTokenHashes(cfg.auth);
  const holder = `${hostname()}:${process.pid}`;
  /** Whether this run made the SQLite file: a start that fails removes it again. */
  let createdDatabase = false;
  let store: JobStore;
  let dispatcher: Dispatcher;
  if (queue) {
    store = await RedisJobStore.open(queue, { prefix: REDIS_PREFIX });
    dispatcher = new RedisDispatcher({
      url: queue,
      prefix: REDIS_PREFIX,
      store,
      holder,
      concurrency: cfg.concurrency,
      lockMs: cfg.queue.lockSeconds * 1000,
      leaseMs: cfg.queue.leaseSeconds * 1000,
      log,
    });
    log.info({ queue: redactUrl(queue) }, "jobs shared over Redis");
  } else {
    createdDatabase = !existsSync(cfg.database);
    const sqlite = SqliteJobStore.open(cfg.database);
    try {
      sqlite.claimService({ holder, host: hostname(), pid: process.pid }, Date.now(), OWNER_STALE_MS, (p) =>
        p.lost
          ? log.error(
              { database: cfg.database },
              "another zkrisk serve holds the database now (this one's heartbeat went stale): stop one of them",
            )
          : log.warn(
              { database: cfg.database, err: p.error?.message },
              "database heartbeat failed; retrying",
            ),
      );
    } catch (err) {
      await sqlite.close();
      if (createdDatabase) removeDatabase(cfg.database);
      throw err;
    }
    store = sqlite;
    dispatcher = new LocalDispatcher({ store, holder, concurrency: cfg.concurrency, log });
  }
  const service = new ProverService({ config: cfg, store, dispatcher, holder, log });
  let api: FastifyInstance | undefined;
  let url: string;
  try {
    api = await buildApi(service, {
      tokenHashes,
      bodyLimitBytes: cfg.api.bodyLimitBytes,
      rateLimitPerMinute: cfg.api.rateLimitPerMinute,
      log,
    });
    // HTTP connections never extend the grace of in-flight jobs.
    setHttpLimits(api, { closeDrainMs: Math.min(graceMs, HTTP_LIMITS.closeDrainMs), ...limits });
    // The API answers (health, readiness 503) while the service loads and settles.
    url = await listenJsonApi(api, cfg);
    await service.start();
  } catch (err) {
    await api?.close();
    await service.stop(0).catch(() => undefined);
    if (createdDatabase) removeDatabase(cfg.database);
    throw err;
  }
  log.info({ url, holder: service.holder, markets: [...service.markets.keys()] }, "service ready");
  let stopping: Promise<void> | undefined;
  return {
    service,
    api,
    url,
    stop: () =>
      (stopping ??= (async () => {
        log.info("shutting down: no new work; finishing in-flight jobs");
        // Bounded: the requests being answered get the drain set above; idle and slow clients are closed.
        const closing = api!.close();
        const r = await service.stop(graceMs);
        await closing;
        log.info(r, "stopped");
      })()),
  };
}

/** Remove a SQLite job database this run created (and its WAL files) after a failed start. */
function removeDatabase(path: string): void {
  for (const suffix of ["", "-wal", "-shm", "-journal"]) rmSync(path + suffix, { force: true });
}

/**
 * Load and check every file the service reads at start, short of the chain (markets.ts `loadMarketFiles`,
 * batches.ts `loadBatchFiles`: models, artifacts against their manifests, circuit facts, publisher sets), in
 * config order; `serve` does this before it opens its job store, `--check` before it prints the config.
 * @returns each market's and batch's publisher set, in config order.
 * @throws ConfigError naming the config file, the field (`markets[0].model`) and the file at fault.
 */
export async function checkServiceFiles(
  cfg: ServiceConfig,
): Promise<{ markets: PublisherSet[]; batches: PublisherSet[] }> {
  const markets: PublisherSet[] = [];
  for (const i of cfg.markets.keys()) markets.push((await loadMarketFiles(cfg, i)).publishers);
  const batches: PublisherSet[] = [];
  for (const i of cfg.batches.keys()) batches.push((await loadBatchFiles(cfg, i)).publishers);
  return { markets, batches };
}

/**
 * The config as `--check` prints it (`redactedConfig`), after `listen.host` was found to be an address of this
 * machine (not that the port is free: a running service may hold it), every file the service loads at start
 * was checked (`checkServiceFiles`) and the secrets it reads at start were read (API tokens given by variable, the
 * submitting key: its variable, or its keystore decrypted), with each market's and batch's publisher set: its quorum, number of keys and
 * commitment (what the oracle must register for the market, or every market of the batch).
 * @throws ConfigError naming the config file, the field and the file at fault, or the variable (never a value),
 *   or `listen.host` and its value.
 */
export async function checkedConfig(cfg: ServiceConfig): Promise<Record<string, unknown>> {
  const shown = redactedConfig(cfg);
  await checkListenAddress(cfg, { port: false });
  const sets = await checkServiceFiles(cfg);
  // The secrets serve reads at start too (never shown): API tokens from their variables, the submitting key.
  apiTokenHashes(cfg.auth);
  await loadSignerKey(cfg.chain);
  for (const list of ["markets", "batches"] as const) {
    const entries = shown[list] as { publishers: Record<string, unknown> }[];
    for (const i of cfg[list].keys()) {
      const set = sets[list][i];
      Object.assign(entries[i].publishers, {
        quorum: set.quorum,
        keys: set.keys.length,
        commitment: (await publisherSetCommitment(set)).toString(),
      });
    }
  }
  return shown;
}

/** Run the service until SIGTERM/SIGINT. */
export async function serve(opts: ServeOptions): Promise<void> {
  const cfg = loadServiceConfig(opts.config);
  if (opts.check) {
    process.stdout.write(JSON.stringify(await checkedConfig(cfg), null, 2) + "\n");
    return;
  }
  // Every file is checked before the store is opened or the port bound: a bad one leaves nothing behind.
  await checkServiceFiles(cfg);
  // Logs are JSON lines on stderr, as for `publisher serve`: stdout carries only what a command prints.
  const log = pino(
    { level: opts.logLevel ?? "info", base: { pid: process.pid } },
    pino.destination({ dest: 2, sync: true }),
  );
  log.info({ config: redactedConfig(cfg) }, "starting");
  const running = await startService(cfg, log, (opts.graceSeconds ?? 30) * 1000, opts.queue);
  await new Promise<void>((done) => {
    const onSignal = (signal: NodeJS.Signals) => {
      log.info({ signal }, "signal received");
      running.stop().then(done, (err: Error) => {
        log.error({ err: err.message }, "shutdown failed");
        process.exitCode = 1;
        done();
      });
    };
    process.once("SIGTERM", onSignal);
    process.once("SIGINT", onSignal);
  });
  // Everything is closed; a handle a library left open must not keep a stopped service alive.
  setTimeout(() => process.exit(), 2_000).unref();
}
