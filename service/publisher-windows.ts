/**
 * The signed windows of one bar from a market's publishers, and the quorum among them: for each scheduled
 * bar the service asks every configured publisher (`GET BASE/v1/windows/:market?at=END`, publisher/serve/
 * http.ts) for its signed window, checks each (digest and signature, market, end, interval, length, key in
 * the market's publisher set), and needs k windows, by k distinct registered keys, holding identical candles.
 *
 * Every publisher's answer gets one outcome (`FetchOutcome`), counted in the metrics and, unless `ok`,
 * logged with the publisher's URL: a disagreement names the first differing bar and field
 * (`firstDisagreement`, as `zkrisk prove --window` does). Windows signed by keys outside the set, with a bad
 * signature or otherwise malformed are ignored. When fewer than k agree, `collect` throws a `QuorumError`
 * saying what each publisher answered; it is `transient` when the publishers that did not answer (down, or not
 * signed the bar yet) could still make up the quorum, so the job is retried with backoff (a failed fetch is
 * retried as the service retries any step: `chain.retryBaseMs`, `chain.maxAttempts`), and final otherwise.
 */
import type { Logger } from "pino";
import { isoFromMs } from "../core/time";
import { redactUrl } from "../core/url";
import { ZkriskError } from "../core/errors";
import {
  comparePublicKeys,
  firstDisagreement,
  parseSignedWindow,
  PublisherFileError,
  SignatureError,
  type PublisherSet,
  type SignedWindow,
  type WindowDisagreement,
} from "../publisher";

/** What one publisher's answer for one bar came to. */
export type FetchOutcome =
  /** A valid window by a registered key, in the quorum's candles. */
  | "ok"
  /** A valid window by a registered key, but other candles than the quorum's. */
  | "disagree"
  /** The signature does not verify for the window's key. */
  | "bad_signature"
  /** Signed by a key that is not in the market's publisher set. */
  | "unregistered"
  /** Not a window of this market and bar (malformed, another market, end, interval or length; a key twice). */
  | "invalid"
  /** The publisher answered that it has not signed the bar (404 NOT_SIGNED; it may later). */
  | "not_signed"
  /** No answer within the timeout, a failed request, or an HTTP status other than 200 and NOT_SIGNED. */
  | "unreachable";

/** Every outcome, for metrics and docs. */
export const FETCH_OUTCOMES: readonly FetchOutcome[] = [
  "ok",
  "disagree",
  "bad_signature",
  "unregistered",
  "invalid",
  "not_signed",
  "unreachable",
];

/** One publisher's answer for one bar. */
export interface PublisherReport {
  /** The publisher's base URL (credentials and query values masked). */
  publisher: string;
  outcome: FetchOutcome;
  /** Why, for every outcome but `ok`. */
  detail?: string;
  /** For `disagree`: the first differing field against the quorum's window (without a quorum, another group's). */
  disagreement?: { field: string; bar?: { index: number; time: string }; values: [string, string] };
}

/** k agreeing windows of one bar. */
export interface Quorum {
  /** k windows by distinct registered keys, identical candles, in config order of their publishers. */
  windows: SignedWindow[];
  /** Their publishers' URLs (redacted), for messages. */
  names: string[];
  /** Every publisher's answer, in config order. */
  reports: PublisherReport[];
}

/** Fewer than k publishers gave agreeing windows of a bar. Code `NO_QUORUM`. */
export class QuorumError extends ZkriskError {
  constructor(
    message: string,
    /** Whether publishers that did not answer could still make up the quorum (retry later). */
    readonly transient: boolean,
    readonly reports: PublisherReport[],
  ) {
    super("NO_QUORUM", message);
  }
}

/** Where the windows of one market come from and what they must be. */
export interface PublisherWindowsOptions {
  /** The market's label (the windows' `market`, the path segment of the URL). */
  market: string;
  /** The market's publisher set (keys and quorum). */
  set: PublisherSet;
  /** Base URLs of the publishers (`zkrisk publisher serve`), in config order. */
  urls: readonly string[];
  /** Limit on one request (connect, headers and body), ms. */
  timeoutMs: number;
  /** Bar interval the windows must have, ms. */
  intervalMs: number;
  /** Bars every window must hold. */
  bars: number;
  /** Called once per publisher per bar with its outcome (metrics). */
  count?: (publisher: string, outcome: FetchOutcome) => void;
  log: Logger;
}

/** What one request gave. */
type Answer =
  { kind: "document"; doc: unknown } | { kind: "not_signed" | "unreachable" | "invalid"; detail: string };

/** Fetches and checks the signed windows of a market's bars from its publishers (see the file header). */
export class PublisherWindows {
  /** The publishers' URLs as shown in logs, metrics and job reasons. */
  readonly names: readonly string[];

  constructor(private readonly o: PublisherWindowsOptions) {
    this.names = o.urls.map((u) => redactUrl(u));
  }

  /** The URL of the window ending at `endTime` (ms) at publisher `i`. */
  windowUrl(i: number, endTime: number): string {
    const base = this.o.urls[i].replace(/\/+$/, "");
    return `${base}/v1/windows/${encodeURIComponent(this.o.market)}?at=${endTime}`;
  }

  /**
   * k agreeing windows of the bar opening at `endTime` (ms), asked of every publisher at once.
   * @throws QuorumError when fewer than k registered publishers gave identical candles.
   */
  async collect(endTime: number): Promise<Quorum> {
    const { set, market, log } = this.o;
    const k = set.quorum;
    const bar = isoFromMs(endTime);
    const answers = await Promise.all(this.o.urls.map((_, i) => this.fetch(i, endTime)));
    const reports: PublisherReport[] = [];
    /** Valid windows by registered keys: publisher index and window. */
    const valid: { i: number; sw: SignedWindow }[] = [];
    for (const [i, answer] of answers.entries()) {
      const publisher = this.names[i];
      if (answer.kind !== "document") {
        reports[i] = { publisher, outcome: answer.kind, detail: answer.detail };
        continue;
      }
      const checked = await this.check(answer.doc, i, endTime);
      if ("outcome" in checked) {
        reports[i] = { publisher, ...checked };
        continue;
      }
      const twin = valid.find((v) => comparePublicKeys(v.sw.publicKey, checked.publicKey) === 0);
      if (twin !== undefined) {
        reports[i] = {
          publisher,
          outcome: "invalid",
          detail: `signed by the same key as ${this.names[twin.i]} (one window per publisher key)`,
        };
        continue;
      }
      valid.push({ i, sw: checked });
    }

    // Group the valid windows by their candles; the largest group (the first, on a tie) is the quorum's.
    const groups: { i: number; sw: SignedWindow }[][] = [];
    for (const v of valid) {
      const group = groups.find((g) => firstDisagreement([g[0].sw, v.sw]) === undefined);
      if (group) group.push(v);
      else groups.push([v]);
    }
    const best = groups.reduce<{ i: number; sw: SignedWindow }[]>(
      (a, g) => (g.length > a.length ? g : a),
      [],
    );
    // With a quorum, the others disagree with it. Without one, no group is right: every window that some other
    // window contradicts disagrees (with the first window of another group).
    const quorate = best.length >= k;
    for (const v of valid) {
      const own = groups.find((g) => g.includes(v))!;
      const ref = quorate ? (own === best ? undefined : best[0]) : groups.find((g) => g !== own)?.[0];
      if (ref === undefined) {
        reports[v.i] = { publisher: this.names[v.i], outcome: "ok" };
        continue;
      }
      const d = firstDisagreement([ref.sw, v.sw], [this.names[ref.i], this.names[v.i]])!;
      reports[v.i] = { publisher: this.names[v.i], outcome: "disagree", ...disagreementDetail(d) };
    }

    for (const r of reports) {
      this.o.count?.(r.publisher, r.outcome);
      if (r.outcome === "ok") continue;
      const fields = { market, bar, publisher: r.publisher, outcome: r.outcome, detail: r.detail };
      if (r.disagreement === undefined) log.warn(fields, "publisher window not used");
      else {
        const { field, bar: differingBar, values } = r.disagreement;
        log.warn({ ...fields, field, differingBar, values }, "publisher disagrees");
      }
    }

    if (quorate) {
      const used = best.slice(0, k);
      return { windows: used.map((v) => v.sw), names: used.map((v) => this.names[v.i]), reports };
    }
    const pending = reports.filter((r) => r.outcome === "not_signed" || r.outcome === "unreachable").length;
    const answered = reports
      .map((r) => `${r.publisher}: ${r.outcome}${r.detail ? ` (${r.detail})` : ""}`)
      .join("; ");
    throw new QuorumError(
      `${market} bar ${bar}: ${best.length} agreeing signed window(s) by registered publishers, the publisher ` +
        `set needs ${k}: ${answered}`,
      best.length + pending >= k,
      reports,
    );
  }

  /** GET one publisher's window; never throws. */
  private async fetch(i: number, endTime: number): Promise<Answer> {
    const url = this.windowUrl(i, endTime);
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, {
        headers: { accept: "application/json" },
        signal: AbortSignal.timeout(this.o.timeoutMs),
      });
      text = await response.text();
    } catch (err) {
      if ((err as Error).name === "TimeoutError") {
        return { kind: "unreachable", detail: `no complete answer within ${this.o.timeoutMs} ms` };
      }
      const cause = (err as { cause?: unknown }).cause;
      const why = cause instanceof Error ? cause.message : (err as Error).message;
      return { kind: "unreachable", detail: `request failed: ${why}` };
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      if (response.status !== 200) return { kind: "unreachable", detail: `HTTP ${response.status}` };
      return { kind: "invalid", detail: `not valid JSON: ${(err as Error).message}` };
    }
    if (response.status === 200) return { kind: "document", doc };
    const body = doc as { error?: unknown; message?: unknown } | null;
    const said = typeof body?.message === "string" ? `: ${body.message}` : "";
    if (response.status === 404 && body?.error === "NOT_SIGNED") {
      return { kind: "not_signed", detail: `HTTP 404 NOT_SIGNED${said}` };
    }
    const code = typeof body?.error === "string" ? ` ${body.error}` : "";
    return { kind: "unreachable", detail: `HTTP ${response.status}${code}${said}` };
  }

  /** The window of a 200 answer, or why it is not used. */
  private async check(
    doc: unknown,
    i: number,
    endTime: number,
  ): Promise<SignedWindow | { outcome: FetchOutcome; detail: string }> {
    const { market, set } = this.o;
    let sw: SignedWindow;
    try {
      sw = await parseSignedWindow(doc, this.windowUrl(i, endTime));
    } catch (err) {
      if (err instanceof SignatureError) return { outcome: "bad_signature", detail: err.message };
      if (err instanceof PublisherFileError) return { outcome: "invalid", detail: err.message };
      throw err;
    }
    const w = sw.window;
    const wrong =
      sw.market !== market
        ? `holds market ${JSON.stringify(sw.market)}, not ${JSON.stringify(market)}`
        : w.endTime !== endTime
          ? `ends at the bar opening ${isoFromMs(w.endTime)}, not ${isoFromMs(endTime)}`
          : w.intervalMs !== this.o.intervalMs
            ? `has bars of ${w.intervalMs} ms, the model reads bars of ${this.o.intervalMs} ms`
            : w.bars.length !== this.o.bars
              ? `holds ${w.bars.length} bars, the circuit reads ${this.o.bars}`
              : undefined;
    if (wrong !== undefined) return { outcome: "invalid", detail: `the window ${wrong}` };
    if (!set.keys.some((key) => comparePublicKeys(key, sw.publicKey) === 0)) {
      return {
        outcome: "unregistered",
        detail: `signed by key (Ax ${sw.publicKey.Ax}), which is not in the market's publisher set`,
      };
    }
    return sw;
  }
}

/** A disagreement's log and report fields. */
function disagreementDetail(d: WindowDisagreement): Pick<PublisherReport, "detail" | "disagreement"> {
  return {
    detail: d.message,
    disagreement: {
      field: d.field,
      ...(d.bar ? { bar: { index: d.bar.index, time: isoFromMs(d.bar.time) } } : {}),
      values: d.values,
    },
  };
}
