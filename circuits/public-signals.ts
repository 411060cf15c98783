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
 * snarkjs's order: first the N packed market updates (circuit output `packed[N]`, one per market, in the
 * batch's order; circuits/batch-statement.ts `packBatchUpdate`), then these trailing signals in this order.
 * This list is the one definition of the batch layout, read by the batch prover, the oracle
 * (contracts/PublicSignals.sol) and the CLI.
 */
export const BATCH_TRAILING_SIGNAL_NAMES = [
  /** The batch digest the publishers signed (candles/batch-digest.ts) (circuit output). */
  "batchDigest",
  /** Poseidon sponge over the model's parameters, scales and policy (circuit output). */
  "modelCommitment",
  /** Commitment to the publisher set and its quorum that signed the batch (circuit output). */
  "publisherSet",
  /** Ties the proof to one chain and one oracle contract (public input). */
  "domain",
] as const;

/** Number of public signals of a batch proof after the N packed ones. */
export const BATCH_TRAILING_SIGNALS = BATCH_TRAILING_SIGNAL_NAMES.length;

/** Index of a trailing signal of a batch of `n` markets in its public signals. */
export function batchSignalIndex(n: number, name: (typeof BATCH_TRAILING_SIGNAL_NAMES)[number]): number {
  return n + BATCH_TRAILING_SIGNAL_NAMES.indexOf(name);
}

/** The public signals of a batch of `n` markets, by name (`packed[i]`, then the trailing ones). */
export function batchSignalNames(n: number): string[] {
  return [...Array.from({ length: n }, (_, i) => `packed[${i}]`), ...BATCH_TRAILING_SIGNAL_NAMES];
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
