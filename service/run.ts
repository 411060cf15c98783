/**
 * `zkrisk serve`: load the config, open the job store, start the service and its HTTP API, and shut down
 * gracefully on SIGTERM or SIGINT (stop taking work, finish or re-queue in-flight jobs, exit 0).
 */
import { hostname } from "node:os";
import pino, { type Logger } from "pino";
import type { FastifyInstance } from "fastify";
import { buildApi } from "./api";
import { loadServiceConfig, type ServiceConfig } from "./config";
import { redactedConfig } from "./redaction";
import { apiTokenHashes } from "./secrets";
import type { JobStore } from "./jobs";
import { LocalDispatcher, type Dispatcher } from "./dispatcher";
import { publisherSetOf } from "./markets";
import { publisherSetCommitment } from "../publisher/publisher-set";
import { ProverService } from "./service";
import { RedisDispatcher } from "./redis-queue";
import { redactUrlPassword } from "../core/url";
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

/** Start a service from a loaded config (used by the CLI and by tests); `queue` selects Redis mode. */
export async function startService(
  cfg: ServiceConfig,
  log: Logger,
  graceMs = 30_000,
  queue?: string,
): Promise<RunningService> {
  const tokenHashes = apiTokenHashes(cfg.auth);
  const holder = `${hostname()}:${process.pid}`;
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
    log.info({ queue: redactUrlPassword(queue) }, "jobs shared over Redis");
  } else {
    const sqlite = SqliteJobStore.open(cfg.database);
    try {
      sqlite.claimService({ holder, host: hostname(), pid: process.pid }, Date.now(), OWNER_STALE_MS);
    } catch (err) {
      await sqlite.close();
      throw err;
    }
    store = sqlite;
    dispatcher = new LocalDispatcher({ store, holder, concurrency: cfg.concurrency, log });
  }
  const service = new ProverService({ config: cfg, store, dispatcher, holder, log });
  let api: FastifyInstance | undefined;
  try {
    api = await buildApi(service, {
      tokenHashes,
      bodyLimitBytes: cfg.api.bodyLimitBytes,
      rateLimitPerMinute: cfg.api.rateLimitPerMinute,
      log,
    });
    // The API answers (health, readiness 503) while the service loads and settles.
    await api.listen({ host: cfg.listen.host, port: cfg.listen.port });
    await service.start();
  } catch (err) {
    await api?.close();
    await service.stop(0).catch(() => undefined);
    throw err;
  }
  const address = api.server.address();
  const url =
    typeof address === "object" && address ? `http://${cfg.listen.host}:${address.port}` : String(address);
  log.info({ url, holder: service.holder, markets: [...service.markets.keys()] }, "service ready");
  let stopping: Promise<void> | undefined;
  return {
    service,
    api,
    url,
    stop: () =>
      (stopping ??= (async () => {
        log.info("shutting down: no new work; finishing in-flight jobs");
        const closing = api!.close();
        const r = await service.stop(graceMs);
        await closing;
        log.info(r, "stopped");
      })()),
  };
}

/**
 * The config as `--check` prints it (`redactedConfig`), each market's and batch's publisher set file read: its
 * quorum, number of keys and commitment (what the oracle must register for the market, or every market of the
 * batch).
 * @throws ConfigError naming the config file, the market's field and the set file.
 */
export async function checkedConfig(cfg: ServiceConfig): Promise<Record<string, unknown>> {
  const shown = redactedConfig(cfg);
  for (const list of ["markets", "batches"] as const) {
    const entries = shown[list] as { publishers: Record<string, unknown> }[];
    for (const [i, m] of cfg[list].entries()) {
      const set = await publisherSetOf(m, `${cfg.file}: ${list}[${i}].publishers.set`);
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
  const log = pino({ level: opts.logLevel ?? "info", base: { pid: process.pid } });
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
