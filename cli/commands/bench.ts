/**
 * `zkrisk bench` (npm run bench): circuit size, witness, proving (cold and warm), verification, proof size
 * and submitUpdate gas of the shipped model in both weight modes, side by side (scripts/bench.ts); signed
 * batches' constraints, proving time and submitSignedBatch gas (scripts/signed-batch-bench.ts); the signed-update circuit's size, witness and proving times for each quorum and
 * weight mode (scripts/signed-update-bench.ts) and submitSignedUpdate gas with its verifier
 * (scripts/signed-update-gas.ts).
 */
import type { WeightMode } from "../../circuits/generate-circuit";
import { UsageError } from "../../models/errors";
import { writeJsonAtomic } from "../../models/io";
import {
  measureSignedBatches,
  SIGNED_BATCH_METHOD,
  type SignedBatchFigures,
} from "../../scripts/signed-batch-bench";
import { runBench, type BenchReport, type ModeBench, type Timing } from "../../scripts/bench";
import {
  benchSignedProving,
  SIGNED_PROVING_METHOD,
  type SignedCircuitSpec,
  type SignedProvingBench,
} from "../../scripts/signed-update-bench";
import { measureSignedUpdateGas, type SignedUpdateGas } from "../../scripts/signed-update-gas";
import { ALL_MODES, DEFAULT_COLD_RUNS, DEFAULT_WARM_RUNS } from "../register/bench";
import { outFileOption, parseIntOption, printJson } from "../options";
import { stderrLog } from "./circuit";

/** Flags of `zkrisk bench`, as commander hands them over. */
export interface BenchFlags {
  model: string;
  data: string;
  market: string;
  modes: string;
  runs?: string;
  coldRuns?: string;
  quick?: boolean;
  json?: boolean;
  out?: string;
  /** Batch sizes of the signed batch figures, comma-separated, or "none". */
  batch?: string;
  /** `--no-signed` sets false: skip the signed-update circuit's proving times and submitSignedUpdate gas. */
  signed?: boolean;
  /** Signed-update circuits to time, `k<K>-<mode>` comma-separated, or "none". */
  signedCircuits?: string;
}

/** The signed-update circuits' proving figures and how they are taken. */
export interface SignedProvingReport {
  runs: { warm: number; cold: number };
  circuits: SignedProvingBench[];
  method: Record<string, string>;
}

/** One batch size's row of the report (the figures without the proof and the stored values). */
export type SignedBatchRow = Omit<SignedBatchFigures, "batch" | "stored">;

/** The whole report: the modes, the signed batches, and the signed update (absent with `--no-signed`). */
export type FullBenchReport = BenchReport & {
  batch: SignedBatchRow[];
  /** How the batch figures are taken (present when `batch` has rows). */
  batchMethod?: string;
  signedUpdate?: SignedUpdateGas;
  signedProving?: SignedProvingReport;
};

/** `--signed-circuits`: distinct `k<K>-<mode>` (K in [1, 16], mode constant or committed), or "none". */
export function parseSignedCircuits(value: string): SignedCircuitSpec[] {
  if (value.trim() === "none") return [];
  const specs = value.split(",").map((item) => {
    const m = /^k(\d+)-(\w+)$/.exec(item.trim());
    if (!m || !ALL_MODES.includes(m[2] as WeightMode)) {
      throw new UsageError(
        `--signed-circuits: '${item}' is not k<K>-<mode> (e.g. k1-constant, k3-committed)`,
      );
    }
    return { quorum: parseIntOption("--signed-circuits", m[1], 1, 16), mode: m[2] as WeightMode };
  });
  const names = specs.map((c) => `k${c.quorum}-${c.mode}`);
  if (new Set(names).size !== names.length) {
    throw new UsageError(`--signed-circuits: '${value}' repeats a circuit`);
  }
  return specs;
}

/** Text table of the signed-update circuits' size and times, a column per circuit. */
export function formatSignedProving(r: SignedProvingReport | undefined): string {
  if (!r || r.circuits.length === 0) return "";
  const cols = r.circuits;
  const row = (label: string, f: (c: SignedProvingBench) => string) => [label, ...cols.map(f)];
  return (
    "\nSigned-update circuit (signatures, window digest, features, model, policy; real signed BTC windows):\n\n" +
    markdownTable([
      ["", ...cols.map((c) => `k = ${c.quorum}, ${c.mode}`)],
      row("constraints", (c) => int(c.circuit.constraints)),
      row("wires", (c) => int(c.circuit.wires)),
      row("zkey size", (c) => `${(c.artifacts.zkeyBytes / 2 ** 20).toFixed(2)} MiB`),
      row(`witness generation (median of ${r.runs.warm})`, (c) => ms(c.witness.medianMs)),
      row(`proving, cold: whole process (median of ${r.runs.cold})`, (c) => ms(c.provingCold.wall.medianMs)),
      row(`proving, cold: proving part (median of ${r.runs.cold})`, (c) =>
        ms(c.provingCold.proving.medianMs),
      ),
      row(
        `proving, warm: median / p90 of ${r.runs.warm}`,
        (c) => `${ms(c.provingWarm.proving.medianMs)} / ${ms(c.provingWarm.proving.p90Ms)}`,
      ),
      row("proving, warm: first proof in process", (c) => ms(c.provingWarm.firstProofMs)),
      row("setup (this run, not in proving)", (c) =>
        c.artifacts.reused ? "cached" : `built, ${(c.artifacts.setupMs / 1000).toFixed(1)} s`,
      ),
    ]) +
    "\n"
  );
}

/** `--batch`: distinct batch sizes in [1, 32], or "none". */
export function parseBatchSizes(value: string): number[] {
  if (value.trim() === "none") return [];
  const sizes = value.split(",").map((v) => parseIntOption("--batch", v, 1, 32));
  if (new Set(sizes).size !== sizes.length) throw new UsageError(`--batch: '${value}' repeats a size`);
  return sizes;
}

/** Text table of the signed batch figures. */
export function formatBatch(rows: readonly SignedBatchRow[]): string {
  if (rows.length === 0) return "";
  const int = (v: number) => Math.round(v).toLocaleString("en-US");
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
        int(r.gasPerMarket),
      ]),
    ]) +
    "\n"
  );
}

/** Text table of the signed-update gas: each update's total, its verifier call (and pairing) and the rest. */
export function formatSigned(g: SignedUpdateGas | undefined): string {
  if (!g) return "";
  const int = (v: number) => v.toLocaleString("en-US");
  return (
    `\nSigned updates (submitSignedUpdate, ${g.publicSignals} public signals; gas from receipts, the verifier call ` +
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

/** `--modes`: a comma-separated list of distinct weight modes. */
export function parseModes(value: string): WeightMode[] {
  const modes = value.split(",").map((m) => m.trim());
  for (const m of modes) {
    if (!ALL_MODES.includes(m as WeightMode)) {
      throw new UsageError(`--modes: '${m}' is not a weight mode (constant, committed)`);
    }
  }
  if (new Set(modes).size !== modes.length) throw new UsageError(`--modes: '${value}' repeats a mode`);
  return modes as WeightMode[];
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

const int = (n: number) => n.toLocaleString("en-US");

function ms(x: number): string {
  if (x < 10) return `${x.toFixed(2)} ms`;
  if (x < 1000) return `${x.toFixed(0)} ms`;
  return `${(x / 1000).toFixed(2)} s`;
}

/** `a-b` for a list of integers (one value when all are equal). */
function range(values: number[]): string {
  if (values.length === 0) return "none";
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return lo === hi ? int(lo) : `${int(lo)}-${int(hi)}`;
}

function setupCell(m: ModeBench): string {
  const s = m.artifacts.setup;
  if (!s) return "cached";
  return `built, ${(s.totalMs / 1000).toFixed(1)} s (${s.method === "direct" ? "direct development setup" : "ceremony"})`;
}

/** Markdown table with padded columns (pastes into the README as is). */
export function markdownTable(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(3, ...rows.map((r) => r[c].length)));
  const line = (r: string[]) => `| ${r.map((cell, c) => cell.padEnd(widths[c])).join(" | ")} |`;
  return [line(rows[0]), line(widths.map((w) => "-".repeat(w))), ...rows.slice(1).map(line)].join("\n");
}

/** The report as text: a header, then one table with a column per weight mode. */
export function formatBench(r: BenchReport): string {
  const modes = Object.keys(r.modes) as WeightMode[];
  const col = (f: (m: ModeBench, mode: WeightMode) => string) => modes.map((mode) => f(r.modes[mode]!, mode));
  const timing = (t: Timing) => ms(t.medianMs);
  const gas = (mode: WeightMode) => r.gas.byMode[mode]!;
  const rows: [string, ...string[]][] = [
    ["", ...modes.map((m) => `${m} weights`)],
    ["constraints", ...col((m) => int(m.circuit.constraints))],
    [
      "rescale+ReLU per hidden neuron (N+1)",
      ...col(
        (m) => `${range(m.circuit.rescaleRelu.perNeuron)} (${m.circuit.rescaleRelu.neurons.length} neurons)`,
      ),
    ],
    [
      "rescale+ReLU, all hidden neurons",
      ...col(
        (m) => `${int(m.circuit.rescaleRelu.total)} (${(m.circuit.rescaleRelu.share * 100).toFixed(1)} %)`,
      ),
    ],
    ["wires", ...col((m) => int(m.circuit.wires))],
    ["public signals", ...col((m) => int(m.circuit.publicSignals))],
    ["private inputs", ...col((m) => int(m.circuit.privateInputs))],
    ["zkey size", ...col((m) => `${(m.artifacts.zkeyBytes / 2 ** 20).toFixed(2)} MiB`)],
    [`witness generation (median of ${r.runs.warm})`, ...col((m) => timing(m.witness))],
    [`proving, cold: whole process (median of ${r.runs.cold})`, ...col((m) => timing(m.provingCold.wall))],
    [`proving, cold: proving part (median of ${r.runs.cold})`, ...col((m) => timing(m.provingCold.proving))],
    [
      `proving, warm: median / p90 of ${r.runs.warm}`,
      ...col((m) => `${ms(m.provingWarm.proving.medianMs)} / ${ms(m.provingWarm.proving.p90Ms)}`),
    ],
    ["proving, warm: first proof in process", ...col((m) => ms(m.provingWarm.firstProofMs))],
    [`local verification (median of ${r.runs.warm})`, ...col((m) => timing(m.verify))],
    ["proof size: JSON", ...col((m) => `${int(m.proofSize.proofJsonBytes)} B`)],
    [
      "proof size: calldata (a,b,c + signals)",
      ...col(
        (m) =>
          `${int(m.proofSize.calldataBytes)} B (${m.proofSize.proofCalldataBytes} + ${m.proofSize.publicSignalsCalldataBytes})`,
      ),
    ],
    ["gas: submitUpdate, first update", ...col((_m, mode) => int(gas(mode).firstUpdate))],
    ["gas: submitUpdate, later update", ...col((_m, mode) => int(gas(mode).laterUpdate))],
    ["gas: verifyProof call (estimate)", ...col((_m, mode) => int(gas(mode).verifyProofEstimate))],
    ["setup (this run, not in proving)", ...col(setupCell)],
  ];
  const mc = r.machine;
  return (
    `zkrisk bench: ${r.model.file} (sha256 ${r.model.sha256.slice(0, 16)}), market ${r.market}\n` +
    `${r.date}; ${mc.cores} cores, ${mc.cpu}, ${(mc.totalMemoryBytes / 2 ** 30).toFixed(1)} GiB, ` +
    `Node ${mc.node}, ${mc.platform}, snarkjs ${mc.snarkjs}\n\n` +
    markdownTable(rows) +
    "\n\n" +
    `Gas on the ${r.gas.network} (chain id ${r.gas.chainId}). Median: middle value; p90: nearest rank. ` +
    `Total ${(r.totalMs / 1000).toFixed(1)} s. How each figure is taken: \`zkrisk bench --json\` (method).\n`
  );
}

/** Run the command with parsed flags (the action of `zkrisk bench`). */
export async function runBenchCommand(f: BenchFlags): Promise<FullBenchReport> {
  if (f.out !== undefined) outFileOption("--out", f.out);
  const modes = parseModes(f.modes);
  const runs = parseRuns(f);
  const log = stderrLog(Boolean(f.json));
  const report = await runBench({
    model: f.model,
    data: f.data,
    market: f.market,
    modes,
    warmRuns: runs.warm,
    coldRuns: runs.cold,
    log,
  });
  const sizes = parseBatchSizes(f.batch ?? "none");
  const batch: SignedBatchRow[] = (
    await measureSignedBatches({ model: f.model, data: f.data, sizes, log })
  ).map((f): SignedBatchRow => ({
    n: f.n,
    constraints: f.constraints,
    publicSignals: f.publicSignals,
    setupMs: f.setupMs,
    provingMs: f.provingMs,
    gasFirst: f.gasFirst,
    gasLater: f.gasLater,
    gasPerMarket: f.gasPerMarket,
    txHash: f.txHash,
  }));
  const circuits = f.signed === false ? [] : parseSignedCircuits(f.signedCircuits ?? "none");
  const signedProving: SignedProvingReport | undefined =
    circuits.length === 0
      ? undefined
      : {
          runs,
          circuits: await benchSignedProving({
            model: f.model,
            data: f.data,
            market: f.market,
            circuits,
            warmRuns: runs.warm,
            coldRuns: runs.cold,
            log,
          }),
          method: SIGNED_PROVING_METHOD,
        };
  const signedUpdate =
    f.signed === false ? undefined : await measureSignedUpdateGas({ model: f.model, data: f.data, log });
  const full: FullBenchReport = {
    ...report,
    batch,
    ...(batch.length > 0 ? { batchMethod: SIGNED_BATCH_METHOD } : {}),
    ...(signedUpdate ? { signedUpdate } : {}),
    ...(signedProving ? { signedProving } : {}),
  };
  if (f.out) writeJsonAtomic(f.out, full);
  if (f.json) printJson(full);
  else {
    process.stdout.write(
      formatBench(report) +
        formatBatch(batch) +
        formatSignedProving(signedProving) +
        formatSigned(signedUpdate),
    );
  }
  return full;
}
