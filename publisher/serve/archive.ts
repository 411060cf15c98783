/**
 * The publisher's archive: every window it signed, one signed-window file (publisher/signed-window.ts) per
 * market per bar, `ARCHIVE/<market>/<endTime ms>.json`. It is what the HTTP API serves and what a restart
 * reads to know which bars are signed.
 *
 * Files are written once: durably and atomically (core/atomic-file.ts), and create-only (the temporary file
 * is hard-linked onto the final name, which fails when a file is there), so a bar's signed window can never
 * be replaced, not even by a second process on the same directory. Temporary files a crash left behind
 * (`*.tmp`) are ignored. A file is verified (digest and signature, `readSignedWindow`) when it is first read,
 * then kept in a small cache with its text.
 */
import { mkdirSync, readdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../../core/atomic-file";
import { ZkriskError } from "../../core/errors";
import { readSignedWindow, signedWindowJson, type SignedWindow } from "../signed-window";

/** A market label that can be a directory name as it is (no separators, no leading dot). */
const SAFE_DIRECTORY = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** An archived window's file name: the last bar's open time in ms. */
const WINDOW_FILE = /^(\d{1,15})\.json$/;

/** Windows whose text and verified content are kept in memory. */
const CACHE_ENTRIES = 256;

/**
 * The directory of a market in the archive: the label when it is a safe file name (`BTC-USDT`), else
 * `market-<decimal market id>` (a label such as `BTC/USDT`).
 */
export function marketDirectory(market: string, marketId: bigint): string {
  return SAFE_DIRECTORY.test(market) ? market : `market-${marketId}`;
}

/**
 * A write that would replace an archived window (another process signs into the same archive). Code
 * `ARCHIVE_CONFLICT`.
 */
export class ArchiveConflictError extends ZkriskError {
  constructor(readonly file: string) {
    super("ARCHIVE_CONFLICT", `${file}: a window is already archived for this bar; it is never replaced`);
  }
}

/** An archived window: its file, its text as served, and its checked content. */
export interface ArchivedWindow {
  file: string;
  /** The file's text, the signed-window JSON. */
  text: string;
  signed: SignedWindow;
}

/** The signed windows of the configured markets, on disk, with an index of their bars in memory. */
export class WindowArchive {
  /** Per market label: its directory and the open times (ms) of the last bars of its windows, ascending. */
  private readonly index = new Map<string, { directory: string; times: number[]; set: Set<number> }>();
  private readonly cache = new Map<string, ArchivedWindow>();

  private constructor(readonly dir: string) {}

  /**
   * Opens (creating it if needed) the archive in `dir` for `markets` and lists the windows already there.
   */
  static open(dir: string, markets: readonly { market: string; marketId: bigint }[]): WindowArchive {
    const archive = new WindowArchive(dir);
    for (const { market, marketId } of markets) {
      const directory = join(dir, marketDirectory(market, marketId));
      mkdirSync(directory, { recursive: true });
      const times = readdirSync(directory)
        .map((name) => WINDOW_FILE.exec(name))
        .filter((m) => m !== null)
        .map((m) => Number(m[1]))
        .sort((a, b) => a - b);
      archive.index.set(market, { directory, times, set: new Set(times) });
    }
    return archive;
  }

  private entry(market: string) {
    const e = this.index.get(market);
    if (e === undefined)
      throw new RangeError(`archive: market ${JSON.stringify(market)} is not archived here`);
    return e;
  }

  /** The file of `market`'s window ending at the bar that opens at `endTime` (ms), archived or not. */
  fileOf(market: string, endTime: number): string {
    return join(this.entry(market).directory, `${endTime}.json`);
  }

  /** Whether `market` has a window ending at `endTime` (ms). */
  has(market: string, endTime: number): boolean {
    return this.entry(market).set.has(endTime);
  }

  /** Open time (ms) of the last bar of `market`'s newest window, or undefined when none is archived. */
  latest(market: string): number | undefined {
    const { times } = this.entry(market);
    return times.length === 0 ? undefined : times[times.length - 1];
  }

  /** Number of windows archived for `market`. */
  count(market: string): number {
    return this.entry(market).times.length;
  }

  /** The first and last archived end times (ms) of `market`, or undefined when none. */
  range(market: string): { first: number; last: number } | undefined {
    const { times } = this.entry(market);
    return times.length === 0 ? undefined : { first: times[0], last: times[times.length - 1] };
  }

  /**
   * `market`'s archived window ending at `endTime`, or undefined when there is none; checked (digest and
   * signature) the first time it is read.
   * @throws PublisherFileError or SignatureError (publisher/signed-window.ts) for a file that does not check.
   */
  async read(market: string, endTime: number): Promise<ArchivedWindow | undefined> {
    if (!this.has(market, endTime)) return undefined;
    const file = this.fileOf(market, endTime);
    const cached = this.cache.get(file);
    if (cached !== undefined) {
      // Most recently used last.
      this.cache.delete(file);
      this.cache.set(file, cached);
      return cached;
    }
    const text = await readFile(file, "utf8");
    const signed = await readSignedWindow(file);
    const archived = { file, text, signed };
    this.remember(archived);
    return archived;
  }

  /**
   * Archives a signed window of `market` (`signed.window.endTime` names the bar), durably and create-only.
   * @returns the file written.
   * @throws ArchiveConflictError when a window is already archived for that bar.
   */
  put(market: string, signed: SignedWindow): ArchivedWindow {
    const endTime = signed.window.endTime;
    const file = this.fileOf(market, endTime);
    if (this.has(market, endTime)) throw new ArchiveConflictError(file);
    const text = JSON.stringify(signedWindowJson(signed), null, 2) + "\n";
    try {
      writeFileAtomic(file, text, { replace: false });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      // Another process archived this bar meanwhile: its window is the one kept, and from now on compared.
      this.add(market, endTime);
      throw new ArchiveConflictError(file);
    }
    this.add(market, endTime);
    const archived = { file, text, signed };
    this.remember(archived);
    return archived;
  }

  /** Adds a bar to the index of `market`. */
  private add(market: string, endTime: number): void {
    const e = this.entry(market);
    e.set.add(endTime);
    // Windows are signed oldest first, so this is almost always an append.
    let i = e.times.length;
    while (i > 0 && e.times[i - 1] > endTime) i--;
    e.times.splice(i, 0, endTime);
  }

  private remember(archived: ArchivedWindow): void {
    this.cache.set(archived.file, archived);
    if (this.cache.size > CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value as string);
  }
}
