/**
 * `zkrisk bench`: three quick runs through the command (one run of each kind, artifacts from the demo's cache),
 * checked for their JSON shape and internal consistency: the signed-update circuit k = 1 with constant weights
 * and the signed-update gas, the adaptive circuit k1-adaptive with the gas of an adaptive market's updates, then
 * a signed batch of two markets alone (without the signed-data checks the other two measure). Timings are only
 * checked to be positive and ordered where they must be; never against a limit.
 */
import { createRequire } from "node:module";
import { mkdtempSync, readFileSync } from "node:fs";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { Command, CommanderError } from "commander";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { nativeMsm } from "../../prover/native-msm";
import { batchSignalNames, UPDATE_SIGNALS } from "../../circuits/public-signals";
import { UsageError } from "../../core/errors";
import { readManifest } from "../../setup/artifacts";
import { readR1csHeader } from "../../circuits/binfile";
import { releaseCurves } from "../../setup/snarkjs";
import {
  formatBatch,
  formatBench,
  formatChecks,
  formatCircuits,
  formatUpdateGas,
  parseBatchSizes,
  parseRuns,
  parseSignedCircuits,
  runBenchCommand,
  type BenchFlags,
} from "../../cli/commands/bench";
import { registerBench, DEFAULT_COLD_RUNS, DEFAULT_WARM_RUNS } from "../../cli/register/bench";
import { summarize, type Timing } from "../../bench/bench-common";
import { CHECKED_WINDOWS, type BenchReport } from "../../bench/bench";
import { CONCURRENT_COPIES, SIGNED_DATA_METHOD } from "../../bench/signed-data-bench";
import { signedBatchArtifacts } from "../../bench/signed-batch-bench";
import { ADAPTIVE_PROVING_METHOD, SIGNED_PROVING_METHOD } from "../../bench/signed-update-bench";
import { ADAPTIVE_UPDATE_GAS_METHOD } from "../../bench/signed-update-gas";
import { sha256File } from "../../core/io";
import { loadCalibrations } from "../../models/market-calibrations";

// Hardhat loads hardhat.config.ts with Node's require: under vitest nothing handles .ts there (as in
// test/contracts/fixture.ts).
const requireHere = createRequire(__filename);
if (!requireHere.extensions[".ts"]) requireHere("ts-node").register({ transpileOnly: true });

const ROOT = join(__dirname, "../..");
const MODEL = join(ROOT, "models/btc-usdt-2h.quantized.json");
const DATA = join(ROOT, "models/data/btcusdt-2h.csv");
const CALIBRATIONS = join(ROOT, "models/calibrations.json");

/** A program with only `bench`, its output captured (cli/main.ts registers the same command). */
function benchProgram(): { program: Command; out: string[] } {
  const out: string[] = [];
  const program = new Command("zkrisk").exitOverride();
  program.configureOutput({ writeOut: (s) => out.push(s), writeErr: (s) => out.push(s) });
  registerBench(program);
  program.commands.forEach((c) => c.exitOverride());
  return { program, out };
}

/** Run `zkrisk bench ARGS --json` and return what it printed, parsed. */
async function benchJson(args: string[]): Promise<BenchReport> {
  let stdout = "";
  const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  try {
    await benchProgram().program.parseAsync(["bench", "--quick", ...args, "--json"], { from: "user" });
  } finally {
    write.mockRestore();
  }
  return JSON.parse(stdout) as BenchReport;
}

/** The circuit k = 1, constant weights and the signed-update gas, no batch; and the same written by --out. */
let report: BenchReport;
let written: BenchReport;
/** The adaptive circuit k = 1 (constant weights, the shipped calibrations' rule) and both update gases. */
let adaptive: BenchReport;
/** A signed batch of two markets alone. */
let batchOnly: BenchReport;

beforeAll(async () => {
  const out = join(mkdtempSync(join(tmpdir(), "zkrisk-bench-")), "bench.json");
  report = await benchJson(["--signed-circuits", "k1-constant", "--batch", "none", "--out", out]);
  written = JSON.parse(readFileSync(out, "utf8")) as BenchReport;
  adaptive = await benchJson(["--signed-circuits", "k1-adaptive", "--batch", "none"]);
  batchOnly = await benchJson([
    "--signed-circuits",
    "none",
    "--no-update-gas",
    "--batch",
    "2",
    "--no-checks",
  ]);
  // On a clean clone the three runs compile and set up their circuits first (a few minutes each on a loaded
  // machine): more than the hooks' 10 minutes can take.
}, 1_800_000);

afterAll(() => releaseCurves());

function checkTiming(t: Timing, runs: number): void {
  expect(t.runs).toBe(runs);
  expect(t.samplesMs).toHaveLength(runs);
  expect(t.medianMs).toBeGreaterThan(0);
  expect(t.minMs).toBeLessThanOrEqual(t.medianMs);
  expect(t.medianMs).toBeLessThanOrEqual(t.p90Ms);
  expect(t.p90Ms).toBeLessThanOrEqual(t.maxMs);
}

describe("zkrisk bench --quick --signed-circuits k1-constant --batch none --json", () => {
  it("prints one JSON object, the same as the --out file, with the signed path's sections only", () => {
    expect(written).toEqual(report);
    expect(Object.keys(report).sort()).toEqual(
      [
        "batches",
        "checks",
        "circuits",
        "date",
        "machine",
        "market",
        "method",
        "model",
        "runs",
        "totalMs",
        "updateGas",
      ].sort(),
    );
    expect(report.machine.cores).toBe(cpus().length);
    expect(report.machine.node).toBe(process.version);
    expect(report.machine.cpu.length).toBeGreaterThan(0);
    expect(report.machine.totalMemoryBytes).toBeGreaterThan(0);
    expect(Number.isNaN(Date.parse(report.date))).toBe(false);
    expect(report.model.file).toBe(MODEL);
    expect(report.model.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(report.runs).toEqual({ warm: 1, cold: 1 });
    expect(report.batches).toEqual([]);
    expect(report.totalMs).toBeGreaterThan(0);
  });

  it("says how every figure present was taken, and nothing of a section not measured", () => {
    expect(Object.keys(report.method).sort()).toEqual(
      [
        "inputs",
        "artifacts",
        "circuit",
        "witness",
        "witnessWarm",
        "provingCold",
        "provingWarm",
        "provingLevers",
        "verification",
        "statistics",
        "updateGas",
        "checks",
      ].sort(),
    );
    for (const text of Object.values(report.method)) expect(text).toMatch(/\w{3}/);
    // each figure of a circuit has its method under the same key
    for (const key of [
      "artifacts",
      "circuit",
      "witness",
      "witnessWarm",
      "provingCold",
      "provingWarm",
      "provingLevers",
      "verification",
    ]) {
      expect(report.circuits[0]).toHaveProperty(key);
      expect(report.method[key]).toBe(SIGNED_PROVING_METHOD[key]);
    }
    expect(report.method.updateGas).toMatch(/submitSignedUpdate/);
    expect(report.updateGas).not.toHaveProperty("method");
    expect(report.method.checks).toBe(SIGNED_DATA_METHOD);
  });

  it("measures the CPU of checking signed data: each check of real 85-bar windows, one round", () => {
    const c = report.checks!;
    expect(Object.keys(c).sort()).toEqual(
      [
        "windows",
        "bars",
        "poseidon16",
        "windowDigest",
        "signatureNewKey",
        "signatureKnownKey",
        "signedWindowRead",
        "threads",
        "copies",
        "checkedInMainThread",
        "checkedInThreads",
      ].sort(),
    );
    expect([c.windows, c.bars, c.threads, c.copies]).toEqual([
      CHECKED_WINDOWS,
      85,
      availableParallelism(),
      CONCURRENT_COPIES,
    ]);
    for (const t of [
      c.poseidon16,
      c.windowDigest,
      c.signatureNewKey,
      c.signatureKnownKey,
      c.signedWindowRead,
      c.checkedInMainThread,
      c.checkedInThreads,
    ])
      checkTiming(t, 1);
  });

  it("reports the signed-update circuit k = 1, constant weights, as its r1cs header and manifest give it", () => {
    expect(report.circuits.map((c) => [c.quorum, c.mode])).toEqual([[1, "constant"]]);
    const c = report.circuits[0];
    const manifest = readManifest(c.artifacts.dir);
    const header = readR1csHeader(join(c.artifacts.dir, manifest.files.r1cs.path));
    expect(c.circuit.constraints).toBe(header.constraints);
    expect(c.circuit.constraints).toBe(manifest.circuit.constraints);
    expect(c.circuit.wires).toBe(header.wires);
    expect(c.circuit.publicSignals).toBe(UPDATE_SIGNALS.length);
    expect(c.circuit.privateInputs).toBe(header.privateInputs);
    expect(c.artifacts.zkeyBytes).toBe(manifest.files.zkey.bytes);
    expect(c.artifacts.wasmBytes).toBe(manifest.files.wasm.bytes);
    if (c.artifacts.reused) expect(c.artifacts.setupMs).toBe(0);
    else expect(c.artifacts.setupMs).toBeGreaterThan(0);
  });

  it("gives positive, ordered timings of the latest bars; a proving part is within its whole process", () => {
    const c = report.circuits[0];
    checkTiming(c.witness, 1);
    checkTiming(c.provingCold.wall, 1);
    checkTiming(c.provingCold.proving, 1);
    checkTiming(c.witnessWarm, 1);
    checkTiming(c.provingWarm.proving, 1);
    checkTiming(c.provingLevers.snarkjsFullProve, 1);
    checkTiming(c.provingLevers.singleThread, 1);
    checkTiming(c.provingLevers.wasmMsm, 1);
    checkTiming(c.provingLevers.cpu.wasmMsm, 1);
    // each lever's proof verified again by both verifiers: 3 or 4 samples for one bar
    const levers = nativeMsm().loaded ? 4 : 3;
    checkTiming(c.verification.snarkjs, levers);
    checkTiming(c.verification.groth16Verifier, levers);
    expect(c.provingWarm.msm).toBe(nativeMsm().loaded ? "native" : "wasm");
    if (nativeMsm().loaded) checkTiming(c.provingLevers.nativeMsm!, 1);
    expect(c.provingWarm.firstProofMs).toBeGreaterThan(0);
    expect(c.provingCold.proving.medianMs).toBeLessThan(c.provingCold.wall.medianMs);
    // the window ending at the data's last bar, labelled by that bar's open time
    expect(c.provingWarm.bars).toEqual(["2024-06-30T22:00:00.000Z"]);
    expect(c.provingCold.bars).toEqual(c.provingWarm.bars);
  });

  it("reads submitSignedUpdate gas of a first and a later update, split into the verifier call and the rest", () => {
    const g = report.updateGas!;
    expect(g.publicSignals).toBe(UPDATE_SIGNALS.length);
    for (const row of [g.first, g.later]) {
      expect(row.verifier + row.rest).toBe(row.total);
      expect(row.verifier).toBeGreaterThan(181_000 + 6_000); // the pairing (4 pairs) and one scalar multiplication
      expect(row.pairing).toBe(181_000);
      expect(row.calldata).toBeLessThan(row.rest);
      // selector, then words: marketId, a b c (8), the packed update
      expect(row.calldataBytes).toBe(4 + 32 * (1 + 8 + 1));
    }
    expect(g.later.txHash).not.toBe(g.first.txHash);
  });

  it("formats a table per section: the circuit's column and the update gas", () => {
    const text = formatBench(report);
    const c = report.circuits[0];
    expect(text).toContain("| k = 1, constant");
    expect(text).toContain(`| ${c.circuit.constraints.toLocaleString("en-US")} `);
    expect(text).toContain("of it: pairing");
    expect(text).toContain("| verifying a proof again, snarkjs / zkrisk audit's verifier: medians |");
    expect(text).toContain(report.updateGas!.first.total.toLocaleString("en-US"));
    expect(text).toContain(report.updateGas!.later.verifier.toLocaleString("en-US"));
    expect(text).not.toContain("Signed batches");
    expect(text).not.toMatch(/submitUpdate\b/);
    expect(text).toContain(
      "Checking signed data (CPU per item; 10 real signed windows of 85 bars, 1 round(s))",
    );
    expect(text).toContain("| signed window file read (fields, digest, signature) |");
    expect(text).toContain(
      "The same documents handed over at once (4 copies of each), wall time per document:",
    );
    expect(text).toContain(`| in ${availableParallelism()} worker thread`);
    expect(formatCircuits([], report.runs)).toBe("");
    expect(formatUpdateGas(undefined)).toBe("");
    expect(formatChecks(undefined)).toBe("");
  });
});

describe("zkrisk bench --quick --signed-circuits k1-adaptive --batch none --json", () => {
  it("reports the adaptive circuit as its r1cs header and manifest give it, compiled with the shipped rule", () => {
    expect(report).not.toHaveProperty("adaptiveUpdateGas");
    expect(report.circuits[0]).not.toHaveProperty("adaptive");
    expect(adaptive.circuits.map((c) => [c.quorum, c.mode, c.adaptive !== undefined])).toEqual([
      [1, "constant", true],
    ]);
    const c = adaptive.circuits[0];
    const manifest = readManifest(c.artifacts.dir);
    expect(manifest.adaptive?.rule).toEqual(loadCalibrations(CALIBRATIONS).adaptive);
    expect(c.adaptive).toEqual({
      calibrations: { file: "calibrations.json", sha256: sha256File(CALIBRATIONS) },
    });
    const header = readR1csHeader(join(c.artifacts.dir, manifest.files.r1cs.path));
    expect(c.circuit.constraints).toBe(header.constraints);
    expect(c.circuit.constraints).toBe(manifest.circuit.constraints);
    // the plain circuit of the same quorum and weights plus the rule
    expect(c.circuit.constraints).toBeGreaterThan(report.circuits[0].circuit.constraints);
    expect(c.circuit.publicSignals).toBe(UPDATE_SIGNALS.length);
    expect(c.artifacts.zkeyBytes).toBe(manifest.files.zkey.bytes);
    checkTiming(c.witness, 1);
    checkTiming(c.witnessWarm, 1);
    checkTiming(c.provingCold.wall, 1);
    checkTiming(c.provingCold.proving, 1);
    checkTiming(c.provingWarm.proving, 1);
    checkTiming(c.provingLevers.snarkjsFullProve, 1);
    checkTiming(c.provingLevers.singleThread, 1);
    checkTiming(c.provingLevers.wasmMsm, 1);
    checkTiming(c.provingLevers.cpu.wasmMsm, 1);
    // each lever's proof verified again by both verifiers: 3 or 4 samples for one bar
    const levers = nativeMsm().loaded ? 4 : 3;
    checkTiming(c.verification.snarkjs, levers);
    checkTiming(c.verification.groth16Verifier, levers);
    expect(c.provingWarm.msm).toBe(nativeMsm().loaded ? "native" : "wasm");
    if (nativeMsm().loaded) checkTiming(c.provingLevers.nativeMsm!, 1);
    expect(c.provingCold.proving.medianMs).toBeLessThan(c.provingCold.wall.medianMs);
    expect(c.provingWarm.bars).toEqual(["2024-06-30T22:00:00.000Z"]);
  });

  it("says how the adaptive figures were taken, beside the plain ones", () => {
    expect(Object.keys(adaptive).sort()).toEqual([...Object.keys(report), "adaptiveUpdateGas"].sort());
    expect(Object.keys(adaptive.method).sort()).toEqual(
      [...Object.keys(report.method), "adaptive", "adaptiveUpdateGas"].sort(),
    );
    expect(adaptive.method.adaptive).toBe(ADAPTIVE_PROVING_METHOD);
    expect(adaptive.method.adaptiveUpdateGas).toBe(ADAPTIVE_UPDATE_GAS_METHOD);
    expect(adaptive.adaptiveUpdateGas).not.toHaveProperty("method");
  });

  it("reads an adaptive market's first and later update gas, split as the plain update's", () => {
    const g = adaptive.adaptiveUpdateGas!;
    expect(g.publicSignals).toBe(UPDATE_SIGNALS.length);
    for (const row of [g.first, g.later]) {
      expect(row.verifier + row.rest).toBe(row.total);
      expect(row.verifier).toBeGreaterThan(181_000 + 6_000);
      expect(row.pairing).toBe(181_000);
      expect(row.calldata).toBeLessThan(row.rest);
      // the same calldata as a plain update: the adaptive state rides in the one packed signal
      expect(row.calldataBytes).toBe(4 + 32 * (1 + 8 + 1));
    }
    expect(g.later.txHash).not.toBe(g.first.txHash);
    // the plain market's updates of the same run: the adaptive one pays for its state
    expect(g.first.rest).toBeGreaterThan(adaptive.updateGas!.first.rest);
  });

  it("formats the adaptive circuit's column and the adaptive market's gas table", () => {
    const text = formatBench(adaptive);
    expect(text).toContain("| k = 1, constant, adaptive");
    expect(text).toContain("Adaptive market's signed updates");
    expect(text).toContain(adaptive.adaptiveUpdateGas!.later.total.toLocaleString("en-US"));
    expect(formatBench(report)).not.toContain("Adaptive market");
  });
});

describe("zkrisk bench --quick --signed-circuits none --no-update-gas --batch 2 --no-checks --json", () => {
  it("measures the batch alone: no circuit, no update gas, no checks, the batch's method only", () => {
    expect(batchOnly.circuits).toEqual([]);
    expect(batchOnly).not.toHaveProperty("updateGas");
    expect(batchOnly).not.toHaveProperty("checks");
    expect(Object.keys(batchOnly.method)).toEqual(["batches"]);
    expect(batchOnly.method.batches).toMatch(/submitSignedBatch/);
  });

  it("reports the batch's circuit from its manifest, the gas of two batches and the gas per market", async () => {
    expect(batchOnly.batches.map((b) => b.n)).toEqual([2]);
    const b = batchOnly.batches[0];
    expect(Object.keys(b).sort()).toEqual(
      [
        "n",
        "constraints",
        "publicSignals",
        "setupMs",
        "provingMs",
        "gasFirst",
        "gasLater",
        "gasPerMarket",
        "txHash",
      ].sort(),
    );
    const { dir } = await signedBatchArtifacts(MODEL, 2);
    expect(b.constraints).toBe(readManifest(dir).circuit.constraints);
    expect(b.publicSignals).toBe(batchSignalNames(2).length);
    expect(b.gasFirst).toBeGreaterThan(181_000);
    expect(b.gasLater).toBeGreaterThan(181_000);
    expect(b.gasPerMarket).toBe(b.gasLater / 2);
    for (const ms of b.provingMs) expect(ms).toBeGreaterThan(0);
    const text = formatBench(batchOnly);
    expect(text).toContain("Signed batches");
    expect(text).toContain(`| ${b.gasLater.toLocaleString("en-US")} `);
    expect(text).not.toContain("Signed-update circuit");
    expect(text).not.toContain("Checking signed data");
    expect(formatBatch([])).toBe("");
  });
});

describe("zkrisk bench options", () => {
  it("answers --help with the signed path's options and exit code 0, and no longer offers --modes", async () => {
    const { program, out } = benchProgram();
    const err = await program.parseAsync(["bench", "--help"], { from: "user" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommanderError);
    expect((err as CommanderError).exitCode).toBe(0);
    const help = out.join("");
    for (const flag of [
      "--runs",
      "--cold-runs",
      "--quick",
      "--json",
      "--out",
      "--model",
      "--data",
      "--market",
      "--signed-circuits",
      "--no-update-gas",
      "--batch",
      "--calibrations",
      "--no-checks",
    ]) {
      expect(help).toContain(flag);
    }
    expect(help).toContain("k<K>-adaptive");
    expect(help).toContain("k1-constant,k3-constant,k1-committed,k3-committed");
    expect(help).not.toContain("--modes");
    expect(help).not.toContain("--no-signed");
    expect(help).not.toMatch(/submitUpdate\b/);
  });

  it("refuses --modes, an option of the removed unsigned benchmark", async () => {
    const { program, out } = benchProgram();
    const err = await program
      .parseAsync(["bench", "--modes", "constant"], { from: "user" })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommanderError);
    expect((err as CommanderError).code).toBe("commander.unknownOption");
    expect(out.join("")).toContain("--modes");
  });

  it("refuses a run that would measure nothing, before measuring anything", async () => {
    const flags: BenchFlags = {
      model: MODEL,
      data: "unused.csv",
      market: "BTC-USDT",
      signedCircuits: "none",
      calibrations: CALIBRATIONS,
      updateGas: false,
      batch: "none",
      checks: false,
    };
    await expect(runBenchCommand(flags)).rejects.toThrow(
      new UsageError(
        "nothing to measure: --signed-circuits none, --no-update-gas, --batch none and --no-checks leave no figure",
      ),
    );
    await expect(runBenchCommand({ ...flags, batch: "0" })).rejects.toThrow(/--batch: '0'/);
  });

  it("parses the run counts, circuits and batch sizes, refusing bad values by name", () => {
    expect(parseRuns({})).toEqual({ warm: DEFAULT_WARM_RUNS, cold: DEFAULT_COLD_RUNS });
    expect(parseRuns({ runs: "7" })).toEqual({ warm: 7, cold: 7 });
    expect(parseRuns({ runs: "7", coldRuns: "2" })).toEqual({ warm: 7, cold: 2 });
    expect(parseRuns({ quick: true })).toEqual({ warm: 1, cold: 1 });
    expect(() => parseRuns({ runs: "0" })).toThrow(/--runs: '0'/);
    expect(() => parseRuns({ quick: true, runs: "3" })).toThrow(UsageError);
    expect(parseSignedCircuits("k1-constant,k3-committed")).toEqual([
      { quorum: 1, mode: "constant" },
      { quorum: 3, mode: "committed" },
    ]);
    expect(parseSignedCircuits("none")).toEqual([]);
    expect(() => parseSignedCircuits("k1-fast")).toThrow(/--signed-circuits: 'k1-fast' is not k<K>-<mode>/);
    expect(() => parseSignedCircuits("k0-constant")).toThrow(/--signed-circuits/);
    expect(() => parseSignedCircuits("k1-constant,k1-constant")).toThrow(/repeats a circuit/);
    expect(parseSignedCircuits("k1-constant,k1-adaptive")).toEqual([
      { quorum: 1, mode: "constant" },
      { quorum: 1, mode: "constant", adaptive: true },
    ]);
    expect(() => parseSignedCircuits("k1-adaptive,k1-adaptive")).toThrow(/repeats a circuit/);
    expect(() => parseSignedCircuits("k17-adaptive")).toThrow(/--signed-circuits/);
    expect(parseBatchSizes("1,4,8")).toEqual([1, 4, 8]);
    expect(parseBatchSizes("none")).toEqual([]);
    expect(() => parseBatchSizes("33")).toThrow(/--batch: '33'/);
    expect(() => parseBatchSizes("2,2")).toThrow(/repeats a size/);
  });

  it("refuses an adaptive circuit with an unreadable calibrations file, naming it", async () => {
    const missing = join(tmpdir(), "zkrisk-bench-no-such-calibrations.json");
    await expect(
      runBenchCommand({
        model: MODEL,
        data: DATA,
        market: "BTC-USDT",
        signedCircuits: "k1-adaptive",
        calibrations: missing,
        updateGas: false,
        batch: "none",
        checks: false,
        quick: true,
      }),
    ).rejects.toThrow(missing);
  });

  it("summarises samples: median, nearest-rank p90", () => {
    expect(summarize([3, 1, 2]).medianMs).toBe(2);
    expect(summarize([4, 1, 3, 2]).medianMs).toBe(2.5);
    const t = summarize([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    expect([t.p90Ms, t.minMs, t.maxMs]).toEqual([9, 1, 10]);
  });
});
