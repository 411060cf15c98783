/**
 * Shared core: durable, atomic file installation. The one owner of "temp file + rename": a finished file is written
 * (or copied, or produced by a tool) under a temporary name in the same directory, flushed to disk, renamed onto its
 * final name and the directory entry flushed too. Readers see the old file or the whole new one, never half a file,
 * even after a crash; on failure, or when the process is stopped by a signal (core/interrupt.ts), the temporary file
 * is removed and the final name is left as it was. A cache entry (a directory) is built the same way, beside its
 * place (`buildCacheEntry`).
 */
import {
  chmodSync,
  closeSync,
  copyFileSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { randomBytes } from "node:crypto";
import { basename, dirname, join } from "node:path";
import { buildOnce, type BuildLockEvents } from "./build-lock";
import { onInterrupt } from "./interrupt";

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
  const forget = onInterrupt(() => rmSync(tmp, { force: true }));
  try {
    const result = await write(tmp);
    installFile(tmp, path);
    return result;
  } finally {
    forget();
    rmSync(tmp, { force: true });
  }
}

/**
 * Move the finished directory `from` onto `to`, replacing the directory there: the old one is first moved to
 * `aside` (a path that does not exist, in the same filesystem; the caller removes it). Between the two renames
 * `to` is missing, never half old and half new.
 */
export function installDirectory(from: string, to: string, aside: string): void {
  try {
    renameSync(to, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  renameSync(from, to);
  syncDirectory(dirname(to));
}

/** A directory being built beside its cache entry: `<entry>.building-XXXXXX`. */
const BUILDING = ".building-";
/** A directory being built this long ago is taken as left by a process that stopped, and removed, ms. */
const ABANDONED_MS = 24 * 3600_000;

/**
 * Build the cache entry `dir` with `build` in a new directory beside it (`<dir>.building-XXXXXX`, so paths
 * relative to it stay right), then move that into place, so no process reads a half-built entry. Of several
 * processes (or calls) after one entry at once (two demos, two test files, the bench beside the tests), one builds
 * it and the others wait for it: a lock file `<dir>.lock` ({@link buildOnce}). Should two build anyway (a lock
 * taken over from a stalled holder), the first moved into place is kept. An entry in place that `usable` refuses
 * (stale) is replaced. Building directories a stopped process left for a day are removed. (Entries are not
 * flushed to disk: a cache can be built again.) Resolves to whether this call ran `build` (false: it took an entry
 * in place or another caller's).
 */
export async function buildCacheEntry(
  dir: string,
  usable: (dir: string) => boolean,
  build: (into: string) => Promise<void>,
  events: BuildLockEvents = {},
): Promise<boolean> {
  const parent = dirname(dir);
  mkdirSync(parent, { recursive: true });
  removeAbandoned(parent, `${basename(dir)}${BUILDING}`);
  return buildOnce(
    `${dir}.lock`,
    () => (usable(dir) ? false : undefined),
    async () => {
      await buildAside(dir, usable, build);
      return true;
    },
    events,
  );
}

/** Build `dir` beside it and move it into place (see {@link buildCacheEntry}). */
async function buildAside(
  dir: string,
  usable: (dir: string) => boolean,
  build: (into: string) => Promise<void>,
): Promise<void> {
  const building = mkdtempSync(`${dir}${BUILDING}`);
  const forget = onInterrupt(() => rmSync(building, { recursive: true, force: true, maxRetries: 3 }));
  try {
    chmodSync(building, 0o755); // as a directory made in place would be, not mkdtemp's 0700
    await build(building);
    for (let attempt = 0; ; attempt++) {
      try {
        renameSync(building, dir);
        return;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if ((code !== "ENOTEMPTY" && code !== "EEXIST") || attempt === 2) throw err;
      }
      if (usable(dir)) return; // another process's build came first: kept, this one dropped
      rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    forget();
    rmSync(building, { recursive: true, force: true });
  }
}

/** Remove the directories in `parent` named `prefix...` that were last changed more than a day ago. */
function removeAbandoned(parent: string, prefix: string): void {
  for (const name of readdirSync(parent)) {
    if (!name.startsWith(prefix)) continue;
    const path = join(parent, name);
    try {
      if (Date.now() - statSync(path).mtimeMs > ABANDONED_MS) rmSync(path, { recursive: true, force: true });
    } catch {
      // gone meanwhile
    }
  }
}
