/**
 * Redis mode's deliveries made again (service/redis-queue.ts), on a real `redis-server` (one per file, a fresh key
 * prefix per test), with the real dispatcher and job store and a stand-in for the job runner:
 * - a delivery whose claim failed (the store did not answer) is made again, and its job runs;
 * - a stale delivery, made for a due time the job has left (its worker claimed it, set it back with a new due
 *   time, handed it over again and died before BullMQ recorded the delivery done), claims nothing when BullMQ
 *   makes it again: not the job a live worker now proves, not a job still waiting for its new due time, not a
 *   proof-only job its dead worker proved that a live one now submits (asked for again with submit);
 * - a run that ended with its job still in flight (the store failed while recording its end) has its delivery
 *   made again, which claims the job and carries it on.
 */
import { Worker } from "bullmq";
import { Redis } from "ioredis";
import pino from "pino";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { transition, type JobRecord, type JobStore } from "../../service/jobs";
import { QUEUE_NAME, RedisDispatcher } from "../../service/redis-queue";
import { RedisJobStore } from "../../service/redis-store";
import { describeRedis, startRedis, type RedisServer } from "../helpers/redis-server";

/** The lock of a delivery taken by hand, ms: a worker silent this long is taken as dead. */
const LOCK_MS = 500;
/**
 * The dispatchers' lock, ms (BullMQ renews it at half, and looks for lapsed locks as often): longer than the hand
 * lock, so a live dispatcher's delivery outlasts an event loop that a loaded machine stalls for a second.
 */
const DISPATCHER_LOCK_MS = 2_000;
const BAR = { market: "BTC-USDT", dataTimestamp: 1_700_000_000, submit: true };
const silent = pino({ level: "silent" });

let server: RedisServer;
let testNumber = 0;
/** What a test opened, closed after it, last opened first. */
let cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  server = await startRedis();
});

afterEach(async () => {
  for (const close of cleanups.reverse()) await close();
  cleanups = [];
});

afterAll(async () => {
  await server?.stop();
});

/** A store on a fresh key prefix, closed after the test. */
async function setUp(): Promise<{ prefix: string; store: RedisJobStore }> {
  const prefix = `redeliver${++testNumber}`;
  const store = await RedisJobStore.open(server.url, { prefix });
  cleanups.push(() => store.close());
  return { prefix, store };
}

/** A dispatcher of process `holder` on `store` (started by the test), stopped after it. */
function dispatcher(prefix: string, store: JobStore, holder: string, concurrency = 1): RedisDispatcher {
  const d = new RedisDispatcher({
    url: server.url,
    prefix,
    store,
    holder,
    concurrency,
    log: silent,
    lockMs: DISPATCHER_LOCK_MS,
    leaseMs: 60_000,
  });
  cleanups.push(() => d.stop());
  return d;
}

/** Poll `done` every 20 ms until it holds; fail with `what` after 20 s. */
async function until(done: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describeRedis("RedisDispatcher: a delivery whose claim failed", () => {
  it("is made again, and its job runs", async () => {
    const { prefix, store } = await setUp();
    const { job } = await store.enqueue(BAR, Date.now());
    // The store answers every call but the first read of the job, by the delivery's claim (a Redis blip).
    let fail = true;
    const flaky: JobStore = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop === "get")
          return async (id: string) => {
            if (fail) {
              fail = false;
              throw new Error("Connection is closed.");
            }
            return target.get(id);
          };
        const v: unknown = Reflect.get(target, prop, receiver);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    const runs: JobRecord[] = [];
    await dispatcher(prefix, flaky, "p:1").start(async (claimed) => {
      runs.push(claimed);
      await transition(store, claimed.id, "proved", {}, Date.now(), ["proving"]);
    });
    // The run records its proof after it was handed the job: wait for the record, not for the hand-over.
    await until(async () => (await store.get(job.id))?.status === "proved", "the proof");
    expect(fail).toBe(false);
    expect(runs.map((r) => ({ status: r.status, holder: r.holder, attempts: r.attempts }))).toEqual([
      { status: "proving", holder: "p:1", attempts: 0 },
    ]);
  });
});

describeRedis("RedisDispatcher: a stale delivery made again", () => {
  /**
   * Process P1's worker takes the next delivery by hand (nothing renews its lock): D1, of `job`. Returns D1 and
   * P1's death (the worker closed at once, the delivery left active with its lock to lapse).
   */
  async function takenByHand(
    prefix: string,
    job: JobRecord,
  ): Promise<{ d1: string; die: () => Promise<void> }> {
    const connection = new Redis(server.url, { maxRetriesPerRequest: null });
    const worker = new Worker(QUEUE_NAME, null, {
      connection,
      prefix: `${prefix}:bull`,
      lockDuration: LOCK_MS,
    });
    const d1 = await worker.getNextJob("p1-token");
    expect(d1?.data).toEqual({ id: job.id });
    return {
      d1: d1!.id!,
      die: async () => {
        await worker.close(true);
        connection.disconnect();
      },
    };
  }

  /**
   * Process P1 takes the job's delivery D1 and claims the job, sets it back to `queued` due in `waitMs` (a wait for
   * late publishers) and hands it over again (D2), then dies before BullMQ records D1 done: D1 stays active, its
   * lock left to lapse. Returns D1's id.
   */
  async function diesAfterSettingBack(prefix: string, store: RedisJobStore, waitMs: number): Promise<string> {
    const p1 = dispatcher(prefix, store, "p1:1");
    const { job } = await store.enqueue(BAR, Date.now());
    await p1.notify(job);
    const { d1, die } = await takenByHand(prefix, job);
    const claimed = await transition(store, job.id, "proving", { holder: "p1:1" }, Date.now(), ["queued"]);
    const back = await transition(
      store,
      job.id,
      "queued",
      { notBefore: Date.now() + waitMs, reason: "waiting for publishers" },
      Date.now(),
      ["proving"],
    );
    expect(claimed && back).toBeTruthy();
    await p1.notify(back!);
    // P1 dies: nothing of it answers again.
    await die();
    return d1;
  }

  /** Whether BullMQ recorded delivery `id` done (its claim turned it away). */
  async function completed(prefix: string, id: string): Promise<boolean> {
    const client = new Redis(server.url);
    try {
      return (await client.zscore(`${prefix}:bull:${QUEUE_NAME}:completed`, id)) !== null;
    } finally {
      client.disconnect();
    }
  }

  it("does not claim the job that a live worker holds through the new delivery", async () => {
    const { prefix, store } = await setUp();
    const d1 = await diesAfterSettingBack(prefix, store, 10);
    // P2 claims through D2 and proves until D1 was made again and turned away (or claimed the job a second time).
    const runs: JobRecord[] = [];
    let staleDone = false;
    await dispatcher(prefix, store, "p2:2", 2).start(async (claimed) => {
      runs.push(claimed);
      await until(() => staleDone || runs.length > 1, "the stale delivery to be made again");
      await transition(store, claimed.id, "proved", {}, Date.now(), ["proving"]);
    });
    await until(async () => runs.length > 1 || (staleDone = await completed(prefix, d1)), "D1 done");
    await until(async () => (await store.get(runs[0].id))?.status === "proved", "the proof");
    expect(runs.map((r) => ({ status: r.status, holder: r.holder, attempts: r.attempts }))).toEqual([
      { status: "proving", holder: "p2:2", attempts: 0 },
    ]);
    expect(await store.get(runs[0].id)).toMatchObject({ status: "proved", attempts: 0, holder: "p2:2" });
  });

  it("does not claim a job set back to wait before its new due time", async () => {
    const { prefix, store } = await setUp();
    const d1 = await diesAfterSettingBack(prefix, store, 60_000);
    const runs: JobRecord[] = [];
    await dispatcher(prefix, store, "p2:2").start(async (claimed) => {
      runs.push(claimed);
    });
    await until(async () => runs.length > 0 || (await completed(prefix, d1)), "D1 done");
    expect(runs).toEqual([]);
    const job = (await store.due(10))[0];
    expect(job).toMatchObject({ status: "queued", attempts: 0, reason: "waiting for publishers" });
    expect(job.notBefore).toBeGreaterThan(Date.now());
  });

  it("does not claim a proof-only job asked for with submit after its prover died", async () => {
    const { prefix, store } = await setUp();
    const p1 = dispatcher(prefix, store, "p1:1");
    const { job } = await store.enqueue({ ...BAR, submit: false }, Date.now());
    await p1.notify(job);
    // P1 takes the delivery D1 by hand, proves the job (proof only: done) and dies before BullMQ records D1 done.
    const { d1, die } = await takenByHand(prefix, job);
    expect(
      await transition(store, job.id, "proving", { holder: "p1:1" }, Date.now(), ["queued"]),
    ).toBeTruthy();
    expect(await transition(store, job.id, "proved", {}, Date.now(), ["proving"])).toBeTruthy();
    await die();
    // Asked for again with submit, the job is due again and handed over (D2).
    const asked = await store.enqueue(BAR, Date.now());
    expect(asked.job).toMatchObject({ status: "proved", submit: true });
    await p1.notify(asked.job);
    // P2 submits through D2 until D1 was made again and turned away (or claimed the job a second time).
    const runs: JobRecord[] = [];
    let staleDone = false;
    await dispatcher(prefix, store, "p2:2", 2).start(async (claimed) => {
      runs.push(claimed);
      await until(() => staleDone || runs.length > 1, "the stale delivery to be made again");
      await transition(store, claimed.id, "confirmed", {}, Date.now(), ["submitting"]);
    });
    await until(async () => runs.length > 1 || (staleDone = await completed(prefix, d1)), "D1 done");
    await until(async () => (await store.get(job.id))?.status === "confirmed", "the submission");
    expect(runs.map((r) => ({ status: r.status, holder: r.holder, attempts: r.attempts }))).toEqual([
      { status: "submitting", holder: "p2:2", attempts: 0 },
    ]);
  });
});

describeRedis("RedisDispatcher: a run that ended with its job in flight", () => {
  it("has its delivery made again, which carries the job on", async () => {
    const { prefix, store } = await setUp();
    const { job } = await store.enqueue(BAR, Date.now());
    const runs: JobRecord[] = [];
    // A stand-in for JobRunner.run: the first run's proof is made, but recording it fails (the store did not
    // answer); as the runner does, that is logged and the run resolves.
    await dispatcher(prefix, store, "p:1").start(async (claimed) => {
      runs.push(claimed);
      try {
        if (runs.length === 1) throw new Error("Connection is closed.");
        await transition(store, claimed.id, "proved", {}, Date.now(), ["proving"]);
      } catch {
        // "job bookkeeping failed"
      }
    });
    await until(async () => (await store.get(job.id))?.status === "proved", "the proof");
    // Claimed again as from a dead holder: the attempt cut short counts.
    expect(runs.map((r) => ({ status: r.status, holder: r.holder, attempts: r.attempts }))).toEqual([
      { status: "proving", holder: "p:1", attempts: 0 },
      { status: "proving", holder: "p:1", attempts: 1 },
    ]);
  });
});
