/**
 * Entry points for the command line: `zkrisk setup` ({@link runSetup}) and `zkrisk ceremony contribute`
 * ({@link runContribute}). They resolve the ptau, run the setup and return what a command prints.
 */
import { CIRCUIT_NAME, COMPILED_FILES } from "../circuits/compile-model";
import { existsSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { checkFileHash, loadArtifacts, MANIFEST_FILE, type CeremonyStep } from "./artifacts";
import { readPtauHeader } from "../circuits/binfile";
import { SetupError, UsageError } from "../core/errors";
import { inFileOption } from "../core/paths";
import { preview } from "../core/validate";
import { withWorkDir } from "../core/work-dir";
import type { SetupLog } from "./log";
import {
  applyBeacon,
  contribute,
  devSetupCircuit,
  finalize,
  isBeaconHash,
  isContributorName,
  MAX_CONTRIBUTOR_NAME,
  setupCircuit,
  type SetupResult,
} from "./phase2";
import { checkPtau, defaultPtauCacheDir, devPtau, isDevPtauFileName, requiredPowerForR1cs } from "./ptau";

/**
 * The work directory of a contribution inside the artifact directory (`.contribute-XXXXXX`): the new zkey until it
 * is verified and installed. Removed when the contribution ends or is stopped (core/work-dir.ts).
 */
export const CONTRIBUTE_WORK_PREFIX = ".contribute-";

/** `--ptau` value that asks for a cached development ptau and snarkjs's own phase 2 (a ceremony rehearsal). */
export const DEV_PTAU_FLAG = "dev";

/** Progress of a setup: `step` of `steps` units of the current work (`stage` names it). */
export interface SetupProgress {
  stage: string;
  step: number;
  steps: number;
}

/** Options of {@link runSetup}, one per command-line flag. */
export interface RunSetupOptions {
  /** `--r1cs`: compiled circuit. */
  r1cs: string;
  /** `--wasm`: witness generator. */
  wasm: string;
  /** `--model`: model file the circuit was generated from. */
  model: string;
  /** `--out`: artifact directory. */
  out: string;
  /**
   * `--ptau`: phase-1 file from a public ceremony, then snarkjs's phase 2. `dev` ({@link DEV_PTAU_FLAG}): the same
   * phase 2 on an INSECURE cached development ptau. Without it: an INSECURE direct development setup
   * ({@link devSetupCircuit}), seconds instead of minutes.
   */
  ptau?: string;
  /** `--verify-ptau`: check every contribution of `--ptau` (slow: minutes to hours). */
  verifyPtau?: boolean;
  /** `--force`: replace the keys of an artifact directory that already has a manifest (refused otherwise). */
  force?: boolean;
  /** `--name`: circuit name, the stem of the artifact files (default: the r1cs file name without `.r1cs`). */
  name?: string;
  /** `--entropy`: extra entropy for the initial contribution (default: random). */
  entropy?: string;
  /** `--beacon`: beacon hash, hex, with `ptau` only (default: random, for development). */
  beaconHash?: string;
  /** `--beacon-iterations`: beacon hash iterations 2^n, 10..63 (default 10). */
  beaconIterationsExp?: number;
  /** Cache directory of development ptau files (default `defaultPtauCacheDir()`). */
  cacheDir?: string;
  /** Progress of generating a development ptau (for a progress bar). */
  onProgress?: (progress: SetupProgress) => void;
}

/** What {@link runSetup} did. */
export interface RunSetupResult extends SetupResult {
  ptau: {
    /** Path of the ptau used (inside the artifact directory for a direct setup). */
    path: string;
    /** Power the circuit needs. */
    requiredPower: number;
    /** Power of the file used. */
    power: number;
    /** INSECURE development ptau. */
    dev: boolean;
    /** For a development ptau: reused from the cache (`true`) or generated now (`false`). */
    cached?: boolean;
  };
  /** Wall-clock durations in milliseconds (for display). */
  timings: { ptauMs: number; phase2Ms: number };
}

/** Refuse a `--beacon` that snarkjs would refuse, before any work. */
function checkBeaconFlag(beaconHash: string | undefined): void {
  if (beaconHash !== undefined && !isBeaconHash(beaconHash)) {
    throw new UsageError(`--beacon: '${beaconHash}' is not a beacon hash (1 to 255 bytes of hex)`);
  }
}

/**
 * Refuse flags of `zkrisk setup` that cannot apply or are malformed, before any file is read: a `--beacon` without
 * `--ptau` (the direct development setup has no beacon) or that is not hex. {@link runSetup} checks them first too.
 */
export function checkSetupFlags(options: Pick<RunSetupOptions, "ptau" | "beaconHash" | "verifyPtau">): void {
  if (options.ptau === undefined && options.verifyPtau === true) {
    throw new UsageError(
      "--verify-ptau: verifies the contributions of a --ptau FILE; the direct development setup (no --ptau) reads none",
    );
  }
  if (options.ptau === undefined && options.beaconHash !== undefined) {
    throw new UsageError(
      `--beacon ${options.beaconHash}: the direct development setup (no --ptau) has no beacon; a beacon closes ` +
        "snarkjs's phase 2 (--ptau FILE or --ptau dev)",
    );
  }
  checkBeaconFlag(options.beaconHash);
}

/** Refuse a `--ptau` that cannot be read or is not a bn128 ptau prepared for phase 2 (its header only). */
function checkPtauFlag(path: string): void {
  inFileOption("--ptau", path);
  let prepared: boolean;
  try {
    prepared = readPtauHeader(path).preparedPhase2;
  } catch (err) {
    throw new UsageError(`--ptau: ${(err as Error).message}`);
  }
  if (!prepared)
    throw new UsageError(`--ptau: ${path}: ptau is not prepared for phase 2 (no Lagrange section)`);
}

/**
 * `zkrisk setup`: without `--ptau`, an INSECURE direct development setup ({@link devSetupCircuit}). With `--ptau`,
 * check the file for size (and optionally verify it), or take a cached development ptau for `--ptau dev`, then run
 * snarkjs's phase 2 ({@link setupCircuit}) into `--out`.
 * @param log receives progress and the development-setup warnings
 */
export async function runSetup(options: RunSetupOptions, log: SetupLog): Promise<RunSetupResult> {
  checkSetupFlags(options);
  const r1cs = inFileOption("--r1cs", options.r1cs);
  const wasm = inFileOption("--wasm", options.wasm);
  const model = inFileOption("--model", options.model);
  if (options.ptau !== undefined && options.ptau !== DEV_PTAU_FLAG) inFileOption("--ptau", options.ptau);
  const power = requiredPowerForR1cs(r1cs);
  const name = options.name ?? basename(r1cs).replace(/\.r1cs$/, "");
  const manifest = join(options.out, MANIFEST_FILE);
  if (existsSync(manifest) && !options.force) {
    throw new SetupError(
      `${manifest}: ${options.out} already holds a set-up circuit; a new setup would replace its keys (and any ` +
        "verifier deployed from them would stop accepting new proofs). Pass --force to replace them.",
    );
  }

  const t0 = Date.now();
  if (options.ptau === undefined) {
    const result = await devSetupCircuit({
      name,
      r1csPath: r1cs,
      wasmPath: wasm,
      modelPath: model,
      outDir: options.out,
      onProgress: (p) => options.onProgress?.({ stage: p.section, step: p.done, steps: p.total }),
      log,
    });
    const ptauPath = join(result.dir, result.manifest.ptau.file);
    return {
      ...result,
      ptau: { path: ptauPath, requiredPower: power, power, dev: true, cached: false },
      timings: { ptauMs: result.timings.ptauMs, phase2Ms: result.timings.zkeyMs },
    };
  }
  let ptau: RunSetupResult["ptau"];
  if (options.ptau !== DEV_PTAU_FLAG) {
    const info = await checkPtau(options.ptau, power, {
      verify: options.verifyPtau,
      log,
    });
    ptau = { path: info.path, requiredPower: power, power: info.power, dev: isDevPtauFileName(info.path) };
  } else {
    const dev = await devPtau(power, { cacheDir: options.cacheDir, onProgress: options.onProgress, log });
    ptau = { path: dev.path, requiredPower: power, power: dev.power, dev: true, cached: dev.cached };
  }
  const t1 = Date.now();
  const result = await setupCircuit({
    name,
    r1csPath: r1cs,
    wasmPath: wasm,
    modelPath: model,
    ptauPath: ptau.path,
    ptauDev: ptau.dev,
    outDir: options.out,
    entropy: options.entropy,
    beaconHash: options.beaconHash,
    beaconIterationsExp: options.beaconIterationsExp,
    log,
  });
  return { ...result, ptau, timings: { ptauMs: t1 - t0, phase2Ms: Date.now() - t1 } };
}

/** Options of {@link runContribute}, one per command-line flag. */
export interface RunContributeOptions {
  /** `--dir`: artifact directory made by `zkrisk setup`. */
  dir: string;
  /** `--name`: contributor name recorded in the zkey. */
  name: string;
  /** `--entropy`: extra entropy (default: random; snarkjs always adds OS randomness). */
  entropy?: string;
  /**
   * `--ptau`: the ptau the setup used (default: for a direct setup the ptau in the artifact directory, for a
   * development ptau the cached one).
   */
  ptau?: string;
  /** `--model`: model file (default: the path recorded in the manifest). */
  model?: string;
  /** `--beacon`: apply a beacon (hex) after the contribution, to close the ceremony. */
  beaconHash?: string;
  /** `--beacon-iterations`: beacon hash iterations 2^n, 10..63 (default 10). */
  beaconIterationsExp?: number;
  /** Cache directory of development ptau files (default `defaultPtauCacheDir()`). */
  cacheDir?: string;
}

/** What {@link runContribute} did. */
export interface RunContributeResult extends SetupResult {
  /** The contribution added (its hash lets the contributor find it in the manifest later). */
  contribution: CeremonyStep;
  /** The beacon, if one was applied. */
  beacon?: CeremonyStep;
}

/**
 * Refuse `--name` and `--entropy` values snarkjs would alter or not take, before anything is read or printed: an
 * empty or too long name (stored as none, or cut), an empty entropy (snarkjs would prompt for it on stdin).
 */
function checkContributeFlags(options: Pick<RunContributeOptions, "name" | "entropy">): void {
  if (!isContributorName(options.name)) {
    throw new UsageError(
      `--name: ${preview(options.name)} has ${options.name.length} characters; a contributor name has 1 to ` +
        `${MAX_CONTRIBUTOR_NAME} (the zkey would record none of an empty name, and cut a longer one)`,
    );
  }
  if (options.entropy === "")
    throw new UsageError("--entropy: empty; give some text, or leave it out for random entropy");
}

/**
 * `zkrisk ceremony contribute`: check `--name`, `--entropy`, `--beacon` and `--ptau`, then the artifact directory and
 * the ptau against its manifest, add one contribution to its zkey (and a beacon if asked), verify the result against
 * the r1cs and ptau, and re-export the verification key, the Solidity verifier and the manifest ({@link finalize}).
 * The old verification key and verifier stop matching: the contribution changes delta.
 * @param log receives progress
 */
export async function runContribute(
  options: RunContributeOptions,
  log: SetupLog,
): Promise<RunContributeResult> {
  checkContributeFlags(options);
  checkBeaconFlag(options.beaconHash);
  if (options.ptau !== undefined) checkPtauFlag(options.ptau);
  const loaded = loadArtifacts(options.dir, { modelPath: options.model });
  const { manifest } = loaded;
  let ptauPath = options.ptau;
  if (ptauPath === undefined) {
    if (!manifest.ptau.dev) {
      throw new SetupError(
        `--ptau is required: ${loaded.dir} was set up with ${manifest.ptau.file} (sha256 ${manifest.ptau.sha256})`,
      );
    }
    ptauPath =
      manifest.setup.method === "direct"
        ? join(loaded.dir, manifest.ptau.file)
        : join(options.cacheDir ?? defaultPtauCacheDir(), manifest.ptau.file);
    if (!existsSync(ptauPath)) {
      throw new SetupError(
        `${ptauPath}: the ptau ${loaded.dir} was set up with is missing: give it with --ptau`,
      );
    }
  }
  // Refused before contributing; finalize checks it again.
  checkFileHash(ptauPath, manifest.ptau.sha256, "ptau", join(loaded.dir, MANIFEST_FILE));

  return withWorkDir(loaded.dir, CONTRIBUTE_WORK_PREFIX, async (work) => {
    log.info(`contributing to ${loaded.paths.zkey} as "${options.name}"`);
    const contributed = join(work, "contributed.zkey");
    const contribution = await contribute({
      zkeyIn: loaded.paths.zkey,
      zkeyOut: contributed,
      name: options.name,
      entropy: options.entropy,
      log,
    });
    let zkeyPath = contributed;
    let beacon: CeremonyStep | undefined;
    if (options.beaconHash !== undefined) {
      zkeyPath = join(work, "beacon.zkey");
      beacon = await applyBeacon({
        zkeyIn: contributed,
        zkeyOut: zkeyPath,
        beaconHash: options.beaconHash,
        iterationsExp: options.beaconIterationsExp,
        log,
      });
    }
    const result = await finalize({
      dir: loaded.dir,
      zkeyPath,
      ptauPath: resolve(ptauPath),
      modelPath: loaded.modelPath,
      log,
    });
    return { ...result, contribution, ...(beacon ? { beacon } : {}) };
  });
}

/**
 * The compiled circuit `zkrisk compile --out DIR` writes under DIR/build, that a setup reads: its r1cs and its
 * witness generator (wasm). A directory without them (a compile that never finished, or only a copied circuit.json)
 * is refused naming `--artifacts`, the file and the command that writes it (UsageError).
 */
export function compiledCircuitFiles(dir: string): { r1cs: string; wasm: string } {
  for (const file of Object.values(COMPILED_FILES)) {
    if (!existsSync(join(dir, file))) {
      throw new UsageError(`--artifacts: ${dir} has no ${file}: run \`zkrisk compile --out ${dir}\``);
    }
  }
  return { r1cs: join(dir, COMPILED_FILES.r1cs), wasm: join(dir, COMPILED_FILES.wasm) };
}

/**
 * Direct development setup of an artifact directory made by `compileSignedUpdateModel`/`compileSignedBatchModel` (circom's output in
 * DIR/build), into DIR itself, replacing any keys there. What the demo, the bench and the tests use.
 */
export function setupCompiledDir(dir: string, model: string, log: SetupLog): Promise<RunSetupResult> {
  return runSetup(
    {
      ...compiledCircuitFiles(dir),
      model,
      out: dir,
      name: CIRCUIT_NAME,
      force: true,
    },
    log,
  );
}
