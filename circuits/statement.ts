/**
 * What a signed-update proof states, in two public signals (the layout of `UPDATE_SIGNALS` in
 * public-signals.ts), and the values packed or hashed into them.
 *
 * - The update: `MM + IM * 2^16 + dataTimestamp * 2^32 + digestSignal * 2^72`, with MM and IM below 2^16
 *   (the policy's clamps), dataTimestamp, the open time of the window's last bar in seconds, below 2^40, and
 *   digestSignal = windowDigest mod 2^180 (`digestSignal` below): 252 bits in all, below the scalar field's
 *   r > 2^253, so the packing is injective and the oracle unpacks it with shifts.
 * - The window digest (candles/digest.ts) is in the update only as its low 180 bits: they say which signed
 *   window the margins were computed from, and an auditor fetches that window from the publishers'
 *   archives, compares `digestSignal(windowDigest(window))` with the proven value and recomputes everything.
 *   Why 180 bits suffice: the publishers' signatures, checked in the circuit, are over the FULL digest, so
 *   the truncation weakens nothing the proof binds; the 180 bits only locate the window. Finding another
 *   window with the same 180 bits (a second preimage) costs about 2^180 Poseidon calls, two windows with
 *   equal 180 bits (a collision) about 2^90, and a collision would only help a quorum of publishers, who
 *   could sign both windows anyway.
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
import { FIELD_MODULUS, packAscii } from "../crypto/field";
import { poseidonSponge } from "../crypto/poseidon-sponge";
import { MAX_OUTCOME_LAG } from "../models/target";

/** The domain tag of statement keys, version 1. */
export const STATEMENT_TAG = packAscii("zkrisk.statement.v1");

/**
 * Bit positions of the packed update signal: MM at bit 0, IM at `imShift`, the data timestamp
 * (`timestampBits` wide) at `timestampShift`, the digest signal (`digestBits` wide) at `digestShift`;
 * `bits` in all. contracts/PublicSignals.sol mirrors these numbers.
 */
export const UPDATE_PACKING = {
  imShift: 16,
  timestampShift: 32,
  timestampBits: 40,
  digestShift: 72,
  digestBits: 180,
  bits: 252,
} as const;

/**
 * The part of a window digest the proof and the `SignedParametersUpdated` event carry: its low 180 bits
 * (`windowDigest mod 2^180`, layout above). The one function to compare a window's full digest
 * (candles/digest.ts) with an event or a proof.
 * @throws RangeError for a digest outside [0, p)
 */
export function digestSignal(fullDigest: bigint): bigint {
  if (fullDigest < 0n || fullDigest >= FIELD_MODULUS) {
    throw new RangeError(`window digest ${fullDigest} is not a field element`);
  }
  return fullDigest & ((1n << BigInt(UPDATE_PACKING.digestBits)) - 1n);
}

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
  /** The window digest's low 180 bits (`digestSignal`). */
  digest: bigint;
}

/** The low 72 bits every packed signal shares: margins and the data timestamp (single updates and batches). */
export interface PackedMargins {
  mm: bigint;
  im: bigint;
  /** Open time of the window's last bar, seconds since the Unix epoch. */
  dataTimestamp: bigint;
}

/**
 * MM + IM * 2^16 + dataTimestamp * 2^32: the part of a packed signal below bit 72 (`UPDATE_PACKING`, and the
 * batch's `BATCH_PACKING` shares it), with the range checks the circuit makes.
 * @throws RangeError for a margin outside [0, 2^16) or a timestamp outside [0, 2^40)
 */
export function packMargins(u: PackedMargins): bigint {
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

/** The margins and data timestamp of a packed signal's low 72 bits (the oracle's view). */
export function unpackMargins(packed: bigint): PackedMargins {
  const P = UPDATE_PACKING;
  const mask = (bits: number) => (1n << BigInt(bits)) - 1n;
  return {
    mm: packed & mask(P.imShift),
    im: (packed >> BigInt(P.imShift)) & mask(P.timestampShift - P.imShift),
    dataTimestamp: (packed >> BigInt(P.timestampShift)) & mask(P.timestampBits),
  };
}

/**
 * Pack an update as the circuit does.
 * @throws RangeError for a margin outside [0, 2^16), a timestamp outside [0, 2^40) or a digest signal
 *   outside [0, 2^180) (pass `digestSignal(windowDigest)`).
 */
export function packUpdate(u: UpdateValues): bigint {
  const P = UPDATE_PACKING;
  if (u.digest < 0n || u.digest >= 1n << BigInt(P.digestBits)) {
    throw new RangeError(`digest signal ${u.digest} does not fit ${P.digestBits} bits (use digestSignal)`);
  }
  return packMargins(u) + (u.digest << BigInt(P.digestShift));
}

/** Unpack an update signal (the oracle's view; a well-formed one is below 2^252). */
export function unpackUpdate(packed: bigint): UpdateValues {
  return { ...unpackMargins(packed), digest: packed >> BigInt(UPDATE_PACKING.digestShift) };
}

/**
 * Bit positions of the packed update of an ADAPTIVE market's signed update (the circuit generated with an
 * adaptive rule, models/adaptive.ts; circuits/lib/adaptive.circom). The low 72 bits are `packMargins`' as
 * above; then the state the oracle holds before the update (num, outcomes, and bar s's accepted MM, 0 for
 * none, and its lag: bits 72..127, which the oracle builds from its storage and compares), the state after it
 * (bits 128..165, which the oracle stores), and the window digest's low `digestBits` bits: 253 bits in all, below
 * r > 2^253, so the packing is injective (the circuit range-checks every part).
 *
 * Why 87 digest bits: the signatures are over the full digest in the circuit, as for the 180 bits of a plain
 * update, so the public bits only locate the signed window in the publishers' archives, and the audit then
 * recomputes the margins and the state transition from that window and refuses any difference. Two windows
 * with the same low 87 bits cost about 2^43.5 Poseidon calls to find, and only a quorum of publishers, who
 * could sign both windows anyway, could use them; a window whose margins and state equal the proven ones
 * changes nothing the oracle holds. The 93 bits given up carry the state, which keeps the update at two
 * public signals (a third costs about 6,150 gas in the verifier).
 * contracts/PublicSignals.sol mirrors these numbers.
 */
export const ADAPTIVE_UPDATE_PACKING = {
  numShift: 72,
  numBits: 27,
  outcomesShift: 99,
  outcomesBits: 11,
  marginSShift: 110,
  marginSBits: 14,
  lagShift: 124,
  lagBits: 4,
  newNumShift: 128,
  newOutcomesShift: 155,
  digestShift: 166,
  digestBits: 87,
  bits: 253,
} as const;

/** The adaptive state of a market as the oracle holds it and the proof carries it (models/adaptive.ts). */
export interface PackedAdaptiveState {
  /** Calibration at calibrationNum * 2^8 (`AdaptiveState.num`), below 2^27. */
  num: bigint;
  /** Outcomes processed, below 2^11. */
  outcomes: bigint;
}

/** An adaptive market's update as the circuit outputs it. */
export interface AdaptiveUpdateValues extends PackedMargins {
  /** The state before the update (from the oracle's storage). */
  before: PackedAdaptiveState;
  /**
   * The accepted MM in bps of bar s = t - 12 - lag, the oldest accepted bar whose outcome is pending, 0 when none
   * is (from the oracle's storage).
   */
  marginS: bigint;
  /** Bars of bar s beyond t - 12, in [0, MAX_OUTCOME_LAG] (0 when marginS is 0; from the oracle's storage). */
  lag: bigint;
  /** The state after the update (proven; the oracle stores it). */
  after: PackedAdaptiveState;
  /** The window digest's low 87 bits (`adaptiveDigestSignal`). */
  digest: bigint;
}

/** The low 87 bits of a window digest, the part an adaptive update carries (`ADAPTIVE_UPDATE_PACKING`). */
export function adaptiveDigestSignal(fullDigest: bigint): bigint {
  return digestSignal(fullDigest) & ((1n << BigInt(ADAPTIVE_UPDATE_PACKING.digestBits)) - 1n);
}

/**
 * The bits 72..127 of an adaptive update: the state before it, bar s's margin and bar s's lag, which the oracle
 * builds from its storage (`(update >> 72) & (2^56 - 1)` must equal this).
 * @throws RangeError for a part that does not fit its bits, or a lag above MAX_OUTCOME_LAG
 */
export function packAdaptivePrior(before: PackedAdaptiveState, marginS: bigint, lag: bigint): bigint {
  const P = ADAPTIVE_UPDATE_PACKING;
  fits("num", before.num, P.numBits);
  fits("outcomes", before.outcomes, P.outcomesBits);
  fits("marginS", marginS, P.marginSBits);
  if (lag < 0n || lag > BigInt(MAX_OUTCOME_LAG)) {
    throw new RangeError(`lag ${lag} is not in [0, ${MAX_OUTCOME_LAG}]`);
  }
  return (
    before.num +
    (before.outcomes << BigInt(P.outcomesShift - P.numShift)) +
    (marginS << BigInt(P.marginSShift - P.numShift)) +
    (lag << BigInt(P.lagShift - P.numShift))
  );
}

/**
 * Pack an adaptive update as the circuit does.
 * @throws RangeError for a part that does not fit its bits
 */
export function packAdaptiveUpdate(u: AdaptiveUpdateValues): bigint {
  const P = ADAPTIVE_UPDATE_PACKING;
  fits("new num", u.after.num, P.numBits);
  fits("new outcomes", u.after.outcomes, P.outcomesBits);
  fits("digest signal", u.digest, P.digestBits);
  return (
    packMargins(u) +
    (packAdaptivePrior(u.before, u.marginS, u.lag) << BigInt(P.numShift)) +
    (u.after.num << BigInt(P.newNumShift)) +
    (u.after.outcomes << BigInt(P.newOutcomesShift)) +
    (u.digest << BigInt(P.digestShift))
  );
}

/** Unpack an adaptive update signal (the oracle's view; a well-formed one is below 2^253). */
export function unpackAdaptiveUpdate(packed: bigint): AdaptiveUpdateValues {
  const P = ADAPTIVE_UPDATE_PACKING;
  const at = (shift: number, bits: number) => (packed >> BigInt(shift)) & ((1n << BigInt(bits)) - 1n);
  return {
    ...unpackMargins(packed),
    before: { num: at(P.numShift, P.numBits), outcomes: at(P.outcomesShift, P.outcomesBits) },
    marginS: at(P.marginSShift, P.marginSBits),
    lag: at(P.lagShift, P.lagBits),
    after: { num: at(P.newNumShift, P.numBits), outcomes: at(P.newOutcomesShift, P.outcomesBits) },
    digest: packed >> BigInt(P.digestShift),
  };
}

function fits(name: string, v: bigint, bits: number): void {
  if (v < 0n || v >= 1n << BigInt(bits)) throw new RangeError(`${name} ${v} does not fit ${bits} bits`);
}
