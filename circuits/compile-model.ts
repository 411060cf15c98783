/**
 * Generate and compile the circuit of a quantised model into an artifact directory:
 *   DIR/build/zkrisk.circom (generated source), DIR/build/zkrisk.r1cs, DIR/build/zkrisk_js/zkrisk.wasm,
 *   DIR/build/zkrisk.sym, and DIR/circuit.json (mode, model hash and commitment, sizes, public signals).
 * `zkrisk setup` then turns DIR into a proving artifact directory.
 */
import { existsSync, mkdirSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { installDirectory, writeFileAtomic } from "../core/atomic-file";
import { UsageError, ZkriskError } from "../core/errors";
import { JsonReader, nonEmptyString, preview, readSha256 } from "../core/validate";
import { FIELD_MODULUS } from "../crypto/field";
import { MAX_BATCH_MARKETS } from "../candles/batch-digest";
import { readJsonFile, sha256File, writeJsonAtomic } from "../core/io";
import { withWorkDir } from "../core/work-dir";
import type { AdaptiveRule } from "../models/adaptive";
import { parseAdaptiveRule } from "../models/market-calibrations";
import { loadQuantizedModel, type QuantizedModel } from "../models/quantized-model";
import { readR1csHeader, type R1csHeader } from "./binfile";
import { architectureOf, architectureToJson, parseArchitecture } from "./architecture";
import { compileCircom } from "./circom";
import type { WeightMode } from "./generate-circuit";
import { generateSignedBatchCircuit } from "./generate-signed-batch-circuit";
import { generateUpdateCircuit } from "./generate-update-circuit";
import { batchSignalNames, UPDATE_SIGNALS } from "./public-signals";

/** Name of the main circuit inside an artifact directory. */
export const CIRCUIT_NAME = "zkrisk";
/** The circuit's facts (CircuitInfo) inside an artifact directory. */
export const CIRCUIT_INFO_FILE = "circuit.json";
/** Where circom's output goes inside an artifact directory. */
export const BUILD_SUBDIR = "build";
/**
 * The work directory of a compile inside the artifact directory (`.compile-XXXXXX`): circom writes the new build
 * there, and only a finished one replaces DIR/build. Removed when the compile ends, fails or is stopped
 * (core/work-dir.ts).
 */
export const COMPILE_WORK_PREFIX = ".compile-";
/** circom's output a setup reads, relative to the artifact directory (as circuit.json records them). */
export const COMPILED_FILES = {
  r1cs: `${BUILD_SUBDIR}/${CIRCUIT_NAME}.r1cs`,
  wasm: `${BUILD_SUBDIR}/${CIRCUIT_NAME}_js/${CIRCUIT_NAME}.wasm`,
} as const;

/**
 * The adaptive calibration rule a signed-update circuit proves (issue 12 part 3), as circuit.json and the
 * manifest (`artifacts.json`) record it: the rule's constants and the calibrations file they came from.
 */
export interface AdaptiveCircuitInfo {
  rule: AdaptiveRule;
  /** The calibrations file whose `adaptive` block is the rule (its name and sha256 when compiled). */
  calibrations: { file: string; sha256: string };
}

/** circuit.json: what was compiled, from which model. */
export interface CircuitInfo extends R1csHeader {
  mode: WeightMode;
  /** Signed circuits: the publisher quorum they check (absent for circuits that take features). */
  quorum?: number;
  /** Signed batch circuits: the number of markets per proof. */
  batchSize?: number;
  model: { file: string; sha256: string };
  modelCommitment: string;
  publicSignals: readonly string[];
  r1cs: string;
  wasm: string;
  source: string;
  /** Committed mode: what the circuit fixes (any model that fits it proves with these artifacts). */
  architecture?: unknown;
  /** Signed-update circuits with the adaptive rule: the rule they prove (absent: a plain circuit). */
  adaptive?: AdaptiveCircuitInfo;
}

/** The fields `zkrisk compile` writes into circuit.json (every variant); any other key is refused. */
export const CIRCUIT_INFO_KEYS: readonly string[] = [
  "mode",
  "quorum",
  "batchSize",
  "model",
  "modelCommitment",
  "publicSignals",
  "constraints",
  "wires",
  "outputs",
  "publicInputs",
  "privateInputs",
  "r1cs",
  "wasm",
  "source",
  "architecture",
  "adaptive",
];

/**
 * Write a generated circuit into a work directory's build, compile it at --O2 there, move that build onto
 * `dir`/build and write circuit.json: `head` (mode, batch size or quorum), the model file and commitment, the public
 * signals, the r1cs sizes and the paths, then `tail` (the architecture of a committed circuit). A compile that fails
 * or is stopped leaves `dir`/build as it was.
 */
async function compileGenerated(
  modelPath: string,
  dir: string,
  generated: { source: string; modelCommitment: bigint },
  head: Pick<CircuitInfo, "mode" | "batchSize" | "quorum">,
  publicSignals: readonly string[],
  tail: Pick<CircuitInfo, "architecture" | "adaptive"> = {},
): Promise<CircuitInfo> {
  mkdirSync(dir, { recursive: true });
  return withWorkDir(dir, COMPILE_WORK_PREFIX, async (work) => {
    const outDir = join(work, BUILD_SUBDIR);
    const sourcePath = join(outDir, `${CIRCUIT_NAME}.circom`);
    writeFileAtomic(sourcePath, generated.source);
    const compiled = await compileCircom(sourcePath, outDir, { O: 2 });
    const info: CircuitInfo = {
      ...head,
      model: { file: basename(modelPath), sha256: sha256File(modelPath) },
      modelCommitment: generated.modelCommitment.toString(),
      publicSignals,
      ...readR1csHeader(compiled.r1csPath),
      ...COMPILED_FILES,
      source: `${BUILD_SUBDIR}/${CIRCUIT_NAME}.circom`,
      ...tail,
    };
    installDirectory(outDir, join(dir, BUILD_SUBDIR), join(work, `${BUILD_SUBDIR}.old`));
    writeJsonAtomic(join(dir, CIRCUIT_INFO_FILE), info);
    return info;
  });
}

/** The architecture entry of a committed-weights circuit.json; none in constant mode. */
function architectureEntry(model: QuantizedModel, mode: WeightMode): Pick<CircuitInfo, "architecture"> {
  return mode === "committed" ? { architecture: architectureToJson(architectureOf(model)) } : {};
}

/**
 * Generate, write and compile the signed-update circuit (signatures -> digest -> features -> model -> policy;
 * circuits/generate-update-circuit.ts) for publisher sets of quorum `quorum` into artifact directory `dir`.
 * With `adaptive`, the circuit also proves one step of the adaptive calibration rule (circuits/lib/adaptive.circom)
 * and circuit.json records the rule.
 */
export async function compileSignedUpdateModel(
  modelPath: string,
  dir: string,
  mode: WeightMode,
  quorum: number,
  adaptive?: AdaptiveCircuitInfo,
): Promise<CircuitInfo> {
  const model = loadQuantizedModel(modelPath);
  const generated = await generateUpdateCircuit(
    model,
    mode,
    quorum,
    undefined,
    adaptive === undefined ? {} : { adaptive: adaptive.rule },
  );
  const tail = { ...architectureEntry(model, mode), ...(adaptive === undefined ? {} : { adaptive }) };
  return compileGenerated(modelPath, dir, generated, { mode, quorum }, UPDATE_SIGNALS, tail);
}

/**
 * Generate, write and compile the signed batch circuit (one quorum's signatures of a batch digest -> `n`
 * markets' window digests -> features -> model -> policy; circuits/generate-signed-batch-circuit.ts) for
 * publisher sets of quorum `quorum` into artifact directory `dir`. With `adaptive`, an adaptive batch (every
 * market proves one step of the rule) and circuit.json records the rule.
 */
export async function compileSignedBatchModel(
  modelPath: string,
  dir: string,
  mode: WeightMode,
  n: number,
  quorum: number,
  adaptive?: AdaptiveCircuitInfo,
): Promise<CircuitInfo> {
  const model = loadQuantizedModel(modelPath);
  const generated = await generateSignedBatchCircuit(
    model,
    mode,
    n,
    quorum,
    undefined,
    adaptive === undefined ? {} : { adaptive: adaptive.rule },
  );
  const tail = { ...architectureEntry(model, mode), ...(adaptive === undefined ? {} : { adaptive }) };
  return compileGenerated(
    modelPath,
    dir,
    generated,
    { mode, batchSize: n, quorum },
    batchSignalNames(n, adaptive !== undefined),
    tail,
  );
}

/** An `--artifacts` that exists and is not a directory (a file given by mistake), refused as such. */
export function refuseNonDirectory(dir: string): void {
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    throw new UsageError(
      `--artifacts: '${dir}' is a file, not an artifact directory (\`zkrisk compile --out DIR\`)`,
    );
  }
}

/** circuit.json of an artifact directory made by `zkrisk compile`. */
export function readCircuitInfo(dir: string): CircuitInfo {
  const file = join(dir, CIRCUIT_INFO_FILE);
  refuseNonDirectory(dir);
  if (!existsSync(file))
    throw new UsageError(
      `--artifacts: ${dir} has no circuit.json: run \`zkrisk compile --out ${dir}\` first`,
    );
  return checkCircuitInfo(readJsonFile(file, "ARTIFACTS_INVALID"), file);
}

/**
 * A parsed circuit.json document `doc` from `file` (an artifact directory's, or one given as `--architecture`),
 * checked as {@link parseCircuitInfo} does; errors (code `ARTIFACTS_INVALID`) name the file, the field and the value.
 */
export function checkCircuitInfo(doc: unknown, file: string): CircuitInfo {
  parseCircuitInfo(
    new JsonReader(
      file,
      doc,
      "",
      (f, field, reason) => new ZkriskError("ARTIFACTS_INVALID", `${f}: ${field}: ${reason}`),
    ),
  );
  return doc as CircuitInfo;
}

/**
 * Check a circuit.json document as {@link compileGenerated} writes it: every field `zkrisk compile` writes and no
 * other, each of its type and in its range: `mode` a {@link WeightMode}; `quorum` (signed circuits) and `batchSize`
 * (signed batch circuits, which have a quorum too, at most MAX_BATCH_MARKETS) positive integers; `model` a file
 * name and its sha256; `modelCommitment` a field element in decimal; the r1cs sizes non-negative integers, with
 * one name in `publicSignals` per public signal (outputs + public inputs); the file paths non-empty; `architecture`
 * (committed weights only, and there required) as `parseArchitecture` reads it; `adaptive` a rule and the
 * calibrations file it came from. Errors name the file, the field and the value, through `r`'s error family.
 */
function parseCircuitInfo(r: JsonReader): void {
  r.onlyKeys(CIRCUIT_INFO_KEYS);
  const mode = r.at("mode").literal<WeightMode>("committed", "constant");
  const quorum = r.optional("quorum")?.integer(1);
  const batchSize = r.optional("batchSize");
  if (batchSize !== undefined) {
    batchSize.integer(1, MAX_BATCH_MARKETS);
    if (quorum === undefined)
      batchSize.error("a signed batch circuit records its quorum too, and there is none");
  }
  const model = r.at("model").onlyKeys(["file", "sha256"]);
  nonEmptyString(model.at("file"));
  readSha256(model.at("sha256"));
  const commitment = r.at("modelCommitment");
  if (!/^\d+$/.test(commitment.string()) || BigInt(commitment.string()) >= FIELD_MODULUS) {
    commitment.error(`expected a field element in decimal, got ${preview(commitment.raw())}`);
  }
  const sizes = Object.fromEntries(
    (["constraints", "wires", "outputs", "publicInputs", "privateInputs"] as const).map((k) => [
      k,
      r.at(k).integer(0),
    ]),
  );
  const signals = r.at("publicSignals").items();
  signals.forEach(nonEmptyString);
  if (signals.length !== sizes.outputs + sizes.publicInputs) {
    r.at("publicSignals").error(
      `${signals.length} names, but the circuit has ${sizes.outputs} outputs and ${sizes.publicInputs} public ` +
        "inputs (one name per public signal)",
    );
  }
  for (const key of ["r1cs", "wasm", "source"]) nonEmptyString(r.at(key));
  const architecture = r.optional("architecture");
  if (mode === "committed") parseArchitecture(r.at("architecture"));
  else if (architecture !== undefined)
    architecture.error("only a committed-weights circuit has an architecture");
  const adaptive = r.optional("adaptive");
  if (adaptive !== undefined) {
    if (quorum === undefined)
      adaptive.error("only a signed circuit (with a quorum) proves the adaptive rule");
    adaptive.onlyKeys(["rule", "calibrations"]);
    parseAdaptiveRule(adaptive.at("rule"), 2 ** 32);
    const from = adaptive.at("calibrations").onlyKeys(["file", "sha256"]);
    nonEmptyString(from.at("file"));
    readSha256(from.at("sha256"));
  }
}
