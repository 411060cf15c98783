/**
 * Commands refuse bad flags before any work or any write: `demo` (--rpc, --artifacts) writes no development
 * keystore, `setup` names a missing --model (exit 2, not a raw ENOENT), `register-market` names guards no update
 * could meet before it reads the publisher set or the chain. Each case spawns the CLI and fails fast.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { zkriskIn } from "../helpers/zkrisk-cli";

const SPAWN_TIMEOUT = 60_000;
const dir = mkdtempSync(join(tmpdir(), "zkrisk-refuse-early-"));

/** Runs the CLI with its cache (the demo's keystore, artifacts) in `cache`. */
function zkrisk(args: string[], cache: string) {
  return zkriskIn({ cwd: dir, env: { ZKRISK_CACHE_DIR: cache }, timeoutMs: SPAWN_TIMEOUT }, ...args);
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

describe("zkrisk register-market: guards the oracle would refuse", () => {
  it(
    "exits 2 naming the options (--max-im below --min-mm, a min above its max) before the publisher set or the chain",
    () => {
      const address = "0x000000000000000000000000000000000000dEaD";
      const missing = join(dir, "no-such-set.json");
      const base = [
        "register-market",
        ...["--oracle", address, "--market", "BTC-USDT", "--verifier", address],
        ...["--publishers", missing, "--commitment", "5", "--rpc", "http://127.0.0.1:9"],
      ];
      const cases: [string[], string][] = [
        [
          ["--min-mm", "3000", "--max-im", "2000"],
          "zkrisk: --max-im 2000 is below --min-mm 3000: every update needs an initial margin at least its " +
            "maintenance margin, so none could pass these bounds\n",
        ],
        [
          ["--min-mm", "600", "--max-mm", "500"],
          "zkrisk: --min-mm 600 is above --max-mm 500: no margin lies within the bounds\n",
        ],
        [
          ["--min-im", "5000", "--max-im", "4000"],
          "zkrisk: --min-im 5000 is above --max-im 4000: no margin lies within the bounds\n",
        ],
      ];
      for (const [extra, message] of cases) {
        const r = zkrisk([...base, ...extra], join(dir, "cache-limits"));
        expect(r.code, `${extra.join(" ")}: ${r.stderr}`).toBe(2);
        expect(r.stderr).toBe(message);
      }
    },
    4 * SPAWN_TIMEOUT,
  );
});
