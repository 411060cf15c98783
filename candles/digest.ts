/**
 * The window digest: the one field element a publisher signs for a window (window.ts).
 *
 * Layout (version 3). The digest is the project's length-prefixed Poseidon sponge
 * (crypto/poseidon-sponge.ts: h = L; for each chunk c of up to 15 values: h = Poseidon(1 + |c|)([h, ...c]))
 * over L = 5 + 2N + 2R field elements (R = min(N, WINDOW_RANGE_BARS) = min(N, 24)), in this order:
 *
 *   [0] WINDOW_DIGEST_TAG   packAscii("zkrisk.window.v3"), the ASCII bytes big-endian in one element
 *   [1] marketId            the market id field element
 *   [2] intervalMs          bar interval, ms                       (< 2^INTERVAL_BITS)
 *   [3] endTime             open time of the last bar, ms          (< 2^TIME_BITS)
 *   [4] N                   number of bars                         (<= MAX_WINDOW_BARS)
 *   then for each bar i = 0 .. N-1, oldest first, 2 elements:
 *   [5 + 2i]      close     price, 1e-8 quote units                (< 2^PRICE_BITS; 0 when missing)
 *   [6 + 2i]      volume    1e-8 base units                        (< 2^VOLUME_BITS; 0 when missing)
 *   then for each bar i = N-R .. N-1 (the range part), 2 elements:
 *   [5 + 2N + 2j]     high  (j = i - (N - R); 0 when missing)
 *   [6 + 2N + 2j]     low
 *
 * A bar's open time is not absorbed: it is `endTime - (N - 1 - i) * intervalMs`, fixed by the header and
 * the position. Nor is its missing flag: a bar is missing exactly when its close is 0. A circuit recomputes
 * the digest with `PoseidonSponge(5 + 2N + 2R)` over the same list: for the feature window (N = 85, R = 24)
 * 223 elements, 15 permutations (14 of 16 inputs, one of 14).
 *
 * Versions: 2 signed the highs and lows of the last 12 bars only (R = min(N, 12)); 3 signs those of the last
 * 24, which the adaptive rule's lagged outcomes read (window.ts `WINDOW_RANGE_BARS`). The tag differs, so a
 * version 2 signature never verifies for a version 3 digest, even where both lists would have the same length.
 */
import { packAscii } from "../crypto/field";
import { poseidonSponge } from "../crypto/poseidon-sponge";
import { inRangePart, windowViolation, type Window } from "./window";

/** The domain tag of window digests, version 3: the ASCII of "zkrisk.window.v3" as one field element. */
export const WINDOW_DIGEST_TAG = packAscii("zkrisk.window.v3");

/** Field elements of the header before the bars. */
export const WINDOW_HEADER_LENGTH = 5;

/**
 * The list of field elements the digest absorbs (layout above); its length is 5 + 2N + 2R.
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
  for (const bar of w.bars) values.push(bar.close, bar.volume);
  w.bars.forEach((bar, i) => {
    if (inRangePart(w.bars.length, i)) values.push(bar.high, bar.low);
  });
  return values;
}

/** The window digest, a field element (layout above). */
export async function windowDigest(w: Window): Promise<bigint> {
  return poseidonSponge(windowDigestInputs(w));
}
