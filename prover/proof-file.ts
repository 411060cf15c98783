/**
 * The proof file (`zkrisk-proof/1`, written by `zkrisk prove`): reading it with a check of its shape, and
 * checking everything it claims. A proof file is input from outside, so `readProofFile` names the file and the
 * field of the first malformed value (PROOF_INVALID, never a raw TypeError), and `checkProofFile` recomputes:
 * the Groth16 proof against the verification key, the calldata, the parameters against the public signals,
 * and from the listed features the integer engine's margins, the input commitment, the model commitment,
 * the market id of the label and the data timestamp of the bar.
 */
import { ZkriskError } from "../models/errors";
import { floorToFixed } from "../models/fixed-point";
import { inferInteger } from "../models/integer-engine";
import { readJsonFile } from "../models/io";
import type { QuantizedModel } from "../models/quantized-model";
import { JsonReader } from "../models/validate";
import { inputCommitment, modelCommitment } from "../circuits/commitments";
import { FIELD_MODULUS, toField } from "../circuits/field";
import { PUBLIC_SIGNALS, PUBLIC_SIGNAL_INDEX } from "../circuits/public-signals";
import { toVerifierCalldata } from "./calldata";
import { marketIdOf } from "../candles/market-id";
import type { ProvedUpdate } from "./prove-update";
import { snarkjs, type VerificationKey } from "./setup/snarkjs";

/** Format tag of a proof file. */
export const PROOF_FILE_FORMAT = "zkrisk-proof/1";

/** A malformed proof file; the message reads `file: field: reason`. */
export class ProofFileError extends ZkriskError {
  constructor(file: string, field: string, reason: string) {
    super("PROOF_INVALID", `${file}: ${field}: ${reason}`);
  }
}

/** A field element written as a decimal string in [0, p). */
export function fieldString(r: JsonReader): string {
  const v = r.bigint();
  if (v < 0n || v >= FIELD_MODULUS) r.error(`${v} is not a field element (0 <= v < p)`);
  return v.toString();
}

/** `n` field elements (an array of decimal strings). */
export function fieldStrings(r: JsonReader, n?: number): string[] {
  return r.items(n).map(fieldString);
}

/** The keys of a proof file, signed (signed-proof-file.ts) or not: no other key is allowed. */
export const PROOF_FILE_KEYS = [
  "format",
  "market",
  "bar",
  "proof",
  "publicSignals",
  "calldata",
  "parameters",
  "features",
  "provingMs",
] as const;

/** A proof file's `bar`: an ISO-8601 time. */
export function proofFileBar(r: JsonReader): string {
  const bar = r.at("bar");
  if (Number.isNaN(Date.parse(bar.string()))) bar.error(`'${bar.string()}' is not an ISO-8601 time`);
  return bar.string();
}

/** A Groth16 proof in snarkjs's JSON form (BN254), every coordinate a field element. */
export function groth16ProofOf(r: JsonReader): ProvedUpdate["proof"] {
  r.onlyKeys(["pi_a", "pi_b", "pi_c", "protocol", "curve"]);
  return {
    pi_a: fieldStrings(r.at("pi_a"), 3),
    pi_b: r
      .at("pi_b")
      .items(3)
      .map((row) => fieldStrings(row, 2)),
    pi_c: fieldStrings(r.at("pi_c"), 3),
    protocol: r.at("protocol").literal("groth16"),
    curve: r.at("curve").literal("bn128"),
  };
}

/** Parse and check the shape of a proof file's document (as read from `file`). */
export function parseProofFile(doc: unknown, file: string): ProvedUpdate {
  const r = new JsonReader(file, doc, "", (f, field, reason) => new ProofFileError(f, field, reason));
  r.onlyKeys(PROOF_FILE_KEYS);
  r.at("format").literal(PROOF_FILE_FORMAT);
  const params = r.at("parameters").onlyKeys(PUBLIC_SIGNALS);
  const calldata = r.at("calldata").onlyKeys(["a", "b", "c", "input"]);
  return {
    format: PROOF_FILE_FORMAT,
    market: r.at("market").string(),
    bar: proofFileBar(r),
    proof: groth16ProofOf(r.at("proof")),
    publicSignals: fieldStrings(r.at("publicSignals"), PUBLIC_SIGNALS.length),
    calldata: {
      a: fieldStrings(calldata.at("a"), 2) as [string, string],
      b: calldata
        .at("b")
        .items(2)
        .map((row) => fieldStrings(row, 2)) as [[string, string], [string, string]],
      c: fieldStrings(calldata.at("c"), 2) as [string, string],
      input: fieldStrings(calldata.at("input"), PUBLIC_SIGNALS.length),
    },
    parameters: {
      maintenanceMarginBps: params.at("maintenanceMarginBps").integer(0),
      initialMarginBps: params.at("initialMarginBps").integer(0),
      modelCommitment: fieldString(params.at("modelCommitment")),
      inputCommitment: fieldString(params.at("inputCommitment")),
      marketId: fieldString(params.at("marketId")),
      dataTimestamp: params.at("dataTimestamp").integer(0),
      domain: fieldString(params.at("domain")),
    },
    features: r
      .at("features")
      .items()
      .map((f) => {
        f.onlyKeys(["name", "value", "quantized"]);
        const value = f.at("value");
        return {
          name: f.at("name").string(),
          value: value.raw() === null ? null : value.number(),
          quantized: f.at("quantized").bigint().toString(),
        };
      }),
    provingMs: r.at("provingMs").number(),
  };
}

/** Read a proof file and check its shape; a malformed file is a PROOF_INVALID error naming file and field. */
export function readProofFile(path: string): ProvedUpdate {
  return parseProofFile(readJsonFile(path, "PROOF_INVALID"), path);
}

/**
 * The one claim a proof file can be checked on without its model: its features hash to its input commitment
 * (the proof binds the commitment, not the features; `submit` publishes the features in the oracle's event).
 * Returns what is wrong with `features`, or undefined.
 */
async function inputCommitmentProblem(update: ProvedUpdate): Promise<string | undefined> {
  const proven = update.publicSignals[PUBLIC_SIGNAL_INDEX.inputCommitment];
  if (update.features.length === 0) return "the list is empty";
  const actual = await inputCommitment(update.features.map((f) => BigInt(f.quantized)));
  return actual === BigInt(proven)
    ? undefined
    : `their input commitment is ${actual} but the proven public signal is ${proven}`;
}

/** Refuse a proof file whose features do not hash to its proven input commitment (PROOF_INVALID naming `file`). */
export async function requireInputCommitment(update: ProvedUpdate, file: string): Promise<void> {
  const problem = await inputCommitmentProblem(update);
  if (problem !== undefined) throw new ProofFileError(file, "features", problem);
}

/**
 * The proof as snarkjs's own files: `proof.json` is the Groth16 proof object, `public.json` the public
 * signals, so `snarkjs groth16 verify verification_key.json public.json proof.json` checks it.
 */
export function snarkjsProofFiles(update: Pick<ProvedUpdate, "proof" | "publicSignals">): {
  "proof.json": ProvedUpdate["proof"];
  "public.json": string[];
} {
  return { "proof.json": update.proof, "public.json": update.publicSignals };
}

/** What a proof file is checked against: the model and verification key of its artifact directory. */
export interface ProofFileContext {
  model: QuantizedModel;
  vkey: VerificationKey;
}

/**
 * Check every claim of a proof file: the proof, the calldata, the parameters, and everything derived from
 * the features (engine margins, both commitments, market id, timestamp). Returns the reasons it fails
 * (empty when it holds).
 */
export async function checkProofFile(update: ProvedUpdate, ctx: ProofFileContext): Promise<string[]> {
  const problems: string[] = [];
  const signals = update.publicSignals;
  if (!(await snarkjs.groth16.verify(ctx.vkey, signals, update.proof))) {
    problems.push("the Groth16 proof does not verify with the verification key");
  }
  if (JSON.stringify(toVerifierCalldata(update.proof, signals)) !== JSON.stringify(update.calldata)) {
    problems.push("calldata does not match the proof and public signals");
  }
  PUBLIC_SIGNALS.forEach((name, i) => {
    const claimed = update.parameters[name];
    if (String(claimed) !== signals[i]) {
      problems.push(`parameters.${name} = ${claimed} but the proven public signal is ${signals[i]}`);
    }
  });
  const expect = (name: (typeof PUBLIC_SIGNALS)[number], value: bigint, source: string) => {
    const proven = signals[PUBLIC_SIGNAL_INDEX[name]];
    if (toField(value).toString() !== proven)
      problems.push(`${source} gives ${name} ${value}, proven ${proven}`);
  };
  expect("modelCommitment", await modelCommitment(ctx.model), "the model");
  let labelId: bigint | undefined;
  try {
    labelId = marketIdOf(update.market);
  } catch {
    problems.push(`market: '${update.market}' is not a market label (a number or printable ASCII)`);
  }
  if (labelId !== undefined) expect("marketId", labelId, `market '${update.market}'`);
  expect("dataTimestamp", BigInt(Math.floor(Date.parse(update.bar) / 1000)), `bar ${update.bar}`);
  const features = featureProblems(update, ctx.model);
  problems.push(...features.problems);
  if (!features.usable) return problems;
  const commitment = await inputCommitmentProblem(update);
  if (commitment !== undefined) problems.push(`features: ${commitment}`);
  const x = update.features.map((f) => BigInt(f.quantized));
  const trace = inferInteger(ctx.model, x);
  expect("maintenanceMarginBps", trace.maintenanceMarginBps, "the integer engine on the features");
  expect("initialMarginBps", trace.initialMarginBps, "the integer engine on the features");
  return problems;
}

/**
 * The features' names, bounds and float values against the model (no problems when they fit); `usable` when
 * the integer engine can run on them (the right count, every one inside its bounds).
 */
function featureProblems(
  update: ProvedUpdate,
  model: QuantizedModel,
): { problems: string[]; usable: boolean } {
  if (update.features.length !== model.features.length) {
    return {
      problems: [`features: ${update.features.length} listed, the model has ${model.features.length}`],
      usable: false,
    };
  }
  const problems: string[] = [];
  let usable = true;
  model.features.forEach((mf, i) => {
    const f = update.features[i];
    const q = BigInt(f.quantized);
    if (f.name !== mf.name) problems.push(`features[${i}].name: '${f.name}', the model's is '${mf.name}'`);
    if (q < mf.min || q > mf.max) {
      problems.push(`features[${i}].quantized: ${q} is outside the model's bounds [${mf.min}, ${mf.max}]`);
      usable = false;
    }
    if (f.value !== null && floorToFixed(f.value, mf.scaleBits) !== q)
      problems.push(`features[${i}].value: ${f.value} does not quantise to ${q} at scale 2^${mf.scaleBits}`);
  });
  return { problems, usable };
}
