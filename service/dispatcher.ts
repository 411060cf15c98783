/**
 * How jobs reach a service process's job runner, in either mode: `LocalDispatcher` (embedded: this process
 * claims due jobs from its own store) and `RedisDispatcher` (redis-queue.ts: processes share a BullMQ queue).
 * The service is written against `Dispatcher` alone.
 */
import type { Logger } from "pino";
import type { JobRecord, JobStore } from "./jobs";

/** Carry a claimed job as far as it goes; resolves (never rejects) when its run has ended. */
export type RunJob = (job: JobRecord) => Promise<void>;

/** How jobs reach this process's job runner, and whether this process schedules. */
export interface Dispatcher {
  /**
   * Whether other processes sign with the same key at the same time (then none of them can count its
   * nonces alone).
   */
  readonly sharesSigner: boolean;
  /** Start delivering claimed jobs (status `proving` or `submitting`) to `run`. */
  start(run: RunJob): Promise<void>;
  /** A job may be due (new, upgraded or set back for a retry): deliver it once its `notBefore` has passed. */
  notify(job: JobRecord): Promise<void>;
  /** Whether this process schedules new bars now. */
  isLeader(): boolean;
  /**
   * Take no new job from now on, while the scheduler's last pass may still `notify` (a service stopping).
   * Local mode claims nothing more; Redis mode delivers until `stop`, so that the last pass's jobs are queued.
   */
  pause(): void;
  /** Stop delivering jobs; wait for the ones delivered, where the mode needs it; release what it holds. */
  stop(): Promise<void>;
}

/** Options of the local dispatcher. */
export interface LocalDispatcherOptions {
  store: JobStore;
  /** This start of this process (`host:pid:start-id`), recorded as the holder of the jobs it claims. */
  holder: string;
  /** Jobs run at once. */
  concurrency: number;
  log: Logger;
  /** How often the store is looked at for jobs that have become due, ms. */
  pollMs?: number;
}

/**
 * The embedded mode: one process per store, the only one to schedule. On start it recovers what a previous
 * run left in flight (proofs go back to the queue; sent transactions are delivered to be settled first),
 * then claims due jobs while fewer than `concurrency` run.
 */
export class LocalDispatcher implements Dispatcher {
  readonly sharesSigner = false;
  private run: RunJob | undefined;
  private running = 0;
  private claiming = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: LocalDispatcherOptions) {}

  async start(run: RunJob): Promise<void> {
    const recovered = await this.o.store.recoverInFlight(Date.now());
    this.run = run;
    for (const job of recovered) {
      this.o.log.info({ job: job.id, tx: job.tx?.hash }, "settling a transaction sent before a restart");
      this.deliver(job);
    }
    this.timer = setInterval(() => void this.claim(), this.o.pollMs ?? 250);
    void this.claim();
  }

  async notify(): Promise<void> {
    void this.claim();
  }

  isLeader(): boolean {
    return true;
  }

  pause(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  async stop(): Promise<void> {
    this.pause();
  }

  private deliver(job: JobRecord): void {
    const run = this.run!;
    this.running++;
    void run(job).finally(() => {
      this.running--;
      void this.claim();
    });
  }

  /** Take due jobs while there is room (never two claim loops at once). */
  private async claim(): Promise<void> {
    if (this.run === undefined || this.claiming || this.stopped) return;
    this.claiming = true;
    try {
      while (!this.stopped && this.running < this.o.concurrency) {
        const job = await this.o.store.claimNext(this.o.holder, Date.now());
        if (!job) break;
        this.deliver(job);
      }
    } catch (err) {
      this.o.log.error({ err: (err as Error).message }, "claiming jobs failed");
    } finally {
      this.claiming = false;
    }
  }
}
