/**
 * Several prover processes on several machines (`zkrisk serve --queue redis://...`): job records live in the
 * Redis job store, and jobs are handed to workers by a BullMQ queue on the same server. BullMQ gives each
 * delivery to one worker at a time and delivers again the jobs of a worker that died (its lock expires);
 * the record's status is then compare-and-set, so a job is carried on from where it stood (a sent
 * transaction is settled, not sent twice). One process at a time schedules new bars: the holder of a Redis
 * lease (`{prefix}:leader`), renewed while it lives and taken over by another process when it lapses.
 */
import { Queue, Worker, type Job as BullJob } from "bullmq";
import { Redis } from "ioredis";
import type { Logger } from "pino";
import type { JobRecord, JobStatus, JobStore } from "./jobs";

/** Name of the BullMQ queue (under the store's prefix). */
export const QUEUE_NAME = "proofs";

/** How a job reaches this process's pipeline, and whether this process schedules. */
export interface Dispatcher {
  /** Start delivering jobs to `run` (each already claimed: status `proving` or `submitting`). */
  start(run: (job: JobRecord) => Promise<void>): Promise<void>;
  /** A job is due at its `notBefore` (new, or set back for a retry). */
  notify(job: JobRecord): Promise<void>;
  /** Whether this process schedules new bars now. */
  isLeader(): boolean;
  /** Stop taking jobs; wait for the ones running; release the lease. */
  stop(): Promise<void>;
}

/** Statuses from which a delivered job is carried on, and the status it is claimed into. */
const CLAIMS: readonly { from: readonly JobStatus[]; to: JobStatus }[] = [
  // `proving` too: a job whose worker died mid-proof comes back with that status.
  { from: ["queued", "proving"], to: "proving" },
  { from: ["proved", "submitting"], to: "submitting" },
];

/** Options of the Redis dispatcher. */
export interface RedisDispatcherOptions {
  url: string;
  prefix: string;
  store: JobStore;
  worker: string;
  concurrency: number;
  log: Logger;
  /** Leader lease, ms (renewed at a third of it). */
  leaseMs?: number;
  /** A delivered job's lock, ms: a worker silent this long is taken as dead and its job delivered again. */
  lockMs?: number;
}

const RELEASE = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;
const RENEW = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("pexpire", KEYS[1], ARGV[2]) else return 0 end`;

/** BullMQ dispatch and a Redis leader lease. */
export class RedisDispatcher implements Dispatcher {
  private readonly connection: Redis;
  private workerConnection: Redis | undefined;
  private readonly queue: Queue;
  private bullWorker: Worker | undefined;
  private leader = false;
  private leaseTimer: NodeJS.Timeout | undefined;
  private readonly leaseKey: string;
  private readonly leaseMs: number;

  constructor(private readonly o: RedisDispatcherOptions) {
    // BullMQ's blocking commands need a connection that never gives up on a request.
    this.connection = new Redis(o.url, { maxRetriesPerRequest: null });
    this.connection.on("error", (err) => o.log.warn({ err: err.message }, "redis connection error"));
    this.queue = new Queue(QUEUE_NAME, { connection: this.connection, prefix: `${o.prefix}:bull` });
    this.leaseKey = `${o.prefix}:leader`;
    this.leaseMs = o.leaseMs ?? 10_000;
  }

  async start(run: (job: JobRecord) => Promise<void>): Promise<void> {
    await this.holdLease();
    this.leaseTimer = setInterval(() => void this.holdLease(), Math.max(100, Math.floor(this.leaseMs / 3)));
    // BullMQ leaves connections it was given open: both are closed in `stop`.
    this.workerConnection = this.connection.duplicate({ maxRetriesPerRequest: null });
    this.bullWorker = new Worker(
      QUEUE_NAME,
      async (delivery: BullJob<{ id: string }>) => {
        const job = await this.claim(delivery.data.id);
        if (job) await run(job);
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
        removeOnFail: { count: 1_000 },
        name: this.o.worker,
      },
    );
    this.bullWorker.on("error", (err) => this.o.log.warn({ err: err.message }, "queue worker error"));
  }

  /** Claim a delivered job's record for this worker, or undefined if it is final or elsewhere. */
  private async claim(id: string): Promise<JobRecord | undefined> {
    const job = await this.o.store.get(id);
    if (!job) return undefined;
    for (const c of CLAIMS) {
      if (c.from.includes(job.status) && (c.to !== "submitting" || job.submit)) {
        // Delivered again while in flight: its worker died, and that attempt counts.
        const attempts = job.attempts + (job.status === c.to && !(c.to === "submitting" && job.tx) ? 1 : 0);
        return this.o.store.update(id, { status: c.to, worker: this.o.worker, attempts }, Date.now(), [
          job.status,
        ]);
      }
    }
    return undefined;
  }

  async notify(job: JobRecord): Promise<void> {
    // One delivery per (job, due time): asking twice for the same job at once adds it once.
    await this.queue.add(
      "job",
      { id: job.id },
      { jobId: `${job.id}-${job.notBefore}`, delay: Math.max(0, job.notBefore - Date.now()) },
    );
  }

  isLeader(): boolean {
    return this.leader;
  }

  private async holdLease(): Promise<void> {
    try {
      const held = this.leader
        ? (await this.connection.eval(RENEW, 1, this.leaseKey, this.o.worker, this.leaseMs)) === 1
        : (await this.connection.set(this.leaseKey, this.o.worker, "PX", this.leaseMs, "NX")) === "OK";
      if (held !== this.leader) {
        this.o.log.info(
          { worker: this.o.worker },
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
    await this.bullWorker?.close();
    if (this.leader)
      await this.connection.eval(RELEASE, 1, this.leaseKey, this.o.worker).catch(() => undefined);
    this.leader = false;
    await this.queue.close();
    this.workerConnection?.disconnect();
    this.connection.disconnect();
  }
}
