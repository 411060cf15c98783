/**
 * The publisher's archive: one create-only file per market per bar (a second write for a bar is refused, even
 * from another process), listed again on open, checked when read; market directories that are safe names;
 * batches beside them under _batches/, equally create-only. A directory that cannot be made or written is an
 * error, never a hang, and a failed write leaves its bar to be signed again.
 *
 * It holds only its own record of each bar: a file must be signed by the publisher's key and hold the window of
 * its directory's market (and bar interval) whose last bar opens at the time its name says, or, for a batch,
 * exactly the batch's configured markets at that bar. A file that is not (another key's window, this key's window
 * of another bar or market, a batch of other markets, of another bar or of another key) is refused when read,
 * naming the file, the field and both values, and is never written; a start (and `--check`) refuses an archive
 * holding one anywhere, not only as its newest file.
 */
import { spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildWindow } from "../../candles";
import { marketIdOf } from "../../candles/market-id";
import { parseCandlesCsv } from "../../candles/load-data";
import { isoFromMs } from "../../core/time";
import {
  PublisherFileError,
  publicKeyOf,
  signBatch,
  signedBatchJson,
  signedWindowJson,
  signWindow,
  type PublisherKey,
  type SignedBatch,
  type SignedWindow,
} from "../../publisher";
import { ConfigError } from "../../core/errors";
import {
  ArchiveConflictError,
  ArchiveMismatchError,
  BATCHES_DIRECTORY,
  BatchArchive,
  checkPublisher,
  loadPublisherConfig,
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
  privateKeyOf,
  tempDir,
  TWO_HOURS,
  writeJson,
  writeTestKeystore,
} from "../helpers/publisher-serve";

const ROOT = join(__dirname, "../..");

const MARKET = "BTC-USDT";
const markets = [{ market: MARKET, marketId: marketIdOf(MARKET) }];
/** The batch of the archive's batch tests, of BTC-USDT and ETH-USDT. */
const MAJORS = [{ batch: "majors", markets: [MARKET, "ETH-USDT"] }];
const series = parseCandlesCsv(csvText(0, 200), "btc.csv");
/** This publisher's key (test key 4) and another publisher's (test key 9). */
let key: PublisherKey;
let other: PublisherKey;
let windows: SignedWindow[];

beforeAll(async () => {
  key = await writeTestKeystore(join(tempDir("archive-key"), "k.json"), 4);
  other = { privateKey: privateKeyOf(9), publicKey: await publicKeyOf(privateKeyOf(9)) };
  windows = [];
  for (const i of [110, 111])
    windows.push(await signWindow(key, MARKET, buildWindow(series, marketIdOf(MARKET), i, 20)));
});

describe("publisher archive", () => {
  it("writes each bar's window once, refuses a second one, and lists them again when reopened", async () => {
    const dir = tempDir("archive");
    const archive = WindowArchive.open(dir, markets, key.publicKey);
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
    const reopened = WindowArchive.open(dir, markets, key.publicKey);
    expect(reopened.range(MARKET)).toEqual({ first: barTime(110), last: barTime(111) });
    expect(reopened.count(MARKET)).toBe(2);
    expect((await reopened.read(MARKET, barTime(111)))?.text).toBe(text);
    expect((await reopened.read(MARKET, barTime(111)))?.signed.digest).toBe(windows[1].digest);
    expect(await reopened.read(MARKET, barTime(112))).toBeUndefined();
  });

  it("refuses to replace a file another process archived meanwhile, and then knows that bar", () => {
    const dir = tempDir("archive-race");
    const mine = WindowArchive.open(dir, markets, key.publicKey);
    const theirs = WindowArchive.open(dir, markets, key.publicKey);
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
    const { file } = WindowArchive.open(dir, markets, key.publicKey).put(MARKET, windows[0]);
    const doc = JSON.parse(readFileSync(file, "utf8")) as { bars: { close: string }[] };
    doc.bars[5].close = String(BigInt(doc.bars[5].close) + 1n);
    writeFileSync(file, JSON.stringify(doc));
    const error = await WindowArchive.open(dir, markets, key.publicKey)
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
    const batchAt = (i: number) =>
      signBatch(
        key,
        ["ETH-USDT", MARKET].map((market) => ({
          market,
          window: buildWindow(series, marketIdOf(market), i, 20),
        })),
      );
    const archive = BatchArchive.open(dir, MAJORS, key.publicKey);
    expect(archive.latest("majors")).toBeUndefined();
    const { file } = archive.put("majors", await batchAt(111));
    expect(file).toBe(join(dir, "_batches", "majors", `${barTime(111)}.json`));
    const text = readFileSync(file, "utf8");
    // Windows and batches share the archive directory without meeting.
    WindowArchive.open(dir, markets, key.publicKey).put(MARKET, windows[1]);
    expect(readdirSync(dir).sort()).toEqual([MARKET, "_batches"].sort());

    const theirs = BatchArchive.open(dir, MAJORS, key.publicKey);
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
    const archive = WindowArchive.open(dir, markets, key.publicKey);
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
        `try { WindowArchive.open("/proc/zkrisk-archive", [{ market: "BTC-USDT", marketId: 1n }], { Ax: 1n, Ay: 1n }); }` +
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

/** `who`'s window of `market` whose last bar is bar `i` of the test series (20 bars). */
function windowAt(who: PublisherKey, market: string, i: number): Promise<SignedWindow> {
  return signWindow(who, market, buildWindow(series, marketIdOf(market), i, 20));
}

/** `who`'s batch of `labels` at bar `i` (windows of 2 bars). */
function batchAt(who: PublisherKey, labels: readonly string[], i: number): Promise<SignedBatch> {
  return signBatch(
    who,
    labels.map((market) => ({ market, window: buildWindow(series, marketIdOf(market), i, 2) })),
  );
}

/** Writes a signed document as the archive writes its files (another process, or a copy by hand). */
function place(file: string, doc: Record<string, unknown>): void {
  writeFileSync(file, JSON.stringify(doc, null, 2) + "\n");
}

/** `ms` as the messages show it. */
const at = (ms: number) => `${ms} (${isoFromMs(ms)})`;

/** The refusal of a read (or write) that must fail as a file the archive does not hold. */
async function refusal(read: Promise<unknown> | (() => unknown)): Promise<ArchiveMismatchError> {
  const error = await (typeof read === "function" ? Promise.resolve().then(read) : read).catch(
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(ArchiveMismatchError);
  expect((error as ArchiveMismatchError).code).toBe("FILE_INVALID");
  return error as ArchiveMismatchError;
}

describe("publisher archive: only this key's record of each bar", () => {
  it("refuses at read a window of another key, market, bar interval or bar than its place says, naming the file and both values", async () => {
    const dir = tempDir("archive-owner-read");
    const fileAt = (i: number) => join(dir, MARKET, `${barTime(i)}.json`);
    const own = await windowAt(key, MARKET, 110);
    WindowArchive.open(dir, markets, key.publicKey).put(MARKET, own);
    // Copied in by someone with write access to the archive:
    place(fileAt(113), signedWindowJson(await windowAt(other, MARKET, 113))); // another key's, of its own bar
    place(fileAt(114), signedWindowJson(await windowAt(key, MARKET, 111))); // this key's, of bar 111
    place(fileAt(115), signedWindowJson(await windowAt(key, "ETH-USDT", 115))); // this key's, of ETH-USDT
    const archive = WindowArchive.open(dir, markets, key.publicKey);

    const foreignKey = await refusal(archive.read(MARKET, barTime(113)));
    expect(foreignKey.message).toBe(
      `${fileAt(113)}: publicKey: signed by another key (Ax ${other.publicKey.Ax}), not this publisher's ` +
        `(Ax ${key.publicKey.Ax}): the archive holds only what this key signed`,
    );
    expect(foreignKey).toMatchObject({ kind: "publicKey", file: fileAt(113), field: "publicKey" });
    expect((await refusal(archive.read(MARKET, barTime(114)))).message).toBe(
      `${fileAt(114)}: endTime: ${at(barTime(111))}, but the file's name says the bar opening at ` +
        `${at(barTime(114))}: a file holds the document of the bar it is named for`,
    );
    expect((await refusal(archive.read(MARKET, barTime(115)))).message).toBe(
      `${fileAt(115)}: market: "ETH-USDT", but BTC-USDT/ holds the windows of "BTC-USDT"`,
    );
    // Refused at every read without verifying the file again; this key's window of its bar is served.
    const verified = archive.verifications;
    await refusal(archive.read(MARKET, barTime(113)));
    expect(archive.verifications).toBe(verified);
    expect((await archive.read(MARKET, barTime(110)))?.signed).toEqual(own);

    // The same 2 h windows in the archive of a market of 1 h bars.
    const hourly = WindowArchive.open(dir, [{ ...markets[0], intervalMs: 3_600_000 }], key.publicKey);
    expect((await refusal(hourly.read(MARKET, barTime(110)))).message).toBe(
      `${fileAt(110)}: intervalMs: 7200000 ms, but the bars of BTC-USDT are 3600000 ms`,
    );
  });

  it("never writes a window of another key or market under a market", async () => {
    const dir = tempDir("archive-owner-put");
    const archive = WindowArchive.open(dir, markets, key.publicKey);
    const eth = await windowAt(key, "ETH-USDT", 112);
    expect((await refusal(() => archive.put(MARKET, eth))).field).toBe("market");
    const theirs = await windowAt(other, MARKET, 112);
    expect((await refusal(() => archive.put(MARKET, theirs))).field).toBe("publicKey");
    // Nothing was archived: the bar can still be signed.
    expect(archive.has(MARKET, barTime(112))).toBe(false);
    expect(archive.put(MARKET, await windowAt(key, MARKET, 112)).file).toBe(
      join(dir, MARKET, `${barTime(112)}.json`),
    );
  });

  it("refuses at read a batch of other markets, of another bar or of another key", async () => {
    const dir = tempDir("archive-owner-batches");
    const fileAt = (i: number) => join(dir, "_batches", "majors", `${barTime(i)}.json`);
    const own = await batchAt(key, [MARKET, "ETH-USDT"], 111);
    BatchArchive.open(dir, MAJORS, key.publicKey).put("majors", own);
    place(fileAt(112), signedBatchJson(await batchAt(key, [MARKET, "SOL-USDT"], 112)));
    place(fileAt(113), signedBatchJson(own));
    place(fileAt(114), signedBatchJson(await batchAt(other, [MARKET, "ETH-USDT"], 114)));
    const archive = BatchArchive.open(dir, MAJORS, key.publicKey);

    expect((await refusal(archive.read("majors", barTime(112)))).message).toBe(
      `${fileAt(112)}: markets: ["BTC-USDT","SOL-USDT"], but the batch of _batches/majors/ holds ` +
        `["BTC-USDT","ETH-USDT"]`,
    );
    expect((await refusal(archive.read("majors", barTime(113)))).message).toBe(
      `${fileAt(113)}: markets[0].endTime: ${at(barTime(111))}, but the file's name says the bar opening at ` +
        `${at(barTime(113))}: a file holds the document of the bar it is named for`,
    );
    expect((await refusal(archive.read("majors", barTime(114)))).kind).toBe("publicKey");
    expect((await archive.read("majors", barTime(111)))?.signed).toEqual(own);
    // A start reads every file: the first that is not this key's record of its bar stops it.
    expect((await refusal(archive.scan("majors"))).file).toBe(fileAt(112));
  });

  it("a start and --check refuse an archive holding a foreign file anywhere, not only as its newest; moved out, it starts", async () => {
    const dir = tempDir("archive-owner-start");
    await writeTestKeystore(join(dir, "k.json"), 4);
    writeFileSync(join(dir, "btc.csv"), csvText(0, 200));
    const config = writeJson(dir, "publisher.json", {
      key: "k.json",
      archive: "archive",
      listen: { host: "127.0.0.1", port: 0 },
      markets: [{ market: MARKET, intervalMs: TWO_HOURS, source: { csv: "btc.csv" } }],
    });
    const archiveDir = join(dir, "archive");
    const fileAt = (i: number) => join(archiveDir, MARKET, `${barTime(i)}.json`);
    const writer = WindowArchive.open(archiveDir, markets, key.publicKey);
    for (const i of [110, 111, 112]) writer.put(MARKET, await windowAt(key, MARKET, i));
    const start = async () => {
      const running = await startPublisher(loadPublisherConfig(config), memoryLog().log, {
        env: PASSWORD_ENV,
      });
      await running.stop();
    };

    // This key's window of bar 110 copied to bar 105: the newest file (bar 112) is this key's, of its bar.
    copyFileSync(fileAt(110), fileAt(105));
    const wrongBar = new ConfigError(
      `${config}: archive: ${fileAt(105)}: endTime: ${at(barTime(110))}, but the file's name says the bar ` +
        `opening at ${at(barTime(105))}: a file holds the document of the bar it is named for; the archive holds ` +
        "only this publisher's own record of each bar: move the file out of the archive (and find out how it got " +
        "there)",
    );
    await expect(checkPublisher(config, PASSWORD_ENV)).rejects.toThrow(wrongBar);
    await expect(start()).rejects.toThrow(wrongBar);
    renameSync(fileAt(105), join(dir, "moved-out.json"));

    // Another key's window of its own bar, older than the newest.
    place(fileAt(108), signedWindowJson(await windowAt(other, MARKET, 108)));
    const otherKey = new ConfigError(
      `${config}: archive: ${fileAt(108)} is signed by another key (Ax ${other.publicKey.Ax}); each publisher ` +
        `key keeps its own archive: give this key (Ax ${key.publicKey.Ax}) another archive directory`,
    );
    await expect(checkPublisher(config, PASSWORD_ENV)).rejects.toThrow(otherKey);
    await expect(start()).rejects.toThrow(otherKey);
    renameSync(fileAt(108), join(dir, "moved-out-too.json"));

    await checkPublisher(config, PASSWORD_ENV);
    const { log, lines } = memoryLog();
    const running = await startPublisher(loadPublisherConfig(config), log, { env: PASSWORD_ENV });
    await running.stop();
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toContainEqual(
      expect.objectContaining({ windows: 3, batches: 0, msg: expect.stringMatching(/^archive checked/) }),
    );
  });
});
