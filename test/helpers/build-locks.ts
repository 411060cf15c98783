/**
 * Lock files of core/build-lock.ts as a holder leaves them (its pid and host), for tests of waiting on a live
 * holder and taking over from one that is gone.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { hostname } from "node:os";

/** Write the lock file `path` as held by process `pid` of this host. */
export function writeHeldLock(path: string, pid: number): void {
  writeFileSync(path, JSON.stringify({ pid, host: hostname() }));
}

/** The id of a process of this host that has ended (a child run to its end). */
export function goneProcessId(): number {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], {
    encoding: "utf8",
  });
  return Number(child.stdout);
}
