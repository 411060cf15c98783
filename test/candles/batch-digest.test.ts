/** The batch digest: pinned layout and vector, refusals (order, count, field), sensitivity to every part. */
import { describe, expect, it } from "vitest";
import {
  BATCH_DIGEST_TAG,
  batchDigest,
  batchDigestInputs,
  batchViolation,
  MAX_BATCH_MARKETS,
  windowDigest,
} from "../../candles";
import { FIELD_MODULUS } from "../../crypto/field";
import { poseidonSponge } from "../../crypto/poseidon-sponge";
import { SMALL_WINDOW } from "../helpers/windows";

const BTC = 0x4254432d55534454n; // "BTC-USDT"
const ETH = 0x4554482d55534454n; // "ETH-USDT"
/** The window digest of SMALL_WINDOW under ETH-USDT (SMALL_WINDOW's is pinned in digest.test.ts). */
const ETH_WINDOW_DIGEST = 5206389418485374697230772406086870903818101449572274736313833670556883430017n;
/** Computed once from the layout below and written here: any change to the batch digest's layout breaks it. */
const TWO_MARKET_BATCH_DIGEST =
  21559448792130092595750810627375854549413383295523485304424966753340282540060n;

async function twoMarkets() {
  return [
    { marketId: BTC, windowDigest: await windowDigest(SMALL_WINDOW) },
    { marketId: ETH, windowDigest: await windowDigest({ ...SMALL_WINDOW, marketId: ETH }) },
  ];
}

describe("batch digest", () => {
  it("absorbs the documented layout: tag, N, then (marketId, windowDigest) per market", async () => {
    expect(BATCH_DIGEST_TAG).toBe(BigInt("0x" + Buffer.from("zkrisk.batch.v1", "ascii").toString("hex")));
    const entries = await twoMarkets();
    expect(entries[1].windowDigest).toBe(ETH_WINDOW_DIGEST);
    expect(batchDigestInputs(entries)).toEqual([
      BATCH_DIGEST_TAG,
      2n,
      BTC,
      entries[0].windowDigest,
      ETH,
      entries[1].windowDigest,
    ]);
  });

  it("matches the pinned vector", async () => {
    const entries = await twoMarkets();
    const digest = await batchDigest(entries);
    expect(digest).toBe(await poseidonSponge(batchDigestInputs(entries)));
    expect(digest).toBe(TWO_MARKET_BATCH_DIGEST);
  });

  it("changes with every market id, every window digest and the number of markets", async () => {
    const entries = await twoMarkets();
    const seen = new Set([await batchDigest(entries)]);
    seen.add(await batchDigest([entries[0]]));
    seen.add(await batchDigest([{ ...entries[0], windowDigest: entries[0].windowDigest + 1n }, entries[1]]));
    seen.add(await batchDigest([entries[0], { ...entries[1], windowDigest: entries[1].windowDigest + 1n }]));
    seen.add(await batchDigest([entries[0], { ...entries[1], marketId: ETH + 1n }]));
    // One market's window under another market's pair: the windows swapped between the ids.
    seen.add(
      await batchDigest([
        { marketId: BTC, windowDigest: entries[1].windowDigest },
        { marketId: ETH, windowDigest: entries[0].windowDigest },
      ]),
    );
    expect(seen.size).toBe(6);
  });

  it("refuses markets out of order or twice, no market, more than 32, and values outside the field", async () => {
    const [a, b] = await twoMarkets();
    expect(batchViolation([b, a])).toEqual({
      field: "markets[1].market",
      reason: `market id ${BTC} is not above the previous market's ${ETH} (markets strictly increasing by id)`,
    });
    expect(batchViolation([a, a])?.field).toBe("markets[1].market");
    expect(batchViolation([])).toEqual({ field: "markets", reason: "0 markets, expected 1 to 32" });
    const many = Array.from({ length: MAX_BATCH_MARKETS + 1 }, (_, i) => ({
      marketId: BigInt(i + 1),
      windowDigest: 1n,
    }));
    expect(batchViolation(many)?.reason).toBe("33 markets, expected 1 to 32");
    expect(batchViolation(many.slice(0, MAX_BATCH_MARKETS))).toBeUndefined();
    expect(batchViolation([{ ...a, windowDigest: FIELD_MODULUS }])?.field).toBe("markets[0].digest");
    expect(batchViolation([{ ...a, marketId: FIELD_MODULUS }])?.field).toBe("markets[0].market");
    expect(() => batchDigestInputs([b, a])).toThrow(/batch digest: markets\[1\]\.market: market id/);
  });
});
