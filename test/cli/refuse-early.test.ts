/**
 * Commands refuse bad flags before any work or any write: `demo` (--rpc, --artifacts) writes no development
 * keystore, `setup` names a missing --model (exit 2, not a raw ENOENT). Each case spawns the CLI and fails fast.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ZKRISK_BIN } from "../helpers/zkrisk-cli";

const SPAWN_TIMEOUT = 60_000;
const dir = mkdtempSync(join(tmpdir(), "zkrisk-refuse-early-"));

/** Runs the CLI with its cache (the demo's keystore, artifacts) in `cache`. */
function zkrisk(args: string[], cache: string) {
  const r = spawnSync(process.execPath, [ZKRISK_BIN, ...args], {
    cwd: dir,
    env: { ...process.env, ZKRISK_CACHE_DIR: cache },
    encoding: "utf8",
    timeout: SPAWN_TIMEOUT,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("zkrisk demo: every flag checked before anything is written", () => {
  it(
    "refuses a non-http --rpc (exit 2) and writes no development publisher keystore",
    () => {
      const cache = join(dir, "cache-rpc");
      const r = zkrisk(["demo", "--rpc", "ftp://x"], cache);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toBe("zkrisk: --rpc: 'ftp://x' is not an http(s) URL\n");
      expect(existsSync(cache) ? readdirSync(cache, { recursive: true }) : []).toEqual([]);
    },
    SPAWN_TIMEOUT,
  );

  it(
    "refuses an --artifacts that is a regular file (exit 2, naming --artifacts), writing nothing",
    () => {
      const cache = join(dir, "cache-artifacts");
      const file = join(dir, "bad.json");
      writeFileSync(file, "{}");
      const r = zkrisk(["demo", "--artifacts", file], cache);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toBe(`zkrisk: --artifacts: '${file}' is a file, not a directory\n`);
      expect(existsSync(cache) ? readdirSync(cache, { recursive: true }) : []).toEqual([]);
    },
    SPAWN_TIMEOUT,
  );
});

describe("zkrisk setup: a missing --model", () => {
  it(
    "exits 2 naming --model and the file, before reading the artifacts",
    () => {
      const artifacts = join(dir, "compiled");
      mkdirSync(artifacts);
      writeFileSync(
        join(artifacts, "circuit.json"),
        JSON.stringify({ model: { file: "m.json", sha256: "00".repeat(32) } }),
      );
      const missing = join(dir, "nonexist.json");
      const r = zkrisk(["setup", "--artifacts", artifacts, "--model", missing], join(dir, "cache-setup"));
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toBe(`zkrisk: --model: ${missing}: file not found\n`);
    },
    SPAWN_TIMEOUT,
  );
});
