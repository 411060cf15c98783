/** Market ids (candles/market-id.ts): labels packed into one field element, and back to text for messages. */
import { describe, expect, it } from "vitest";
import { marketIdOf, marketLabel } from "../../candles/market-id";
import { toField } from "../../crypto/field";

describe("marketLabel", () => {
  it("gives back the label a market id packs, and the digits of an id that packs no printable ASCII", () => {
    expect(marketLabel(marketIdOf("BTC-USDT"))).toBe("BTC-USDT");
    expect(marketLabel(0x4254432d55534454n)).toBe("BTC-USDT");
    expect(marketLabel(marketIdOf("7"))).toBe("7");
    expect(marketLabel(0n)).toBe("0");
    // A printable label with one control byte inside it, and p - 1.
    expect(marketLabel(0x41_0a_42n)).toBe(String(0x41_0a_42n));
    expect(marketLabel(toField(-1n))).toBe(toField(-1n).toString());
  });
});
