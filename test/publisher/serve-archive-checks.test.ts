/**
 * The publisher's archive checks each file once: a file it wrote is not verified, any other is verified (digests
 * and signature) when first read, also when many clients ask for it at once, and never again while its text is
 * the same, however many distinct bars clients cycle through; a file whose text changed on disk is verified
 * again, and refused if it does not check. The verifications are counted by spying on the signed-file readers.
 */
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { buildWindow } from "../../candles";
import { marketIdOf } from "../../candles/market-id";
import { parseCandlesCsv } from "../../candles/load-data";
import {
  PublisherFileError,
  signBatch,
  signWindow,
  type PublisherKey,
  type SignedWindow,
} from "../../publisher";
import { ArchiveMismatchError, BatchArchive, WindowArchive } from "../../publisher/serve";
import { barTime, csvText, tempDir, writeTestKeystore } from "../helpers/publisher-serve";

/** Calls of the functions that verify a signed window or batch (digests and signature). */
const verified = vi.hoisted(() => ({ count: 0 }));

vi.mock("../../publisher/signed-window", async (importOriginal) => {
  const original = await importOriginal<typeof import("../../publisher/signed-window")>();
  return {
    ...original,
    readSignedWindow: (...args: Parameters<typeof original.readSignedWindow>) => {
      verified.count++;
      return original.readSignedWindow(...args);
    },
    parseSignedWindow: (...args: Parameters<typeof original.parseSignedWindow>) => {
      verified.count++;
      return original.parseSignedWindow(...args);
    },
  };
});
vi.mock("../../publisher/signed-batch", async (importOriginal) => {
  const original = await importOriginal<typeof import("../../publisher/signed-batch")>();
  return {
    ...original,
    readSignedBatch: (...args: Parameters<typeof original.readSignedBatch>) => {
      verified.count++;
      return original.readSignedBatch(...args);
    },
    parseSignedBatch: (...args: Parameters<typeof original.parseSignedBatch>) => {
      verified.count++;
      return original.parseSignedBatch(...args);
    },
  };
});

const MARKET = "BTC-USDT";
const markets = [{ market: MARKET, marketId: marketIdOf(MARKET) }];
/** The batch of the archive's batch tests, of BTC-USDT and ETH-USDT. */
const MAJORS = [{ batch: "majors", markets: [MARKET, "ETH-USDT"] }];
const series = parseCandlesCsv(csvText(0, 120), "btc.csv");
let key: PublisherKey;
/** Windows of 20 bars ending at bars 110, 111 and 112. */
let windows: SignedWindow[];

beforeAll(async () => {
  key = await writeTestKeystore(join(tempDir("archive-checks-key"), "k.json"), 8);
  windows = [];
  for (const i of [110, 111, 112])
    windows.push(await signWindow(key, MARKET, buildWindow(series, marketIdOf(MARKET), i, 20)));
});
beforeEach(() => {
  verified.count = 0;
});

/** An archive in a fresh directory holding `windows`, written by another archive object (as before a restart). */
function archiveOfWindows(): { dir: string; files: string[] } {
  const dir = tempDir("archive-checks");
  const writer = WindowArchive.open(dir, markets, key.publicKey);
  return { dir, files: windows.map((w) => writer.put(MARKET, w).file) };
}

describe("publisher archive: each file checked once", () => {
  it("does not verify what it wrote; verifies another file once, also when many read it at once, then serves it as checked", async () => {
    const dir = tempDir("archive-checks-own");
    const writer = WindowArchive.open(dir, markets, key.publicKey);
    const { file } = writer.put(MARKET, windows[0]);
    for (let k = 0; k < 3; k++) expect((await writer.read(MARKET, barTime(110)))?.signed).toEqual(windows[0]);
    expect(verified.count).toBe(0);

    // Reopened (a restart): 20 clients ask for the same bar at once: one verification.
    const reopened = archiveOfWindows();
    const files = reopened.files;
    const archive = WindowArchive.open(reopened.dir, markets, key.publicKey);
    const texts = await Promise.all(
      Array.from({ length: 20 }, async () => (await archive.read(MARKET, barTime(110)))!.text),
    );
    expect(verified.count).toBe(1);
    expect(new Set(texts)).toEqual(new Set([readFileSync(files[0], "utf8")]));
    // Each other bar once, however often it is read; what is read back is what was signed.
    for (let k = 0; k < 3; k++) {
      for (const [j, i] of [110, 111, 112].entries()) {
        const read = (await archive.read(MARKET, barTime(i)))!;
        expect(read.text).toBe(readFileSync(files[j], "utf8"));
        expect(read.signed).toEqual(windows[j]);
      }
    }
    expect(verified.count).toBe(3);
    expect(archive.verifications).toBe(3);
    expect(file).toBe(join(dir, MARKET, `${barTime(110)}.json`));
  });

  it("verifies a file again when its text changed on disk: refused if it does not check (without verifying it at every read), served if it does", async () => {
    const { dir, files } = archiveOfWindows();
    const archive = WindowArchive.open(dir, markets, key.publicKey);
    const original = readFileSync(files[0], "utf8");
    await archive.read(MARKET, barTime(110));
    expect(verified.count).toBe(1);

    // A candle edited on disk after the file was checked.
    const doc = JSON.parse(original) as { bars: { close: string }[] };
    doc.bars[5].close = String(BigInt(doc.bars[5].close) + 1n);
    writeFileSync(files[0], JSON.stringify(doc, null, 2) + "\n");
    for (let k = 0; k < 3; k++) {
      const error = await archive.read(MARKET, barTime(110)).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(PublisherFileError);
      expect((error as Error).message).toMatch(
        new RegExp(`^${files[0]}: digest: \\d+ is not the digest of the bars`),
      );
    }
    expect(verified.count).toBe(2);

    // The same document written otherwise (another process rewrote it without indentation): checked again, served.
    const compact = JSON.stringify(JSON.parse(original));
    writeFileSync(files[0], compact);
    for (let k = 0; k < 3; k++) {
      const read = (await archive.read(MARKET, barTime(110)))!;
      expect(read.text).toBe(compact);
      expect(read.signed).toEqual(windows[0]);
    }
    expect(verified.count).toBe(3);
    expect(archive.verifications).toBe(3);
  });

  it("costs one verification per file however many distinct bars clients cycle through (more than a cache of 256 would hold)", async () => {
    // 260 files: a one-bar window (cheap to verify) at its bar, and copies of it named for 259 later bars, which
    // do not check (a file holds its own bar's window): each is verified once, served or refused from then on.
    const dir = tempDir("archive-checks-many");
    const oneBar = await signWindow(key, MARKET, buildWindow(series, marketIdOf(MARKET), 110, 1));
    const { file } = WindowArchive.open(dir, markets, key.publicKey).put(MARKET, oneBar);
    const copies = Array.from({ length: 259 }, (_, k) => barTime(110) + (k + 1) * 7_200_000);
    for (const t of copies) copyFileSync(file, join(dir, MARKET, `${t}.json`));
    const archive = WindowArchive.open(dir, markets, key.publicKey);
    for (let round = 0; round < 2; round++) {
      expect((await archive.read(MARKET, barTime(110)))?.signed.digest).toBe(oneBar.digest);
      for (const t of copies) {
        const error = await archive.read(MARKET, t).catch((err: unknown) => err);
        expect(error).toBeInstanceOf(ArchiveMismatchError);
      }
    }
    expect(verified.count).toBe(260);
  });

  it("checks an archived batch once too", async () => {
    const dir = tempDir("archive-checks-batch");
    const batch = await signBatch(
      key,
      ["ETH-USDT", MARKET].map((market) => ({
        market,
        window: buildWindow(series, marketIdOf(market), 111, 2),
      })),
    );
    const { file } = BatchArchive.open(dir, MAJORS, key.publicKey).put("majors", batch);
    const archive = BatchArchive.open(dir, MAJORS, key.publicKey);
    const reads = await Promise.all([1, 2, 3].map(() => archive.read("majors", barTime(111))));
    reads.push(await archive.read("majors", barTime(111)));
    expect(verified.count).toBe(1);
    for (const read of reads) {
      expect(read?.text).toBe(readFileSync(file, "utf8"));
      expect(read?.signed).toEqual(batch);
    }
  });
});
