/**
 * The signed batch proof file (`zkrisk-signed-batch-proof/3`, written by `zkrisk prove --batch`): reading it
 * strictly, and checking what it claims without the signed batches themselves. A proof file is input from
 * outside, so the reader names the file and the field of the first malformed value (PROOF_INVALID), refuses
 * unknown keys, and refuses a file whose stated markets, margins, bars or shared values are not what its proven
 * public signals carry (the batch digest: its low 91 bits, an adaptive batch's low 87, the part the proof carries); the calldata is rebuilt
 * from the proof, never taken from the file. Format 3: one model commitment per market (each market's own
 * model file, so its own calibration), stated with the market; format 2's one shared model commitment is gone
 * with its circuits, as format 1's packed markets were before it. An adaptive batch's file (artifacts with the
 * adaptive rule) gives every market `adaptive`, the transition its own varying signal carries (the signed
 * update's `adaptive`); its varying signals are one adaptive update per market.
 */
import { readJsonFile } from "../core/io";
import { JsonReader } from "../core/validate";
import type { QuantizedModel } from "../models/quantized-model";
import { BATCH_PACKING, batchDigestSignal, unpackBatchUpdate } from "../circuits/batch-statement";
import { modelCommitment } from "../circuits/commitments";
import { batchSignalLayout } from "../circuits/public-signals";
import { marketIdOf } from "../candles/market-id";
import {
  Contradictions,
  fieldString,
  fieldStrings,
  groth16ProofOf,
  ProofFileError,
  proofFileBar,
  verifierCalldataOf,
} from "./proof-file";
import type { ProvedSignedBatch } from "./prove-signed-batch";
import type { ProvedSignedUpdate } from "./prove-signed-update";
import { adaptiveTransitionOf, parseSignedProofFile, SIGNED_PROOF_FILE_FORMAT } from "./signed-proof-file";
import { ADAPTIVE_UPDATE_PACKING, adaptiveDigestSignal, unpackAdaptiveUpdate } from "../circuits/statement";
import { adaptiveUpdate, type AdaptiveRule } from "../models/adaptive";
import { snarkjs, type VerificationKey } from "../setup/snarkjs";

/** Format tag of a signed batch proof file. */
export const SIGNED_BATCH_PROOF_FILE_FORMAT = "zkrisk-signed-batch-proof/3";

/** The keys of a signed batch proof file: no other key is allowed. */
const BATCH_PROOF_FILE_KEYS = [
  "format",
  "proof",
  "publicSignals",
  "calldata",
  "batchDigest",
  "publisherSet",
  "domain",
  "markets",
  "provingMs",
] as const;

/** The keys of one market of a signed batch proof file. */
const MARKET_KEYS = [
  "market",
  "marketId",
  "bar",
  "dataTimestamp",
  "maintenanceMarginBps",
  "initialMarginBps",
  "windowDigest",
  "modelCommitment",
  "adaptive",
] as const;

/**
 * Parse and check a signed batch proof file's document (as read from `file`). What it states that its proof
 * contradicts refuses it, or with a collecting `contradictions` is noted there (`zkrisk verify`).
 */
export function parseSignedBatchProofFile(
  doc: unknown,
  file: string,
  contradictions = new Contradictions(),
): ProvedSignedBatch {
  const r = new JsonReader(file, doc, "", (f, field, reason) => new ProofFileError(f, field, reason));
  r.onlyKeys(BATCH_PROOF_FILE_KEYS);
  r.at("format").literal(SIGNED_BATCH_PROOF_FILE_FORMAT);
  const marketReaders = r.at("markets").items();
  const n = marketReaders.length;
  if (n === 0) r.at("markets").error("a batch holds at least one market");
  // An adaptive batch: every market has `adaptive` (its varying signal is its adaptive update), or none has.
  const adaptiveMarkets = marketReaders.filter((m) => m.optional("adaptive") !== undefined).length;
  if (adaptiveMarkets !== 0 && adaptiveMarkets !== n) {
    r.at("markets").error(
      `${adaptiveMarkets} of ${n} markets have \`adaptive\`: an adaptive batch gives it to all`,
    );
  }
  const adaptive = adaptiveMarkets === n;
  const layout = batchSignalLayout(n, adaptive);
  const publicSignals = fieldStrings(r.at("publicSignals"), layout.count);
  const proof = groth16ProofOf(r.at("proof"));
  const calldata = verifierCalldataOf(r.at("calldata"), proof, publicSignals, contradictions);
  // The shared values must be the proven constants; the batch digest's low bits the proven ones.
  const varying = publicSignals.slice(0, layout.varying).map(BigInt);
  const update = adaptive
    ? unpackAdaptiveBatch(varying, (reason) => r.at("publicSignals").error(reason))
    : unpackBatchUpdate(n, varying);
  const shared = Object.fromEntries(
    (["publisherSet", "domain"] as const).map((name) => {
      const stated = fieldString(r.at(name));
      const proven = publicSignals[layout[name]];
      if (stated !== proven)
        contradictions.report(r.at(name), `states ${stated}, the proven signal ${name} is ${proven}`);
      return [name, stated];
    }),
  ) as Record<"publisherSet" | "domain", string>;
  const batchDigest = fieldString(r.at("batchDigest"));
  // an adaptive batch carries the digest's low bits in each market's adaptive update (ADAPTIVE_UPDATE_PACKING)
  const [digestBits, digestOf] = adaptive
    ? [ADAPTIVE_UPDATE_PACKING.digestBits, adaptiveDigestSignal]
    : [BATCH_PACKING.digestBits, batchDigestSignal];
  if (digestOf(BigInt(batchDigest)) !== update.digest) {
    contradictions.report(
      r.at("batchDigest"),
      `states ${batchDigest}, whose low ${digestBits} bits are not the proven digest bits ${update.digest}`,
    );
  }
  // Each market's stated values must be what the proven signals carry.
  const markets = marketReaders.map((m, i) => {
    m.onlyKeys(MARKET_KEYS);
    const stated = {
      market: m.at("market").string(),
      marketId: fieldString(m.at("marketId")),
      bar: proofFileBar(m),
      dataTimestamp: m.at("dataTimestamp").integer(0),
      maintenanceMarginBps: m.at("maintenanceMarginBps").integer(0),
      initialMarginBps: m.at("initialMarginBps").integer(0),
      windowDigest: fieldString(m.at("windowDigest")),
      modelCommitment: fieldString(m.at("modelCommitment")),
    };
    const adaptiveReader = m.optional("adaptive");
    const transition =
      adaptiveReader === undefined
        ? undefined
        : adaptiveTransitionOf(adaptiveReader, varying[i], contradictions);
    const expected: [keyof typeof stated, string, bigint, bigint][] = [
      [
        "modelCommitment",
        `modelCommitment[${i}]`,
        BigInt(publicSignals[layout.modelCommitment + i]),
        BigInt(stated.modelCommitment),
      ],
      ["marketId", `marketId[${i}]`, BigInt(publicSignals[layout.marketId + i]), BigInt(stated.marketId)],
      ["dataTimestamp", "update[0]", update.dataTimestamp, BigInt(stated.dataTimestamp)],
      ["maintenanceMarginBps", "update", update.markets[i].mm, BigInt(stated.maintenanceMarginBps)],
      ["initialMarginBps", "update", update.markets[i].im, BigInt(stated.initialMarginBps)],
    ];
    for (const [name, signal, proven, value] of expected) {
      if (proven !== value)
        contradictions.report(m.at(name), `states ${value}, the proven signal ${signal} carries ${proven}`);
    }
    if (Date.parse(stated.bar) !== stated.dataTimestamp * 1000) {
      contradictions.report(m.at("bar"), `'${stated.bar}' is not the data timestamp ${stated.dataTimestamp}`);
    }
    return transition === undefined ? stated : { ...stated, adaptive: transition };
  });
  return {
    format: SIGNED_BATCH_PROOF_FILE_FORMAT,
    proof,
    publicSignals,
    // Rebuilt from the proof and the signals: the file's own calldata is not trusted.
    calldata,
    batchDigest,
    ...shared,
    markets,
    provingMs: r.at("provingMs").number(),
  };
}

/**
 * An adaptive batch's varying signals as the plain batch's are read: each market's margins, and the batch's one
 * data timestamp and digest bits (market 0's; the circuit gives every market the same ones, checked here too).
 */
function unpackAdaptiveBatch(
  varying: readonly bigint[],
  fail: (reason: string) => never,
): ReturnType<typeof unpackBatchUpdate> {
  const markets = varying.map(unpackAdaptiveUpdate);
  const first = markets[0];
  for (const [i, u] of markets.entries()) {
    if (u.dataTimestamp !== first.dataTimestamp || u.digest !== first.digest) {
      fail(`update[${i}] states another bar or batch digest than update[0]: one batch has one of each`);
    }
  }
  return {
    dataTimestamp: first.dataTimestamp,
    digest: first.digest,
    markets: markets.map((u) => ({ mm: u.mm, im: u.im })),
  };
}

/** Read a signed batch proof file; a malformed one is a PROOF_INVALID error naming the file and the field. */
export function readSignedBatchProofFile(path: string): ProvedSignedBatch {
  return parseSignedBatchProofFile(readJsonFile(path, "PROOF_INVALID"), path);
}

/** A proof file of either kind, read once and parsed strictly by its `format`. */
export type SignedProofFile = { batch: ProvedSignedBatch } | { update: ProvedSignedUpdate };

/**
 * Read a signed update's or a signed batch's proof file, by its format (PROOF_INVALID naming file and field; a
 * document of no proof format, such as a signed window, is named as such). What the file states that its proof
 * contradicts refuses it, or with a collecting `contradictions` is noted there.
 */
export function readAnySignedProofFile(path: string, contradictions = new Contradictions()): SignedProofFile {
  const doc = readJsonFile(path, "PROOF_INVALID");
  const format =
    typeof doc === "object" && doc !== null && !Array.isArray(doc)
      ? (doc as { format?: unknown }).format
      : undefined;
  if (format === SIGNED_BATCH_PROOF_FILE_FORMAT) {
    return { batch: parseSignedBatchProofFile(doc, path, contradictions) };
  }
  if (format === SIGNED_PROOF_FILE_FORMAT) return { update: parseSignedProofFile(doc, path, contradictions) };
  const formats = `a signed update's proof file has format '${SIGNED_PROOF_FILE_FORMAT}', a signed batch's '${SIGNED_BATCH_PROOF_FILE_FORMAT}' (\`zkrisk prove\` writes them)`;
  throw new ProofFileError(
    path,
    "format",
    format === undefined
      ? `missing: this is not a proof file; ${formats}`
      : `${JSON.stringify(format)} is not a proof file's format; ${formats}`,
  );
}

/**
 * Everything a signed batch proof file claims that can be checked without its signed batches: the Groth16 proof
 * of its public signals, each market's model commitment (its model in `models`, or `model`), and each market's id
 * against its label. (The margins are bound to the signed windows by the proof; `zkrisk audit` recomputes them
 * from the publishers' archives.) Returns the problems, empty when all hold.
 */
export async function checkSignedBatchProofFile(
  batch: ProvedSignedBatch,
  ctx: {
    vkey: VerificationKey;
    model: QuantizedModel;
    models?: ReadonlyMap<string, QuantizedModel>;
    /** The artifacts' adaptive rule (their manifest's), undefined for a plain batch circuit. */
    rule?: AdaptiveRule;
  },
): Promise<string[]> {
  const problems: string[] = [];
  const adaptive = batch.markets.every((m) => m.adaptive !== undefined);
  if ((ctx.rule === undefined) === adaptive) {
    problems.push(
      ctx.rule === undefined
        ? "the file is an adaptive batch, the artifacts' circuit has no adaptive rule"
        : "the artifacts' circuit has the adaptive rule, the file is a plain batch (no adaptive transitions)",
    );
  }
  for (const [i, m] of batch.markets.entries()) {
    const a = m.adaptive;
    if (ctx.rule === undefined || a === undefined) continue;
    const outcome = a.outcome === "none" ? null : a.outcome === "breach";
    const next = adaptiveUpdate({ num: BigInt(a.prior.num), outcomes: a.prior.outcomes }, outcome, ctx.rule);
    if (next.num.toString() !== a.next.num || next.outcomes !== a.next.outcomes) {
      problems.push(
        `markets[${i}] (${m.market}): the new state num ${a.next.num}, outcomes ${a.next.outcomes} is not the ` +
          `rule's step from the prior (num ${next.num}, outcomes ${next.outcomes}; outcome ${a.outcome})`,
      );
    }
  }
  if (!(await snarkjs.groth16.verify(ctx.vkey, batch.publicSignals, batch.proof))) {
    problems.push("the Groth16 proof does not verify with the verification key for its public signals");
  }
  for (const [i, m] of batch.markets.entries()) {
    const own = ctx.models?.get(m.market);
    const model = (await modelCommitment(own ?? ctx.model)).toString();
    if (model !== m.modelCommitment) {
      problems.push(
        `markets[${i}].modelCommitment ${m.modelCommitment} (${m.market}) is not the ` +
          `${own === undefined ? "" : "market's own "}model's ${model}`,
      );
    }
  }
  batch.markets.forEach((m, i) => {
    let id: bigint | undefined;
    try {
      id = marketIdOf(m.market);
    } catch {
      problems.push(`markets[${i}].market '${m.market}' is not a market label`);
    }
    if (id !== undefined && id.toString() !== m.marketId) {
      problems.push(`markets[${i}].marketId ${m.marketId} is not the id of market '${m.market}' (${id})`);
    }
  });
  return problems;
}
