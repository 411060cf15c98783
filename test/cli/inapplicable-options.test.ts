/**
 * An option given where it does nothing is refused (exit 2, naming it and why), not silently ignored: `demo --key`
 * or `--allow-insecure-setup` without `--rpc` (the in-process network has its own accounts and is local), and
 * `prove --rpc` with artifacts without the adaptive rule (nothing is read from a chain), as `backtest --miss-rate`
 * without `--adaptive` is. `prove`'s `--rpc` has a default: left at it, it counts as not given. Each runs the
 * program in this process (the real actions), refused before any work.
 */
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildProgram } from "../../cli/main";
import { UsageError } from "../../core/errors";
import { signedUpdateCircuitInfo } from "../helpers/circuit-info";

const dir = mkdtempSync(join(tmpdir(), "zkrisk-inapplicable-"));

/** Run `zkrisk ...args` in this process: resolves, or rejects with what the command threw. */
function run(...args: string[]): Promise<unknown> {
  return buildProgram().parseAsync(["node", "zkrisk", ...args]);
}

describe("zkrisk demo: --key and --allow-insecure-setup are for --rpc", () => {
  it.each([
    [["--key", "0x12"], "--key: signs on the node of --rpc; without --rpc the demo runs on the in-process"],
    [
      ["--allow-insecure-setup"],
      "--allow-insecure-setup: allows a chain other than the local 31337 on --rpc;",
    ],
  ])("refuses %j without --rpc, writing nothing", async (args, message) => {
    const cache = join(dir, "cache");
    const before = process.env.ZKRISK_CACHE_DIR;
    process.env.ZKRISK_CACHE_DIR = cache;
    try {
      const refused = run("demo", ...args);
      await expect(refused).rejects.toThrow(UsageError);
      await expect(refused).rejects.toThrow(message);
    } finally {
      if (before === undefined) delete process.env.ZKRISK_CACHE_DIR;
      else process.env.ZKRISK_CACHE_DIR = before;
    }
    expect(readdirSync(dir)).not.toContain("cache");
  });
});

describe("zkrisk prove: --rpc with artifacts without the adaptive rule", () => {
  /** An artifact directory whose circuit.json is a plain signed update's (constant weights, quorum 1). */
  const artifacts = join(dir, "plain");
  const circuitInfo = signedUpdateCircuitInfo();
  const prove = (...extra: string[]) =>
    run(
      "prove",
      "--artifacts",
      artifacts,
      "--market",
      "BTC-USDT",
      "--window",
      join(dir, "no-window.json"),
      ...extra,
      "--out",
      join(dir, "never.json"),
    );

  it("refuses a given --rpc, naming it and the artifacts, before the windows are read", async () => {
    mkdirSync(artifacts);
    writeFileSync(join(artifacts, "circuit.json"), JSON.stringify(circuitInfo));
    await expect(prove("--rpc", "http://127.0.0.1:8545")).rejects.toThrow(
      `--rpc: ${artifacts} holds a circuit without the adaptive rule, which reads nothing from a chain`,
    );
    // left at its default, --rpc is not given: the next problem is the missing window file
    await expect(prove()).rejects.toThrow(`--window: ${join(dir, "no-window.json")}: file not found`);
    expect(readdirSync(dir)).not.toContain("never.json");
  });
});
