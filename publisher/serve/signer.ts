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
 * naming the bar and the field (`firstDisagreement`). The private key is used for signing only: it is never
 * logged, and errors never carry it.
 */
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { Logger } from "pino";
import { buildWindow, type Window } from "../../candles";
import { isoFromMs } from "../../core/time";
import { redactUrl } from "../../core/url";
import { latestClosedBar, type CandleSource } from "../../feeds";
import { ZkriskError } from "../../core/errors";
import type { CandleSeries } from "../../candles/types";
import { isHttpUrl } from "../../core/validate";
import type { PublisherKey } from "../keystore";
import { firstDisagreement, signWindow } from "../signed-window";
import type { WindowArchive } from "./archive";
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

/** What one poll did. */
export interface PollReport {
  signed: SignedBar[];
  /** Disagreements found in this poll (each is reported once per process). */
  disagreements: SourceDisagreement[];
  /** Markets whose source could not be used, with the reason. */
  errors: { market: string; message: string }[];
}

/** A market's state as /health shows it. */
export interface MarketStatus {
  /** When its source was last read, ms (undefined before the first poll). */
  lastPollAt?: number;
  /** Why the last read could not be used, or undefined when it could. */
  lastError?: string;
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

  constructor(private readonly opts: SignerOptions) {
    this.now = opts.now ?? Date.now;
    this.bars = opts.bars ?? WINDOW_BARS;
    for (const m of opts.markets) {
      this.status.set(m.market, {});
      this.reported.set(m.market, new Set());
    }
  }

  /** Each market's last poll and error. */
  marketStatus(market: string): MarketStatus {
    return { ...this.status.get(market) };
  }

  /**
   * Reads every market's source once and signs its new windows.
   * @param stopping checked between windows: when it returns true the poll ends early (shutdown).
   */
  async poll(stopping: () => boolean = () => false): Promise<PollReport> {
    const report: PollReport = { signed: [], disagreements: [], errors: [] };
    for (const m of this.opts.markets) {
      if (stopping()) break;
      await this.pollMarket(m, report, stopping);
    }
    return report;
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
    let series: CandleSeries;
    try {
      series = await m.reader.read();
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
    const newest = archive.latest(m.market);
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
    for (let i = from; i <= closed && !stopping(); i++) {
      const endTime = series.candles[i].time;
      if (archive.has(m.market, endTime)) {
        const d = await this.compare(m, series, i);
        if (d !== undefined) report.disagreements.push(d);
        continue;
      }
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
      const timer = metrics.signingSeconds.startTimer();
      const signed = await signWindow(this.opts.key, m.market, window);
      const { file } = archive.put(m.market, signed);
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
