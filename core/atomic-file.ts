/**
 * Shared core: durable, atomic file installation. The one owner of "temp file + rename": a finished file is written
 * (or copied, or produced by a tool) under a temporary name in the same directory, flushed to disk, renamed onto its
 * final name and the directory entry flushed too. Readers see the old file or the whole new one, never half a file,
 * even after a crash; on failure the temporary file is removed and the final name is left as it was.
 */
import {
  closeSync,
  copyFileSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { randomBytes } from "node:crypto";
import { dirname } from "node:path";

/** Options of {@link writeFileAtomic}. */
export interface AtomicWriteOptions {
  /** Permission bits of a new file (before the umask), e.g. 0o600 for secrets. Default 0o666. */
  mode?: number;
  /**
   * Whether an existing file at the path is replaced (default true). With false the temporary file is hard-linked
   * onto the path, which fails with `EEXIST` when a file is there, even one created meanwhile.
   */
  replace?: boolean;
}

/** A fresh temporary path next to `path` (same directory, so same filesystem: renaming it onto `path` is atomic). */
export function tempPathNextTo(path: string): string {
  return `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
}

/** Error codes of platforms and filesystems that cannot open or fsync a directory (Windows, some network mounts). */
const DIRECTORY_SYNC_UNSUPPORTED = new Set(["EISDIR", "EINVAL", "EPERM", "ENOTSUP", "EACCES"]);

/** Flush `dir`'s entries to disk, so a rename into it survives a crash; a no-op where directories cannot be synced. */
export function syncDirectory(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, "r");
  } catch (err) {
    if (DIRECTORY_SYNC_UNSUPPORTED.has((err as NodeJS.ErrnoException).code ?? "")) return;
    throw err;
  }
  try {
    fsyncSync(fd);
  } catch (err) {
    if (!DIRECTORY_SYNC_UNSUPPORTED.has((err as NodeJS.ErrnoException).code ?? "")) throw err;
  } finally {
    closeSync(fd);
  }
}

/** Create the new file `tmp` (never an existing one) with `data`, flushed to disk. */
function writeFlushed(tmp: string, data: string | Uint8Array, mode: number): void {
  const fd = openSync(tmp, "wx", mode);
  try {
    writeFileSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Flush a finished file's bytes to disk. */
function syncFile(path: string): void {
  const fd = openSync(path, "r+");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Install the finished file `from` at `to`: flush `from`, rename it onto `to` (atomic: `from` must be in the same
 * filesystem, e.g. from {@link tempPathNextTo} or a work directory beside `to`), flush `to`'s directory.
 */
export function installFile(from: string, to: string): void {
  syncFile(from);
  renameSync(from, to);
  syncDirectory(dirname(to));
}

/**
 * Write `data` to `path` durably and atomically (temporary file in the same directory, fsync, rename, fsync of the
 * directory), creating the parent directory if needed. Readers never see half a file; on failure the temporary
 * file is removed.
 */
export function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tempPathNextTo(path);
  try {
    writeFlushed(tmp, data, options.mode ?? 0o666);
    if (options.replace === false) linkSync(tmp, path);
    else renameSync(tmp, path);
    syncDirectory(dirname(path));
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * Write several files as one piece of output: every file is written and flushed under a temporary name first, and
 * only when all are written are they renamed onto their paths. A failure while writing (a full disk, a path that
 * cannot hold a file) leaves every path as it was; only a failing rename, after all the writing, could leave some
 * files installed and not others.
 */
export function writeFilesAtomic(files: readonly { path: string; data: string | Uint8Array }[]): void {
  const temps: string[] = [];
  try {
    for (const f of files) {
      mkdirSync(dirname(f.path), { recursive: true });
      const tmp = tempPathNextTo(f.path);
      temps.push(tmp);
      writeFlushed(tmp, f.data, 0o666);
    }
    files.forEach((f, i) => {
      renameSync(temps[i], f.path);
      syncDirectory(dirname(f.path));
    });
  } finally {
    for (const tmp of temps) rmSync(tmp, { force: true });
  }
}

/** Copy `from` to `to` durably and atomically (a copy next to `to`, fsync, rename, fsync of the directory). */
export function copyFileAtomic(from: string, to: string): void {
  const tmp = tempPathNextTo(to);
  try {
    copyFileSync(from, tmp);
    installFile(tmp, to);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * Let `write(tmp)` produce a file at a temporary path next to `path` (for tools that write files themselves, such
 * as snarkjs), then install it durably at `path`, creating the parent directory if needed. Returns what `write`
 * returns; when `write` throws, the temporary file is removed and `path` is left as it was.
 */
export async function writeFileVia<T>(path: string, write: (tmp: string) => Promise<T>): Promise<T> {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tempPathNextTo(path);
  try {
    const result = await write(tmp);
    installFile(tmp, path);
    return result;
  } finally {
    rmSync(tmp, { force: true });
  }
}
