/**
 * When the Redis suites run: skipped, loudly, where `redis-server` is not installed; failing instead when
 * `ZKRISK_REQUIRE_REDIS=1` (as in CI). The decision, the probe with a PATH that lacks the server, and the real
 * Redis suite run by vitest with such a PATH, with and without the variable.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REQUIRE_REDIS_ENV, probeRedisServer, redisGate, type RedisProbe } from "./redis-server";
import { SKIP_CONTRACTS_ENV } from "./compile-contracts";

const ROOT = join(__dirname, "../..");
const ABSENT: RedisProbe = { installed: false, detail: "spawnSync redis-server ENOENT" };
const PRESENT: RedisProbe = { installed: true, detail: "Redis server v=7.0.15" };

/** An environment whose PATH is an empty directory: no redis-server (nor anything else) is found. */
function envWithoutRedis(require?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: mkdtempSync(join(tmpdir(), "zkrisk-no-redis-")),
    HOME: process.env.HOME,
  };
  if (require !== undefined) env[REQUIRE_REDIS_ENV] = require;
  return env;
}

describe("redisGate", () => {
  it("runs the suites where redis-server is installed, required or not", () => {
    expect(redisGate(PRESENT, {})).toEqual({ run: true, required: false });
    expect(redisGate(PRESENT, { [REQUIRE_REDIS_ENV]: "1" })).toEqual({ run: true, required: true });
  });

  it("skips them where it is missing, saying why and how to run them", () => {
    for (const value of [undefined, "", "0"]) {
      const gate = redisGate(ABSENT, { [REQUIRE_REDIS_ENV]: value });
      expect(gate.run, String(value)).toBe(false);
      if (gate.run) continue;
      expect(gate.reason).toContain("redis-server could not be run (spawnSync redis-server ENOENT)");
      expect(gate.reason).toContain("apt-get install redis-server");
      expect(gate.reason).toContain(`${REQUIRE_REDIS_ENV}=1`);
    }
  });

  it("runs them, to fail, where it is missing but required", () => {
    expect(redisGate(ABSENT, { [REQUIRE_REDIS_ENV]: "1" })).toEqual({ run: true, required: true });
  });

  it("refuses any other value of the variable", () => {
    expect(() => redisGate(ABSENT, { [REQUIRE_REDIS_ENV]: "yes" })).toThrow(
      `${REQUIRE_REDIS_ENV}: 'yes' is not 1`,
    );
  });
});

describe("probeRedisServer", () => {
  it("finds no server on a PATH that lacks it", () => {
    const probe = probeRedisServer(envWithoutRedis());
    expect(probe.installed).toBe(false);
    expect(probe.detail).toContain("ENOENT");
  });
});

describe("the Redis job store suite without redis-server", () => {
  /**
   * vitest on the real Redis suite, with PATH lacking redis-server (node is started by its absolute path). The
   * suite needs no contract, so the slow project's compile is skipped: it would write `artifacts/` beside the
   * suites that read it.
   */
  function vitestWithoutRedis(require?: string) {
    const r = spawnSync(
      process.execPath,
      [join(ROOT, "node_modules/vitest/vitest.mjs"), "run", "test/service/redis-store.test.ts"],
      {
        cwd: ROOT,
        env: { ...envWithoutRedis(require), CI: "1", NO_COLOR: "1", [SKIP_CONTRACTS_ENV]: "1" },
        encoding: "utf8",
        timeout: 120_000,
      },
    );
    return { code: r.status, output: r.stdout + r.stderr };
  }

  it("is skipped, with the reason on the output, and passes", () => {
    const r = vitestWithoutRedis();
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain("SKIPPED the Redis suites of this file: redis-server could not be run");
    expect(r.output).toMatch(/Tests\s+\d+ skipped/);
    expect(r.output).not.toMatch(/\d+ passed/);
  });

  it(`fails with ${REQUIRE_REDIS_ENV}=1`, () => {
    const r = vitestWithoutRedis("1");
    expect(r.code, r.output).toBe(1);
    expect(r.output).toContain("redis-server is needed by the Redis job store tests and could not be run");
  });
});
