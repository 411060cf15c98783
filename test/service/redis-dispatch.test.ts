/**
 * Redis mode's delivery of jobs (service/redis-queue.ts), with the service in process (`--queue`) on a real
 * `redis-server` on 127.0.0.1 and a `hardhat node`, a `zkrisk publisher serve` instance in this process and the
 * real signed-update circuit (k = 1, cached). Every job due in the store reaches a worker, even one that was
 * never handed to the queue:
 * - a job recorded but not handed to the queue (a process killed between the two) is delivered at the next start;
 * - a proved proof-only job asked for again with `submit` is delivered to be submitted (its first delivery, now
 *   completed, bears the same due time);
 * - a job whose sent transaction a stop (with no grace) left unsettled is handed back to the queue, and settled by
 *   the next start.
 */
import { JsonRpcProvider } from "ethers";
import { afterAll, beforeAll, expect, it } from "vitest";
import { loadServiceConfig, type ServiceConfig } from "../../service/config";
import { jobIdOf, type JobRecord } from "../../service/jobs";
import { isFinal } from "../../service/job-states";
import { RedisJobStore } from "../../service/redis-store";
import { REDIS_PREFIX, startService, type RunningService } from "../../service/run";
import { startHardhatNode, type HardhatNode } from "../helpers/hardhat-node";
import { tempDir } from "../helpers/publisher-serve";
import { describeRedis, startRedis, type RedisServer } from "../helpers/redis-server";
import {
  BAR_SECONDS,
  MARKET,
  marketServiceParts,
  memoryLogger,
  SERVICE_ENV,
  type SignedMarket,
  startSignedMarket,
  TOKEN,
  waitForStoredJob,
  writeServiceConfig,
} from "../helpers/service-env";

describeRedis("zkrisk serve --queue: every due job is delivered", () => {
  let node: HardhatNode;
  let redis: RedisServer;
  let provider: JsonRpcProvider;
  let market: SignedMarket;
  let running: RunningService;
  let orphan: number;
  let cfg: ServiceConfig;
  const lines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    [node, redis] = await Promise.all([startHardhatNode(), startRedis()]);
    provider = new JsonRpcProvider(node.rpc, undefined, { cacheTimeout: -1 });
    const dir = tempDir("redis-dispatch");
    market = await startSignedMarket(dir, node.rpc, { publishers: 1, quorum: 1, backfillBars: 4 });
    // A job recorded by a process killed before it handed the job to the queue.
    orphan = market.feed.lastTimestamp - 2 * BAR_SECONDS;
    const store = await RedisJobStore.open(redis.url, { prefix: REDIS_PREFIX });
    await store.enqueue({ market: MARKET, dataTimestamp: orphan, submit: false }, Date.now());
    await store.close();
    Object.assign(process.env, SERVICE_ENV);
    cfg = loadServiceConfig(
      writeServiceConfig(dir, {
        rpc: node.rpc,
        ...marketServiceParts(market),
        concurrency: 1,
        queue: { lockSeconds: 3, leaseSeconds: 3 },
      }),
    );
    running = await startService(cfg, memoryLogger(lines), 0, redis.url);
  }, 900_000);

  afterAll(async () => {
    await running?.stop();
    await market?.stop();
    provider?.destroy();
    node?.stop();
    await redis?.stop();
  });

  /** Poll the store until the job of bar `ts` satisfies `done`. */
  const waitJob = (ts: number, done: (job: JobRecord) => boolean, what: string): Promise<JobRecord> =>
    waitForStoredJob(
      running.service.store,
      jobIdOf(MARKET, ts),
      done,
      what,
      () => lines.map((l) => JSON.stringify(l)).join("\n"),
      90_000,
      100,
    );

  const post = (body: unknown) =>
    fetch(`${running.url}/v1/proofs`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify(body),
    });

  it("delivers a job recorded but never handed to the queue, at the next start", async () => {
    const job = await waitJob(orphan, (j) => isFinal(j), "final");
    expect(job.status).toBe("proved");
  }, 300_000);

  it("delivers a proved proof-only job asked for again with submit", async () => {
    const t0 = market.feed.lastTimestamp;
    expect((await waitJob(t0, (j) => isFinal(j), "final")).status).toBe("confirmed");
    const ts = t0 - BAR_SECONDS;
    expect((await post({ market: MARKET, timestamp: ts })).status).toBe(202);
    expect((await waitJob(ts, (j) => isFinal(j), "proved")).status).toBe("proved");
    const again = await post({ market: MARKET, timestamp: ts, submit: true });
    expect(again.status).toBe(200);
    // Delivered and submitted: the market's newer bar t0 was accepted, so this one is superseded; nothing is sent.
    const job = await waitJob(ts, (j) => isFinal(j), "final");
    expect({ status: job.status, reason: job.reason, tx: job.tx }).toEqual({
      status: "skipped",
      reason: expect.stringMatching(
        /^superseded: the update of the newer bar .* was accepted on chain; nothing sent/,
      ),
      tx: null,
    });
  }, 300_000);

  it("hands back a job whose sent transaction a stop left unsettled, and the next start settles it", async () => {
    await provider.send("evm_setAutomine", [false]);
    try {
      const t1 = await market.nextBar(provider);
      const sent = await waitJob(t1, (j) => j.tx !== null, "sent");
      await running.stop(); // no grace: the transaction is still in the node's pool
      const store = await RedisJobStore.open(redis.url, { prefix: REDIS_PREFIX });
      try {
        expect(await store.get(sent.id)).toMatchObject({ status: "proved", tx: sent.tx });
      } finally {
        await store.close();
      }
      running = await startService(cfg, memoryLogger(lines), 0, redis.url);
      await provider.send("evm_mine", []);
      const job = await waitJob(t1, (j) => isFinal(j), "final");
      expect({ status: job.status, hash: job.tx?.hash }).toEqual({
        status: "confirmed",
        hash: sent.tx!.hash,
      });
    } finally {
      await provider.send("evm_setAutomine", [true]);
    }
  }, 300_000);
});
