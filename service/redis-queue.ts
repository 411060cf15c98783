/**
 * Several prover processes on several machines (`zkrisk serve --queue redis://...`): job records live in the
 * Redis job store, and jobs are handed to the processes by a BullMQ queue on the same server (each process
 * runs one BullMQ worker). BullMQ gives each delivery to one worker at a time and delivers again the jobs of
 * a worker that died (its lock expires); the record's status then moves by the claim rules of
 * job-states.ts, compare-and-set, so a job is carried on from where it stood (a sent transaction is settled,
 * not sent twice). A delivery is made for one due time of its job (`notBefore`); once the job is set back and
 * handed over again, the earlier delivery is stale and claims nothing. A delivery whose claim or run fails is
 * tried again, and one that fails for good is removed, so that handing the job over again makes a new one.
 * One process at a time schedules new bars: the holder of a Redis lease
 * (`{prefix}:leader`), renewed while it lives and taken over by another process when it lapses.
 */
import { Queue, Worker, type Job as BullJob } from "bullmq";
import { Redis } from "ioredis";
import type { Logger } from "pino";
import type { Dispatcher, RunJob } from "./dispatcher";
import { CLAIMS, isDue, SET_BACKS } from "./job-states";
import { transition, type JobRecord, type JobStore } from "./jobs";
import { loadLuaScript } from "./lua-scripts";
import { isDueAt, MAX_RETRY_DELAY_MS } from "./retry";
import { RedisErrorLog } from "./redis-store";

/** Name of the BullMQ queue (under the store's prefix). */
export const QUEUE_NAME = "proofs";

/** Options of the Redis dispatcher. */
export interface RedisDispatcherOptions {
  url: string;
  prefix: string;
  store: JobStore;
  /**
   * This start of this process (`host:pid:start-id`): the holder of the jobs it claims and of the lease; its BullMQ
   * worker's name.
   */
  holder: string;
  concurrency: number;
  log: Logger;
  /** Leader lease, ms (renewed at a third of it). */
  leaseMs?: number;
  /** A delivered job's lock, ms: a process silent this long is taken as dead and its job delivered again. */
  lockMs?: number;
  /** Least time between two logged Redis errors, ms (default `REDIS_ERROR_LOG_INTERVAL_MS`). */
  errorLogIntervalMs?: number;
}

/** Most due jobs handed to the queue by one look at the store (the rest at the next). */
const SWEEP_LIMIT = 1_000;

/** Times a delivery is tried (its claim failed, or its run ended with the job still in flight), `lockMs` apart. */
const DELIVERY_ATTEMPTS = 1_000;

/** A job's delivery, one per (job, status, due time): `<id>-<status>-<notBefore>`. */
function deliveryIdOf(job: JobRecord): string {
  return `${job.id}-${job.status}-${job.notBefore}`;
}

/** The due time (`notBefore`, ms) a delivery was made for: the last part of its id. */
function dueTimeOf(deliveryId: string): number {
  return Number(deliveryId.slice(deliveryId.lastIndexOf("-") + 1));
}

const RENEW_LEASE = loadLuaScript("renew-lease-1.lua");
const RELEASE_LEASE = loadLuaScript("release-lease-1.lua");

/** BullMQ dispatch and a Redis leader lease. */
export class RedisDispatcher implements Dispatcher {
  /** The processes sharing the queue share the signing key too. */
  readonly sharesSigner = true;
  private readonly connection: Redis;
  private workerConnection: Redis | undefined;
  private readonly queue: Queue;
  private bullWorker: Worker | undefined;
  private leader = false;
  private leaseTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly leaseKey: string;
  private readonly leaseMs: number;
  private readonly errors: RedisErrorLog;

  constructor(private readonly o: RedisDispatcherOptions) {
    // BullMQ's blocking commands need a connection that never gives up on a request.
    this.connection = new Redis(o.url, { maxRetriesPerRequest: null });
    // Every connection and every BullMQ object (each passes its connections' errors on) logs through one limit.
    this.errors = new RedisErrorLog(o.log, o.errorLogIntervalMs);
    this.errors.watch(this.connection, "queue");
    this.queue = new Queue(QUEUE_NAME, { connection: this.connection, prefix: `${o.prefix}:bull` });
    this.errors.watch(this.queue, "queue", false);
    this.leaseKey = `${o.prefix}:leader`;
    this.leaseMs = o.leaseMs ?? 10_000;
  }

  async start(run: RunJob): Promise<void> {
    await this.holdLease();
    this.leaseTimer = setInterval(() => void this.holdLease(), Math.max(100, Math.floor(this.leaseMs / 3)));
    // BullMQ leaves connections it was given open: both are closed in `stop`.
    this.workerConnection = this.connection.duplicate({ maxRetriesPerRequest: null });
    this.errors.watch(this.workerConnection, "worker");
    this.bullWorker = new Worker(
      QUEUE_NAME,
      async (delivery: BullJob<{ id: string }>) => {
        // Made again: its worker died (its lock expired), or its claim or run failed (a retry, `lockMs` later).
        const again = delivery.stalledCounter > 0 || delivery.attemptsMade > 0;
        const job = await this.claim(delivery.data.id, dueTimeOf(delivery.id!), again);
        if (!job) return;
        if (job.status === "submitting" && job.tx) {
          this.o.log.info({ job: job.id, tx: job.tx.hash }, "settling a transaction sent before a restart");
        }
        await run(job);
        await this.checkLeftFlight(job);
      },
      {
        connection: this.workerConnection,
        prefix: `${this.o.prefix}:bull`,
        concurrency: this.o.concurrency,
        lockDuration: this.o.lockMs ?? 30_000,
        // Stalled jobs are looked for as often as a lock lasts, so a dead worker's job waits at most twice that.
        stalledInterval: this.o.lockMs ?? 30_000,
        // A job whose worker dies is delivered again each time (the chain and the record make that safe).
        maxStalledCount: 1_000,
        removeOnComplete: { count: 1_000 },
        // A delivery that failed for good is removed: kept, its id would turn away the job's next hand-over.
        removeOnFail: { count: 0 },
        name: this.o.holder,
      },
    );
    this.errors.watch(this.bullWorker, "worker", false);
    // Jobs recorded but never handed to the queue (a process killed in between) or set back by a stop.
    await this.handOverDue();
    this.sweepTimer = setInterval(() => {
      if (this.leader) void this.handOverDue();
    }, this.o.lockMs ?? 30_000);
  }

  /**
   * Hand every job due in the store to the queue (`notify`: a job already there is not added twice), so that no
   * due job waits for a delivery that never comes. Run at start and, by the leader, every `lockMs`.
   */
  private async handOverDue(): Promise<void> {
    try {
      for (const job of await this.o.store.due(SWEEP_LIMIT)) await this.notify(job);
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, "handing due jobs to the queue failed");
    }
  }

  /**
   * Claim a delivered job's record for this process, or undefined if it is final, elsewhere, or due at another
   * time than `dueTime`, the one the delivery was made for. A job in flight is claimed again only by a delivery
   * BullMQ made again (`redelivered`: its worker stopped answering, or its run ended with the job in flight):
   * any other delivery of it (e.g. one made before it was claimed) finds it taken.
   */
  private async claim(id: string, dueTime: number, redelivered: boolean): Promise<JobRecord | undefined> {
    const job = await this.o.store.get(id);
    // A delivery made for another due time is stale: the job was set back since (a retry, a wait for publishers,
    // a stop) with a new due time and handed over again, maybe claimed through that delivery by a live process.
    if (!job || job.notBefore !== dueTime) return undefined;
    // A job delivered again while in flight (its holder died) is claimed again by the rule that claimed it.
    const rule = CLAIMS.find(
      (c) =>
        (c.from === job.status || (redelivered && c.to === job.status)) && (!c.onlyToSubmit || job.submit),
    );
    if (!rule) return undefined;
    // The attempt the dead holder had made counts, unless it had sent a transaction (that one is settled).
    const setBack = SET_BACKS.find((s) => s.from === job.status);
    const cutShort = setBack !== undefined && !(setBack.unlessSent && job.tx);
    return transition(
      this.o.store,
      id,
      rule.to,
      { holder: this.o.holder, attempts: job.attempts + (cutShort ? 1 : 0) },
      Date.now(),
      [job.status],
    );
  }

  /**
   * Throw when a run ended with its job still in flight, held here at the due time it was claimed for: the store
   * failed while recording the run's end ("job bookkeeping failed" in job-runner.ts), or a stop cut the run short
   * (the stop sets the job back, making this delivery stale). BullMQ then makes this delivery again after
   * `lockMs`, which claims the job as if this process had died: no job stays in flight with no delivery.
   */
  private async checkLeftFlight(claimed: JobRecord): Promise<void> {
    const job = await this.o.store.get(claimed.id);
    if (
      job &&
      SET_BACKS.some((s) => s.from === job.status) &&
      job.holder === this.o.holder &&
      job.notBefore === claimed.notBefore
    ) {
      this.o.log.warn(
        { job: job.id, status: job.status },
        "run ended with its job in flight: delivered again",
      );
      throw new Error(`job ${job.id} is still ${job.status} after its run`);
    }
  }

  async notify(job: JobRecord): Promise<void> {
    if (!isDue(job)) return;
    const now = Date.now();
    // Due now, by `isDueAt` (retry.ts), also when its time lies further ahead than the longest delay: the clock
    // stepped back since the job was set back.
    const steppedBack = job.notBefore > now + MAX_RETRY_DELAY_MS;
    // One delivery per (job, status, due time): asking twice for the same job at once adds it once, while a job
    // due again in another status (a proved proof-only job asked for with submit) gets a new delivery.
    const id = deliveryIdOf(job);
    await this.queue.add(
      "job",
      { id: job.id },
      {
        jobId: id,
        delay: isDueAt(job.notBefore, now) ? 0 : job.notBefore - now,
        attempts: DELIVERY_ATTEMPTS,
        backoff: { type: "fixed", delay: this.o.lockMs ?? 30_000 },
      },
    );
    // A delivery made before the clock stepped back waits for BullMQ's clock to reach its time: deliver it now.
    // The leader's sweep (`handOverDue`) comes here for every due job, so none waits longer than the sweep.
    if (steppedBack) {
      const delivery = await this.queue.getJob(id);
      if (delivery && (await delivery.isDelayed())) {
        await delivery.promote().catch(async (err: unknown) => {
          if (await delivery.isDelayed()) throw err; // otherwise delivered meanwhile
        });
        this.o.log.warn(
          { job: job.id, dueAt: new Date(job.notBefore).toISOString() },
          "the clock stepped back since this job was set back: delivered now",
        );
      }
    }
  }

  isLeader(): boolean {
    return this.leader;
  }

  pause(): void {
    // Deliveries stop at `stop`, once the scheduler's last pass has queued its jobs.
  }

  private async holdLease(): Promise<void> {
    try {
      const held = this.leader
        ? (await this.connection.eval(
            RENEW_LEASE.lua,
            RENEW_LEASE.numberOfKeys,
            this.leaseKey,
            this.o.holder,
            this.leaseMs,
          )) === 1
        : (await this.connection.set(this.leaseKey, this.o.holder, "PX", this.leaseMs, "NX")) === "OK";
      if (held !== this.leader) {
        this.o.log.info(
          { holder: this.o.holder },
          held ? "scheduler lease taken: scheduling" : "scheduler lease lost",
        );
      }
      this.leader = held;
    } catch (err) {
      this.leader = false;
      this.o.log.warn({ err: (err as Error).message }, "scheduler lease check failed");
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.leaseTimer);
    clearInterval(this.sweepTimer);
    await this.bullWorker?.close();
    if (this.leader)
      await this.connection
        .eval(RELEASE_LEASE.lua, RELEASE_LEASE.numberOfKeys, this.leaseKey, this.o.holder)
        .catch(() => undefined);
    this.leader = false;
    await this.queue.close();
    this.workerConnection?.disconnect();
    this.connection.disconnect();
  }
}
