/**
 * The scheduler: on every pass (every `schedule.pollSeconds`), for each market and each batch, the latest bar
 * closed by the chain's clock (bars are aligned on their interval since the Unix epoch, as exchanges cut them)
 * becomes a job if it is newer than the last one scheduled, and is handed to the dispatcher; the job then asks
 * the market's publishers for the bar's signed windows (a batch's: for its signed batches). Only the process
 * that leads (the dispatcher says which) schedules.
 */
import { isoFromSeconds } from "../core/time";
import type { ServiceParts } from "./parts";
import { redactedErrorMessage } from "./redaction";

/**
 * Open time (s) of the newest bar of `intervalMs` that has closed at `nowSeconds` (its open time + the
 * interval <= now), bars being aligned on multiples of the interval since the Unix epoch.
 */
export function latestClosedBarTime(nowSeconds: number, intervalMs: number): number {
  const interval = intervalMs / 1000;
  return Math.floor(nowSeconds / interval) * interval - interval;
}

/** Schedules a job for every new closed bar of every market and batch. */
export class Scheduler {
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly o: ServiceParts) {}

  /** Schedule a pass every `pollMs`, and run the first one now. */
  start(pollMs: number): Promise<void> {
    this.timer = setInterval(() => void this.tick(), pollMs);
    return this.tick();
  }

  /** One scheduling pass over every market and batch (never two at once). */
  tick(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.ticking ??= this.schedule().finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  /** Schedule nothing more; wait for the pass under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.ticking;
  }

  private async schedule(): Promise<void> {
    const { store, dispatcher, log } = this.o;
    if (!dispatcher.isLeader()) return;
    let now: number;
    try {
      now = await this.o.chain.now();
    } catch (err) {
      log.warn({ err: redactedErrorMessage(err) }, "scheduling skipped: chain unreachable");
      return;
    }
    for (const m of [...this.o.markets.values(), ...this.o.batches.values()]) {
      if (this.stopped) return;
      const ts = latestClosedBarTime(now, m.model.barIntervalMs);
      if (ts <= m.lastScheduled) continue;
      try {
        const { job, created } = await store.enqueue(
          { market: m.id, dataTimestamp: ts, submit: true },
          Date.now(),
        );
        if (created) {
          const what = "windows" in m ? { market: m.id } : { batch: m.id };
          log.info({ job: job.id, ...what, bar: isoFromSeconds(ts) }, "new closed bar: job queued");
        }
        await dispatcher.notify(job);
        m.lastScheduled = ts;
      } catch (err) {
        // The store or the queue did not answer: the bar is scheduled again at the next pass.
        log.error(
          { market: m.id, bar: isoFromSeconds(ts), err: redactedErrorMessage(err) },
          "scheduling failed",
        );
      }
    }
  }
}
