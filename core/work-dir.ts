/**
 * Shared core: a process's private work directory beside its output (`<parent>/<prefix>XXXXXX`, in the same
 * filesystem, so that finished files are renamed out of it). It holds a lock file naming its owner (pid and host,
 * core/build-lock.ts) and is removed when the work ends, fails or is stopped by a signal (core/interrupt.ts). One
 * left by a process killed outright (SIGKILL, a crash, a power cut) is removed by the next work with the same
 * prefix in the same parent, once its owner is gone; another live process's is left alone.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { keepLockFresh, lockHolderGone, tryLock } from "./build-lock";
import { onInterrupt } from "./interrupt";

/** The lock file naming a work directory's owner, inside it. */
export const WORK_DIR_OWNER_FILE = ".owner.lock";

/**
 * A work directory without an owner file (its process stopped between creating it and writing the file, or an
 * older zkrisk made it) is taken as abandoned when it has not changed for this long, ms.
 */
const UNOWNED_ABANDONED_MS = 10 * 60_000;

/** Remove `dir` and everything in it, retrying while a process still writing there adds entries. */
function removeTree(dir: string): void {
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

/** Whether the work directory `dir` was left by a process that is gone. */
function abandoned(dir: string): boolean {
  const owner = join(dir, WORK_DIR_OWNER_FILE);
  try {
    statSync(owner);
  } catch {
    try {
      return Date.now() - statSync(dir).mtimeMs > UNOWNED_ABANDONED_MS;
    } catch {
      return false; // removed meanwhile
    }
  }
  return lockHolderGone(owner);
}

/**
 * Remove the work directories `<prefix>...` in `parent` whose owner is gone (see {@link abandoned}); returns their
 * names.
 */
export function removeAbandonedWorkDirs(parent: string, prefix: string): string[] {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const dir = join(parent, name);
    if (!abandoned(dir)) continue;
    try {
      removeTree(dir);
      removed.push(name);
    } catch {
      // Still in use after all, or not ours to remove: left for a later run.
    }
  }
  return removed;
}

/**
 * Run `work` in a new work directory `<parent>/<prefix>XXXXXX` (`parent` must exist), first removing the ones of
 * the same prefix whose owner is gone. The directory is removed when `work` settles, or when a signal stops the
 * process first; `work` moves what it keeps out of it.
 */
export async function withWorkDir<T>(
  parent: string,
  prefix: string,
  work: (dir: string) => Promise<T>,
): Promise<T> {
  removeAbandonedWorkDirs(parent, prefix);
  const dir = mkdtempSync(join(parent, prefix));
  const forget = onInterrupt(() => removeTree(dir));
  let stopTouching = (): void => undefined;
  try {
    tryLock(join(dir, WORK_DIR_OWNER_FILE));
    stopTouching = keepLockFresh(join(dir, WORK_DIR_OWNER_FILE));
    return await work(dir);
  } finally {
    stopTouching();
    forget();
    removeTree(dir);
  }
}
