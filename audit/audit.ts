/**
 * Auditing a RiskOracle: anyone with a JSON-RPC endpoint re-checks every update the oracle accepted. Every update
 * is signed: a `SignedParametersUpdated` event (`submitSignedUpdate`) carries the digest of its window, and each
 * `SignedBatchParametersUpdated` event (`submitSignedBatch`, one per market of a batch) the digest of its batch
 * and the market's index in it. Neither carries the candles: they are fetched from the publishers' archives and
 * window directories and audited against the publisher set in force at the update's block (`PublisherSetChanged`
 * history; audit-signed.ts for single updates, audit-signed-batch.ts for batch markets): digest, k distinct
 * signatures of the set, features, integer engine and policy, and with an independent candle file of a market
 * that market's signed candles. Here, the call behind each event is decoded and its public signals compared with
 * the event and the market's registered configuration (statement key; for a batch its digest, model, publisher set
 * and this oracle's domain), and its proof verified again when the circuit's verification key is given.
 *
 * An adaptive market's update (`AdaptiveParametersUpdated`, whose one word is the packed update) gets the same
 * window, signature and call checks, with its margins at the proven state's calibration; then the market's
 * updates are replayed from the initial num governance set (`AdaptiveCalibrationSet`) with the adaptive rule
 * (audit-adaptive.ts), and each replay verdict joins the update's.
 *
 * Each update ends ok, flagged (`reasons`) or unverifiable (`missing`: evidence the audit could not get, e.g. a
 * window no source holds or a set file not given). The audit reads only: it needs no key, and it never sends a
 * transaction. It reads the events in chunks of blocks, narrower where the node caps the range of one query
 * (get-logs.ts).
 */
import {
  getAddress,
  isAddress,
  type Interface,
  type Log,
  type Provider,
  type TransactionResponse,
} from "ethers";
import { marketIdOf, marketLabel, marketLabelProblem } from "../candles/market-id";
import { BATCH_PACKING, unpackBatchUpdate } from "../circuits/batch-statement";
import { modelCommitment } from "../circuits/commitments";
import { batchSignalLayout, UPDATE_SIGNALS } from "../circuits/public-signals";
import { batchSizeOfKey } from "../onchain/signed-batch-verifier";
import { packUpdate, unpackAdaptiveUpdate, unpackUpdate } from "../circuits/statement";
import { stateToNum, type AdaptiveRule } from "../models/adaptive";
import type { Window } from "../candles/window";
import type { IntegerCandle } from "../candles/integer-candle";
import {
  AdaptiveReplay,
  lostBreachesP,
  LostOutcomeTracker,
  type AdaptiveUpdateAudit,
  type LostOutcome,
} from "./audit-adaptive";
import { isoFromSeconds } from "../core/time";
import { UsageError, ZkriskError } from "../core/errors";
import type { QuantizedModel } from "../models/quantized-model";
import type { CandleSeries } from "../candles/types";
import type { BatchSource, WindowSource } from "../publisher/window-sources";
import { oracleDomain } from "../prover/domain";
import { Groth16Verifier } from "../prover/groth16-verifier";
import type { Groth16Proof, VerificationKey } from "../setup/snarkjs";
import {
  auditSignedUpdate,
  candlesByTime,
  describeModels,
  modelInForce,
  setInForce,
  type AuditModel,
  type AuditPublisherSet,
  type PublisherSetChange,
  type SignedAuditContext,
  type SignedUpdateDetail,
} from "./audit-signed";
import { auditSignedBatchUpdate, type SignedBatchDetail } from "./audit-signed-batch";
import { LOOKAHEAD_UPDATES, LookaheadBatchSource, LookaheadWindowSource, startedOnce } from "./lookahead";
import { MIN_LOG_CHUNK, getLogsChunked, type LogProgress } from "../onchain/get-logs";
import { oracleInterface, publisherSetConfigOf, type PublisherSetConfig } from "../onchain/oracle";
import { checkRiskOracle } from "../onchain/oracle-identity";

/** What {@link auditOracle} audits, and against what. */
export interface AuditOptions {
  /** Read-only connection to the chain the oracle lives on. */
  provider: Provider;
  /** Address of the RiskOracle. */
  oracle: string;
  /**
   * The chain the oracle lives on: a provider on another chain is refused (UsageError) before anything is read,
   * since a contract may have the same address on several chains. Unchecked when absent.
   */
  chainId?: bigint;
  /** The quantised model in force: with it the margins are recomputed from the signed candles. */
  model?: QuantizedModel;
  /** Where `model` was read from, for messages. */
  modelPath?: string;
  /**
   * More models, each with where it was read from (after `model`, if given): each update is recomputed with the
   * one that commits to its market's registered model, so one audit covers markets registered with their own
   * model files.
   */
  models?: readonly { model: QuantizedModel; path: string }[];
  /**
   * An independent candle file of one market (`market`, its label, e.g. "ETH-USDT"): the signed candles of that
   * market's updates are compared with it, bar by bar and field by field. Other markets' updates are not compared
   * with it, as without a file (a file holds one market's candles: compared with another market's, every bar
   * would differ).
   */
  data?: { series: CandleSeries; market: string };
  /** First block to search for events (default 0). */
  fromBlock?: number;
  /** Last block to search for events (default: the latest block). */
  toBlock?: number;
  /**
   * Blocks per `eth_getLogs` query (default 5,000, see onchain/get-logs.ts); halved while the node
   * refuses a range as too large.
   */
  logChunk?: number;
  /** Called after each chunk of events read. */
  onLogProgress?: (progress: LogProgress) => void;
  /** Called after each update checked, with how many are checked and how many there are. */
  onUpdateProgress?: (checked: number, total: number) => void;
  /**
   * Verification key of the signed-update circuit (two public signals): with it, each signed update's proof is
   * verified again off chain. Without it the proof is not re-verified (its public signals are still compared with
   * the event and the registered statement key), which leaves the verdict unchanged: the margins are recomputed
   * from the signed window either way.
   */
  signedVkey?: VerificationKey;
  /**
   * Verification keys of signed batch circuits, at most one per batch size (a key of V + 2N + 2 public signals is
   * the one of batches of N markets, `batchSizeOfKey`): a batch whose size has a key here has its proof verified
   * again. As for signed updates, the verdict does not depend on it.
   */
  batchVkeys?: VerificationKey[];
  /**
   * Verification keys of ADAPTIVE batch circuits (3N + 2 public signals), at most one per batch size: an
   * adaptive batch whose size has a key here has its proof verified again.
   */
  adaptiveBatchVkeys?: VerificationKey[];
  /**
   * The adaptive rule adaptive markets run (the manifest of the adaptive circuit's artifacts, or a calibrations
   * file's `adaptive` block; `source` names it), and optionally that circuit's verification key, with which each
   * adaptive update's proof is verified again. Without a rule, adaptive updates are not replayed (unverifiable).
   * A function is called once, at the first adaptive update in range, and never without one (so a file it reads
   * is read, and its errors thrown, only when an adaptive market needs it).
   */
  adaptive?: AdaptiveRuleSource | (() => AdaptiveRuleSource);
  /** Where the windows of signed updates are looked up (publishers' archives, window directories), in order. */
  windowSources?: WindowSource[];
  /** Where the signed batches of batch updates are looked up (window directories), in order. */
  batchSources?: BatchSource[];
  /**
   * Publisher set files, one per set in force over the audited updates (each must be one of them); an update
   * whose set has no file here is unverifiable.
   */
  publisherSets?: AuditPublisherSet[];
}

/** The rule adaptive markets run, where it came from, and optionally the adaptive circuit's verification key. */
export interface AdaptiveRuleSource {
  rule: AdaptiveRule;
  /** The artifacts or calibrations file the rule came from (for the report). */
  source: string;
  vkey?: VerificationKey;
}

/** The verdict on an update: every check passed, a check failed, or a check could not be made. */
export type AuditStatus = "ok" | "flagged" | "unverifiable";

/** The audit of one accepted update (one market of a batch is one update). */
export interface AuditedUpdate {
  /** Market id as the oracle keys it (a field element). */
  marketId: bigint;
  /** The market id unpacked to its ASCII label (e.g. "BTC-USDT"), or its decimal digits when it is not text. */
  market: string;
  /** Open time of the last bar the update used, seconds since the Unix epoch. */
  dataTimestamp: number;
  /** The same, ISO-8601 UTC. */
  dataTimestampIso: string;
  /** Block that accepted the update, and its time (s). */
  block: number;
  blockTimestamp: number;
  txHash: string;
  logIndex: number;
  /** Account that sent the transaction ("" when the node does not return it). */
  submitter: string;
  /**
   * The chain the transaction was signed for (EIP-155; the node's chain when the node does not return it or it
   * names none): the domain its proof and statement key are checked with. On a fork after a chain split, the
   * updates from before the split carry the original chain's id.
   */
  chainId: bigint;
  /** Margins the oracle accepted (bps of notional). */
  maintenanceMarginBps: number;
  initialMarginBps: number;
  /**
   * How it was accepted: `submitSignedUpdate` (an adaptive market's: `adaptive`) or, one market of several,
   * `submitSignedBatch` (`batch`; an adaptive batch's, `submitAdaptiveBatch`, is a `batch` with `adaptive`).
   */
  kind: "signed" | "batch" | "adaptive";
  /** ok, flagged (some check failed: `reasons`) or unverifiable (none failed, some could not be made: `missing`). */
  status: AuditStatus;
  /** Whether every check passed (status ok). */
  ok: boolean;
  /** Why it is flagged, one line per failed check (empty when none failed). */
  reasons: string[];
  /** What could not be checked, one line each (empty when everything was checked). */
  missing: string[];
  /** For a signed update: its digest, the publisher set in force and the windows found. */
  signed?: SignedUpdateDetail;
  /** For a batch market: its batch digest and index, the publisher set in force and the batches found. */
  batch?: SignedBatchDetail;
  /** For an adaptive market's update (alone or in a batch): the transition it carries and the replay's verdict. */
  adaptive?: AdaptiveUpdateDetail;
}

/** An adaptive update's packed transition (`unpackAdaptiveUpdate`) and what the replay found. */
export interface AdaptiveUpdateDetail {
  /**
   * The prior the oracle built: state (num at calibrationNum * 2^8, outcomes), and the outcome the update processes:
   * bar s = t - 12 - lag's MM (bps; 0 when no outcome was pending) and lag.
   */
  prior: { num: bigint; outcomes: number; marginS: number; lag: number };
  /** The proven state the oracle stored. */
  next: { num: bigint; outcomes: number };
  /** Bar s's outcome in the signed window (unknown when the window was not found or not replayed). */
  outcome: "breach" | "covered" | "none" | "unknown";
  /** The replay's verdict on the transition and margins (audit-adaptive.ts), `unverifiable` without a rule. */
  replay: AuditStatus;
}

/** The audit of an oracle. */
export interface AuditReport {
  /** Oracle address (EIP-55). */
  oracle: string;
  chainId: bigint;
  /** Block range searched, inclusive. */
  fromBlock: number;
  toBlock: number;
  /** What each update was checked against besides the signed data and the call's public signals. */
  checks: {
    /** Path (or label) of each model given, and its commitment (empty: no margins recomputed). */
    models: { path: string; commitment: bigint }[];
    /** Source of the independent candles and their market; null when none were given. */
    data: { candles: string; market: string } | null;
    /** Whether signed updates' proofs were verified again (a signed-update verification key was given). */
    signedProof: boolean;
    /** The adaptive rule adaptive updates were replayed with (its source), null when none was given or loaded. */
    adaptiveRule: string | null;
    /** Whether adaptive updates' proofs were verified again (the adaptive circuit's key was given). */
    adaptiveProof: boolean;
    /** The batch sizes whose proofs were verified again (batch verification keys given). */
    batchProofs: number[];
    /** Where the windows of signed updates and the batches of batch markets were looked up. */
    windows: string[];
    batches: string[];
    /** The publisher set files given. */
    publisherSets: { file: string; commitment: bigint }[];
  };
  /** Every accepted update in the range, in chain order. */
  updates: AuditedUpdate[];
  /** Number of updates that passed, and that did not (flagged + unverifiable). */
  ok: number;
  failed: number;
  flagged: number;
  unverifiable: number;
  /**
   * Per adaptive market with updates in range: the outcomes no update counted (dropped after a day without enough
   * accepted updates, or processed with a bar missing from the signed window), lost at an update in range
   * (audit-adaptive.ts `lostOutcomes`), and whether their breaches are beyond chance.
   */
  lostOutcomes: LostOutcomeReport[];
  /** Whether a market's lost outcomes are breaches far beyond chance (`LostOutcomeReport.suspicious`). */
  suspicious: boolean;
}

/** An adaptive market's lost outcomes (`AuditReport.lostOutcomes`). */
export interface LostOutcomeReport {
  marketId: bigint;
  market: string;
  lost: LostOutcome[];
  /** How many were breaches, covered, or of unknown outcome (the breaches a lower bound without --data). */
  breaches: number;
  covered: number;
  unknown: number;
  /**
   * The chance that honest gaps lose at least this many breaches (each lost outcome a breach with probability
   * 1 %, the rule's target): `lostBreachesP`.
   */
  p: number;
  /** p below `SUSPICIOUS_LOST_BREACHES_P`: the updates were held back after breaches until these were dropped. */
  suspicious: boolean;
}

/**
 * Below this chance, the breaches among an adaptive market's lost outcomes are taken for updates held back on
 * purpose (a submitter silent for a day after each breach, to drop it): the audit reports the market as suspicious
 * and exits with a finding.
 */
export const SUSPICIOUS_LOST_BREACHES_P = 0.001;

/** The Groth16 proof points of a call, as the verifier contract takes them. */
interface ProofPoints {
  a: [bigint, bigint];
  b: [[bigint, bigint], [bigint, bigint]];
  c: [bigint, bigint];
}

/** The fields of one SignedParametersUpdated event. */
interface SignedEvent {
  marketId: bigint;
  maintenanceMarginBps: bigint;
  initialMarginBps: bigint;
  dataTimestamp: bigint;
  windowDigest: bigint;
}

/** The fields of one AdaptiveParametersUpdated event: the market and the packed update it stores. */
interface AdaptiveEvent {
  marketId: bigint;
  update: bigint;
}

/** The fields of one AdaptiveBatchParametersUpdated event: the market, its packed update, its index. */
interface AdaptiveBatchEvent extends AdaptiveEvent {
  index: number;
}

/** The fields of one SignedBatchParametersUpdated event. */
interface BatchEvent {
  marketId: bigint;
  maintenanceMarginBps: bigint;
  initialMarginBps: bigint;
  dataTimestamp: bigint;
  /** The batch digest's low 91 bits (`batchDigestSignal`; an adaptive batch's market: the low 87 its update carries). */
  batchDigestBits: bigint;
  index: number;
}

/** Everything fixed for one audit run. */
interface AuditContext {
  iface: Interface;
  oracle: string;
  domain: bigint;
  signedVkey?: VerificationKey;
  /** Batch verification keys by batch size. */
  batchVkeys: Map<number, VerificationKey>;
  /** Adaptive batch verification keys by batch size. */
  adaptiveBatchVkeys: Map<number, VerificationKey>;
}

const big = (v: unknown) => BigInt(v as bigint);

/** The proof points of decoded call arguments `args[at..at+2]` (pA, pB, pC). */
function proofPoints(args: readonly unknown[], at: number): ProofPoints {
  const pair = (v: unknown): [bigint, bigint] => [big((v as unknown[])[0]), big((v as unknown[])[1])];
  const b = args[at + 1] as readonly unknown[];
  return { a: pair(args[at]), b: [pair(b[0]), pair(b[1])], c: pair(args[at + 2]) };
}

/**
 * The call of the oracle's `name` behind an event: the transaction's own calldata when it called the oracle, else
 * the first such call embedded in its calldata (a forwarding contract; ABI encoding keeps a forwarded `bytes`
 * argument contiguous) that `isFor` the event. A call found either way is then checked against the event, so a
 * wrapper that passed the oracle something else than its own calldata shows as a mismatch. Returns the reason
 * when there is none.
 */
function findCall<T>(
  ctx: AuditContext,
  tx: TransactionResponse | null,
  name: "submitSignedUpdate" | "submitSignedBatch" | "submitAdaptiveBatch",
  decode: (args: readonly unknown[]) => T,
  isFor: (call: T) => boolean,
): T | string {
  const undecodable = `cannot decode the ${name} call`;
  if (tx === null) return `${undecodable}: the node does not return the transaction`;
  const fragment = ctx.iface.getFunction(name);
  if (!fragment) throw new ZkriskError("ORACLE_ABI", `the oracle ABI has no ${name}`);
  const selector = fragment.selector.slice(2);
  const data = tx.data.toLowerCase();
  if (tx.to !== null && getAddress(tx.to) === ctx.oracle && data.startsWith(`0x${selector}`)) {
    try {
      return decode(ctx.iface.decodeFunctionData(fragment, data));
    } catch (err) {
      return `${undecodable}: ${(err as Error).message}`;
    }
  }
  for (let at = data.indexOf(selector, 2); at >= 0; at = data.indexOf(selector, at + 1)) {
    if (at % 2 !== 0) continue;
    try {
      const call = decode(ctx.iface.decodeFunctionData(fragment, `0x${data.slice(at)}`));
      if (isFor(call)) return call;
    } catch {
      // not a call at this offset
    }
  }
  return (
    `${undecodable}: transaction ${tx.hash} calls ${tx.to ?? "no contract"}, not the oracle, and its calldata ` +
    `holds no ${name} for this update`
  );
}

/** The snarkjs proof object of calldata points (the verifier takes b's coordinate pairs swapped). */
function proofOf(call: ProofPoints): Groth16Proof {
  const s = (v: bigint) => v.toString();
  return {
    pi_a: [s(call.a[0]), s(call.a[1]), "1"],
    pi_b: [
      [s(call.b[0][1]), s(call.b[0][0])],
      [s(call.b[1][1]), s(call.b[1][0])],
      ["1", "0"],
    ],
    pi_c: [s(call.c[0]), s(call.c[1]), "1"],
    protocol: "groth16",
    curve: "bn128",
  };
}

/** A verifier per verification key given, its key read once (prover/groth16-verifier.ts). */
const verifiers = new WeakMap<VerificationKey, Groth16Verifier>();

/**
 * The Groth16 proof verifies with `vkey` for `pubSignals`, as snarkjs.groth16.verify decides (Groth16Verifier,
 * about 9.3 ms a proof against snarkjs's 30 to 34 (docs/benchmarks.md)).
 */
async function checkProof(
  vkey: VerificationKey,
  points: ProofPoints,
  pubSignals: readonly bigint[],
): Promise<string[]> {
  const signals = pubSignals.map((v) => v.toString());
  try {
    let verifier = verifiers.get(vkey);
    if (verifier === undefined) verifiers.set(vkey, (verifier = new Groth16Verifier(vkey)));
    if (!(await verifier.verify(signals, proofOf(points)))) {
      return ["the Groth16 proof does not verify with the verification key for the submitted public signals"];
    }
  } catch (err) {
    return [`the Groth16 proof cannot be verified: ${(err as Error).message}`];
  }
  return [];
}

/** An event's margins and data timestamp, as the packed signals name them. */
function marginsOf(event: SignedEvent | BatchEvent): { mm: bigint; im: bigint; dataTimestamp: bigint } {
  return { mm: event.maintenanceMarginBps, im: event.initialMarginBps, dataTimestamp: event.dataTimestamp };
}

/** `pack(values)`, or undefined when the values do not fit the packing (then no proven signal is theirs). */
function packedOrNone<T>(pack: (values: T) => bigint, values: T): bigint | undefined {
  try {
    return pack(values);
  } catch {
    return undefined;
  }
}

/**
 * A signed update's call: its public signals are the event's update and digest and the registered statement key,
 * and, with the signed-update verification key, its proof verifies. A call that cannot be found is a gap only
 * when the proof was to be verified.
 */
async function checkSignedCall(
  ctx: AuditContext,
  tx: TransactionResponse | null,
  event: SignedEvent,
  config: PublisherSetConfig,
): Promise<{ flags: string[]; gaps: string[] }> {
  const call = findCall(
    ctx,
    tx,
    "submitSignedUpdate",
    (args) => ({ marketId: big(args[0]), ...proofPoints(args, 1), update: big(args[4]) }),
    (c) => c.marketId === event.marketId && unpackUpdate(c.update).digest === event.windowDigest,
  );
  if (typeof call === "string") {
    return { flags: [], gaps: ctx.signedVkey === undefined ? [] : [`the proof was not verified: ${call}`] };
  }
  const flags: string[] = [];
  const update = packedOrNone(packUpdate, { ...marginsOf(event), digest: event.windowDigest });
  // The call carries the update only: the oracle checks the statement through the point it stored for the
  // registered key, so the proof is verified here against that key.
  if (call.update !== update) {
    flags.push(
      `the proven update signal ${call.update} is not the event's margins, data timestamp and digest`,
    );
  }
  if (call.marketId !== event.marketId) {
    flags.push(
      `submitSignedUpdate was called for market ${call.marketId}, the event is for ${event.marketId}`,
    );
  }
  if (ctx.signedVkey !== undefined) {
    const publicSignals = UPDATE_SIGNALS.map((name) =>
      name === "update" ? call.update : config.statementKey,
    );
    flags.push(...(await checkProof(ctx.signedVkey, call, publicSignals)));
  }
  return { flags, gaps: [] };
}

/**
 * An adaptive update's call: its update signal is the event's, and, with the adaptive circuit's verification key,
 * its proof verifies for (update, the registered statement key). A call that cannot be found is a gap only when
 * the proof was to be verified.
 */
async function checkAdaptiveCall(
  ctx: AuditContext,
  tx: TransactionResponse | null,
  event: AdaptiveEvent,
  config: PublisherSetConfig,
  vkey: VerificationKey | undefined,
): Promise<{ flags: string[]; gaps: string[] }> {
  const call = findCall(
    ctx,
    tx,
    "submitSignedUpdate",
    (args) => ({ marketId: big(args[0]), ...proofPoints(args, 1), update: big(args[4]) }),
    (c) => c.marketId === event.marketId && c.update === event.update,
  );
  if (typeof call === "string") {
    return { flags: [], gaps: vkey === undefined ? [] : [`the proof was not verified: ${call}`] };
  }
  const flags: string[] = [];
  if (call.update !== event.update) {
    flags.push(`the proven update signal ${call.update} is not the event's ${event.update}`);
  }
  if (call.marketId !== event.marketId) {
    flags.push(
      `submitSignedUpdate was called for market ${call.marketId}, the event is for ${event.marketId}`,
    );
  }
  if (vkey !== undefined) flags.push(...(await checkProof(vkey, call, [call.update, config.statementKey])));
  return { flags, gaps: [] };
}

/** A `submitSignedBatch` (or `submitAdaptiveBatch`: one update per market) call's arguments: proof, constants, varying signals. */
interface BatchCall extends ProofPoints {
  marketIds: bigint[];
  /** Each market's model commitment, in the batch's order. */
  modelCommitments: bigint[];
  publisherSet: bigint;
  update: bigint[];
}

/** The arguments of a `submitSignedBatch` or `submitAdaptiveBatch` call (the same signature). */
function batchCallOf(args: readonly unknown[]): BatchCall {
  return {
    ...proofPoints(args, 0),
    marketIds: (args[3] as readonly unknown[]).map(big),
    modelCommitments: (args[4] as readonly unknown[]).map(big),
    publisherSet: big(args[5]),
    update: (args[6] as readonly unknown[]).map(big),
  };
}

/**
 * The checks of a found batch call shared by both kinds: `rows` (what the kind's signals carry against the
 * event) and the market's model and publisher set against the ones registered for it; with `vkey`, its proof
 * verifies for its signals and this oracle's domain.
 */
async function batchCallFlags(
  ctx: AuditContext,
  call: BatchCall,
  index: number,
  config: PublisherSetConfig,
  what: string,
  rows: [string, bigint, bigint, string][],
  vkey: VerificationKey | undefined,
): Promise<string[]> {
  const flags: string[] = [];
  const expected: [string, bigint, bigint, string][] = [
    ...rows,
    [
      "model commitment",
      call.modelCommitments[index],
      config.modelCommitment,
      "the market's registered model",
    ],
    ["publisher set", call.publisherSet, config.publisherSet, "the market's publisher set in force"],
  ];
  for (const [name, value, want, whose] of expected) {
    if (value !== want)
      flags.push(`the ${what} proof's ${name} ${String(value)} is not ${whose} ${String(want)}`);
  }
  if (vkey !== undefined) {
    // The proof's public signals in the circuit's order, the domain this oracle's (the oracle passes its own).
    const signals = [
      ...call.update,
      ...call.modelCommitments,
      call.publisherSet,
      ...call.marketIds,
      ctx.domain,
    ];
    flags.push(...(await checkProof(vkey, call, signals)));
  }
  return flags;
}

/**
 * A batch market's call: its varying signals carry the event's data timestamp, batch digest bits and, at the
 * event's index, the event's margins; its market id at that index is the event's market, its model and publisher
 * set are the ones registered for the market at that block; with a verification key of its batch size, its proof
 * verifies for those signals and this oracle's domain. A call that cannot be found is a gap only when batch proofs
 * were to be verified.
 */
async function checkBatchCall(
  ctx: AuditContext,
  tx: TransactionResponse | null,
  event: BatchEvent,
  config: PublisherSetConfig,
): Promise<{ flags: string[]; gaps: string[] }> {
  const digestBitsOf = (update: readonly bigint[]) =>
    update.length === 0
      ? undefined
      : (update[0] >> BigInt(BATCH_PACKING.digestShift)) & ((1n << BigInt(BATCH_PACKING.digestBits)) - 1n);
  const call = findCall(
    ctx,
    tx,
    "submitSignedBatch",
    batchCallOf,
    (c) => digestBitsOf(c.update) === event.batchDigestBits && c.marketIds[event.index] === event.marketId,
  );
  if (typeof call === "string") {
    return { flags: [], gaps: ctx.batchVkeys.size === 0 ? [] : [`the proof was not verified: ${call}`] };
  }
  const n = call.marketIds.length;
  const layout = n >= 1 ? batchSignalLayout(n) : undefined;
  if (
    layout === undefined ||
    event.index >= n ||
    call.update.length !== layout.varying ||
    call.modelCommitments.length !== n
  ) {
    return {
      flags: [
        `the submitSignedBatch call proves ${n} market(s) with ${call.update.length} varying signal(s) and ` +
          `${call.modelCommitments.length} model commitment(s), the event's index is ${event.index}`,
      ],
      gaps: [],
    };
  }
  const proven = unpackBatchUpdate(n, call.update);
  const i = event.index;
  const flags = await batchCallFlags(
    ctx,
    call,
    i,
    config,
    "batch",
    [
      ["market id", call.marketIds[i], event.marketId, "the event's market"],
      ["data timestamp", proven.dataTimestamp, event.dataTimestamp, "the event's"],
      ["batch digest bits", proven.digest, event.batchDigestBits, "the event's"],
      ["maintenance margin", proven.markets[i].mm, event.maintenanceMarginBps, "the event's"],
      ["initial margin", proven.markets[i].im, event.initialMarginBps, "the event's"],
    ],
    ctx.batchVkeys.get(n),
  );
  return { flags, gaps: [] };
}

/**
 * An adaptive batch market's call: its update at the event's index is the event's, its market id there the
 * event's market, its model and publisher set the market's registered ones; with an adaptive batch verification
 * key of its size, its proof verifies for those signals and this oracle's domain. A call that cannot be found is
 * a gap only when adaptive batch proofs were to be verified.
 */
async function checkAdaptiveBatchCall(
  ctx: AuditContext,
  tx: TransactionResponse | null,
  event: AdaptiveBatchEvent,
  config: PublisherSetConfig,
): Promise<{ flags: string[]; gaps: string[] }> {
  const call = findCall(
    ctx,
    tx,
    "submitAdaptiveBatch",
    batchCallOf,
    (c) => c.update[event.index] === event.update && c.marketIds[event.index] === event.marketId,
  );
  if (typeof call === "string") {
    return {
      flags: [],
      gaps: ctx.adaptiveBatchVkeys.size === 0 ? [] : [`the proof was not verified: ${call}`],
    };
  }
  const n = call.marketIds.length;
  if (event.index >= n || call.update.length !== n || call.modelCommitments.length !== n) {
    return {
      flags: [
        `the submitAdaptiveBatch call proves ${n} market(s) with ${call.update.length} update(s) and ` +
          `${call.modelCommitments.length} model commitment(s), the event's index is ${event.index}`,
      ],
      gaps: [],
    };
  }
  const i = event.index;
  const flags = await batchCallFlags(
    ctx,
    call,
    i,
    config,
    "adaptive batch",
    [
      ["update", call.update[i], event.update, "the event's"],
      ["market id", call.marketIds[i], event.marketId, "the event's market"],
    ],
    ctx.adaptiveBatchVkeys.get(n),
  );
  return { flags, gaps: [] };
}

/** Refuse options that cannot give a meaningful audit; errors name the option and the value. */
function checkOptions(opts: AuditOptions): {
  batchVkeys: Map<number, VerificationKey>;
  adaptiveBatchVkeys: Map<number, VerificationKey>;
} {
  if (!isAddress(opts.oracle)) throw new UsageError(`oracle: '${opts.oracle}' is not an address`);
  if (opts.data !== undefined) {
    const problem = marketLabelProblem(opts.data.market);
    if (problem !== undefined) throw new UsageError(`data.market: ${problem}`);
  }
  if (opts.signedVkey !== undefined && opts.signedVkey.nPublic !== UPDATE_SIGNALS.length) {
    throw new UsageError(
      `signedVkey: the verification key takes ${opts.signedVkey.nPublic} public signals, signed updates have ` +
        `${UPDATE_SIGNALS.length}`,
    );
  }
  const batchVkeys = new Map<number, VerificationKey>();
  for (const [i, vkey] of (opts.batchVkeys ?? []).entries()) {
    let n: number;
    try {
      n = batchSizeOfKey(vkey);
    } catch {
      throw new UsageError(
        `batchVkeys[${i}]: the verification key takes ${vkey.nPublic} public signals, no signed batch's ` +
          "(V + 2N + 2 for N markets, circuits/public-signals.ts)",
      );
    }
    if (batchVkeys.has(n)) throw new UsageError(`batchVkeys[${i}]: a second key for batches of ${n} markets`);
    batchVkeys.set(n, vkey);
  }
  const adaptiveBatchVkeys = new Map<number, VerificationKey>();
  for (const [i, vkey] of (opts.adaptiveBatchVkeys ?? []).entries()) {
    let n: number;
    try {
      n = batchSizeOfKey(vkey, true);
    } catch {
      throw new UsageError(
        `adaptiveBatchVkeys[${i}]: the verification key takes ${vkey.nPublic} public signals, no adaptive ` +
          "batch's (3N + 2 for N markets, circuits/public-signals.ts)",
      );
    }
    if (adaptiveBatchVkeys.has(n)) {
      throw new UsageError(`adaptiveBatchVkeys[${i}]: a second key for adaptive batches of ${n} markets`);
    }
    adaptiveBatchVkeys.set(n, vkey);
  }
  for (const [name, v] of [
    ["fromBlock", opts.fromBlock],
    ["toBlock", opts.toBlock],
  ] as const) {
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) {
      throw new UsageError(`${name}: ${v} is not a block number`);
    }
  }
  if (
    opts.logChunk !== undefined &&
    (!Number.isSafeInteger(opts.logChunk) || opts.logChunk < MIN_LOG_CHUNK)
  ) {
    throw new UsageError(`logChunk: ${opts.logChunk} is not a number of blocks >= ${MIN_LOG_CHUNK}`);
  }
  return { batchVkeys, adaptiveBatchVkeys };
}

/** An adaptive update found in range: its entry in the report, its checks so far, its window and digest. */
interface AdaptiveFound {
  at: number;
  flags: string[];
  gaps: string[];
  window?: Window;
  windowDigest?: bigint;
}

/**
 * Audit every update an oracle accepted in a block range (all markets). Each update gets a verdict and the
 * reasons; a failed check never stops the audit. Throws only for unusable options (UsageError) and for RPC
 * failures.
 * @returns the report, updates in chain order
 */
export async function auditOracle(opts: AuditOptions): Promise<AuditReport> {
  const { batchVkeys, adaptiveBatchVkeys } = checkOptions(opts);
  const { provider } = opts;
  const oracle = getAddress(opts.oracle);
  const chainId = (await provider.getNetwork()).chainId;
  if (opts.chainId !== undefined && opts.chainId !== chainId) {
    throw new UsageError(`chainId: the node serves chain ${chainId}, not chain ${opts.chainId}`);
  }
  if ((await provider.getCode(oracle)) === "0x") {
    throw new UsageError(`oracle: no contract at ${oracle} on chain ${chainId}`);
  }
  // Another contract (the verifier's address given by mistake) has no events of the oracle: an audit of it would
  // find no update and pass.
  await checkRiskOracle(provider, oracle, "oracle");
  const iface = oracleInterface();
  const fromBlock = opts.fromBlock ?? 0;
  // The latest block itself, not getBlockNumber(): ethers answers that from a cache refreshed by polling.
  const head = (await provider.getBlock("latest"))?.number;
  if (head === undefined) throw new ZkriskError("RPC_FAILED", "the node does not return its latest block");
  // A range past the head would be reported as audited while its blocks do not exist yet.
  if (opts.toBlock !== undefined && opts.toBlock > head) {
    throw new UsageError(`toBlock: ${opts.toBlock} is beyond the chain's latest block, ${head}`);
  }
  const toBlock = opts.toBlock ?? head;
  if (fromBlock > toBlock) throw new UsageError(`fromBlock: ${fromBlock} is after toBlock ${toBlock}`);
  const ctx: AuditContext = {
    iface,
    oracle,
    domain: oracleDomain(chainId, oracle),
    signedVkey: opts.signedVkey,
    batchVkeys,
    adaptiveBatchVkeys,
  };
  const modelsGiven = [
    ...(opts.model === undefined ? [] : [{ model: opts.model, path: opts.modelPath ?? "the model" }]),
    ...(opts.models ?? []),
  ];
  const models: AuditModel[] = [];
  for (const m of modelsGiven) {
    const commitment = await modelCommitment(m.model);
    // the same model given twice is looked up once
    if (modelInForce(models, commitment) === undefined) models.push({ ...m, commitment });
  }

  const topic = (name: string) => {
    const e = iface.getEvent(name);
    if (!e) throw new ZkriskError("ORACLE_ABI", `the oracle ABI has no ${name} event`);
    return e.topicHash;
  };
  const [SIGNED, BATCH, SET_CHANGED, ADAPTIVE, ADAPTIVE_SET, ADAPTIVE_BATCH] = [
    "SignedParametersUpdated",
    "SignedBatchParametersUpdated",
    "PublisherSetChanged",
    "AdaptiveParametersUpdated",
    "AdaptiveCalibrationSet",
    "AdaptiveBatchParametersUpdated",
  ].map(topic);
  const logs: Log[] = await getLogsChunked(provider, {
    filter: {
      address: oracle,
      topics: [[SIGNED, BATCH, SET_CHANGED, ADAPTIVE, ADAPTIVE_SET, ADAPTIVE_BATCH]],
    },
    fromBlock,
    toBlock,
    chunk: opts.logChunk,
    onProgress: opts.onLogProgress,
  });
  // The replay of an adaptive market starts at its AdaptiveCalibrationSet: with updates in range, the adaptive
  // events before the range are read too, and the set changes (the model in force at the replay's first update,
  // whose calibrationNum the initial num must be).
  const history: Log[] =
    fromBlock > 0 && logs.some((l) => l.topics[0] === ADAPTIVE || l.topics[0] === ADAPTIVE_BATCH)
      ? await getLogsChunked(provider, {
          filter: { address: oracle, topics: [[ADAPTIVE, ADAPTIVE_SET, ADAPTIVE_BATCH, SET_CHANGED]] },
          fromBlock: 0,
          toBlock: fromBlock - 1,
          chunk: opts.logChunk,
        })
      : [];
  const adaptiveHistory = history.filter((l) => l.topics[0] !== SET_CHANGED);
  // Started ahead of the update that needs them (lookahead.ts), kept for the updates that share them.
  const txs = new Map<string, Promise<TransactionResponse | null>>();
  const blockTimes = new Map<number, Promise<number>>();
  const blockTime = async (n: number): Promise<number> => {
    const block = await provider.getBlock(n);
    if (!block) throw new ZkriskError("RPC_FAILED", `the node does not return block ${n}`);
    return block.timestamp;
  };

  // The publisher set in force at each update, from the set changes read (else the oracle's at toBlock).
  const changes = new Map<bigint, PublisherSetChange[]>();
  for (const log of [...history, ...logs].filter((l) => l.topics[0] === SET_CHANGED)) {
    const change = toSetChange(iface, log);
    changes.set(change.marketId, [...(changes.get(change.marketId) ?? []), change]);
  }
  const heldAtEnd = new Map<bigint, Promise<PublisherSetConfig>>();
  const configOf = async (log: Log, marketId: bigint): Promise<PublisherSetConfig> => {
    const inRange = setInForce(changes.get(marketId) ?? [], { block: log.blockNumber, logIndex: log.index });
    if (inRange !== undefined) return inRange;
    return startedOnce(heldAtEnd, marketId, () => publisherSetAt(provider, iface, oracle, marketId, toBlock));
  };
  const updateLogs = logs.filter((l) => l.topics[0] !== SET_CHANGED && l.topics[0] !== ADAPTIVE_SET);
  const inForce = new Map<Log, PublisherSetConfig>();
  for (const log of updateLogs) inForce.set(log, await configOf(log, marketOf(iface, log)));
  checkSetFiles(opts.publisherSets ?? [], [...inForce.values()]);
  const windowSources = (opts.windowSources ?? []).map((source) => new LookaheadWindowSource(source));
  const batchSources = (opts.batchSources ?? []).map((source) => new LookaheadBatchSource(source));
  const signedCtx: SignedAuditContext = {
    domain: ctx.domain,
    sources: windowSources,
    batchSources,
    sets: new Map((opts.publisherSets ?? []).map((s) => [s.commitment, s])),
    models,
    data: opts.data && {
      series: opts.data.series,
      byTime: candlesByTime(opts.data.series),
      marketId: marketIdOf(opts.data.market),
    },
  };

  // the adaptive rule, loaded at the first adaptive update when given as a function
  const given = opts.adaptive;
  let adaptiveRule: AdaptiveRuleSource | undefined = typeof given === "function" ? undefined : given;
  const needAdaptiveRule = () => (adaptiveRule ??= typeof given === "function" ? given() : undefined);

  const updates: AuditedUpdate[] = [];
  /**
   * Adaptive markets replayed as their updates are read (history before the range first), with the rule once
   * loaded: each adaptive update in range is settled once its checks are done.
   */
  const replays = new AdaptiveReplays(
    iface,
    [...adaptiveHistory, ...logs],
    { ADAPTIVE, ADAPTIVE_SET, ADAPTIVE_BATCH },
    {
      rule: () => adaptiveRule?.rule,
      models,
      modelCommitmentOf: async (log) => (await configOf(log, marketOf(iface, log))).modelCommitment,
      candlesOf: (marketId) =>
        signedCtx.data !== undefined && signedCtx.data.marketId === marketId
          ? signedCtx.data.byTime
          : undefined,
    },
  );
  /**
   * The documents an update is checked against: its market and data timestamp, in signed batches (a batch's or an
   * adaptive batch's update) or in windows, decoded as the loop below decodes each kind of event.
   */
  const documentsOf = (log: Log): { marketId: bigint; dataTimestamp: bigint; inBatch: boolean } => {
    if (log.topics[0] === SIGNED) return { ...toSignedEvent(iface, log), inBatch: false };
    if (log.topics[0] === BATCH) return { ...toBatchEvent(iface, log), inBatch: true };
    const ev = log.topics[0] === ADAPTIVE ? toAdaptiveEvent(iface, log) : toAdaptiveBatchEvent(iface, log);
    const { dataTimestamp } = unpackAdaptiveUpdate(ev.update);
    return { marketId: ev.marketId, dataTimestamp, inBatch: log.topics[0] === ADAPTIVE_BATCH };
  };
  /** Starts the reads of an update: its transaction, its block, and its windows or batches from every source. */
  const startReads = (log: Log): void => {
    void startedOnce(txs, log.transactionHash, () => provider.getTransaction(log.transactionHash));
    void startedOnce(blockTimes, log.blockNumber, () => blockTime(log.blockNumber));
    const market = marketLabel(marketOf(iface, log));
    const { marketId, dataTimestamp, inBatch } = documentsOf(log);
    const endTimeMs = Number(dataTimestamp) * 1000;
    for (const source of inBatch ? batchSources : windowSources) source.start(market, marketId, endTimeMs);
  };
  let readsStarted = 0;
  for (const [i, log] of updateLogs.entries()) {
    for (; readsStarted < Math.min(updateLogs.length, i + 1 + LOOKAHEAD_UPDATES); readsStarted++) {
      startReads(updateLogs[readsStarted]);
    }
    const tx = await startedOnce(txs, log.transactionHash, () =>
      provider.getTransaction(log.transactionHash),
    );
    const blockTimestamp = await startedOnce(blockTimes, log.blockNumber, () => blockTime(log.blockNumber));
    const config = inForce.get(log) as PublisherSetConfig;
    // The oracle checked the update with the domain of the chain it ran on, the one its transaction was signed
    // for: on a fork, the original chain's before the split (its keys and batch domain), the fork's after it.
    const txChain = tx === null || tx.chainId === 0n ? chainId : tx.chainId;
    const domain = txChain === chainId ? ctx.domain : oracleDomain(txChain, oracle);
    const callCtx = { ...ctx, domain };
    const docCtx = { ...signedCtx, domain };
    const at = {
      block: log.blockNumber,
      blockTimestamp,
      txHash: log.transactionHash,
      logIndex: log.index,
      submitter: tx === null ? "" : getAddress(tx.from),
      chainId: txChain,
    };
    const facts = { market: marketLabel(marketOf(iface, log)), blockTimestamp };
    let found: {
      ev: Parameters<typeof common>[0];
      detail: Pick<AuditedUpdate, "kind" | "signed" | "batch" | "adaptive">;
      checks: { flags: string[]; gaps: string[] }[];
      /** An adaptive update's window and digest, for its replay. */
      adaptive?: { window?: Window; windowDigest?: bigint };
    };
    if (log.topics[0] === SIGNED) {
      const ev = toSignedEvent(iface, log);
      const audit = await auditSignedUpdate(docCtx, { ...ev, ...facts }, config);
      const call = await checkSignedCall(callCtx, tx, ev, config);
      found = { ev, detail: { kind: "signed", signed: audit.detail }, checks: [call, audit] };
    } else if (log.topics[0] === ADAPTIVE_BATCH) {
      // One market of an adaptive batch: the batch checks (signed batches by the digest's bits, the market at
      // its index, margins at the proven calibration) and the adaptive transition, replayed below (with the rule,
      // loaded now if given as a function).
      needAdaptiveRule();
      const event = toAdaptiveBatchEvent(iface, log);
      const u = unpackAdaptiveUpdate(event.update);
      const ev: BatchEvent = {
        marketId: event.marketId,
        maintenanceMarginBps: u.mm,
        initialMarginBps: u.im,
        dataTimestamp: u.dataTimestamp,
        batchDigestBits: u.digest,
        index: event.index,
      };
      const audit = await auditSignedBatchUpdate(
        docCtx,
        { ...ev, ...facts, adaptive: { calibrationNum: stateToNum(u.after.num) } },
        config,
      );
      const call = await checkAdaptiveBatchCall(callCtx, tx, event, config);
      found = {
        ev,
        detail: { kind: "batch", batch: audit.detail, adaptive: adaptiveDetailOf(u) },
        checks: [call, audit],
        adaptive: audit,
      };
    } else if (log.topics[0] === ADAPTIVE) {
      const rule = needAdaptiveRule();
      const event = toAdaptiveEvent(iface, log);
      const u = unpackAdaptiveUpdate(event.update);
      const ev = {
        marketId: event.marketId,
        maintenanceMarginBps: u.mm,
        initialMarginBps: u.im,
        dataTimestamp: u.dataTimestamp,
        windowDigest: u.digest,
      };
      const audit = await auditSignedUpdate(
        docCtx,
        { ...ev, ...facts, adaptive: { calibrationNum: stateToNum(u.after.num) } },
        config,
      );
      const call = await checkAdaptiveCall(callCtx, tx, event, config, rule?.vkey);
      found = {
        ev,
        detail: { kind: "adaptive", signed: audit.detail, adaptive: adaptiveDetailOf(u) },
        checks: [call, audit],
        adaptive: audit,
      };
    } else {
      const ev = toBatchEvent(iface, log);
      const audit = await auditSignedBatchUpdate(docCtx, { ...ev, ...facts }, config);
      const call = await checkBatchCall(callCtx, tx, ev, config);
      found = { ev, detail: { kind: "batch", batch: audit.detail }, checks: [call, audit] };
    }
    const flags = found.checks.flatMap((c) => c.flags);
    const gaps = found.checks.flatMap((c) => c.gaps);
    updates.push(verdict({ ...common(found.ev), ...at, ...found.detail }, flags, gaps));
    if (found.adaptive !== undefined) {
      const { window, windowDigest } = found.adaptive;
      await replays.settle(log, { at: updates.length - 1, flags, gaps, window, windowDigest }, updates);
    }
    opts.onUpdateProgress?.(updates.length, updateLogs.length);
  }

  const lostReports = replays.lostReports();

  const count = (s: AuditStatus) => updates.filter((u) => u.status === s).length;
  return {
    oracle,
    chainId,
    fromBlock,
    toBlock,
    checks: {
      models: models.map((m) => ({ path: m.path, commitment: m.commitment })),
      data: opts.data ? { candles: opts.data.series.source, market: opts.data.market } : null,
      signedProof: opts.signedVkey !== undefined,
      adaptiveRule: adaptiveRule?.source ?? null,
      adaptiveProof: adaptiveRule?.vkey !== undefined,
      batchProofs: [...batchVkeys.keys()].sort((x, y) => x - y),
      windows: (opts.windowSources ?? []).map((s) => s.name),
      batches: (opts.batchSources ?? []).map((s) => s.name),
      publisherSets: (opts.publisherSets ?? []).map((s) => ({ file: s.file, commitment: s.commitment })),
    },
    updates,
    ok: count("ok"),
    failed: updates.length - count("ok"),
    flagged: count("flagged"),
    unverifiable: count("unverifiable"),
    lostOutcomes: lostReports,
    suspicious: lostReports.some((r) => r.suspicious),
  };
}

/** The fields every kind of update has from its event. */
function common(ev: {
  marketId: bigint;
  dataTimestamp: bigint;
  maintenanceMarginBps: bigint;
  initialMarginBps: bigint;
}): Pick<
  AuditedUpdate,
  "marketId" | "market" | "dataTimestamp" | "dataTimestampIso" | "maintenanceMarginBps" | "initialMarginBps"
> {
  return {
    marketId: ev.marketId,
    market: marketLabel(ev.marketId),
    dataTimestamp: Number(ev.dataTimestamp),
    dataTimestampIso: isoFromSeconds(ev.dataTimestamp),
    maintenanceMarginBps: Number(ev.maintenanceMarginBps),
    initialMarginBps: Number(ev.initialMarginBps),
  };
}

/** An audited update from its facts, what failed and what could not be checked. */
function verdict(
  facts: Omit<AuditedUpdate, "status" | "ok" | "reasons" | "missing">,
  reasons: string[],
  missing: string[],
): AuditedUpdate {
  const status: AuditStatus = reasons.length > 0 ? "flagged" : missing.length > 0 ? "unverifiable" : "ok";
  return { ...facts, status, ok: status === "ok", reasons, missing };
}

/** The parsed arguments of an oracle event. */
function argsOf(iface: Interface, log: Log) {
  const parsed = iface.parseLog(log);
  if (!parsed)
    throw new ZkriskError("ORACLE_ABI", `log ${log.index} of ${log.transactionHash} is no oracle event`);
  return parsed.args;
}

/** The market an update event is for. */
function marketOf(iface: Interface, log: Log): bigint {
  return BigInt(argsOf(iface, log).marketId);
}

/** The fields every update event has: market, margins and data timestamp. */
function updateFields(a: ReturnType<typeof argsOf>): Omit<SignedEvent, "windowDigest"> {
  return {
    marketId: BigInt(a.marketId),
    maintenanceMarginBps: BigInt(a.maintenanceMarginBps),
    initialMarginBps: BigInt(a.initialMarginBps),
    dataTimestamp: BigInt(a.dataTimestamp),
  };
}

/** The fields of one SignedParametersUpdated event. */
function toSignedEvent(iface: Interface, log: Log): SignedEvent {
  const a = argsOf(iface, log);
  return { ...updateFields(a), windowDigest: BigInt(a.windowDigest) };
}

/** The fields of one AdaptiveParametersUpdated event (or the market and update of an adaptive batch's). */
function toAdaptiveEvent(iface: Interface, log: Log): AdaptiveEvent {
  const a = argsOf(iface, log);
  return { marketId: BigInt(a.marketId), update: BigInt(a.update) };
}

/** The fields of one AdaptiveBatchParametersUpdated event. */
function toAdaptiveBatchEvent(iface: Interface, log: Log): AdaptiveBatchEvent {
  const a = argsOf(iface, log);
  return { marketId: BigInt(a.marketId), update: BigInt(a.update), index: Number(a.index) };
}

/** The transition an adaptive update carries, before the replay's verdict. */
function adaptiveDetailOf(u: ReturnType<typeof unpackAdaptiveUpdate>): AdaptiveUpdateDetail {
  return {
    prior: {
      num: u.before.num,
      outcomes: Number(u.before.outcomes),
      marginS: Number(u.marginS),
      lag: Number(u.lag),
    },
    next: { num: u.after.num, outcomes: Number(u.after.outcomes) },
    outcome: "unknown",
    replay: "unverifiable",
  };
}

/** What the adaptive replay needs of the audit: the rule, the models given, the chain's and the candles' facts. */
interface AdaptiveReplayContext {
  /** The rule adaptive markets run, once loaded (the audit loads it at the first adaptive update in range). */
  rule: () => AdaptiveRule | undefined;
  /**
   * The models given: each update is replayed with the one in force for it, and an epoch's initial num checked
   * against the one in force at its first update.
   */
  models: readonly AuditModel[];
  /** The model commitment in force at an update (in range or before it). */
  modelCommitmentOf: (log: Log) => Promise<bigint>;
  /** The independent candles of a market, by open time (ms), when `--data` holds that market's. */
  candlesOf: (marketId: bigint) => ReadonlyMap<number, IntegerCandle> | undefined;
}

/** One adaptive market's updates since an `AdaptiveCalibrationSet`, and its replay as far as it has gone. */
interface AdaptiveEpoch {
  marketId: bigint;
  /** Governance's initial num; undefined when the epoch began before the logs read (its set not found). */
  initialNum: bigint | undefined;
  logs: Log[];
  /** The next of `logs` to replay. */
  next: number;
  /** Set at the epoch's first update in range, when its replay starts. */
  started?: {
    /** Undefined when the state cannot be replayed (no rule, no initial num or no model): each update is a gap. */
    replay: AdaptiveReplay | undefined;
    /** When `replay` is undefined: the gap, and what each update's detail says. */
    unreplayed?: { why: string; patch: Partial<AdaptiveUpdateDetail> };
    lost: LostOutcomeTracker;
    /** The check of the initial num, told at the first update in range. */
    initialFlags: string[];
    initialGaps: string[];
  };
}

/**
 * Each adaptive market replayed from its `AdaptiveCalibrationSet` (audit-adaptive.ts) over its
 * `AdaptiveParametersUpdated` events in chain order (history before the range first), as the audit reads them:
 * `settle` replays an update in range as soon as its checks are done and folds the verdict into its entry, so no
 * window is held beyond the dozen the lost outcomes need. A market made adaptive again starts a new replay; the
 * initial num must be the registered model's calibrationNum * 2^8 (checked when the model in force at the epoch's
 * first update was given, else a gap at the epoch's first update in range). Without a rule, or without the market's
 * AdaptiveCalibrationSet, the replay is a gap.
 */
class AdaptiveReplays {
  /** Each update's epoch and place in it. */
  private readonly placeOf = new Map<Log, { epoch: AdaptiveEpoch; index: number }>();
  /** Per market in order of first appearance: the outcomes lost at its updates in range, once one is replayed. */
  private readonly lostOf = new Map<bigint, LostOutcome[] | undefined>();

  constructor(
    private readonly iface: Interface,
    logs: readonly Log[],
    private readonly topics: { ADAPTIVE: string; ADAPTIVE_SET: string; ADAPTIVE_BATCH: string },
    private readonly ctx: AdaptiveReplayContext,
  ) {
    const current = new Map<bigint, AdaptiveEpoch>();
    for (const log of logs) {
      const a = argsOf(iface, log);
      const marketId = BigInt(a.marketId);
      if (!this.lostOf.has(marketId)) this.lostOf.set(marketId, undefined);
      if (log.topics[0] === topics.ADAPTIVE_SET) {
        current.set(marketId, { marketId, initialNum: BigInt(a.num), logs: [], next: 0 });
      } else if (log.topics[0] === topics.ADAPTIVE || log.topics[0] === topics.ADAPTIVE_BATCH) {
        let epoch = current.get(marketId);
        if (epoch === undefined) {
          epoch = { marketId, initialNum: undefined, logs: [], next: 0 };
          current.set(marketId, epoch);
        }
        this.placeOf.set(log, { epoch, index: epoch.logs.length });
        epoch.logs.push(log);
      }
    }
  }

  /**
   * Replay the adaptive update `log` (in range, in chain order after every earlier one of its market) with its
   * window, and fold the verdict into its entry `updates[found.at]` (its checks so far in `found`).
   */
  async settle(log: Log, found: AdaptiveFound, updates: AuditedUpdate[]): Promise<void> {
    const place = this.placeOf.get(log);
    if (place === undefined)
      throw new Error(`log ${log.index} of ${log.transactionHash} is no adaptive update`);
    const { epoch, index } = place;
    const first = epoch.started === undefined;
    const started = (epoch.started ??= await this.start(epoch));
    // the updates before it (before the range, or in it: each was settled in turn) step the state
    for (; epoch.next < index; epoch.next++) await this.step(epoch, epoch.logs[epoch.next], undefined);
    const r = await this.step(epoch, log, found);
    epoch.next++;
    const flags = first ? [...started.initialFlags] : [];
    const gaps = first ? [...started.initialGaps] : [];
    let patch: Partial<AdaptiveUpdateDetail>;
    if (r === undefined) {
      gaps.push(started.unreplayed!.why);
      patch = started.unreplayed!.patch;
    } else {
      const outcome =
        r.outcome === undefined ? "unknown" : r.outcome === null ? "none" : r.outcome ? "breach" : "covered";
      if (r.status === "flagged") flags.push(...r.reasons.map((x) => `adaptive replay: ${x}`));
      // a missing window is already a gap of the window checks
      const replay = flags.length > 0 ? "flagged" : gaps.length > 0 ? "unverifiable" : r.status;
      patch = { outcome, replay };
    }
    const u = updates[found.at];
    // verdict replaces the entry's status, ok, reasons and missing
    updates[found.at] = verdict(
      { ...u, adaptive: { ...(u.adaptive as AdaptiveUpdateDetail), ...patch } },
      [...found.flags, ...flags],
      [...found.gaps, ...gaps],
    );
  }

  /** Each market with updates in range: the outcomes lost at them, with their counts and chance. */
  lostReports(): LostOutcomeReport[] {
    const reports: LostOutcomeReport[] = [];
    for (const [marketId, lost] of this.lostOf) {
      if (lost === undefined) continue;
      const count = (o: LostOutcome["outcome"]) => lost.filter((l) => l.outcome === o).length;
      const breaches = count("breach");
      const p = lostBreachesP(lost.length, breaches);
      reports.push({
        marketId,
        market: marketLabel(marketId),
        lost,
        breaches,
        covered: count("covered"),
        unknown: count("unknown"),
        p,
        suspicious: p < SUSPICIOUS_LOST_BREACHES_P,
      });
    }
    return reports;
  }

  /** Start an epoch's replay at its first update in range, where the initial num is checked. */
  private async start(epoch: AdaptiveEpoch): Promise<NonNullable<AdaptiveEpoch["started"]>> {
    const { ctx } = this;
    if (this.lostOf.get(epoch.marketId) === undefined) this.lostOf.set(epoch.marketId, []);
    const lost = new LostOutcomeTracker((time) => ctx.candlesOf(epoch.marketId)?.get(time));
    const rule = ctx.rule();
    if (rule === undefined || epoch.initialNum === undefined) {
      const why =
        rule === undefined
          ? "no adaptive rule (--adaptive-artifacts or --calibrations): the state transition was not replayed"
          : "the market's AdaptiveCalibrationSet was not found: the state transition was not replayed";
      return {
        replay: undefined,
        unreplayed: { why, patch: { replay: "unverifiable" } },
        lost,
        initialFlags: [],
        initialGaps: [],
      };
    }
    const initialNum = epoch.initialNum;
    // without a model the whole replay is a gap; with others only the states are checked
    if (ctx.models.length === 0) {
      const why = "no model (--model): the adaptive state was not replayed";
      return { replay: undefined, unreplayed: { why, patch: {} }, lost, initialFlags: [], initialGaps: [] };
    }
    // the registered model's calibration is the initial state (the model commitment binds it); a wrong one is
    // flagged at the epoch's first update in range (its first update may be before the range), and without the
    // model in force at the epoch's first update it is a gap there
    const first = epoch.logs[0];
    const initialFlags: string[] = [];
    const initialGaps: string[] = [];
    const registered = await ctx.modelCommitmentOf(first);
    const inForce = modelInForce(ctx.models, registered);
    if (inForce === undefined) {
      initialGaps.push(
        `the model in force at the first update from governance's initial num ${initialNum} (block ` +
          `${first.blockNumber}) commits to ${registered}, none of the models given does ` +
          `(${describeModels(ctx.models)}): the initial num was not checked against its calibrationNum ` +
          "(give that model with --model)",
      );
    } else if (initialNum !== BigInt(inForce.model.policy.calibrationNum) << 8n) {
      initialFlags.push(
        `governance set the initial num ${initialNum}, the registered model's calibrationNum ` +
          `${inForce.model.policy.calibrationNum} gives ${BigInt(inForce.model.policy.calibrationNum) << 8n}`,
      );
    }
    return { replay: new AdaptiveReplay(undefined, rule, initialNum), lost, initialFlags, initialGaps };
  }

  /**
   * Step an epoch's replay and its lost outcomes past one update: one in range with what its checks `found` (its
   * window is replayed with the model in force for it, when that one was given: else its margins and step would be
   * another model's, and the window checks already name the gap), one before the range without (only its prior is
   * checked). Returns the replay's verdict, undefined when the state is not replayed.
   */
  private async step(
    epoch: AdaptiveEpoch,
    log: Log,
    found: AdaptiveFound | undefined,
  ): Promise<AdaptiveUpdateAudit | undefined> {
    const { ctx, iface } = this;
    const started = epoch.started!;
    const window = found?.window;
    const model =
      window === undefined || ctx.models.length === 0
        ? undefined
        : modelInForce(ctx.models, await ctx.modelCommitmentOf(log));
    const update = toAdaptiveEvent(iface, log).update;
    const lost = started.lost.step({ update, window });
    // the outcomes lost at an update in range are its market's findings
    if (found !== undefined) this.lostOf.get(epoch.marketId)!.push(...lost);
    return started.replay?.step({
      update,
      ...(window !== undefined &&
        model !== undefined && { window, windowDigest: found!.windowDigest, model: model.model }),
      ...(log.topics[0] === this.topics.ADAPTIVE_BATCH && { inBatch: true }),
    });
  }
}

/** The fields of one SignedBatchParametersUpdated event. */
function toBatchEvent(iface: Interface, log: Log): BatchEvent {
  const a = argsOf(iface, log);
  return { ...updateFields(a), batchDigestBits: BigInt(a.batchDigestBits), index: Number(a.index) };
}

/** One PublisherSetChanged event. */
function toSetChange(iface: Interface, log: Log): PublisherSetChange {
  const a = argsOf(iface, log);
  return {
    marketId: BigInt(a.marketId),
    block: log.blockNumber,
    logIndex: log.index,
    previous: publisherSetConfigOf(a.previous),
    config: publisherSetConfigOf(a.config),
  };
}

/** The publisher set configuration the oracle holds for `marketId` at block `block`. */
async function publisherSetAt(
  provider: Provider,
  iface: Interface,
  oracle: string,
  marketId: bigint,
  block: number,
): Promise<PublisherSetConfig> {
  const data = iface.encodeFunctionData("publisherSet", [marketId]);
  const result = await provider.call({ to: oracle, data, blockTag: block });
  return publisherSetConfigOf(iface.decodeFunctionResult("publisherSet", result)[0]);
}

/**
 * Refuse a publisher set file that is in force for none of the audited updates (the files are one per set in
 * force over the range: another one is a mistake, e.g. a stale set after a rotation).
 */
function checkSetFiles(files: readonly AuditPublisherSet[], inForce: readonly PublisherSetConfig[]): void {
  const used = new Set(inForce.map((c) => c.publisherSet));
  const seen = new Map<bigint, string>();
  for (const f of files) {
    const twin = seen.get(f.commitment);
    if (twin !== undefined) throw new UsageError(`--publishers: ${f.file} and ${twin} hold the same set`);
    seen.set(f.commitment, f.file);
    if (!used.has(f.commitment)) {
      const sets = [...used].map(String);
      throw new UsageError(
        `--publishers: ${f.file} commits to ${String(f.commitment)}, the publisher set in force for none of the ` +
          `audited signed updates (${sets.length === 0 ? "there are none" : `sets in force: ${sets.join(", ")}`})`,
      );
    }
  }
}
