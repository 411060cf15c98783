/**
 * The signed windows of one bar from a market's publishers, and the quorum among them: for each scheduled
 * bar the service asks every configured publisher (`GET BASE/v1/windows/:market?at=END`, publisher/serve/
 * http.ts) for its signed window, checks each (market, end, interval, length and key in the market's publisher set
 * first, from the document as read, then digest and signature), and needs k windows, by k distinct registered keys,
 * holding identical candles.
 * A batch's signed batches (`GET BASE/v1/batches/:batch?at=END`: one signature over the windows of all its
 * markets at one bar close) are collected the same way (`PublisherBatches`): each must hold exactly the
 * batch's markets, each window ending at the bar.
 *
 * Every publisher's answer gets one outcome (`FetchOutcome`), counted in the metrics and, unless `ok`,
 * logged with the publisher's URL: a disagreement names the first differing bar and field
 * (`firstDisagreement`, as `zkrisk prove --window` does; for a batch also the market). Windows signed by keys
 * outside the set, with a bad signature or otherwise malformed are ignored. When fewer than k agree, `collect`
 * throws a `QuorumError` saying what each publisher answered; it is `transient` when the publishers that did
 * not answer (down, or not signed the bar yet) could still make up the quorum, so the job waits for them and asks
 * again, spending no attempt, until the bar's deadline (`publishers.waitSeconds`; job-runner.ts,
 * `waitForPublishers`), and final otherwise. The quorums of the last bars found are held, so a proof made again for
 * its bar while it is submitted (an adaptive prior that moved) asks no publisher (`collect`'s `again`).
 *
 * One faulty publisher must not cost the service more than an honest one: a redirect is refused (a publisher is asked
 * at its configured URL only), an answer is read up to {@link SIGNED_ANSWER_MAX_BYTES} (after decompression), and a
 * document is checked against the bar (`precheck`: market, end, interval, number of bars; for a batch its markets) and
 * its key against the set before any Poseidon digest is computed, so an answer costs at most the digests of a valid
 * one. What a publisher wrote that a report quotes (an error's `message`, a field name, a value) is one line, cut
 * short (an error's `message` to 200 characters).
 */
import type { Logger } from "pino";
import { isoFromMs } from "../core/time";
import { redactUrl, redactUrlsIn } from "../core/url";
import { ZkriskError } from "../core/errors";
import { quoted, readCappedBody } from "../core/http-body";
import { preview } from "../core/validate";
import { JsonTextError, parseJsonText } from "../core/json-text";
import {
  comparePublicKeys,
  firstBatchDisagreement,
  firstDisagreement,
  parseSignedBatch,
  parseSignedWindow,
  PublisherFileError,
  SignatureError,
  type PublicKey,
  type PublisherSet,
  type SignedBatch,
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

/** k agreeing signed windows of one bar. */
export interface Quorum {
  /** k windows by distinct registered keys, identical candles, in config order of their publishers. */
  windows: SignedWindow[];
  /** Their publishers' URLs (redacted), for messages. */
  names: string[];
  /** Every publisher's answer, in config order. */
  reports: PublisherReport[];
}

/** k agreeing signed batches of one bar close. */
export interface BatchQuorum {
  /** k batches by distinct registered keys, identical candles, in config order of their publishers. */
  batches: SignedBatch[];
  /** Their publishers' URLs (redacted), for messages. */
  names: string[];
  /** Every publisher's answer, in config order. */
  reports: PublisherReport[];
}

/** Fewer than k publishers gave agreeing windows of a bar. Code `NO_QUORUM`. */
export class QuorumError extends ZkriskError {
  constructor(
    message: string,
    /** Whether publishers that did not answer could still make up the quorum (ask again later). */
    readonly transient: boolean,
    readonly reports: PublisherReport[],
  ) {
    super("NO_QUORUM", message);
  }
}

/** Where the signed windows of one market (or the signed batches of one batch) come from and what they must be. */
export interface PublisherWindowsOptions {
  /** The market's label (the windows' `market`, the path segment of the URL); for a batch, the batch's label. */
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

/** A bar's quorum: the k agreeing signed documents, their publishers' names, and what every publisher answered. */
interface Found<T> {
  signed: T[];
  names: string[];
  reports: PublisherReport[];
}

/**
 * Bars whose quorum a market's (or batch's) publisher client holds for proofs made again: a job is proved again only
 * while it is submitted, and the jobs a service has in flight are its newest bars.
 */
const HELD_BARS = 16;

/**
 * The most bytes of a publisher's answer read, after decompression: a signed batch of 32 markets (the most a batch
 * holds) of 85-bar windows is about 480 KB as a publisher serves it (indented, real candles), 550 KB with every value
 * at its bound (test/service/publisher-batches.test.ts), a signed window 10 to 20 KB. The rest of a longer answer is
 * cancelled, never downloaded, so an endless body or a gzip bomb costs no more memory than this.
 */
export const SIGNED_ANSWER_MAX_BYTES = 1024 * 1024;

/** The most characters of one report's `detail` (it quotes what a publisher wrote: a field name, a value). */
const DETAIL_CHARS = 2_000;

/** The most characters of a publisher's error code (`{"error": CODE}`) a detail quotes. */
const ERROR_CODE_CHARS = 64;

/** What one request gave. */
type Answer =
  { kind: "document"; doc: unknown } | { kind: "not_signed" | "unreachable" | "invalid"; detail: string };

/** Where two signed documents of one bar first differ (a window's or a batch's disagreement). */
type Disagreement = Pick<WindowDisagreement, "field" | "bar" | "values" | "message">;

/** What is asked of the publishers: signed windows of a market, or signed batches of a batch. */
interface SignedKind<T extends { publicKey: PublicKey }> {
  /** What one document is, in messages: "window" or "batch". */
  noun: "window" | "batch";
  /** The route under a publisher's base URL, before `?at=` (`/v1/windows/BTC-USDT`). */
  path: string;
  /**
   * Why a document, as parsed from JSON and not yet checked, is not one of the bar opening at `endTime` (ms), or
   * undefined: cheap, no digest. A field of another type than a signed document's is left to `parse`, which refuses it
   * before any digest, so a document that `parse` accepts was checked here in full.
   */
  precheck(doc: unknown, endTime: number): string | undefined;
  /**
   * The document read and verified (digest and signature); `url` (redacted) names it in messages.
   * @throws SignatureError, PublisherFileError
   */
  parse(doc: unknown, url: string): Promise<T>;
  /** Where `b` first differs from `a` (undefined when they hold identical candles). */
  disagreement(a: T, b: T, names: [string, string]): Disagreement | undefined;
}

/**
 * Fetches and checks the signed documents of a bar from every publisher and finds the quorum among them (see
 * the file header); `PublisherWindows` and `PublisherBatches` say what is fetched.
 */
class PublisherQuorum<T extends { publicKey: PublicKey }> {
  /** The publishers' URLs as shown in logs, metrics and job reasons. */
  readonly names: readonly string[];
  /**
   * The quorums of the last bars found (`HELD_BARS`, by the bar's `endTime`), in the order found: what a proof
   * made again for its bar takes (`quorumOf`), signed data that a later answer cannot make less valid.
   */
  private readonly found = new Map<number, Found<T>>();

  constructor(
    protected readonly o: PublisherWindowsOptions,
    private readonly kind: SignedKind<T>,
  ) {
    this.names = o.urls.map((u) => redactUrl(u));
  }

  /**
   * The URL of the document ending at `endTime` (ms) at publisher `i`: the route joined onto the base URL's path,
   * `at` added to its query (`http://host/feed/?key=K` gives `http://host/feed/v1/windows/BTC-USDT?key=K&at=...`).
   */
  protected urlOf(i: number, endTime: number): string {
    const url = new URL(this.o.urls[i]);
    url.pathname = url.pathname.replace(/\/+$/, "") + this.kind.path;
    url.search = `${url.search === "" ? "?" : `${url.search}&`}at=${endTime}`;
    url.hash = "";
    return url.toString();
  }

  /**
   * The bar's quorum (`quorum`); with `again`, the one this process last found for the bar when it holds one, no
   * publisher asked. For a proof made again for a bar it proved (an adaptive update's prior moved): its signed
   * documents are as valid as when they were checked, and a publisher that went down since is not needed.
   * @throws QuorumError as `quorum`
   */
  protected quorumOf(endTime: number, again: boolean): Promise<Found<T>> {
    const found = again ? this.found.get(endTime) : undefined;
    return found === undefined ? this.quorum(endTime) : Promise.resolve(found);
  }

  /**
   * k agreeing documents of the bar opening at `endTime` (ms), asked of every publisher at once.
   * @throws QuorumError when fewer than k registered publishers gave identical candles.
   */
  protected async quorum(endTime: number): Promise<Found<T>> {
    const { set, market, log } = this.o;
    const { noun } = this.kind;
    const k = set.quorum;
    const bar = isoFromMs(endTime);
    const answers = await Promise.all(this.o.urls.map((_, i) => this.fetch(i, endTime)));
    const reports: PublisherReport[] = [];
    /** Valid documents by registered keys: publisher index and document. */
    const valid: { i: number; sw: T }[] = [];
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
          detail: `signed by the same key as ${this.names[twin.i]} (one ${noun} per publisher key)`,
        };
        continue;
      }
      valid.push({ i, sw: checked });
    }

    // Group the valid documents by their candles; the largest group (the first, on a tie) is the quorum's.
    const differ = (a: { i: number; sw: T }, b: { i: number; sw: T }) =>
      this.kind.disagreement(a.sw, b.sw, [this.names[a.i], this.names[b.i]]);
    const groups: { i: number; sw: T }[][] = [];
    for (const v of valid) {
      const group = groups.find((g) => differ(g[0], v) === undefined);
      if (group) group.push(v);
      else groups.push([v]);
    }
    const best = groups.reduce<{ i: number; sw: T }[]>((a, g) => (g.length > a.length ? g : a), []);
    // With a quorum, the others disagree with it. Without one, no group is right: every document that some other
    // document contradicts disagrees (with the first document of another group).
    const quorate = best.length >= k;
    for (const v of valid) {
      const own = groups.find((g) => g.includes(v))!;
      const ref = quorate ? (own === best ? undefined : best[0]) : groups.find((g) => g !== own)?.[0];
      if (ref === undefined) {
        reports[v.i] = { publisher: this.names[v.i], outcome: "ok" };
        continue;
      }
      reports[v.i] = {
        publisher: this.names[v.i],
        outcome: "disagree",
        ...disagreementDetail(differ(ref, v)!),
      };
    }

    for (const r of reports) {
      // A detail may quote a URL with its query's key (fetch's errors, a document's label): shown redacted. It may
      // quote what a publisher wrote (a field name, a value), so it is one line, cut short.
      if (r.detail !== undefined) r.detail = redactUrlsIn(quoted(r.detail, DETAIL_CHARS));
      this.o.count?.(r.publisher, r.outcome);
      if (r.outcome === "ok") continue;
      const fields = { market, bar, publisher: r.publisher, outcome: r.outcome, detail: r.detail };
      if (r.disagreement === undefined) log.warn(fields, `publisher ${noun} not used`);
      else {
        const { field, bar: differingBar, values } = r.disagreement;
        log.warn({ ...fields, field, differingBar, values }, "publisher disagrees");
      }
    }

    if (quorate) {
      const used = best.slice(0, k);
      const found = { signed: used.map((v) => v.sw), names: used.map((v) => this.names[v.i]), reports };
      this.found.delete(endTime);
      this.found.set(endTime, found);
      if (this.found.size > HELD_BARS) this.found.delete(this.found.keys().next().value!);
      return found;
    }
    const pending = reports.filter((r) => r.outcome === "not_signed" || r.outcome === "unreachable").length;
    const answered = reports
      .map((r) => `${r.publisher}: ${r.outcome}${r.detail ? ` (${r.detail})` : ""}`)
      .join("; ");
    throw new QuorumError(
      `${market} bar ${bar}: ${best.length} agreeing signed ${noun}(s) by registered publishers, the publisher ` +
        `set needs ${k}: ${answered}`,
      best.length + pending >= k,
      reports,
    );
  }

  /** GET one publisher's document; never throws. */
  private async fetch(i: number, endTime: number): Promise<Answer> {
    const url = this.urlOf(i, endTime);
    const { timeoutMs } = this.o;
    const signal = AbortSignal.timeout(timeoutMs);
    const timedOut: Answer = { kind: "unreachable", detail: `no complete answer within ${timeoutMs} ms` };
    let response: Response;
    try {
      // A redirect is refused (`unexpected redirect`): a publisher is asked at its configured URL only.
      response = await fetch(url, { headers: { accept: "application/json" }, redirect: "error", signal });
    } catch (err) {
      if ((err as Error).name === "TimeoutError") return timedOut;
      const cause = (err as { cause?: unknown }).cause;
      const why = cause instanceof Error ? cause.message : (err as Error).message;
      return { kind: "unreachable", detail: `request failed: ${why}` };
    }
    const body = await readCappedBody(response, SIGNED_ANSWER_MAX_BYTES);
    if (body.kind === "failed") {
      return signal.aborted ? timedOut : { kind: "unreachable", detail: `request failed: ${body.reason}` };
    }
    if (body.kind === "over") {
      // A 200 that long is no signed document (it will not become one); another status is counted as unreachable.
      return {
        kind: response.status === 200 ? "invalid" : "unreachable",
        detail:
          `HTTP ${response.status}: ${redactUrl(url)} answered more than ${SIGNED_ANSWER_MAX_BYTES} bytes (the ` +
          `most read of a publisher's answer), not read`,
      };
    }
    let doc: unknown;
    try {
      // a document named by its URL, as `check` names it
      doc = parseJsonText(body.text, redactUrl(url));
    } catch (err) {
      if (!(err instanceof JsonTextError)) throw err;
      if (response.status !== 200) return { kind: "unreachable", detail: `HTTP ${response.status}` };
      // `url: line L, column C: not valid JSON: ...` or `... duplicate key 'k' (first at line L)`
      return { kind: "invalid", detail: err.message };
    }
    if (response.status === 200) return { kind: "document", doc };
    const error = field(doc, "error");
    const message = field(doc, "message");
    // the publisher's own words, one line each, cut short: they go into job reasons and logs
    const said = typeof message === "string" ? `: ${quoted(message)}` : "";
    if (response.status === 404 && error === "NOT_SIGNED") {
      return { kind: "not_signed", detail: `HTTP 404 NOT_SIGNED${said}` };
    }
    const code = typeof error === "string" ? ` ${quoted(error, ERROR_CODE_CHARS)}` : "";
    return { kind: "unreachable", detail: `HTTP ${response.status}${code}${said}` };
  }

  /** The document of a 200 answer, or why it is not used. */
  private async check(
    doc: unknown,
    i: number,
    endTime: number,
  ): Promise<T | { outcome: FetchOutcome; detail: string }> {
    // Before any digest: the bar, then the key as the document states it.
    const wrong = this.kind.precheck(doc, endTime);
    if (wrong !== undefined) return { outcome: "invalid", detail: wrong };
    const stated = statedKey(doc);
    if (stated !== undefined && !this.registered(stated)) return this.unregistered(stated);
    let signed: T;
    try {
      signed = await this.kind.parse(doc, redactUrl(this.urlOf(i, endTime)));
    } catch (err) {
      if (err instanceof SignatureError) return { outcome: "bad_signature", detail: err.message };
      if (err instanceof PublisherFileError) return { outcome: "invalid", detail: err.message };
      throw err;
    }
    // a key written otherwise than `statedKey` reads (leading zeros...), checked once parsed
    if (!this.registered(signed.publicKey)) return this.unregistered(signed.publicKey);
    return signed;
  }

  /** Whether `key` is in the publisher set. */
  private registered(key: PublicKey): boolean {
    return this.o.set.keys.some((k) => comparePublicKeys(k, key) === 0);
  }

  /** The outcome of a document signed by `key`, outside the publisher set. */
  private unregistered(key: PublicKey): { outcome: FetchOutcome; detail: string } {
    return {
      outcome: "unregistered",
      detail:
        `signed by key (Ax ${key.Ax}), which is not in the ` +
        `${this.kind.noun === "window" ? "market" : "batch"}'s publisher set`,
    };
  }
}

/** `value[key]` when `value` is a JSON object that has it, else undefined (any other value: no throw). */
function field(value: unknown, key: string): unknown {
  return typeof value === "object" && value !== null && !Array.isArray(value) && Object.hasOwn(value, key)
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

/** A field element as a document writes it: a decimal string of at most 78 digits (p has 77). */
const KEY_DECIMAL = /^\d{1,78}$/;

/** The public key a document states (`publicKey.Ax`, `Ay`, decimal strings), or undefined when it states none so. */
function statedKey(doc: unknown): PublicKey | undefined {
  const pk = field(doc, "publicKey");
  const [Ax, Ay] = [field(pk, "Ax"), field(pk, "Ay")];
  if (typeof Ax !== "string" || typeof Ay !== "string" || !KEY_DECIMAL.test(Ax) || !KEY_DECIMAL.test(Ay)) {
    return undefined;
  }
  return { Ax: BigInt(Ax), Ay: BigInt(Ay) };
}

/** `ms` since the epoch as ISO 8601, or as a number when no Date holds it (a document's value, not yet checked). */
function isoOrMs(ms: number): string {
  return Number.isInteger(ms) && Math.abs(ms) <= 8.64e15 ? isoFromMs(ms) : `${ms} ms`;
}

/**
 * Why a window document (a signed window, or a market of a signed batch), as parsed from JSON and not yet checked, is
 * not the window of `market` ending at the bar opening at `endTime` (ms) with the interval and length the service
 * reads, or undefined. Fields of another type than a window's are left to the parser.
 */
function wrongWindow(
  o: PublisherWindowsOptions,
  market: string,
  doc: unknown,
  endTime: number,
): string | undefined {
  const [stated, end, interval, bars] = ["market", "endTime", "intervalMs", "bars"].map((k) => field(doc, k));
  if (typeof stated === "string" && stated !== market) {
    return `holds market ${preview(stated)}, not ${JSON.stringify(market)}`;
  }
  if (typeof end === "number" && end !== endTime) {
    return `ends at the bar opening ${isoOrMs(end)}, not ${isoFromMs(endTime)}`;
  }
  if (typeof interval === "number" && interval !== o.intervalMs) {
    return `has bars of ${interval} ms, the model reads bars of ${o.intervalMs} ms`;
  }
  if (Array.isArray(bars) && bars.length !== o.bars)
    return `holds ${bars.length} bars, the circuit reads ${o.bars}`;
  return undefined;
}

/** Fetches and checks the signed windows of a market's bars from its publishers (see the file header). */
export class PublisherWindows extends PublisherQuorum<SignedWindow> {
  constructor(o: PublisherWindowsOptions) {
    super(o, {
      noun: "window",
      path: `/v1/windows/${encodeURIComponent(o.market)}`,
      precheck: (doc, endTime) => {
        const why = wrongWindow(o, o.market, doc, endTime);
        return why === undefined ? undefined : `the window ${why}`;
      },
      parse: parseSignedWindow,
      disagreement: (a, b, names) => firstDisagreement([a, b], names),
    });
  }

  /** The URL of the window ending at `endTime` (ms) at publisher `i`. */
  windowUrl(i: number, endTime: number): string {
    return this.urlOf(i, endTime);
  }

  /**
   * k agreeing windows of the bar opening at `endTime` (ms), asked of every publisher at once; with `again` (a
   * proof made again), the ones this process last found for the bar, when it holds them (`quorumOf`).
   * @throws QuorumError when fewer than k registered publishers gave identical candles.
   */
  async collect(endTime: number, again = false): Promise<Quorum> {
    const q = await this.quorumOf(endTime, again);
    return { windows: q.signed, names: q.names, reports: q.reports };
  }
}

/** What a batch's signed batches must hold besides `PublisherWindowsOptions` (`market` is the batch's label). */
export interface PublisherBatchesOptions extends PublisherWindowsOptions {
  /** The batch's markets (labels), in any order: every signed batch must hold exactly these. */
  markets: readonly string[];
}

/** Fetches and checks the signed batches of a batch's bar closes from its publishers (see the file header). */
export class PublisherBatches extends PublisherQuorum<SignedBatch> {
  constructor(o: PublisherBatchesOptions) {
    const wanted = [...o.markets].sort();
    super(o, {
      noun: "batch",
      path: `/v1/batches/${encodeURIComponent(o.market)}`,
      precheck: (doc, endTime) => {
        const markets = field(doc, "markets");
        if (!Array.isArray(markets)) return undefined;
        if (markets.length !== wanted.length) {
          return `the batch holds ${markets.length} markets, not the batch's ${wanted.length} (${wanted.join(", ")})`;
        }
        const seen = new Set<string>();
        for (const m of markets) {
          const label = field(m, "market");
          if (typeof label !== "string") continue;
          if (!wanted.includes(label)) {
            return `the batch holds market ${preview(label)}, not one of the batch's (${wanted.join(", ")})`;
          }
          if (seen.has(label)) return `the batch holds market ${label} twice`;
          seen.add(label);
          const why = wrongWindow(o, label, m, endTime);
          if (why !== undefined) return `the window of ${label} ${why}`;
        }
        return undefined;
      },
      parse: parseSignedBatch,
      disagreement: (a, b, names) => firstBatchDisagreement([a, b], names),
    });
  }

  /**
   * k agreeing signed batches of the bar close whose windows' last bar opens at `endTime` (ms), asked of every
   * publisher at once; `again` as for `PublisherWindows.collect`.
   * @throws QuorumError when fewer than k registered publishers gave identical candles.
   */
  async collect(endTime: number, again = false): Promise<BatchQuorum> {
    const q = await this.quorumOf(endTime, again);
    return { batches: q.signed, names: q.names, reports: q.reports };
  }
}

/** A disagreement's log and report fields. */
function disagreementDetail(d: Disagreement): Pick<PublisherReport, "detail" | "disagreement"> {
  return {
    detail: d.message,
    disagreement: {
      field: d.field,
      ...(d.bar ? { bar: { index: d.bar.index, time: isoFromMs(d.bar.time) } } : {}),
      values: d.values,
    },
  };
}
