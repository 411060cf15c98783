import { MAX_BATCH_MARKETS } from "../candles/batch-digest";
import { batchVaryingCount } from "./batch-statement";

/**
 * The public signals of the model part compiled alone (circuits/generate-circuit.ts with the features as inputs), in
 * the order snarkjs lists them (circuit outputs first, in declaration order, then public inputs in declaration
 * order). Only the tests compile it that way, to check the model part against the integer engine; the oracle takes
 * signed updates (`UPDATE_SIGNALS`) and signed batches (`batchSignalNames`) only.
 */
export const PUBLIC_SIGNALS = [
  /** Maintenance margin, bps of notional (circuit output). */
  "maintenanceMarginBps",
  /** Initial margin, bps of notional (circuit output). */
  "initialMarginBps",
  /** Poseidon sponge over the model's parameters, scales and policy (circuit output). */
  "modelCommitment",
  /** Poseidon sponge over the quantised features (circuit output). */
  "inputCommitment",
  /** Market identifier (public input, e.g. "BTC-USDT" packed as ASCII). */
  "marketId",
  /** Open time of the last bar used, seconds since the Unix epoch (public input). */
  "dataTimestamp",
  /** Ties the proof to one chain and one oracle contract (public input). */
  "domain",
] as const;

export type PublicSignalName = (typeof PUBLIC_SIGNALS)[number];

/** Index of a public signal in snarkjs's `publicSignals` array and in the verifier's input array. */
export const PUBLIC_SIGNAL_INDEX: Record<PublicSignalName, number> = Object.fromEntries(
  PUBLIC_SIGNALS.map((name, i) => [name, i]),
) as Record<PublicSignalName, number>;

/** Number of circuit outputs at the head of the list. */
export const PUBLIC_OUTPUTS = 4;

/**
 * The public signals of a signed batch proof of N markets (circuits/generate-signed-batch-circuit.ts), in
 * snarkjs's order (outputs, then public inputs, each in declaration order):
 *
 *   update[0..V-1]           the varying signals (V = batchVaryingCount(N); circuits/batch-statement.ts packs them)
 *   modelCommitment[0..N-1]  each market's model commitment, in the batch's order (outputs): markets of one
 *                            batch share the weights but each has its own model file, so its own calibration
 *   publisherSet             commitment to the publisher set and its quorum that signed the batch (output)
 *   marketId[0..N-1]         the markets, ids strictly increasing (public inputs)
 *   domain                   ties the proof to one chain and one oracle contract (public input)
 *
 * The last 2N + 2 are the batch's CONSTANT signals: the oracle stores their part of the verifier's check per
 * composition, and the verifier takes them in the order ids, models, set, domain (`batchConstantIndexes`).
 * An ADAPTIVE batch (every market adaptive, `submitAdaptiveBatch`) has the same constants and one varying signal
 * per market, market i's adaptive update (`packAdaptiveUpdate` of statement.ts: its margins, the batch's data
 * timestamp, its state before (with its pending outcome's margin and lag) and after, and the batch digest's low 87
 * bits): 3N + 2 signals.
 * This is the one definition of the batch layout, read by the circuit generator, the batch prover, the
 * verifier generator, the oracle (contracts/PublicSignals.sol) and the audit.
 */
/** The public signals of a batch of `n` markets (adaptive: every market adaptive), by the circuit's names. */
export function batchSignalNames(n: number, adaptive = false): string[] {
  return [
    ...Array.from({ length: batchVaryingCount(n, adaptive) }, (_, k) => `update[${k}]`),
    ...Array.from({ length: n }, (_, i) => `modelCommitment[${i}]`),
    "publisherSet",
    ...Array.from({ length: n }, (_, i) => `marketId[${i}]`),
    "domain",
  ];
}

/** Indexes into a batch's public signals (`batchSignalNames`). */
export interface BatchSignalLayout {
  /** Markets. */
  n: number;
  /** Varying signals: indexes 0 .. varying - 1. */
  varying: number;
  /** Index of market i's model commitment: `modelCommitment + i`. */
  modelCommitment: number;
  publisherSet: number;
  /** Index of market i's id: `marketId + i`. */
  marketId: number;
  domain: number;
  /** All public signals. */
  count: number;
}

/** The layout of a batch of `n` markets (adaptive: every market adaptive, one varying signal each). */
export function batchSignalLayout(n: number, adaptive = false): BatchSignalLayout {
  const v = batchVaryingCount(n, adaptive);
  return {
    n,
    varying: v,
    modelCommitment: v,
    publisherSet: v + n,
    marketId: v + n + 1,
    domain: v + 2 * n + 1,
    count: v + 2 * n + 2,
  };
}

/**
 * The public-signal indexes of a batch's constants in the order the verifier's `batchBase` takes them: the n
 * market ids, the n model commitments, the publisher set, the domain.
 */
export function batchConstantIndexes(n: number, adaptive = false): number[] {
  const l = batchSignalLayout(n, adaptive);
  return [
    ...Array.from({ length: n }, (_, i) => l.marketId + i),
    ...Array.from({ length: n }, (_, i) => l.modelCommitment + i),
    l.publisherSet,
    l.domain,
  ];
}

/**
 * The batch size of a circuit with `outputs` public outputs and `publicInputs` public inputs, or undefined when
 * they are not a signed batch's (V + N + 1 outputs, N + 1 inputs; adaptive: V = N).
 */
export function batchSizeOf(outputs: number, publicInputs: number, adaptive = false): number | undefined {
  const n = publicInputs - 1;
  if (n < 1 || n > MAX_BATCH_MARKETS) return undefined;
  return outputs === batchVaryingCount(n, adaptive) + n + 1 ? n : undefined;
}

/**
 * The public signals of a signed-update proof (circuits/generate-update-circuit.ts), in snarkjs's order; both
 * are circuit outputs. This list is the one definition, read by the prover, the oracle and the audit;
 * circuits/statement.ts says what each one packs or hashes. The oracle passes only the update to the
 * verifier: the statement's part of the check is a point it precomputed per market (contracts/README.md).
 */
export const UPDATE_SIGNALS = [
  /**
   * MM + IM * 2^16 + dataTimestamp * 2^32 + (windowDigest mod 2^180) * 2^72 (statement.ts `packUpdate`;
   * the digest part is `digestSignal`).
   */
  "update",
  /** Poseidon over the market id, the model commitment, the publisher set and the domain (statement.ts). */
  "statement",
] as const;

export { digestSignal } from "./statement";

/** Index of a signal in a signed-update proof's public signals. */
export const UPDATE_SIGNAL_INDEX = Object.fromEntries(UPDATE_SIGNALS.map((name, i) => [name, i])) as Record<
  (typeof UPDATE_SIGNALS)[number],
  number
>;
