/**
 * Reading a signed-update proof file (`zkrisk prove --window` writes it; format `zkrisk-signed-proof/1`,
 * prove-signed-update.ts). The file is input from outside: every field is checked for its shape and unknown
 * keys are errors, each error naming the file and the field (PROOF_INVALID). What reaches the chain is rebuilt
 * from the proof and its public signals, never taken from the file's `calldata`, and the parameters the file
 * states must be the ones its packed update signal carries. An adaptive market's update (artifacts with the
 * adaptive rule) adds `adaptive`, the transition its packed signal carries; a plain update's file has no such key.
 */
import { readJsonFile } from "../core/io";
import { JsonReader } from "../core/validate";
import { UPDATE_SIGNALS, UPDATE_SIGNAL_INDEX, digestSignal } from "../circuits/public-signals";
import { adaptiveDigestSignal, unpackAdaptiveUpdate, unpackUpdate } from "../circuits/statement";
import { adaptiveUpdate, stateToNum, type AdaptiveRule } from "../models/adaptive";
import { MAX_OUTCOME_LAG } from "../models/target";
import { marketIdOf } from "../candles/market-id";
import { modelCommitment } from "../circuits/commitments";
import { statementKey } from "../circuits/statement";
import { inferInteger, integerPolicy } from "../models/integer-engine";
import type { QuantizedModel } from "../models/quantized-model";
import { snarkjs, type VerificationKey } from "../setup/snarkjs";
import {
  Contradictions,
  fieldString,
  fieldStrings,
  groth16ProofOf,
  PROOF_FILE_KEYS,
  proofFileBar,
  ProofFileError,
  verifierCalldataOf,
} from "./proof-file";
import type { ProvedAdaptiveTransition, ProvedSignedUpdate } from "./prove-signed-update";

/** Format tag of a signed-update proof file. */
export const SIGNED_PROOF_FILE_FORMAT = "zkrisk-signed-proof/1";

/**
 * Parse and check a signed-update proof file's document (as read from `file`). What it states that its proof
 * contradicts refuses it, or with a collecting `contradictions` is noted there (`zkrisk verify`).
 */
export function parseSignedProofFile(
  doc: unknown,
  file: string,
  contradictions = new Contradictions(),
): ProvedSignedUpdate {
  const r = new JsonReader(file, doc, "", (f, field, reason) => new ProofFileError(f, field, reason));
  r.onlyKeys([...PROOF_FILE_KEYS, "adaptive"]);
  r.at("format").literal(SIGNED_PROOF_FILE_FORMAT);
  const bar = proofFileBar(r);
  const params = r
    .at("parameters")
    .onlyKeys([
      "maintenanceMarginBps",
      "initialMarginBps",
      "dataTimestamp",
      "windowDigest",
      "statement",
      "marketId",
      "modelCommitment",
      "publisherSet",
      "domain",
    ]);
  const publicSignals = fieldStrings(r.at("publicSignals"), UPDATE_SIGNALS.length);
  const parsedProof = groth16ProofOf(r.at("proof"));
  const calldata = verifierCalldataOf(r.at("calldata"), parsedProof, publicSignals, contradictions);
  const parameters = {
    maintenanceMarginBps: params.at("maintenanceMarginBps").integer(0),
    initialMarginBps: params.at("initialMarginBps").integer(0),
    dataTimestamp: params.at("dataTimestamp").integer(0),
    windowDigest: fieldString(params.at("windowDigest")),
    statement: fieldString(params.at("statement")),
    marketId: fieldString(params.at("marketId")),
    modelCommitment: fieldString(params.at("modelCommitment")),
    publisherSet: fieldString(params.at("publisherSet")),
    domain: fieldString(params.at("domain")),
  };
  // The stated parameters must be what the proven signals carry (an adaptive update packs them otherwise).
  const signal = BigInt(publicSignals[UPDATE_SIGNAL_INDEX.update]);
  const adaptiveReader = r.optional("adaptive");
  const adaptive =
    adaptiveReader === undefined ? undefined : adaptiveTransitionOf(adaptiveReader, signal, contradictions);
  const packed = adaptive === undefined ? unpackUpdate(signal) : unpackAdaptiveUpdate(signal);
  const digestOf = adaptive === undefined ? digestSignal : adaptiveDigestSignal;
  const expected: [string, bigint, bigint][] = [
    ["maintenanceMarginBps", packed.mm, BigInt(parameters.maintenanceMarginBps)],
    ["initialMarginBps", packed.im, BigInt(parameters.initialMarginBps)],
    ["dataTimestamp", packed.dataTimestamp, BigInt(parameters.dataTimestamp)],
    ["windowDigest", packed.digest, digestOf(BigInt(parameters.windowDigest))],
  ];
  for (const [name, proven, stated] of expected) {
    if (proven !== stated)
      contradictions.report(params.at(name), `states ${stated}, the proven update signal carries ${proven}`);
  }
  if (publicSignals[UPDATE_SIGNAL_INDEX.statement] !== parameters.statement) {
    contradictions.report(
      params.at("statement"),
      `states ${parameters.statement}, the proven statement signal is ${publicSignals[UPDATE_SIGNAL_INDEX.statement]}`,
    );
  }
  return {
    format: SIGNED_PROOF_FILE_FORMAT,
    market: r.at("market").string(),
    bar,
    proof: parsedProof,
    publicSignals,
    // Rebuilt from the proof and the signals: the file's own calldata is not trusted.
    calldata,
    parameters,
    features: r
      .at("features")
      .items()
      .map((f) => {
        f.onlyKeys(["name", "value", "quantized"]);
        return {
          name: f.at("name").string(),
          value: f.at("value").number(),
          quantized: f.at("quantized").bigint().toString(),
        };
      }),
    provingMs: r.at("provingMs").number(),
    ...(adaptive === undefined ? {} : { adaptive }),
  };
}

/** A file's `adaptive`, each field checked against the packed adaptive signal `signal` carries. */
export function adaptiveTransitionOf(
  a: JsonReader,
  signal: bigint,
  contradictions: Contradictions,
): ProvedAdaptiveTransition {
  a.onlyKeys(["prior", "next", "outcome", "calibrationNum"]);
  const p = a.at("prior").onlyKeys(["num", "outcomes", "marginS", "lag"]);
  const n = a.at("next").onlyKeys(["num", "outcomes"]);
  const u = unpackAdaptiveUpdate(signal);
  const stated: [JsonReader, bigint, bigint][] = [
    [p.at("num"), p.at("num").bigint(), u.before.num],
    [p.at("outcomes"), BigInt(p.at("outcomes").integer(0)), u.before.outcomes],
    [p.at("marginS"), BigInt(p.at("marginS").integer(0)), u.marginS],
    [p.at("lag"), BigInt(p.at("lag").integer(0, MAX_OUTCOME_LAG)), u.lag],
    [n.at("num"), n.at("num").bigint(), u.after.num],
    [n.at("outcomes"), BigInt(n.at("outcomes").integer(0)), u.after.outcomes],
  ];
  for (const [field, value, proven] of stated) {
    if (value !== proven)
      contradictions.report(field, `states ${value}, the proven update signal carries ${proven}`);
  }
  const calibrationNum = a.at("calibrationNum").integer(0);
  if (BigInt(calibrationNum) !== stateToNum(u.after.num)) {
    contradictions.report(
      a.at("calibrationNum"),
      `states ${calibrationNum}, the proven new num gives ${stateToNum(u.after.num)}`,
    );
  }
  return {
    prior: {
      num: u.before.num.toString(),
      outcomes: Number(u.before.outcomes),
      marginS: Number(u.marginS),
      lag: Number(u.lag),
    },
    next: { num: u.after.num.toString(), outcomes: Number(u.after.outcomes) },
    outcome: a.at("outcome").literal("breach", "covered", "none"),
    calibrationNum,
  };
}

/** Read a signed-update proof file; a malformed one is a PROOF_INVALID error naming the file and the field. */
export function readSignedProofFile(path: string): ProvedSignedUpdate {
  return parseSignedProofFile(readJsonFile(path, "PROOF_INVALID"), path);
}

/** What a signed proof file is checked against: the circuit's verification key and the model it computes. */
export interface SignedProofFileContext {
  vkey: VerificationKey;
  model: QuantizedModel;
  /** The adaptive rule of the artifacts (their manifest's), undefined for a plain circuit. */
  rule?: AdaptiveRule;
}

/**
 * Everything a signed proof file claims that can be checked without its windows: the Groth16 proof of its
 * public signals, the statement key from the stated market, model, publisher set and domain, the model
 * commitment of the given model, the market id of the label, the bar time of the data timestamp, the listed
 * features' names and values (the model's, and each quantised value read back), and the integer engine's margins
 * from the listed features. (The features themselves are bound by the proof only
 * through the signed window; `zkrisk audit` recomputes them from the windows.) Returns the problems, empty when
 * all hold.
 */
export async function checkSignedProofFile(
  update: ProvedSignedUpdate,
  ctx: SignedProofFileContext,
): Promise<string[]> {
  const problems: string[] = [];
  const p = update.parameters;
  if (!(await snarkjs.groth16.verify(ctx.vkey, update.publicSignals, update.proof))) {
    problems.push("the Groth16 proof does not verify with the verification key for its public signals");
  }
  const statement = await statementKey({
    marketId: BigInt(p.marketId),
    modelCommitment: BigInt(p.modelCommitment),
    publisherSet: BigInt(p.publisherSet),
    domain: BigInt(p.domain),
  });
  if (statement.toString() !== p.statement) {
    problems.push(
      `statement ${p.statement} is not the key of the stated market, model, set and domain (${statement})`,
    );
  }
  const model = (await modelCommitment(ctx.model)).toString();
  if (model !== p.modelCommitment)
    problems.push(`modelCommitment ${p.modelCommitment} is not the model's ${model}`);
  let labelId: bigint | undefined;
  try {
    labelId = marketIdOf(update.market);
  } catch {
    problems.push(`market '${update.market}' is not a market label`);
  }
  if (labelId !== undefined && labelId.toString() !== p.marketId) {
    problems.push(`marketId ${p.marketId} is not the id of market '${update.market}' (${labelId})`);
  }
  if (Date.parse(update.bar) !== p.dataTimestamp * 1000) {
    problems.push(`bar ${update.bar} is not the data timestamp ${p.dataTimestamp}`);
  }
  if ((ctx.rule === undefined) !== (update.adaptive === undefined)) {
    problems.push(
      ctx.rule === undefined
        ? "the file is an adaptive market's update, the artifacts' circuit has no adaptive rule"
        : "the artifacts' circuit has the adaptive rule, the file is a plain update (no adaptive transition)",
    );
  }
  let calibrationNum: number | undefined;
  if (ctx.rule !== undefined && update.adaptive !== undefined) {
    const a = update.adaptive;
    const outcome = a.outcome === "none" ? null : a.outcome === "breach";
    const next = adaptiveUpdate({ num: BigInt(a.prior.num), outcomes: a.prior.outcomes }, outcome, ctx.rule);
    if (next.num.toString() !== a.next.num || next.outcomes !== a.next.outcomes) {
      problems.push(
        `the new state num ${a.next.num}, outcomes ${a.next.outcomes} is not the rule's step from the prior ` +
          `(num ${next.num}, outcomes ${next.outcomes}; outcome ${a.outcome})`,
      );
    }
    calibrationNum = a.calibrationNum;
  }
  if (update.features.length !== ctx.model.features.length) {
    problems.push(`${update.features.length} features listed, the model reads ${ctx.model.features.length}`);
  } else {
    // each listed name and value is the model's feature and its quantised value read back
    update.features.forEach((f, i) => {
      const { name, scaleBits } = ctx.model.features[i];
      if (f.name !== name)
        problems.push(`features[${i}].name '${f.name}' is not the model's feature '${name}'`);
      const value = Number(BigInt(f.quantized)) / 2 ** scaleBits;
      if (f.value !== value) {
        problems.push(
          `features[${i}].value ${f.value} is not its quantized ${f.quantized} / 2^${scaleBits} (${value})`,
        );
      }
    });
    try {
      const plain = inferInteger(
        ctx.model,
        update.features.map((f) => BigInt(f.quantized)),
      );
      // an adaptive update's margins use the new state's calibration
      const trace =
        calibrationNum === undefined
          ? plain
          : integerPolicy({ ...ctx.model.policy, calibrationNum }, plain.output);
      if (
        Number(trace.maintenanceMarginBps) !== p.maintenanceMarginBps ||
        Number(trace.initialMarginBps) !== p.initialMarginBps
      ) {
        problems.push(
          `the listed features give MM ${trace.maintenanceMarginBps} / IM ${trace.initialMarginBps} bps, the file ` +
            `states ${p.maintenanceMarginBps} / ${p.initialMarginBps}`,
        );
      }
    } catch (err) {
      problems.push(`the listed features do not run through the model: ${(err as Error).message}`);
    }
  }
  return problems;
}
