/** Signed window files: round trip, every refusal named by file and field, and disagreement reports. */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { windowDigest, type Window, type WindowBar } from "../../candles";
import {
  firstDisagreement,
  parseSignedWindow,
  PublisherFileError,
  SIGNED_WINDOW_VERSION,
  publicKeyOf,
  readSignedWindow,
  SignatureError,
  signedWindowJson,
  signWindow,
  SUBGROUP_ORDER,
  writeSignedWindow,
  type PublisherKey,
  type SignedWindow,
} from "../../publisher";
import { END, HOUR, missingBar, SMALL_WINDOW } from "../helpers/windows";

type Doc = Record<string, unknown> & { bars: Record<string, unknown>[] };

const dir = mkdtempSync(join(tmpdir(), "zkrisk-signed-window-"));
let count = 0;

async function publisher(byte: number): Promise<PublisherKey> {
  const privateKey = new Uint8Array(32).fill(byte);
  return { privateKey, publicKey: await publicKeyOf(privateKey) };
}

/** Writes a signed window's document, edited by `edit`, to a fresh file. */
function fileOf(sw: SignedWindow, edit: (doc: Doc) => void = () => {}): string {
  const doc = JSON.parse(JSON.stringify(signedWindowJson(sw))) as Doc;
  edit(doc);
  const file = join(dir, `w${count++}.json`);
  writeFileSync(file, JSON.stringify(doc));
  return file;
}

/** A 30-bar window (bar 3 missing): its range part is bars 6 .. 29. */
const WINDOW_30: Window = {
  ...SMALL_WINDOW,
  bars: Array.from({ length: 30 }, (_, i): WindowBar => {
    const time = END - (29 - i) * 2 * HOUR;
    if (i === 3) return missingBar(time);
    const close = 42_000_00000000n + BigInt(i) * 1_000n;
    const ranged = i >= 30 - 24;
    return {
      time,
      missing: false,
      close,
      volume: BigInt(i),
      high: ranged ? close + 5n : 0n,
      low: ranged ? close - 5n : 0n,
    };
  }),
};

describe("signed window files", () => {
  let signed: SignedWindow;
  beforeAll(async () => {
    signed = await signWindow(await publisher(1), "BTC-USDT", SMALL_WINDOW);
  });

  it("round-trips: the file reads back as the signed window", async () => {
    const file = join(dir, "round-trip.json");
    writeSignedWindow(file, signed);
    const doc = JSON.parse(readFileSync(file, "utf8")) as Doc;
    expect(Object.keys(doc)).toEqual([
      "version",
      "market",
      "intervalMs",
      "endTime",
      "bars",
      "digest",
      "publicKey",
      "signature",
    ]);
    expect(doc.bars[2]).toEqual({
      time: SMALL_WINDOW.endTime,
      missing: false,
      close: "434999000000",
      volume: "1167294000",
      high: "434999000000",
      low: "428741000000",
    });
    const read = await readSignedWindow(file);
    expect(read).toEqual(signed);
    expect(read.window.marketId).toBe(SMALL_WINDOW.marketId);
    expect(read.digest).toBe(await windowDigest(SMALL_WINDOW));
  });

  it("refuses unknown keys and wrong types, naming the file and the field", async () => {
    const cases: [(d: Doc) => void, string][] = [
      [(d) => (d.comment = "hi"), "comment: unknown key (expected one of version, market,"],
      [(d) => (d.bars[1].note = 1), "bars[1].note: unknown key"],
      [(d) => ((d.signature as Record<string, unknown>).A = "1"), "signature.A: unknown key"],
      [(d) => (d.version = 1), "version: unsupported version 1 (expected 3)"],
      [(d) => (d.version = 4), "version: unsupported version 4 (expected 3)"],
      [(d) => (d.intervalMs = "7200000"), 'intervalMs: expected a finite number, got "7200000"'],
      [(d) => (d.endTime = 1.5), "endTime: expected an integer"],
      [(d) => (d.bars[0].open = "426148000000"), "bars[0].open: unknown key"],
      [(d) => (d.bars[0].high = 432869000000), "bars[0].high: expected a string, got 432869000000"],
      [
        (d) => (d.bars[0].close = "4315.32"),
        'bars[0].close: expected a decimal integer string, got "4315.32"',
      ],
      [(d) => (d.bars[1].missing = "true"), 'bars[1].missing: expected true or false, got "true"'],
      [(d) => delete d.bars[2].volume, "bars[2].volume: missing"],
      [(d) => (d.digest = 5), "digest: expected a string"],
      [(d) => delete (d.publicKey as Record<string, unknown>).Ay, "publicKey.Ay: missing"],
      [
        (d) => (d.market = "BTC\u00e9USDT"),
        "market: 'BTC\u00e9USDT' must be a number or printable ASCII of at most 31 bytes",
      ],
      [(d) => (d.bars = []), "bars: 0 bars, expected 1 to 4096"],
      [(d) => (d.bars[1].time = 0), "bars[1].time: 0 is not the bar's position time"],
      [(d) => (d.bars[1].close = "1"), "bars[1].close: close of a missing bar must be 0, got 1"],
      [(d) => (d.bars[0].low = "999999999999"), "bars[0].low: low 999999999999 > close 431532000000"],
    ];
    for (const [edit, message] of cases) {
      const file = fileOf(signed, edit);
      const read = readSignedWindow(file);
      await expect(read, message).rejects.toThrow(PublisherFileError);
      await expect(readSignedWindow(file), message).rejects.toThrow(`${file}: ${message}`);
    }
  });

  it("refuses a candle edited after signing, another market, interval or end, unless re-signed", async () => {
    const moved = (intervalMs: number, endTime: number): Window => ({
      ...SMALL_WINDOW,
      intervalMs,
      endTime,
      bars: SMALL_WINDOW.bars.map((b, i) => ({ ...b, time: endTime - (2 - i) * intervalMs })),
    });
    const edits: [string, Window][] = [
      [
        "BTC-USDT",
        {
          ...SMALL_WINDOW,
          bars: SMALL_WINDOW.bars.map((b, i) => (i === 2 ? { ...b, close: b.close - 1n } : b)),
        },
      ],
      ["ETH-USDT", { ...SMALL_WINDOW, marketId: 0x4554482d55534454n }],
      ["BTC-USDT", moved(3_600_000, SMALL_WINDOW.endTime)],
      ["BTC-USDT", moved(SMALL_WINDOW.intervalMs, SMALL_WINDOW.endTime + SMALL_WINDOW.intervalMs)],
    ];
    for (const [market, window] of edits) {
      // The signed digest kept: it is not the bars' digest.
      const stale = fileOf({ ...signed, market, window });
      await expect(readSignedWindow(stale)).rejects.toThrow(
        new RegExp(`^${stale}: digest: ${signed.digest} is not the digest of the bars \\(\\d+\\)$`),
      );
      // The digest recomputed: the signature no longer verifies.
      const forged = fileOf({ ...signed, market, window, digest: await windowDigest(window) });
      await expect(readSignedWindow(forged)).rejects.toThrow(SignatureError);
      await expect(readSignedWindow(forged)).rejects.toThrow(
        `${forged}: signature: the signature does not verify for public key`,
      );
    }
  });

  it("writes version 3: a 30-bar window holds high and low in its last 24 bars only", async () => {
    const sw = await signWindow(await publisher(1), "BTC-USDT", WINDOW_30);
    const doc = JSON.parse(JSON.stringify(signedWindowJson(sw))) as Doc;
    expect(doc.version).toBe(3);
    expect(SIGNED_WINDOW_VERSION).toBe(3);
    const ranged = doc.bars.map((b) => "high" in b && "low" in b);
    expect(ranged).toEqual(WINDOW_30.bars.map((b, i) => i >= 30 - 24));
    expect(Object.keys(doc.bars[5])).toEqual(["time", "missing", "close", "volume"]);
    expect(Object.keys(doc.bars[6])).toEqual(["time", "missing", "close", "volume", "high", "low"]);
    expect(await readSignedWindow(fileOf(sw))).toEqual(sw);
    // a bar of the range part written as layout v2 wrote it (no high, no low): refused, naming the bar
    const file = fileOf(sw, (d) => {
      delete d.bars[6].high;
      delete d.bars[6].low;
    });
    await expect(readSignedWindow(file)).rejects.toThrow(`${file}: bars[6].high: missing`);
  });

  it("refuses a version 2 file (layout v2: highs and lows of 12 bars), naming the file and the version", async () => {
    // as version 2 wrote it: high and low in the last 12 bars only, under its own tag
    const sw = await signWindow(await publisher(1), "BTC-USDT", WINDOW_30);
    const file = fileOf(sw, (d) => {
      d.version = 2;
      for (const b of d.bars.slice(6, 18)) {
        delete b.high;
        delete b.low;
      }
    });
    const message =
      `${file}: version: signed window version 2 is no longer read (expected 3): its windows sign the highs ` +
      "and lows of their last 12 bars only (digest layout v2), version 3 those of the last 24 (layout v3, which " +
      "the adaptive rule's lagged outcomes read); sign the bar again";
    await expect(readSignedWindow(file)).rejects.toThrow(PublisherFileError);
    await expect(readSignedWindow(file)).rejects.toThrow(message);
    // the same refusal for a document read from elsewhere (a publisher's answer)
    const doc = JSON.parse(readFileSync(file, "utf8")) as unknown;
    await expect(parseSignedWindow(doc, "http://publisher/v1/windows/BTC-USDT")).rejects.toThrow(
      "http://publisher/v1/windows/BTC-USDT: version: signed window version 2 is no longer read (expected 3)",
    );
  });

  it("refuses another key's signature and S at or above the subgroup order", async () => {
    const other = await publisher(2);
    const swapped = fileOf(
      signed,
      (d) => (d.publicKey = { Ax: String(other.publicKey.Ax), Ay: String(other.publicKey.Ay) }),
    );
    await expect(readSignedWindow(swapped)).rejects.toThrow(SignatureError);
    const lifted = fileOf(
      signed,
      (d) => ((d.signature as Record<string, string>).S = String(signed.signature.S + SUBGROUP_ORDER)),
    );
    await expect(readSignedWindow(lifted)).rejects.toThrow(SignatureError);
    const byOther = await signWindow(other, "BTC-USDT", SMALL_WINDOW);
    expect((await readSignedWindow(fileOf(byOther))).publicKey).toEqual(other.publicKey);
  });
});

describe("publisher agreement", () => {
  it("finds no disagreement between publishers who signed the same candles", async () => {
    const a = await signWindow(await publisher(1), "BTC-USDT", SMALL_WINDOW);
    const b = await signWindow(await publisher(2), "BTC-USDT", SMALL_WINDOW);
    expect(firstDisagreement([a, b])).toBeUndefined();
    expect(firstDisagreement([a])).toBeUndefined();
  });

  it("reports the first differing bar and field, naming both windows", async () => {
    const a = await signWindow(await publisher(1), "BTC-USDT", SMALL_WINDOW);
    const bars = SMALL_WINDOW.bars.map((b, i) =>
      i === 2 ? { ...b, low: b.low + 1n, high: b.high + 5n } : b,
    );
    const b = await signWindow(await publisher(2), "BTC-USDT", { ...SMALL_WINDOW, bars });
    const c = await signWindow(await publisher(3), "BTC-USDT", SMALL_WINDOW);
    const report = firstDisagreement([a, c, b], ["a.json", "c.json", "b.json"]);
    expect(report).toEqual({
      index: 2,
      field: "bars[2].high",
      bar: { index: 2, time: SMALL_WINDOW.endTime },
      values: ["434999000000", "434999000005"],
      message:
        "b.json differs from a.json at bar 2 (2024-01-01T04:00:00.000Z) bars[2].high: 434999000005 vs 434999000000",
    });
    const missing = SMALL_WINDOW.bars.map((x, i) =>
      i === 0 ? { ...x, high: 0n, low: 0n, close: 0n, volume: 0n, missing: true } : x,
    );
    const d = await signWindow(await publisher(4), "BTC-USDT", { ...SMALL_WINDOW, bars: missing });
    expect(firstDisagreement([a, d])?.field).toBe("bars[0].missing");
  });

  it("reports a differing header: market, interval, end or length", async () => {
    const a = await signWindow(await publisher(1), "BTC-USDT", SMALL_WINDOW);
    const other = await signWindow(await publisher(2), "ETH-USDT", {
      ...SMALL_WINDOW,
      marketId: 0x4554482d55534454n,
    });
    expect(firstDisagreement([a, other])).toMatchObject({
      field: "market",
      bar: undefined,
      values: ["BTC-USDT", "ETH-USDT"],
    });
    const shorter = await signWindow(await publisher(2), "BTC-USDT", {
      ...SMALL_WINDOW,
      bars: SMALL_WINDOW.bars.slice(1),
    });
    expect(firstDisagreement([a, shorter])).toMatchObject({
      field: "bars.length",
      message: "window 1 differs from window 0 at bars.length: 2 vs 3",
    });
  });
});
