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
/**
 * The window digest of SMALL_WINDOW under ETH-USDT, window layout v3 (SMALL_WINDOW's is pinned in digest.test.ts;
 * both computed from the documented layouts with circomlibjs's Poseidon, as digest.test.ts does).
 */
const ETH_WINDOW_DIGEST = 3506497093897337361196426074165957757304492772038819014352070574715091729880n;
/**
 * Computed once from the layout below (over window digests of layout v3) and written here: any change to the
 * batch digest's layout, or to the window digests', breaks it.
 */
const TWO_MARKET_BATCH_DIGEST =
  14370807183629431524734055167200368543842263067368474764962480570652042794165n;

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
