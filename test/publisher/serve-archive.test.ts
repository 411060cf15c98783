/**
 * The publisher's archive: one create-only file per market per bar (a second write for a bar is refused, even
 * from another process), listed again on open, checked when read; market directories that are safe names;
 * batches beside them under _batches/, equally create-only. A directory that cannot be made or written is an
 * error, never a hang, and a failed write leaves its bar to be signed again.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
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
import { ConfigError } from "../../core/errors";
import {
  ArchiveConflictError,
  BATCHES_DIRECTORY,
  BatchArchive,
  marketDirectory,
  parsePublisherConfig,
  startPublisher,
  WindowArchive,
} from "../../publisher/serve";
import {
  barTime,
  csvText,
  memoryLog,
  PASSWORD_ENV,
  tempDir,
  writeTestKeystore,
} from "../helpers/publisher-serve";

const ROOT = join(__dirname, "../..");

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
    // The batches' directory can never be a market's.
    expect(marketDirectory(BATCHES_DIRECTORY, marketIdOf(BATCHES_DIRECTORY))).toBe(
      `market-${marketIdOf(BATCHES_DIRECTORY)}`,
    );
  });

  it("writes each bar's batch once under _batches/<batch>/, refuses a second one, and lists them when reopened", async () => {
    const dir = tempDir("archive-batches");
    const series = parseCandlesCsv(csvText(0, 120), "btc.csv");
    const batchAt = (i: number) =>
      signBatch(
        key,
        ["ETH-USDT", MARKET].map((market) => ({
          market,
          window: buildWindow(series, marketIdOf(market), i, 20),
        })),
      );
    const archive = BatchArchive.open(dir, [{ batch: "majors" }]);
    expect(archive.latest("majors")).toBeUndefined();
    const { file } = archive.put("majors", await batchAt(111));
    expect(file).toBe(join(dir, "_batches", "majors", `${barTime(111)}.json`));
    const text = readFileSync(file, "utf8");
    // Windows and batches share the archive directory without meeting.
    WindowArchive.open(dir, markets).put(MARKET, windows[1]);
    expect(readdirSync(dir).sort()).toEqual([MARKET, "_batches"].sort());

    const theirs = BatchArchive.open(dir, [{ batch: "majors" }]);
    expect(theirs.range("majors")).toEqual({ first: barTime(111), last: barTime(111) });
    const again = await batchAt(111);
    expect(() => theirs.put("majors", again)).toThrow(new ArchiveConflictError(file, "batch"));
    expect(() => theirs.put("majors", again)).toThrow(
      `${file}: a batch is already archived for this bar; it is never replaced`,
    );
    expect(readFileSync(file, "utf8")).toBe(text);
    const read = await theirs.read("majors", barTime(111));
    expect(read?.text).toBe(text);
    expect(read?.signed.markets.map((m) => m.market)).toEqual([MARKET, "ETH-USDT"]);
  });

  it("a write that fails (its directory became a file) is an error, not a conflict, and the bar stays unsigned", () => {
    const dir = tempDir("archive-unwritable");
    const archive = WindowArchive.open(dir, markets);
    // A directory made read-only would do for a user other than root; a file where it was stops root too.
    renameSync(join(dir, MARKET), join(dir, "away"));
    writeFileSync(join(dir, MARKET), "");
    expect(() => archive.put(MARKET, windows[0])).toThrow(
      expect.objectContaining({ code: "ENOTDIR", path: join(dir, MARKET) }),
    );
    expect(archive.has(MARKET, barTime(110))).toBe(false);
    // Writable again (here, the directory gone: it is made again): the same bar is archived.
    rmSync(join(dir, MARKET));
    const { file } = archive.put(MARKET, windows[0]);
    expect(file).toBe(join(dir, MARKET, `${barTime(110)}.json`));
    expect(archive.has(MARKET, barTime(110))).toBe(true);
  });

  // Node's mkdirSync(..., { recursive: true }) loops for ever there, in the main thread: a child process, killed
  // if it hangs.
  it.skipIf(!existsSync("/proc/self"))(
    "an archive on a pseudo file system (/proc) is an error at once, not a hang at full CPU",
    () => {
      const script =
        `const { WindowArchive } = require("./publisher/serve/archive");` +
        `try { WindowArchive.open("/proc/zkrisk-archive", [{ market: "BTC-USDT", marketId: 1n }]); }` +
        `catch (err) { process.stdout.write(JSON.stringify({ code: err.code, path: err.path })); }`;
      const r = spawnSync(process.execPath, ["-r", "tsx/cjs", "-e", script], {
        cwd: ROOT,
        encoding: "utf8",
        timeout: 20_000,
      });
      expect(r.signal, "killed: WindowArchive.open did not return").toBeNull();
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({ code: "ENOENT", path: "/proc/zkrisk-archive" });
    },
  );

  it("a start whose archive cannot be made fails with a ConfigError naming `archive`", async () => {
    const dir = tempDir("archive-start");
    await writeTestKeystore(join(dir, "k.json"), 4);
    writeFileSync(join(dir, "btc.csv"), csvText(0, 120));
    writeFileSync(join(dir, "a-file"), "");
    // parsePublisherConfig does not probe the archive (loadPublisherConfig does): as if it changed since.
    const cfg = parsePublisherConfig(
      {
        key: "k.json",
        archive: "a-file/archive",
        listen: { host: "127.0.0.1", port: 0 },
        markets: [{ market: MARKET, intervalMs: 7_200_000, source: { csv: "btc.csv" } }],
      },
      "publisher.json",
      dir,
    );
    const error = await startPublisher(cfg, memoryLog().log, { env: PASSWORD_ENV }).catch(
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(
      `publisher.json: archive: cannot open ${join(dir, "a-file/archive")}: ENOTDIR: not a directory, mkdir`,
    );
  });
});
