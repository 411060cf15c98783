/**
 * `zkrisk publisher serve` as an exchange runs it for months: a Binance-like klines server on 127.0.0.1 whose
 * clock the test moves (a local clock ahead of the exchange's; a restart after a downtime longer than one answer
 * of klines), an archive directory that stops being writable for one market or one batch (the other markets go
 * on, /health and the metrics say which), and `--check` of a new key pointed at the old key's archive (a key
 * rotation); `publisher sign` of a bar still forming; `publisher set` from the public key files publishers hand
 * out. Real candles, real keys, real files, real HTTP.
 */
import { existsSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { buildWindow } from "../../candles";
import { parseCandlesCsv } from "../../candles/load-data";
import { marketIdOf } from "../../candles/market-id";
import { WINDOW_BARS } from "../../candles/window";
import { runPublisherSet } from "../../cli/commands/publisher-set";
import { runPublisherSign } from "../../cli/commands/publisher-sign";
import { runPublisherSignBatch } from "../../cli/commands/publisher-sign-batch";
import { ConfigError, UsageError } from "../../core/errors";
import {
  makePublisherSet,
  PublisherFileError,
  publisherSetCommitment,
  readPublicKeyFile,
  readPublisherSet,
  readSignedWindow,
} from "../../publisher";
import {
  checkPublisher,
  parsePublisherConfig,
  startPublisher,
  type RunningPublisher,
} from "../../publisher/serve";
import {
  barTime,
  csvClock,
  csvText,
  klinesOf,
  memoryLog,
  PASSWORD_ENV,
  tempDir,
  TWO_HOURS,
  writeJson,
  writeTestKeystore,
} from "../helpers/publisher-serve";

let dir: string;
const running: RunningPublisher[] = [];
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  dir = tempDir("publisher-onboarding");
  await writeTestKeystore(join(dir, "a.key.json"), 1);
  await writeTestKeystore(join(dir, "b.key.json"), 2);
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop()));
  await Promise.all(closers.splice(0).map((close) => close()));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A Binance-like GET /api/v3/klines over bars 0 to 2000 of the real file, serving the bars up to `state.bar`,
 * the last of them still forming (its open as every price so far, as Binance serves a bar that just opened):
 * the newest `limit` (default 500, at most 1000), or those opening at or before `endTime`. Its URL asks for 100.
 */
async function exchange(bar: number) {
  const klines = klinesOf(0, 2001);
  const state = { bar, requests: 0 };
  const server = createServer((req, res) => {
    state.requests++;
    const url = new URL(req.url ?? "/", "http://x");
    const served = klines.slice(0, state.bar + 1).map((k) => [...k]);
    const forming = served[served.length - 1];
    served[served.length - 1] = [
      forming[0],
      forming[1],
      forming[1],
      forming[1],
      forming[1],
      "0.5",
      ...forming.slice(6),
    ];
    const limit = Math.min(Number(url.searchParams.get("limit") ?? 500), 1000);
    const endTime = url.searchParams.get("endTime");
    const upTo = endTime === null ? served : served.filter((k) => (k[0] as number) <= Number(endTime));
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(upTo.slice(-limit)));
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
  });
  const port = (server.address() as AddressInfo).port;
  return { state, url: `http://127.0.0.1:${port}/api/v3/klines?symbol=BTCUSDT&interval=2h&limit=100` };
}

/** The config document of one publisher (polling only when asked) over `markets`. */
function configDoc(o: { archive: string; key?: string; markets: unknown[]; batches?: unknown[] }) {
  return {
    key: o.key ?? join(dir, "a.key.json"),
    archive: o.archive,
    pollSeconds: 3600,
    listen: { port: 0 },
    markets: o.markets,
    ...(o.batches === undefined ? {} : { batches: o.batches }),
  };
}

/** Starts a publisher from a config document, with the clock `now`. */
async function start(doc: ReturnType<typeof configDoc>, now?: () => number) {
  const cfg = parsePublisherConfig(doc, "publisher.json", dir);
  const { log, lines } = memoryLog();
  const publisher = await startPublisher(cfg, log, { env: PASSWORD_ENV, now });
  running.push(publisher);
  await publisher.poll();
  return { publisher, lines };
}

/** The end times (ms) archived in `directory`, ascending. */
function archived(directory: string): number[] {
  return readdirSync(directory)
    .filter((f) => /^\d+\.json$/.test(f))
    .map((f) => Number(f.replace(/\.json$/, "")))
    .sort((a, b) => a - b);
}

/** The log lines with message `msg`, parsed. */
function logged(lines: string[], msg: string): Record<string, unknown>[] {
  return lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === msg);
}

/** The /health document of `publisher`. */
async function health(publisher: RunningPublisher): Promise<Record<string, unknown>> {
  return (await (await fetch(`${publisher.url}/health`)).json()) as Record<string, unknown>;
}

/** Bar indices `from` to `to` (inclusive) as open times. */
const bars = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => barTime(from + i));

describe("publisher serve over Binance klines", () => {
  it("never signs the bar the exchange still forms, even when the local clock says it has closed", async () => {
    const binance = await exchange(300);
    const archive = join(tempDir("onboarding-skew"), "archive");
    // The local clock is 5 s past bar 300's close; the exchange's is not there yet: bar 300 is its last kline.
    const now = () => barTime(301) + 5_000;
    const { publisher } = await start(
      configDoc({
        archive,
        markets: [
          { market: "BTC-USDT", intervalMs: TWO_HOURS, source: { klines: binance.url }, backfillBars: 2 },
        ],
      }),
      now,
    );
    // Before, bar 300 was signed with the exchange's partial candle (its open as its close): a signed value the
    // exchange's final bar contradicts, which then held the market's signing for the next 84 bars.
    expect(archived(join(archive, "BTC-USDT"))).toEqual(bars(298, 299));
    binance.state.bar = 301;
    expect((await publisher.poll()).signed.map((s) => s.endTime)).toEqual([barTime(300)]);
    // The window of the exchange's final bar 300: the CSV's.
    const signed = await readSignedWindow(join(archive, "BTC-USDT", `${barTime(300)}.json`));
    const series = parseCandlesCsv(csvText(0, 301), "btc.csv");
    expect(signed.window).toEqual(buildWindow(series, marketIdOf("BTC-USDT"), 300, WINDOW_BARS));
  });

  it("after a downtime longer than one answer of klines, signs every bar it missed, oldest first", async () => {
    const binance = await exchange(1000);
    const archive = join(tempDir("onboarding-downtime"), "archive");
    const doc = configDoc({
      archive,
      markets: [{ market: "BTC-USDT", intervalMs: TWO_HOURS, source: { klines: binance.url } }],
    });
    let now = barTime(1001) + 60_000;
    const first = await start(doc, () => now);
    expect(archived(join(archive, "BTC-USDT"))).toEqual([barTime(999)]);
    await first.publisher.stop();

    // Down for 30 bars: the URL's answer (limit=100) holds bars 931 to 1029, so the windows of bars 1000 to 1014
    // and the newest archived one (of bar 999) begin before it.
    binance.state.bar = 1030;
    now = barTime(1031) + 60_000;
    const second = await start(doc, () => now);
    // Before, bars 1000 to 1014 were never signed ("bar not signed", reason history), and the newest archived
    // window counted as a source disagreement.
    expect(archived(join(archive, "BTC-USDT"))).toEqual(bars(999, 1029));
    expect(logged(second.lines, "bar not signed")).toEqual([]);
    expect(
      await second.publisher.metrics.registry.getSingleMetricAsString(
        "zkrisk_publisher_source_disagreements_total",
      ),
    ).not.toContain("BTC-USDT");
    // From then on one request a poll: the answer holds the newest archived window.
    const requests = binance.state.requests;
    binance.state.bar = 1031;
    now += TWO_HOURS;
    expect((await second.publisher.poll()).signed.map((s) => s.endTime)).toEqual([barTime(1030)]);
    expect(binance.state.requests).toBe(requests + 1);
  });
});

describe("publisher serve: an archive directory that stops being writable", () => {
  it("for one market: the others are still signed, and /health and the metrics name the market", async () => {
    const work = tempDir("onboarding-unwritable");
    const csv = join(work, "btc.csv");
    writeFileSync(csv, csvText(0, 200));
    const archive = join(work, "archive");
    const market = (name: string) => ({ market: name, intervalMs: TWO_HOURS, source: { csv } });
    const { publisher, lines } = await start(
      configDoc({ archive, markets: [market("AAA-USDT"), market("BBB-USDT")] }),
      csvClock(csv),
    );
    expect(archived(join(archive, "BBB-USDT"))).toEqual([barTime(199)]);

    // AAA-USDT's directory becomes unwritable (a file where it was: chmod does not stop root); a bar closes.
    const aaa = join(archive, "AAA-USDT");
    renameSync(aaa, `${aaa}.away`);
    writeFileSync(aaa, "");
    writeFileSync(csv, csvText(0, 201));
    const report = await publisher.poll();
    // Before, the failure ended the whole poll: BBB-USDT was not signed either, and /health said "ok".
    expect(report.signed.map((s) => [s.market, s.endTime])).toEqual([["BBB-USDT", barTime(200)]]);
    expect(report.errors).toEqual([{ market: "AAA-USDT", message: expect.stringMatching(/^ENOTDIR: /) }]);
    const failures = logged(lines, "poll failed; trying again at the next poll");
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ level: 50, market: "AAA-USDT" });
    expect(await health(publisher)).toMatchObject({
      status: "degraded",
      markets: [
        { market: "AAA-USDT", lastError: expect.stringMatching(/^ENOTDIR: .*AAA-USDT/) },
        { market: "BBB-USDT", lastError: null },
      ],
    });
    const metric = await publisher.metrics.registry.getSingleMetricAsString(
      "zkrisk_publisher_poll_failures_total",
    );
    expect(metric).toContain('zkrisk_publisher_poll_failures_total{market="AAA-USDT"} 1');
    expect(metric).toContain('zkrisk_publisher_poll_failures_total{market="BBB-USDT"} 0');
    // The next polls fail alike: counted, logged at debug level, not at error level again (before: every poll).
    await publisher.poll();
    await publisher.poll();
    expect(logged(lines, "poll failed; trying again at the next poll")).toHaveLength(1);
    expect(logged(lines, "poll failed as before; trying again at the next poll")).toMatchObject([
      { level: 20, market: "AAA-USDT" },
      { level: 20, market: "AAA-USDT" },
    ]);
    expect(
      await publisher.metrics.registry.getSingleMetricAsString("zkrisk_publisher_poll_failures_total"),
    ).toContain('zkrisk_publisher_poll_failures_total{market="AAA-USDT"} 3');

    // Writable again: the bar is signed, /health is ok.
    rmSync(aaa);
    renameSync(`${aaa}.away`, aaa);
    expect((await publisher.poll()).signed.map((s) => [s.market, s.endTime])).toEqual([
      ["AAA-USDT", barTime(200)],
    ]);
    expect(await health(publisher)).toMatchObject({
      status: "ok",
      markets: [{ lastError: null }, { lastError: null }],
    });
    expect(logged(lines, "poll succeeded again")).toMatchObject([
      { level: 30, market: "AAA-USDT", failedPolls: 3 },
    ]);
  });

  it("for one batch: its markets are still signed, and /health and the metrics name the batch", async () => {
    const work = tempDir("onboarding-batch-unwritable");
    const csv = join(work, "btc.csv");
    writeFileSync(csv, csvText(0, 200));
    const archive = join(work, "archive");
    const market = (name: string) => ({ market: name, intervalMs: TWO_HOURS, source: { csv } });
    const { publisher, lines } = await start(
      configDoc({
        archive,
        markets: [market("AAA-USDT"), market("BBB-USDT"), market("CCC-USDT")],
        batches: [
          { batch: "ab", markets: ["AAA-USDT", "BBB-USDT"] },
          { batch: "bc", markets: ["BBB-USDT", "CCC-USDT"] },
        ],
      }),
      csvClock(csv),
    );
    const ab = join(archive, "_batches", "ab");
    renameSync(ab, `${ab}.away`);
    writeFileSync(ab, "");
    writeFileSync(csv, csvText(0, 201));
    const report = await publisher.poll();
    expect(report.signed).toHaveLength(3);
    // Before, the failure of "ab" ended the poll: "bc" was not signed, and /health said "ok".
    expect(report.batches.map((b) => [b.batch, b.endTime])).toEqual([["bc", barTime(200)]]);
    expect(logged(lines, "batch signing failed; trying again at the next poll")).toMatchObject([
      { level: 50, batch: "ab", err: expect.stringMatching(/^ENOTDIR: /) },
    ]);
    expect(await health(publisher)).toMatchObject({
      status: "degraded",
      batches: [
        { batch: "ab", lastError: expect.stringMatching(/^ENOTDIR: /) },
        { batch: "bc", lastError: null },
      ],
    });
    expect(
      await publisher.metrics.registry.getSingleMetricAsString("zkrisk_publisher_batch_failures_total"),
    ).toContain('zkrisk_publisher_batch_failures_total{batch="ab"} 1');
    await publisher.poll();
    expect(logged(lines, "batch signing failed; trying again at the next poll")).toHaveLength(1);
    expect(logged(lines, "batch signing failed as before; trying again at the next poll")).toMatchObject([
      { level: 20, batch: "ab" },
    ]);
    rmSync(ab);
    renameSync(`${ab}.away`, ab);
    expect((await publisher.poll()).batches.map((b) => [b.batch, b.endTime])).toEqual([["ab", barTime(200)]]);
    expect((await health(publisher)).status).toBe("ok");
    expect(logged(lines, "batch signing succeeded again")).toMatchObject([
      { batch: "ab", failedSignings: 2 },
    ]);
  });
});

describe("publisher serve --check on a key rotation", () => {
  it("refuses a new key pointed at the old key's archive, as a start would, and creates nothing", async () => {
    const work = tempDir("onboarding-rotation");
    const csv = join(work, "btc.csv");
    writeFileSync(csv, csvText(0, 200));
    const markets = [{ market: "BTC-USDT", intervalMs: TWO_HOURS, source: { csv } }];
    const old = await start(configDoc({ archive: join(work, "archive"), markets }));
    await old.publisher.stop();
    const file = join(work, "archive", "BTC-USDT", `${barTime(199)}.json`);
    const oldKey = (await readSignedWindow(file)).publicKey;
    const newKey = (await writeTestKeystore(join(work, "b.key.json"), 2)).publicKey;
    const rotated = writeJson(
      work,
      "rotated.json",
      configDoc({ archive: "archive", key: "b.key.json", markets }),
    );
    // Before, --check passed here and the start then failed.
    await expect(checkPublisher(rotated, PASSWORD_ENV)).rejects.toThrow(
      new ConfigError(
        `${rotated}: archive: ${file} is signed by another key (Ax ${oldKey.Ax}); each publisher key ` +
          `keeps its own archive: give this key (Ax ${newKey.Ax}) another archive directory`,
      ),
    );
    const hourly = writeJson(
      work,
      "hourly.json",
      configDoc({ archive: "archive", markets: [{ ...markets[0], intervalMs: 3_600_000 }] }),
    );
    await expect(checkPublisher(hourly, PASSWORD_ENV)).rejects.toThrow(
      `${hourly}: markets[0].intervalMs: 3600000, but the source's bars are 7200000 ms apart (${csv})`,
    );
    // A URL source is not read by --check: the archived windows tell the interval
    const hourlyUrl = writeJson(
      work,
      "hourly-url.json",
      configDoc({
        archive: "archive",
        markets: [
          { market: "BTC-USDT", intervalMs: 3_600_000, source: { url: "http://127.0.0.1:1/candles" } },
        ],
      }),
    );
    await expect(checkPublisher(hourlyUrl, PASSWORD_ENV)).rejects.toThrow(
      `${hourlyUrl}: markets[0].intervalMs: 3600000, but the archived windows of BTC-USDT have bars of 7200000 ms (${file})`,
    );
    // The new key with its own archive directory passes, and --check makes nothing there.
    const fresh = writeJson(
      work,
      "fresh.json",
      configDoc({ archive: "archive-b", key: "b.key.json", markets }),
    );
    expect((await checkPublisher(fresh, PASSWORD_ENV)).publicKey).toEqual(newKey);
    expect(readdirSync(work).sort()).toEqual(
      [
        "archive",
        "b.key.json",
        "btc.csv",
        "fresh.json",
        "hourly.json",
        "hourly-url.json",
        "rotated.json",
      ].sort(),
    );
  });
});

describe("zkrisk publisher sign: a bar still forming", () => {
  it("is refused with a UsageError naming --at, the bar's close and now, before the key is unlocked", async () => {
    const work = tempDir("onboarding-sign");
    const data = join(work, "btc.csv");
    // The file's last bar is the one forming: an export taken mid-bar.
    writeFileSync(data, csvText(0, 200));
    const at = new Date(barTime(199)).toISOString();
    const flags = { key: join(dir, "a.key.json"), market: "BTC-USDT", data, at, out: join(work, "w.json") };
    const closes = barTime(199) + TWO_HOURS;
    // Before, the bar was signed: a value the bar's final candle then contradicts, under the publisher's key.
    const refused = new UsageError(
      `--at: the bar opening ${at} closes at ${new Date(closes).toISOString()}, after now ` +
        `(${new Date(closes - 1).toISOString()}): a bar still forming is never signed`,
    );
    await expect(runPublisherSign(flags, PASSWORD_ENV, () => closes - 1)).rejects.toThrow(refused);
    const batch = { key: flags.key, batch: [`BTC-USDT=${data}`, `ETH-USDT=${data}`], at, out: flags.out };
    await expect(runPublisherSignBatch(batch, PASSWORD_ENV, () => closes - 1)).rejects.toThrow(refused);
    expect(readdirSync(work)).toEqual(["btc.csv"]);
    // Once it has closed, it is signed.
    expect((await runPublisherSign(flags, PASSWORD_ENV, () => closes)).endTime).toBe(at);
  });
});

describe("zkrisk publisher set from public key files", () => {
  it("takes what `publisher keygen --json` prints instead of a keystore: the same set and commitment", async () => {
    const work = tempDir("onboarding-set");
    const keys = await Promise.all(
      [1, 2, 3].map((n) => writeTestKeystore(join(work, `${n}.key.json`), n).then((k) => k.publicKey)),
    );
    // Publishers 2 and 3 send their public key, not their (encrypted) private key.
    const publicKeyFile = (n: number) =>
      writeJson(work, `${n}.pub.json`, {
        keystore: join("/srv/publisher", `${n}.key.json`),
        publicKey: { Ax: keys[n - 1].Ax.toString(), Ay: keys[n - 1].Ay.toString() },
      });
    const files = [join(work, "1.key.json"), publicKeyFile(2), publicKeyFile(3)];
    // Before: "2.pub.json: version: missing", so each publisher had to hand over its keystore.
    const set = await runPublisherSet({ keystore: files, quorum: "2", out: join(work, "set.json") });
    expect(set.commitment).toBe(await publisherSetCommitment(await makePublisherSet(keys, 2)));
    expect(await readPublisherSet(join(work, "set.json"))).toEqual(await makePublisherSet(keys, 2));

    const odd = writeJson(work, "odd.json", { publicKey: { Ax: "1", Ay: "2" }, salt: "00" });
    expect(() => readPublicKeyFile(odd)).toThrow(
      new PublisherFileError(odd, "salt", "unknown key (expected one of publicKey, keystore)"),
    );
    // A quorum of half the keys or fewer lets two disjoint quorums sign different windows of one bar.
    const minority = { keystore: files, quorum: "1", out: join(work, "minority.json") };
    await expect(runPublisherSet(minority)).rejects.toThrow(
      new UsageError(
        "--quorum: quorum 1 of 3 keys is half of them or fewer: two disjoint quorums could sign different " +
          "windows of the same bar, and whoever submits first chooses which margin the oracle takes " +
          "(a majority, 2 or more, closes that); give --allow-minority-quorum to accept it",
      ),
    );
    expect(existsSync(minority.out)).toBe(false);
    const allowed = await runPublisherSet({ ...minority, allowMinorityQuorum: true });
    expect(await readPublisherSet(allowed.file)).toEqual(await makePublisherSet(keys, 1));

    const offCurve = writeJson(work, "off-curve.json", { publicKey: { Ax: "1", Ay: "2" } });
    await expect(
      runPublisherSet({ keystore: [files[0], offCurve], quorum: "1", out: join(work, "bad.json") }),
    ).rejects.toThrow(new PublisherFileError(offCurve, "publicKey", "not a point of BabyJubJub"));
  });
});
