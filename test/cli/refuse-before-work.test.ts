/**
 * Flags that would be ignored or fail late are refused before any work (compile, ptau timing): exit 2 and a
 * message naming the flag and the value.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { zkrisk } from "../helpers/zkrisk-cli";

const MISSING = join(tmpdir(), "zkrisk-no-such-file.json");

describe("refused before any work", () => {
  const dir = mkdtempSync(join(tmpdir(), "zkrisk-refuse-before-work-"));

  it("compile --calibrations without --adaptive (nothing compiled)", () => {
    const out = join(dir, "compiled");
    const r = zkrisk("compile", "--out", out, "--calibrations", MISSING);
    expect(r.stderr).toMatch(/--calibrations: '.*zkrisk-no-such-file\.json'.*--adaptive/);
    expect(r.code).toBe(2);
    expect(existsSync(join(out, "circuit.json"))).toBe(false);
  });

  it("compile --model that is missing: the only line on stderr, before any 'compiling' progress", () => {
    const r = zkrisk("compile", "--out", join(dir, "never-compiled"), "--model", MISSING);
    expect(r.stderr).toBe(`zkrisk: --model: ${MISSING}: file not found\n`);
    expect(r.code).toBe(2);
  });

  it("bench --calibrations: a missing file, or with no adaptive circuit to read it", () => {
    const missing = zkrisk("bench", "--signed-circuits", "k1-adaptive", "--calibrations", MISSING);
    expect(missing.stderr).toMatch(/--calibrations: .*zkrisk-no-such-file\.json: file not found/);
    expect(missing.code).toBe(2);
    const unused = zkrisk("bench", "--calibrations", MISSING);
    expect(unused.stderr).toMatch(
      /--calibrations: '.*zkrisk-no-such-file\.json' is read only by k<K>-adaptive/,
    );
    expect(unused.code).toBe(2);
  });

  it("bench-setup --model that is missing, not JSON or has an unknown key; and nothing to measure", () => {
    const notJson = join(dir, "not-json.json");
    writeFileSync(notJson, "{");
    const unknownKey = join(dir, "unknown-key.json");
    writeFileSync(unknownKey, JSON.stringify({ format: "zkrisk-quantized/1", extra: 1 }));
    for (const [model, message] of [
      [MISSING, /--model: .*zkrisk-no-such-file\.json: file not found/],
      [notJson, /not-json\.json:1:2: not valid JSON: Expected property name or '}'\n/],
      [unknownKey, /unknown-key\.json: /],
    ] as const) {
      const r = zkrisk("bench-setup", "--model", model);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/ptau|\n\s+at /);
      expect(r.code).toBe(2);
    }
    const nothing = zkrisk("bench-setup", "--powers", "", "--modes", "");
    expect(nothing.stderr).toMatch(/nothing to measure/);
    expect(nothing.code).toBe(2);
  });

  it("an output path where nothing can be created (/proc): exit 2 naming the option, before the work", () => {
    // /proc refuses new entries even to root, which permission bits would not; a recursive mkdir there never returns.
    for (const [args, option] of [
      [["quantize", "--out", "/proc/zkrisk-q.json"], "--out"],
      [["backtest", "--series", "/proc/zkrisk-s.csv"], "--series"],
      [["backtest", "--report", "/proc/zkrisk/r.html"], "--report"],
      [
        ["deploy", "--artifacts", MISSING, "--out", "/proc/zkrisk/d.json", "--rpc", "http://127.0.0.1:9"],
        "--out",
      ],
      [["compile", "--out", "/proc/zkrisk-c"], "--out"],
      [
        [
          "prove",
          "--artifacts",
          MISSING,
          "--market",
          "BTC-USDT",
          "--window",
          MISSING,
          "--out",
          join(dir, "p.json"),
        ].concat(["--snarkjs", "/proc/zkrisk-sn"]),
        "--snarkjs",
      ],
    ] as const) {
      const r = zkrisk(...args);
      expect(r.stderr, args.join(" ")).toMatch(
        new RegExp(
          `^zkrisk: ${option}: cannot write to '/proc/[^']*': '/proc' exists but takes no new entries .*ENOENT: `,
        ),
      );
      expect(r.code).toBe(2);
    }
  });

  it("an output path under a writable directory is accepted, and the check leaves nothing there", () => {
    const parent = join(dir, "writable");
    mkdirSync(parent);
    const r = zkrisk("deploy", "--artifacts", MISSING, "--out", join(parent, "d.json"));
    expect(r.stderr).toMatch(/zkrisk-no-such-file\.json.*no artifact manifest/);
    expect(readdirSync(parent)).toEqual([]);
  });

  it("a chain command's --key before the node is contacted (an unreachable --rpc is not the first error)", () => {
    const r = zkrisk(
      "set-adaptive",
      "--off",
      "--market",
      "BTC-USDT",
      "--oracle",
      "0x0000000000000000000000000000000000000001",
      "--rpc",
      "http://127.0.0.1:9",
      "--key",
      "0x12",
    );
    expect(r.stderr).toBe(
      "zkrisk: --key: expected a 0x-prefixed 32-byte hex private key (or env:NAME); value not shown\n",
    );
    expect(r.code).toBe(2);
  });

  it("a --market label that would name a market by accident (empty, spaces around it, 0): train, demo", () => {
    const out = join(dir, "float.json");
    for (const [args, message] of [
      [["train", "--market", "", "--out", out], "--market: '' is empty"],
      [["train", "--market", "BTC-USDT ", "--out", out], "--market: 'BTC-USDT ' has spaces around it"],
      [["demo", "--market", "0"], "--market: 0 is no market's id"],
    ] as const) {
      const r = zkrisk(...args);
      expect(r.stderr).toContain(message);
      expect(r.code).toBe(2);
    }
    expect(existsSync(out)).toBe(false);
  });

  it("an --artifacts that is a file: named as such, not 'no circuit.json' or 'no artifact manifest' under it", () => {
    const file = join(dir, "candles.csv");
    writeFileSync(file, "");
    for (const args of [
      ["setup", "--artifacts", file],
      ["verify", file, "--artifacts", file],
      ["deploy", "--artifacts", file],
    ]) {
      const r = zkrisk(...args);
      expect(r.stderr, args[0]).toBe(
        `zkrisk: --artifacts: '${file}' is a file, not an artifact directory (\`zkrisk compile --out DIR\`)\n`,
      );
      expect(r.code).toBe(2);
    }
  });
});
