/**
 * A throwaway `redis-server` for tests: 127.0.0.1 on a free port, no persistence, its working directory in a
 * temporary folder, stopped by the caller. Needs the Debian package `redis-server` (CI installs it).
 *
 * Suites that need it declare themselves with {@link describeRedis}: where `redis-server` is not installed
 * they are skipped, with the reason and the way to run them printed, unless `ZKRISK_REQUIRE_REDIS=1` (set by
 * `.ci/run`) makes the missing server a failure.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe } from "vitest";
import { freePort } from "./ports";

/** The environment variable that turns a skipped Redis suite into a failing one (`1`; CI sets it). */
export const REQUIRE_REDIS_ENV = "ZKRISK_REQUIRE_REDIS";

/** How to get the server, for messages. */
const INSTALL_HINT =
  "install the Debian package redis-server (apt-get install redis-server; .ci/run installs it)";

/** Whether `redis-server` could be run, and if not, why. */
export interface RedisProbe {
  installed: boolean;
  /** `redis-server --version`'s answer, or the reason it could not be run. */
  detail: string;
}

/** Whether the Redis suites run, or are skipped and why. */
export type RedisGate = { run: true; required: boolean } | { run: false; reason: string };

/** Run `redis-server --version` with `env` (its PATH decides which binary, if any, is found). */
export function probeRedisServer(env: NodeJS.ProcessEnv = process.env): RedisProbe {
  const probe = spawnSync("redis-server", ["--version"], { encoding: "utf8", env });
  if (probe.error !== undefined) return { installed: false, detail: probe.error.message };
  if (probe.status !== 0)
    return { installed: false, detail: `exit code ${probe.status}: ${probe.stderr.trim()}` };
  return { installed: true, detail: probe.stdout.trim() };
}

/**
 * Decide whether the Redis suites run. They run when `redis-server` is installed, and when
 * `ZKRISK_REQUIRE_REDIS=1` (then a missing server fails them in `startRedis`); otherwise they are skipped.
 * @throws Error if `ZKRISK_REQUIRE_REDIS` holds anything but unset, empty, `0` or `1`
 */
export function redisGate(probe: RedisProbe, env: NodeJS.ProcessEnv = process.env): RedisGate {
  const value = env[REQUIRE_REDIS_ENV] ?? "";
  if (!["", "0", "1"].includes(value)) {
    throw new Error(
      `${REQUIRE_REDIS_ENV}: '${value}' is not 1 (Redis suites mandatory) or 0/unset (skipped without redis-server)`,
    );
  }
  const required = value === "1";
  if (probe.installed || required) return { run: true, required };
  return {
    run: false,
    reason:
      `redis-server could not be run (${probe.detail}); to run these suites, ${INSTALL_HINT}, ` +
      `and set ${REQUIRE_REDIS_ENV}=1 to make a missing redis-server a failure`,
  };
}

let gate: RedisGate | undefined;

/**
 * `describe` for a suite that needs `redis-server`: skipped, with its reason in the suite's name and on
 * stderr, where the server is not installed and not required (see {@link redisGate}).
 */
export function describeRedis(title: string, body: () => void): void {
  if (gate === undefined) {
    gate = redisGate(probeRedisServer());
    // console.warn, so that vitest prints it under the name of the test file.
    if (!gate.run) console.warn(`SKIPPED the Redis suites of this file: ${gate.reason}`);
  }
  describe.skipIf(!gate.run)(gate.run ? title : `${title} (skipped: redis-server not installed)`, body);
}

/** A running server: its URL and port, and a function that stops it and removes its directory. */
export interface RedisServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

const READY = "Ready to accept connections";
/** How long a server may take to start, ms. */
const START_TIMEOUT_MS = 20_000;
/** Attempts on free ports (another process may take the port between `freePort` and the bind). */
const ATTEMPTS = 3;

/** Start `redis-server` and wait until it accepts connections. Throws if it is not installed. */
export async function startRedis(): Promise<RedisServer> {
  const probe = probeRedisServer();
  if (!probe.installed) {
    throw new Error(
      `redis-server is needed by the Redis job store tests and could not be run (${probe.detail}): ` +
        `${INSTALL_HINT}; without ${REQUIRE_REDIS_ENV}=1 these suites are skipped where it is missing`,
    );
  }
  let failure: Error | undefined;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), "zkrisk-redis-"));
    const port = await freePort();
    try {
      const server = await launch(port, dir);
      return {
        url: `redis://127.0.0.1:${port}`,
        port,
        stop: async () => {
          await stopProcess(server);
          rmSync(dir, { recursive: true, force: true });
        },
      };
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      failure = err as Error;
      if (!failure.message.includes("Address already in use")) throw failure;
    }
  }
  throw failure;
}

/** Spawn the server and resolve once its log says it is ready; reject (and kill it) otherwise. */
function launch(port: number, dir: string): Promise<ChildProcess> {
  const server = spawn(
    "redis-server",
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--protected-mode",
      "yes",
      "--dir",
      dir,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  return new Promise<ChildProcess>((resolve, reject) => {
    let log = "";
    const fail = (why: string) => {
      clearTimeout(timer);
      server.kill("SIGKILL");
      reject(new Error(`redis-server on port ${port} ${why}:\n${log}`));
    };
    const timer = setTimeout(() => fail(`did not start within ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
    const onData = (data: Buffer) => {
      log += data.toString();
      if (!log.includes(READY)) return;
      clearTimeout(timer);
      server.off("exit", onExit);
      // Its later log is not needed; keep the pipes drained.
      server.stdout!.off("data", onData);
      server.stderr!.off("data", onData);
      server.stdout!.resume();
      server.stderr!.resume();
      resolve(server);
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      fail(`exited (${signal ?? `code ${code}`})`);
    server.stdout!.on("data", onData);
    server.stderr!.on("data", onData);
    server.on("exit", onExit);
    server.on("error", (err) => fail(`could not be spawned: ${err.message}`));
  });
}

/** SIGTERM the server and wait for it to exit (SIGKILL after 5 s). */
function stopProcess(server: ChildProcess): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const killer = setTimeout(() => server.kill("SIGKILL"), 5_000);
    server.once("exit", () => {
      clearTimeout(killer);
      resolve();
    });
    server.kill("SIGTERM");
  });
}
