/**
 * `zkrisk publisher serve` with logs it cannot write: the log destination (core/log-destination.ts, the prover
 * service's too) never throws from a log call; a line it cannot write is dropped and counted, EAGAIN is retried.
 * A real run of the binary with stderr on a full device (/dev/full, where the system has one) signs, answers
 * /health, counts the dropped lines in /metrics and stops on SIGTERM with exit code 0.
 */
import { spawn } from "node:child_process";
import { existsSync, openSync, closeSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pino from "pino";
import { beforeAll, describe, expect, it } from "vitest";
import { LogDestination } from "../../core/log-destination";
import {
  csvText,
  PASSWORD,
  tempDir,
  TWO_HOURS,
  writeJson,
  writeTestKeystore,
} from "../helpers/publisher-serve";
import { freePort } from "../helpers/ports";
import { ZKRISK_BIN } from "../helpers/zkrisk-cli";

/** An error as `fs.writeSync` throws it. */
const errno = (code: string) => Object.assign(new Error(`${code}: write failed`), { code });

describe("LogDestination", () => {
  it("drops and counts a line it cannot write, and the log call returns", () => {
    const destination = new LogDestination(() => {
      throw errno("ENOSPC");
    });
    const log = pino({ level: "info" }, destination);
    expect(() => log.error({ err: "x" }, "poll failed; trying again at the next poll")).not.toThrow();
    log.warn("a second line");
    expect(destination.dropped).toBe(2);
  });

  it("tries EAGAIN and EBUSY again, and writes a line written in parts whole", () => {
    const written: Buffer[] = [];
    const failures = ["EAGAIN", "EBUSY"];
    const destination = new LogDestination((bytes, offset) => {
      const code = failures.shift();
      if (code !== undefined) throw errno(code);
      // At most 10 bytes a write, as a pipe may take them.
      const part = bytes.subarray(offset, offset + 10);
      written.push(Buffer.from(part));
      return part.length;
    });
    destination.write('{"msg":"a line longer than ten bytes"}\n');
    expect(Buffer.concat(written).toString()).toBe('{"msg":"a line longer than ten bytes"}\n');
    expect(destination.dropped).toBe(0);
  });
});

describe("zkrisk publisher serve with stderr on a full device", () => {
  let dir: string;
  beforeAll(async () => {
    dir = tempDir("publisher-log");
    await writeTestKeystore(join(dir, "publisher.key.json"), 5);
    writeFileSync(join(dir, "btc.csv"), csvText(0, 200));
  });

  it.runIf(existsSync("/dev/full"))(
    "signs, answers /health, counts the lines it could not log, and stops with exit code 0",
    async () => {
      const port = await freePort();
      const config = writeJson(dir, "publisher.json", {
        key: "publisher.key.json",
        archive: "archive",
        pollSeconds: 0.2,
        listen: { host: "127.0.0.1", port },
        // A source that fails at every poll: its error is logged in a catch path at each of them.
        markets: [
          { market: "BTC-USDT", intervalMs: TWO_HOURS, source: { csv: "btc.csv" } },
          { market: "ETH-USDT", intervalMs: TWO_HOURS, source: { csv: "nowhere.csv" } },
        ],
      });
      const full = openSync("/dev/full", "w");
      const child = spawn(process.execPath, [ZKRISK_BIN, "publisher", "serve", "--config", config], {
        cwd: dir,
        env: { ...process.env, ZKRISK_PUBLISHER_PASSWORD: PASSWORD },
        stdio: ["ignore", "ignore", full],
      });
      closeSync(full);
      const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)));
      let alive = true;
      void exited.then(() => (alive = false));
      try {
        // Before, the first log line ("starting") threw ENOSPC and the process exited with code 1.
        let dropped = 0;
        const deadline = Date.now() + 60_000;
        while (alive && dropped < 5 && Date.now() < deadline) {
          await new Promise((done) => setTimeout(done, 200));
          const metrics = await fetch(`http://127.0.0.1:${port}/metrics`).then(
            (r) => r.text(),
            () => "",
          );
          dropped = Number(/^zkrisk_publisher_log_lines_dropped_total (\d+)$/m.exec(metrics)?.[1] ?? 0);
        }
        expect(alive).toBe(true);
        expect(dropped).toBeGreaterThanOrEqual(5);
        const health = (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as {
          markets: { market: string; windows: number; lastError: string | null }[];
        };
        expect(health.markets[0]).toMatchObject({ market: "BTC-USDT", windows: 1 });
        expect(health.markets[1].lastError).toContain("nowhere.csv");
        expect(readdirSync(join(dir, "archive", "BTC-USDT"))).toHaveLength(1);
      } finally {
        child.kill("SIGTERM");
      }
      expect(await exited).toBe(0);
    },
    90_000,
  );
});
