/**
 * `zkrisk bench` (npm run bench): what the chain path costs, for the shipped model (bench/bench.ts): the
 * signed-update circuit's size, witness and proving times (cold and warm) for each quorum and weight mode (and the
 * adaptive circuit, `k<K>-adaptive`, when asked), the gas of submitSignedUpdate split into the verifier call and the
 * rest (for an adaptive market too, with an adaptive circuit), signed batches' constraints, proving time and
 * submitSignedBatch gas, and the CPU of checking signed data (digest, signature, signed window file).
 */
import type { WeightMode } from "../../circuits/generate-circuit";
import { existsSync } from "node:fs";
import { UsageError } from "../../core/errors";
import { loadCalibrations } from "../../models/market-calibrations";
import { DEFAULT_CALIBRATIONS } from "../paths";
import { writeJsonAtomic } from "../../core/io";
import { runBench, type BenchReport, type SignedBatchRow, type UpdateGasFigures } from "../../bench/bench";
import type { SignedDataChecks } from "../../bench/signed-data-bench";
import {
  circuitName,
  type SignedCircuitSpec,
  type SignedProvingBench,
} from "../../bench/signed-update-bench";
import { ALL_MODES, DEFAULT_COLD_RUNS, DEFAULT_WARM_RUNS } from "../register/bench";
import {
  fileOptions,
  markdownTable,
  outFileOption,
  output,
  parseIntOption,
  refuseOverwrites,
} from "../options";
import { stderrLog } from "../../setup/log";

/** Flags of `zkrisk bench`, as commander hands them over. */
export interface BenchFlags {
  model: string;
  data: string;
  market: string;
  runs?: string;
  coldRuns?: string;
  quick?: boolean;
  json?: boolean;
  out?: string;
  /** Signed-update circuits to time, `k<K>-<mode>` or `k<K>-adaptive` comma-separated, or "none". */
  signedCircuits: string;
  /**
   * The calibrations file whose `adaptive` block the `k<K>-adaptive` circuits have (only with such a circuit;
   * default: models/calibrations.json).
   */
  calibrations?: string;
  /** `--no-update-gas` sets false: skip the submitSignedUpdate gas. */
  updateGas: boolean;
  /** Batch sizes of the signed batch figures, comma-separated, or "none". */
  batch: string;
  /** `--no-checks` sets false: skip the CPU of checking signed data. */
  checks: boolean;
}

/**
 * `--signed-circuits`: distinct `k<K>-<mode>` (K in [1, 16], mode constant or committed) or `k<K>-adaptive`
 * (constant weights with the adaptive rule), or "none".
 */
export function parseSignedCircuits(value: string): SignedCircuitSpec[] {
  if (value.trim() === "none") return [];
  const specs = value.split(",").map((item): SignedCircuitSpec => {
    const m = /^k(\d+)-(\w+)$/.exec(item.trim());
    if (!m || !(ALL_MODES.includes(m[2] as WeightMode) || m[2] === "adaptive")) {
      throw new UsageError(
        `--signed-circuits: '${item}' is not k<K>-<mode> or k<K>-adaptive (e.g. k1-constant, k3-committed, ` +
          "k1-adaptive)",
      );
    }
    const quorum = parseIntOption("--signed-circuits", m[1], 1, 16);
    return m[2] === "adaptive"
      ? { quorum, mode: "constant", adaptive: true }
      : { quorum, mode: m[2] as WeightMode };
  });
  const names = specs.map(circuitName);
  if (new Set(names).size !== names.length) {
    throw new UsageError(`--signed-circuits: '${value}' repeats a circuit`);
  }
  return specs;
}

/** `--batch`: distinct batch sizes in [1, 32], or "none". */
export function parseBatchSizes(value: string): number[] {
  if (value.trim() === "none") return [];
  const sizes = value.split(",").map((v) => parseIntOption("--batch", v, 1, 32));
  if (new Set(sizes).size !== sizes.length) throw new UsageError(`--batch: '${value}' repeats a size`);
  return sizes;
}

/** Warm and cold run counts from `--runs`, `--cold-runs` and `--quick`. */
export function parseRuns(f: Pick<BenchFlags, "runs" | "coldRuns" | "quick">): {
  warm: number;
  cold: number;
} {
  if (f.quick) {
    if (f.runs !== undefined || f.coldRuns !== undefined) {
      throw new UsageError("--quick sets one run of each kind: give it without --runs or --cold-runs");
    }
    return { warm: 1, cold: 1 };
  }
  const runs = f.runs === undefined ? undefined : parseIntOption("--runs", f.runs, 1, 1000);
  const cold = f.coldRuns === undefined ? undefined : parseIntOption("--cold-runs", f.coldRuns, 1, 100);
  return { warm: runs ?? DEFAULT_WARM_RUNS, cold: cold ?? runs ?? DEFAULT_COLD_RUNS };
}

/**
 * `--calibrations`, checked before any work: read (its `adaptive` block checked) when a `k<K>-adaptive` circuit
 * is asked (default models/calibrations.json), refused when none is (nothing would read it).
 */
export function calibrationsOf(
  given: string | undefined,
  circuits: readonly { adaptive?: boolean }[],
): string | undefined {
  if (!circuits.some((c) => c.adaptive)) {
    if (given !== undefined) {
      throw new UsageError(
        `--calibrations: '${given}' is read only by k<K>-adaptive circuits, and --signed-circuits asks for none`,
      );
    }
    return undefined;
  }
  const file = given ?? DEFAULT_CALIBRATIONS;
  if (!existsSync(file)) throw new UsageError(`--calibrations: ${file}: file not found`);
  loadCalibrations(file);
  return file;
}

/**
 * Measure what the flags ask for (progress on stderr, none with --json) and write the report to --out.
 * (Named for the command: `runBench` is the measurement itself, bench/bench.ts.)
 */
export async function runBenchCommand(f: BenchFlags): Promise<BenchReport> {
  if (f.out !== undefined) outFileOption("--out", f.out);
  const runs = parseRuns(f);
  const circuits = parseSignedCircuits(f.signedCircuits);
  const batchSizes = parseBatchSizes(f.batch);
  if (circuits.length === 0 && !f.updateGas && batchSizes.length === 0 && !f.checks) {
    throw new UsageError(
      "nothing to measure: --signed-circuits none, --no-update-gas, --batch none and --no-checks leave no figure",
    );
  }
  const calibrations = calibrationsOf(f.calibrations, circuits);
  refuseOverwrites({
    reads: [
      ...fileOptions("--model", f.model),
      ...fileOptions("--data", f.data),
      ...fileOptions("--calibrations", calibrations),
    ],
    writes: fileOptions("--out", f.out),
  });
  const report = await runBench({
    model: f.model,
    data: f.data,
    market: f.market,
    circuits,
    ...(calibrations !== undefined && { calibrations }),
    updateGas: f.updateGas,
    batchSizes,
    checks: f.checks,
    warmRuns: runs.warm,
    coldRuns: runs.cold,
    log: stderrLog(Boolean(f.json)),
  });
  if (f.out) writeJsonAtomic(f.out, report);
  return report;
}

const int = (n: number) => n.toLocaleString("en-US");

function ms(x: number): string {
  if (x < 10) return `${x.toFixed(2)} ms`;
  if (x < 1000) return `${x.toFixed(0)} ms`;
  return `${(x / 1000).toFixed(2)} s`;
}

/** Text table of the signed-update circuits' size and times, a column per circuit ("" for none). */
export function formatCircuits(circuits: readonly SignedProvingBench[], runs: BenchReport["runs"]): string {
  if (circuits.length === 0) return "";
  const row = (label: string, f: (c: SignedProvingBench) => string) => [label, ...circuits.map(f)];
  return (
    "\nSigned-update circuit (signatures, window digest, features, model, policy; real signed BTC windows):\n\n" +
    markdownTable([
      ["", ...circuits.map((c) => `k = ${c.quorum}, ${c.mode}${c.adaptive ? ", adaptive" : ""}`)],
      row("constraints", (c) => int(c.circuit.constraints)),
      row("wires", (c) => int(c.circuit.wires)),
      row(
        "public signals / private inputs",
        (c) => `${c.circuit.publicSignals} / ${int(c.circuit.privateInputs)}`,
      ),
      row("zkey size", (c) => `${(c.artifacts.zkeyBytes / 2 ** 20).toFixed(2)} MiB`),
      row(`witness generation, snarkjs (median of ${runs.warm})`, (c) => ms(c.witness.medianMs)),
      row(`witness generation, kept calculator (median of ${runs.warm})`, (c) => ms(c.witnessWarm.medianMs)),
      row(`proving, cold: whole process (median of ${runs.cold})`, (c) => ms(c.provingCold.wall.medianMs)),
      row(`proving, cold: proving part (median of ${runs.cold})`, (c) => ms(c.provingCold.proving.medianMs)),
      row(
        `proving, warm: median / p90 of ${runs.warm}`,
        (c) => `${ms(c.provingWarm.proving.medianMs)} / ${ms(c.provingWarm.proving.p90Ms)}`,
      ),
      row("proving, warm: first proof in process", (c) => ms(c.provingWarm.firstProofMs)),
      row(
        "proving, warm, snarkjs fullProve: median / p90",
        (c) =>
          `${ms(c.provingLevers.snarkjsFullProve.medianMs)} / ${ms(c.provingLevers.snarkjsFullProve.p90Ms)}`,
      ),
      row(
        "proving, warm, single thread (wasm msm): median / p90",
        (c) => `${ms(c.provingLevers.singleThread.medianMs)} / ${ms(c.provingLevers.singleThread.p90Ms)}`,
      ),
      row("proving, warm, wasm msm: median / p90 (CPU)", (c) => {
        const { wasmMsm, cpu } = c.provingLevers;
        return `${ms(wasmMsm.medianMs)} / ${ms(wasmMsm.p90Ms)} (${ms(cpu.wasmMsm.medianMs)})`;
      }),
      row("proving, warm, native msm: median / p90 (CPU)", (c) => {
        const { nativeMsm, cpu } = c.provingLevers;
        return nativeMsm && cpu.nativeMsm
          ? `${ms(nativeMsm.medianMs)} / ${ms(nativeMsm.p90Ms)} (${ms(cpu.nativeMsm.medianMs)})`
          : "not built";
      }),
      row(
        "verifying a proof again, snarkjs / zkrisk audit's verifier: medians",
        (c) => `${ms(c.verification.snarkjs.medianMs)} / ${ms(c.verification.groth16Verifier.medianMs)}`,
      ),
      row("setup (this run, not in proving)", (c) =>
        c.artifacts.reused ? "cached" : `built, ${(c.artifacts.setupMs / 1000).toFixed(1)} s`,
      ),
    ]) +
    "\n"
  );
}

/**
 * Text table of the signed-update gas: each update's total, its verifier call (and pairing) and the rest; `what`
 * names the updates (default: plain signed updates).
 */
export function formatUpdateGas(g: UpdateGasFigures | undefined, what = "Signed updates"): string {
  if (!g) return "";
  return (
    `\n${what} (submitSignedUpdate, ${g.publicSignals} public signals; gas from receipts, the verifier call ` +
    "and its pairing precompile from the trace):\n\n" +
    markdownTable([
      ["update", "gas, all in", "verifier call", "of it: pairing", "rest", "of the rest: calldata"],
      ...(
        [
          ["first", g.first],
          ["later", g.later],
        ] as const
      ).map(([name, r]) => [
        name,
        int(r.total),
        int(r.verifier),
        int(r.pairing),
        int(r.rest),
        int(r.calldata),
      ]),
    ]) +
    "\n"
  );
}

/** Text table of the signed batch figures. */
export function formatBatch(rows: readonly SignedBatchRow[]): string {
  if (rows.length === 0) return "";
  return (
    "\nSigned batches (one proof and one quorum signature for N markets, submitSignedBatch on the in-process " +
    "network; quorum 1, constant weights):\n\n" +
    markdownTable([
      ["N", "constraints", "public signals", "proving", "gas, first", "gas, later", "later gas per market"],
      ...rows.map((r) => [
        String(r.n),
        int(r.constraints),
        String(r.publicSignals),
        `${(r.provingMs[1] / 1000).toFixed(1)} s`,
        int(r.gasFirst),
        int(r.gasLater),
        int(Math.round(r.gasPerMarket)),
      ]),
    ]) +
    "\n"
  );
}

/** Text table of the CPU of checking signed data, per item. */
export function formatChecks(c: SignedDataChecks | undefined): string {
  if (!c) return "";
  const row = (label: string, t: SignedDataChecks["poseidon16"]) => [label, ms(t.medianMs), ms(t.p90Ms)];
  return (
    `\nChecking signed data (CPU per item; ${c.windows} real signed windows of ${c.bars} bars, ` +
    `${c.poseidon16.runs} round(s)):\n\n` +
    markdownTable([
      ["check", "median", "p90"],
      row("Poseidon of 16 inputs", c.poseidon16),
      row("window digest", c.windowDigest),
      row("signature, key new to the process", c.signatureNewKey),
      row("signature, key seen before", c.signatureKnownKey),
      row("signed window file read (fields, digest, signature)", c.signedWindowRead),
    ]) +
    `\n\nThe same documents handed over at once (${c.copies} copies of each), wall time per document:\n\n` +
    markdownTable([
      ["checked", "median", "p90"],
      row("in the main thread", c.checkedInMainThread),
      row(
        `in ${c.threads} worker thread${c.threads === 1 ? "" : "s"} (zkrisk audit --threads)`,
        c.checkedInThreads,
      ),
    ]) +
    "\n"
  );
}

/** The report as text: a header naming the model and the machine, then a table per section measured. */
export function formatBench(r: BenchReport): string {
  const mc = r.machine;
  return (
    `zkrisk bench: ${r.model.file} (sha256 ${r.model.sha256.slice(0, 16)}), market ${r.market}\n` +
    `${r.date}; ${mc.cores} cores, ${mc.cpu}, ${(mc.totalMemoryBytes / 2 ** 30).toFixed(1)} GiB, ` +
    `Node ${mc.node}, ${mc.platform}, snarkjs ${mc.snarkjs}\n` +
    formatCircuits(r.circuits, r.runs) +
    formatUpdateGas(r.updateGas) +
    formatUpdateGas(
      r.adaptiveUpdateGas,
      "Adaptive market's signed updates (k = 1, constant weights, adaptive rule)",
    ) +
    formatBatch(r.batches) +
    formatChecks(r.checks) +
    (r.updateGas || r.batches.length > 0 ? "\nGas on the in-process Hardhat network." : "") +
    "\nMedian: middle value; p90: nearest rank. " +
    `Total ${(r.totalMs / 1000).toFixed(1)} s. How each figure is taken: \`zkrisk bench --json\` (method).\n`
  );
}

/** `zkrisk bench`: measure, then print the report. */
export async function benchAction(f: BenchFlags): Promise<void> {
  output(await runBenchCommand(f), f.json, formatBench);
}
