/**
 * A wall clock that steps back (an NTP correction, a virtual machine restored from a snapshot) must not hold a
 * job set back for a retry until the clock has caught up again: a due time further ahead than the longest delay
 * the service sets is due now (`isDueAt`, retry.ts). Both dispatchers, on real stores, with the jobs they
 * deliver recorded and ended by the test (the job runner is not the subject):
 * - local mode claims such a job from its SQLite store at its next look;
 * - Redis mode hands it to its BullMQ queue with no delay, and a delivery made before the step, still waiting
 *   for BullMQ's clock to reach its time, is delivered at once (the leader hands every due job over at start
 *   and at each sweep).
 * A job due within the longest delay waits in both.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { LocalDispatcher, type Dispatcher } from "../../service/dispatcher";
import { transition, type JobRecord, type JobStore } from "../../service/jobs";
import { QUEUE_NAME, RedisDispatcher } from "../../service/redis-queue";
import { RedisJobStore } from "../../service/redis-store";
import { isDueAt, MAX_RETRY_DELAY_MS } from "../../service/retry";
import { SqliteJobStore } from "../../service/sqlite-store";
import { bar, BTC, ETH } from "../helpers/job-store-contract";
import { describeRedis, startRedis, type RedisServer } from "../helpers/redis-server";
import { memoryLogger } from "../helpers/service-env";

/** How far back the clock stepped in these tests, ms. */
const STEP_MS = 3_600_000;

describe("isDueAt", () => {
  it("is due once its time has passed, or when that lies further ahead than the longest delay", () => {
    const now = 1_800_000_000_000;
    expect(isDueAt(now - 1, now)).toBe(true);
    expect(isDueAt(now, now)).toBe(true);
    expect(isDueAt(now + 1, now)).toBe(false);
    expect(isDueAt(now + MAX_RETRY_DELAY_MS, now)).toBe(false);
    expect(isDueAt(now + MAX_RETRY_DELAY_MS + 1, now)).toBe(true);
  });
});

/** The jobs a dispatcher delivers, each ended at once (skipped) so that none is delivered again. */
function recorder(store: JobStore): { delivered: JobRecord[]; run: (job: JobRecord) => Promise<void> } {
  const delivered: JobRecord[] = [];
  return {
    delivered,
    run: async (job) => {
      delivered.push(job);
      await transition(store, job.id, "skipped", { reason: "ended by the test" }, Date.now());
    },
  };
}

/** Wait until `ready()`, at most `ms`. */
async function until(ready: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!ready()) {
    if (Date.now() > end) throw new Error(`not ${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Two jobs set back before the clock stepped back by `STEP_MS`: one with a delay of 10 s (now due further
 * ahead than the longest delay), one with the longest delay less the step (due within it).
 */
async function setBackBeforeStep(store: JobStore): Promise<{ stepped: JobRecord; waiting: JobRecord }> {
  const now = Date.now();
  const a = await store.enqueue({ market: BTC, dataTimestamp: bar(0), submit: false }, now);
  const b = await store.enqueue({ market: ETH, dataTimestamp: bar(0), submit: false }, now);
  const stepped = await store.update(a.job.id, { attempts: 1, notBefore: now + STEP_MS + 10_000 }, now);
  const waiting = await store.update(
    b.job.id,
    { attempts: 1, notBefore: now + MAX_RETRY_DELAY_MS - 5_000 },
    now,
  );
  return { stepped: stepped!, waiting: waiting! };
}

describe("local mode after the clock stepped back", () => {
  let dir: string | undefined;
  let dispatcher: Dispatcher | undefined;
  let store: SqliteJobStore | undefined;

  afterEach(async () => {
    await dispatcher?.stop();
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("claims a job due further ahead than the longest delay at its next look, and not one due within it", async () => {
    dir = mkdtempSync(join(tmpdir(), "zkrisk-clock-"));
    store = SqliteJobStore.open(join(dir, "jobs.db"));
    const { stepped, waiting } = await setBackBeforeStep(store);
    const { delivered, run } = recorder(store);
    const lines: Record<string, unknown>[] = [];
    dispatcher = new LocalDispatcher({
      store,
      holder: "test:1:a",
      concurrency: 2,
      log: memoryLogger(lines),
      pollMs: 50,
    });
    await dispatcher.start(run);
    await until(() => delivered.length > 0, 10_000, "delivered");
    await new Promise((r) => setTimeout(r, 500)); // a few more looks
    expect(delivered.map((j) => j.id)).toEqual([stepped.id]);
    expect(await store.get(waiting.id)).toMatchObject({ status: "queued", notBefore: waiting.notBefore });
  });
});

describeRedis("Redis mode after the clock stepped back", () => {
  const PREFIX = "zkrisk-clock";
  let redis: RedisServer | undefined;
  let dispatcher: Dispatcher | undefined;
  let store: RedisJobStore | undefined;

  afterEach(async () => {
    await dispatcher?.stop();
    await store?.close();
    await redis?.stop();
  });

  it("delivers at once a job due further ahead than the longest delay, also one whose delivery was made before the step", async () => {
    redis = await startRedis();
    store = await RedisJobStore.open(redis.url, { prefix: PREFIX });
    const { stepped, waiting } = await setBackBeforeStep(store);
    const late = await store.enqueue({ market: BTC, dataTimestamp: bar(1), submit: false }, Date.now());
    const lateAt = Date.now() + STEP_MS + 20_000;
    const lateJob = (await store.update(late.job.id, { attempts: 1, notBefore: lateAt }, Date.now()))!;
    // `late` was handed to the queue before the step: its delivery waits in BullMQ until the clock reaches lateAt.
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue(QUEUE_NAME, { connection, prefix: `${PREFIX}:bull` });
    const made = await queue.add(
      "job",
      { id: lateJob.id },
      { jobId: `${lateJob.id}-${lateJob.status}-${lateAt}`, delay: lateAt - Date.now() },
    );
    expect(await made.isDelayed()).toBe(true);

    const { delivered, run } = recorder(store);
    const lines: Record<string, unknown>[] = [];
    dispatcher = new RedisDispatcher({
      url: redis.url,
      prefix: PREFIX,
      store,
      holder: "test:1:a",
      concurrency: 2,
      log: memoryLogger(lines),
      lockMs: 1_000,
      leaseMs: 3_000,
    });
    await dispatcher.start(run);
    await until(() => delivered.length >= 2, 20_000, "both delivered");
    await new Promise((r) => setTimeout(r, 1_500)); // a sweep more
    expect(delivered.map((j) => j.id).sort()).toEqual([stepped.id, lateJob.id].sort());
    expect(await store.get(waiting.id)).toMatchObject({ status: "queued", notBefore: waiting.notBefore });
    const waits = await queue.getJob(`${waiting.id}-queued-${waiting.notBefore}`);
    expect(await waits?.isDelayed()).toBe(true);
    expect(
      lines.filter((l) => l.msg === "the clock stepped back since this job was set back: delivered now"),
    ).toEqual([expect.objectContaining({ job: lateJob.id, level: 40 })]);
    await queue.close();
    connection.disconnect();
  }, 60_000);
});
