/**
 * Phase 2 of the Groth16 trusted setup (circuit-specific): initial zkey, contributions, a beacon, verification against
 * the r1cs and ptau, and export of the verification key, the Solidity verifier and the artifact manifest.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import {
  ARTIFACT_KINDS,
  checkFileHash,
  MANIFEST_FILE,
  readManifest,
  writeManifest,
  type ArtifactKind,
  type ArtifactManifest,
  type CeremonyStep,
  type CircuitSummary,
} from "./artifacts";
import { copyFileAtomic, installFile, writeFileAtomic, writeFileVia } from "../core/atomic-file";
import { sha256File, writeJsonAtomic } from "../core/io";
import { withWorkDir } from "../core/work-dir";
import { readR1csHeader } from "../circuits/binfile";
import { assertCeremonyExtends, readCeremony } from "./ceremony";
import { SetupError } from "../core/errors";
import { silentLog, snarkjsLogger, type SetupLog } from "./log";
import { checkPtau, isDevPtauFileName, requiredPower } from "./ptau";
import { drawPtauSecrets, writePtauFromSecrets, type DirectPtauProgress } from "./direct-ptau";
import { writeDirectZkey } from "./direct-zkey";
import { FixedBaseMultiplier } from "./fixed-base";
import { GROTH16_SOLIDITY_TEMPLATE, snarkjs, type VerificationKey } from "./snarkjs";

/**
 * The work directories of a setup inside its artifact directory (`.setup-XXXXXX`): intermediate zkeys, and a direct
 * setup's ptau until it is installed. Removed when the setup ends or is stopped; one a killed setup left is removed
 * by the next setup of the directory (core/work-dir.ts).
 */
export const SETUP_WORK_PREFIX = ".setup-";

/** Smallest beacon iteration exponent snarkjs accepts (2^10 hash iterations). */
export const MIN_BEACON_ITERATIONS_EXP = 10;
/** Largest beacon iteration exponent snarkjs accepts. */
export const MAX_BEACON_ITERATIONS_EXP = 63;

/**
 * File names inside an artifact directory for a circuit called `name`.
 * @param dir artifact directory
 * @param name circuit name
 */
export function artifactPaths(dir: string, name: string): Record<ArtifactKind, string> {
  return {
    r1cs: join(dir, `${name}.r1cs`),
    wasm: join(dir, `${name}.wasm`),
    zkey: join(dir, `${name}.zkey`),
    vkey: join(dir, "verification_key.json"),
    verifier: join(dir, "Groth16Verifier.sol"),
  };
}

/**
 * The circuit's sizes from its r1cs header, as recorded in the manifest.
 * @param name circuit name
 * @param r1csPath path of the `.r1cs` file
 */
export function circuitSummary(name: string, r1csPath: string): CircuitSummary {
  const h = readR1csHeader(r1csPath);
  return {
    name,
    constraints: h.constraints,
    publicSignals: h.outputs + h.publicInputs,
    outputs: h.outputs,
    publicInputs: h.publicInputs,
    privateInputs: h.privateInputs,
    wires: h.wires,
    curve: "bn128",
  };
}

function checkName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
    throw new SetupError(
      `circuit name must be letters, digits, "_", "." or "-" (it names files), got "${name}"`,
    );
  }
}

/** Whether `beaconHash` is a beacon hash snarkjs takes: 1 to 255 bytes of hex. */
export function isBeaconHash(beaconHash: string): boolean {
  return /^(?:[0-9a-fA-F]{2}){1,255}$/.test(beaconHash);
}

function checkBeacon(beaconHash: string, iterationsExp: number): void {
  if (!isBeaconHash(beaconHash)) {
    throw new SetupError(`beacon hash must be 1 to 255 bytes of hex, got "${beaconHash}"`);
  }
  if (
    !Number.isInteger(iterationsExp) ||
    iterationsExp < MIN_BEACON_ITERATIONS_EXP ||
    iterationsExp > MAX_BEACON_ITERATIONS_EXP
  ) {
    throw new SetupError(
      `beacon iterations exponent must be an integer in ${MIN_BEACON_ITERATIONS_EXP}..${MAX_BEACON_ITERATIONS_EXP}, ` +
        `got ${iterationsExp}`,
    );
  }
}

/** The longest contributor name snarkjs stores whole (it keeps the first 64 characters, and none of an empty one). */
export const MAX_CONTRIBUTOR_NAME = 64;

/** Whether snarkjs would store `name` as given: 1 to {@link MAX_CONTRIBUTOR_NAME} characters. */
export function isContributorName(name: string): boolean {
  return name.length >= 1 && name.length <= MAX_CONTRIBUTOR_NAME;
}

/** snarkjs stores at most 64 characters of a contribution name (and none when empty): refuse what it would alter. */
function checkContributorName(name: string): void {
  if (!isContributorName(name)) {
    throw new SetupError(
      `contributor name must be 1 to ${MAX_CONTRIBUTOR_NAME} characters, got ${name.length}: "${name}"`,
    );
  }
}

/** Copy `from` to `to` durably and atomically; nothing to do when they are the same file. */
function copyAtomic(from: string, to: string): void {
  if (resolve(from) === resolve(to)) return;
  if (!existsSync(from)) throw new SetupError(`${from}: file not found`);
  copyFileAtomic(from, to);
}

/** Options of {@link contribute}. */
export interface ContributeOptions {
  /** zkey to contribute to. */
  zkeyIn: string;
  /** zkey to write (atomically; may equal `zkeyIn`). */
  zkeyOut: string;
  /** Contributor name recorded in the zkey (snarkjs keeps the first 64 characters). */
  name: string;
  /**
   * Extra entropy mixed with 64 bytes from the OS random generator (default: 32 random bytes). Never empty: snarkjs
   * would then prompt on stdin.
   */
  entropy?: string;
  log?: SetupLog;
}

/**
 * Add one random phase-2 contribution to a zkey (snarkjs `zKey.contribute`). The contribution's secret lives only
 * in this process's memory; the returned hash lets the contributor later find their contribution in the manifest.
 * Does not verify the result and does not re-export anything: follow with {@link finalize}.
 * @returns the ceremony step, with the contribution hash (blake2b-512, hex)
 */
export async function contribute(options: ContributeOptions): Promise<CeremonyStep> {
  checkContributorName(options.name);
  const entropy = options.entropy ?? randomBytes(32).toString("hex");
  if (entropy.length === 0) throw new SetupError("contribution entropy must not be empty");
  const logger = snarkjsLogger(options.log ?? silentLog);
  const hash = await writeFileVia(options.zkeyOut, (tmp) =>
    snarkjs.zKey.contribute(options.zkeyIn, tmp, options.name, entropy, logger),
  );
  return { kind: "contribution", name: options.name, hash: Buffer.from(hash).toString("hex") };
}

/** Options of {@link applyBeacon}. */
export interface BeaconOptions {
  zkeyIn: string;
  zkeyOut: string;
  /** Public randomness fixed after the last contribution (e.g. a future block hash), 1..255 bytes of hex. */
  beaconHash: string;
  /** The beacon is hashed 2^iterationsExp times (10..63; default 10). */
  iterationsExp?: number;
  /** Name recorded in the zkey (default "zkrisk final beacon"). */
  name?: string;
  log?: SetupLog;
}

/**
 * Apply a beacon to a zkey (snarkjs `zKey.beacon`): a deterministic last contribution from public randomness, so no
 * contributor can choose the final delta by going last.
 * @returns the ceremony step, with the contribution hash (blake2b-512, hex)
 */
export async function applyBeacon(options: BeaconOptions): Promise<CeremonyStep> {
  const iterationsExp = options.iterationsExp ?? MIN_BEACON_ITERATIONS_EXP;
  checkBeacon(options.beaconHash, iterationsExp);
  const name = options.name ?? "zkrisk final beacon";
  checkContributorName(name);
  const logger = snarkjsLogger(options.log ?? silentLog);
  const hash = await writeFileVia(options.zkeyOut, async (tmp) => {
    const h = await snarkjs.zKey.beacon(options.zkeyIn, tmp, name, options.beaconHash, iterationsExp, logger);
    if (h === false) throw new SetupError(`${options.zkeyIn}: beacon failed: ${logger.errors.join("; ")}`);
    return h;
  });
  return {
    kind: "beacon",
    name,
    hash: Buffer.from(hash).toString("hex"),
    beaconHash: options.beaconHash.toLowerCase(),
    iterationsExp,
  };
}

/**
 * Check a zkey against its circuit and ptau with snarkjs `zKey.verifyFromR1cs` (rebuilds the initial zkey and
 * checks every contribution; costs about as much as the setup itself). Throws a {@link SetupError} with snarkjs's
 * reason when it does not verify. snarkjs 0.7.6 leaves one handle of the ptau open (`sameRatioH` in
 * src/zkey_verify_frominit.js opens it and never closes it), so Node may warn "Closing file descriptor N on
 * garbage collection" (DEP0137) later in the process; the handle is not reachable from here to close.
 */
export async function verifyZkey(
  r1csPath: string,
  ptauPath: string,
  zkeyPath: string,
  log?: SetupLog,
): Promise<void> {
  const logger = snarkjsLogger(log ?? silentLog);
  const ok = await snarkjs.zKey.verifyFromR1cs(r1csPath, ptauPath, zkeyPath, logger);
  if (!ok) {
    throw new SetupError(
      `${zkeyPath}: zkey does not verify against ${r1csPath} and ${ptauPath}: ` +
        (logger.errors.join("; ") || "snarkjs reported failure"),
    );
  }
}

/** Header inserted in the generated Solidity verifier. */
function generatedNotice(zkeyPath: string, zkeySha256: string): string {
  return [
    "// GENERATED FILE: do not edit. Made by zkrisk setup with snarkjs's Groth16 template from",
    `// ${basename(zkeyPath)} (sha256 ${zkeySha256}); re-run the setup to regenerate it.`,
  ].join("\n");
}

/**
 * Export the verification key (JSON) and the Solidity Groth16 verifier of a zkey, each written atomically. The
 * verifier is snarkjs's `templates/verifier_groth16.sol.ejs` rendered by `zKey.exportSolidityVerifier` (contract
 * `Groth16Verifier`, `verifyProof(uint[2], uint[2][2], uint[2], uint[nPublic])`), with a generated-file notice.
 * @returns the verification key
 */
export async function exportVerifier(
  zkeyPath: string,
  vkeyPath: string,
  verifierPath: string,
  log?: SetupLog,
): Promise<VerificationKey> {
  const logger = snarkjsLogger(log ?? silentLog);
  const vkey = await snarkjs.zKey.exportVerificationKey(zkeyPath, logger);
  const template = readFileSync(GROTH16_SOLIDITY_TEMPLATE, "utf8");
  const solidity = await snarkjs.zKey.exportSolidityVerifier(zkeyPath, { groth16: template }, logger);
  const notice = generatedNotice(zkeyPath, sha256File(zkeyPath));
  const [first, ...rest] = solidity.split("\n");
  // Keep the SPDX line first, as solc expects.
  const withNotice = first!.startsWith("// SPDX")
    ? [first, notice, ...rest].join("\n")
    : `${notice}\n${solidity}`;
  writeJsonAtomic(vkeyPath, vkey);
  writeFileAtomic(verifierPath, withNotice);
  return vkey;
}

/** Options of {@link setupCircuit}. */
export interface SetupCircuitOptions {
  /** Circuit name: the stem of the artifact files (`{name}.r1cs`, `{name}.wasm`, `{name}.zkey`). */
  name: string;
  /** Compiled circuit (`circom --r1cs`); copied into `outDir`. */
  r1csPath: string;
  /** Witness generator (`circom --wasm`, the `.wasm` in `{name}_js/`); copied into `outDir`. */
  wasmPath: string;
  /** Model file the circuit was generated from; hashed into the manifest (not copied). */
  modelPath: string;
  /** Phase-1 file, prepared for phase 2, of at least {@link requiredPower} (checked, not verified: see `checkPtau`). */
  ptauPath: string;
  /** Whether the ptau is an INSECURE development one (default: judged by its name `dev-pot{power}.ptau`). */
  ptauDev?: boolean;
  /** Artifact directory (created if missing). */
  outDir: string;
  /** Name of the initial contribution (default "zkrisk setup"). */
  contributor?: string;
  /** Entropy of the initial contribution (default: 32 random bytes; snarkjs adds 64 OS random bytes). */
  entropy?: string;
  /**
   * Beacon applied after the contribution, 1..255 bytes hex. For a real ceremony use public randomness fixed in
   * advance (a future block hash). Default: 32 random bytes, which is only as good as the contribution.
   */
  beaconHash?: string;
  /** Beacon hash iterations 2^n (default 10). */
  beaconIterationsExp?: number;
  log?: SetupLog;
}

/** An artifact directory after setup or finalize. */
export interface SetupResult {
  /** Absolute artifact directory. */
  dir: string;
  /** Absolute path of every artifact. */
  paths: Record<ArtifactKind, string>;
  /** Path of `artifacts.json`. */
  manifestPath: string;
  manifest: ArtifactManifest;
  vkey: VerificationKey;
}

/**
 * Phase 2 for one circuit, end to end: `newZKey` from the r1cs and ptau, one random contribution, a beacon,
 * `verifyFromR1cs` of the final zkey (refused with a {@link SetupError} if it fails), export of
 * `verification_key.json` and `Groth16Verifier.sol`, and `artifacts.json` with the sha256 of every file. Intermediate
 * zkeys live in a work directory inside `outDir` ({@link SETUP_WORK_PREFIX}) and are removed. Measured on 2 cores:
 * 1,000 constraints (power 10) about 2 s, 4,000 constraints (power 12) about 8 s (verification included).
 */
export async function setupCircuit(options: SetupCircuitOptions): Promise<SetupResult> {
  const log = options.log ?? silentLog;
  checkName(options.name);
  const circuit = circuitSummary(options.name, options.r1csPath);
  const power = requiredPower(circuit.constraints, circuit.publicSignals);
  const ptau = await checkPtau(options.ptauPath, power);
  const dev = options.ptauDev ?? isDevPtauFileName(options.ptauPath);
  if (dev) log.warn(`setting up ${options.name} with an INSECURE development ptau: for local use only`);
  const beaconHash = options.beaconHash ?? randomBytes(32).toString("hex");
  const iterationsExp = options.beaconIterationsExp ?? MIN_BEACON_ITERATIONS_EXP;
  checkBeacon(beaconHash, iterationsExp);
  if (options.beaconHash === undefined)
    log.info("no beacon hash given: using random bytes (fine for development)");

  const dir = resolve(options.outDir);
  mkdirSync(dir, { recursive: true });
  const paths = artifactPaths(dir, options.name);
  copyAtomic(options.r1csPath, paths.r1cs);
  copyAtomic(options.wasmPath, paths.wasm);

  await withWorkDir(dir, SETUP_WORK_PREFIX, async (work) => {
    log.info(
      `phase 2 for ${options.name}: ${circuit.constraints} constraints, ${circuit.publicSignals} public signals, ` +
        `power ${power} (ptau power ${ptau.power})`,
    );
    const logger = snarkjsLogger(log);
    const initial = join(work, "0000.zkey");
    const created = await snarkjs.zKey.newZKey(paths.r1cs, ptau.path, initial, logger);
    if (created === -1) throw new SetupError(`${paths.r1cs}: newZKey failed: ${logger.errors.join("; ")}`);
    log.info("phase 2: contribution");
    const contributed = join(work, "0001.zkey");
    await contribute({
      zkeyIn: initial,
      zkeyOut: contributed,
      name: options.contributor ?? "zkrisk setup",
      entropy: options.entropy,
      log,
    });
    log.info("phase 2: beacon");
    const final = join(work, "final.zkey");
    await applyBeacon({ zkeyIn: contributed, zkeyOut: final, beaconHash, iterationsExp, log });
    log.info("phase 2: verifying the final zkey against the r1cs and ptau");
    await verifyZkey(paths.r1cs, ptau.path, final, log);
    installFile(final, paths.zkey);
  });
  return publish(dir, paths, {
    circuit,
    setup: { method: "ceremony", insecure: dev },
    ptau: { file: basename(ptau.path), power: ptau.power, sha256: ptau.sha256, dev },
    modelPath: options.modelPath,
    log,
  });
}

/** Options of {@link devSetupCircuit}. */
export interface DevSetupCircuitOptions {
  /** Circuit name: the stem of the artifact files. */
  name: string;
  /** Compiled circuit; copied into `outDir`. */
  r1csPath: string;
  /** Witness generator; copied into `outDir`. */
  wasmPath: string;
  /** Model file the circuit was generated from; hashed into the manifest. */
  modelPath: string;
  /** Artifact directory (created if missing). */
  outDir: string;
  /** Worker threads for the curve arithmetic (default: available parallelism). */
  threads?: number;
  /** Progress of writing the ptau (the longer half of the work). */
  onProgress?: (progress: DirectPtauProgress) => void;
  log?: SetupLog;
}

/** File name of a direct setup's ptau inside its artifact directory. */
export function devSetupPtauFileName(name: string, power: number): string {
  return `${name}.dev-pot${power}.ptau`;
}

/**
 * An INSECURE development setup of one circuit, computed directly (direct-ptau.ts, direct-zkey.ts): draw tau, alpha,
 * beta and delta from the OS CSPRNG, write a ptau of exactly the power the circuit needs and the circuit's zkey with
 * one contribution, drop the secrets, export the verification key and the Solidity verifier, and write the manifest
 * (`setup.method` "direct", `setup.insecure` true). The ptau stays in the artifact directory, so `snarkjs zkey verify`
 * and later contributions (`zkrisk ceremony contribute`) can check the zkey against it.
 * Measured here (2 cores): about 5 s at power 11; see docs/benchmarks.md for powers 15 and 16.
 */
export async function devSetupCircuit(
  options: DevSetupCircuitOptions,
): Promise<SetupResult & { timings: { ptauMs: number; zkeyMs: number } }> {
  const log = options.log ?? silentLog;
  checkName(options.name);
  const circuit = circuitSummary(options.name, options.r1csPath);
  const power = requiredPower(circuit.constraints, circuit.publicSignals);
  log.warn(
    `setting up ${options.name} with an INSECURE development setup (power ${power}): this process draws the ` +
      "secrets, so whoever could read its memory could forge proofs; for local use and tests only",
  );
  const dir = resolve(options.outDir);
  mkdirSync(dir, { recursive: true });
  const paths = artifactPaths(dir, options.name);
  copyAtomic(options.r1csPath, paths.r1cs);
  copyAtomic(options.wasmPath, paths.wasm);
  const ptauPath = join(dir, devSetupPtauFileName(options.name, power));

  const n = 2 ** power;
  const timings = { ptauMs: 0, zkeyMs: 0 };
  await withWorkDir(dir, SETUP_WORK_PREFIX, async (work) => {
    const pool = new FixedBaseMultiplier({
      threads: options.threads,
      // The ptau's 12n G1 and 3n G2 points, then the zkey's (about 4 per wire and 2n in G1, 1 per wire in G2).
      expected: { g1: 14 * n + 4 * circuit.wires, g2: 3 * n + circuit.wires },
    });
    try {
      const secrets = drawPtauSecrets(power);
      log.info(`development ptau of power ${power}: ${12 * n} G1 and ${3 * n} G2 points`);
      const t0 = performance.now();
      await writePtauFromSecrets(join(work, "dev.ptau"), power, secrets, pool, options.onProgress);
      timings.ptauMs = performance.now() - t0;
      log.info(`development zkey: ${circuit.constraints} constraints, ${circuit.wires} wires`);
      await writeDirectZkey({
        r1csPath: paths.r1cs,
        zkeyPath: join(work, "dev.zkey"),
        ptau: { path: join(work, "dev.ptau"), power, secrets },
        pool,
      });
      timings.zkeyMs = performance.now() - t0 - timings.ptauMs;
      installFile(join(work, "dev.ptau"), ptauPath);
      installFile(join(work, "dev.zkey"), paths.zkey);
    } finally {
      await pool.close();
    }
  });
  const result = await publish(dir, paths, {
    circuit,
    setup: { method: "direct", insecure: true },
    ptau: { file: basename(ptauPath), power, sha256: sha256File(ptauPath), dev: true },
    modelPath: options.modelPath,
    log,
  });
  return { ...result, timings };
}

/** Export vkey and verifier from the installed zkey, then write the manifest (last). */
async function publish(
  dir: string,
  paths: Record<ArtifactKind, string>,
  spec: {
    circuit: CircuitSummary;
    setup: ArtifactManifest["setup"];
    ptau: ArtifactManifest["ptau"];
    modelPath: string;
    log: SetupLog;
  },
): Promise<SetupResult> {
  const vkey = await exportVerifier(paths.zkey, paths.vkey, paths.verifier, spec.log);
  if (vkey.nPublic !== spec.circuit.publicSignals) {
    throw new SetupError(
      `${paths.vkey}: verification key has ${vkey.nPublic} public signals, the r1cs ${spec.circuit.publicSignals}`,
    );
  }
  const manifest = writeManifest(dir, {
    circuit: spec.circuit,
    setup: spec.setup,
    ptau: spec.ptau,
    ceremony: await readCeremony(paths.zkey),
    files: paths,
    modelPath: spec.modelPath,
  });
  spec.log.info(`wrote ${join(dir, MANIFEST_FILE)}`);
  return { dir, paths, manifestPath: join(dir, MANIFEST_FILE), manifest, vkey };
}

/** Options of {@link finalize}. */
export interface FinalizeOptions {
  /** Artifact directory holding `artifacts.json`. */
  dir: string;
  /** The new zkey (e.g. after {@link contribute}, or a file another party made with snarkjs). Copied into `dir`. */
  zkeyPath: string;
  /** The ptau the setup used; its sha256 must equal the manifest's. */
  ptauPath: string;
  /** Model file (default: the path recorded in the manifest); its sha256 must equal the manifest's. */
  modelPath?: string;
  log?: SetupLog;
}

/**
 * Install a new zkey into an artifact directory and re-export everything derived from it. Checks, in order: the
 * r1cs, wasm, ptau and model still match the manifest; the new zkey verifies against the r1cs and ptau
 * (`verifyFromR1cs`); its ceremony extends the current zkey's (same circuit hash, every earlier contribution kept).
 * Then replaces the zkey and re-exports `verification_key.json`, `Groth16Verifier.sol` and `artifacts.json`. A failed
 * check throws a {@link SetupError} and leaves the directory as it was; the manifest is written last, so a directory
 * left half re-exported by a crash is refused by `loadArtifacts` until `finalize` is run again.
 */
export async function finalize(options: FinalizeOptions): Promise<SetupResult> {
  const log = options.log ?? silentLog;
  const dir = resolve(options.dir);
  const manifestFile = join(dir, MANIFEST_FILE);
  const manifest = readManifest(dir);
  const paths = Object.fromEntries(
    ARTIFACT_KINDS.map((k) => [k, join(dir, manifest.files[k].path)]),
  ) as Record<ArtifactKind, string>;
  for (const k of ["r1cs", "wasm"] as const)
    checkFileHash(paths[k], manifest.files[k].sha256, k, manifestFile);
  checkFileHash(options.ptauPath, manifest.ptau.sha256, "ptau", manifestFile);
  const modelPath = resolve(options.modelPath ?? join(dir, manifest.model.path));
  checkFileHash(modelPath, manifest.model.sha256, "model", manifestFile);

  log.info(`verifying ${options.zkeyPath} against the r1cs and ptau`);
  await verifyZkey(paths.r1cs, options.ptauPath, options.zkeyPath, log);
  assertCeremonyExtends(manifest.ceremony, await readCeremony(options.zkeyPath), options.zkeyPath);
  copyAtomic(options.zkeyPath, paths.zkey);
  return publish(dir, paths, {
    circuit: manifest.circuit,
    setup: manifest.setup,
    ptau: manifest.ptau,
    modelPath,
    log,
  });
}
