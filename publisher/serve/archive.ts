/**
 * The publisher's archive: every window and batch it signed, one file per market (or batch) per bar,
 *
 *   ARCHIVE/<market>/<endTime ms>.json             a signed window file (publisher/signed-window.ts)
 *   ARCHIVE/_batches/<batch>/<endTime ms>.json     a signed batch file (publisher/signed-batch.ts)
 *
 * `endTime` is the open time of the windows' last bar. It is what the HTTP API serves and what a restart
 * reads to know which bars are signed. A market directory never starts with "_" (`marketDirectory`), so
 * `_batches` cannot be a market's.
 *
 * Files are written once: durably and atomically (core/atomic-file.ts), and create-only (the temporary file
 * is hard-linked onto the final name, which fails when a file is there), so a bar's signed window or batch
 * can never be replaced, not even by a second process on the same directory. Temporary files a crash left
 * behind (`*.tmp`) are ignored.
 *
 * A file belongs to the archive only if it is this publisher's record of the bar its name and directory say:
 * signed by this archive's key (the publisher's own), a window of the directory's market (and its bar interval)
 * whose `endTime` is the file's name, or a batch of exactly the batch's configured markets whose windows all end
 * at that bar (`mismatch`). Checking the signature alone would let a file copied in by anyone with write access
 * (another key's window, or this key's window of another bar) be served for the bar its name says, and be signed
 * again into a batch under this key. A file that is not is refused (ArchiveMismatchError, naming the file, the
 * field and both values), at every read and at start (`scan`).
 *
 * Each file is checked once: a file this archive wrote is trusted as written; any other is verified (every
 * field, the digests and the signature: `parseSignedWindow`, `parseSignedBatch`, 16 to 25 ms of CPU for an
 * 85-bar window, most of it the Poseidon digest; then `mismatch`) the first time it is read, and the sha256 of
 * the text that checked is remembered. Every later read reads the file again and compares its sha256 (about
 * 0.05 ms) with the remembered one: the same text is served without verifying it again, a text that changed on
 * disk is verified again as if it were new (and refused if it does not check). A file that did not check is
 * remembered as such too, so asking for it again costs no verification either. Concurrent first reads of one
 * file share one verification, and verifications run one at a time, so a read of a checked file (the newest
 * window a prover asks for) waits for one at most, not for all of them. Memory: one sha256 per archived file
 * (texts are not kept), so a client asking for many distinct old bars costs a file read each, never a
 * verification each.
 */
import { mkdirSync, readdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { dirname, join } from "node:path";
import { writeFileAtomic } from "../../core/atomic-file";
import { ZkriskError } from "../../core/errors";
import { sha256Hex } from "../../core/io";
import { parseJsonText } from "../../core/json-text";
import { isoFromMs } from "../../core/time";
import { isKind, JsonReader } from "../../core/validate";
import { comparePublicKeys, type PublicKey, type Signature } from "../eddsa";
import { PublisherFileError, UnsupportedVersionError } from "../errors";
import {
  parseSignedBatch,
  SIGNED_BATCH_VERSION,
  signedBatchJson,
  type BatchMarket,
  type SignedBatch,
} from "../signed-batch";
import {
  parseSignedWindow,
  readWindowJson,
  SIGNED_WINDOW_VERSION,
  signedWindowJson,
  unsupportedVersionReason,
  type SignedWindow,
} from "../signed-window";

/** A market label that can be a directory name as it is (no separators, no leading dot). */
const SAFE_DIRECTORY = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** An archived file's name: the last bar's open time in ms. */
const ARCHIVED_FILE = /^(\d{1,15})\.json$/;

/**
 * The directory of a market in the archive: the label when it is a safe file name (`BTC-USDT`), else
 * `market-<decimal market id>` (a label such as `BTC/USDT`).
 */
export function marketDirectory(market: string, marketId: bigint): string {
  return SAFE_DIRECTORY.test(market) ? market : `market-${marketId}`;
}

/**
 * Creates `dir` and its missing parents, trying each level once: Node's `mkdirSync(dir, { recursive: true })`
 * retries for ever, at full CPU, where a parent exists but creating the directory in it fails with ENOENT (a
 * pseudo file system such as /proc), so an archive there would hang the publisher without a word.
 * @throws the file-system error (`code`, `syscall`, `path`) of the first level that cannot be created; ENOTDIR
 *   when a level is a file.
 */
function makeDirectory(dir: string, parentMade = false): void {
  try {
    mkdirSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") {
      if (isKind(dir, "directory")) return;
      throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${dir}'`), {
        code: "ENOTDIR",
        syscall: "mkdir",
        path: dir,
      });
    }
    const parent = dirname(dir);
    if (code !== "ENOENT" || parentMade || parent === dir) throw err;
    makeDirectory(parent);
    makeDirectory(dir, true);
  }
}

/**
 * The directory of the batches in the archive. It starts with "_", which a market directory never does.
 */
export const BATCHES_DIRECTORY = "_batches";

/**
 * A write that would replace an archived window or batch (another process signs into the same archive). Code
 * `ARCHIVE_CONFLICT`.
 */
export class ArchiveConflictError extends ZkriskError {
  /** @param noun what the file holds, for the message ("window", "batch"). */
  constructor(
    readonly file: string,
    noun = "window",
  ) {
    super("ARCHIVE_CONFLICT", `${file}: a ${noun} is already archived for this bar; it is never replaced`);
  }
}

/** Which part of an archived file is not what its place in the archive says. */
export type ArchiveMismatchKind = "publicKey" | "market" | "intervalMs" | "endTime";

/** How an archived file differs from what its place in the archive says (`ArchiveFormat.mismatch`). */
export interface ArchiveMismatch {
  kind: ArchiveMismatchKind;
  /** The field as named in the file (`publicKey`, `market`, `markets`, `markets[1].endTime`). */
  field: string;
  /** What the archive expects there, and what the file holds, as text (a key by its Ax). */
  expected: string;
  found: string;
  /** One line naming both. */
  reason: string;
}

/**
 * An archived file that is not this publisher's record of the bar its place in the archive names: another
 * key's, another market's (or batch's set of markets), another bar interval's, or another bar's than its file
 * name. Code `FILE_INVALID`, as every file that does not check; the message reads `file: field: reason`.
 */
export class ArchiveMismatchError extends PublisherFileError {
  readonly kind: ArchiveMismatchKind;
  readonly expected: string;
  readonly found: string;

  constructor(file: string, mismatch: ArchiveMismatch) {
    super(file, mismatch.field, mismatch.reason);
    this.kind = mismatch.kind;
    this.expected = mismatch.expected;
    this.found = mismatch.found;
  }
}

/** What the documents of one name (a market or a batch) must hold, besides the archive's key. */
export interface ArchiveExpectation {
  /** The market of a window directory (one label), or the configured markets of a batch (any order). */
  markets: readonly string[];
  /** The bars' interval, ms, when known (a window directory of a configured market). */
  intervalMs?: number;
  /** The directory, relative to the archive, for messages. */
  directory: string;
}

/** An archived document: its file, its text as served, and its checked content. */
export interface Archived<T> {
  file: string;
  /** The file's text, the signed window's or signed batch's JSON. */
  text: string;
  /** The document (of a text already checked, read from the text when first asked for). */
  readonly signed: T;
}

/** An archived window. */
export type ArchivedWindow = Archived<SignedWindow>;

/** An archived batch. */
export type ArchivedBatch = Archived<SignedBatch>;

/** How an archive names, writes and reads its documents. */
interface ArchiveFormat<T> {
  /** What a file holds, for messages ("window", "batch"). */
  noun: string;
  /** The file format's name and version read here (`unsupportedVersionReason`). */
  version: { what: string; current: number; layoutV2: number };
  /** Open time of the last bar of the document's windows, ms: the file's name. */
  endTime(signed: T): number;
  /** The file's text. */
  text(signed: T): string;
  /** Checks a parsed file: every field, the digests and the signature. */
  verify(value: unknown, file: string): Promise<T>;
  /**
   * The document of a parsed file whose text was verified before: its fields read as `verify` reads them, but
   * neither the digests recomputed nor the signature verified.
   */
  trusted(value: unknown, file: string): T;
  /** What decides where a document belongs (`ArchivePlace`). */
  placeOf(signed: T): ArchivePlace;
  /**
   * What decides where a parsed file belongs, read without its bars, digests or signature: its key and each
   * window's market, bar interval and end time (the start's scan).
   */
  readPlace(value: unknown, file: string): ArchivePlace;
  /**
   * How a document differs from what the archive holds at its place (besides the key, which `keyMismatch`
   * compares): the markets, the bar interval, the end time (ms) its file name says. Undefined when it does not.
   */
  mismatch(place: ArchivePlace, expected: ArchiveExpectation, endTime: number): ArchiveMismatch | undefined;
}

/** What decides where a document belongs in the archive: the key that signed it, and its windows' bars. */
interface ArchivePlace {
  publicKey: PublicKey;
  /** Each window's market, bar interval (ms) and end time (ms): one for a window, a batch's in file order. */
  windows: { market: string; intervalMs: number; endTime: number }[];
}

/** The market, bar interval and end time of a window read as `readWindowJson` reads them, without its bars. */
function windowPlace(doc: JsonReader): ArchivePlace["windows"][number] {
  return {
    market: doc.at("market").string(),
    intervalMs: doc.at("intervalMs").integer(1),
    endTime: doc.at("endTime").integer(0),
  };
}

/** The key of a signed file, as `signatureFields` reads it. */
function publicKeyField(doc: JsonReader): PublicKey {
  const pk = doc.at("publicKey");
  return { Ax: pk.at("Ax").bigint(), Ay: pk.at("Ay").bigint() };
}

/** `ms` for messages: the number and its ISO 8601 time. */
function msAndIso(ms: number): string {
  return `${ms} (${isoFromMs(ms)})`;
}

/** The mismatch of a document's end time `found` (ms) with its file's name `endTime`, or undefined. */
function endTimeMismatch(field: string, found: number, endTime: number): ArchiveMismatch | undefined {
  if (found === endTime) return undefined;
  return {
    kind: "endTime",
    field,
    expected: String(endTime),
    found: String(found),
    reason:
      `${msAndIso(found)}, but the file's name says the bar opening at ${msAndIso(endTime)}: a file holds ` +
      "the document of the bar it is named for",
  };
}

/** The mismatch of a document signed by `found` with the archive's key `own`, or undefined. */
function keyMismatch(found: PublicKey, own: PublicKey): ArchiveMismatch | undefined {
  if (comparePublicKeys(found, own) === 0) return undefined;
  return {
    kind: "publicKey",
    field: "publicKey",
    expected: String(own.Ax),
    found: String(found.Ax),
    reason:
      `signed by another key (Ax ${found.Ax}), not this publisher's (Ax ${own.Ax}): the archive holds only ` +
      "what this key signed",
  };
}

/** A reader of `value` whose errors are PublisherFileError, as the signed-file readers raise them. */
function fileReader(value: unknown, file: string): JsonReader {
  return new JsonReader(file, value, "", (f, field, reason) => new PublisherFileError(f, field, reason));
}

/** The digest, public key and signature fields every signed file ends with. */
function signatureFields(doc: JsonReader): { digest: bigint; publicKey: PublicKey; signature: Signature } {
  const sig = doc.at("signature");
  return {
    digest: doc.at("digest").bigint(),
    publicKey: publicKeyField(doc),
    signature: { R8x: sig.at("R8x").bigint(), R8y: sig.at("R8y").bigint(), S: sig.at("S").bigint() },
  };
}

const WINDOW_FORMAT: ArchiveFormat<SignedWindow> = {
  noun: "window",
  version: { what: "signed window", current: SIGNED_WINDOW_VERSION, layoutV2: 2 },
  endTime: (signed) => signed.window.endTime,
  text: (signed) => JSON.stringify(signedWindowJson(signed), null, 2) + "\n",
  verify: parseSignedWindow,
  trusted(value, file) {
    const doc = fileReader(value, file);
    return { ...readWindowJson(file, doc), ...signatureFields(doc) };
  },
  placeOf: (signed) => ({
    publicKey: signed.publicKey,
    windows: [
      { market: signed.market, intervalMs: signed.window.intervalMs, endTime: signed.window.endTime },
    ],
  }),
  readPlace(value, file) {
    const doc = fileReader(value, file);
    return { publicKey: publicKeyField(doc), windows: [windowPlace(doc)] };
  },
  mismatch(place, expected, endTime) {
    const [market] = expected.markets;
    const [found] = place.windows;
    if (found.market !== market) {
      return {
        kind: "market",
        field: "market",
        expected: market,
        found: found.market,
        reason:
          `${JSON.stringify(found.market)}, but ${expected.directory}/ holds the windows of ` +
          JSON.stringify(market),
      };
    }
    const { intervalMs } = found;
    if (expected.intervalMs !== undefined && intervalMs !== expected.intervalMs) {
      return {
        kind: "intervalMs",
        field: "intervalMs",
        expected: String(expected.intervalMs),
        found: String(intervalMs),
        reason: `${intervalMs} ms, but the bars of ${market} are ${expected.intervalMs} ms`,
      };
    }
    return endTimeMismatch("endTime", found.endTime, endTime);
  },
};

const BATCH_FORMAT: ArchiveFormat<SignedBatch> = {
  noun: "batch",
  version: { what: "signed batch", current: SIGNED_BATCH_VERSION, layoutV2: 1 },
  // Every window of a batch ends at the same bar (the batch signer builds it so).
  endTime: (signed) => signed.markets[0].window.endTime,
  text: (signed) => JSON.stringify(signedBatchJson(signed), null, 2) + "\n",
  verify: parseSignedBatch,
  trusted(value, file) {
    const doc = fileReader(value, file);
    const markets = doc
      .at("markets")
      .items()
      .map((item, i): BatchMarket => ({
        ...readWindowJson(file, item, `markets[${i}].`),
        digest: item.at("digest").bigint(),
      }));
    return { markets, ...signatureFields(doc) };
  },
  placeOf: (signed) => ({
    publicKey: signed.publicKey,
    windows: signed.markets.map((m) => ({
      market: m.market,
      intervalMs: m.window.intervalMs,
      endTime: m.window.endTime,
    })),
  }),
  readPlace(value, file) {
    const doc = fileReader(value, file);
    return { publicKey: publicKeyField(doc), windows: doc.at("markets").items().map(windowPlace) };
  },
  mismatch(place, expected, endTime) {
    const held = place.windows.map((m) => m.market).sort();
    const configured = [...expected.markets].sort();
    if (JSON.stringify(held) !== JSON.stringify(configured)) {
      return {
        kind: "market",
        field: "markets",
        expected: JSON.stringify(configured),
        found: JSON.stringify(held),
        reason: `${JSON.stringify(held)}, but the batch of ${expected.directory}/ holds ${JSON.stringify(configured)}`,
      };
    }
    for (const [i, m] of place.windows.entries()) {
      const found = endTimeMismatch(`markets[${i}].endTime`, m.endTime, endTime);
      if (found !== undefined) return found;
    }
    return undefined;
  },
};

/** The names in `directory`; none when it is missing and was not to be created. */
function listTimes(directory: string, create: boolean): string[] {
  try {
    return readdirSync(directory);
  } catch (err) {
    if (!create && (err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
}

/** How many files the start's scan reads ahead of the one it checks. */
const SCAN_READS_AHEAD = 16;

/** Options of `SignedArchive.scan`. */
export interface ScanOptions {
  /** Called after each file read and found to be this archive's record of its bar (progress at start). */
  onFile?(): void;
  /** Ends the scan before the next file once aborted (a stop during the start's check). */
  signal?: AbortSignal;
}

/** What is known of an archived file's text: its sha256, and why it did not check when it did not. */
interface CheckedText {
  sha256: string;
  error?: ZkriskError;
}

/**
 * Signed documents of one kind on disk, one directory per name (a market or a batch label) and one
 * create-only file per bar, with an index of their bars in memory.
 */
export class SignedArchive<T extends { publicKey: PublicKey }> {
  /**
   * Per name: its directory, what its documents must hold, and the open times (ms) of the last bars of its
   * documents, ascending.
   */
  private readonly index = new Map<
    string,
    { directory: string; expected: ArchiveExpectation; times: number[]; set: Set<number> }
  >();
  /** Per file: the text that was checked (written here, or verified when first read). */
  private readonly checked = new Map<string, CheckedText>();
  /** Verifications under way, by file and sha256, so that concurrent first reads share one. */
  private readonly verifying = new Map<string, Promise<T>>();
  /** The last verification queued: they run one at a time (see `verify`). */
  private queue: Promise<unknown> = Promise.resolve();
  private verified = 0;

  /**
   * Opens (creating them if needed, unless `create` is false) the directories of `names` and lists the files
   * already there.
   * @param dir the archive directory.
   * @param publicKey the publisher's own key: every archived document must be signed by it.
   * @param names each name with what its documents hold (`directory` relative to `dir`).
   * @param create false to create nothing (`--check`): a missing directory is then listed as empty.
   */
  protected constructor(
    readonly dir: string,
    readonly publicKey: PublicKey,
    private readonly format: ArchiveFormat<T>,
    names: readonly ({ name: string } & ArchiveExpectation)[],
    create: boolean,
  ) {
    for (const { name, ...expected } of names) {
      const directory = join(dir, expected.directory);
      if (create) makeDirectory(directory);
      const times = listTimes(directory, create)
        .map((file) => ARCHIVED_FILE.exec(file))
        .filter((m) => m !== null)
        .map((m) => Number(m[1]))
        .sort((a, b) => a - b);
      this.index.set(name, { directory, expected, times, set: new Set(times) });
    }
  }

  private entry(name: string) {
    const e = this.index.get(name);
    if (e === undefined)
      throw new RangeError(`archive: ${this.format.noun}s of ${JSON.stringify(name)} are not archived here`);
    return e;
  }

  /** The file of `name`'s document ending at the bar that opens at `endTime` (ms), archived or not. */
  fileOf(name: string, endTime: number): string {
    return join(this.entry(name).directory, `${endTime}.json`);
  }

  /** Whether `name` has a document ending at `endTime` (ms). */
  has(name: string, endTime: number): boolean {
    return this.entry(name).set.has(endTime);
  }

  /** Open time (ms) of the last bar of `name`'s newest document, or undefined when none is archived. */
  latest(name: string): number | undefined {
    const { times } = this.entry(name);
    return times.length === 0 ? undefined : times[times.length - 1];
  }

  /** Number of documents archived for `name`. */
  count(name: string): number {
    return this.entry(name).times.length;
  }

  /** The first and last archived end times (ms) of `name`, or undefined when none. */
  range(name: string): { first: number; last: number } | undefined {
    const { times } = this.entry(name);
    return times.length === 0 ? undefined : { first: times[0], last: times[times.length - 1] };
  }

  /** Every archived end time (ms) of `name`, ascending (a view: do not modify). */
  times(name: string): readonly number[] {
    return this.entry(name).times;
  }

  /**
   * Files verified (digests and signature) by this archive since it was opened: each file once, and again only
   * when its text changed on disk (see the file header).
   */
  get verifications(): number {
    return this.verified;
  }

  /**
   * `name`'s archived document ending at `endTime`, or undefined when there is none. Its text is read from the
   * file each time; it is verified (digests and signature, and that it is this key's document of that bar) only
   * when this text was not checked before (see the file header).
   * @throws JsonTextError for a file that is not JSON or holds a key twice (core/json-text.ts), PublisherFileError
   *   or SignatureError (publisher/signed-window.ts, signed-batch.ts) for a file that does not check,
   *   ArchiveMismatchError for one that is not this archive's record of that bar (again at every read, without
   *   verifying it again, until its text changes).
   */
  async read(name: string, endTime: number): Promise<Archived<T> | undefined> {
    if (!this.has(name, endTime)) return undefined;
    const file = this.fileOf(name, endTime);
    const text = await readFile(file, "utf8");
    const sha256 = sha256Hex(text);
    const known = this.checked.get(file);
    if (known?.sha256 === sha256) {
      if (known.error !== undefined) throw known.error;
      return this.trustedDocument(file, text);
    }
    const key = `${sha256} ${file}`;
    let verifying = this.verifying.get(key);
    if (verifying === undefined) {
      verifying = this.verify(name, endTime, file, text, sha256);
      this.verifying.set(key, verifying);
      void verifying.then(
        () => this.verifying.delete(key),
        () => this.verifying.delete(key),
      );
    }
    return { file, text, signed: await verifying };
  }

  /**
   * Verifies the text of `file` after the verifications queued before it, one at a time and each after a turn
   * of the event loop: many first reads at once (clients asking for many old bars after a start) then cost
   * one verification's delay to a read of a checked file (the newest window a prover asks for), not all of
   * them.
   */
  private verify(name: string, endTime: number, file: string, text: string, sha256: string): Promise<T> {
    const run = this.queue.then(async () => {
      await yieldToEventLoop();
      return this.check(name, endTime, file, text, sha256);
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Checks the text of `file`, `name`'s document at `endTime` (every field, the digests and the signature, then
   * that it is this archive's record of that bar: `assertBelongs`) and remembers that it checked, or why not.
   */
  private async check(name: string, endTime: number, file: string, text: string, sha256: string): Promise<T> {
    this.verified++;
    try {
      const signed = await this.format.verify(parseJsonText(text, file), file);
      this.assertBelongs(name, endTime, file, this.format.placeOf(signed));
      this.checked.set(file, { sha256 });
      return signed;
    } catch (err) {
      // A text that does not check never will; anything else (out of memory) is tried again next time.
      if (err instanceof ZkriskError) this.checked.set(file, { sha256, error: err });
      throw err;
    }
  }

  /** The archived document of a text already checked; its content is read when first asked for. */
  private trustedDocument(file: string, text: string): Archived<T> {
    const format = this.format;
    let signed: T | undefined;
    return {
      file,
      text,
      get signed(): T {
        return (signed ??= format.trusted(JSON.parse(text), file));
      },
    };
  }

  /**
   * Refuses a document that is not this archive's record of `name`'s bar opening at `endTime` (ms), its `file`:
   * signed by another key than the archive's, of another market or set of markets, bar interval or bar.
   * @throws ArchiveMismatchError naming the file, the field and both values.
   */
  private assertBelongs(name: string, endTime: number, file: string, place: ArchivePlace): void {
    const mismatch =
      keyMismatch(place.publicKey, this.publicKey) ??
      this.format.mismatch(place, this.entry(name).expected, endTime);
    if (mismatch !== undefined) throw new ArchiveMismatchError(file, mismatch);
  }

  /**
   * Checks that every archived file of `name` is this archive's record of its place (as `read` does: the key,
   * the market or markets, the bar interval, the end time of its file name), reading from each file its version
   * and those fields only (`readPlace`): its bars are read, its digests recomputed and its signature verified by
   * `read`, when the file is first served. Files are read asynchronously, SCAN_READS_AHEAD ahead of the one
   * checked, so an API in the same process answers meanwhile and the reads' waits overlap the checks: about
   * 0.3 ms a window file (0.7 to 0.8 reading every field, one file at a time), so a start reads a year of one
   * 2-hour market's windows (4,380) in about 1.3 s.
   * @returns the number of files read.
   * @throws ArchiveMismatchError for the first file that is not; JsonTextError for a file that is not JSON or
   *   holds a key twice; PublisherFileError (UnsupportedVersionError for another file version) for a file whose
   *   fields do not read; the file-system error of a file that cannot be read; `o.signal`'s reason once it is
   *   aborted (checked before each file).
   */
  async scan(name: string, o: ScanOptions = {}): Promise<number> {
    const times = [...this.entry(name).times];
    const files = times.map((endTime) => this.fileOf(name, endTime));
    // Reads started ahead of the file checked, so that the wait for each read overlaps the checks of the files
    // before it; a read left behind by a scan that ends early is dropped.
    const reads: (Promise<string> | undefined)[] = [];
    const readAhead = (upTo: number) => {
      for (let i = reads.length; i < Math.min(upTo, files.length); i++) {
        const read = readFile(files[i], "utf8");
        read.catch(() => undefined);
        reads.push(read);
      }
    };
    for (const [i, endTime] of times.entries()) {
      o.signal?.throwIfAborted();
      const file = files[i];
      readAhead(i + 1 + SCAN_READS_AHEAD);
      const text = await reads[i]!;
      reads[i] = undefined;
      const value = parseJsonText(text, file);
      const version = fileReader(value, file).at("version").integer();
      if (version !== this.format.version.current) {
        throw new UnsupportedVersionError(
          file,
          version,
          unsupportedVersionReason(version, this.format.version),
        );
      }
      this.assertBelongs(name, endTime, file, this.format.readPlace(value, file));
      o.onFile?.();
    }
    return times.length;
  }

  /**
   * Archives a signed document of `name` (its windows' end time names the bar), durably and create-only. The
   * directory is made again if it went away; a write that fails leaves the bar unarchived, to be signed again.
   * @returns the file written.
   * @throws ArchiveConflictError when a document is already archived for that bar; ArchiveMismatchError for a
   *   document the archive does not hold under `name` (another key's, another market's); the file-system error
   *   when the file cannot be written (a full disk, a directory that became read-only or a file).
   */
  put(name: string, signed: T): Archived<T> {
    const endTime = this.format.endTime(signed);
    const file = this.fileOf(name, endTime);
    if (this.has(name, endTime)) throw new ArchiveConflictError(file, this.format.noun);
    this.assertBelongs(name, endTime, file, this.format.placeOf(signed));
    const text = this.format.text(signed);
    try {
      makeDirectory(this.entry(name).directory);
      writeFileAtomic(file, text, { replace: false });
    } catch (err) {
      // EEXIST is a conflict only when the file is there now (the create-only link failed), not when a file
      // stands where a directory should be.
      if ((err as NodeJS.ErrnoException).code !== "EEXIST" || !isKind(file, "file")) throw err;
      // Another process archived this bar meanwhile: its file is the one kept, and from now on compared.
      this.add(name, endTime);
      throw new ArchiveConflictError(file, this.format.noun);
    }
    this.add(name, endTime);
    // Written here from what was just signed: checked, as long as the file keeps this text.
    this.checked.set(file, { sha256: sha256Hex(text) });
    return { file, text, signed };
  }

  /** Adds a bar to the index of `name`. */
  private add(name: string, endTime: number): void {
    const e = this.entry(name);
    e.set.add(endTime);
    // Documents are signed oldest first, so this is almost always an append.
    let i = e.times.length;
    while (i > 0 && e.times[i - 1] > endTime) i--;
    e.times.splice(i, 0, endTime);
  }
}

/** Options of opening an archive. */
export interface OpenArchiveOptions {
  /** Create the directories that are missing (default true); false creates nothing (`--check`). */
  create?: boolean;
}

/** The signed windows of the configured markets, by market label: `ARCHIVE/<market directory>/`. */
export class WindowArchive extends SignedArchive<SignedWindow> {
  /**
   * Opens (creating it if needed) the archive in `dir` for `markets` and lists the windows already there.
   * @param markets each market with its bar interval (ms) when known: a window of another interval is refused.
   * @param publicKey the publisher's own key: a window another key signed is refused.
   */
  static open(
    dir: string,
    markets: readonly { market: string; marketId: bigint; intervalMs?: number }[],
    publicKey: PublicKey,
    options: OpenArchiveOptions = {},
  ): WindowArchive {
    return new WindowArchive(
      dir,
      publicKey,
      WINDOW_FORMAT,
      markets.map(({ market, marketId, intervalMs }) => ({
        name: market,
        markets: [market],
        directory: marketDirectory(market, marketId),
        ...(intervalMs === undefined ? {} : { intervalMs }),
      })),
      options.create ?? true,
    );
  }
}

/** The signed batches of the configured batches, by batch label: `ARCHIVE/_batches/<batch>/`. */
export class BatchArchive extends SignedArchive<SignedBatch> {
  /**
   * Opens (creating it if needed) the batch archive in `dir` (the archive directory, as for `WindowArchive`)
   * for `batches` and lists the batches already there.
   * @param batches labels that are safe directory names (config.ts `BATCH_LABEL`), each with its markets: a
   *   batch of other markets is refused.
   * @param publicKey the publisher's own key: a batch another key signed is refused.
   */
  static open(
    dir: string,
    batches: readonly { batch: string; markets: readonly string[] }[],
    publicKey: PublicKey,
    options: OpenArchiveOptions = {},
  ): BatchArchive {
    return new BatchArchive(
      dir,
      publicKey,
      BATCH_FORMAT,
      batches.map(({ batch, markets }) => ({
        name: batch,
        markets,
        directory: join(BATCHES_DIRECTORY, batch),
      })),
      options.create ?? true,
    );
  }
}
