/**
 * What a signed batch proof states, split into a CONSTANT part and a VARYING part (the signal order is
 * `batchSignalNames` in public-signals.ts).
 *
 * - Constant per batch composition: the N market ids (one public signal each, the batch's order), the model
 *   commitment, the publisher-set commitment and the domain. The oracle computes the verifier's part of the
 *   check for them once (`batchBase` of onchain/signed-batch-verifier.ts) and stores it, so they cost the
 *   verifier nothing per batch.
 * - Varying per batch: `batchVaryingCount(N)` packed signals. Signal 0 holds the batch's one data timestamp
 *   (every market's window ends at it: the circuit has one end for all windows), the batch digest's low 91
 *   bits, and the margins of markets 0 to 3; each further signal the margins of 9 more markets:
 *
 *     update[0] = dataTimestamp + digestBits * 2^40 + sum_{i < min(N, 4)} (MM_i + IM_i * 2^14) * 2^(131 + 28 i)
 *     update[k] = sum_{j < 9} (MM_m + IM_m * 2^14) * 2^(28 j),   m = 4 + 9 (k - 1) + j < N
 *
 *   dataTimestamp < 2^40, digestBits < 2^91, MM and IM < 2^14 (the policy clamps them to at most 10000 bps;
 *   the circuit range-checks every part), so update[0] < 2^243 and update[k] < 2^252, both below r > 2^253:
 *   the packing is injective and the oracle unpacks it with shifts.
 *
 * Why 91 bits of the batch digest (the argument of the adaptive update's, statement.ts): the publishers'
 * signatures, checked in the circuit, are over the FULL batch digest, so the truncation weakens nothing the
 * proof binds; the public bits only locate the signed batch in the publishers' archives, where the audit
 * fetches it and recomputes every market. Two batches with the same low 91 bits cost about 2^45.5 Poseidon
 * calls to find, and only a quorum of publishers, who could sign both anyway, could use them.
 */
import { digestSignal } from "./statement";

/** Bit positions and widths of a batch's varying signals (layout above). contracts/PublicSignals.sol mirrors them. */
export const BATCH_PACKING = {
  timestampBits: 40,
  digestShift: 40,
  digestBits: 91,
  /** Bit of market 0's margins in update[0]. */
  marketsShift: 131,
  /** MM and IM each. */
  marginBits: 14,
  /** One market's MM + IM * 2^14. */
  marketBits: 28,
  /** Markets in update[0]: floor((253 - 131) / 28). */
  firstSignalMarkets: 4,
  /** Markets in each further signal: floor(253 / 28). */
  signalMarkets: 9,
} as const;

/**
 * The number of varying signals of a batch of `n` markets: 1 for n <= 4, then one per 9 markets more; an adaptive
 * batch's (every market adaptive) has one per market, each in the adaptive update's layout (`packAdaptiveUpdate`
 * of statement.ts, whose digest part is the batch digest's low 87 bits).
 */
export function batchVaryingCount(n: number, adaptive = false): number {
  if (adaptive) return n;
  const P = BATCH_PACKING;
  return 1 + Math.ceil(Math.max(0, n - P.firstSignalMarkets) / P.signalMarkets);
}

/** Where market `i`'s MM + IM * 2^14 sits: its varying signal and the bit offset in it. */
export function batchMarketPosition(i: number): { signal: number; shift: number } {
  const P = BATCH_PACKING;
  if (i < P.firstSignalMarkets) return { signal: 0, shift: P.marketsShift + P.marketBits * i };
  const j = i - P.firstSignalMarkets;
  return { signal: 1 + Math.floor(j / P.signalMarkets), shift: P.marketBits * (j % P.signalMarkets) };
}

/** The part of a batch digest the proof and the `SignedBatchParametersUpdated` event carry: its low 91 bits. */
export function batchDigestSignal(fullDigest: bigint): bigint {
  return digestSignal(fullDigest) & ((1n << BigInt(BATCH_PACKING.digestBits)) - 1n);
}

/** One market's margins in a batch, bps. */
export interface BatchMargins {
  mm: bigint;
  im: bigint;
}

/** The varying part of a batch proof's statement. */
export interface BatchUpdateValues {
  /** Open time of every window's last bar, seconds since the Unix epoch. */
  dataTimestamp: bigint;
  /** The batch digest's low 91 bits (`batchDigestSignal`). */
  digest: bigint;
  /** The margins of each market, in the batch's order. */
  markets: BatchMargins[];
}

/**
 * Pack a batch's varying signals as the circuit does.
 * @throws RangeError for a margin outside [0, 2^14), a timestamp outside [0, 2^40), a digest signal outside
 *   [0, 2^91) (pass `batchDigestSignal(batchDigest)`) or no markets
 */
export function packBatchUpdate(u: BatchUpdateValues): bigint[] {
  const P = BATCH_PACKING;
  if (u.markets.length === 0) throw new RangeError("a batch has at least one market");
  fits("data timestamp", u.dataTimestamp, P.timestampBits);
  fits("batch digest signal", u.digest, P.digestBits);
  const out = Array.from({ length: batchVaryingCount(u.markets.length) }, () => 0n);
  out[0] = u.dataTimestamp + (u.digest << BigInt(P.digestShift));
  u.markets.forEach((m, i) => {
    fits(`markets[${i}].mm`, m.mm, P.marginBits);
    fits(`markets[${i}].im`, m.im, P.marginBits);
    const { signal, shift } = batchMarketPosition(i);
    out[signal] += (m.mm + (m.im << BigInt(P.marginBits))) << BigInt(shift);
  });
  return out;
}

/** Unpack the varying signals of a batch of `n` markets (the oracle's view). */
export function unpackBatchUpdate(n: number, varying: readonly bigint[]): BatchUpdateValues {
  const P = BATCH_PACKING;
  const at = (v: bigint, shift: number, bits: number) => (v >> BigInt(shift)) & ((1n << BigInt(bits)) - 1n);
  return {
    dataTimestamp: at(varying[0], 0, P.timestampBits),
    digest: at(varying[0], P.digestShift, P.digestBits),
    markets: Array.from({ length: n }, (_, i) => {
      const { signal, shift } = batchMarketPosition(i);
      return {
        mm: at(varying[signal], shift, P.marginBits),
        im: at(varying[signal], shift + P.marginBits, P.marginBits),
      };
    }),
  };
}

function fits(name: string, v: bigint, bits: number): void {
  if (v < 0n || v >= 1n << BigInt(bits)) throw new RangeError(`${name} ${v} does not fit ${bits} bits`);
}
