/**
 * The artifact manifest (`artifacts.json`): which r1cs, wasm, zkey, verification key, Solidity verifier and model file
 * belong together, with the sha256 of each, so a stale or tampered file is refused before it is used.
 */
import { existsSync, statSync } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";
import { architectureFromJson, architectureMismatches } from "../circuits/architecture";
import {
  CIRCUIT_INFO_FILE,
  refuseNonDirectory,
  type AdaptiveCircuitInfo,
  type CircuitInfo,
} from "../circuits/compile-model";
import { readJsonFile, sha256File, writeJsonAtomic } from "../core/io";
import { entryKind, inFileOption } from "../core/paths";
import { JsonReader, nonEmptyString, preview } from "../core/validate";
import { parseAdaptiveRule } from "../models/market-calibrations";
import { loadQuantizedModel } from "../models/quantized-model";
import { SetupError } from "../core/errors";

/** File name of the manifest inside an artifact directory. */
export const MANIFEST_FILE = "artifacts.json";
/** Version of the manifest format; bumped on incompatible changes (2: the `setup` record). */
export const MANIFEST_VERSION = 2;

/** The files an artifact directory holds, by role. */
export const ARTIFACT_KINDS = ["r1cs", "wasm", "zkey", "vkey", "verifier"] as const;
/** Role of a file in an artifact directory. */
export type ArtifactKind = (typeof ARTIFACT_KINDS)[number];

/** One hashed file. */
export interface HashedFile {
  /** Path relative to the artifact directory. */
  path: string;
  /** sha256 of the file's bytes, lowercase hex. */
  sha256: string;
  /** Size in bytes. */
  bytes: number;
}

/** The circuit's sizes, from its r1cs header. */
export interface CircuitSummary {
  /** Circuit name (file stem of the artifacts). */
  name: string;
  /** Number of r1cs constraints. */
  constraints: number;
  /** Public signals in the proof: outputs then public inputs (`nOutputs + nPubInputs`). */
  publicSignals: number;
  /** Public outputs. */
  outputs: number;
  /** Public inputs. */
  publicInputs: number;
  /** Private inputs. */
  privateInputs: number;
  /** Wires, including the constant one. */
  wires: number;
  /** Curve of the proof system (always bn128). */
  curve: "bn128";
}

/** The phase-1 file the zkey was made from. */
export interface PtauSummary {
  /**
   * File name, without a directory: a public or cached ptau lives outside the artifact directory; the ptau of a
   * `direct` setup lives inside it.
   */
  file: string;
  /** Power of the file (log2 of the largest domain it supports). */
  power: number;
  /** sha256 of the file, lowercase hex. */
  sha256: string;
  /** Whether it is an INSECURE local development ptau (see `devPtau`). */
  dev: boolean;
}

/** How the proving key was made, and whether it can be trusted. */
export interface SetupSummary {
  /**
   * `ceremony`: snarkjs's phase 2 (new zkey, contributions, beacon, verification) on a ptau; `direct`: a development
   * setup whose ptau and keys were computed from secrets one process drew and discarded.
   */
  method: "ceremony" | "direct";
  /**
   * INSECURE: one party could have known the secrets (a `direct` setup, or a ceremony on a development ptau) and so
   * could forge proofs. Such artifacts must never back a verifier on a public chain: `deploy` refuses them on any
   * chain but a local one (chain id 31337) unless told otherwise.
   */
  insecure: boolean;
}

/** One step of the phase-2 ceremony, in order. */
export interface CeremonyStep {
  /** A random contribution, or a beacon (public randomness, applied with 2^iterationsExp hash iterations). */
  kind: "contribution" | "beacon";
  /** Name the contributor gave (absent when none was given; snarkjs keeps at most 64 characters). */
  name?: string;
  /** snarkjs contribution hash (blake2b-512), lowercase hex; compare with `snarkjs zkey verify` output. */
  hash: string;
  /** Beacon value, hex (beacons only). */
  beaconHash?: string;
  /** log2 of the beacon's hash iterations (beacons only). */
  iterationsExp?: number;
}

/** The phase-2 ceremony, read from the zkey itself (so it also lists contributions made with other tools). */
export interface CeremonySummary {
  /** snarkjs circuit hash (blake2b-512 of the initial zkey), lowercase hex; the same for every zkey of the circuit. */
  circuitHash: string;
  /** Every contribution and beacon in the zkey, oldest first. */
  steps: CeremonyStep[];
}

/** Contents of `artifacts.json`. */
export interface ArtifactManifest {
  version: typeof MANIFEST_VERSION;
  circuit: CircuitSummary;
  setup: SetupSummary;
  ptau: PtauSummary;
  ceremony: CeremonySummary;
  files: Record<ArtifactKind, HashedFile>;
  /** The model file the circuit was generated from; path relative to the artifact directory. */
  model: { path: string; sha256: string };
  /**
   * A signed-update circuit with the adaptive calibration rule: the rule it proves and the calibrations file it
   * came from (copied from circuit.json at setup; absent for every other circuit).
   */
  adaptive?: AdaptiveCircuitInfo;
}

/** What {@link writeManifest} needs; file paths absolute or relative to the current directory. */
export interface ManifestSpec {
  circuit: CircuitSummary;
  setup: SetupSummary;
  ptau: PtauSummary;
  ceremony: CeremonySummary;
  files: Record<ArtifactKind, string>;
  modelPath: string;
}

/** The adaptive rule the circuit.json of `dir` records (`zkrisk compile --adaptive`), if any. */
export function circuitInfoAdaptive(dir: string): AdaptiveCircuitInfo | undefined {
  const file = join(dir, CIRCUIT_INFO_FILE);
  if (!existsSync(file)) return undefined;
  const doc = readJsonFile(file, "SETUP_INVALID") as Record<string, unknown>;
  return doc.adaptive === undefined ? undefined : parseAdaptiveEntry(doc.adaptive, file);
}

const setupError = (file: string, field: string, reason: string) =>
  new SetupError(`${file}: ${field}: ${reason}`);

/** An `adaptive` entry of circuit.json or of the manifest, checked (errors name the file and the field). */
function parseAdaptiveEntry(value: unknown, file: string): AdaptiveCircuitInfo {
  const r = new JsonReader(file, value, "adaptive", setupError).onlyKeys(["rule", "calibrations"]);
  const c = r.at("calibrations").onlyKeys(["file", "sha256"]);
  const sha256 = c.at("sha256").string();
  if (!isSha(sha256)) c.at("sha256").error("expected 64 lowercase hex digits");
  return {
    rule: parseAdaptiveRule(r.at("rule"), 2 ** 32),
    calibrations: { file: c.at("file").string(), sha256 },
  };
}

function hashed(dir: string, file: string): HashedFile {
  return { path: relative(dir, resolve(file)), sha256: sha256File(file), bytes: statSync(file).size };
}

/**
 * Hash every file of `spec` and write `{dir}/artifacts.json` atomically. Write it last, after every file it names.
 * The adaptive rule a circuit.json in `dir` records (`zkrisk compile --adaptive`) is recorded with it.
 * @param dir artifact directory
 * @returns the manifest written
 */
export function writeManifest(dir: string, spec: ManifestSpec): ArtifactManifest {
  const root = resolve(dir);
  const files = Object.fromEntries(ARTIFACT_KINDS.map((k) => [k, hashed(root, spec.files[k])])) as Record<
    ArtifactKind,
    HashedFile
  >;
  const manifest: ArtifactManifest = {
    version: MANIFEST_VERSION,
    circuit: spec.circuit,
    setup: spec.setup,
    ptau: spec.ptau,
    ceremony: spec.ceremony,
    files,
    model: { path: relative(root, resolve(spec.modelPath)), sha256: sha256File(spec.modelPath) },
  };
  const adaptive = circuitInfoAdaptive(root);
  if (adaptive !== undefined) manifest.adaptive = adaptive;
  writeJsonAtomic(join(root, MANIFEST_FILE), manifest);
  return manifest;
}

const isHex = (v: unknown): v is string => typeof v === "string" && /^[0-9a-f]+$/.test(v);
const isSha = (v: unknown): v is string => isHex(v) && v.length === 64;

/** The keys of each object of a manifest: every other key is refused (a misspelt field must not pass unnoticed). */
const MANIFEST_KEYS = ["version", "circuit", "setup", "ptau", "ceremony", "files", "model", "adaptive"];
const CIRCUIT_KEYS = [
  "name",
  "constraints",
  "publicSignals",
  "outputs",
  "publicInputs",
  "privateInputs",
  "wires",
  "curve",
];
const CONTRIBUTION_KEYS = ["kind", "name", "hash"];
const BEACON_KEYS = [...CONTRIBUTION_KEYS, "beaconHash", "iterationsExp"];

/** A non-negative integer (a count, a size, a power). */
const count = (r: JsonReader): number => r.integer(0);

/** Lowercase hex digits, at least one. */
function hex(r: JsonReader): string {
  const v = r.string();
  if (!isHex(v)) r.error(`expected lowercase hex digits, got ${preview(v)}`);
  return v;
}

/** A sha256, 64 lowercase hex digits. */
function sha(r: JsonReader): string {
  const v = r.string();
  if (!isSha(v)) r.error(`expected a sha256 (64 lowercase hex digits), got ${preview(v)}`);
  return v;
}

function parseHashed(r: JsonReader): HashedFile {
  r.onlyKeys(["path", "sha256", "bytes"]);
  return { path: nonEmptyString(r.at("path")), sha256: sha(r.at("sha256")), bytes: count(r.at("bytes")) };
}

function parseStep(r: JsonReader): CeremonyStep {
  const kind = r.at("kind").literal("contribution", "beacon");
  r.onlyKeys(kind === "beacon" ? BEACON_KEYS : CONTRIBUTION_KEYS);
  const step: CeremonyStep = { kind, hash: hex(r.at("hash")) };
  const name = r.optional("name");
  if (name !== undefined) step.name = nonEmptyString(name);
  if (kind === "beacon") {
    step.beaconHash = hex(r.at("beaconHash"));
    step.iterationsExp = count(r.at("iterationsExp"));
  }
  return step;
}

/**
 * Parse and validate a manifest document; errors name the file and the field. Every object is closed: a key
 * {@link writeManifest} does not write (at any level) is refused.
 * @param value parsed JSON
 * @param file where it came from (for messages)
 */
export function parseManifest(value: unknown, file: string): ArtifactManifest {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new SetupError(`${file}: manifest must be a JSON object`);
  }
  const version = (value as Record<string, unknown>).version;
  if (version !== MANIFEST_VERSION) {
    throw new SetupError(
      `${file}: manifest version ${JSON.stringify(version)}, expected ${MANIFEST_VERSION}`,
    );
  }
  const r = new JsonReader(file, value, "", setupError).onlyKeys(MANIFEST_KEYS);
  const c = r.at("circuit").onlyKeys(CIRCUIT_KEYS);
  const circuit: CircuitSummary = {
    name: nonEmptyString(c.at("name")),
    constraints: count(c.at("constraints")),
    publicSignals: count(c.at("publicSignals")),
    outputs: count(c.at("outputs")),
    publicInputs: count(c.at("publicInputs")),
    privateInputs: count(c.at("privateInputs")),
    wires: count(c.at("wires")),
    curve: c.at("curve").literal("bn128"),
  };
  const st = r.at("setup").onlyKeys(["method", "insecure"]);
  const setup: SetupSummary = {
    method: st.at("method").literal("ceremony", "direct"),
    insecure: st.at("insecure").boolean(),
  };
  const p = r.at("ptau").onlyKeys(["file", "power", "sha256", "dev"]);
  const ptau: PtauSummary = {
    file: nonEmptyString(p.at("file")),
    power: count(p.at("power")),
    sha256: sha(p.at("sha256")),
    dev: p.at("dev").boolean(),
  };
  const cer = r.at("ceremony").onlyKeys(["circuitHash", "steps"]);
  const ceremony: CeremonySummary = {
    circuitHash: hex(cer.at("circuitHash")),
    steps: cer.at("steps").items().map(parseStep),
  };
  const f = r.at("files").onlyKeys(ARTIFACT_KINDS);
  const files = Object.fromEntries(ARTIFACT_KINDS.map((k) => [k, parseHashed(f.at(k))])) as Record<
    ArtifactKind,
    HashedFile
  >;
  const m = r.at("model").onlyKeys(["path", "sha256"]);
  const model = { path: nonEmptyString(m.at("path")), sha256: sha(m.at("sha256")) };
  const manifest: ArtifactManifest = {
    version: MANIFEST_VERSION,
    circuit,
    setup,
    ptau,
    ceremony,
    files,
    model,
  };
  const adaptive = r.optional("adaptive");
  if (adaptive !== undefined) manifest.adaptive = parseAdaptiveEntry(adaptive.raw(), file);
  return manifest;
}

/**
 * Read `{dir}/artifacts.json` without checking any file against it (use {@link loadArtifacts} before using files).
 * @param dir artifact directory
 */
export function readManifest(dir: string): ArtifactManifest {
  const file = join(dir, MANIFEST_FILE);
  refuseNonDirectory(dir);
  if (!existsSync(file)) {
    throw new SetupError(
      `${file}: no artifact manifest; run \`zkrisk setup\` to create the artifact directory`,
    );
  }
  return parseManifest(readJsonFile(file, "SETUP_INVALID"), file);
}

/** Refuse `file` unless it exists and its sha256 is `expected`. The message names the file and both hashes. */
export function checkFileHash(file: string, expected: string, what: string, manifestFile: string): void {
  if (!existsSync(file)) throw new SetupError(`${file}: ${what} listed in ${manifestFile} is missing`);
  const actual = sha256File(file);
  if (actual !== expected) {
    throw new SetupError(
      `${file}: ${what} sha256 ${actual} does not match ${expected} recorded in ${manifestFile}; ` +
        `the file changed since setup (re-run \`zkrisk setup\`, or restore the file)`,
    );
  }
}

/**
 * A verified artifact directory without its model (`loadArtifacts(dir, { model: "not needed" })`): the manifest and
 * the absolute path of every circuit file it names, each checked against the manifest's sha256.
 */
export interface CheckedArtifacts {
  dir: string;
  manifest: ArtifactManifest;
  paths: Record<ArtifactKind, string>;
}

/** A verified artifact directory: the manifest, the absolute path of every file it names, and the model checked. */
export interface LoadedArtifacts extends CheckedArtifacts {
  /** Absolute path of the model file that was checked. */
  modelPath: string;
  /**
   * How the model was accepted: `recorded`, it is the model file the manifest records (byte for byte);
   * `architecture`, another model that fits the committed-weights circuit's architecture (circuit.json).
   */
  modelMatch: "recorded" | "architecture";
}

/** Options of {@link loadArtifacts}. */
export interface LoadArtifactsOptions {
  /**
   * Model file to prove with (default: the path recorded in the manifest). With a committed-weights circuit,
   * any quantised model that fits its architecture (e.g. a market's own calibration, `zkrisk market-model`);
   * with a constant-weights circuit, only the recorded model. It is the command's `--model`: a missing file or a
   * directory is refused naming that option (UsageError).
   */
  modelPath?: string;
  /**
   * What to tell the user when the manifest's model file is missing and no `modelPath` was given (default: to
   * pass the model's path, for commands with a `--model` option; a command without one says what else to do).
   */
  missingModelHint?: string;
  /**
   * `not needed`: skip the model file (a command that only verifies proofs or deploys the verifier reads the
   * verification key and the manifest, not the model, which a copied or moved directory may not have beside it at
   * its recorded relative path). Every circuit file is still checked against the manifest. Default `needed`.
   */
  model?: "needed" | "not needed";
}

/**
 * Accept a model file other than the recorded one only for a committed-weights circuit whose architecture it
 * fits: the circuit takes the weights, biases and calibration as private inputs and proves the model
 * commitment, so no new setup is needed. A constant-weights circuit has its model compiled in.
 */
function checkOtherModel(root: string, modelPath: string, manifest: ArtifactManifest, manifestFile: string) {
  const infoFile = join(root, CIRCUIT_INFO_FILE);
  // No circuit facts (a directory not made by `zkrisk compile`): only the recorded model, as for any file.
  if (!existsSync(infoFile)) checkFileHash(modelPath, manifest.model.sha256, "model", manifestFile);
  const mismatch =
    `${modelPath}: model sha256 ${sha256File(modelPath)} does not match ${manifest.model.sha256} ` +
    `(${manifest.model.path}) recorded in ${manifestFile}`;
  const info = readJsonFile(infoFile, "SETUP_INVALID") as Partial<CircuitInfo>;
  if (info.mode !== "committed") {
    throw new SetupError(
      `${mismatch}; the circuit has ${String(info.mode)} weights (${infoFile}): its model is compiled in, so ` +
        "it proves only that model. To prove models of one architecture (e.g. per-market calibrations) with " +
        "one setup, compile with --weights committed",
    );
  }
  if (info.model?.sha256 !== manifest.model.sha256) {
    throw new SetupError(
      `${infoFile}: model.sha256 ${String(info.model?.sha256)} is not the one recorded in ${manifestFile} ` +
        `(${manifest.model.sha256}): the file belongs to another circuit`,
    );
  }
  if (info.architecture === undefined) {
    throw new SetupError(`${infoFile}: a committed-weights circuit without its architecture`);
  }
  const problems = architectureMismatches(
    loadQuantizedModel(modelPath),
    architectureFromJson(info.architecture, infoFile),
  );
  if (problems.length > 0) {
    throw new SetupError(
      `${mismatch}, and it does not fit the committed-weights circuit's architecture (${infoFile}): ` +
        problems.join("; "),
    );
  }
}

/**
 * The circuit.json of a directory (when there is one) must record the adaptive rule the manifest records, or
 * neither: a directory whose circuit.json was replaced after setup (another rule, or a plain circuit's) is refused.
 */
function checkAdaptiveRecord(root: string, manifest: ArtifactManifest, manifestFile: string): void {
  if (!existsSync(join(root, CIRCUIT_INFO_FILE))) return;
  const info = circuitInfoAdaptive(root);
  const describe = (a: AdaptiveCircuitInfo | undefined) =>
    a === undefined
      ? "no adaptive rule"
      : `the adaptive rule of ${a.calibrations.file} (${JSON.stringify(a.rule)})`;
  if (JSON.stringify(info) !== JSON.stringify(manifest.adaptive)) {
    throw new SetupError(
      `${join(root, CIRCUIT_INFO_FILE)}: records ${describe(info)}, ${manifestFile} ${describe(manifest.adaptive)}; ` +
        "the circuit.json belongs to another circuit (re-run `zkrisk compile` and `zkrisk setup`)",
    );
  }
}

/**
 * Read the manifest of an artifact directory and re-hash every file it names (r1cs, wasm, zkey, verification key,
 * Solidity verifier, model). Throws a {@link SetupError} naming the file and both hashes for the first mismatch.
 * A model file other than the recorded one is accepted only for a committed-weights circuit whose architecture
 * it fits (see {@link LoadArtifactsOptions.modelPath}).
 * With `model: "not needed"` the model file is not looked at (see {@link LoadArtifactsOptions.model}).
 * Hashing reads every file in full (the zkey dominates: tens of MB for a circuit of 2^15 constraints).
 * @param dir artifact directory
 */
export function loadArtifacts(dir: string, options: { model: "not needed" }): CheckedArtifacts;
export function loadArtifacts(
  dir: string,
  options?: LoadArtifactsOptions & { model?: "needed" },
): LoadedArtifacts;
export function loadArtifacts(
  dir: string,
  options: LoadArtifactsOptions = {},
): CheckedArtifacts | LoadedArtifacts {
  const root = resolve(dir);
  const manifest = readManifest(root);
  const manifestFile = join(root, MANIFEST_FILE);
  const at = (p: string) => (isAbsolute(p) ? p : join(root, p));
  const paths = Object.fromEntries(ARTIFACT_KINDS.map((k) => [k, at(manifest.files[k].path)])) as Record<
    ArtifactKind,
    string
  >;
  for (const k of ARTIFACT_KINDS) checkFileHash(paths[k], manifest.files[k].sha256, k, manifestFile);
  checkAdaptiveRecord(root, manifest, manifestFile);
  if (options.model === "not needed") return { dir: root, manifest, paths };
  // A model given by path is the command's --model: a missing file or a directory is refused as that option.
  if (options.modelPath !== undefined) inFileOption("--model", options.modelPath);
  const modelPath = resolve(options.modelPath ?? at(manifest.model.path));
  const kind = entryKind(modelPath);
  if (options.modelPath === undefined && kind !== "file") {
    throw new SetupError(
      `${modelPath}: model file listed in ${manifestFile} ` +
        (kind === undefined
          ? `is missing (${options.missingModelHint ?? "pass the model's path explicitly"})`
          : "is not a regular file"),
    );
  }
  if (sha256File(modelPath) === manifest.model.sha256) {
    return { dir: root, manifest, paths, modelPath, modelMatch: "recorded" };
  }
  // The recorded path itself changed: refused as any changed file is.
  if (options.modelPath === undefined) checkFileHash(modelPath, manifest.model.sha256, "model", manifestFile);
  checkOtherModel(root, modelPath, manifest, manifestFile);
  return { dir: root, manifest, paths, modelPath, modelMatch: "architecture" };
}
