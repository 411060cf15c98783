/**
 * The window digest: the one field element a publisher signs for a window (window.ts).
 *
 * Layout (version 1). The digest is the project's length-prefixed Poseidon sponge
 * (circuits/poseidon-sponge.ts: h = L; for each chunk c of up to 15 values: h = Poseidon(1 + |c|)([h, ...c]))
 * over L = 5 + 6N field elements, in this order:
 *
 *   [0] WINDOW_DIGEST_TAG   packAscii("zkrisk.window.v1"), the ASCII bytes big-endian in one element
 *   [1] marketId            the market id field element
 *   [2] intervalMs          bar interval, ms                       (< 2^INTERVAL_BITS)
 *   [3] endTime             open time of the last bar, ms          (< 2^TIME_BITS)
 *   [4] N                   number of bars                         (<= MAX_WINDOW_BARS)
 *   then for each bar i = 0 .. N-1, oldest first, 6 elements:
 *   [5 + 6i + 0] missing    1 for a missing bar, else 0
 *   [5 + 6i + 1] open       price, 1e-8 quote units                (< 2^PRICE_BITS; 0 when missing)
 *   [5 + 6i + 2] high
 *   [5 + 6i + 3] low
 *   [5 + 6i + 4] close
 *   [5 + 6i + 5] volume     1e-8 base units                        (< 2^VOLUME_BITS; 0 when missing)
 *
 * A bar's open time is not absorbed: it is `endTime - (N - 1 - i) * intervalMs`, fixed by the header and
 * the position. A circuit recomputes the digest with `PoseidonSponge(5 + 6N)` over the same list.
 */
import { packAscii } from "../circuits/commitments";
import { poseidonSponge } from "../circuits/poseidon-sponge";
import { INTEGER_CANDLE_FIELDS } from "./integer-candle";
import { windowViolation, type Window } from "./window";

/** The domain tag of window digests, version 1: the ASCII of "zkrisk.window.v1" as one field element. */
export const WINDOW_DIGEST_TAG = packAscii("zkrisk.window.v1");

/** Field elements of the header before the bars. */
export const WINDOW_HEADER_LENGTH = 5;
/** Field elements per bar: the missing flag and the 5 integer fields. */
export const WINDOW_BAR_LENGTH = 1 + INTEGER_CANDLE_FIELDS.length;

/**
 * The list of field elements the digest absorbs (layout above); its length is 5 + 6N.
 * @throws RangeError when the window is not well formed (see `windowViolation`).
 */
export function windowDigestInputs(w: Window): bigint[] {
  const violation = windowViolation(w);
  if (violation !== undefined) {
    throw new RangeError(`window digest: ${violation.field}: ${violation.reason}`);
  }
  const values = [
    WINDOW_DIGEST_TAG,
    w.marketId,
    BigInt(w.intervalMs),
    BigInt(w.endTime),
    BigInt(w.bars.length),
  ];
  for (const bar of w.bars) {
    values.push(bar.missing ? 1n : 0n, ...INTEGER_CANDLE_FIELDS.map((field) => bar[field]));
  }
  return values;
}

/** The window digest, a field element (layout above). */
export async function windowDigest(w: Window): Promise<bigint> {
  return poseidonSponge(windowDigestInputs(w));
}
