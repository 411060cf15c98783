/**
 * The publisher's archive: one create-only file per market per bar (a second write for a bar is refused, even
 * from another process), listed again on open, checked when read; market directories that are safe names.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildWindow } from "../../candles";
import { marketIdOf } from "../../candles/market-id";
import { parseCandlesCsv } from "../../candles/load-data";
import { PublisherFileError, signWindow, type PublisherKey, type SignedWindow } from "../../publisher";
import { ArchiveConflictError, marketDirectory, WindowArchive } from "../../publisher/serve";
import { barTime, csvText, tempDir, writeTestKeystore } from "../helpers/publisher-serve";

const MARKET = "BTC-USDT";
const markets = [{ market: MARKET, marketId: marketIdOf(MARKET) }];
let key: PublisherKey;
let windows: SignedWindow[];

beforeAll(async () => {
  key = await writeTestKeystore(join(tempDir("archive-key"), "k.json"), 4);
  const series = parseCandlesCsv(csvText(0, 120), "btc.csv");
  windows = [];
  for (const i of [110, 111])
    windows.push(await signWindow(key, MARKET, buildWindow(series, marketIdOf(MARKET), i, 20)));
});

describe("publisher archive", () => {
  it("writes each bar's window once, refuses a second one, and lists them again when reopened", async () => {
    const dir = tempDir("archive");
    const archive = WindowArchive.open(dir, markets);
    expect(archive.latest(MARKET)).toBeUndefined();
    const { file } = archive.put(MARKET, windows[1]);
    archive.put(MARKET, windows[0]);
    expect(file).toBe(join(dir, MARKET, `${barTime(111)}.json`));
    const text = readFileSync(file, "utf8");

    // The same bar again, even with the window of another bar relabelled to it, is refused.
    const other = { ...windows[0], window: { ...windows[0].window, endTime: barTime(111) } };
    expect(() => archive.put(MARKET, other)).toThrow(ArchiveConflictError);
    expect(readFileSync(file, "utf8")).toBe(text);

    // A leftover temporary file of a crash is not a window.
    writeFileSync(join(dir, MARKET, `${barTime(112)}.json.123.abcd.tmp`), "{");
    const reopened = WindowArchive.open(dir, markets);
    expect(reopened.range(MARKET)).toEqual({ first: barTime(110), last: barTime(111) });
    expect(reopened.count(MARKET)).toBe(2);
    expect((await reopened.read(MARKET, barTime(111)))?.text).toBe(text);
    expect((await reopened.read(MARKET, barTime(111)))?.signed.digest).toBe(windows[1].digest);
    expect(await reopened.read(MARKET, barTime(112))).toBeUndefined();
  });

  it("refuses to replace a file another process archived meanwhile, and then knows that bar", () => {
    const dir = tempDir("archive-race");
    const mine = WindowArchive.open(dir, markets);
    const theirs = WindowArchive.open(dir, markets);
    const { file } = theirs.put(MARKET, windows[0]);
    const text = readFileSync(file, "utf8");
    expect(mine.has(MARKET, barTime(110))).toBe(false);
    expect(() => mine.put(MARKET, windows[0])).toThrow(
      `${file}: a window is already archived for this bar; it is never replaced`,
    );
    expect(mine.has(MARKET, barTime(110))).toBe(true);
    expect(readFileSync(file, "utf8")).toBe(text);
  });

  it("checks a file when it is first read: an edited candle is refused, naming the file and field", async () => {
    const dir = tempDir("archive-edited");
    const { file } = WindowArchive.open(dir, markets).put(MARKET, windows[0]);
    const doc = JSON.parse(readFileSync(file, "utf8")) as { bars: { close: string }[] };
    doc.bars[5].close = String(BigInt(doc.bars[5].close) + 1n);
    writeFileSync(file, JSON.stringify(doc));
    const error = await WindowArchive.open(dir, markets)
      .read(MARKET, barTime(110))
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(PublisherFileError);
    expect((error as Error).message).toMatch(
      new RegExp(`^${file}: digest: \\d+ is not the digest of the bars`),
    );
  });

  it("names a market's directory by its label when that is a safe file name, else by its id", () => {
    expect(marketDirectory("BTC-USDT", marketIdOf("BTC-USDT"))).toBe("BTC-USDT");
    expect(marketDirectory("ETH_USDT.P", marketIdOf("ETH_USDT.P"))).toBe("ETH_USDT.P");
    expect(marketDirectory("BTC/USDT", marketIdOf("BTC/USDT"))).toBe(`market-${marketIdOf("BTC/USDT")}`);
    expect(marketDirectory("..", marketIdOf(".."))).toBe(`market-${marketIdOf("..")}`);
    expect(marketDirectory(".hidden", marketIdOf(".hidden"))).toBe(`market-${marketIdOf(".hidden")}`);
  });
});
