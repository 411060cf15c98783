/**
 * What a signed-update proof states, in three public signals (the layout of `UPDATE_SIGNALS` in
 * public-signals.ts), and the two values packed or hashed into them.
 *
 * - The update: `MM + IM * 2^16 + dataTimestamp * 2^32`, with MM and IM below 2^16 (the policy's clamps)
 *   and dataTimestamp, the open time of the window's last bar in seconds, below 2^40: so the packing is
 *   injective and the oracle unpacks it with shifts.
 * - The window digest (candles/digest.ts): which signed window the margins were computed from; an auditor
 *   fetches that window from the publishers' archives and recomputes everything.
 * - The statement key: one field element for everything that is constant per market and deployment, so
 *   the verifier pays for one public signal instead of four. Layout (version 1): the Poseidon sponge
 *   (poseidon-sponge.ts) over
 *
 *     [0] STATEMENT_TAG       packAscii("zkrisk.statement.v1")
 *     [1] marketId            the market id field element (candles/market-id.ts)
 *     [2] modelCommitment     commitments.ts
 *     [3] publisherSet        the commitment to the market's publishers and quorum (publisher-set.ts)
 *     [4] domain              the oracle's chain and address (prover/domain.ts)
 *
 *   Governance registers the key of each market with its parts; the oracle compares the proof's key with
 *   the registered one, and an auditor recomputes the key from the parts.
 */
import { packAscii } from "./commitments";
import { poseidonSponge } from "./poseidon-sponge";

/** The domain tag of statement keys, version 1. */
export const STATEMENT_TAG = packAscii("zkrisk.statement.v1");

/** Bit positions of the packed update signal. */
export const UPDATE_PACKING = { imShift: 16, timestampShift: 32, timestampBits: 40 } as const;

/** The parts of a statement key. */
export interface StatementParts {
  marketId: bigint;
  modelCommitment: bigint;
  /** Commitment to the market's publisher set (publisher-set.ts). */
  publisherSet: bigint;
  domain: bigint;
}

/** The list of field elements the statement key absorbs (layout above). */
export function statementInputs(s: StatementParts): bigint[] {
  return [STATEMENT_TAG, s.marketId, s.modelCommitment, s.publisherSet, s.domain];
}

/** The statement key of a market (layout above). */
export async function statementKey(s: StatementParts): Promise<bigint> {
  return poseidonSponge(statementInputs(s));
}

/** One market's update as the circuit outputs it. */
export interface UpdateValues {
  mm: bigint;
  im: bigint;
  /** Open time of the window's last bar, seconds since the Unix epoch. */
  dataTimestamp: bigint;
}

/**
 * Pack an update as the circuit does.
 * @throws RangeError for a margin outside [0, 2^16) or a timestamp outside [0, 2^40).
 */
export function packUpdate(u: UpdateValues): bigint {
  const P = UPDATE_PACKING;
  for (const [name, v] of [
    ["mm", u.mm],
    ["im", u.im],
  ] as const) {
    if (v < 0n || v >= 1n << BigInt(P.imShift)) throw new RangeError(`${name} ${v} does not fit 16 bits`);
  }
  if (u.dataTimestamp < 0n || u.dataTimestamp >= 1n << BigInt(P.timestampBits)) {
    throw new RangeError(`data timestamp ${u.dataTimestamp} does not fit ${P.timestampBits} bits`);
  }
  return u.mm + (u.im << BigInt(P.imShift)) + (u.dataTimestamp << BigInt(P.timestampShift));
}

/** Unpack an update signal (the oracle's view). */
export function unpackUpdate(packed: bigint): UpdateValues {
  const P = UPDATE_PACKING;
  const mask = (bits: number) => (1n << BigInt(bits)) - 1n;
  return {
    mm: packed & mask(P.imShift),
    im: (packed >> BigInt(P.imShift)) & mask(P.timestampShift - P.imShift),
    dataTimestamp: packed >> BigInt(P.timestampShift),
  };
}
