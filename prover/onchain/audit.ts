/**
 * Auditing a RiskOracle: anyone with a JSON-RPC endpoint re-checks every update the oracle accepted.
 *
 * For each `ParametersUpdated` event the audit fetches the transaction, decodes its `submitUpdate` call and
 * checks, each failure a named reason:
 *  1. the Groth16 proof verifies off chain with the verification key for the submitted public signals;
 *  2. the event carries what was proven (margins, commitments, market, data timestamp), the emitted features
 *     are the submitted ones, and the proof is bound to this oracle (domain);
 *  3. the published features are field elements whose Poseidon commitment is the proven input commitment
 *     (the oracle does not check the features, so a submitter could publish others than it proved);
 *  4. with a model: the proof carries the model's commitment, and the integer engine gives the proven
 *     margins on the published features, which were known when the update was accepted (bar closed);
 *  5. with candles: the integer window features of the bar the update names, recomputed from the candles by
 *     the window engine (features/window-features.ts), are the published ones.
 * A signed update (`SignedParametersUpdated`, `submitSignedUpdate`) carries only the digest of its window: it is
 * audited from the publishers' archives and window files against the publisher set in force at its block
 * (audit-signed.ts); its call's public signals are compared with the event and the registered statement key, and
 * its proof is verified again with the signed-update circuit's key when given. Each update ends ok, flagged
 * (`reasons`) or unverifiable (`missing`: evidence the audit could not get, e.g. a window no source holds or a set
 * file not given); an unsigned update is unverifiable only without the verification key of its circuit.
 * The audit reads only: it needs no key, and it never sends a transaction. It reads the events in chunks of
 * blocks, narrower where the node caps the range of one query (get-logs.ts).
 */
import {
  getAddress,
  isAddress,
  type Interface,
  type Log,
  type Provider,
  type TransactionResponse,
} from "ethers";
import { inputCommitment, modelCommitment } from "../../circuits/commitments";
import { FIELD_MODULUS, fromField } from "../../circuits/field";
import {
  PUBLIC_SIGNALS,
  PUBLIC_SIGNAL_INDEX,
  UPDATE_SIGNALS,
  type PublicSignalName,
} from "../../circuits/public-signals";
import { packUpdate, unpackUpdate } from "../../circuits/statement";
import { BoundsError, UsageError, ZkriskError } from "../../models/errors";
import { barWindowFeatures } from "../../features/window-features";
import { inferInteger } from "../../models/integer-engine";
import { checkInputsFit } from "../../models/predict";
import type { QuantizedModel } from "../../models/quantized-model";
import type { CandleSeries } from "../../models/types";
import { oracleDomain } from "../domain";
import { snarkjs, type Groth16Proof, type VerificationKey } from "../setup/snarkjs";
import { MIN_LOG_CHUNK, getLogsChunked, type LogProgress } from "./get-logs";
import { oracleInterface, publisherSetConfigOf, type PublisherSetConfig } from "./oracle";
import { isoFromSeconds } from "../../core/time";
import type { WindowSource } from "../../publisher/window-sources";
import {
  auditSignedUpdate,
  candlesByTime,
  setInForce,
  type AuditPublisherSet,
  type PublisherSetChange,
  type SignedAuditContext,
  type SignedUpdateDetail,
} from "./audit-signed";

/** What {@link auditOracle} audits, and against what. */
export interface AuditOptions {
  /** Read-only connection to the chain the oracle lives on. */
  provider: Provider;
  /** Address of the RiskOracle. */
  oracle: string;
  /**
   * Groth16 verification key of the circuit of unsigned updates (`submitUpdate`). Without it their proofs are
   * not re-verified and they are unverifiable; signed updates do not need it.
   */
  vkey?: VerificationKey;
  /** The quantised model the updates should have been made with (enables checks 4 and 5). */
  model?: QuantizedModel;
  /** Where `model` was read from, for messages. */
  modelPath?: string;
  /** Candles to recompute each update's features from (needs `model`). */
  series?: CandleSeries;
  /** First block to search for events (default 0). */
  fromBlock?: number;
  /** Last block to search for events (default: the latest block). */
  toBlock?: number;
  /**
   * Blocks per `eth_getLogs` query (default 5,000, see prover/onchain/get-logs.ts); halved while the node
   * refuses a range as too large.
   */
  logChunk?: number;
  /** Called after each chunk of events read. */
  onLogProgress?: (progress: LogProgress) => void;
  /**
   * Verification key of the signed-update circuit (three public signals): with it, each signed update's proof is
   * verified again off chain. Without it the proof is not re-verified (its public signals are still compared with
   * the event and the registered statement key), which leaves the verdict unchanged: the margins are recomputed
   * from the signed window either way.
   */
  signedVkey?: VerificationKey;
  /** Where the windows of signed updates are looked up (publishers' archives, window directories), in order. */
  windowSources?: WindowSource[];
  /**
   * Publisher set files, one per set in force over the audited signed updates (each must be one of them); a signed
   * update whose set has no file here is unverifiable.
   */
  publisherSets?: AuditPublisherSet[];
}

/** The verdict on an update: every check passed, a check failed, or a check could not be made. */
export type AuditStatus = "ok" | "flagged" | "unverifiable";

/** The audit of one accepted update. */
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
  /** Account that submitted the update (the event's `submitter`). */
  submitter: string;
  /** Margins the oracle accepted (bps of notional). */
  maintenanceMarginBps: number;
  initialMarginBps: number;
  /** How it was accepted: `submitUpdate` or `submitSignedUpdate`. */
  kind: "update" | "signed";
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
}

/** The audit of an oracle. */
export interface AuditReport {
  /** Oracle address (EIP-55). */
  oracle: string;
  chainId: bigint;
  /** Block range searched, inclusive. */
  fromBlock: number;
  toBlock: number;
  /** What each update was checked against: the proof and commitments always; model and data when given. */
  checks: {
    proof: true;
    inputCommitment: true;
    /** Path (or label) of the model, and its commitment; null when no model was given. */
    model: { path: string; commitment: bigint } | null;
    /** Source of the candles; null when none were given. */
    data: { candles: string } | null;
    /** Whether signed updates' proofs were verified again (a signed-update verification key was given). */
    signedProof: boolean;
    /** Where the windows of signed updates were looked up, and the publisher set files given. */
    windows: string[];
    publisherSets: { file: string; commitment: bigint }[];
  };
  /** Every accepted update in the range, in chain order. */
  updates: AuditedUpdate[];
  /** Number of updates that passed, and that did not (flagged + unverifiable). */
  ok: number;
  failed: number;
  flagged: number;
  unverifiable: number;
}

/** The Groth16 proof points of a call, as the verifier contract takes them. */
interface ProofPoints {
  a: [bigint, bigint];
  b: [[bigint, bigint], [bigint, bigint]];
  c: [bigint, bigint];
}

/** The decoded arguments of one `submitUpdate` call. */
interface SubmitCall extends ProofPoints {
  marketId: bigint;
  pubSignals: bigint[];
  features: bigint[];
}

/** The fields of one ParametersUpdated event. */
interface UpdateEvent {
  marketId: bigint;
  maintenanceMarginBps: bigint;
  initialMarginBps: bigint;
  modelCommitment: bigint;
  inputCommitment: bigint;
  dataTimestamp: bigint;
  submitter: string;
  features: bigint[];
}

/** Everything fixed for one audit run. */
interface AuditContext {
  iface: Interface;
  oracle: string;
  domain: bigint;
  vkey?: VerificationKey;
  signedVkey?: VerificationKey;
  model?: { model: QuantizedModel; path: string; commitment: bigint };
  series?: CandleSeries;
}

/** Reason of an update whose submitUpdate call cannot be found in its transaction. */
export const UNDECODABLE_CALL = "cannot decode the submitUpdate call";

const hex = (v: bigint): string => `0x${v.toString(16)}`;

/**
 * A market id as text: the ASCII label it packs (see `marketIdOf` in prover/circuit-input.ts), or its decimal
 * digits when its bytes are not printable ASCII.
 */
export function marketLabel(marketId: bigint): string {
  let label = "";
  for (let v = marketId; v > 0n; v >>= 8n) {
    const byte = Number(v & 0xffn);
    if (byte < 0x20 || byte > 0x7e) return marketId.toString();
    label = String.fromCharCode(byte) + label;
  }
  return label.length > 0 ? label : marketId.toString();
}

/** A fixed-point feature as a decimal, for messages (2^-scaleBits units). */
function showFeature(v: bigint, scaleBits: number): string {
  return `${(Number(v) / 2 ** scaleBits).toPrecision(8)} (${v})`;
}

const big = (v: unknown) => BigInt(v as bigint);

/** Proof points and the two arrays of decoded call arguments `args[at..at+4]` (pA, pB, pC, pubSignals, features). */
function toProofCall(
  args: readonly unknown[],
  at: number,
): ProofPoints & { pubSignals: bigint[]; features: bigint[] } {
  const pair = (v: unknown): [bigint, bigint] => {
    const p = v as readonly unknown[];
    return [big(p[0]), big(p[1])];
  };
  const b = args[at + 1] as readonly unknown[];
  return {
    a: pair(args[at]),
    b: [pair(b[0]), pair(b[1])],
    c: pair(args[at + 2]),
    pubSignals: (args[at + 3] as readonly unknown[]).map(big),
    features: (args[at + 4] as readonly unknown[]).map(big),
  };
}

function toSubmitCall(args: readonly unknown[]): SubmitCall {
  return { marketId: big(args[0]), ...toProofCall(args, 1) };
}

/**
 * The call behind `event` in `tx`: the transaction's own submitUpdate calldata when it called the oracle, else the first submitUpdate call embedded in its calldata (a wrapper
 * contract forwarding it) for the event's market and data timestamp. A call found either way is then checked against the event field by field, so a wrapper that
 * passed the oracle something else than its own calldata shows as a mismatch. Returns the reason when there is none.
 */
function findSubmitCall(
  ctx: AuditContext,
  tx: TransactionResponse | null,
  event: UpdateEvent,
): SubmitCall | string {
  if (tx === null) return `${UNDECODABLE_CALL}: the node does not return the transaction`;
  const fragment = ctx.iface.getFunction("submitUpdate");
  if (!fragment) throw new ZkriskError("ORACLE_ABI", "the oracle ABI has no submitUpdate");
  const selector = fragment.selector.slice(2);
  const data = tx.data.toLowerCase();
  if (tx.to !== null && getAddress(tx.to) === ctx.oracle && data.startsWith(`0x${selector}`)) {
    try {
      return toSubmitCall(ctx.iface.decodeFunctionData(fragment, data));
    } catch (err) {
      return `${UNDECODABLE_CALL}: ${(err as Error).message}`;
    }
  }
  // Through another contract: look for the call's bytes inside the outer calldata (ABI encoding keeps a
  // forwarded `bytes` argument contiguous); the oracle accepts one update per market and data timestamp.
  for (let at = data.indexOf(selector, 2); at >= 0; at = data.indexOf(selector, at + 1)) {
    if (at % 2 !== 0) continue;
    try {
      const call = toSubmitCall(ctx.iface.decodeFunctionData(fragment, `0x${data.slice(at)}`));
      const provenTime = call.pubSignals[PUBLIC_SIGNAL_INDEX.dataTimestamp];
      if (call.marketId === event.marketId && provenTime === event.dataTimestamp) return call;
    } catch {
      // not a call at this offset
    }
  }
  return (
    `${UNDECODABLE_CALL}: transaction ${tx.hash} calls ${tx.to ?? "no contract"}, not the oracle, and its ` +
    `calldata holds no submitUpdate for this market and data timestamp`
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

/** The fields of an update a proof states: what its event must carry. */
type ProvenUpdate = Pick<
  UpdateEvent,
  | "maintenanceMarginBps"
  | "initialMarginBps"
  | "modelCommitment"
  | "inputCommitment"
  | "marketId"
  | "dataTimestamp"
>;

/** Check 1: the Groth16 proof verifies with `vkey` for `pubSignals`. */
async function checkProof(
  vkey: VerificationKey,
  points: ProofPoints,
  pubSignals: readonly bigint[],
): Promise<string[]> {
  const signals = pubSignals.map((v) => v.toString());
  try {
    if (!(await snarkjs.groth16.verify(vkey, signals, proofOf(points)))) {
      return ["the Groth16 proof does not verify with the verification key for the submitted public signals"];
    }
  } catch (err) {
    return [`the Groth16 proof cannot be verified: ${(err as Error).message}`];
  }
  return [];
}

/**
 * Check 2: the event carries the proven update, the call was for the proven market (`calledFor`, submitUpdate's
 * market argument), the proof is bound to this oracle, and the emitted features are the submitted ones.
 */
function checkEmitted(
  ctx: AuditContext,
  event: UpdateEvent,
  proven: ProvenUpdate,
  domain: bigint,
  submitted: readonly bigint[],
  calledFor?: bigint,
): string[] {
  const reasons: string[] = [];
  for (const name of [
    "maintenanceMarginBps",
    "initialMarginBps",
    "modelCommitment",
    "inputCommitment",
    "marketId",
    "dataTimestamp",
  ] as const) {
    if (event[name] !== proven[name]) {
      reasons.push(`the event's ${name} ${event[name]} is not the proven public signal ${proven[name]}`);
    }
  }
  if (calledFor !== undefined && calledFor !== proven.marketId) {
    reasons.push(`submitUpdate was called for market ${calledFor} with a proof for ${proven.marketId}`);
  }
  if (domain !== ctx.domain) {
    reasons.push(
      `the proof's domain ${hex(domain)} is not this oracle's ${hex(ctx.domain)} (made for another ` +
        `chain or oracle)`,
    );
  }
  const sameFeatures =
    submitted.length === event.features.length && submitted.every((f, i) => f === event.features[i]);
  if (!sameFeatures) reasons.push("the emitted features are not the submitted ones");
  return reasons;
}

/** Checks 1 and 2 of a submitUpdate call: the proof, and the event against the proven statement. */
async function checkCall(ctx: AuditContext, call: SubmitCall, event: UpdateEvent): Promise<string[]> {
  const proven = (name: PublicSignalName) => call.pubSignals[PUBLIC_SIGNAL_INDEX[name]];
  const statement: ProvenUpdate = {
    maintenanceMarginBps: proven("maintenanceMarginBps"),
    initialMarginBps: proven("initialMarginBps"),
    modelCommitment: proven("modelCommitment"),
    inputCommitment: proven("inputCommitment"),
    marketId: proven("marketId"),
    dataTimestamp: proven("dataTimestamp"),
  };
  return [
    ...(ctx.vkey === undefined ? [] : await checkProof(ctx.vkey, call, call.pubSignals)),
    ...checkEmitted(ctx, event, statement, proven("domain"), call.features, call.marketId),
  ];
}

/**
 * Check 3: `committed` (the published features) are field elements whose Poseidon commitment is the proven input commitment.
 */
async function checkInputCommitment(
  committed: readonly bigint[],
  proven: bigint,
  what = "the published features",
): Promise<string[]> {
  const outside = committed.findIndex((f) => f >= FIELD_MODULUS);
  if (outside >= 0) {
    return [`published feature ${outside} = ${committed[outside]} is not a field element (>= p)`];
  }
  if (committed.length === 0) return ["no features were published"];
  const recomputed = await inputCommitment(committed);
  if (recomputed !== proven) {
    return [
      `input commitment mismatch: ${what} commit to ${hex(recomputed)}, the proof to ` +
        `${hex(proven)} (the published features are not the proven ones)`,
    ];
  }
  return [];
}

/** Checks 4 and 5: the model, the integer engine, the timing and the candles. */
function checkModelAndData(
  ctx: AuditContext,
  event: UpdateEvent,
  published: readonly bigint[],
  blockTimestamp: number,
): string[] {
  if (!ctx.model) return [];
  const { model, path, commitment } = ctx.model;
  if (event.modelCommitment !== commitment) {
    return [
      `model commitment mismatch: the update was made with another model (proven ${hex(event.modelCommitment)}, ` +
        `${path} commits to ${hex(commitment)}; engine and data checks skipped)`,
    ];
  }
  if (published.length !== model.features.length) {
    return [`${published.length} features were published, the model takes ${model.features.length}`];
  }
  const reasons: string[] = [];
  try {
    const trace = inferInteger(model, published);
    if (
      trace.maintenanceMarginBps !== event.maintenanceMarginBps ||
      trace.initialMarginBps !== event.initialMarginBps
    ) {
      reasons.push(
        `the integer engine gives MM ${trace.maintenanceMarginBps} / IM ${trace.initialMarginBps} bps on the ` +
          `published features, the update says ${event.maintenanceMarginBps} / ${event.initialMarginBps}`,
      );
    }
  } catch (err) {
    if (!(err instanceof ZkriskError)) throw err;
    reasons.push(`the published features do not run through the model: ${err.message}`);
  }
  const closes = Number(event.dataTimestamp) + model.barIntervalMs / 1000;
  if (blockTimestamp < closes) {
    reasons.push(
      `accepted at ${isoFromSeconds(blockTimestamp)}, before its bar closed at ${isoFromSeconds(closes)}: its features were not ` +
        `yet known`,
    );
  }
  if (ctx.series) reasons.push(...checkData(ctx, model, event, published));
  return reasons;
}

/** Check 5: recompute the integer window features of the update's bar from the candles. */
function checkData(
  ctx: AuditContext,
  model: QuantizedModel,
  event: UpdateEvent,
  published: readonly bigint[],
): string[] {
  const series = ctx.series as CandleSeries;
  const barMs = Number(event.dataTimestamp) * 1000;
  const at = isoFromSeconds(event.dataTimestamp);
  const index = series.candles.findIndex((c) => c.time === barMs);
  if (index < 0) return [`no bar opens at ${at} in ${series.source}: the features cannot be recomputed`];
  let recomputed: bigint[];
  try {
    recomputed = barWindowFeatures(series, index, event.marketId);
  } catch (err) {
    if (!(err instanceof ZkriskError)) throw err;
    const what = err instanceof BoundsError ? `the recomputed features are out of bounds: ` : "";
    return [`${what}${err.message}`];
  }
  const differing = model.features.filter((_, i) => recomputed[i] !== published[i]);
  if (differing.length === 0) return [];
  const first = model.features.indexOf(differing[0]);
  const f = model.features[first];
  const more = differing.length > 1 ? `; ${differing.length - 1} more differ` : "";
  return [
    `feature ${f.name} differs from the candles: published ${showFeature(published[first], f.scaleBits)}, ` +
      `recomputed ${showFeature(recomputed[first], f.scaleBits)} (bar ${at}, ${series.source})${more}`,
  ];
}

function toEvent(iface: Interface, log: Log): UpdateEvent {
  const parsed = iface.parseLog(log);
  if (!parsed)
    throw new ZkriskError("ORACLE_ABI", `log ${log.index} of ${log.transactionHash} is no oracle event`);
  const a = parsed.args;
  return {
    marketId: BigInt(a.marketId),
    maintenanceMarginBps: BigInt(a.maintenanceMarginBps),
    initialMarginBps: BigInt(a.initialMarginBps),
    modelCommitment: BigInt(a.modelCommitment),
    inputCommitment: BigInt(a.inputCommitment),
    dataTimestamp: BigInt(a.dataTimestamp),
    submitter: getAddress(String(a.submitter)),
    features: (a.features as readonly bigint[]).map((f) => BigInt(f)),
  };
}

/** `map[key]`, loaded once. */
async function cached<K, V>(map: Map<K, V>, key: K, load: () => Promise<V>): Promise<V> {
  if (!map.has(key)) map.set(key, await load());
  return map.get(key) as V;
}

/** Refuse options that cannot give a meaningful audit; errors name the option and the value. */
function checkOptions(opts: AuditOptions): void {
  if (!isAddress(opts.oracle)) throw new UsageError(`oracle: '${opts.oracle}' is not an address`);
  if (opts.signedVkey !== undefined && opts.signedVkey.nPublic !== UPDATE_SIGNALS.length) {
    throw new UsageError(
      `signedVkey: the verification key takes ${opts.signedVkey.nPublic} public signals, signed updates have ` +
        `${UPDATE_SIGNALS.length}`,
    );
  }
  if (opts.vkey !== undefined && opts.vkey.nPublic !== PUBLIC_SIGNALS.length) {
    throw new UsageError(
      `vkey: the verification key takes ${opts.vkey.nPublic} public signals, zkrisk proofs have ` +
        `${PUBLIC_SIGNALS.length}`,
    );
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
  if (opts.series && !opts.model) {
    throw new UsageError(
      "data: recomputing features needs the model (only its updates are checked against the candles)",
    );
  }
  if (opts.model && opts.series) checkInputsFit(opts.model, opts.series);
}

/**
 * Audit every update an oracle accepted in a block range (all markets). Each update gets `ok` and the reasons
 * it failed; a failed check never stops the audit. Throws only for unusable options (UsageError, and the
 * DataError or ModelError of candles that do not fit the model) and for RPC failures.
 * @returns the report, updates in chain order
 */
export async function auditOracle(opts: AuditOptions): Promise<AuditReport> {
  checkOptions(opts);
  const { provider } = opts;
  const oracle = getAddress(opts.oracle);
  const chainId = (await provider.getNetwork()).chainId;
  if ((await provider.getCode(oracle)) === "0x") {
    throw new UsageError(`oracle: no contract at ${oracle} on chain ${chainId}`);
  }
  const iface = oracleInterface();
  const fromBlock = opts.fromBlock ?? 0;
  // The latest block itself, not getBlockNumber(): ethers answers that from a cache refreshed by polling.
  const toBlock = opts.toBlock ?? (await provider.getBlock("latest"))?.number;
  if (toBlock === undefined) throw new ZkriskError("RPC_FAILED", "the node does not return its latest block");
  if (fromBlock > toBlock) throw new UsageError(`fromBlock: ${fromBlock} is after toBlock ${toBlock}`);
  const modelPath = opts.modelPath ?? "the model";
  const ctx: AuditContext = {
    iface,
    oracle,
    domain: oracleDomain(chainId, oracle),
    vkey: opts.vkey,
    signedVkey: opts.signedVkey,
    model: opts.model && {
      model: opts.model,
      path: modelPath,
      commitment: await modelCommitment(opts.model),
    },
    series: opts.series,
  };

  const topic = (name: string) => {
    const e = iface.getEvent(name);
    if (!e) throw new ZkriskError("ORACLE_ABI", `the oracle ABI has no ${name} event`);
    return e.topicHash;
  };
  const [SIGNED, SET_CHANGED] = ["SignedParametersUpdated", "PublisherSetChanged"].map(topic);
  const logs: Log[] = await getLogsChunked(provider, {
    filter: { address: oracle, topics: [[SIGNED, SET_CHANGED]] },
    fromBlock,
    toBlock,
    chunk: opts.logChunk,
    onProgress: opts.onLogProgress,
  });
  const txs = new Map<string, TransactionResponse | null>();
  const blockTimes = new Map<number, number>();
  const blockTime = async (n: number): Promise<number> => {
    const block = await provider.getBlock(n);
    if (!block) throw new ZkriskError("RPC_FAILED", `the node does not return block ${n}`);
    return block.timestamp;
  };

  // The publisher set in force at each signed update, from the set changes in range (else the oracle's at toBlock).
  const changes = new Map<bigint, PublisherSetChange[]>();
  for (const log of logs.filter((l) => l.topics[0] === SET_CHANGED)) {
    const change = toSetChange(iface, log);
    changes.set(change.marketId, [...(changes.get(change.marketId) ?? []), change]);
  }
  const heldAtEnd = new Map<bigint, PublisherSetConfig>();
  const configOf = async (log: Log, marketId: bigint): Promise<PublisherSetConfig> => {
    const inRange = setInForce(changes.get(marketId) ?? [], { block: log.blockNumber, logIndex: log.index });
    if (inRange !== undefined) return inRange;
    return cached(heldAtEnd, marketId, () => publisherSetAt(provider, iface, oracle, marketId, toBlock));
  };
  const signedLogs = logs.filter((l) => l.topics[0] === SIGNED);
  const inForce = new Map<Log, PublisherSetConfig>();
  for (const log of signedLogs) inForce.set(log, await configOf(log, toSignedEvent(iface, log).marketId));
  checkSetFiles(opts.publisherSets ?? [], [...inForce.values()]);
  const signedCtx: SignedAuditContext = {
    domain: ctx.domain,
    sources: opts.windowSources ?? [],
    sets: new Map((opts.publisherSets ?? []).map((s) => [s.commitment, s])),
    model: ctx.model,
    data: opts.series && { series: opts.series, byTime: candlesByTime(opts.series) },
  };

  const updates: AuditedUpdate[] = [];
  for (const log of logs) {
    if (log.topics[0] === SET_CHANGED) continue;
    const tx = await cached(txs, log.transactionHash, () => provider.getTransaction(log.transactionHash));
    const blockTimestamp = await cached(blockTimes, log.blockNumber, () => blockTime(log.blockNumber));
    const at = {
      block: log.blockNumber,
      blockTimestamp,
      txHash: log.transactionHash,
      logIndex: log.index,
    };
    if (log.topics[0] === SIGNED) {
      const ev = toSignedEvent(iface, log);
      const config = inForce.get(log) as PublisherSetConfig;
      const audit = await auditSignedUpdate(
        signedCtx,
        {
          ...ev,
          market: marketLabel(ev.marketId),
          blockTimestamp,
        },
        config,
      );
      const proven = await checkSignedCall(ctx, tx, ev, config);
      audit.flags.unshift(...proven.flags);
      audit.gaps.unshift(...proven.gaps);
      updates.push(
        verdict(
          {
            kind: "signed",
            ...common(ev),
            ...at,
            submitter: tx === null ? "" : getAddress(tx.from),
            signed: audit.detail,
          },
          audit.flags,
          audit.gaps,
        ),
      );
      continue;
    }
    const ev = toEvent(iface, log);
    const call = findSubmitCall(ctx, tx, ev);

    const reasons: string[] = [];
    const missing: string[] = [];
    // What checks 4 and 5 run on: the event itself.
    const checked: UpdateEvent = ev;
    if (typeof call === "string") {
      reasons.push(call, ...(await checkInputCommitment(ev.features, ev.inputCommitment)));
    } else {
      if (ctx.vkey === undefined) {
        missing.push(
          "no verification key of unsigned updates (--artifacts or --vkey): the proof was not checked",
        );
      }
      reasons.push(...(await checkCall(ctx, call, ev)));
      reasons.push(...(await checkInputCommitment(ev.features, ev.inputCommitment)));
    }
    // The engine and the data checks read the features as signed integers, so only field elements.
    if (checked.features.every((f) => f < FIELD_MODULUS)) {
      reasons.push(...checkModelAndData(ctx, checked, checked.features.map(fromField), blockTimestamp));
    }
    updates.push(
      verdict(
        {
          kind: "update",
          ...common(ev),
          ...at,
          submitter: ev.submitter,
        },
        reasons,
        missing,
      ),
    );
  }

  const count = (s: AuditStatus) => updates.filter((u) => u.status === s).length;
  return {
    oracle,
    chainId,
    fromBlock,
    toBlock,
    checks: {
      proof: true,
      inputCommitment: true,
      model: ctx.model ? { path: modelPath, commitment: ctx.model.commitment } : null,
      data: opts.series ? { candles: opts.series.source } : null,
      signedProof: opts.signedVkey !== undefined,
      windows: (opts.windowSources ?? []).map((s) => s.name),
      publisherSets: (opts.publisherSets ?? []).map((s) => ({ file: s.file, commitment: s.commitment })),
    },
    updates,
    ok: count("ok"),
    failed: updates.length - count("ok"),
    flagged: count("flagged"),
    unverifiable: count("unverifiable"),
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

/** The fields of one SignedParametersUpdated event. */
function toSignedEvent(
  iface: Interface,
  log: Log,
): {
  marketId: bigint;
  maintenanceMarginBps: bigint;
  initialMarginBps: bigint;
  dataTimestamp: bigint;
  windowDigest: bigint;
} {
  const parsed = iface.parseLog(log);
  if (!parsed)
    throw new ZkriskError("ORACLE_ABI", `log ${log.index} of ${log.transactionHash} is no oracle event`);
  const a = parsed.args;
  return {
    marketId: BigInt(a.marketId),
    maintenanceMarginBps: BigInt(a.maintenanceMarginBps),
    initialMarginBps: BigInt(a.initialMarginBps),
    dataTimestamp: BigInt(a.dataTimestamp),
    windowDigest: BigInt(a.windowDigest),
  };
}

/** One PublisherSetChanged event. */
function toSetChange(iface: Interface, log: Log): PublisherSetChange {
  const parsed = iface.parseLog(log);
  if (!parsed)
    throw new ZkriskError("ORACLE_ABI", `log ${log.index} of ${log.transactionHash} is no oracle event`);
  return {
    marketId: BigInt(parsed.args.marketId),
    block: log.blockNumber,
    logIndex: log.index,
    previous: publisherSetConfigOf(parsed.args.previous),
    config: publisherSetConfigOf(parsed.args.config),
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
 * Refuse a publisher set file that is in force for none of the audited signed updates (the files are one per
 * set in force over the range: another one is a mistake, e.g. a stale set after a rotation).
 */
function checkSetFiles(files: readonly AuditPublisherSet[], inForce: readonly PublisherSetConfig[]): void {
  const used = new Set(inForce.map((c) => c.publisherSet));
  const seen = new Map<bigint, string>();
  for (const f of files) {
    const twin = seen.get(f.commitment);
    if (twin !== undefined) throw new UsageError(`--publishers: ${f.file} and ${twin} hold the same set`);
    seen.set(f.commitment, f.file);
    if (!used.has(f.commitment)) {
      const sets = [...used].map(hex);
      throw new UsageError(
        `--publishers: ${f.file} commits to ${hex(f.commitment)}, the publisher set in force for none of the ` +
          `audited signed updates (${sets.length === 0 ? "there are none" : `sets in force: ${sets.join(", ")}`})`,
      );
    }
  }
}

/** Reason of a signed update whose submitSignedUpdate call cannot be found in its transaction. */
export const UNDECODABLE_SIGNED_CALL = "cannot decode the submitSignedUpdate call";

/**
 * The submitSignedUpdate call behind a signed event: the transaction's own calldata when it called the oracle,
 * else the first such call embedded in its calldata (a forwarding contract) for the event's market and digest.
 * Returns the reason when there is none.
 */
function findSignedCall(
  ctx: AuditContext,
  tx: TransactionResponse | null,
  event: { marketId: bigint; windowDigest: bigint },
): (ProofPoints & { marketId: bigint; update: bigint }) | string {
  if (tx === null) return `${UNDECODABLE_SIGNED_CALL}: the node does not return the transaction`;
  const fragment = ctx.iface.getFunction("submitSignedUpdate");
  if (!fragment) throw new ZkriskError("ORACLE_ABI", "the oracle ABI has no submitSignedUpdate");
  const decode = (data: string) => {
    const args = ctx.iface.decodeFunctionData(fragment, data);
    const pair = (v: unknown): [bigint, bigint] => [big((v as unknown[])[0]), big((v as unknown[])[1])];
    const b = args[2] as readonly unknown[];
    return {
      marketId: big(args[0]),
      a: pair(args[1]),
      b: [pair(b[0]), pair(b[1])] as [[bigint, bigint], [bigint, bigint]],
      c: pair(args[3]),
      update: big(args[4]),
    };
  };
  const selector = fragment.selector.slice(2);
  const data = tx.data.toLowerCase();
  if (tx.to !== null && getAddress(tx.to) === ctx.oracle && data.startsWith(`0x${selector}`)) {
    try {
      return decode(data);
    } catch (err) {
      return `${UNDECODABLE_SIGNED_CALL}: ${(err as Error).message}`;
    }
  }
  for (let at = data.indexOf(selector, 2); at >= 0; at = data.indexOf(selector, at + 1)) {
    if (at % 2 !== 0) continue;
    try {
      const call = decode(`0x${data.slice(at)}`);
      if (call.marketId === event.marketId && unpackUpdate(call.update).digest === event.windowDigest)
        return call;
    } catch {
      // not a call at this offset
    }
  }
  return (
    `${UNDECODABLE_SIGNED_CALL}: transaction ${tx.hash} calls ${tx.to ?? "no contract"}, not the oracle, and ` +
    `its calldata holds no submitSignedUpdate for this market and digest`
  );
}

/**
 * A signed update's call: its public signals are the event's update and digest and the registered statement key,
 * and, with the signed-update verification key, its proof verifies. A call that cannot be found is a gap only
 * when the proof was to be verified.
 */
async function checkSignedCall(
  ctx: AuditContext,
  tx: TransactionResponse | null,
  event: {
    marketId: bigint;
    maintenanceMarginBps: bigint;
    initialMarginBps: bigint;
    dataTimestamp: bigint;
    windowDigest: bigint;
  },
  config: PublisherSetConfig,
): Promise<{ flags: string[]; gaps: string[] }> {
  const call = findSignedCall(ctx, tx, event);
  if (typeof call === "string") {
    return { flags: [], gaps: ctx.signedVkey === undefined ? [] : [`the proof was not verified: ${call}`] };
  }
  const flags: string[] = [];
  let update: bigint | undefined;
  try {
    update = packUpdate({
      mm: event.maintenanceMarginBps,
      im: event.initialMarginBps,
      dataTimestamp: event.dataTimestamp,
      digest: event.windowDigest,
    });
  } catch {
    update = undefined;
  }
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
