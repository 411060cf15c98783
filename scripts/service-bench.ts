/**
 * Benchmark of the prover service (`npm run bench:service`): a local `hardhat node` with the market
 * registered, the service started in process (SQLite store, real proving pool) once per pool size, and a
 * bounded load on its API over loopback (scripts/service-load.ts). Reports proofs per minute and the latency
 * from request to proof (p50, p95) per pool size.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { loadServiceConfig } from "../prover/service/config";
import { startService } from "../prover/service/run";
import { provingArtifacts } from "./demo";
import { DEV_KEYS, startHardhatNode } from "./hardhat-node";
import { CandleFeed, deployMarket, MARKET } from "./local-market";
import { runLoad, type LoadReport } from "./service-load";
import type { SetupLog } from "../prover/setup";

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
}

/** The whole report. */
export interface ServiceBenchReport {
  machine: { cpus: number; cpuModel: string; node: string };
  method: string;
  runs: ServiceBenchRun[];
}

const LAST_BAR = "2024-05-20 00:00:00";
const TOKEN = "bench-token-0123456789abcdef";

/** Run the benchmark. */
export async function runServiceBench(o: ServiceBenchOptions): Promise<ServiceBenchReport> {
  const { dir: artifacts } = await provingArtifacts({ model: o.model, mode: "constant", log: o.log });
  const node = await startHardhatNode();
  const work = mkdtempSync(join(tmpdir(), "zkrisk-service-bench-"));
  const runs: ServiceBenchRun[] = [];
  try {
    const { oracle } = await deployMarket(node.rpc, artifacts, o.model);
    const feed = new CandleFeed(join(work, "candles.csv"), LAST_BAR);
    process.env.ZKRISK_BENCH_KEY = DEV_KEYS[1];
    process.env.ZKRISK_BENCH_TOKEN = TOKEN;
    for (const threads of o.concurrency) {
      const dir = mkdtempSync(join(work, `pool-${threads}-`));
      const config = join(dir, "service.json");
      writeFileSync(
        config,
        JSON.stringify({
          markets: [{ id: MARKET, model: o.model, artifacts, candles: { csv: feed.path } }],
          chain: { rpc: node.rpc, oracle, key: { env: "ZKRISK_BENCH_KEY" } },
          concurrency: threads,
          listen: { host: "127.0.0.1", port: 0 },
          auth: { tokens: [{ env: "ZKRISK_BENCH_TOKEN" }] },
          database: join(dir, "jobs.db"),
          api: { rateLimitPerMinute: 1_000_000 },
        }),
      );
      const running = await startService(loadServiceConfig(config), pino({ level: "silent" }));
      try {
        o.log.info(
          `service with ${threads} proving thread(s): ${o.requests} requests, ${o.parallel} at once`,
        );
        // Bars before the latest (which the scheduler proves and submits by itself).
        const timestamps = Array.from({ length: o.bars }, (_, i) => feed.lastTimestamp - (i + 1) * 7200);
        const report = await runLoad({
          url: running.url,
          token: TOKEN,
          market: MARKET,
          timestamps,
          requests: o.requests,
          concurrency: o.parallel,
        });
        runs.push({ poolThreads: threads, ...report });
      } finally {
        await running.stop();
      }
    }
  } finally {
    node.stop();
    rmSync(work, { recursive: true, force: true });
  }
  return {
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? "unknown", node: process.version },
    method:
      "zkrisk serve in process (SQLite store, piscina proving threads, constant weights) against a local " +
      "hardhat node; POST /v1/proofs over loopback with bearer auth, each bar asked for requests/bars " +
      "times; every job polled until final. Latency: first request for a bar to its proof. Proofs per " +
      "minute: proofs made / time from the first request to the last proof.",
    runs,
  };
}
