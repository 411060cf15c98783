/**
 * `zkrisk bench`: one quick run (one run of each kind, constant weights only, artifacts from the demo's cache)
 * through the command, checked for its JSON shape and internal consistency. Timings are only checked to be
 * positive and ordered where they must be (a warm proof is part of no cold process); never against a limit.
 */
import { createRequire } from "node:module";
import { mkdtempSync, readFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { Command, CommanderError } from "commander";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { PUBLIC_SIGNALS, UPDATE_SIGNALS } from "../../circuits/public-signals";
import { UsageError } from "../../models/errors";
import { loadQuantizedModel } from "../../models/quantized-model";
import { readManifest } from "../../prover/artifacts";
import { readR1csHeader } from "../../prover/setup/binfile";
import { releaseCurves } from "../../prover/setup/snarkjs";
import {
  formatBench,
  formatSigned,
  formatSignedProving,
  parseModes,
  parseSignedCircuits,
  parseRuns,
  type FullBenchReport,
} from "../../cli/commands/bench";
import { registerBench, DEFAULT_COLD_RUNS, DEFAULT_WARM_RUNS } from "../../cli/register/bench";
import { rescaleReluCosts, summarize, type Timing } from "../../scripts/bench";

// Hardhat loads hardhat.config.ts with Node's require: under vitest nothing handles .ts there (as in
// test/contracts/fixture.ts).
const requireHere = createRequire(__filename);
if (!requireHere.extensions[".ts"]) requireHere("ts-node").register({ transpileOnly: true });

const ROOT = join(__dirname, "../..");
const MODEL = join(ROOT, "models/btc-usdt-2h.quantized.json");

/** A program with only `bench`, its output captured (cli/main.ts registers the same command). */
function benchProgram(): { program: Command; out: string[] } {
  const out: string[] = [];
  const program = new Command("zkrisk").exitOverride();
  program.configureOutput({ writeOut: (s) => out.push(s), writeErr: (s) => out.push(s) });
  registerBench(program);
  program.commands.forEach((c) => c.exitOverride());
  return { program, out };
}

let report: FullBenchReport;
let stdout = "";
let written: FullBenchReport;

beforeAll(async () => {
  const out = join(mkdtempSync(join(tmpdir(), "zkrisk-bench-")), "bench.json");
  const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  try {
    const { program } = benchProgram();
    await program.parseAsync(
      [
        "bench",
        "--quick",
        "--modes",
        "constant",
        "--batch",
        "none",
        "--signed-circuits",
        "k1-constant",
        "--json",
        "--out",
        out,
      ],
      {
        from: "user",
      },
    );
  } finally {
    write.mockRestore();
  }
  report = JSON.parse(stdout) as FullBenchReport;
  written = JSON.parse(readFileSync(out, "utf8")) as FullBenchReport;
});

afterAll(() => releaseCurves());

function checkTiming(t: Timing, runs: number): void {
  expect(t.runs).toBe(runs);
  expect(t.samplesMs).toHaveLength(runs);
  expect(t.medianMs).toBeGreaterThan(0);
  expect(t.minMs).toBeLessThanOrEqual(t.medianMs);
  expect(t.medianMs).toBeLessThanOrEqual(t.p90Ms);
  expect(t.p90Ms).toBeLessThanOrEqual(t.maxMs);
}

describe("zkrisk bench --quick --modes constant --json", () => {
  it("prints one JSON object, the same as the --out file, with machine, date, modes, gas and method", () => {
    expect(written).toEqual(report);
    expect(Object.keys(report)).toEqual(
      expect.arrayContaining(["machine", "date", "modes", "gas", "method", "runs"]),
    );
    expect(report.machine.cores).toBe(cpus().length);
    expect(report.machine.node).toBe(process.version);
    expect(report.machine.cpu.length).toBeGreaterThan(0);
    expect(report.machine.totalMemoryBytes).toBeGreaterThan(0);
    expect(Number.isNaN(Date.parse(report.date))).toBe(false);
    expect(report.runs).toEqual({ warm: 1, cold: 1 });
    expect(Object.keys(report.modes)).toEqual(["constant"]);
    expect(Object.keys(report.gas.byMode)).toEqual(["constant"]);
    for (const key of ["constraints", "rescaleRelu", "witness", "provingCold", "provingWarm", "verify"]) {
      expect(report.method[key]).toMatch(/\w/);
    }
    for (const key of ["proofSize", "gas", "artifacts", "statistics"])
      expect(report.method[key]).toMatch(/\w/);
  });

  it("reports the circuit's sizes as its r1cs header and manifest give them", () => {
    const m = report.modes.constant!;
    const manifest = readManifest(m.artifacts.dir);
    const header = readR1csHeader(join(m.artifacts.dir, manifest.files.r1cs.path));
    expect(m.circuit.constraints).toBe(header.constraints);
    expect(m.circuit.constraints).toBe(manifest.circuit.constraints);
    expect(m.circuit.wires).toBe(header.wires);
    expect(m.circuit.publicSignals).toBe(PUBLIC_SIGNALS.length);
    expect(m.circuit.privateInputs).toBe(header.privateInputs);
    expect(m.artifacts.zkeyBytes).toBe(manifest.files.zkey.bytes);
  });

  it("costs each hidden neuron's rescale+ReLU at its accumulator width + 1 (constant mode: the model's widths)", () => {
    const model = loadQuantizedModel(MODEL);
    const hidden = model.layers.slice(0, -1);
    const r = report.modes.constant!.circuit.rescaleRelu;
    const expected = hidden.flatMap((l) => l.accumulators.map((a) => a.bits + 1));
    expect(r.perNeuron).toEqual(expected);
    expect(r.neurons.map((n) => n.shift)).toEqual(hidden.flatMap((l) => l.weights.map(() => l.shift)));
    expect(r.total).toBe(expected.reduce((a, b) => a + b, 0));
    expect(r.share).toBeCloseTo(r.total / report.modes.constant!.circuit.constraints, 4);
  });

  it("gives positive, ordered timings; a warm proof takes no longer than a whole cold process", () => {
    const m = report.modes.constant!;
    checkTiming(m.witness, 1);
    checkTiming(m.provingCold.wall, 1);
    checkTiming(m.provingCold.proving, 1);
    checkTiming(m.provingWarm.proving, 1);
    checkTiming(m.provingWarm.call, 1);
    checkTiming(m.verify, 1);
    expect(m.witness.bytes).toBeGreaterThan(32 * m.circuit.wires);
    expect(m.provingWarm.firstProofMs).toBeGreaterThan(0);
    expect(m.provingCold.proving.medianMs).toBeLessThanOrEqual(m.provingCold.wall.medianMs);
    expect(m.provingWarm.proving.medianMs).toBeLessThanOrEqual(m.provingWarm.call.medianMs);
    expect(m.provingWarm.proving.medianMs).toBeLessThanOrEqual(m.provingCold.wall.medianMs);
    expect(m.provingWarm.bars).toEqual(["2024-06-30T22:00:00.000Z"]);
    if (m.artifacts.reused) expect(m.artifacts.setup).toBeUndefined();
    else expect(m.artifacts.setup!.totalMs).toBeGreaterThan(0);
  });

  it("measures the proof: calldata of (a, b, c) is 256 bytes and each public signal one word", () => {
    const s = report.modes.constant!.proofSize;
    expect(s.proofCalldataBytes).toBe(256);
    expect(s.publicSignalsCalldataBytes).toBe(32 * PUBLIC_SIGNALS.length);
    expect(s.calldataBytes).toBe(256 + 32 * 7);
    expect(s.proofJsonBytes).toBeGreaterThan(256);
    expect(s.publicSignalsJsonBytes).toBeGreaterThan(PUBLIC_SIGNALS.length);
  });

  it("reads submitUpdate gas from receipts of a first and a later update of one market", () => {
    expect(report.gas.chainId).toBe("31337");
    const g = report.gas.byMode.constant!;
    expect(g.firstUpdate).toBeGreaterThan(200_000);
    expect(g.laterUpdate).toBeGreaterThan(200_000);
    expect(g.verifyProofEstimate).toBeGreaterThan(200_000);
    expect(Date.parse(g.bars[1])).toBeGreaterThan(Date.parse(g.bars[0]));
    // selector, then words: marketId, a b c (8), uint256[7] signals, the features' offset and length, features
    const features = loadQuantizedModel(MODEL).features.length;
    expect(g.submitCalldataBytes).toBe(4 + 32 * (1 + 8 + 7 + 2 + features));
  });

  it("reads submitSignedUpdate gas of a first and a later update, split into the verifier call and the rest", () => {
    const g = report.signedUpdate!;
    expect(g.publicSignals).toBe(UPDATE_SIGNALS.length);
    for (const row of [g.first, g.later]) {
      expect(row.verifier + row.rest).toBe(row.total);
      expect(row.verifier).toBeGreaterThan(181_000 + 6_000); // the pairing (4 pairs) and one scalar multiplication
      expect(row.pairing).toBe(181_000);
      // selector, then words: marketId, a b c (8), the packed update
      expect(row.calldataBytes).toBe(4 + 32 * (1 + 8 + 1));
    }
    expect(report.batch).toEqual([]);
    const text = formatSigned(g);
    expect(text).toContain(g.first.total.toLocaleString("en-US"));
    expect(text).toContain(g.later.verifier.toLocaleString("en-US"));
    expect(text).toContain("of it: pairing");
    expect(formatSigned(undefined)).toBe("");
  });

  it("times the signed-update circuit k = 1, constant weights: its r1cs header, witness, cold and warm proving", () => {
    const r = report.signedProving!;
    expect(r.runs).toEqual({ warm: 1, cold: 1 });
    expect(r.circuits.map((c) => [c.quorum, c.mode])).toEqual([[1, "constant"]]);
    const c = r.circuits[0];
    const header = readR1csHeader(join(c.artifacts.dir, readManifest(c.artifacts.dir).files.r1cs.path));
    expect(c.circuit.constraints).toBe(header.constraints);
    expect(c.circuit.publicSignals).toBe(UPDATE_SIGNALS.length);
    checkTiming(c.witness, 1);
    checkTiming(c.provingCold.wall, 1);
    checkTiming(c.provingCold.proving, 1);
    checkTiming(c.provingWarm.proving, 1);
    expect(c.provingCold.proving.medianMs).toBeLessThan(c.provingCold.wall.medianMs);
    for (const key of ["inputs", "artifacts", "witness", "provingCold", "provingWarm"]) {
      expect(r.method[key]).toMatch(/\w/);
    }
    const text = formatSignedProving(r);
    expect(text).toContain("| k = 1, constant");
    expect(text).toContain(c.circuit.constraints.toLocaleString("en-US"));
    expect(formatSignedProving(undefined)).toBe("");
  });

  it("formats a table with a column per mode", () => {
    const text = formatBench(report);
    expect(text).toContain("| constant weights");
    expect(text).toContain(`| constraints `);
    expect(text).toContain(report.modes.constant!.circuit.constraints.toLocaleString("en-US"));
    expect(text).toContain(report.gas.byMode.constant!.firstUpdate.toLocaleString("en-US"));
  });
});

describe("zkrisk bench options", () => {
  it("answers --help with its options and exit code 0", async () => {
    const { program, out } = benchProgram();
    const err = await program.parseAsync(["bench", "--help"], { from: "user" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommanderError);
    expect((err as CommanderError).exitCode).toBe(0);
    const help = out.join("");
    for (const flag of [
      "--runs",
      "--cold-runs",
      "--modes",
      "--quick",
      "--json",
      "--out",
      "--model",
      "--batch",
      "--no-signed",
      "--signed-circuits",
    ]) {
      expect(help).toContain(flag);
    }
  });

  it("parses --modes and the run counts, refusing bad values by name", () => {
    expect(parseModes("constant,committed")).toEqual(["constant", "committed"]);
    expect(parseModes("committed")).toEqual(["committed"]);
    expect(() => parseModes("constant,fast")).toThrow(
      new UsageError("--modes: 'fast' is not a weight mode (constant, committed)"),
    );
    expect(() => parseModes("constant,constant")).toThrow(UsageError);
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
  });

  it("summarises samples: median, nearest-rank p90", () => {
    expect(summarize([3, 1, 2]).medianMs).toBe(2);
    expect(summarize([4, 1, 3, 2]).medianMs).toBe(2.5);
    const t = summarize([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    expect([t.p90Ms, t.minMs, t.maxMs]).toEqual([9, 1, 10]);
  });

  it("reads RescaleRelu(N, S) instances from a generated source", () => {
    const src =
      "    layer0[0] = RescaleRelu(66, 24);\n    layer0[0].in <== x;\n    layer1[3] = RescaleRelu(70, 20);\n";
    expect(rescaleReluCosts(src)).toEqual([
      { layer: 0, neuron: 0, bits: 66, shift: 24, constraints: 67 },
      { layer: 1, neuron: 3, bits: 70, shift: 20, constraints: 71 },
    ]);
  });
});
