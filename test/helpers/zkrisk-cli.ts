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

/** Where and how a run happens: its working directory, variables added to the environment, time allowed (ms). */
export interface ZkriskRunOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs: number;
}

/** Run `zkrisk ARGS...` to completion as `options` say. */
export function zkriskIn(options: ZkriskRunOptions, ...args: string[]): ZkriskRun {
  const r = spawnSync(process.execPath, [ZKRISK_BIN, ...args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    encoding: "utf8",
    timeout: options.timeoutMs,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Run `zkrisk ARGS...` to completion (at most 2 minutes) from a temporary directory. */
export function zkrisk(...args: string[]): ZkriskRun {
  return zkriskIn({ cwd: tmpdir(), timeoutMs: 120_000 }, ...args);
}

/** A test publisher password, at least the 12 characters a new keystore needs. */
export const TEST_PUBLISHER_PASSWORD = "correct horse battery staple";

/**
 * Run `zkrisk ARGS...` to completion in `dir` (paths relative to it) with {@link TEST_PUBLISHER_PASSWORD} set, for
 * at most `timeoutMs`.
 */
export function zkriskWithPassword(dir: string, timeoutMs: number, ...args: string[]): ZkriskRun {
  return zkriskIn(
    { cwd: dir, env: { ZKRISK_PUBLISHER_PASSWORD: TEST_PUBLISHER_PASSWORD }, timeoutMs },
    ...args,
  );
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
