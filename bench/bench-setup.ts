/**
 * `zkrisk bench-setup` (npm run bench:setup): how long an INSECURE development setup takes. Two measurements:
 * the development ptau alone for each power asked (phase 1, written directly from its secrets), and the whole direct
 * setup (ptau of the circuit's power, zkey, verification key, verifier, manifest) of the shipped model's
 * signed-update circuit (quorum 1) in each weight mode asked.
 * Each is one run in a fresh temporary directory, timed with the wall clock; nothing is cached.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUILD_SUBDIR, CIRCUIT_NAME, compileSignedUpdateModel } from "../circuits/compile-model";
import type { WeightMode } from "../circuits/generate-circuit";
import { devSetupCircuit, silentLog, type SetupLog } from "../setup";
import { writeDirectPtau } from "../setup/direct-ptau";
import { machine, type BenchMachine } from "./bench-common";

/** One development ptau. */
export interface PtauTiming {
  power: number;
  ms: number;
  bytes: number;
}

/** Quorum of the signed-update circuit whose setup is timed (one publisher signature). */
export const SETUP_BENCH_QUORUM = 1;

/** One whole direct setup of a signed-update circuit. */
export interface CircuitSetupTiming {
  mode: WeightMode;
  /** Signatures the circuit checks. */
  quorum: number;
  constraints: number;
  power: number;
  /** Writing the ptau, then the zkey; `totalMs` adds the exports and the manifest. */
  ptauMs: number;
  zkeyMs: number;
  totalMs: number;
}

/** What {@link runSetupBench} measured. */
export interface SetupBenchReport {
  machine: BenchMachine;
  date: string;
  method: string;
  ptau: PtauTiming[];
  circuits: CircuitSetupTiming[];
}

/** Options of {@link runSetupBench}. */
export interface SetupBenchOptions {
  /** Powers of the development ptau to time. */
  powers: number[];
  /** Weight modes of the shipped model's signed-update circuit to set up (compiled first, not timed). */
  modes: WeightMode[];
  model: string;
  log?: SetupLog;
}

/** Time the development ptau at each power, then the direct setup of each circuit. */
export async function runSetupBench(options: SetupBenchOptions): Promise<SetupBenchReport> {
  const log = options.log ?? silentLog;
  const work = mkdtempSync(join(tmpdir(), "zkrisk-bench-setup-"));
  try {
    const ptau: PtauTiming[] = [];
    for (const power of options.powers) {
      log.info(`development ptau, power ${power}`);
      const file = join(work, `dev-pot${power}.ptau`);
      const t0 = performance.now();
      await writeDirectPtau(file, power);
      ptau.push({ power, ms: performance.now() - t0, bytes: statSync(file).size });
      rmSync(file);
    }
    const circuits: CircuitSetupTiming[] = [];
    for (const mode of options.modes) {
      const dir = join(work, mode);
      log.info(`compiling the signed-update circuit, ${mode} weights, k = ${SETUP_BENCH_QUORUM} (not timed)`);
      await compileSignedUpdateModel(options.model, dir, mode, SETUP_BENCH_QUORUM);
      const build = join(dir, BUILD_SUBDIR);
      const t0 = performance.now();
      const result = await devSetupCircuit({
        name: CIRCUIT_NAME,
        r1csPath: join(build, `${CIRCUIT_NAME}.r1cs`),
        wasmPath: join(build, `${CIRCUIT_NAME}_js`, `${CIRCUIT_NAME}.wasm`),
        modelPath: options.model,
        outDir: dir,
      });
      circuits.push({
        mode,
        quorum: SETUP_BENCH_QUORUM,
        constraints: result.manifest.circuit.constraints,
        power: result.manifest.ptau.power,
        ptauMs: result.timings.ptauMs,
        zkeyMs: result.timings.zkeyMs,
        totalMs: performance.now() - t0,
      });
    }
    return {
      machine: machine(),
      date: new Date().toISOString(),
      method:
        "One run each, wall clock, in a fresh temporary directory, every available core. ptau: writeDirectPtau " +
        "(phase 1 computed from its secrets, Lagrange sections included). circuits: devSetupCircuit on the " +
        `shipped model's compiled signed-update circuit (quorum ${SETUP_BENCH_QUORUM}; ptau of the circuit's ` +
        "power, zkey with one contribution, vkey, " +
        "Solidity verifier, manifest); compilation is not timed.",
      ptau,
      circuits,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
