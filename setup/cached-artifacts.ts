/**
 * Development artifacts cached by circuit source: a circuit of the model compiled and set up with the direct
 * development setup (INSECURE keys, development ptau) once per generated source, under
 * `.zkrisk-cache/demo/<source sha256[0:16]>-<suffix>`, and reused while they match their manifest. The demo,
 * `npm run bench` and the real-circuit tests share them; the same cache holds the demo's development publisher
 * key.
 */
import { existsSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import {
  BUILD_SUBDIR,
  CIRCUIT_INFO_FILE,
  CIRCUIT_NAME,
  compileSignedBatchModel,
  compileSignedUpdateModel,
} from "../circuits/compile-model";
import { UsageError } from "../core/errors";
import { generateSignedBatchCircuit } from "../circuits/generate-signed-batch-circuit";
import type { WeightMode } from "../circuits/generate-circuit";
import { generateUpdateCircuit } from "../circuits/generate-update-circuit";
import { buildCacheEntry } from "../core/atomic-file";
import { cacheDir } from "../core/package-root";
import { sha256File, sha256Hex } from "../core/io";
import { loadCalibrations } from "../models/market-calibrations";
import { loadQuantizedModel } from "../models/quantized-model";
import { loadArtifacts } from "./artifacts";
import { silentLog, type SetupLog } from "./log";
import { setupCompiledDir } from "./run";

/** Where the development artifacts (per circuit source) and the development publisher key are cached. */
export const DEMO_CACHE = cacheDir("demo");

/** Which model, where (default: the cache) and how to log. */
export interface CachedArtifactOptions {
  model: string;
  /** Artifact directory (default: a cache directory keyed by the circuit source's sha256 and the suffix). */
  artifacts?: string;
  log: SetupLog;
}

/** What {@link cachedArtifacts} builds when its cache cannot be used. */
export interface ArtifactRecipe {
  /** The generated circuit source: the cache key. */
  source: string;
  /** Directory name after the key, e.g. `constant` or `signed-k1-constant`. */
  suffix: string;
  /** What is compiled, for the log line. */
  what: string;
  /** Compile the circuit into `dir`. */
  compile: (dir: string) => Promise<unknown>;
}

/**
 * The version of the direct development setup, part of the cache key: 2 since its zkeys of 2^15 and more hash
 * the circuit as snarkjs does (before, a contribution on top of them failed to verify), so older cached
 * artifacts are set up again rather than reused.
 */
const DIRECT_SETUP_VERSION = "direct-setup/2";

/**
 * A given artifact directory that already holds a compiled circuit must hold the one asked for (same generated
 * source: model, weight mode, quorum); another circuit's keys would fail at proving time, and rebuilding would
 * replace the user's keys, so it is refused (UsageError, exit 2) naming the directory and both circuits.
 */
function checkGivenCircuit(dir: string, recipe: ArtifactRecipe): void {
  const source = join(dir, BUILD_SUBDIR, `${CIRCUIT_NAME}.circom`);
  if (!existsSync(source) || readFileSync(source, "utf8") === recipe.source) return;
  let held = "another circuit";
  try {
    const info = JSON.parse(readFileSync(join(dir, CIRCUIT_INFO_FILE), "utf8")) as Record<string, unknown>;
    held = `a circuit of ${String(info.mode)} weights, quorum ${String(info.quorum)}`;
  } catch {
    // no readable circuit.json: say "another circuit"
  }
  throw new UsageError(
    `--artifacts: ${dir} holds ${held}, not ${recipe.what} (another model, --weights or quorum): give the ` +
      "directory of that circuit, or a new or empty directory to build it in",
  );
}

/**
 * Artifacts of a circuit of the model: reuse a verified cache, else compile and set up (INSECURE direct
 * development setup). The cache is keyed by the generated circuit's source and the setup's version, so a change
 * of model, mode, quorum, generator or setup never reuses stale keys.
 */
export async function cachedArtifacts(
  opts: CachedArtifactOptions,
  recipe: ArtifactRecipe,
): Promise<{ dir: string; reused: boolean; ms: number }> {
  const key = sha256Hex(`${DIRECT_SETUP_VERSION}\n${recipe.source}`).slice(0, 16);
  const dir = opts.artifacts ?? join(DEMO_CACHE, `${key}-${recipe.suffix}`);
  if (opts.artifacts !== undefined) checkGivenCircuit(opts.artifacts, recipe);
  if (existsSync(join(dir, "artifacts.json"))) {
    try {
      loadArtifacts(dir, { modelPath: opts.model });
      return { dir, reused: true, ms: 0 };
    } catch (err) {
      opts.log.warn(`cached artifacts in ${dir} are unusable (${(err as Error).message}); rebuilding them`);
    }
  }
  const t0 = performance.now();
  const build = async (into: string) => {
    opts.log.info(`compiling ${recipe.what} and running a development trusted setup (once)`);
    await recipe.compile(into);
    await setupCompiledDir(into, opts.model, opts.log);
  };
  // A given directory is the user's to build in; the cache's entries are built beside and moved into place,
  // by one caller at a time (another one's build is waited for and reused).
  if (opts.artifacts !== undefined) {
    await build(dir);
    return { dir, reused: false, ms: performance.now() - t0 };
  }
  const built = await buildCacheEntry(dir, (d) => usableArtifacts(d, opts.model), build, {
    onWait: () => opts.log.info(`waiting for another build of ${dir}`),
    onTakeOver: () => opts.log.warn(`${dir}.lock: taking over an abandoned lock`),
  });
  return { dir, reused: !built, ms: built ? performance.now() - t0 : 0 };
}

/** Whether `dir` holds artifacts that match their manifest (and `model`). */
export function usableArtifacts(dir: string, model: string): boolean {
  try {
    loadArtifacts(dir, { modelPath: model });
    return true;
  } catch {
    return false;
  }
}

/** Artifacts of the signed-update circuit of the model for publisher sets of quorum `quorum` (default 1, the demo's). */
export async function signedProvingArtifacts(
  opts: CachedArtifactOptions & { mode: WeightMode },
  quorum = 1,
): Promise<{ dir: string; reused: boolean; ms: number }> {
  return cachedArtifacts(opts, {
    source: (await generateUpdateCircuit(loadQuantizedModel(opts.model), opts.mode, quorum)).source,
    suffix: `signed-k${quorum}-${opts.mode}`,
    what: `the signed-update circuit (${opts.mode} weights, quorum ${quorum})`,
    compile: (dir) => compileSignedUpdateModel(opts.model, dir, opts.mode, quorum),
  });
}

/** Where the artifacts are, whether they came from the cache, and the compile + setup time of this call. */
export interface SignedUpdateArtifacts {
  dir: string;
  mode: WeightMode;
  quorum: number;
  reused: boolean;
  /** Wall clock of compile and setup in this call (0 when reused), ms. */
  setupMs: number;
}

/**
 * The signed-update circuit of `modelPath` for quorum `quorum` and weight mode `mode`: a verified cache, else
 * compiled and set up (development setup) now, in the demo's cache (`signedProvingArtifacts`).
 */
export async function signedUpdateArtifacts(
  modelPath: string,
  mode: WeightMode,
  quorum: number,
  log: SetupLog = silentLog,
): Promise<SignedUpdateArtifacts> {
  const r = await signedProvingArtifacts({ model: modelPath, mode, log }, quorum);
  return { dir: r.dir, mode, quorum, reused: r.reused, setupMs: r.ms };
}

/**
 * The signed-update circuit with the adaptive rule of `calibrationsPath` (its `adaptive` block), constant
 * weights, quorum `quorum`, compiled as `zkrisk compile --adaptive --weights constant --quorum K` does it (so
 * circuit.json and the manifest record the rule and the calibrations file's sha256): a verified cache, else
 * compiled and set up (development setup) now, in the demo's cache.
 */
export async function adaptiveUpdateArtifacts(
  modelPath: string,
  calibrationsPath: string,
  quorum = 1,
  log: SetupLog = silentLog,
): Promise<SignedUpdateArtifacts> {
  const rule = loadCalibrations(calibrationsPath).adaptive;
  const model = loadQuantizedModel(modelPath);
  const { source } = await generateUpdateCircuit(model, "constant", quorum, undefined, { adaptive: rule });
  const adaptive = {
    rule,
    calibrations: { file: basename(calibrationsPath), sha256: sha256File(calibrationsPath) },
  };
  const r = await cachedArtifacts(
    { model: modelPath, log },
    {
      source,
      suffix: `signed-adaptive-k${quorum}-constant-compiled`,
      what: `the signed-update circuit with the adaptive rule (constant weights, quorum ${quorum})`,
      compile: (dir) => compileSignedUpdateModel(modelPath, dir, "constant", quorum, adaptive),
    },
  );
  return { dir: r.dir, mode: "constant", quorum, reused: r.reused, setupMs: r.ms };
}

/**
 * The ADAPTIVE signed batch circuit of `n` markets with the rule of `calibrationsPath`, constant weights, quorum
 * 1, compiled as `zkrisk compile --batch N --adaptive --weights constant` does it (circuit.json and the manifest
 * record the rule): a verified cache, else compiled and set up (development setup) now, in the demo's cache.
 */
export async function adaptiveBatchArtifacts(
  modelPath: string,
  calibrationsPath: string,
  n: number,
  log: SetupLog = silentLog,
): Promise<{ dir: string; reused: boolean; ms: number }> {
  const rule = loadCalibrations(calibrationsPath).adaptive;
  const model = loadQuantizedModel(modelPath);
  const { source } = await generateSignedBatchCircuit(model, "constant", n, 1, undefined, { adaptive: rule });
  const adaptive = {
    rule,
    calibrations: { file: basename(calibrationsPath), sha256: sha256File(calibrationsPath) },
  };
  return cachedArtifacts(
    { model: modelPath, log },
    {
      source,
      suffix: `signed-batch${n}-adaptive-k1-constant`,
      what: `the adaptive signed batch circuit (${n} markets, constant weights, quorum 1)`,
      compile: (dir) => compileSignedBatchModel(modelPath, dir, "constant", n, 1, adaptive),
    },
  );
}
