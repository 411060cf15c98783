/**
 * zkrisk as an integrator gets it: `npm pack` (which builds dist/), the tarball installed into a new project
 * with npm (production dependencies only, no install scripts: nothing here needs the SQLite binding built),
 * then, from that project, the installed package imported and used in plain ESM JavaScript and in TypeScript
 * (compiled against the package's declarations with nodenext resolution): features of a signed window, a
 * proof of the signed update with the real circuit, its verification. The project has no Solidity compiler
 * and no tsx: the oracle's ABI comes from the shipped files and the `zkrisk` binary runs the build.
 */
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { windowFeatures } from "../../features/window-features";
import { inferInteger } from "../../models/integer-engine";
import { loadQuantizedModel } from "../../models/quantized-model";
import { readSignedWindow } from "../../publisher";
import { DEV_PUBLISHER_KEYSTORE } from "../../publisher/dev-key";
import { signedUpdateArtifacts } from "../../setup/cached-artifacts";

const ROOT = join(__dirname, "../..");
const BIN = join(ROOT, "bin/zkrisk.cjs");
const MODEL = join(ROOT, "models/btc-usdt-2h.quantized.json");
const DATA = join(ROOT, "models/data/btcusdt-2h.csv");
const CONSUMER = join(__dirname, "consumer");
const TSC = join(ROOT, "node_modules/typescript/bin/tsc");
const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
const TIMEOUT = 900_000;

const dir = mkdtempSync(join(tmpdir(), "zkrisk-pack-"));
const project = join(dir, "project");
const at = (name: string) => join(dir, name);
let artifacts = "";

function run(
  cmd: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, {
    cwd,
    env: { ...process.env, ZKRISK_PUBLISHER_PASSWORD: "a publisher password", ...env },
    encoding: "utf8",
    timeout: TIMEOUT,
    maxBuffer: 64 * 1024 * 1024,
  });
}

function ok(r: SpawnSyncReturns<string>): string {
  expect(r.status, `${r.stderr}\n${r.stdout}`).toBe(0);
  return r.stdout;
}

interface PackEntry {
  filename: string;
  files: { path: string }[];
}
let packed: PackEntry;

describe("the packed package, installed into a new project", () => {
  beforeAll(async () => {
    // A publisher, its signed window of the shipped candles and its publisher set, made with the repository's CLI.
    ok(run(process.execPath, [BIN, "publisher", "keygen", "--out", at("a.key")], dir));
    const sign = ["publisher", "sign", "--key", at("a.key"), "--market", "BTC-USDT", "--data", DATA];
    ok(run(process.execPath, [BIN, ...sign, "--at", "2024-06-30 22:00", "--out", at("window.json")], dir));
    ok(
      run(
        process.execPath,
        [BIN, "publisher", "set", "--keystore", at("a.key"), "--quorum", "1", "--out", at("set.json")],
        dir,
      ),
    );
    artifacts = (await signedUpdateArtifacts(MODEL, "constant", 1)).dir;

    // `npm pack` runs `prepack`, which builds dist/.
    packed = (
      JSON.parse(ok(run("npm", ["pack", "--pack-destination", dir, "--json"], ROOT))) as PackEntry[]
    )[0];
    mkdirSync(project);
    writeFileSync(
      join(project, "package.json"),
      JSON.stringify({ name: "consumer", private: true, type: "module" }),
    );
    ok(
      run(
        "npm",
        [
          "install",
          "--no-audit",
          "--no-fund",
          "--prefer-offline",
          "--ignore-scripts",
          "--omit=dev",
          join(dir, packed.filename),
        ],
        project,
      ),
    );
    for (const f of [
      "consumer.mjs",
      "consumer.ts",
      "tsconfig.json",
      "wrong-types.ts",
      "tsconfig.wrong.json",
    ]) {
      copyFileSync(join(CONSUMER, f), join(project, f));
    }
  }, TIMEOUT);

  it("ships the build, its declarations and the shipped data, not the sources or the tests", () => {
    const paths = packed.files.map((f) => f.path);
    for (const p of [
      "dist/index.js",
      "dist/index.d.ts",
      "dist/prover/index.d.ts",
      "dist/service/prove-thread.cjs",
      "dist/publisher/check-thread.cjs",
      "dist/setup/fixed-base-worker.cjs",
      "contracts/abi/RiskOracle.json",
      "deploy/schema/service.schema.json",
      "contracts/interfaces/IRiskOracle.sol",
      "circuits/lib/window-features.circom",
      "models/btc-usdt-2h.quantized.json",
      "bin/zkrisk.cjs",
      "README.md",
      "docs/cli.md",
    ]) {
      expect(paths, p).toContain(p);
    }
    expect(paths.filter((p) => p.startsWith("test/"))).toEqual([]);
    expect(paths.filter((p) => p.endsWith(".ts") && !p.endsWith(".d.ts"))).toEqual([]);
  });

  it("installs without a Solidity compiler or tsx, and its binary runs the build", () => {
    const installed = join(project, "node_modules");
    expect(existsSync(join(installed, "zkrisk/dist/cli/main.js"))).toBe(true);
    expect(existsSync(join(installed, "solc"))).toBe(false);
    // tsx runs the sources in a clone only (bin/zkrisk.cjs, service/prove-thread.cjs): a development dependency.
    expect(existsSync(join(installed, "tsx"))).toBe(false);
    expect(existsSync(join(installed, "esbuild"))).toBe(false);
    expect(ok(run(join(installed, ".bin/zkrisk"), ["--version"], project)).trim()).toBe(VERSION);
    expect(ok(run(join(installed, ".bin/zkrisk"), ["publisher", "--help"], project))).toContain("keygen");
  });

  it("says a local chain needs the repository instead of failing on a missing module", () => {
    const demo = run(join(project, "node_modules/.bin/zkrisk"), ["demo"], project);
    expect(demo.status, demo.stderr).toBe(2);
    expect(demo.stderr).toContain("a local Hardhat network runs only in a clone of the zkrisk repository");
    expect(demo.stderr).toContain("--rpc");
    expect(demo.stderr).not.toContain("Cannot find module");
    // Refused before any work: no development key written into the installed package's cache.
    expect(existsSync(join(project, "node_modules/zkrisk/.zkrisk-cache/demo", DEV_PUBLISHER_KEYSTORE))).toBe(
      false,
    );
  });

  it("exports what its API returns and takes, and not the repository's tools", () => {
    const script =
      "const has = async (entry, names) => { const m = await import(entry); return names.map((n) => n in m); };" +
      "console.log(JSON.stringify({" +
      "prover: await has('zkrisk/prover', ['SignedBatchProver', 'readSignedProofFile', 'readSignedBatchProofFile', " +
      "'readAnySignedProofFile', 'ProofError', 'ArtifactsError']), " +
      "root: await has('zkrisk', ['marketIdOf', 'marketLabel', 'readPublisherSet']), " +
      "onchain: await has('zkrisk/onchain', ['readRegisteredPublisherSet', 'SolidityError', 'VerifierKeyError']), " +
      "circuits: await has('zkrisk/circuits', ['CircomError']), " +
      "tools: [...(await has('zkrisk/onchain', ['writeContractFiles', 'readPublisherSet'])), " +
      "...(await has('zkrisk/service', ['serve'])), ...(await has('zkrisk/prover', ['fieldString']))] }));";
    const found = JSON.parse(
      ok(run(process.execPath, ["--input-type=module", "-e", script], project)),
    ) as Record<string, boolean[]>;
    for (const entry of ["prover", "root", "onchain", "circuits"]) {
      expect(found[entry], entry).toEqual(found[entry].map(() => true));
    }
    expect(found.tools).toEqual([false, false, false, false]);
  });

  it("every entry point loads from plain ESM, and the oracle ABI comes from the shipped files, also imported as JSON", () => {
    const script =
      "const entries = ['zkrisk', 'zkrisk/core', 'zkrisk/crypto', 'zkrisk/candles', 'zkrisk/publisher', 'zkrisk/features', " +
      "'zkrisk/feeds', 'zkrisk/models', 'zkrisk/circuits', 'zkrisk/setup', 'zkrisk/prover', 'zkrisk/onchain', " +
      "'zkrisk/service', 'zkrisk/audit'];" +
      "const counts = {}; for (const e of entries) counts[e] = Object.keys(await import(e)).length;" +
      "const { oracleInterface } = await import('zkrisk/onchain');" +
      "counts.event = oracleInterface().getEvent('SignedParametersUpdated').format();" +
      "const shipped = await import('zkrisk/contracts/abi/RiskOracle.json', { with: { type: 'json' } });" +
      "counts.shippedAbi = shipped.default.abi.length === oracleInterface().fragments.length;" +
      "console.log(JSON.stringify(counts));";
    const counts = JSON.parse(
      ok(run(process.execPath, ["--input-type=module", "-e", script], project)),
    ) as Record<string, number | string | boolean>;
    const { event, shippedAbi, ...entries } = counts;
    for (const [entry, n] of Object.entries(entries)) expect(n, entry).toBeGreaterThan(2);
    expect(event).toBe("SignedParametersUpdated(uint256,uint16,uint16,uint64,uint256)");
    // The ABI files are in the package's exports too (for tools that read them as JSON).
    expect(shippedAbi).toBe(true);
  });

  it("plain ESM: computes the features, proves the update with the real circuit and verifies it, and checks the window in a thread", async () => {
    const out = JSON.parse(
      ok(run(process.execPath, ["consumer.mjs", at("window.json"), at("set.json"), artifacts], project)),
    ) as {
      features: Record<string, string>;
      parameters: { maintenanceMarginBps: number; initialMarginBps: number };
      verified: boolean;
      tamperedVerified: boolean;
      checkedInThread: string;
    };
    const signed = await readSignedWindow(at("window.json"));
    expect(out.checkedInThread).toBe(String(signed.digest));
    const features = windowFeatures(signed.window);
    expect(Object.values(out.features)).toEqual(features.map(String));
    const trace = inferInteger(loadQuantizedModel(MODEL), features);
    expect(out.parameters.maintenanceMarginBps).toBe(Number(trace.maintenanceMarginBps));
    expect(out.parameters.initialMarginBps).toBe(Number(trace.initialMarginBps));
    expect(out.verified).toBe(true);
    expect(out.tamperedVerified).toBe(false);
  });

  it("TypeScript: compiles against the shipped declarations, runs, and a mistyped use does not compile", async () => {
    ok(run(process.execPath, [TSC, "-p", "tsconfig.json"], project));
    const out = JSON.parse(
      ok(run(process.execPath, ["out/consumer.js", at("window.json"), at("set.json"), artifacts], project)),
    ) as { features: string[]; mm: number; verified: boolean; refused: boolean };
    const signed = await readSignedWindow(at("window.json"));
    expect(out.features).toEqual(windowFeatures(signed.window).map(String));
    expect(out.verified).toBe(true);
    expect(out.refused).toBe(true);
    const wrong = run(process.execPath, [TSC, "-p", "tsconfig.wrong.json"], project);
    expect(wrong.status).not.toBe(0);
    expect(wrong.stdout).toMatch(/wrong-types\.ts.*Type 'bigint\[\]' is not assignable to type 'string'/);
  });
});
