/** Running the `zkrisk` binary as a user does: a child process in a temporary directory, output captured. */
import { execFile, spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The binary (bin/zkrisk.cjs). */
export const ZKRISK_BIN = join(__dirname, "../..", "bin/zkrisk.cjs");

/** What a run printed and its exit code. */
export interface ZkriskRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run `zkrisk ARGS...` to completion (at most 2 minutes) from a temporary directory. */
export function zkrisk(...args: string[]): ZkriskRun {
  const r = spawnSync(process.execPath, [ZKRISK_BIN, ...args], {
    cwd: tmpdir(),
    encoding: "utf8",
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A test publisher password, at least the 12 characters a new keystore needs. */
export const TEST_PUBLISHER_PASSWORD = "correct horse battery staple";

/**
 * Run `zkrisk ARGS...` to completion in `dir` (paths relative to it) with {@link TEST_PUBLISHER_PASSWORD} set, for
 * at most `timeoutMs`.
 */
export function zkriskWithPassword(dir: string, timeoutMs: number, ...args: string[]): ZkriskRun {
  const r = spawnSync(process.execPath, [ZKRISK_BIN, ...args], {
    cwd: dir,
    env: { ...process.env, ZKRISK_PUBLISHER_PASSWORD: TEST_PUBLISHER_PASSWORD },
    encoding: "utf8",
    timeout: timeoutMs,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * {@link zkrisk} without blocking this process, for a run that talks to a server this process serves (a proxy in
 * front of the test chain).
 */
export function zkriskAsync(...args: string[]): Promise<ZkriskRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [ZKRISK_BIN, ...args],
      { cwd: tmpdir(), encoding: "utf8", timeout: 120_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === "number" ? err.code : null;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
