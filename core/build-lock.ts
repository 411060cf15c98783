/**
 * Shared core: one process builds what several would otherwise build at once (a development ptau, a cache entry).
 * A lock file beside the result (`wx`: created only where none is) names its holder (pid and host); the holder
 * touches it every few seconds while it works and removes it when done. Another process waits until the result is
 * there or the lock is gone. A lock whose holder is gone (same host) or that has not been touched for ten minutes
 * is taken over; whatever is built is installed atomically, so a lock taken over wrongly costs duplicate work, not
 * a mixed result. A holder stopped by a signal removes its lock (core/interrupt.ts). The same lock file, inside a
 * work directory, names the directory's owner (core/work-dir.ts).
 */
import { closeSync, openSync, readFileSync, rmSync, statSync, utimesSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { onInterrupt } from "./interrupt";
import { pidAlive } from "./pid";

/** A lock whose holder has not touched it for this long is abandoned (holders touch it every few seconds). */
const LOCK_STALE_MS = 10 * 60_000;
const LOCK_HEARTBEAT_MS = 5_000;
const LOCK_POLL_MS = 250;

interface LockOwner {
  pid: number;
  host: string;
}

/** What the caller hears while it waits. */
export interface BuildLockEvents {
  /** Once, when another caller (another process, or another call in this one) holds the lock and this one waits. */
  onWait?: () => void;
  /** When a lock left by a process that is gone, or untouched for ten minutes, is taken over. */
  onTakeOver?: () => void;
}

/** Create the lock file `lockPath` naming this process (pid, host), unless one is there; whether it was created. */
export function tryLock(lockPath: string): boolean {
  try {
    const fd = openSync(lockPath, "wx");
    try {
      writeSync(fd, JSON.stringify({ pid: process.pid, host: hostname() } satisfies LockOwner));
    } finally {
      closeSync(fd);
    }
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
}

/**
 * Whether the holder named by the lock file `lockPath` is gone: on this host, by its pid alone (a live holder is
 * never judged gone, however long it has not touched the lock); on another host, by the lock going untouched for ten
 * minutes. False when the file is missing or half-written. What decides whether another process's files may be
 * removed ({@link lockIsStale} decides only whether its work may be duplicated).
 */
export function lockHolderGone(lockPath: string): boolean {
  try {
    const owner = JSON.parse(readFileSync(lockPath, "utf8")) as Partial<LockOwner>;
    if (owner.host === hostname()) return typeof owner.pid === "number" && !pidAlive(owner.pid);
    return Date.now() - statSync(lockPath).mtimeMs > LOCK_STALE_MS;
  } catch {
    return false;
  }
}

/**
 * Touch the lock file `lockPath` every few seconds, so that other hosts see its holder at work; returns the
 * function that stops.
 */
export function keepLockFresh(lockPath: string): () => void {
  const heartbeat = setInterval(() => {
    const now = new Date();
    try {
      utimesSync(lockPath, now, now);
    } catch {
      // The lock was taken over or removed; whoever did so decided the work here no longer counts.
    }
  }, LOCK_HEARTBEAT_MS);
  heartbeat.unref();
  return () => clearInterval(heartbeat);
}

/** Whether the lock at `lockPath` was left by a process that is gone (same host) or has stopped touching it. */
function lockIsStale(lockPath: string): boolean {
  try {
    const age = Date.now() - statSync(lockPath).mtimeMs;
    if (age > LOCK_STALE_MS) return true;
    const owner = JSON.parse(readFileSync(lockPath, "utf8")) as Partial<LockOwner>;
    return owner.host === hostname() && typeof owner.pid === "number" && !pidAlive(owner.pid);
  } catch {
    // Vanished (released) or half-written (just created): not stale; the caller re-checks.
    return false;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * What `ready()` finds, or else what `build()` makes while holding the lock file `lockPath`. `ready` is asked
 * before each attempt at the lock and again once it is held (another process may have finished in between);
 * `undefined` means "not there yet". Also within one process, a second caller waits for the first.
 */
export async function buildOnce<T>(
  lockPath: string,
  ready: () => T | undefined,
  build: () => Promise<T>,
  events: BuildLockEvents = {},
): Promise<T> {
  let waiting = false;
  for (;;) {
    const found = ready();
    if (found !== undefined) return found;
    if (tryLock(lockPath)) break;
    if (lockIsStale(lockPath)) {
      events.onTakeOver?.();
      rmSync(lockPath, { force: true });
      continue;
    }
    if (!waiting) events.onWait?.();
    waiting = true;
    await sleep(LOCK_POLL_MS);
  }
  // A lock taken over meanwhile costs duplicate work only: the result is installed atomically.
  const stopTouching = keepLockFresh(lockPath);
  const forget = onInterrupt(() => rmSync(lockPath, { force: true }));
  try {
    return ready() ?? (await build());
  } finally {
    forget();
    stopTouching();
    rmSync(lockPath, { force: true });
  }
}
