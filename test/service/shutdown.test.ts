/**
 * Stopping the prover service (SIGTERM's path, `RunningService.stop`) in process, against a `hardhat node` on
 * 127.0.0.1 with a `zkrisk publisher serve` instance on 127.0.0.1 and the real signed-update circuit (k = 1,
 * cached), with no grace and `chain.maxAttempts` 1: the proof in flight is cut short and its job goes back to the
 * queue as it was (no attempt spent, no failed proof counted), and the next start proves and submits it.
 */
import { JsonRpcProvider } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadServiceConfig, type ServiceConfig } from "../../service/config";
import { jobIdOf, type JobRecord } from "../../service/jobs";
import { isFinal } from "../../service/job-states";
import { SqliteJobStore } from "../../service/sqlite-store";
import { startService, type RunningService } from "../../service/run";
import { startHardhatNode, type HardhatNode } from "../helpers/hardhat-node";
import { tempDir } from "../helpers/publisher-serve";
import {
  acceptedTimestamps,
  MARKET,
  marketServiceParts,
  memoryLogger,
  SERVICE_ENV,
  type SignedMarket,
  startSignedMarket,
  writeServiceConfig,
} from "../helpers/service-env";

describe("prover service: stopped mid-proof with no grace", { timeout: 600_000 }, () => {
  let node: HardhatNode;
  let provider: JsonRpcProvider;
  let market: SignedMarket;
  let cfg: ServiceConfig;
  let running: RunningService | undefined;
  const lines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    node = await startHardhatNode();
    provider = new JsonRpcProvider(node.rpc, undefined, { cacheTimeout: -1 });
    const dir = tempDir("shutdown");
    market = await startSignedMarket(dir, node.rpc, { publishers: 1, quorum: 1 });
    Object.assign(process.env, SERVICE_ENV);
    cfg = loadServiceConfig(
      writeServiceConfig(dir, {
        rpc: node.rpc,
        ...marketServiceParts(market),
        concurrency: 1,
        maxAttempts: 1,
      }),
    );
  }, 900_000);

  afterAll(async () => {
    await running?.stop();
    await market?.stop();
    provider?.destroy();
    node?.stop();
  });

  it("re-queues the job as it was, and the next start proves and submits it", async () => {
    const t0 = market.feed.lastTimestamp;
    running = await startService(cfg, memoryLogger(lines), 0);
    const t1 = Date.now();
    while (!lines.some((l) => l.msg === "proving")) {
      if (Date.now() - t1 > 120_000) throw new Error(`no proof started:\n${JSON.stringify(lines)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const metrics = running.service.metrics;
    await running.stop();
    running = undefined;
    expect(lines.find((l) => l.msg === "stopped")).toMatchObject({ finished: 0, requeued: 1 });
    const proofs = (await metrics.proofs.get()).values;
    expect(proofs.filter((v) => v.labels.outcome === "failed")).toEqual([]);
    const store = SqliteJobStore.open(cfg.database);
    let job: JobRecord | undefined;
    try {
      job = await store.get(jobIdOf(MARKET, t0));
    } finally {
      await store.close();
    }
    expect(job).toMatchObject({ status: "queued", attempts: 0, reason: null });

    running = await startService(cfg, memoryLogger(lines));
    const t2 = Date.now();
    for (;;) {
      job = await running.service.store.get(jobIdOf(MARKET, t0));
      if (job && isFinal(job)) break;
      if (Date.now() - t2 > 300_000) throw new Error(`not final: ${JSON.stringify(job)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(job.status).toBe("confirmed");
    expect(await acceptedTimestamps(provider, market.oracle)).toEqual([t0]);
  });
});
