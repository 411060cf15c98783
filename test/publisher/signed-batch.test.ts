/**
 * Signed batch files: round trip, every refusal named by file and field (those that cost no hashing before any digest
 * is computed), and disagreement reports.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { batchDigest, windowDigest } from "../../candles";
import {
  firstBatchDisagreement,
  PublisherFileError,
  publicKeyOf,
  readSignedBatch,
  SignatureError,
  signBatch,
  signDigest,
  signedBatchJson,
  SIGNED_BATCH_VERSION,
  writeSignedBatch,
  type PublisherKey,
  type SignedBatch,
} from "../../publisher";
import { SMALL_WINDOW } from "../helpers/windows";

type Market = Record<string, unknown> & { bars: Record<string, unknown>[] };
type Doc = Record<string, unknown> & { markets: Market[] };

const dir = mkdtempSync(join(tmpdir(), "zkrisk-signed-batch-"));
let count = 0;
const ETH_WINDOW = { ...SMALL_WINDOW, marketId: 0x4554482d55534454n }; // "ETH-USDT"

async function publisher(byte: number): Promise<PublisherKey> {
  const privateKey = new Uint8Array(32).fill(byte);
  return { privateKey, publicKey: await publicKeyOf(privateKey) };
}

/** Writes a signed batch's document, edited by `edit`, to a fresh file. */
function fileOf(sb: SignedBatch, edit: (doc: Doc) => void = () => {}): string {
  const doc = JSON.parse(JSON.stringify(signedBatchJson(sb))) as Doc;
  edit(doc);
  const file = join(dir, `b${count++}.json`);
  writeFileSync(file, JSON.stringify(doc));
  return file;
}

describe("signed batch files", () => {
  let key: PublisherKey;
  let signed: SignedBatch;
  beforeAll(async () => {
    key = await publisher(1);
    // Given ETH first: signBatch puts the markets in increasing id order.
    signed = await signBatch(key, [
      { market: "ETH-USDT", window: ETH_WINDOW },
      { market: "BTC-USDT", window: SMALL_WINDOW },
    ]);
  });

  it("signs one digest over the markets in id order, and round-trips", async () => {
    expect(signed.markets.map((m) => m.market)).toEqual(["BTC-USDT", "ETH-USDT"]);
    expect(signed.digest).toBe(
      await batchDigest(
        await Promise.all(
          [SMALL_WINDOW, ETH_WINDOW].map(async (w) => ({
            marketId: w.marketId,
            windowDigest: await windowDigest(w),
          })),
        ),
      ),
    );
    const file = join(dir, "round-trip.json");
    writeSignedBatch(file, signed);
    const doc = JSON.parse(readFileSync(file, "utf8")) as Doc;
    expect(Object.keys(doc)).toEqual(["version", "markets", "digest", "publicKey", "signature"]);
    expect([doc.version, SIGNED_BATCH_VERSION]).toEqual([2, 2]);
    expect(Object.keys(doc.markets[0])).toEqual(["market", "intervalMs", "endTime", "bars", "digest"]);
    expect(await readSignedBatch(file)).toEqual(signed);
  });

  it("refuses a market twice when signing", async () => {
    await expect(
      signBatch(key, [
        { market: "BTC-USDT", window: SMALL_WINDOW },
        { market: "BTC-USDT", window: SMALL_WINDOW },
      ]),
    ).rejects.toThrow(/markets\[1\]\.market: market id .* is not above/);
  });

  it.each<[string, (doc: Doc) => void, RegExp]>([
    ["an unknown key at the root", (d) => (d.extra = 1), /: extra: unknown key/],
    ["an unknown key in a market", (d) => (d.markets[1].note = "x"), /: markets\[1\]\.note: unknown key/],
    [
      "an unknown key in a bar",
      (d) => (d.markets[0].bars[0].open = "1"),
      /: markets\[0\]\.bars\[0\]\.open: unknown key/,
    ],
    ["another version", (d) => (d.version = 3), /: version: unsupported version 3 \(expected 2\)/],
    [
      "version 1 (windows of digest layout v2)",
      (d) => (d.version = 1),
      /\/b\d+\.json: version: signed batch version 1 is no longer read \(expected 2\): its windows sign the highs and lows of their last 12 bars only \(digest layout v2\), version 2 those of the last 24 \(layout v3/,
    ],
    ["no markets", (d) => (d.markets = []), /: markets: 0 markets, expected 1 to 32/],
    // Refused before any window digest is computed: a reader that hashed the windows first would report the first
    // market's digest, which its bars do not give.
    [
      "33 markets (before any digest)",
      (d) => (d.markets = Array.from({ length: 33 }, (_, i) => ({ ...d.markets[i % 2], digest: "1" }))),
      /: markets: 33 markets, expected 1 to 32$/,
    ],
    [
      "a malformed public key (before any digest)",
      (d) => {
        d.markets[0].digest = "1";
        d.publicKey = { Ax: "0x1", Ay: "2" };
      },
      /: publicKey\.Ax: expected a decimal integer string, got "0x1"$/,
    ],
    [
      "markets out of order (before any digest)",
      (d) => (d.markets = [{ ...d.markets[1], digest: "1" }, d.markets[0]]),
      /: markets\[1\]\.market: market id .* is not above the previous market's/,
    ],
    [
      "markets out of order",
      (d) => (d.markets = [d.markets[1], d.markets[0]]),
      /: markets\[1\]\.market: market id .* is not above the previous market's/,
    ],
    [
      "a market twice",
      (d) => (d.markets = [d.markets[0], d.markets[0]]),
      /: markets\[1\]\.market: market id/,
    ],
    [
      "a candle edited after signing",
      (d) => (d.markets[1].bars[2].volume = "1"),
      /: markets\[1\]\.digest: .* is not the digest of the bars/,
    ],
    [
      "a malformed window (a missing bar with a close)",
      (d) => (d.markets[0].bars[1].close = "5"),
      /: markets\[0\]\.bars\[1\]\.close: /,
    ],
    [
      "a window digest that is not the bars'",
      (d) => (d.markets[0].digest = "12345"),
      /: markets\[0\]\.digest: 12345 is not the digest of the bars/,
    ],
    [
      "a batch digest that is not the markets'",
      (d) => (d.digest = "1"),
      /: digest: 1 is not the batch digest of the markets/,
    ],
    [
      "a market id too long",
      (d) => (d.markets[0].market = "x".repeat(32)),
      /: markets\[0\]\.market: 'x+' must be/,
    ],
  ])("refuses %s, naming the file and field", async (_what, edit, message) => {
    const file = fileOf(signed, edit);
    await expect(readSignedBatch(file)).rejects.toThrow(PublisherFileError);
    await expect(readSignedBatch(file)).rejects.toThrow(message);
  });

  it("refuses a signature over another digest or by another key (SignatureError)", async () => {
    const other = await signDigest(key.privateKey, signed.digest + 1n);
    const s = (v: bigint) => v.toString();
    const overOther = fileOf(
      signed,
      (d) => (d.signature = { R8x: s(other.R8x), R8y: s(other.R8y), S: s(other.S) }),
    );
    await expect(readSignedBatch(overOther)).rejects.toThrow(SignatureError);
    const b = await publisher(2);
    const byOther = fileOf(signed, (d) => (d.publicKey = { Ax: s(b.publicKey.Ax), Ay: s(b.publicKey.Ay) }));
    await expect(readSignedBatch(byOther)).rejects.toThrow(SignatureError);
  });

  it("reports the first differing market, bar and field between publishers' batches", async () => {
    const other = await publisher(2);
    const same = await signBatch(other, [
      { market: "BTC-USDT", window: SMALL_WINDOW },
      { market: "ETH-USDT", window: ETH_WINDOW },
    ]);
    expect(firstBatchDisagreement([signed, same])).toBeUndefined();
    const edited = ETH_WINDOW.bars.map((b, i) =>
      i === 2 ? { ...b, close: b.close + 1n, high: b.high + 1n } : b,
    );
    const differs = await signBatch(other, [
      { market: "BTC-USDT", window: SMALL_WINDOW },
      { market: "ETH-USDT", window: { ...ETH_WINDOW, bars: edited } },
    ]);
    const d = firstBatchDisagreement([signed, differs], ["a.json", "b.json"])!;
    expect(d.field).toBe("markets[1].bars[2].close");
    expect(d.market).toEqual({ index: 1, label: "ETH-USDT" });
    expect(d.bar).toEqual({ index: 2, time: ETH_WINDOW.bars[2].time });
    expect(d.message).toBe(
      `b.json differs from a.json at market ETH-USDT (markets[1]) bar 2 (${new Date(ETH_WINDOW.bars[2].time).toISOString()}) ` +
        `markets[1].bars[2].close: ${edited[2].close} vs ${ETH_WINDOW.bars[2].close}`,
    );
    const fewer = await signBatch(other, [{ market: "BTC-USDT", window: SMALL_WINDOW }]);
    expect(firstBatchDisagreement([signed, fewer])?.field).toBe("markets.length");
    const otherMarket = await signBatch(other, [
      { market: "BTC-USDT", window: SMALL_WINDOW },
      { market: "SOL-USDT", window: { ...ETH_WINDOW, marketId: 0x534f4c2d55534454n } },
    ]);
    expect(firstBatchDisagreement([signed, otherMarket])?.field).toBe("markets[1].market");
  });
});
