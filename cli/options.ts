/** Parsing and printing helpers shared by the commands. */
import { mkdtempSync, rmdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { UsageError } from "../core/errors";
import { parseTimestamp } from "../candles/load-data";

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

/** A number option within [min, max]. */
export function parseFloatOption(option: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`${option}: '${value}' is not a number in [${min}, ${max}]`);
  }
  return n;
}

/** A comma-separated list of positive integers (e.g. hidden layer widths). */
export function parseIntListOption(option: string, value: string, min: number, max: number): number[] {
  return value.split(",").map((part) => parseIntOption(option, part, min, max));
}

/** The kind of the file system entry at `path`, or undefined when nothing is there. */
function entryKind(path: string): "directory" | "file" | "special" | undefined {
  try {
    const st = statSync(path);
    return st.isDirectory() ? "directory" : st.isFile() ? "file" : "special";
  } catch {
    return undefined;
  }
}

/**
 * Refuse a path that cannot be written: its nearest existing ancestor is a file (writing under it would fail with
 * ENOTDIR), or a directory where nothing can be created (read-only, no permission, or a pseudo file system such as
 * /proc, where a recursive mkdir never returns). The check creates and removes an empty directory there: only
 * trying tells, as permission bits do not bind root and say nothing of read-only mounts.
 */
function checkParents(option: string, path: string, from = dirname(resolve(path))): void {
  for (let dir = from; ; dir = dirname(dir)) {
    const kind = entryKind(dir);
    if (kind === "file") throw new UsageError(`${option}: '${path}' lies under '${dir}', which is a file`);
    if (kind === "directory") {
      checkWritable(option, path, dir);
      return;
    }
    if (dirname(dir) === dir) return;
  }
}

/** Refuse `path` when nothing can be created in the existing directory `dir`, naming both and the reason. */
function checkWritable(option: string, path: string, dir: string): void {
  let probe: string;
  try {
    probe = mkdtempSync(join(dir, ".zkrisk-write-check-"));
  } catch (err) {
    const code = (err as Error).message.split(",")[0];
    const where = dir === resolve(path) ? `'${path}'` : `'${path}': its directory '${dir}'`;
    throw new UsageError(`${option}: cannot write to ${where} (${code})`);
  }
  rmdirSync(probe);
}

/**
 * An output file option, checked before any work is done: not a directory or other non-regular file, not under
 * a file, in a directory that can be written (missing parent directories are fine: they are created). Returns the
 * path.
 */
export function outFileOption(option: string, path: string): string {
  const kind = entryKind(path);
  if (kind === "directory") throw new UsageError(`${option}: '${path}' is a directory, not a file`);
  // The file is installed by renaming a finished copy onto the path, which would replace a device or a pipe.
  if (kind === "special")
    throw new UsageError(`${option}: '${path}' is not a regular file (a device, pipe or socket)`);
  checkParents(option, path);
  return path;
}

/** An output directory option, checked before any work is done: not a file, not under a file, writable. */
export function outDirOption(option: string, path: string): string {
  const kind = entryKind(path);
  if (kind === "file") throw new UsageError(`${option}: '${path}' is a file, not a directory`);
  if (kind === "special")
    throw new UsageError(`${option}: '${path}' is not a directory (a device, pipe or socket)`);
  checkParents(option, path, resolve(path));
  return path;
}

/** An input file option, checked before any work is done: it must name an existing regular file. */
export function inFileOption(option: string, path: string): string {
  const kind = entryKind(path);
  if (kind === undefined) throw new UsageError(`${option}: ${path}: file not found`);
  if (kind === "directory") throw new UsageError(`${option}: '${path}' is a directory, not a file`);
  return path;
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

/** Left-aligned text table. */
export function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) => cell.padEnd(widths[c]))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** Markdown table with padded columns (pastes into the README as is). */
export function markdownTable(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(3, ...rows.map((r) => r[c].length)));
  const line = (r: string[]) => `| ${r.map((cell, c) => cell.padEnd(widths[c])).join(" | ")} |`;
  return [line(rows[0]), line(widths.map((w) => "-".repeat(w))), ...rows.slice(1).map(line)].join("\n");
}
