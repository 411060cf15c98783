/**
 * `zkrisk publisher serve`, batches: a batch signed once all its markets' windows are archived at a bar close,
 * not before; never twice, also across a restart (which signs the ones it missed, oldest first); made of the
 * archived windows, not of what the source gives now; a first batch backfills at most the smallest
 * `backfillBars`; an archive whose batches are another key's or another set of markets refused. Real candles,
 * real files, real keys, a real publisher on 127.0.0.1.
 */
import { appendFileSync, copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { buildWindow } from "../../candles";
import { loadCandles } from "../../candles/load-data";
import { marketIdOf } from "../../candles/market-id";
import { ConfigError } from "../../core/errors";
import { readSignedBatch, readSignedWindow, type PublisherKey } from "../../publisher";
import { parsePublisherConfig, startPublisher, type RunningPublisher } from "../../publisher/serve";
import { WINDOW_BARS } from "../../candles/window";
import {
  BARS,
  barTime,
  csvText,
  HEADER,
  memoryLog,
  PASSWORD_ENV,
  tempDir,
  TWO_HOURS,
  writeTestKeystore,
} from "../helpers/publisher-serve";

let dir: string;
let keyA: PublisherKey;
let keyB: PublisherKey;
const running: RunningPublisher[] = [];

beforeAll(async () => {
  dir = tempDir("publisher-batches");
  keyA = await writeTestKeystore(join(dir, "a.key.json"), 5);
  keyB = await writeTestKeystore(join(dir, "b.key.json"), 6);
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop()));
});

let count = 0;
/** A fresh directory for one publisher's files. */
function fresh(): string {
  return tempDir(`publisher-batches-${++count}`);
}

/** Starts a publisher over BTC-USDT and ETH-USDT (2 h bars), polling only when asked. */
async function start(opts: {
  work: string;
  key?: string;
  backfillBars?: { btc?: number; eth?: number };
  batches?: unknown[];
}) {
  const backfill = (n: number | undefined) => (n === undefined ? {} : { backfillBars: n });
  const cfg = parsePublisherConfig(
    {
      key: opts.key ?? join(dir, "a.key.json"),
      archive: "archive",
      pollSeconds: 3600,
      listen: { port: 0 },
      markets: [
        {
          market: "BTC-USDT",
          intervalMs: TWO_HOURS,
          source: { csv: "btc.csv" },
          ...backfill(opts.backfillBars?.btc),
        },
        {
          market: "ETH-USDT",
          intervalMs: TWO_HOURS,
          source: { csv: "eth.csv" },
          ...backfill(opts.backfillBars?.eth),
        },
      ],
      ...(opts.batches === undefined ? {} : { batches: opts.batches }),
    },
    "publisher.json",
    opts.work,
  );
  const { log, lines } = memoryLog();
  const publisher = await startPublisher(cfg, log, { env: PASSWORD_ENV });
  running.push(publisher);
  // The first poll runs at start; this one queues behind it.
  await publisher.poll();
  return { publisher, lines };
}

/** The batch "majors" of both markets, written in the other order than their ids. */
const MAJORS = [{ batch: "majors", markets: ["ETH-USDT", "BTC-USDT"] }];

/** The end times (ms) of the files in `directory` of `work`'s archive, ascending. */
function archivedTimes(work: string, directory: string): number[] {
  return readdirSync(join(work, "archive", directory))
    .map((f) => Number(f.replace(/\.json$/, "")))
    .sort((a, b) => a - b);
}

/** The file of the batch "majors" at bar `i` in `work`'s archive. */
const batchFile = (work: string, i: number) =>
  join(work, "archive", "_batches", "majors", `${barTime(i)}.json`);

/** The log lines with message `msg`, parsed. */
function logged(lines: string[], msg: string): Record<string, unknown>[] {
  return lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === msg);
}

/** Checks that the batch file at bar `i` holds, market by market in id order, the archived windows of bar i. */
async function expectArchivedWindows(work: string, i: number, key: PublisherKey): Promise<void> {
  const batch = await readSignedBatch(batchFile(work, i));
  expect(batch.publicKey).toEqual(key.publicKey);
  expect(batch.markets.map((m) => m.market)).toEqual(["BTC-USDT", "ETH-USDT"]);
  for (const m of batch.markets) {
    const window = await readSignedWindow(join(work, "archive", m.market, `${barTime(i)}.json`));
    expect(m.window).toEqual(window.window);
    expect(m.digest).toBe(window.digest);
    expect(m.window.bars).toHaveLength(WINDOW_BARS);
  }
}

describe("publisher serve: batches", () => {
  it("signs a batch once every market of it has its window archived at a bar close, not before, and never twice", async () => {
    const work = fresh();
    writeFileSync(join(work, "btc.csv"), csvText(0, 200));
    // ETH-USDT's source is one bar behind.
    writeFileSync(join(work, "eth.csv"), csvText(0, 199));
    const { publisher, lines } = await start({ work, batches: MAJORS });
    expect(archivedTimes(work, "BTC-USDT")).toEqual([barTime(199)]);
    expect(archivedTimes(work, "ETH-USDT")).toEqual([barTime(198)]);
    // No bar close has both windows: nothing signed.
    expect(archivedTimes(work, "_batches/majors")).toEqual([]);

    appendFileSync(join(work, "eth.csv"), BARS[199] + "\n");
    let report = await publisher.poll();
    expect(report.signed.map((s) => [s.market, s.endTime])).toEqual([["ETH-USDT", barTime(199)]]);
    expect(report.batches).toEqual([
      { batch: "majors", endTime: barTime(199), digest: expect.any(BigInt), file: batchFile(work, 199) },
    ]);
    await expectArchivedWindows(work, 199, keyA);
    expect((await readSignedBatch(batchFile(work, 199))).digest).toBe(report.batches[0].digest);
    const first = readFileSync(batchFile(work, 199), "utf8");

    // Nothing new: nothing signed, nothing rewritten.
    expect((await publisher.poll()).batches).toEqual([]);
    // One market's window alone is not enough.
    appendFileSync(join(work, "btc.csv"), BARS[200] + "\n");
    report = await publisher.poll();
    expect(report.signed.map((s) => s.market)).toEqual(["BTC-USDT"]);
    expect(report.batches).toEqual([]);
    appendFileSync(join(work, "eth.csv"), BARS[200] + "\n");
    expect((await publisher.poll()).batches.map((b) => b.endTime)).toEqual([barTime(200)]);
    expect(archivedTimes(work, "_batches/majors")).toEqual([barTime(199), barTime(200)]);
    expect(readFileSync(batchFile(work, 199), "utf8")).toBe(first);

    // Logged once each, with the markets in id order; counted.
    expect(logged(lines, "signed batch")).toEqual([
      expect.objectContaining({
        batch: "majors",
        bar: new Date(barTime(199)).toISOString(),
        markets: ["BTC-USDT", "ETH-USDT"],
        file: batchFile(work, 199),
      }),
      expect.objectContaining({ batch: "majors", bar: new Date(barTime(200)).toISOString() }),
    ]);
    const metrics = await publisher.metrics.registry.metrics();
    expect(metrics).toContain('zkrisk_publisher_batches_signed_total{batch="majors"} 2');
    expect(metrics).toContain('zkrisk_publisher_archived_batches{batch="majors"} 2');
    expect(metrics).toContain(
      `zkrisk_publisher_last_signed_batch_bar_seconds{batch="majors"} ${barTime(200) / 1000}`,
    );
  });

  it("after a restart signs nothing again for the archived bars, and the ones it missed oldest first", async () => {
    const work = fresh();
    writeFileSync(join(work, "btc.csv"), csvText(0, 200));
    writeFileSync(join(work, "eth.csv"), csvText(0, 200));
    const firstRun = await start({ work, batches: MAJORS });
    expect(archivedTimes(work, "_batches/majors")).toEqual([barTime(199)]);
    const original = readFileSync(batchFile(work, 199), "utf8");
    expect((await firstRun.publisher.stop()).batches).toBe(1);

    // Down for two bars.
    for (const csv of ["btc.csv", "eth.csv"])
      appendFileSync(join(work, csv), BARS.slice(200, 202).join("\n") + "\n");
    const { publisher, lines } = await start({ work, batches: MAJORS });
    // The restart's own first poll signed the two it missed, oldest first, and not bar 199 again.
    expect(logged(lines, "signed batch").map((l) => l.bar)).toEqual(
      [200, 201].map((i) => new Date(barTime(i)).toISOString()),
    );
    expect(archivedTimes(work, "_batches/majors")).toEqual([199, 200, 201].map(barTime));
    expect(readFileSync(batchFile(work, 199), "utf8")).toBe(original);
    for (const i of [200, 201]) await expectArchivedWindows(work, i, keyA);

    // Then the next bar, once.
    for (const csv of ["btc.csv", "eth.csv"]) appendFileSync(join(work, csv), BARS[202] + "\n");
    expect((await publisher.poll()).batches.map((b) => b.endTime)).toEqual([barTime(202)]);
    expect((await publisher.poll()).batches).toEqual([]);
    expect(logged(lines, "signed batch")).toHaveLength(3);
  });

  it("a first batch backfills at most the smallest backfillBars, from the archived windows, not from the source as it now is", async () => {
    const work = fresh();
    writeFileSync(join(work, "btc.csv"), csvText(0, 200));
    writeFileSync(join(work, "eth.csv"), csvText(0, 200));
    const firstRun = await start({ work, backfillBars: { btc: 4, eth: 4 } });
    expect(archivedTimes(work, "BTC-USDT")).toEqual([196, 197, 198, 199].map(barTime));
    await firstRun.publisher.stop();

    // The source rewrites bar 199's close; then the batch is configured.
    const cells = BARS[199].split(",");
    cells[4] = cells[3];
    writeFileSync(join(work, "btc.csv"), [HEADER, ...BARS.slice(0, 199), cells.join(",")].join("\n") + "\n");
    const { publisher } = await start({ work, backfillBars: { btc: 4, eth: 2 }, batches: MAJORS });
    expect(archivedTimes(work, "_batches/majors")).toEqual([barTime(198), barTime(199)]);
    expect(publisher.batchArchive.count("majors")).toBe(2);
    for (const i of [198, 199]) await expectArchivedWindows(work, i, keyA);
    // Bar 199's batch holds the archived window, which the source no longer gives.
    const batch = await readSignedBatch(batchFile(work, 199));
    const now = buildWindow(loadCandles(join(work, "btc.csv")), marketIdOf("BTC-USDT"), 199, WINDOW_BARS);
    expect(batch.markets[0].window.bars.at(-1)!.close).not.toBe(now.bars.at(-1)!.close);
  });

  it("refuses to start on an archive whose batches hold other markets or carry another key", async () => {
    const work = fresh();
    writeFileSync(join(work, "btc.csv"), csvText(0, 200));
    writeFileSync(join(work, "eth.csv"), csvText(0, 200));
    const firstRun = await start({ work, batches: MAJORS });
    await firstRun.publisher.stop();
    // The same label for another set of markets (ETH-USDT with itself is not a batch: BTC-USDT twice is).
    const cfg = {
      key: join(dir, "a.key.json"),
      archive: "archive",
      listen: { port: 0 },
      markets: ["BTC-USDT", "ETH-USDT", "SOL-USDT"].map((market) => ({
        market,
        intervalMs: TWO_HOURS,
        source: { csv: "btc.csv" },
      })),
      batches: [{ batch: "majors", markets: ["BTC-USDT", "SOL-USDT"] }],
    };
    await expect(
      startPublisher(parsePublisherConfig(cfg, "publisher.json", work), memoryLog().log, {
        env: PASSWORD_ENV,
      }),
    ).rejects.toThrow(
      new ConfigError(
        `publisher.json: batches[0].markets: ["BTC-USDT","SOL-USDT"], but the archived batches of majors hold ` +
          `["BTC-USDT","ETH-USDT"] (${batchFile(work, 199)}); a batch label keeps its markets: give this set of ` +
          "markets another label",
      ),
    );

    // Another key's batch in an archive whose windows are still empty (too little history to sign one).
    const other = fresh();
    writeFileSync(join(other, "btc.csv"), csvText(0, 20));
    writeFileSync(join(other, "eth.csv"), csvText(0, 20));
    mkdirSync(join(other, "archive", "_batches", "majors"), { recursive: true });
    copyFileSync(batchFile(work, 199), batchFile(other, 199));
    await expect(start({ work: other, key: join(dir, "b.key.json"), batches: MAJORS })).rejects.toThrow(
      `publisher.json: archive: ${batchFile(other, 199)} is signed by another key (Ax ${keyA.publicKey.Ax}); ` +
        `each publisher key keeps its own archive: give this key (Ax ${keyB.publicKey.Ax}) another archive directory`,
    );
  });
});
