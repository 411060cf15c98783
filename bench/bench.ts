/**
 * The benchmark suite (`npm run bench`, `zkrisk bench`): what the chain path costs. Three measurements, run one
 * after another, each in its own module:
 *
 * - the signed-update circuit for each quorum k and weight mode asked: its size, witness generation, Groth16
 *   proving in a fresh `zkrisk prove --window` process (cold) and in a loaded prover (warm)
 *   (signed-update-bench.ts);
 * - the gas of `submitSignedUpdate`, first and later update, each split into the verifier call (and of it the
 *   pairing) and the rest (signed-update-gas.ts), and the same for an adaptive market when an adaptive circuit
 *   (`k<K>-adaptive`) is among the circuits;
 * - signed batches of N markets: constraints, proving, and the gas of `submitSignedBatch` (signed-batch-bench.ts);
 * - the CPU of checking signed data: a window's digest, a signature, a signed window file read, as the audit, the
 *   publisher's archive and the prover service do for every window (signed-data-bench.ts).
 *
 * The report records how each figure was taken (`method`, one entry per figure present). Artifacts are compiled
 * and set up once (development setup) and cached like the demo's; setup time never enters a proving figure.
 * Library code: progress goes to the caller's log.
 */
import { resolve } from "node:path";
import { sha256File } from "../core/io";
import type { SetupLog } from "../setup/log";
import { releaseCurves } from "../setup/snarkjs";
import { BenchError, machine, roundMs, type BenchMachine } from "./bench-common";
import { measureSignedDataChecks, SIGNED_DATA_METHOD, type SignedDataChecks } from "./signed-data-bench";
import { measureSignedBatches, SIGNED_BATCH_METHOD, type SignedBatchFigures } from "./signed-batch-bench";
import {
  ADAPTIVE_PROVING_METHOD,
  benchSignedProving,
  SIGNED_PROVING_METHOD,
  type SignedCircuitSpec,
  type SignedProvingBench,
} from "./signed-update-bench";
import {
  ADAPTIVE_UPDATE_GAS_METHOD,
  measureSignedUpdateGas,
  SIGNED_UPDATE_GAS_METHOD,
  type SignedUpdateGas,
} from "./signed-update-gas";

/** Options of {@link runBench}. */
export interface BenchOptions {
  /** Quantised model file. */
  model: string;
  /** Candles CSV the proven windows come from. */
  data: string;
  /** Market label of the timed proofs (e.g. BTC-USDT). */
  market: string;
  /** Signed-update circuits to time, in the order they are measured and shown (may be empty). */
  circuits: SignedCircuitSpec[];
  /** The calibrations file whose `adaptive` block the adaptive circuits have (needed only for those). */
  calibrations?: string;
  /**
   * Measure the gas of submitSignedUpdate (k = 1, constant weights), and, when an adaptive circuit is among
   * `circuits`, of an adaptive market's update.
   */
  updateGas: boolean;
  /** Batch sizes N of the signed batch figures (may be empty). */
  batchSizes: number[];
  /** Measure the CPU of checking signed data (windows of `market` from `data`). */
  checks: boolean;
  /** Warm proofs per circuit; also the witness runs (>= 1). */
  warmRuns: number;
  /** Fresh `zkrisk prove` processes per circuit (>= 1). */
  coldRuns: number;
  /** Progress lines (info) and setup warnings. */
  log: SetupLog;
}

/** One batch size's figures as reported (without the proof file and the parameters read back). */
export type SignedBatchRow = Omit<SignedBatchFigures, "batch" | "stored">;

/** Gas of the signed update as reported (its method is under the report's `method.updateGas`). */
export type UpdateGasFigures = Omit<SignedUpdateGas, "method">;

/**
 * How the figures of a report were taken, one entry per figure present: `inputs`, `artifacts`, `circuit`,
 * `witness`, `provingCold`, `provingWarm` and `statistics` for each entry of `circuits`, and `adaptive` when one is
 * adaptive; `updateGas`, `adaptiveUpdateGas`, `batches` and `checks` for those sections.
 */
export type BenchMethod = Record<string, string>;

/** What {@link runBench} measured. */
export interface BenchReport {
  machine: BenchMachine;
  /** When the run started (ISO-8601 UTC). */
  date: string;
  model: { file: string; sha256: string };
  market: string;
  /** Warm and cold runs of each circuit's timings. */
  runs: { warm: number; cold: number };
  /** The signed-update circuits, in the order asked. */
  circuits: SignedProvingBench[];
  /** submitSignedUpdate gas; absent when not asked. */
  updateGas?: UpdateGasFigures;
  /** submitSignedUpdate gas of an adaptive market; present when asked with an adaptive circuit. */
  adaptiveUpdateGas?: UpdateGasFigures;
  /** The signed batches, by size in the order asked. */
  batches: SignedBatchRow[];
  /** The CPU of checking signed data; absent when not asked. */
  checks?: SignedDataChecks;
  method: BenchMethod;
  /** Wall clock of the whole run, setup included, ms. */
  totalMs: number;
}

/** Time the signed-update circuits of `opts.circuits` (none: no figures). */
async function benchCircuits(opts: BenchOptions): Promise<SignedProvingBench[]> {
  if (opts.circuits.length === 0) return [];
  return benchSignedProving({
    model: opts.model,
    data: opts.data,
    market: opts.market,
    circuits: opts.circuits,
    ...(opts.calibrations !== undefined && { calibrations: opts.calibrations }),
    warmRuns: opts.warmRuns,
    coldRuns: opts.coldRuns,
    log: opts.log,
  });
}

/** The gas of a first and a later signed update, when asked. */
async function benchUpdateGas(opts: BenchOptions): Promise<UpdateGasFigures | undefined> {
  if (!opts.updateGas) return undefined;
  const g = await measureSignedUpdateGas({ model: opts.model, data: opts.data, log: opts.log });
  return { first: g.first, later: g.later, publicSignals: g.publicSignals };
}

/** The gas of a first and a later adaptive update, when asked with an adaptive circuit. */
async function benchAdaptiveUpdateGas(opts: BenchOptions): Promise<UpdateGasFigures | undefined> {
  if (!opts.updateGas || !opts.circuits.some((c) => c.adaptive)) return undefined;
  if (opts.calibrations === undefined) throw new BenchError("an adaptive circuit needs a calibrations file");
  const g = await measureSignedUpdateGas({
    model: opts.model,
    data: opts.data,
    log: opts.log,
    adaptive: { calibrations: opts.calibrations },
  });
  return { first: g.first, later: g.later, publicSignals: g.publicSignals };
}

/** The signed batches of each size of `opts.batchSizes` (none: no rows). */
async function benchBatches(opts: BenchOptions): Promise<SignedBatchRow[]> {
  if (opts.batchSizes.length === 0) return [];
  const figures = await measureSignedBatches({
    model: opts.model,
    data: opts.data,
    sizes: opts.batchSizes,
    log: opts.log,
  });
  return figures.map((f) => ({
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
}

/** Signed windows checked per round of the signed-data figures. */
export const CHECKED_WINDOWS = 10;

/** The CPU of checking signed data, when asked: CHECKED_WINDOWS windows a round, a round per warm run. */
async function benchChecks(opts: BenchOptions): Promise<SignedDataChecks | undefined> {
  if (!opts.checks) return undefined;
  opts.log.info(`signed data: checking ${CHECKED_WINDOWS} windows, ${opts.warmRuns} round(s)`);
  return measureSignedDataChecks({
    data: opts.data,
    market: opts.market,
    windows: CHECKED_WINDOWS,
    rounds: opts.warmRuns,
  });
}

/** The method of each figure of a report, for the sections it has. */
function benchMethod(
  r: Pick<BenchReport, "circuits" | "updateGas" | "adaptiveUpdateGas" | "batches" | "checks">,
): BenchMethod {
  return {
    ...(r.circuits.length > 0 ? SIGNED_PROVING_METHOD : {}),
    ...(r.circuits.some((c) => c.adaptive) ? { adaptive: ADAPTIVE_PROVING_METHOD } : {}),
    ...(r.updateGas ? { updateGas: SIGNED_UPDATE_GAS_METHOD } : {}),
    ...(r.adaptiveUpdateGas ? { adaptiveUpdateGas: ADAPTIVE_UPDATE_GAS_METHOD } : {}),
    ...(r.batches.length > 0 ? { batches: SIGNED_BATCH_METHOD } : {}),
    ...(r.checks ? { checks: SIGNED_DATA_METHOD } : {}),
  };
}

/** Run the measurements asked, one after another, and return the report. */
export async function runBench(opts: BenchOptions): Promise<BenchReport> {
  if (opts.circuits.length === 0 && !opts.updateGas && opts.batchSizes.length === 0 && !opts.checks) {
    throw new BenchError(
      "nothing to measure: no signed-update circuit, no update gas, no batch size and no signed-data checks",
    );
  }
  if (!(opts.warmRuns >= 1 && opts.coldRuns >= 1)) throw new BenchError("runs must be at least 1");
  const t0 = performance.now();
  const date = new Date().toISOString();
  try {
    const circuits = await benchCircuits(opts);
    const updateGas = await benchUpdateGas(opts);
    const adaptiveUpdateGas = await benchAdaptiveUpdateGas(opts);
    const batches = await benchBatches(opts);
    const checks = await benchChecks(opts);
    return {
      machine: machine(),
      date,
      model: { file: resolve(opts.model), sha256: sha256File(opts.model) },
      market: opts.market,
      runs: { warm: opts.warmRuns, cold: opts.coldRuns },
      circuits,
      ...(updateGas ? { updateGas } : {}),
      ...(adaptiveUpdateGas ? { adaptiveUpdateGas } : {}),
      batches,
      ...(checks ? { checks } : {}),
      method: benchMethod({ circuits, updateGas, adaptiveUpdateGas, batches, checks }),
      totalMs: roundMs(performance.now() - t0),
    };
  } finally {
    await releaseCurves();
  }
}
