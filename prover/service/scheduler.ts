/**
 * The scheduler: on every pass (every `schedule.pollSeconds`), for each market, the latest closed bar by the
 * chain's time becomes a job if it is newer than the last one scheduled, and is handed to the dispatcher.
 * Only the process that leads (the dispatcher says which) schedules. A feed with no new closed bar when one
 * is due is reported late, once per bar.
 */
import type { CandleSeries } from "../../models/types";
import { latestClosedBar } from "../../feeds";
import { isoFromSeconds } from "../../core/time";
import type { ServiceParts } from "./parts";

/** Schedules a job for every new closed bar of every market. */
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

  /** One scheduling pass over every market (never two at once). */
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
    const { store, dispatcher, metrics, log } = this.o;
    if (!dispatcher.isLeader()) return;
    let now: number;
    try {
      now = await this.o.chain.now();
    } catch (err) {
      log.warn({ err: (err as Error).message }, "scheduling skipped: chain unreachable");
      return;
    }
    for (const m of this.o.markets.values()) {
      if (this.stopped) return;
      let series: CandleSeries;
      try {
        series = await m.source.read();
      } catch (err) {
        metrics.skipped.inc({ market: m.id, reason: "data" });
        log.warn({ market: m.id, reason: (err as Error).message }, "no update: candle source unreadable");
        continue;
      }
      const index = latestClosedBar(series, now * 1000);
      if (index === undefined) continue;
      const ts = series.candles[index].time / 1000;
      // The bar after it should have closed by now: the feed is late (the update waits for it).
      const lateBy = now - (ts + (2 * series.intervalMs) / 1000);
      if (lateBy > 0 && m.lateReported !== ts) {
        m.lateReported = ts;
        metrics.skipped.inc({ market: m.id, reason: "late" });
        log.warn(
          { market: m.id, lastBar: isoFromSeconds(ts), lateSeconds: lateBy, source: m.source.label },
          "candle source is late: no newer closed bar",
        );
      }
      if (ts <= m.lastScheduled) continue;
      try {
        const { job, created } = await store.enqueue(
          { market: m.id, dataTimestamp: ts, submit: true },
          Date.now(),
        );
        if (created)
          log.info({ job: job.id, market: m.id, bar: isoFromSeconds(ts) }, "new closed bar: job queued");
        await dispatcher.notify(job);
        m.lastScheduled = ts;
      } catch (err) {
        // The store or the queue did not answer: the bar is scheduled again at the next pass.
        log.error(
          { market: m.id, bar: isoFromSeconds(ts), err: (err as Error).message },
          "scheduling failed",
        );
      }
    }
  }
}
