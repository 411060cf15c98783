/**
 * What a signed batch proof states per market: one packed public signal (the layout of the batch's public
 * signals is `BATCH_TRAILING_SIGNAL_NAMES` in public-signals.ts).
 *
 *   packed = MM + IM * 2^16 + dataTimestamp * 2^32 + marketId * 2^72
 *
 * MM and IM are below 2^16 (the policy's clamps), dataTimestamp (the open time of the market's window's
 * last bar, seconds) below 2^40 and marketId below 2^176 (22 ASCII bytes; both range-checked by the
 * circuit), so the packing is injective, stays below 2^248 < p, and the oracle unpacks it with shifts.
 */
import { packMargins, unpackMargins, UPDATE_PACKING } from "./statement";

/** Bit positions and widths of the packed per-market signal of a batch: the low 72 bits are a single update's
 * (`packMargins`), the market id above them. */
export const BATCH_PACKING = {
  imShift: UPDATE_PACKING.imShift,
  timestampShift: UPDATE_PACKING.timestampShift,
  marketShift: UPDATE_PACKING.digestShift,
  timestampBits: UPDATE_PACKING.timestampBits,
  marketBits: 176,
} as const;

/** One market's update as a batch proof packs it. */
export interface BatchUpdateValues {
  mm: bigint;
  im: bigint;
  /** Open time of the market window's last bar, seconds since the Unix epoch. */
  dataTimestamp: bigint;
  marketId: bigint;
}

/**
 * The largest market id a batch can carry, exclusive: 2^176 (labels of at most 22 ASCII bytes).
 * A market with a longer label takes signed updates one at a time.
 */
export const BATCH_MARKET_ID_LIMIT = 1n << BigInt(BATCH_PACKING.marketBits);

/**
 * Pack one market's update as the batch circuit does.
 * @throws RangeError for a margin outside [0, 2^16), a timestamp outside [0, 2^40) or a market id outside
 *   [0, 2^176).
 */
export function packBatchUpdate(u: BatchUpdateValues): bigint {
  const P = BATCH_PACKING;
  if (u.marketId < 0n || u.marketId >= BATCH_MARKET_ID_LIMIT) {
    throw new RangeError(
      `market id ${u.marketId} does not fit ${P.marketBits} bits (a label of at most ${P.marketBits / 8} ASCII bytes)`,
    );
  }
  return packMargins(u) + (u.marketId << BigInt(P.marketShift));
}

/** Unpack a batch's market signal (the oracle's view). */
export function unpackBatchUpdate(packed: bigint): BatchUpdateValues {
  return { ...unpackMargins(packed), marketId: packed >> BigInt(BATCH_PACKING.marketShift) };
}
