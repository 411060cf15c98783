/** Parsing and printing helpers shared by the commands. */
import { readdirSync, realpathSync, statSync, type Dirent } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { UsageError } from "../core/errors";
import { entryKind, inFileOption } from "../core/paths";
export { inFileOption, outDirOption, outFileOption } from "../core/paths";
import { parseTimestamp } from "../candles/load-data";
import { isKeystoreFile } from "../publisher/keystore";

/**
 * A date option: `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS[.fff]]` (UTC, `T` allowed, optional `Z`), as ms.
 * With `endOfDay`, a bare date means the last millisecond of that day (for inclusive `--to` bounds).
 */
export function parseDateOption(option: string, value: string, endOfDay = false): number {
  const v = value.trim();
  const dayOnly = /^\d{4}-\d{2}-\d{2}$/.test(v);
  const full = /^\d{4}-\d{2}-\d{2}$/.test(v)
    ? `${v} 00:00:00`
    : /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}Z?$/.test(v)
      ? `${v.replace(/Z$/, "")}:00`
      : v;
  const ms = parseTimestamp(full);
  if (ms === undefined) {
    throw new UsageError(`${option}: '${value}' is not a UTC date (YYYY-MM-DD or 'YYYY-MM-DD HH:MM:SS')`);
  }
  return dayOnly && endOfDay ? ms + 86_400_000 - 1 : ms;
}

/** An integer option within [min, max]. */
export function parseIntOption(option: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`${option}: '${value}' is not an integer in [${min}, ${max}]`);
  }
  return n;
}

/**
 * A number option within [min, max], written as a plain decimal number with an optional exponent (`0.01`, `.5`,
 * `-2`, `3e-4`); what Number() would also take (`0x10`, `0b1`, `Infinity`, an empty string) is refused.
 */
export function parseFloatOption(option: string, value: string, min: number, max: number): number {
  const n = Number(value);
  const decimal = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(value.trim());
  if (!decimal || !Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`${option}: '${value}' is not a number in [${min}, ${max}]`);
  }
  return n;
}

/** A comma-separated list of positive integers (e.g. hidden layer widths). */
export function parseIntListOption(option: string, value: string, min: number, max: number): number[] {
  return value.split(",").map((part) => parseIntOption(option, part, min, max));
}

/** A file (or directory) named on the command line, and the option that names it. */
export interface FileOption {
  option: string;
  path: string;
}

/**
 * A path a command writes: a file, or with `entries` a directory the command writes entries into; `entries(rel)`
 * says whether it writes (replaces, removes) the entry at `rel`, a path relative to the directory with `/` between
 * names (e.g. `verification_key.json`, `build/main.r1cs`).
 */
export interface OutputOption extends FileOption {
  entries?: (rel: string) => boolean;
}

/** The {@link FileOption}s of an option's value or values: none when it is not given. */
export function fileOptions(option: string, paths: string | readonly string[] | undefined): FileOption[] {
  if (paths === undefined) return [];
  return (typeof paths === "string" ? [paths] : paths).map((path) => ({ option, path }));
}

/** The FILE of a `LABEL=FILE` value (`--batch MARKET=CANDLES.csv`, `--market-model LABEL=FILE`), if it has one. */
export function labelledFile(value: string): string | undefined {
  const at = value.indexOf("=");
  const file = value.slice(at + 1).trim();
  return at > 0 && file !== "" ? file : undefined;
}

/**
 * The absolute real path of `path`, which may not exist yet: symbolic links resolved in the part that exists (the
 * real path of the file, or of its nearest existing directory followed by the missing names).
 */
function canonicalPath(path: string): string {
  const missing: string[] = [];
  for (let at = resolve(path); ; at = dirname(at)) {
    try {
      return join(realpathSync(at), ...missing.reverse());
    } catch {
      if (dirname(at) === at) return resolve(path);
      missing.push(basename(at));
    }
  }
}

/** One file a command reads or writes, as it is compared: its real path and, when it exists, its device and inode. */
interface ComparedFile {
  /** How the file is named in a message, e.g. `--key K.json` or `A/artifacts.json of --artifacts A`. */
  named: string;
  real: string;
  inode?: string;
}

function compared(named: string, path: string): ComparedFile {
  let inode: string | undefined;
  try {
    const st = statSync(path);
    inode = `${st.dev}:${st.ino}`;
  } catch {
    // not there (yet): compared by its path alone
  }
  return { named, real: canonicalPath(path), inode };
}

/** Whether two files are one: the same real path (a symbolic link to the other included), or one inode (a hard link). */
function sameFile(a: ComparedFile, b: ComparedFile): boolean {
  return a.real === b.real || (a.inode !== undefined && a.inode === b.inode);
}

/** Entries of a directory compared at most: an artifact directory holds a few dozen. */
const MAX_DIRECTORY_ENTRIES = 10_000;

/**
 * The regular files under the directory `dir` (e.g. an artifact directory's manifest, keys and build output), depth
 * first, without following links to directories; an unreadable subdirectory is skipped, and a directory of more
 * than {@link MAX_DIRECTORY_ENTRIES} entries is read that far.
 */
function filesUnder(dir: string): string[] {
  const files: string[] = [];
  let seen = 0;
  const walk = (at: string): void => {
    let names: Dirent[];
    try {
      names = readdirSync(at, { withFileTypes: true });
    } catch {
      return;
    }
    for (const d of names) {
      if (++seen > MAX_DIRECTORY_ENTRIES) return;
      const path = join(at, d.name);
      if (d.isDirectory()) walk(path);
      else if (entryKind(path) === "file") files.push(path);
    }
  };
  walk(dir);
  return files;
}

/** The files of an input: the file itself, or the regular files under a directory ({@link filesUnder}). */
function inputFiles(input: FileOption): ComparedFile[] {
  if (entryKind(input.path) !== "directory") return [compared(`${input.option} ${input.path}`, input.path)];
  return filesUnder(input.path).map((path) => compared(`${path} of ${input.option} ${input.path}`, path));
}

/**
 * The paths an output writes over that are there now: the file itself, or the existing files under a directory
 * whose entries it writes (e.g. `A/verification_key.json` of `--snarkjs A`). `choose`: whether another path of the
 * option would do (not for a directory's entry, which the command names).
 */
function existingWrites(w: OutputOption): { path: string; choose: boolean }[] {
  const entries = w.entries;
  if (entries === undefined) return entryKind(w.path) === "file" ? [{ path: w.path, choose: true }] : [];
  if (entryKind(w.path) !== "directory") return [];
  return filesUnder(w.path)
    .filter((path) => entries(relative(w.path, path).split(sep).join("/")))
    .map((path) => ({ path, choose: false }));
}

/**
 * Refuses, before any work, an output that is the same file as one of the command's inputs or as another of its
 * outputs: written, it would replace an input (a keystore, the candles, a model, an artifact manifest) or the other
 * output. Files are compared by real path (a symbolic link to an input is the input) and, when they exist, by device
 * and inode (a hard link). A directory among `reads` stands for every file under it; an output with `entries`, for
 * the entries it writes in its directory. The message names both options and the file.
 *
 * Then refuses an output that would replace a publisher keystore (an encrypted private key, recognised by its
 * content: publisher/keystore.ts `isKeystoreFile`), whether the command reads it or not: a file output that is one,
 * or one among the entries a directory output writes. Only existing small files are read. (`publisher keygen
 * --force` replaces a keystore on purpose, and does not come here.)
 * @throws UsageError e.g. `--out: K.json would overwrite --key K.json (the same file), which this command reads:
 *   choose another --out`, or `--out: K.json holds a publisher keystore (a private key), which this command would
 *   overwrite: choose another --out`
 */
export function refuseOverwrites(files: {
  reads: readonly FileOption[];
  writes: readonly OutputOption[];
}): void {
  const inputs = files.reads.flatMap(inputFiles);
  const outputs: ComparedFile[] = [];
  /** `path` of the output `option` is `target`; `choose` suggests another `option` (not for a directory's entry). */
  const refuse = (option: string, path: string, target: ComparedFile, choose: boolean): never => {
    const read = inputs.includes(target);
    throw new UsageError(
      `${option}: ${path} would overwrite ${target.named} (the same file)` +
        (!read
          ? ": give each output its own path"
          : choose
            ? `, which this command reads: choose another ${option}`
            : ", which this command reads"),
    );
  };
  for (const w of files.writes) {
    if (w.entries !== undefined) continue;
    const out = compared(`${w.option} ${w.path}`, w.path);
    const target = inputs.find((i) => sameFile(i, out)) ?? outputs.find((o) => sameFile(o, out));
    if (target !== undefined) refuse(w.option, w.path, target, true);
    outputs.push(out);
  }
  for (const w of files.writes) {
    const entries = w.entries;
    if (entries === undefined) continue;
    const dir = canonicalPath(w.path);
    for (const f of [...inputs, ...outputs]) {
      const rel = relative(dir, f.real);
      if (rel === "" || rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) continue;
      const entry = rel.split(sep).join("/");
      if (entries(entry)) refuse(w.option, join(w.path, entry), f, false);
    }
  }
  for (const w of files.writes) {
    for (const { path, choose } of existingWrites(w)) {
      if (!isKeystoreFile(path)) continue;
      throw new UsageError(
        `${w.option}: ${path} holds a publisher keystore (a private key), which this command would overwrite` +
          (choose ? `: choose another ${w.option}` : ""),
      );
    }
  }
}

/**
 * Refuses two `--data` files of one market (`markets[i]` is the market of `files[i]`), naming both files;
 * `why` says what a repeat would spoil.
 */
export function refuseRepeatedMarkets(
  files: readonly string[],
  markets: readonly string[],
  why?: string,
): void {
  markets.forEach((market, i) => {
    const j = markets.indexOf(market);
    if (j !== i) {
      throw new UsageError(
        `--data: ${files[j]} and ${files[i]} are both market ${market}${why === undefined ? "" : `: ${why}`}`,
      );
    }
  });
}

/**
 * Refuses two files of `option` that carry one publisher key (`keys[i]` is the key of `files[i]`), naming both:
 * one publisher counted twice would make a quorum of one, and the publisher set would hold a duplicate key.
 * `what` says what the files hold, e.g. "is signed by".
 */
export function refuseRepeatedKeys(
  option: string,
  files: readonly string[],
  keys: readonly { Ax: bigint; Ay: bigint }[],
  what: string,
): void {
  keys.forEach((key, i) => {
    const j = keys.findIndex((k) => k.Ax === key.Ax && k.Ay === key.Ay);
    if (j === i) return;
    const same = resolve(files[i]) === resolve(files[j]);
    throw new UsageError(
      same
        ? `${option}: ${files[i]} is given twice`
        : `${option}: ${files[i]} ${what} the same publisher key as ${files[j]}: each publisher counts once`,
    );
  });
}

/**
 * The signed files of `option` (windows, batches), each read with `read` after checking it exists; one publisher's
 * key in two of them is refused naming both ({@link refuseRepeatedKeys}).
 */
export async function readSignedFiles<T extends { publicKey: { Ax: bigint; Ay: bigint } }>(
  option: string,
  files: readonly string[],
  read: (file: string) => Promise<T>,
): Promise<T[]> {
  const docs: T[] = [];
  for (const file of files) docs.push(await read(inFileOption(option, file)));
  refuseRepeatedKeys(
    option,
    files,
    docs.map((d) => d.publicKey),
    "is signed by",
  );
  return docs;
}

/** JSON with bigints as decimal strings. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2);
}

/** Print one JSON document on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(toJson(value) + "\n");
}

/**
 * Print a command's result on stdout: the text `format(result)`, or with `--json` one JSON document (bigints as
 * decimal strings), `document(result)`: the result itself unless it also holds what only the text shows.
 */
export function output<R>(
  result: R,
  json: boolean | undefined,
  format: (result: R) => string,
  document: (result: R) => unknown = (r) => r,
): void {
  if (json) printJson(document(result));
  else process.stdout.write(format(result));
}

/** ISO-8601 UTC of a ms timestamp, shorter form for tables. */
export function shortDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace("T", " ")
    .replace(/:00\.000Z$/, "");
}

/** Left-aligned text table (of any length: the widths are found in a loop, not spread into Math.max). */
export function table(rows: string[][]): string {
  const widths = rows[0].map(() => 0);
  for (const r of rows)
    for (const [c, cell] of r.entries()) widths[c] = Math.max(widths[c] ?? 0, cell.length);
  return rows
    .map((r) =>
      r
        .map((cell, c) => cell.padEnd(widths[c]))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** Markdown table with padded columns (pastes into the docs as is). */
export function markdownTable(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(3, ...rows.map((r) => r[c].length)));
  const line = (r: string[]) => `| ${r.map((cell, c) => cell.padEnd(widths[c])).join(" | ")} |`;
  return [line(rows[0]), line(widths.map((w) => "-".repeat(w))), ...rows.slice(1).map(line)].join("\n");
}
