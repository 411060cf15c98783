/**
 * `zkrisk compile`: generate and compile (circom 2.2, --O2) the signed-update circuit of a quantised model, or
 * with `--batch N` the signed batch circuit of N markets.
 */
import { existsSync, readdirSync, rmSync } from "node:fs";
import { basename, join } from "node:path";
import {
  BUILD_SUBDIR,
  CIRCUIT_INFO_FILE,
  CIRCUIT_NAME,
  compileSignedBatchModel,
  compileSignedUpdateModel,
  type AdaptiveCircuitInfo,
  type CircuitInfo,
} from "../../circuits/compile-model";
import type { WeightMode } from "../../circuits/generate-circuit";
import { UsageError } from "../../core/errors";
import { sha256File } from "../../core/io";
import { loadCalibrations } from "../../models/market-calibrations";
import { loadQuantizedModel } from "../../models/quantized-model";
import { MANIFEST_FILE } from "../../setup/artifacts";
import { stderrLog } from "../../setup/log";
import {
  fileOptions,
  inFileOption,
  outDirOption,
  output,
  parseIntOption,
  refuseOverwrites,
} from "../options";
import { DEFAULT_CALIBRATIONS } from "../paths";

/** The options of `zkrisk compile`, as commander gives them (cli/register/circuit.ts). */
export interface CompileFlags {
  model: string;
  out: string;
  weights: string;
  /** Compile the signed batch circuit of N markets (one quorum's signatures of a batch digest). */
  batch?: string;
  /** Signatures the signed circuit checks (the publisher set's quorum). */
  quorum?: string;
  /** Compile the signed-update circuit with the adaptive calibration rule of `calibrations`. */
  adaptive?: boolean;
  /** The calibrations file whose `adaptive` block is the rule (only with --adaptive; default: models/calibrations.json). */
  calibrations?: string;
  /** Replace an --out directory that was already set up (its setup files are removed first). */
  force?: boolean;
  json?: boolean;
}

/** The compiled circuit (`circuit` is its circuit.json and the `--json` document). */
export interface CompileResult {
  /** `--model` as given. */
  model: string;
  /** `--out` as given. */
  out: string;
  mode: WeightMode;
  circuit: CircuitInfo;
}

function parseMode(value: string): WeightMode {
  if (value !== "committed" && value !== "constant") {
    throw new UsageError(`--weights: '${value}' must be 'committed' or 'constant'`);
  }
  return value;
}

/** The rule of `--adaptive`: the `adaptive` block of `--calibrations`, read by its loader (which checks it). */
function adaptiveOf(f: CompileFlags): AdaptiveCircuitInfo | undefined {
  if (!f.adaptive) {
    if (f.calibrations !== undefined) {
      throw new UsageError(
        `--calibrations: '${f.calibrations}' is the adaptive rule's file: give it with --adaptive, or leave it out`,
      );
    }
    return undefined;
  }
  const file = f.calibrations ?? DEFAULT_CALIBRATIONS;
  if (!existsSync(file)) throw new UsageError(`--calibrations: ${file}: file not found`);
  return {
    rule: loadCalibrations(file).adaptive,
    calibrations: { file: basename(file), sha256: sha256File(file) },
  };
}

/**
 * Whether `zkrisk setup` writes the entry `name` of an artifact directory (setup/phase2.ts artifactPaths, the
 * manifest and the ptau named after the circuit): the files a new compile makes stale. A file of the user's own
 * beside them is not one.
 */
export function isSetupFile(name: string): boolean {
  return (
    [MANIFEST_FILE, "verification_key.json", "Groth16Verifier.sol"].includes(name) ||
    (name.startsWith(`${CIRCUIT_NAME}.`) && /\.(r1cs|wasm|zkey|ptau)$/.test(name))
  );
}

/**
 * Whether `zkrisk compile` writes the entry `entry` (`/`-separated) of its --out directory: circuit.json and the
 * build directory (generated source, compiler output), and with `force` the setup files it removes.
 */
export function compileWrites(entry: string, force: boolean): boolean {
  return (
    entry === CIRCUIT_INFO_FILE ||
    entry === BUILD_SUBDIR ||
    entry.startsWith(`${BUILD_SUBDIR}/`) ||
    (force && isSetupFile(entry))
  );
}

/**
 * The files `zkrisk setup` added to an artifact directory (manifest, zkey, verification key, verifier, ptau and
 * its copies of the r1cs and wasm): what a new compile makes stale.
 */
function setupFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter(isSetupFile);
}

/**
 * An --out directory that holds a set-up circuit is refused (its keys would no longer match the new circuit);
 * with --force its setup files are removed, so no stale zkey or manifest is left beside the new circuit.
 */
function clearSetup(f: CompileFlags): void {
  const stale = setupFiles(f.out);
  if (!stale.some((name) => name === MANIFEST_FILE || name.endsWith(".zkey"))) return;
  if (!f.force) {
    throw new UsageError(
      `--out: ${f.out} already holds a set-up circuit (${stale.join(", ")}); compiling into it would leave keys ` +
        "that no longer match the circuit. Choose another --out, or pass --force to remove the setup files.",
    );
  }
  for (const name of stale) rmSync(join(f.out, name), { force: true });
}

/** Generate and compile the circuit into `--out`/build and write `--out`/circuit.json. */
export async function runCompile(f: CompileFlags): Promise<CompileResult> {
  outDirOption("--out", f.out);
  refuseOverwrites({
    reads: [
      ...fileOptions("--model", f.model),
      ...fileOptions("--calibrations", f.adaptive ? (f.calibrations ?? DEFAULT_CALIBRATIONS) : undefined),
    ],
    writes: [{ option: "--out", path: f.out, entries: (e) => compileWrites(e, f.force === true) }],
  });
  const mode = parseMode(f.weights);
  const adaptive = adaptiveOf(f);
  const quorum = () => parseIntOption("--quorum", f.quorum ?? "1", 1, 8);
  if (f.batch !== undefined) parseIntOption("--batch", f.batch, adaptive === undefined ? 1 : 2, 32);
  quorum();
  // The model is read before anything is removed or said to be compiling: a bad one is the first error.
  loadQuantizedModel(inFileOption("--model", f.model));
  clearSetup(f);
  const log = stderrLog(f.json === true);
  const what = f.batch !== undefined ? `signed batch circuit of ${f.batch} markets` : "signed-update circuit";
  log.info(
    `compiling the ${what} of ${f.model} (${mode} weights) with circom into ${join(f.out, BUILD_SUBDIR)}...`,
  );
  const t0 = Date.now();
  const circuit =
    f.batch !== undefined
      ? await compileSignedBatchModel(
          f.model,
          f.out,
          mode,
          parseIntOption("--batch", f.batch, adaptive === undefined ? 1 : 2, 32),
          quorum(),
          adaptive,
        )
      : await compileSignedUpdateModel(f.model, f.out, mode, quorum(), adaptive);
  log.info(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return { model: f.model, out: f.out, mode, circuit };
}

/** The text output of `zkrisk compile`: what was compiled and the circuit's size. */
export function formatCompile(r: CompileResult): string {
  const info = r.circuit;
  const kind =
    info.quorum === undefined
      ? ""
      : info.batchSize === undefined
        ? `, signed update${info.adaptive === undefined ? "" : " with the adaptive rule"}, quorum ${info.quorum}`
        : `, signed ${info.adaptive === undefined ? "" : "adaptive "}batch of ${info.batchSize} markets, ` +
          `quorum ${info.quorum}`;
  return (
    `compiled ${r.model} (${r.mode} weights${kind}) into ${join(r.out, BUILD_SUBDIR)}\n` +
    `  constraints    ${info.constraints}\n` +
    `  wires          ${info.wires}\n` +
    `  public signals ${info.outputs + info.publicInputs}: ${info.publicSignals.join(", ")}\n` +
    `  private inputs ${info.privateInputs}\n` +
    `  model commitment ${info.modelCommitment}\n` +
    (info.adaptive === undefined
      ? ""
      : `  adaptive rule  ${info.adaptive.calibrations.file} (sha256 ${info.adaptive.calibrations.sha256}): ` +
        `down 2^-${info.adaptive.rule.downShiftStart} -> 2^-${info.adaptive.rule.downShift} every ` +
        `${info.adaptive.rule.outcomesPerShift} outcomes, calibrationNum clamped to [${info.adaptive.rule.minNum}, ` +
        `${info.adaptive.rule.maxNum}]\n`)
  );
}

/** The `--json` document of `zkrisk compile`: the circuit.json written. */
export function compileJson(r: CompileResult): CircuitInfo {
  return r.circuit;
}

/** `zkrisk compile`: compile, then print the circuit's size. */
export async function compileAction(f: CompileFlags): Promise<void> {
  output(await runCompile(f), f.json, formatCompile, compileJson);
}
