/**
 * Benchmark of the prover service (`npm run bench:service`): a local `hardhat node` with the market and its
 * publisher set registered, one `zkrisk publisher serve` instance in process (the INSECURE development
 * publisher key of the demo) signing the bars of a candle file, the service started in process (SQLite store,
 * real proving pool, the signed-update circuit with k = 1) once per pool size, and a bounded load on its API
 * over loopback (bench/service-load.ts). Reports proofs per minute and the latency from request to proof
 * (p50, p95) per pool size, and the time from a bar's close to its update confirmed on chain.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { JsonRpcProvider } from "ethers";
import pino from "pino";
import { loadServiceConfig } from "../service/config";
import { jobIdOf } from "../service/jobs";
import { startService } from "../service/run";
import { makePublisherSet, writePublisherSet } from "../publisher";
import { DEV_PUBLISHER_PASSWORD, devPublisherKey } from "../publisher/dev-key";
import { parsePublisherConfig, startPublisher } from "../publisher/serve";
import { DEMO_CACHE, signedProvingArtifacts } from "../setup/cached-artifacts";
import { DEV_KEYS, startHardhatNode } from "../onchain/hardhat-node";
import { CandleFeed, closeBar, deployMarket, FEED_START, MARKET } from "../onchain/local-market";
import { runLoad, type LoadReport } from "./service-load";
import type { SetupLog } from "../setup";

/** What to measure. */
export interface ServiceBenchOptions {
  model: string;
  /** Pool sizes (proofs in flight) to measure, one service run each. */
  concurrency: number[];
  requests: number;
  /** Requests in flight at once. */
  parallel: number;
  /** Distinct bars asked for (each asked `requests / bars` times). */
  bars: number;
  log: SetupLog;
}

/** One pool size's figures. */
export interface ServiceBenchRun extends LoadReport {
  poolThreads: number;
  /**
   * One scheduled update with nothing else queued: from the block that closes the bar to the update
   * confirmed on chain (windows fetched, proof, dry run, transaction, receipt), ms.
   */
  closeToConfirmedMs: number;
}

/** The whole report. */
export interface ServiceBenchReport {
  machine: { cpus: number; cpuModel: string; node: string };
  method: string;
  runs: ServiceBenchRun[];
}

const TOKEN = "bench-token-0123456789abcdef";

/** Run the benchmark. */
export async function runServiceBench(o: ServiceBenchOptions): Promise<ServiceBenchReport> {
  const { dir: artifacts } = await signedProvingArtifacts({ model: o.model, mode: "constant", log: o.log });
  const dev = await devPublisherKey(DEMO_CACHE, (m) => o.log.warn(m));
  const node = await startHardhatNode();
  const provider = new JsonRpcProvider(node.rpc, undefined, { cacheTimeout: -1 });
  const work = mkdtempSync(join(tmpdir(), "zkrisk-service-bench-"));
  const runs: ServiceBenchRun[] = [];
  const feed = new CandleFeed(join(work, "candles.csv"), FEED_START);
  // Signs the bars asked for (the `bars` before the newest) and, later, each bar appended.
  const publisher = await startPublisher(
    parsePublisherConfig(
      {
        key: dev.keystore,
        archive: "archive",
        pollSeconds: 3600,
        listen: { host: "127.0.0.1", port: 0 },
        markets: [
          {
            market: MARKET,
            intervalMs: 7_200_000,
            source: { csv: feed.path },
            backfillBars: o.bars + 1,
          },
        ],
      },
      join(work, "publisher.json"),
      work,
    ),
    pino({ level: "silent" }),
    { env: { ZKRISK_PUBLISHER_PASSWORD: DEV_PUBLISHER_PASSWORD } },
  );
  try {
    await publisher.poll();
    const set = await makePublisherSet([dev.key.publicKey], 1);
    const setFile = join(work, "publishers.json");
    writePublisherSet(setFile, set);
    const { oracle } = await deployMarket(node.rpc, artifacts, set, o.model);
    process.env.ZKRISK_BENCH_KEY = DEV_KEYS[1];
    process.env.ZKRISK_BENCH_TOKEN = TOKEN;
    for (const threads of o.concurrency) {
      const dir = mkdtempSync(join(work, `pool-${threads}-`));
      const config = join(dir, "service.json");
      writeFileSync(
        config,
        JSON.stringify({
          markets: [
            {
              id: MARKET,
              model: o.model,
              artifacts,
              publishers: { set: setFile, urls: [publisher.url] },
            },
          ],
          chain: { rpc: node.rpc, oracle, key: { env: "ZKRISK_BENCH_KEY" } },
          schedule: { pollSeconds: 0.2 },
          concurrency: threads,
          listen: { host: "127.0.0.1", port: 0 },
          auth: { tokens: [{ env: "ZKRISK_BENCH_TOKEN" }] },
          database: join(dir, "jobs.db"),
          // the load asks for many bars at once, some older than the default week
          api: {
            rateLimitPerMinute: 1_000_000,
            maxPendingJobsPerMarket: 10_000,
            maxBarAgeSeconds: 365 * 86_400,
          },
        }),
      );
      const running = await startService(loadServiceConfig(config), pino({ level: "silent" }));
      try {
        // The first service proves and submits the newest bar at start: wait for it to be done.
        if (runs.length === 0) {
          await waitForStatus(running.url, jobIdOf(MARKET, feed.lastTimestamp), ["confirmed"]);
        }
        // One scheduled update alone: a new bar, signed, then closed by the chain's clock.
        const bar = feed.append();
        await publisher.poll();
        const t0 = performance.now();
        await closeBar(provider, bar);
        await waitForStatus(running.url, jobIdOf(MARKET, bar), ["confirmed"]);
        const closeToConfirmedMs = performance.now() - t0;
        o.log.info(
          `service with ${threads} proving thread(s): ${o.requests} requests, ${o.parallel} at once`,
        );
        // Bars the publisher signed at its start, before the one scheduled at the first service's start.
        const timestamps = Array.from({ length: o.bars }, (_, i) => bar - (i + 2) * 7200);
        const report = await runLoad({
          url: running.url,
          token: TOKEN,
          market: MARKET,
          timestamps,
          requests: o.requests,
          concurrency: o.parallel,
        });
        runs.push({ poolThreads: threads, closeToConfirmedMs, ...report });
      } finally {
        await running.stop();
      }
    }
  } finally {
    await publisher.stop();
    provider.destroy();
    node.stop();
    rmSync(work, { recursive: true, force: true });
  }
  return {
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? "unknown", node: process.version },
    method:
      "zkrisk serve in process (SQLite store, piscina proving threads, signed-update circuit k = 1, constant " +
      "weights) against a local hardhat node, its windows from one zkrisk publisher serve on loopback. First " +
      "one scheduled update alone: a new bar signed by the publisher, then a block at its close; time to the " +
      "update confirmed on chain. Then POST /v1/proofs over loopback with bearer auth, each bar asked for " +
      "requests/bars times; every job polled until final. Latency: first request for a bar to its proof. " +
      "Proofs per minute: proofs made / time from the first request to the last proof.",
    runs,
  };
}

/** Poll `GET /v1/proofs/:id` until the job is in one of `statuses`; a final other status is an error. */
async function waitForStatus(url: string, id: string, statuses: string[]): Promise<void> {
  for (;;) {
    const r = await fetch(`${url}/v1/proofs/${id}`);
    if (r.ok) {
      const job = (await r.json()) as { status: string; reason: string | null };
      if (statuses.includes(job.status)) return;
      if (["skipped", "rejected", "failed"].includes(job.status)) {
        throw new Error(`job ${id} ended ${job.status}: ${job.reason}`);
      }
    }
    await new Promise((done) => setTimeout(done, 100));
  }
}
