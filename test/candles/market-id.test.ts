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

describe("marketIdOf", () => {
  it("packs a label, takes a number as is, and refuses labels that would name a market by accident", () => {
    expect(marketIdOf("BTC-USDT")).toBe(0x4254432d55534454n);
    expect(marketIdOf("7")).toBe(7n);
    for (const [label, message] of [
      ["", "--market: '' is empty"],
      ["   ", "--market: '   ' is empty"],
      [" BTC-USDT", "--market: ' BTC-USDT' has spaces around it"],
      ["BTC-USDT\t", "has spaces around it"],
      ["0", "--market: 0 is no market's id"],
      ["BTC-USDT-PERPETUAL-SWAP-CONTRACT", "printable ASCII of at most 31 bytes"],
      ["BTC\u00e9", "printable ASCII of at most 31 bytes"],
      [toField(-1n).toString().replace(/\d$/, "9") + "9", "is not below the field modulus"],
    ] as const) {
      expect(() => marketIdOf(label), JSON.stringify(label)).toThrow(message);
    }
  });
});
