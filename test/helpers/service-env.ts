/**
 * The prover service in tests: the local market (onchain/local-market.ts) with its publishers (in-process
 * `zkrisk publisher serve` instances over one growing candle file) and publisher set, a service config
 * pointing at them, the test's secrets, and helpers that follow a job through the API and read accepted
 * updates on chain.
 */
import { writeFileSync } from "node:fs";
import pino, { type Logger } from "pino";
import { expect } from "vitest";
import { QuorumError } from "../../service/publisher-windows";
import { join } from "node:path";
import { marketIdOf } from "../../candles/market-id";
import { Transaction, type Provider, type Wallet } from "ethers";
import { oracleAt } from "../../onchain/oracle";
import { makePublisherSet, writePublisherSet, type PublisherSet } from "../../publisher";
import { CandleFeed, closeBar, deployMarket, FEED_START, MARKET } from "../../onchain/local-market";
import { signedUpdateArtifacts } from "../../setup/cached-artifacts";
import { MODEL } from "./artifacts";
import { DEV_KEYS } from "./hardhat-node";
import { startTestPublisher, type TestPublisher } from "./publisher-serve";
import type { JobRecord, JobStore } from "../../service/jobs";
import { hostname } from "node:os";
import { LocalDispatcher } from "../../service/dispatcher";
import { ProverService } from "../../service/service";
import type { ServiceConfig } from "../../service/config";

export {
  BAR_SECONDS,
  CandleFeed,
  closeBar,
  deployMarket,
  FEED_START,
  MARKET,
} from "../../onchain/local-market";

/** The API token of the test configs (and its environment variable). */
export const TOKEN = "test-token-0123456789abcdef";
export const TOKEN_ENV = "ZKRISK_TEST_API_TOKEN";
export const KEY_ENV = "ZKRISK_TEST_PROVER_KEY";

/** Write a service config into `dir`; returns its path. */
export function writeServiceConfig(
  dir: string,
  o: {
    rpc: string;
    oracle: string;
    /** A signed-update artifact directory. */
    artifacts: string;
    /** The market's publisher set file, its publishers' base URLs, and optionally their timeout and wait. */
    publishers: { set: string; urls: string[]; timeoutMs?: number; waitSeconds?: number };
    port?: number;
    concurrency?: number;
    pollSeconds?: number;
    maxAttempts?: number;
    /** Further `chain` settings (e.g. `replaceAfterSeconds`, `gasPriceCeilingGwei`). */
    chain?: Record<string, unknown>;
    /** Redis mode's lock and lease, seconds. */
    queue?: { lockSeconds: number; leaseSeconds: number };
  },
): string {
  const path = join(dir, "service.json");
  writeFileSync(
    path,
    JSON.stringify(
      {
        markets: [
          {
            id: MARKET,
            model: MODEL,
            artifacts: o.artifacts,
            publishers: o.publishers,
          },
        ],
        chain: {
          rpc: o.rpc,
          oracle: o.oracle,
          key: { env: KEY_ENV },
          retryBaseMs: 200,
          ...(o.maxAttempts ? { maxAttempts: o.maxAttempts } : {}),
          ...o.chain,
        },
        schedule: { pollSeconds: o.pollSeconds ?? 0.2 },
        concurrency: o.concurrency ?? 2,
        ...(o.queue ? { queue: o.queue } : {}),
        listen: { host: "127.0.0.1", port: o.port ?? 0 },
        auth: { tokens: [{ env: TOKEN_ENV }] },
        database: join(dir, "jobs.db"),
        // Tests poll the API every few milliseconds.
        api: { rateLimitPerMinute: 100_000 },
      },
      null,
      2,
    ),
  );
  return path;
}

/** Environment of a service process in tests: the prover's key (account #1) and the API token. */
export const SERVICE_ENV = { [KEY_ENV]: DEV_KEYS[1], [TOKEN_ENV]: TOKEN };

/** Data timestamps of the market's accepted updates on chain, in order. */
export async function acceptedTimestamps(provider: Provider, oracle: string): Promise<number[]> {
  const o = oracleAt(oracle, provider);
  const events = await o.queryFilter(o.filters.SignedParametersUpdated(marketIdOf(MARKET)), 0);
  return events.map((e) => Number((e as unknown as { args: { dataTimestamp: bigint } }).args.dataTimestamp));
}

/** A job as the API shows it (the fields tests look at). */
export interface JobView {
  id: string;
  status: string;
  reason: string | null;
  worker: string | null;
  transaction: { hash: string } | null;
  history: { at: string; event: string; message: string }[];
}

/** Poll `GET /v1/proofs/:id` until the job has `status`; the error carries `logs()` (the service's log). */
export async function waitForJob(
  url: string,
  id: string,
  status: string,
  logs: () => string,
  timeoutMs = 180_000,
): Promise<JobView> {
  const t0 = Date.now();
  let last: JobView | undefined;
  while (Date.now() - t0 < timeoutMs) {
    const r = await fetch(`${url}/v1/proofs/${id}`).catch(() => undefined);
    last = r?.ok ? ((await r.json()) as JobView) : undefined;
    if (last?.status === status) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`job ${id} not ${status}: ${JSON.stringify(last)}\nservice log:\n${logs()}`);
}

/**
 * Poll the job store until job `id` satisfies `done`; the error names `what` it was waited for, the job as last
 * read and `logs()` (the service's log).
 */
export async function waitForStoredJob(
  store: Pick<JobStore, "get">,
  id: string,
  done: (job: JobRecord) => boolean,
  what: string,
  logs: () => string,
  timeoutMs: number,
  pollMs: number,
): Promise<JobRecord> {
  const t0 = Date.now();
  for (;;) {
    const job = await store.get(id);
    if (job && done(job)) return job;
    if (Date.now() - t0 > timeoutMs)
      throw new Error(`job ${id} not ${what}: ${JSON.stringify(job)}\n${logs()}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** A market with its publishers, its publisher set on chain and the signed-update artifacts. */
/**
 * The parts of a service config that name a signed market from {@link startSignedMarket}: its oracle, its artifacts
 * and its publishers (set file and URLs), for {@link writeServiceConfig}.
 */
export function marketServiceParts(market: Pick<SignedMarket, "oracle" | "artifacts" | "setFile" | "urls">): {
  oracle: string;
  artifacts: string;
  publishers: { set: string; urls: string[] };
} {
  return {
    oracle: market.oracle,
    artifacts: market.artifacts,
    publishers: { set: market.setFile, urls: market.urls },
  };
}

export interface SignedMarket {
  /** The candle file all publishers read. */
  feed: CandleFeed;
  publishers: TestPublisher[];
  set: PublisherSet;
  /** The publisher set file. */
  setFile: string;
  /** The publishers' base URLs, in order. */
  urls: string[];
  /** Signed-update artifacts (constant weights, quorum k; cached). */
  artifacts: string;
  oracle: string;
  chainId: bigint;
  /**
   * Append the next bar to the feed, have every running publisher sign it, and mine a block at its close (so
   * the service schedules it). Returns its open time (s).
   */
  nextBar(provider: { send(method: string, params: unknown[]): Promise<unknown> }): Promise<number>;
  /** Stop publisher `i` (0-based): its port closes, and `nextBar` no longer polls it. */
  stopPublisher(i: number): Promise<void>;
  /** Stop the publishers still running. */
  stop(): Promise<void>;
}

/**
 * Publishers 1..n (test keys 1..n) over one feed that ends at FEED_START, each signing its newest
 * `backfillBars` bars; their set with quorum `quorum` written to `dir/publishers.json` and registered with
 * the market on a fresh oracle on `rpc`, with the verifier of the cached signed-update artifacts.
 */
export async function startSignedMarket(
  dir: string,
  rpc: string,
  o: { publishers: number; quorum: number; backfillBars?: number },
): Promise<SignedMarket> {
  const { dir: artifacts } = await signedUpdateArtifacts(MODEL, "constant", o.quorum);
  const feed = new CandleFeed(join(dir, "candles.csv"), FEED_START);
  const publishers: TestPublisher[] = [];
  for (let n = 1; n <= o.publishers; n++) {
    publishers.push(await startTestPublisher(dir, n, feed.path, { backfillBars: o.backfillBars }));
  }
  const set = await makePublisherSet(
    publishers.map((p) => p.key.publicKey),
    o.quorum,
  );
  const setFile = join(dir, "publishers.json");
  writePublisherSet(setFile, set);
  const { oracle, chainId } = await deployMarket(rpc, artifacts, set);
  const stopped = new Set<TestPublisher>();
  return {
    feed,
    publishers,
    set,
    setFile,
    urls: publishers.map((p) => p.url),
    artifacts,
    oracle,
    chainId,
    async nextBar(provider) {
      const t = feed.append();
      for (const p of publishers) if (!stopped.has(p)) await p.publisher.poll();
      await closeBar(provider, t);
      return t;
    },
    async stopPublisher(i) {
      stopped.add(publishers[i]);
      await publishers[i].publisher.stop();
    },
    async stop() {
      await Promise.all(publishers.map((p) => p.publisher.stop()));
    },
  };
}

/** A pino logger keeping its JSON lines in `into` (a service's log, read by the test). */
export function memoryLogger(into: Record<string, unknown>[]): Logger {
  return pino({ level: "info" }, { write: (l: string) => void into.push(JSON.parse(l)) });
}

/**
 * A prover service in this process on `store` (a local dispatcher, one job at a time, this process as holder),
 * started, its log kept in `lines`, waiting `settleTimeoutMs` for a receipt in each attempt.
 */
export async function startLocalService(
  config: ServiceConfig,
  store: JobStore,
  lines: Record<string, unknown>[],
  settleTimeoutMs: number,
): Promise<ProverService> {
  const log = memoryLogger(lines);
  const holder = `${hostname()}:${process.pid}`;
  const dispatcher = new LocalDispatcher({ store, holder, concurrency: 1, log });
  const service = new ProverService({ config, store, dispatcher, holder, log, settleTimeoutMs });
  await service.start();
  return service;
}

/** The QuorumError a quorum's `collect` throws. */
export async function noQuorum(p: Promise<unknown>): Promise<QuorumError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(QuorumError);
  return err as QuorumError;
}

/** The value of one series on a running service's `/metrics` (0 when the series is absent). */
export async function metricValue(serviceUrl: string, series: string): Promise<number> {
  const text = await (await fetch(`${serviceUrl}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

/**
 * The transaction `raw` (its nonce, call, gas and fees) signed by `wallet` for chain `chainId` instead: one a node
 * of another chain refuses as invalid.
 */
export async function signedForChain(
  wallet: Pick<Wallet, "signTransaction">,
  raw: string,
  chainId: bigint,
): Promise<{ hash: string; raw: string }> {
  const t = Transaction.from(raw);
  const signed = await wallet.signTransaction({
    type: 2,
    chainId,
    nonce: t.nonce,
    to: t.to,
    data: t.data,
    gasLimit: t.gasLimit,
    maxFeePerGas: t.maxFeePerGas,
    maxPriorityFeePerGas: t.maxPriorityFeePerGas,
  });
  return { hash: Transaction.from(signed).hash!, raw: signed };
}
