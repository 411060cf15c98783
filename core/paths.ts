/**
 * Checks of the paths a command or a server will read and write, made before any work: an output file or
 * directory that can be written (only trying tells: an empty directory is created and removed where the output will
 * go), an input that exists. Each names the option (or config field) and the path in a UsageError, which a config
 * reader turns into its own error.
 */
import { mkdtempSync, rmdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { UsageError } from "./errors";

/** The kind of the file system entry at `path`, or undefined when nothing is there. */
export function entryKind(path: string): "directory" | "file" | "special" | undefined {
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

/**
 * Why nothing can be created in an existing directory, by the error code of trying. ENOENT there does not mean that
 * the directory is missing (it was found): it takes no new entries, as /proc does.
 */
const WRITE_FAILURES: Readonly<Record<string, string>> = {
  EACCES: "is not writable",
  EPERM: "is not writable",
  EROFS: "is on a read-only file system",
  ENOSPC: "is on a full device",
  EDQUOT: "is on a device whose disk quota is used up",
  ENOENT: "exists but takes no new entries (as a pseudo file system such as /proc)",
};

/**
 * Refuse `path` when nothing can be created in the existing directory `dir`, naming both, why, and the error that
 * creating an entry there gave.
 * @throws UsageError e.g. `--out: cannot write to '/proc/x.json': '/proc' exists but takes no new entries (as a
 *   pseudo file system such as /proc); creating an entry there failed with ENOENT: no such file or directory`
 */
function checkWritable(option: string, path: string, dir: string): void {
  let probe: string;
  try {
    probe = mkdtempSync(join(dir, ".zkrisk-write-check-"));
  } catch (err) {
    const error = (err as Error).message.split(",")[0];
    const why = WRITE_FAILURES[(err as NodeJS.ErrnoException).code ?? ""] ?? "takes no new entries";
    const subject = dir === resolve(path) ? "it" : `'${dir}'`;
    throw new UsageError(
      `${option}: cannot write to '${path}': ${subject} ${why}; creating an entry there failed with ${error}`,
    );
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
