/**
 * A throwaway `redis-server` for tests: 127.0.0.1 on a free port, no persistence, its working directory in a
 * temporary folder, stopped by the caller. Needs the Debian package `redis-server` (CI installs it).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./hardhat-node";

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
  const probe = spawnSync("redis-server", ["--version"], { encoding: "utf8" });
  if (probe.error !== undefined) {
    throw new Error(
      `redis-server is needed by the Redis job store tests and could not be run (${probe.error.message}): ` +
        "install the Debian package redis-server (apt-get install redis-server; CI installs it in .ci/run)",
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
