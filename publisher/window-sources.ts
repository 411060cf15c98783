/**
 * Where an auditor finds the signed windows of a bar: the publishers' archives over HTTP (`zkrisk publisher
 * serve`, GET /v1/windows/:market?at=MS) and directories of signed window files (what `zkrisk publisher sign`
 * writes, or a copy of a publisher's archive, `ARCHIVE/<market>/<endTime ms>.json`). Signed batches (what
 * `zkrisk publisher sign --batch` writes) are found in directories only: a publisher's HTTP API serves single
 * windows, not batches.
 *
 * Every window or batch found is checked as a file is (signed-window.ts `parseSignedWindow`, signed-batch.ts
 * `parseSignedBatch`: fields, digests of the bars, signature; in this thread or in worker threads:
 * document-checks.ts), and each lookup says which of three things it is:
 *   found    a document that checks (it may still be for other candles than an update's: the caller compares digests);
 *   invalid  a document for that market and bar that does not check (edited candles, a broken signature): evidence;
 *   absent   nothing for that bar there, the source cannot be reached, or a document of a file version this reader
 *            does not read (a version 2 window, of digest layout v2, signed before layout v3): missing evidence,
 *            not evidence.
 * A publisher's answer is read up to {@link PUBLISHER_MAX_ANSWER_BYTES}: one that fails mid-body (a reset, the
 * timeout) is a publisher that cannot be reached, and one that is longer is no document that could be checked (it is
 * not read: a broken or hostile server, not a signed window that fails its checks), so both are `absent`. A redirect
 * is not followed (a publisher is read at the URL the auditor gave, as the prover service reads it): `absent`, naming
 * where it pointed.
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { marketIdOf } from "../candles/market-id";
import { isoFromMs } from "../core/time";
import { quoted, readCappedBody, type CappedBody } from "../core/http-body";
import { retryAfterMs } from "../core/retry-after";
import { UsageError } from "../core/errors";
import { readJsonFile } from "../core/io";
import { JsonTextError, parseJsonText } from "../core/json-text";
import { PublisherFileError } from "./errors";
import {
  IN_THREAD,
  type BatchLookup,
  type DocumentChecks,
  type NotFound,
  type WindowLookup,
} from "./document-checks";

export type { BatchLookup, NotFound, WindowLookup } from "./document-checks";

/** A place signed windows are looked up in. */
export interface WindowSource {
  /** The source as the user named it (a URL or a directory), for messages. */
  readonly name: string;
  /**
   * Every window this source holds for `market` (label, e.g. "BTC-USDT"; `marketId` its field element)
   * ending at the bar that opens at `endTimeMs`; at least one lookup (an `absent` one when there is none).
   */
  lookup(market: string, marketId: bigint, endTimeMs: number): Promise<WindowLookup[]>;
}

/** A place signed batches are looked up in. */
export interface BatchSource {
  /** The source as the user named it (a directory), for messages. */
  readonly name: string;
  /**
   * Every signed batch this source holds with a window of `market` (label; `marketId` its field element) ending
   * at the bar that opens at `endTimeMs`; at least one lookup (an `absent` one when there is none).
   */
  lookupBatches(market: string, marketId: bigint, endTimeMs: number): Promise<BatchLookup[]>;
}

/** Time allowed for one publisher request, ms (the answer's body included). */
export const PUBLISHER_TIMEOUT_MS = 15_000;

/**
 * Lookups in a row that found a publisher unreachable (timed out, refused, reset) before it is taken as down: then
 * it is asked again only once every {@link PUBLISHER_PROBE_MS}, and the lookups between are absent at once. An
 * audit of a year with a publisher down for a month would otherwise wait its timeout at every update (15 s each:
 * 36 hours for 8,760 updates).
 */
export const PUBLISHER_DOWN_AFTER = 3;
export const PUBLISHER_PROBE_MS = 30_000;

/**
 * The most bytes of a publisher's answer read, after decompression: a signed window is tens of KB (a signed batch of
 * 8 markets some hundreds), so 4 MiB is ample; the rest of a longer answer is cancelled, never downloaded, so an
 * endless body or a gzip bomb costs the auditor no more memory than this.
 */
export const PUBLISHER_MAX_ANSWER_BYTES = 4 * 1024 * 1024;

/** A publisher's archive behind its HTTP API (`zkrisk publisher serve`). */
export class PublisherArchiveSource implements WindowSource {
  readonly name: string;
  private readonly base: URL;
  /** Lookups in a row that found the publisher unreachable; since when it is taken as down, and last asked. */
  private unreachableInRow = 0;
  private down: { since: number; askedAt: number } | undefined;

  /**
   * @param url the publisher's base URL (http or https), e.g. `http://127.0.0.1:8645`.
   * @param option the option that gave it, for the error.
   * @param checks where the windows it answers are checked (document-checks.ts; default this thread).
   * @throws UsageError for a URL that is not http(s)
   */
  constructor(
    url: string,
    option = "--publisher",
    private readonly timeoutMs = PUBLISHER_TIMEOUT_MS,
    private readonly probeEveryMs = PUBLISHER_PROBE_MS,
    private readonly checks: DocumentChecks = IN_THREAD,
  ) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined || (parsed.protocol !== "http:" && parsed.protocol !== "https:")) {
      throw new UsageError(`${option}: '${url}' is not an http(s) URL`);
    }
    this.base = parsed;
    this.name = url;
  }

  async lookup(market: string, _marketId: bigint, endTimeMs: number): Promise<WindowLookup[]> {
    const url = new URL(this.base);
    url.pathname = `${url.pathname.replace(/\/+$/, "")}/v1/windows/${encodeURIComponent(market)}`;
    url.search = `?at=${endTimeMs}`;
    const name = url.toString();
    if (this.down !== undefined && Date.now() - this.down.askedAt < this.probeEveryMs) {
      const reason =
        `${name}: unreachable: not asked, down since ${isoFromMs(this.down.since)} (${this.unreachableInRow} ` +
        `lookups in a row failed; asked again every ${this.probeEveryMs / 1000} s)`;
      return [{ source: name, kind: "absent", reason }];
    }
    if (this.down !== undefined) this.down.askedAt = Date.now();
    const fetched = await fetchAnswer(url, this.timeoutMs);
    if (fetched.kind === "failed") {
      if (++this.unreachableInRow >= PUBLISHER_DOWN_AFTER)
        this.down ??= { since: Date.now(), askedAt: Date.now() };
      // refused, reset or cut off mid-body: no more evidence than a publisher that cannot be reached
      return [{ source: name, kind: "absent", reason: `${name}: unreachable: ${fetched.reason}` }];
    }
    this.unreachableInRow = 0;
    this.down = undefined;
    const { response, body } = fetched;
    if (body.kind === "over") {
      const reason =
        `${name}: HTTP ${response.status}: an answer of more than ${PUBLISHER_MAX_ANSWER_BYTES} bytes, not ` +
        "read (a signed window is tens of KB)";
      return [{ source: name, kind: "absent", reason }];
    }
    const { text } = body;
    if (response.status >= 300 && response.status < 400) {
      const to = quoted(response.headers.get("location") ?? "nowhere");
      const reason = `${name}: HTTP ${response.status}: a redirect to ${to}, not followed (give the publisher's own URL)`;
      return [{ source: name, kind: "absent", reason }];
    }
    if (response.status === 404) {
      return [{ source: name, kind: "absent", reason: `${name}: not signed there (${answer(text)})` }];
    }
    if (response.status !== 200) {
      return [{ source: name, kind: "absent", reason: `${name}: HTTP ${response.status} (${answer(text)})` }];
    }
    let doc: unknown;
    try {
      doc = parseJsonText(text, name);
    } catch (err) {
      // `name: line L, column C: not valid JSON: ...` or `... duplicate key 'k' (first at line L)`, on one line
      if (err instanceof JsonTextError) return [{ source: name, kind: "invalid", reason: err.message }];
      throw err;
    }
    return [await this.checks.window(doc, name)];
  }
}

/**
 * Pauses (ms) before the second and third attempt of a request that failed below HTTP (a connection refused or
 * reset, an answer cut off), which is often a moment's: a kept-alive connection the server closed as it was reused,
 * a publisher restarting. A request that ran into its timeout is not tried again (it would triple the wait).
 */
const RETRY_PAUSES_MS = [100, 500];

/**
 * How many times a publisher answering HTTP 429 or 503 (busy, or restarting behind a proxy) is asked again, and the
 * longest pause before each: its `Retry-After`, else 1 s then 2 s. Before, such an answer made the window absent
 * at once, and the update UNVERIFIABLE, for a publisher that would have answered a second later.
 */
const BUSY_RETRIES = 2;
const LONGEST_BUSY_PAUSE_MS = 10_000;

/**
 * GET `url` and read its answer, tried again after a failure below HTTP (`RETRY_PAUSES_MS`) and after an HTTP 429
 * or 503 (`BUSY_RETRIES`).
 */
async function fetchAnswer(
  url: URL,
  timeoutMs: number,
): Promise<
  | {
      kind: "answered";
      response: Response;
      body: Exclude<CappedBody, { kind: "failed" }>;
    }
  | { kind: "failed"; reason: string }
> {
  let busy = 0;
  for (let attempt = 0; ;) {
    const signal = AbortSignal.timeout(timeoutMs);
    let reason: string;
    try {
      // `manual`: a redirect is answered as it is (its status and Location), not followed
      const response = await fetch(url, { signal, redirect: "manual" });
      const body = await readCappedBody(response, PUBLISHER_MAX_ANSWER_BYTES);
      if ((response.status === 429 || response.status === 503) && busy < BUSY_RETRIES) {
        const asked = retryAfterMs(response.headers.get("retry-after"), LONGEST_BUSY_PAUSE_MS);
        await new Promise((resolve) => setTimeout(resolve, asked ?? 1000 * 2 ** busy));
        busy++;
        continue;
      }
      if (body.kind !== "failed") return { kind: "answered", response, body };
      reason = body.reason;
    } catch (err) {
      reason = (err as Error).message;
    }
    if (signal.aborted || attempt >= RETRY_PAUSES_MS.length) {
      return { kind: "failed", reason: attempt === 0 ? reason : `${reason} (${attempt + 1} attempts)` };
    }
    await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSES_MS[attempt]));
    attempt++;
  }
}

/**
 * The message of a publisher's error answer, or its text, as `quoted` shows it (core/http-body.ts): its first 200
 * characters on one line (a publisher's words go into the report, and must not add lines to it).
 */
function answer(text: string): string {
  let shown = text;
  try {
    const doc = JSON.parse(text) as { message?: unknown };
    if (typeof doc.message === "string") shown = doc.message;
  } catch {
    // not JSON: show the text
  }
  return quoted(shown) || "empty answer";
}

/** The `*.json` files under `dir`, recursively, sorted. */
function jsonFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...jsonFiles(path));
    else if (entry.isFile() && entry.name.endsWith(".json")) out.push(path);
  }
  return out.sort();
}

/** The index key of a market's window ending at `endTime` (ms). */
const barKey = (marketId: bigint, endTime: number) => `${marketId}@${endTime}`;

/** The market id and end time a window document (or a batch's market) states, or the field that is missing. */
function statedBar(
  doc: unknown,
  file: string,
  prefix: string,
  what: string,
): { marketId: bigint; endTime: number } {
  const { market, endTime } = (doc ?? {}) as { market?: unknown; endTime?: unknown };
  if (typeof market !== "string") {
    throw new PublisherFileError(file, `${prefix}market`, `missing: not a ${what}`);
  }
  if (!Number.isSafeInteger(endTime)) {
    throw new PublisherFileError(file, `${prefix}endTime`, `missing: not a ${what}`);
  }
  try {
    return { marketId: marketIdOf(market), endTime: endTime as number };
  } catch {
    throw new PublisherFileError(file, `${prefix}market`, `'${market}' is not a market label`);
  }
}

/**
 * A directory of signed window files and signed batch files, read once: every `*.json` under it (recursively, so
 * a publisher's archive works as it is) must be a signed window document or a signed batch document (one with a
 * `markets` list); each is indexed by the market(s) and end time(s) as written, and read again and checked in full
 * when an update asks for its bar (so a file with edited candles is reported, not refused). Only the paths are
 * kept, not the documents: a directory of a year of eight markets (35,000 windows, about 13 KiB each parsed) would
 * otherwise hold some 450 MiB for the whole audit.
 */
export class WindowDirectory implements WindowSource, BatchSource {
  private constructor(
    readonly name: string,
    private readonly index: Map<string, string[]>,
    private readonly batchIndex: Map<string, string[]>,
    /** Number of files indexed. */
    readonly files: number,
    private readonly checks: DocumentChecks,
  ) {}

  /**
   * @param checks where the documents found are checked (document-checks.ts; default this thread).
   * @throws UsageError when `dir` is not a directory; PublisherFileError (or the FILE_INVALID error of
   *   unreadable JSON) naming a file that is no signed window: no `market` label or no integer `endTime` (for a
   *   batch file, in one of its `markets`).
   */
  static open(dir: string, option = "--windows", checks: DocumentChecks = IN_THREAD): WindowDirectory {
    let isDir = false;
    try {
      isDir = statSync(dir).isDirectory();
    } catch {
      isDir = false;
    }
    if (!isDir) throw new UsageError(`${option}: '${dir}' is not a directory`);
    const index = new Map<string, string[]>();
    const batchIndex = new Map<string, string[]>();
    const add = (to: typeof index, key: string, file: string) => {
      const files = to.get(key);
      if (files === undefined) to.set(key, [file]);
      else files.push(file);
    };
    const files = jsonFiles(dir);
    for (const file of files) {
      const doc = readJsonFile(file);
      const markets = (doc ?? {}) as { markets?: unknown };
      if (Array.isArray(markets.markets)) {
        const keys = new Set(
          markets.markets.map((m, i) => {
            const bar = statedBar(m, file, `markets[${i}].`, `signed batch file (${option} ${dir})`);
            return barKey(bar.marketId, bar.endTime);
          }),
        );
        for (const key of keys) add(batchIndex, key, file);
        continue;
      }
      const bar = statedBar(doc, file, "", `signed window file (${option} ${dir})`);
      add(index, barKey(bar.marketId, bar.endTime), file);
    }
    return new WindowDirectory(dir, index, batchIndex, files.length, checks);
  }

  async lookup(_market: string, marketId: bigint, endTimeMs: number): Promise<WindowLookup[]> {
    const absent = `no window ending at ${isoFromMs(endTimeMs)} (${this.files} files)`;
    return this.find(this.index, barKey(marketId, endTimeMs), absent, (doc, file) =>
      this.checks.window(doc, file),
    );
  }

  async lookupBatches(market: string, marketId: bigint, endTimeMs: number): Promise<BatchLookup[]> {
    const absent = `no signed batch with a window of ${market} ending at ${isoFromMs(endTimeMs)}`;
    return this.find(this.batchIndex, barKey(marketId, endTimeMs), absent, (doc, file) =>
      this.checks.batch(doc, file),
    );
  }

  /** Every document indexed under `key`, each checked; one `absent` lookup when there is none. */
  private async find<L>(
    index: Map<string, string[]>,
    key: string,
    absent: string,
    check: (doc: unknown, file: string) => Promise<L>,
  ): Promise<(L | NotFound)[]> {
    const files = index.get(key) ?? [];
    if (files.length === 0) return [{ source: this.name, kind: "absent", reason: `${this.name}: ${absent}` }];
    const out: (L | NotFound)[] = [];
    for (const file of files) {
      let doc: unknown;
      try {
        doc = readJsonFile(file);
      } catch (err) {
        // Removed or rewritten as something unreadable since the directory was indexed: no evidence.
        out.push({
          source: file,
          kind: "absent",
          reason: `${file}: not read again: ${(err as Error).message}`,
        });
        continue;
      }
      out.push(await check(doc, file));
    }
    return out;
  }
}
