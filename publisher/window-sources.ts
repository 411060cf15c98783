/**
 * Where an auditor finds the signed windows of a bar: the publishers' archives over HTTP (`zkrisk publisher
 * serve`, GET /v1/windows/:market?at=MS) and directories of signed window files (what `zkrisk publisher sign`
 * writes, or a copy of a publisher's archive, `ARCHIVE/<market>/<endTime ms>.json`).
 *
 * Every window found is checked as a file is (signed-window.ts `parseSignedWindow`: fields, digest of the bars,
 * signature), and each lookup says which of three things it is:
 *   found    a window that checks (it may still be for other candles than an update's: the caller compares digests);
 *   invalid  a document for that market and bar that does not check (edited candles, a broken signature): evidence;
 *   absent   nothing for that bar there, or the source cannot be reached: missing evidence, not evidence.
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { marketIdOf } from "../candles/market-id";
import { isoFromMs } from "../core/time";
import { UsageError, ZkriskError } from "../models/errors";
import { readJsonFile } from "../models/io";
import { PublisherFileError } from "./errors";
import { parseSignedWindow, type SignedWindow } from "./signed-window";

/** What one source holds for one (market, bar). */
export type WindowLookup =
  | { source: string; kind: "found"; window: SignedWindow }
  | { source: string; kind: "invalid"; reason: string }
  | { source: string; kind: "absent"; reason: string };

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

/** Time allowed for one publisher request, ms. */
export const PUBLISHER_TIMEOUT_MS = 15_000;

/** The outcome of a document that claims to be a signed window: found, or invalid with the reason. */
async function checked(value: unknown, name: string): Promise<WindowLookup> {
  try {
    return { source: name, kind: "found", window: await parseSignedWindow(value, name) };
  } catch (err) {
    if (!(err instanceof ZkriskError)) throw err;
    return { source: name, kind: "invalid", reason: err.message };
  }
}

/** A publisher's archive behind its HTTP API (`zkrisk publisher serve`). */
export class PublisherArchiveSource implements WindowSource {
  readonly name: string;
  private readonly base: URL;

  /**
   * @param url the publisher's base URL (http or https), e.g. `http://127.0.0.1:8645`.
   * @param option the option that gave it, for the error.
   * @throws UsageError for a URL that is not http(s)
   */
  constructor(
    url: string,
    option = "--publisher",
    private readonly timeoutMs = PUBLISHER_TIMEOUT_MS,
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
    let response: Response;
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      return [{ source: name, kind: "absent", reason: `${name}: unreachable: ${(err as Error).message}` }];
    }
    const text = await response.text().catch(() => "");
    if (response.status === 404) {
      return [{ source: name, kind: "absent", reason: `${name}: not signed there (${answer(text)})` }];
    }
    if (response.status !== 200) {
      return [{ source: name, kind: "absent", reason: `${name}: HTTP ${response.status} (${answer(text)})` }];
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      return [{ source: name, kind: "invalid", reason: `${name}: not JSON: ${(err as Error).message}` }];
    }
    return [await checked(doc, name)];
  }
}

/** The message of a publisher's error answer, or its first characters. */
function answer(text: string): string {
  try {
    const doc = JSON.parse(text) as { message?: unknown };
    if (typeof doc.message === "string") return doc.message;
  } catch {
    // not JSON: show the text
  }
  return text.slice(0, 200) || "empty answer";
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

/**
 * A directory of signed window files, read once: every `*.json` under it (recursively, so a publisher's archive
 * works as it is) must be a signed window document; it is indexed by its market and end time as written, and
 * checked in full when an update asks for its bar (so a file with edited candles is reported, not refused).
 */
export class WindowDirectory implements WindowSource {
  private constructor(
    readonly name: string,
    private readonly index: Map<string, { file: string; doc: unknown }[]>,
    /** Number of files indexed. */
    readonly files: number,
  ) {}

  /**
   * @throws UsageError when `dir` is not a directory; PublisherFileError (or the FILE_INVALID error of
   *   unreadable JSON) naming a file that is no signed window: no `market` label or no integer `endTime`.
   */
  static open(dir: string, option = "--windows"): WindowDirectory {
    let isDir = false;
    try {
      isDir = statSync(dir).isDirectory();
    } catch {
      isDir = false;
    }
    if (!isDir) throw new UsageError(`${option}: '${dir}' is not a directory`);
    const index = new Map<string, { file: string; doc: unknown }[]>();
    const files = jsonFiles(dir);
    for (const file of files) {
      const doc = readJsonFile(file);
      const { market, endTime } = (doc ?? {}) as { market?: unknown; endTime?: unknown };
      if (typeof market !== "string") {
        throw new PublisherFileError(file, "market", `missing: not a signed window file (${option} ${dir})`);
      }
      if (!Number.isSafeInteger(endTime)) {
        throw new PublisherFileError(file, "endTime", `missing: not a signed window file (${option} ${dir})`);
      }
      let marketId: bigint;
      try {
        marketId = marketIdOf(market);
      } catch {
        throw new PublisherFileError(file, "market", `'${market}' is not a market label`);
      }
      const key = `${marketId}@${endTime as number}`;
      index.set(key, [...(index.get(key) ?? []), { file, doc }]);
    }
    return new WindowDirectory(dir, index, files.length);
  }

  async lookup(_market: string, marketId: bigint, endTimeMs: number): Promise<WindowLookup[]> {
    const entries = this.index.get(`${marketId}@${endTimeMs}`) ?? [];
    if (entries.length === 0) {
      return [
        {
          source: this.name,
          kind: "absent",
          reason: `${this.name}: no window ending at ${isoFromMs(endTimeMs)} (${this.files} files)`,
        },
      ];
    }
    const out: WindowLookup[] = [];
    for (const { file, doc } of entries) out.push(await checked(doc, file));
    return out;
  }
}
