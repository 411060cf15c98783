/**
 * The publisher's signer: on each poll it reads every market's candle source and signs, once, the window of
 * WINDOW_BARS bars ending at each newly closed bar, then archives it (archive.ts).
 *
 * Which bars: with an empty archive, the newest `backfillBars` closed bars; after that, every closed bar
 * after the newest archived one, oldest first, so a restart after downtime signs the bars it missed. A bar
 * whose window cannot be built (too little history in the source, a value that does not convert to an
 * integer candle exactly) is skipped and logged once.
 *
 * Never twice, never differently: a bar with an archived window is never signed again. Instead the window the
 * source gives now for it (the newest archived bar, on every poll) is compared with the archived one; when
 * they differ, the archived window stays what is served and the disagreement is logged once and counted,
 * naming the bar and the field (`firstDisagreement`).
 *
 * Never a second value for a bar: windows overlap (the window ending at the next bar holds all but the oldest
 * bar of the one before), so a window built from a source that changed a signed bar would sign a second value
 * for that bar under the same key, which an auditor comparing the windows would take for equivocation.
 * Before a window is signed, every bar it shares with the newest archived window (which holds every signed bar
 * a later window can reach) is compared with it: the missing flag, the close and the volume, and the high and
 * the low where both windows sign them (`signedBarConflict`). A window that differs on one is not signed: the
 * market's signing is held. While a window is held, each poll logs the hold at error level, naming the bar,
 * the field and both values; `zkrisk_publisher_signing_held{market}` is 1, each held window is counted once in
 * `zkrisk_publisher_windows_held_total{market}`, and /health shows the market's `lastError` (status
 * `degraded`). The source is not corrected from the archive: a window is signed only when the source gives it
 * and it agrees with every bar already signed, so no signature ever states a value the source disputes.
 * The hold ends when the source gives the signed values again (the held windows are then signed, oldest
 * first), or by itself once the disputed bar is older than the window of a closed bar (at most WINDOW_BARS - 1
 * bars after the newest archived window; the held windows before it are then never signed), or when an
 * operator intervenes (corrects the source, or starts another key on a new archive). The archive is the
 * memory: a restart compares with the same newest archived window, so it holds the same windows. Batches
 * (batch-signer.ts) are made of archived windows only, so a held market holds its batches too.
 *
 * A hole is waited for: a window is not signed while a bar after the newest archived window's last bar (with an
 * empty archive, after the first bar due) is missing from the source's answer, as long as the source may still
 * give it: until MISSING_BAR_GRACE_BARS bar intervals after the close of the first bar the source has after the
 * hole (`missingBarWait`). An answer that lacks one closed bar N but has N + 1 (a page of an exchange's API
 * assembled mid-update) would otherwise sign the window of N + 1 with N marked missing, never sign the window of
 * N, and hold every later window once the source gives N again (a second value for a signed bar). Waiting, the
 * windows of N and N + 1 are signed normally once N comes, at the next poll. A bar still missing when the grace
 * period is over is one the exchange never produced (a maintenance halt): the windows after it are signed with
 * it missing (logged once), so a real gap delays signing by the grace period and never stops it. Each hole
 * waited for is logged once, and the poll's report lists it (`waiting`). The grace period is a function of the
 * clock and the bar's time only, so a restart waits for the same bars and no longer.
 *
 * The private key is used for signing only: it is never logged, and errors never carry it.
 */
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { Logger } from "pino";
import { buildWindow, windowBarFields, type Window, type WindowBarField } from "../../candles";
import { isoFromMs } from "../../core/time";
import { redactUrl } from "../../core/url";
import { latestClosedBar, type CandleSource } from "../../feeds";
import { ZkriskError } from "../../core/errors";
import type { CandleSeries } from "../../candles/types";
import { isHttpUrl } from "../../core/validate";
import type { PublisherKey } from "../keystore";
import { firstDisagreement, signWindow } from "../signed-window";
import type { ArchivedWindow, WindowArchive } from "./archive";
import type { PublisherMarketConfig } from "./config";
import { WINDOW_BARS } from "../../candles/window";
import type { PublisherMetrics } from "./metrics";

/** A market with its candle source. */
export interface SignerMarket extends PublisherMarketConfig {
  /** Where its candles come from. */
  reader: CandleSource;
}

/** A window signed during a poll. */
export interface SignedBar {
  market: string;
  /** Open time of the window's last bar, ms. */
  endTime: number;
  digest: bigint;
  file: string;
}

/** The source gives other candles for an archived window than the ones signed. */
export interface SourceDisagreement {
  market: string;
  /** The archived window's end time (its last bar's open time), ms. */
  endTime: number;
  /** The first differing field, as in the file (`bars[83].close`, `endTime`). */
  field: string;
  /** The differing bar's index in the window and open time (ms), when the field is a bar's. */
  bar?: { index: number; time: number };
  /** The value archived and the value the source gives now. */
  archived: string;
  source: string;
  message: string;
}

/** The first bar a window shares with an archived window whose signed value differs (`signedBarConflict`). */
export interface BarConflict {
  /** The bar's open time, ms. */
  time: number;
  /** The differing field of the bar: `missing`, `close`, `volume`, `high` or `low`. */
  field: "missing" | WindowBarField;
  /** The value signed in the archived window, and the value the new window holds, as in the files. */
  archived: string;
  source: string;
}

/** A market whose signing is held: windows not signed because they would sign another value for a bar. */
export interface SigningHold {
  market: string;
  /** End times (ms) of the first and the last window held in the poll, and how many were held. */
  windows: { first: number; last: number; count: number };
  /** The archived window the source contradicts: its file and its end time (ms). */
  archivedFile: string;
  archivedEndTime: number;
  /** The first window held's first differing bar. */
  conflict: BarConflict;
  /** One line naming the bar, the field, both values and the windows held. */
  message: string;
}

/**
 * Bar intervals a bar missing from the source's answer, between bars it has, is waited for after the close of the
 * first bar the source has after it: with 2-hour bars, a bar N missing while N + 1 has closed is waited for until
 * 2 hours after N + 1 closed (N + 3 intervals), at every poll meanwhile; after that the windows holding it are
 * signed with it missing. One interval: many polls for the source to fill a hole it has, never more than one
 * bar's delay for a gap the exchange really has, and well inside the `ZkriskPublisherBehind` alert's three bars.
 */
export const MISSING_BAR_GRACE_BARS = 1;

/**
 * Closed bars a market may be behind the clock before /health calls it `degraded` and a warning is logged: at least
 * this many bars have closed (by the signer's clock) after the newest archived window's last bar. Three, as the
 * `ZkriskPublisherBehind` alert (deploy/prometheus/alerts.yml, three 2-hour bars): more than a bar's wait for a
 * missing bar (MISSING_BAR_GRACE_BARS) and a poll's delay, and what a prover waiting for the quorum notices.
 */
export const BEHIND_BARS = 3;

/** Windows of a market not signed in a poll because the source's answer lacks bars it may still give. */
export interface MissingBarWait {
  market: string;
  /** Open times (ms) of the bars missing, oldest first. */
  bars: number[];
  /** End time (ms) of the first window waiting (the first bar the source has after them). */
  endTime: number;
  /** When the wait ends (ms by the signer's clock): the windows are then signed with the bars missing. */
  until: number;
}

/**
 * The wait for the bars missing before the window ending at bar `index` of `series`: the bars after `after` (ms)
 * and before it that the series lacks, and when the grace period for them ends (MISSING_BAR_GRACE_BARS intervals
 * after the bar at `index` closed); undefined when none is missing.
 */
export function missingBarWait(
  market: string,
  series: CandleSeries,
  index: number,
  after: number,
): MissingBarWait | undefined {
  const { candles, intervalMs } = series;
  const endTime = candles[index].time;
  const previous = Math.max(after, index > 0 ? candles[index - 1].time : after);
  if (endTime - previous <= intervalMs) return undefined;
  const bars: number[] = [];
  for (let t = previous + intervalMs; t < endTime; t += intervalMs) bars.push(t);
  return { market, bars, endTime, until: endTime + (1 + MISSING_BAR_GRACE_BARS) * intervalMs };
}

/** What one poll did. */
export interface PollReport {
  signed: SignedBar[];
  /** Disagreements found in this poll (each is reported once per process). */
  disagreements: SourceDisagreement[];
  /** Markets whose source could not be used, with the reason. */
  errors: { market: string; message: string }[];
  /** Markets whose signing is held in this poll (reported at every poll while it lasts). */
  held: SigningHold[];
  /** Markets whose next window waits for a bar missing from the source's answer (`missingBarWait`). */
  waiting: MissingBarWait[];
}

/** A market's state as /health shows it. */
export interface MarketStatus {
  /** When its source was last read, ms (undefined before the first poll). */
  lastPollAt?: number;
  /**
   * Why the last read could not be used, or why the last poll failed past the source (`failure`), or why signing
   * is held (`held.message`), or undefined when none of them.
   */
  lastError?: string;
  /**
   * Why the last poll of the market failed after reading its source (a window that could not be archived: a full
   * disk, a directory that became read-only; an archived window that does not check), or undefined when it did not.
   */
  failure?: string;
  /** The hold of the last poll that had windows due, or undefined when it signed them (see the file header). */
  held?: SigningHold;
  /**
   * Why the market is behind the clock (BEHIND_BARS closed bars or more without a signed window, at the last poll),
   * or undefined when it is not.
   */
  behind?: string;
}

/** Options of a signer. */
export interface SignerOptions {
  key: PublisherKey;
  archive: WindowArchive;
  markets: readonly SignerMarket[];
  metrics: PublisherMetrics;
  log: Logger;
  /** The clock that says which bars have closed, ms (default `Date.now`). */
  now?: () => number;
  /** Bars per signed window (default WINDOW_BARS). */
  bars?: number;
}

/** The bar field a disagreement is counted under: `bars[83].close` -> `close`, `endTime` -> `endTime`. */
function fieldLabel(field: string): string {
  return field.replace(/^bars\[\d+\]\./, "");
}

/**
 * The first bar `window` shares (by open time) with the archived window `archived` whose signed value differs:
 * the missing flag, then the close and the volume, then the high and the low where both windows sign them (the
 * range part of each). Undefined when every shared bar agrees. Both windows have the market's bar interval.
 */
export function signedBarConflict(archived: Window, window: Window): BarConflict | undefined {
  const n = archived.bars.length;
  const indexOf = new Map(archived.bars.map((bar, i) => [bar.time, i]));
  for (const [j, bar] of window.bars.entries()) {
    const i = indexOf.get(bar.time);
    if (i === undefined) continue;
    const old = archived.bars[i];
    const signedInNew = windowBarFields(window.bars.length, j);
    const shared = windowBarFields(n, i).filter((f) => signedInNew.includes(f));
    for (const field of ["missing", ...shared] as const) {
      if (old[field] !== bar[field]) {
        return { time: bar.time, field, archived: String(old[field]), source: String(bar[field]) };
      }
    }
  }
  return undefined;
}

/** A window held in a poll: its end time (ms), its first conflict, and the archived window it contradicts. */
interface HeldWindow {
  endTime: number;
  conflict: BarConflict;
  against: ArchivedWindow;
}

/** Index of the first candle opening at or after `time`. */
function firstAtOrAfter(series: CandleSeries, time: number): number {
  let lo = 0;
  let hi = series.candles.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (series.candles[mid].time < time) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Signs each new window of every market, once (see the file header). */
export class WindowSigner {
  private readonly now: () => number;
  private readonly bars: number;
  private readonly status = new Map<string, MarketStatus>();
  /** Per market: what was already logged (problems, skipped bars, disagreements), so each is logged once. */
  private readonly reported = new Map<string, Set<string>>();
  /** Per market failing its polls: how many polls in a row have failed. */
  private readonly failedPolls = new Map<string, number>();

  constructor(private readonly opts: SignerOptions) {
    this.now = opts.now ?? Date.now;
    this.bars = opts.bars ?? WINDOW_BARS;
    for (const m of opts.markets) {
      this.status.set(m.market, {});
      this.reported.set(m.market, new Set());
      opts.metrics.held.set({ market: m.market }, 0);
      opts.metrics.pollFailures.inc({ market: m.market }, 0);
      // From the archive at start, so the ZkriskPublisherBehind alert sees a market that signs nothing after it.
      const newest = opts.archive.latest(m.market);
      if (newest !== undefined) opts.metrics.lastSigned.set({ market: m.market }, newest / 1000);
    }
  }

  /**
   * Each market's last poll and error, its failure or its hold (as `lastError` too, so /health shows it
   * `degraded`).
   */
  marketStatus(market: string): MarketStatus {
    const status = { ...this.status.get(market) };
    return {
      ...status,
      lastError: status.lastError ?? status.failure ?? status.held?.message ?? status.behind,
    };
  }

  /**
   * Reads every market's source once and signs its new windows. A market whose poll fails (its archive cannot be
   * written or read) is logged, counted and shown by /health, and the other markets are polled all the same.
   * @param stopping checked between windows: when it returns true the poll ends early (shutdown).
   */
  async poll(stopping: () => boolean = () => false): Promise<PollReport> {
    const { log } = this.opts;
    const report: PollReport = { signed: [], disagreements: [], errors: [], held: [], waiting: [] };
    for (const m of this.opts.markets) {
      if (stopping()) break;
      const status = this.status.get(m.market)!;
      try {
        await this.pollMarket(m, report, stopping);
      } catch (err) {
        this.checkBehind(m);
        const message = this.shown(m, (err as Error).message);
        const fields = { market: m.market, err: message };
        // Logged at error level once per message (a full disk fails every poll alike), the repeats at debug.
        if (status.failure === message)
          log.debug(fields, "poll failed as before; trying again at the next poll");
        else log.error(fields, "poll failed; trying again at the next poll");
        status.failure = message;
        this.failedPolls.set(m.market, (this.failedPolls.get(m.market) ?? 0) + 1);
        this.opts.metrics.pollFailures.inc({ market: m.market });
        report.errors.push({ market: m.market, message });
        continue;
      }
      if (status.failure !== undefined) {
        log.info({ market: m.market, failedPolls: this.failedPolls.get(m.market) }, "poll succeeded again");
      }
      this.failedPolls.delete(m.market);
      status.failure = undefined;
      this.checkBehind(m);
    }
    return report;
  }

  /**
   * Records whether `m` is behind the clock: BEHIND_BARS closed bars or more after its newest archived window's last
   * bar (a source answering with old bars, a hold, a hole waited for, an archive that cannot be written). /health
   * shows it (`degraded`) while it lasts; it is logged at warn level when it starts, and at info when it ends.
   */
  private checkBehind(m: SignerMarket): void {
    const status = this.status.get(m.market)!;
    const newest = this.opts.archive.latest(m.market);
    // Bars closed after the newest archived one: the bar opening at newest + k intervals has closed for k < this.
    const closedSince = newest === undefined ? 0 : Math.floor((this.now() - newest) / m.intervalMs) - 1;
    if (newest === undefined || closedSince < BEHIND_BARS) {
      if (status.behind !== undefined) {
        this.opts.log.info({ market: m.market }, "signing caught up with the clock");
      }
      status.behind = undefined;
      return;
    }
    const newestClosed = newest + closedSince * m.intervalMs;
    const hours = (this.now() - newest - m.intervalMs) / 3_600_000;
    const message =
      `${m.market} is ${closedSince} bars behind: the newest signed window ends at the bar opening ` +
      `${isoFromMs(newest)} (closed ${hours.toFixed(1)} h ago), but by the clock bars up to the one opening ` +
      `${isoFromMs(newestClosed)} have closed; the source gives no newer usable bars, or their windows are held`;
    if (status.behind === undefined) {
      this.opts.log.warn(
        {
          market: m.market,
          bar: isoFromMs(newest),
          newestClosed: isoFromMs(newestClosed),
          bars: closedSince,
          reason: message,
        },
        "signing is behind the clock",
      );
    }
    status.behind = message;
  }

  /** `text` with the source's URL shown redacted (a query may hold an API key). */
  private shown(m: SignerMarket, text: string): string {
    const label = m.reader.label;
    return isHttpUrl(label) ? text.split(label).join(redactUrl(label)) : text;
  }

  /** Whether `key` is new for `market` (and remembers it). */
  private firstTime(market: string, key: string): boolean {
    const seen = this.reported.get(market)!;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  }

  private sourceProblem(m: SignerMarket, report: PollReport, message: string): void {
    const status = this.status.get(m.market)!;
    const shown = this.shown(m, message);
    this.opts.metrics.sourceErrors.inc({ market: m.market });
    report.errors.push({ market: m.market, message: shown });
    if (status.lastError !== shown) {
      this.opts.log.warn({ market: m.market, err: shown }, "candle source unusable; nothing signed for now");
    }
    status.lastError = shown;
  }

  private async pollMarket(m: SignerMarket, report: PollReport, stopping: () => boolean): Promise<void> {
    const { archive, log, metrics } = this.opts;
    const status = this.status.get(m.market)!;
    status.lastPollAt = this.now();
    const newest = archive.latest(m.market);
    // The bars the windows due need: from the newest archived window's first bar on (it is compared with the
    // source), or on a first start, the backfill's windows.
    const fromMs =
      newest === undefined
        ? this.now() - (m.backfillBars + this.bars) * m.intervalMs
        : newest - (this.bars - 1) * m.intervalMs;
    let series: CandleSeries;
    try {
      series = await m.reader.read({ fromMs });
    } catch (err) {
      if (!(err instanceof ZkriskError)) throw err;
      return this.sourceProblem(m, report, err.message);
    }
    if (series.intervalMs !== m.intervalMs) {
      return this.sourceProblem(
        m,
        report,
        `${series.source}: bars are ${series.intervalMs} ms apart, but the market's intervalMs is ${m.intervalMs}`,
      );
    }
    if (status.lastError !== undefined) log.info({ market: m.market }, "candle source usable again");
    status.lastError = undefined;

    const closed = latestClosedBar(series, this.now());
    if (closed === undefined) return;
    // The newest archived window: every signed bar a window ending after it can hold is one of its bars.
    let anchor = newest === undefined ? undefined : await archive.read(m.market, newest);
    const held: HeldWindow[] = [];
    let from: number;
    if (newest === undefined) {
      from = Math.max(0, closed - m.backfillBars + 1);
    } else {
      from = firstAtOrAfter(series, newest);
      const present = from < series.candles.length && series.candles[from].time === newest;
      if (!present && this.firstTime(m.market, `absent:${newest}`)) {
        log.warn(
          { market: m.market, bar: isoFromMs(newest) },
          "the source no longer has the bar of the newest archived window",
        );
      }
    }
    // Bars after this one missing from the answer are waited for (see the file header).
    const signedThrough = newest ?? series.candles[from]?.time;
    for (let i = from; i <= closed && !stopping(); i++) {
      const endTime = series.candles[i].time;
      if (archive.has(m.market, endTime)) {
        const d = await this.compare(m, series, i);
        if (d !== undefined) report.disagreements.push(d);
        continue;
      }
      const wait = missingBarWait(m.market, series, i, signedThrough);
      if (wait !== undefined && this.waitFor(m, wait, report)) break;
      let window: Window;
      try {
        window = buildWindow(series, m.marketId, i, this.bars);
      } catch (err) {
        if (!(err instanceof ZkriskError)) throw err;
        const reason = err.code === "DATA_INSUFFICIENT" ? "history" : "data";
        if (this.firstTime(m.market, `skip:${endTime}`)) {
          metrics.skipped.inc({ market: m.market, reason });
          log.warn(
            { market: m.market, bar: isoFromMs(endTime), reason: this.shown(m, err.message) },
            "bar not signed",
          );
        }
        continue;
      }
      if (anchor !== undefined) {
        const conflict = signedBarConflict(anchor.signed.window, window);
        if (conflict !== undefined) {
          held.push({ endTime, conflict, against: anchor });
          continue;
        }
      }
      const timer = metrics.signingSeconds.startTimer();
      const signed = await signWindow(this.opts.key, m.market, window);
      anchor = archive.put(m.market, signed);
      const { file } = anchor;
      timer();
      metrics.signed.inc({ market: m.market });
      metrics.lastSigned.set({ market: m.market }, endTime / 1000);
      report.signed.push({ market: m.market, endTime, digest: signed.digest, file });
      log.info(
        { market: m.market, bar: isoFromMs(endTime), digest: signed.digest.toString(), file },
        "signed window",
      );
      // Signing takes a fifth of a second of CPU: let the HTTP API answer between windows.
      await yieldToEventLoop();
    }
    // A poll cut short (shutdown) has not seen every window due: it neither holds nor resumes.
    if (anchor !== undefined && !stopping()) this.holdOrResume(m, held, anchor, report);
  }

  /**
   * Whether the window `wait.endTime` waits for the bars the source's answer lacks (in the report, logged once per
   * hole), or, the grace period over, is signed with them missing (logged once).
   */
  private waitFor(m: SignerMarket, wait: MissingBarWait, report: PollReport): boolean {
    const { log } = this.opts;
    const fields = {
      market: m.market,
      missing: wait.bars.map(isoFromMs),
      window: isoFromMs(wait.endTime),
      until: isoFromMs(wait.until),
    };
    if (this.now() < wait.until) {
      report.waiting.push(wait);
      if (this.firstTime(m.market, `wait:${wait.bars[0]}`)) {
        log.info(fields, "the source's answer lacks closed bars it has newer bars after: waiting for them");
      }
      return true;
    }
    if (this.firstTime(m.market, `gap:${wait.bars[0]}`)) {
      log.warn(
        fields,
        "the source has not given closed bars by the end of their grace period: signed as missing",
      );
    }
    return false;
  }

  /**
   * Records the windows of `m` held in this poll (none: the hold, if any, ends): the status /health shows, the
   * metrics, one error line per poll while held, and the poll's report.
   */
  private holdOrResume(
    m: SignerMarket,
    held: readonly HeldWindow[],
    anchor: ArchivedWindow,
    report: PollReport,
  ): void {
    const { log, metrics } = this.opts;
    const status = this.status.get(m.market)!;
    if (held.length === 0) {
      if (status.held !== undefined) {
        metrics.held.set({ market: m.market }, 0);
        log.info({ market: m.market }, "signing resumed: no window due contradicts a signed bar");
      }
      status.held = undefined;
      return;
    }
    for (const h of held) {
      if (this.firstTime(m.market, `held:${h.endTime}`)) metrics.windowsHeld.inc({ market: m.market });
    }
    const { conflict, against } = held[0];
    const archivedEndTime = against.signed.window.endTime;
    const [first, last] = [held[0].endTime, held[held.length - 1].endTime];
    // A window signed after the last one held (the disputed bar has left the window): the hold is over, and
    // the windows held are never signed (only bars after the newest archived one are).
    const passed = anchor.signed.window.endTime > last;
    const which =
      held.length === 1
        ? `the window ending ${isoFromMs(first)} is`
        : `${held.length} windows, ending ${isoFromMs(first)} to ${isoFromMs(last)}, are`;
    const until = passed
      ? `, nor ever will be: the bar has left the window since (signed up to ${isoFromMs(anchor.signed.window.endTime)})`
      : " until the source agrees again or the bar leaves the window";
    const hold: SigningHold = {
      market: m.market,
      windows: { first, last, count: held.length },
      archivedFile: against.file,
      archivedEndTime,
      conflict,
      message:
        `signing held: the source now gives bar ${isoFromMs(conflict.time)} ${conflict.field} ` +
        `${conflict.source}, but the window ending ${isoFromMs(archivedEndTime)} signed ${conflict.archived}; ` +
        `${which} not signed${until}`,
    };
    report.held.push(hold);
    log.error(
      {
        market: m.market,
        bar: isoFromMs(conflict.time),
        field: conflict.field,
        archived: conflict.archived,
        source: conflict.source,
        archivedWindow: against.file,
        heldWindows: held.length,
        firstHeld: isoFromMs(first),
        lastHeld: isoFromMs(last),
      },
      hold.message,
    );
    if (passed) {
      log.info({ market: m.market }, "signing resumed: no window due contradicts a signed bar");
      metrics.held.set({ market: m.market }, 0);
      status.held = undefined;
    } else {
      metrics.held.set({ market: m.market }, 1);
      status.held = hold;
    }
  }

  /** Compares the source's window for the archived bar `index` with the archived one. */
  private async compare(
    m: SignerMarket,
    series: CandleSeries,
    index: number,
  ): Promise<SourceDisagreement | undefined> {
    const endTime = series.candles[index].time;
    const archived = (await this.opts.archive.read(m.market, endTime))!;
    const n = archived.signed.window.bars.length;
    let d: Omit<SourceDisagreement, "market" | "endTime">;
    try {
      // The window as the source gives it now, of the archived window's length.
      const window = buildWindow(series, m.marketId, index, n);
      // firstDisagreement compares market and window only; the digest and signature are not read.
      const found = firstDisagreement(
        [archived.signed, { ...archived.signed, market: m.market, window }],
        [archived.file, this.shown(m, m.reader.label)],
      );
      if (found === undefined) return undefined;
      d = {
        field: found.field,
        bar: found.bar,
        archived: found.values[0],
        source: found.values[1],
        message: found.message,
      };
    } catch (err) {
      if (!(err instanceof ZkriskError)) throw err;
      const reason = this.shown(m, err.message);
      d = {
        field: "bars",
        archived: `${n} bars`,
        source: reason,
        message: `${archived.file}: the source cannot give this window any more: ${reason}`,
      };
    }
    const disagreement: SourceDisagreement = { market: m.market, endTime, ...d };
    if (!this.firstTime(m.market, `differs:${endTime}:${d.field}:${d.source}`)) return undefined;
    const { log, metrics } = this.opts;
    metrics.disagreements.inc({ market: m.market, field: fieldLabel(d.field) });
    metrics.lastDisagreementBar.set({ market: m.market }, (d.bar?.time ?? endTime) / 1000);
    log.warn(
      {
        market: m.market,
        window: isoFromMs(endTime),
        bar: d.bar === undefined ? undefined : isoFromMs(d.bar.time),
        field: d.field,
        archived: d.archived,
        source: d.source,
      },
      `the source disagrees with the archived window; the archived one stays: ${d.message}`,
    );
    return disagreement;
  }
}
