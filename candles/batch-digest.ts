/**
 * The batch digest: the one field element a publisher signs for the windows of several markets at one bar
 * close, so a batch of N markets needs k signatures (the quorum), not k per market.
 *
 * Layout (version 1). The project's length-prefixed Poseidon sponge (crypto/poseidon-sponge.ts) over
 * L = 2 + 2N field elements, in this order:
 *
 *   [0] BATCH_DIGEST_TAG   packAscii("zkrisk.batch.v1"), the ASCII bytes big-endian in one element
 *   [1] N                  number of markets                        (1 <= N <= MAX_BATCH_MARKETS)
 *   then for each market i = 0 .. N-1, market ids strictly increasing, 2 elements:
 *   [2 + 2i]  marketId     the market id field element (candles/market-id.ts)
 *   [3 + 2i]  windowDigest the digest of market i's window (digest.ts, layout v3)
 *
 * The window digest already absorbs its market id, interval and end; the pair repeats the id so that the
 * order (strictly increasing ids, hence distinct markets) is visible without opening the windows. A
 * circuit recomputes the batch digest with `PoseidonSponge(2 + 2N)` over the same list, from window
 * digests it recomputes from the candles.
 *
 * The batch digest absorbs no candle value itself, only window digests: a change of the window layout (version 2
 * to 3: the highs and lows of 24 bars) changes every window digest, hence every batch digest, and not this
 * layout.
 */
import { FIELD_MODULUS, packAscii } from "../crypto/field";
import { poseidonSponge } from "../crypto/poseidon-sponge";

/** The domain tag of batch digests, version 1: the ASCII of "zkrisk.batch.v1" as one field element. */
export const BATCH_DIGEST_TAG = packAscii("zkrisk.batch.v1");

/** The most markets one batch may hold (the oracle's `BATCH_MAX_MARKETS`). */
export const MAX_BATCH_MARKETS = 32;

/** One market of a batch: its id and the digest of its window. */
export interface BatchDigestEntry {
  marketId: bigint;
  windowDigest: bigint;
}

/**
 * The first reason `entries` is not a batch, or undefined: 1 to MAX_BATCH_MARKETS entries, field elements
 * only, market ids strictly increasing. `field` is named as in signed batch files (`markets[2].market`).
 */
export function batchViolation(
  entries: readonly BatchDigestEntry[],
): { field: string; reason: string } | undefined {
  if (entries.length < 1 || entries.length > MAX_BATCH_MARKETS) {
    return { field: "markets", reason: `${entries.length} markets, expected 1 to ${MAX_BATCH_MARKETS}` };
  }
  for (const [i, e] of entries.entries()) {
    if (e.marketId < 0n || e.marketId >= FIELD_MODULUS) {
      return { field: `markets[${i}].market`, reason: `market id ${e.marketId} is not a field element` };
    }
    if (e.windowDigest < 0n || e.windowDigest >= FIELD_MODULUS) {
      return { field: `markets[${i}].digest`, reason: `${e.windowDigest} is not a field element` };
    }
    if (i > 0 && e.marketId <= entries[i - 1].marketId) {
      return {
        field: `markets[${i}].market`,
        reason:
          `market id ${e.marketId} is not above the previous market's ${entries[i - 1].marketId} ` +
          "(markets strictly increasing by id)",
      };
    }
  }
  return undefined;
}

/**
 * The list of field elements the batch digest absorbs (layout above); its length is 2 + 2N.
 * @throws RangeError when the entries are not a batch (see `batchViolation`).
 */
export function batchDigestInputs(entries: readonly BatchDigestEntry[]): bigint[] {
  const violation = batchViolation(entries);
  if (violation !== undefined) throw new RangeError(`batch digest: ${violation.field}: ${violation.reason}`);
  return [BATCH_DIGEST_TAG, BigInt(entries.length), ...entries.flatMap((e) => [e.marketId, e.windowDigest])];
}

/** The batch digest, a field element (layout above). */
export async function batchDigest(entries: readonly BatchDigestEntry[]): Promise<bigint> {
  return poseidonSponge(batchDigestInputs(entries));
}
