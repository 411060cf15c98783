/**
 * `zkrisk serve` as users call it, short of running: `--help`, `--check` (the config validated and printed
 * without secrets), and bad usage (exit code 2 with a message naming the option or the config field).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  makePublisherSet,
  publicKeyOf,
  publisherSetCommitment,
  writePublisherSet,
  type PublisherSet,
} from "../../publisher";
import { MODEL } from "../helpers/artifacts";
import { privateKeyOf } from "../helpers/publisher-serve";

const BIN = join(__dirname, "../..", "bin/zkrisk.cjs");
const SECRET = "0x" + "ab".repeat(32);

function zkrisk(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, ZKRISK_SERVE_TEST_KEY: SECRET },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A publisher set of two test keys, quorum 2. */
let set: PublisherSet;
beforeAll(async () => {
  const keys = await Promise.all([51, 52].map((n) => publicKeyOf(privateKeyOf(n))));
  set = await makePublisherSet(keys, 2);
});

function configFile(extra: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "zkrisk-serve-cli-"));
  mkdirSync(join(dir, "artifacts"));
  writeFileSync(join(dir, "artifacts", "artifacts.json"), "{}");
  writePublisherSet(join(dir, "publishers.json"), set);
  const path = join(dir, "service.json");
  writeFileSync(
    path,
    JSON.stringify({
      markets: [
        {
          id: "BTC-USDT",
          model: MODEL,
          artifacts: "artifacts",
          publishers: {
            set: "publishers.json",
            urls: ["http://127.0.0.1:8090", "https://reader:publisher-secret@pub.example/?key=k-secret"],
          },
        },
      ],
      chain: {
        rpc: "http://user:pass@127.0.0.1:8545",
        oracle: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
        key: { env: "ZKRISK_SERVE_TEST_KEY" },
      },
      auth: { tokens: [{ sha256: "11".repeat(32) }] },
      ...extra,
    }),
  );
  return path;
}

describe("zkrisk serve (command line)", () => {
  it("documents its options", () => {
    const r = zkrisk(["serve", "--help"]);
    expect(r.code).toBe(0);
    for (const option of ["--config", "--queue", "--check", "--grace", "--log-level"]) {
      expect(r.stdout).toContain(option);
    }
  });

  it("--check validates the config and prints it without secrets", async () => {
    const path = configFile();
    const r = zkrisk(["serve", "--config", path, "--check"]);
    expect(r.code, r.stderr).toBe(0);
    const printed = JSON.parse(r.stdout) as {
      markets: { id: string; artifacts: string; publishers: unknown }[];
      chain: { rpc: string; key: unknown };
      concurrency: number;
    };
    expect(printed.markets[0]).toMatchObject({ id: "BTC-USDT", artifacts: join(path, "..", "artifacts") });
    expect(printed.markets[0].publishers).toEqual({
      set: join(path, "..", "publishers.json"),
      urls: ["http://127.0.0.1:8090/", "https://***:***@pub.example/?key=***"],
      timeoutMs: 10_000,
      quorum: 2,
      keys: 2,
      commitment: (await publisherSetCommitment(set)).toString(),
    });
    expect(printed.chain.key).toEqual({ kind: "env", name: "ZKRISK_SERVE_TEST_KEY" });
    expect(printed.concurrency).toBe(1);
    expect(r.stdout).not.toContain("pass@");
    expect(r.stdout).not.toContain("publisher-secret");
    expect(r.stdout).not.toContain("k-secret");
    expect(r.stdout).not.toContain(SECRET);
    expect(r.stdout).not.toContain("11".repeat(32));
  });

  it("--check prints every setting, the Redis mode's queue included", () => {
    const r = zkrisk(["serve", "--config", configFile({ queue: { lockSeconds: 5 } }), "--check"]);
    expect(r.code, r.stderr).toBe(0);
    const printed = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(printed)).toEqual([
      "file",
      "markets",
      "batches",
      "chain",
      "schedule",
      "concurrency",
      "listen",
      "auth",
      "database",
      "api",
      "queue",
    ]);
    expect(printed.queue).toEqual({ lockSeconds: 5, leaseSeconds: 10 });
  });

  it("refuses a bad config or bad options with exit code 2 and a message naming them", () => {
    const typo = zkrisk(["serve", "--config", configFile({ concurency: 2 }), "--check"]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/service\.json: concurency: unknown key/);
    const queue = zkrisk(["serve", "--config", configFile(), "--queue", "http://127.0.0.1:6379"]);
    expect(queue.code).toBe(2);
    expect(queue.stderr).toContain("--queue: 'http://127.0.0.1:6379' is not a redis:// or rediss:// URL");
    const level = zkrisk(["serve", "--config", configFile(), "--log-level", "loud"]);
    expect(level.code).toBe(2);
    expect(level.stderr).toContain("--log-level: 'loud' is not one of");
    expect(zkrisk(["serve"]).code).toBe(2);
    // The publisher set file is read by --check too.
    const path = configFile();
    writeFileSync(join(path, "..", "publishers.json"), JSON.stringify({ version: 1, quorum: 3, keys: [] }));
    const set = zkrisk(["serve", "--config", path, "--check"]);
    expect(set.code).toBe(2);
    expect(set.stderr).toContain(
      `service.json: markets[0].publishers.set: ${join(path, "..", "publishers.json")}: keys: publisher set: no keys`,
    );
  });
});
