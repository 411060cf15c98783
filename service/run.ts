/**
 * `zkrisk serve`: load the config, open the job store, start the service and its HTTP API, and shut down
 * gracefully on SIGTERM or SIGINT (stop taking work, finish or re-queue in-flight jobs, exit 0), or the same way
 * but failing (exit 1) when another process took its SQLite file over. In Redis mode the store must hold this
 * deployment's jobs (`deploymentIdentity`), under the config's `queue.prefix`. The API
 * treats connections as core/json-api.ts says (`HTTP_LIMITS`); on shutdown its connections are closed within
 * the grace, whatever the clients do.
 */
import { randomBytes } from "node:crypto";
import { existsSync, rmSync } from "node:fs";
import { hostname } from "node:os";
import { JsonRpcProvider } from "ethers";
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
import { ConfigError, loadServiceConfig, type ServiceConfig } from "./config";
import { SERVICE_DEFAULTS } from "./config-schema";
import { redactedConfig, redactedErrorMessage } from "./redaction";
import { apiTokenHashes, loadSignerKey } from "./secrets";
import { JobStoreError, type JobStore } from "./jobs";
import { LocalDispatcher, type Dispatcher } from "./dispatcher";
import { loadMarketFiles, windowModelOf } from "./markets";
import { modelCommitment } from "../circuits/commitments";
import { ZkriskError } from "../core/errors";
import { LogDestination } from "../core/log-destination";
import { loadBatchFiles } from "./batches";
import { publisherSetCommitment, type PublisherSet } from "../publisher/publisher-set";
import { ProverService } from "./service";
import { RedisDispatcher } from "./redis-queue";
import { redactUrl } from "../core/url";
import { deploymentDifferences, RedisJobStore, type DeploymentIdentity } from "./redis-store";
import { SqliteJobStore } from "./sqlite-store";
import { rpcRequest } from "../onchain/rpc-request";

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
  /**
   * Settles when the service stopped on its own, once stopped: with the reason (another process took its SQLite
   * file over); never otherwise.
   */
  failed: Promise<Error>;
}

/**
 * The heartbeat of a service's claim of its SQLite file is renewed every sixth of this, ms; a claim written by a
 * zkrisk that took no owner lock is honoured until its heartbeat is this old (sqlite-store.ts `claimService`).
 */
export const OWNER_STALE_MS = 60_000;

/** Default Redis key prefix of the shared store and queue (`queue.prefix`). */
export const REDIS_PREFIX = SERVICE_DEFAULTS.queuePrefix;

/**
 * The holder of a start of this process: `host:pid`, which names it to people, and a random start id, which tells
 * it apart from every other start, even one of the same host name and pid (two containers sharing a host name,
 * each running zkrisk as PID 1, or a restart that got the same pid).
 */
export function newHolder(): string {
  return `${hostname()}:${process.pid}:${randomBytes(6).toString("hex")}`;
}

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
  const holder = newHolder();
  /** Whether this run made the SQLite file: a start that fails removes it again. */
  let createdDatabase = false;
  let store: JobStore;
  let dispatcher: Dispatcher;
  /** Called when the service must stop on its own (its SQLite claim was lost). */
  let fail: (err: Error) => void = () => undefined;
  const mustStop = new Promise<Error>((done) => (fail = done));
  if (queue) {
    const identity = await deploymentIdentity(cfg);
    const prefix = cfg.queue.prefix;
    const redis = await RedisJobStore.open(queue, { prefix, log });
    try {
      const other = await redis.recordDeployment(identity);
      if (other !== undefined) {
        throw new ConfigError(
          `${cfg.file}: queue.prefix: the job store "${prefix}" on ${redactUrl(queue)} holds the jobs of another ` +
            `deployment (${deploymentDifferences(other, identity).join("; ")}); every process on a prefix shares ` +
            "its jobs, so each deployment needs its own queue.prefix (or Redis database). If this deployment was " +
            `changed on purpose (a market or model added, removed or replaced), stop all its processes and delete ` +
            `the key ${prefix}:deployment first`,
        );
      }
    } catch (err) {
      await redis.close();
      throw err;
    }
    store = redis;
    dispatcher = new RedisDispatcher({
      url: queue,
      prefix,
      store,
      holder,
      concurrency: cfg.concurrency,
      lockMs: cfg.queue.lockSeconds * 1000,
      leaseMs: cfg.queue.leaseSeconds * 1000,
      log,
    });
    log.info({ queue: redactUrl(queue), prefix }, "jobs shared over Redis");
  } else {
    createdDatabase = !existsSync(cfg.database);
    const sqlite = SqliteJobStore.open(cfg.database);
    try {
      sqlite.claimService({ holder, host: hostname(), pid: process.pid }, Date.now(), OWNER_STALE_MS, (p) =>
        p.lost
          ? fail(
              new JobStoreError(
                `${cfg.database}: another process took this zkrisk serve's claim of the database over: it ` +
                  "stopped (two services on one database would prove and submit the same bars)",
              ),
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
  const stop = () =>
    (stopping ??= (async () => {
      log.info("shutting down: no new work; finishing in-flight jobs");
      // Bounded: the requests being answered get the drain set above; idle and slow clients are closed.
      const closing = api!.close();
      const r = await service.stop(graceMs);
      await closing;
      log.info(r, "stopped");
    })());
  const failed = mustStop.then(async (err) => {
    log.error({ err: err.message }, "stopping: this service can no longer run");
    // The reason stays the claim: a stop that fails too is logged, as after a signal.
    await stop().catch((e: Error) => log.error({ err: e.message }, "shutdown failed"));
    return err;
  });
  return { service, api, url, stop, failed };
}

/** Remove a SQLite job database this run created (and its WAL files) after a failed start. */
function removeDatabase(path: string): void {
  for (const suffix of ["", "-wal", "-shm", "-journal", "-owner"]) rmSync(path + suffix, { force: true });
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
  // Logs are JSON lines on stderr, as for `publisher serve`: stdout carries only what a command prints. A line that
  // cannot be written (stderr on a full disk) is dropped, never thrown from the log call (core/log-destination.ts).
  const log = pino({ level: opts.logLevel ?? "info", base: { pid: process.pid } }, new LogDestination());
  log.info({ config: redactedConfig(cfg) }, "starting");
  const running = await startService(cfg, log, (opts.graceSeconds ?? 30) * 1000, opts.queue);
  const failure = await new Promise<Error | undefined>((done) => {
    const onSignal = (signal: NodeJS.Signals) => {
      log.info({ signal }, "signal received");
      running.stop().then(
        () => done(undefined),
        (err: Error) => {
          log.error({ err: err.message }, "shutdown failed");
          process.exitCode = 1;
          done(undefined);
        },
      );
    };
    process.once("SIGTERM", onSignal);
    process.once("SIGINT", onSignal);
    void running.failed.then(done);
  });
  // Everything is closed; a handle a library left open must not keep a stopped service alive.
  setTimeout(() => process.exit(), 2_000).unref();
  // A service that stopped on its own fails the command (exit code 1, its reason on stderr).
  if (failure !== undefined) throw failure;
}

/**
 * This config's deployment identity (redis-store.ts `DeploymentIdentity`): the chain id (asked of `chain.rpc`),
 * the oracle, and every market's and batch market's model commitment.
 * @throws ZkriskError CHAIN_UNREACHABLE when the node does not answer; ConfigError for a model file.
 */
export async function deploymentIdentity(cfg: ServiceConfig): Promise<DeploymentIdentity> {
  const commitment = async (path: string, field: string, who: string) =>
    (await modelCommitment(windowModelOf(path, `${cfg.file}: ${field}`, who))).toString();
  const markets: Record<string, string> = {};
  for (const [i, m] of cfg.markets.entries()) {
    markets[m.id] = await commitment(m.model, `markets[${i}].model`, `market ${m.id}`);
  }
  const batches: Record<string, Record<string, string>> = {};
  for (const [i, b] of cfg.batches.entries()) {
    batches[b.id] = {};
    for (const m of b.markets) {
      const own = b.marketModels[m.id];
      batches[b.id][m.id] = await commitment(
        own ?? b.model,
        own === undefined ? `batches[${i}].model` : `batches[${i}].marketModels.${m.id}`,
        `market ${m.id}`,
      );
    }
  }
  return {
    chainId: (await chainIdOf(cfg.chain, cfg.file)).toString(),
    oracle: cfg.chain.oracle,
    markets,
    batches,
  };
}

/**
 * The chain id of `chain.rpc`, asked as chain-view.ts asks it (the service connects again when it starts).
 * @throws ZkriskError CHAIN_UNREACHABLE, naming the URL redacted.
 */
async function chainIdOf(chain: ServiceConfig["chain"], file: string): Promise<bigint> {
  const provider = new JsonRpcProvider(rpcRequest(chain.rpc), undefined, {
    staticNetwork: false,
    cacheTimeout: -1,
  });
  try {
    return (await provider.getNetwork()).chainId;
  } catch (err) {
    throw new ZkriskError(
      "CHAIN_UNREACHABLE",
      `${file}: chain.rpc: cannot reach ${redactUrl(chain.rpc)}: ${redactedErrorMessage(err)}`,
    );
  } finally {
    provider.destroy();
  }
}
