/**
 * `zkrisk publisher serve`, signing: each new closed bar's window signed once and archived; a restart that
 * never signs a different window for an archived bar (the source edited after the restart: the archive and
 * the served window stay, the disagreement is reported with its bar and field, the next window is held); Binance klines over HTTP;
 * two publishers over one source (same digest, different signatures); an archive of another key refused.
 * Real candles, real files, real HTTP on 127.0.0.1, real keys.
 */
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { buildWindow, PRICE_DECIMALS, toFixedPoint } from "../../candles";
import { marketIdOf } from "../../candles/market-id";
import { ConfigError } from "../../core/errors";
import { loadCandles } from "../../candles/load-data";
import { readSignedWindow, type PublisherKey } from "../../publisher";
import { parsePublisherConfig, startPublisher, type RunningPublisher } from "../../publisher/serve";
import { WINDOW_BARS } from "../../candles/window";
import {
  BARS,
  barTime,
  csvText,
  HEADER,
  klinesOf,
  memoryLog,
  PASSWORD_ENV,
  privateKeyForms,
  tempDir,
  TWO_HOURS,
  writeTestKeystore,
} from "../helpers/publisher-serve";

const MARKET = "BTC-USDT";

let dir: string;
let keyA: PublisherKey;
let keyB: PublisherKey;
const running: RunningPublisher[] = [];

beforeAll(async () => {
  dir = tempDir("publisher-signer");
  keyA = await writeTestKeystore(join(dir, "a.key.json"), 1);
  keyB = await writeTestKeystore(join(dir, "b.key.json"), 2);
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop()));
});

let count = 0;
/** A fresh directory for one publisher's files. */
function fresh(): string {
  return tempDir(`publisher-run-${++count}`);
}

/** Starts a publisher (polling only when asked: pollSeconds is an hour) over `source`. */
async function start(opts: {
  source: Record<string, unknown>;
  archive: string;
  key?: string;
  intervalMs?: number;
  backfillBars?: number;
  now?: () => number;
}) {
  const cfg = parsePublisherConfig(
    {
      key: opts.key ?? join(dir, "a.key.json"),
      archive: opts.archive,
      pollSeconds: 3600,
      listen: { port: 0 },
      markets: [
        {
          market: MARKET,
          intervalMs: opts.intervalMs ?? TWO_HOURS,
          source: opts.source,
          ...(opts.backfillBars === undefined ? {} : { backfillBars: opts.backfillBars }),
        },
      ],
    },
    "publisher.json",
    dir,
  );
  const { log, lines } = memoryLog();
  const publisher = await startPublisher(cfg, log, { env: PASSWORD_ENV, now: opts.now });
  running.push(publisher);
  // The first poll runs at start; this one queues behind it.
  await publisher.poll();
  return { publisher, lines };
}

/** The end times (ms) of the windows archived for MARKET in `archive`, ascending. */
function archivedTimes(archive: string): number[] {
  return readdirSync(join(archive, MARKET))
    .map((f) => Number(f.replace(/\.json$/, "")))
    .sort((a, b) => a - b);
}

/** The log lines with message `msg`, parsed. */
function logged(lines: string[], msg: string): Record<string, unknown>[] {
  return lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === msg);
}

describe("publisher serve: signing", () => {
  it("signs the window ending at each newly closed bar once, and what it signs is the source's window", async () => {
    const work = fresh();
    const csv = join(work, "btc.csv");
    writeFileSync(csv, csvText(0, 200));
    const archive = join(work, "archive");
    const { publisher, lines } = await start({ source: { csv }, archive });
    // An empty archive: only the newest closed bar (backfillBars 1).
    expect(archivedTimes(archive)).toEqual([barTime(199)]);

    appendFileSync(csv, BARS.slice(200, 203).join("\n") + "\n");
    const report = await publisher.poll();
    expect(report.signed.map((s) => s.endTime)).toEqual([barTime(200), barTime(201), barTime(202)]);
    // Nothing new: nothing signed, nothing rewritten.
    const before = archivedTimes(archive).map((t) =>
      readFileSync(join(archive, MARKET, `${t}.json`), "utf8"),
    );
    expect((await publisher.poll()).signed).toEqual([]);
    expect((await publisher.poll()).signed).toEqual([]);
    expect(archivedTimes(archive)).toEqual([199, 200, 201, 202].map(barTime));
    expect(
      archivedTimes(archive).map((t) => readFileSync(join(archive, MARKET, `${t}.json`), "utf8")),
    ).toEqual(before);
    expect(logged(lines, "signed window")).toHaveLength(4);
    expect(
      await publisher.metrics.registry.getSingleMetricAsString("zkrisk_publisher_windows_signed_total"),
    ).toContain(`zkrisk_publisher_windows_signed_total{market="${MARKET}"} 4`);

    // Each file verifies, and holds the window of WINDOW_BARS bars that candles/ builds from the file.
    const series = loadCandles(csv);
    for (const i of [199, 200, 201, 202]) {
      const signed = await readSignedWindow(join(archive, MARKET, `${barTime(i)}.json`));
      expect(signed.window).toEqual(buildWindow(series, marketIdOf(MARKET), i, WINDOW_BARS));
      expect(signed.window.bars).toHaveLength(WINDOW_BARS);
      expect(signed.publicKey).toEqual(keyA.publicKey);
      if (i > 199) expect(signed.digest).toBe(report.signed[i - 200].digest);
    }
    // The key is in no log line, in any form.
    const text = lines.join("");
    for (const form of privateKeyForms(keyA.privateKey)) expect(text).not.toContain(form);
    expect(text).not.toContain(PASSWORD_ENV.ZKRISK_PUBLISHER_PASSWORD);
  });

  it("after a restart never signs a different window for an archived bar: it keeps serving the archived one and reports the disagreement", async () => {
    const work = fresh();
    const csv = join(work, "btc.csv");
    writeFileSync(csv, csvText(0, 202));
    const archive = join(work, "archive");
    const first = await start({ source: { csv }, archive, backfillBars: 2 });
    expect(archivedTimes(archive)).toEqual([barTime(200), barTime(201)]);
    const files = [200, 201].map((i) => join(archive, MARKET, `${barTime(i)}.json`));
    const originals = files.map((f) => readFileSync(f, "utf8"));
    await first.publisher.stop();

    // Restart on the same archive, then the source rewrites bar 200's close (inside the windows of 200 and 201).
    const { publisher, lines } = await start({ source: { csv }, archive, backfillBars: 2 });
    const cells = BARS[200].split(",");
    const [low, close] = [cells[3], cells[4]];
    expect(low).not.toBe(close);
    cells[4] = low;
    writeFileSync(csv, [HEADER, ...BARS.slice(0, 200), cells.join(","), BARS[201]].join("\n") + "\n");

    const report = await publisher.poll();
    expect(report.signed).toEqual([]);
    expect(report.disagreements).toHaveLength(1);
    const d = report.disagreements[0];
    expect(d).toMatchObject({
      market: MARKET,
      endTime: barTime(201),
      field: `bars[${WINDOW_BARS - 2}].close`,
      bar: { index: WINDOW_BARS - 2, time: barTime(200) },
      archived: String(toFixedPoint(Number(close), PRICE_DECIMALS)),
      source: String(toFixedPoint(Number(low), PRICE_DECIMALS)),
    });
    expect(d.message).toContain(`at bar ${WINDOW_BARS - 2} (${new Date(barTime(200)).toISOString()})`);
    // Logged once, naming the window, the bar and the field; counted by field.
    const warned = logged(
      lines,
      `the source disagrees with the archived window; the archived one stays: ${d.message}`,
    );
    expect(warned).toEqual([
      expect.objectContaining({
        market: MARKET,
        window: new Date(barTime(201)).toISOString(),
        bar: new Date(barTime(200)).toISOString(),
        field: `bars[${WINDOW_BARS - 2}].close`,
      }),
    ]);
    const metric = () =>
      publisher.metrics.registry.getSingleMetricAsString("zkrisk_publisher_source_disagreements_total");
    expect(await metric()).toContain(
      `zkrisk_publisher_source_disagreements_total{market="${MARKET}",field="close"} 1`,
    );

    // Polling again changes nothing and reports nothing new.
    expect(await publisher.poll()).toEqual({
      signed: [],
      disagreements: [],
      errors: [],
      held: [],
      waiting: [],
      batches: [],
    });
    expect(await metric()).toContain(`field="close"} 1`);
    expect(archivedTimes(archive)).toEqual([barTime(200), barTime(201)]);
    expect(files.map((f) => readFileSync(f, "utf8"))).toEqual(originals);
    // What is served is the archived window, byte for byte.
    for (const [j, i] of [200, 201].entries()) {
      const served = await fetch(`${publisher.url}/v1/windows/${MARKET}?at=${barTime(i)}`);
      expect(served.status).toBe(200);
      expect(await served.text()).toBe(originals[j]);
    }
    // A later bar's window holds bar 200 too: signing it would sign a second close for bar 200, so it is held
    // (serve-hold.test.ts follows a hold through).
    appendFileSync(csv, BARS[202] + "\n");
    const later = await publisher.poll();
    expect(later.signed).toEqual([]);
    expect(later.held.map((h) => [h.windows, h.conflict.time, h.conflict.field])).toEqual([
      [{ first: barTime(202), last: barTime(202), count: 1 }, barTime(200), "close"],
    ]);
  });

  it("after a restart, reports the newest archived bar changed in the source and does not sign it again", async () => {
    const work = fresh();
    const csv = join(work, "btc.csv");
    writeFileSync(csv, csvText(0, 200));
    const archive = join(work, "archive");
    const first = await start({ source: { csv }, archive });
    const original = readFileSync(join(archive, MARKET, `${barTime(199)}.json`), "utf8");
    await first.publisher.stop();
    // The newest archived bar itself changes (its high) and is the source's newest bar again.
    const cells = BARS[199].split(",");
    cells[2] = String(Number(cells[2]) + 1);
    writeFileSync(csv, [HEADER, ...BARS.slice(0, 199), cells.join(",")].join("\n") + "\n");
    const { publisher, lines } = await start({ source: { csv }, archive });
    // The restart's own first poll found it.
    expect(logged(lines, "signed window")).toEqual([]);
    expect(
      await publisher.metrics.registry.getSingleMetricAsString("zkrisk_publisher_source_disagreements_total"),
    ).toContain(`field="high"} 1`);
    // The file the first run wrote was verified once on the restart (digests, signature), however often read.
    const verifications = () =>
      publisher.metrics.registry.getSingleMetricAsString("zkrisk_publisher_archive_verifications_total");
    expect((await verifications()).split("\n").slice(2)).toEqual([
      'zkrisk_publisher_archive_verifications_total{kind="window"} 1',
      'zkrisk_publisher_archive_verifications_total{kind="batch"} 0',
    ]);
    expect(readFileSync(join(archive, MARKET, `${barTime(199)}.json`), "utf8")).toBe(original);
    expect(archivedTimes(archive)).toEqual([barTime(199)]);
  });

  it("reads Binance klines over HTTP, leaves the bar still forming, and signs the CSV's window (same digest)", async () => {
    // Bars 0..200 as klines, the last one still forming at `now`.
    const server: Server = createServer((req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(klinesOf(0, 201)));
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v3/klines?symbol=BTCUSDT&interval=2h`;
      const now = () => barTime(200) + TWO_HOURS - 1;
      const fromKlines = await start({ source: { klines: url }, archive: join(fresh(), "archive"), now });
      const csv = join(fresh(), "btc.csv");
      writeFileSync(csv, csvText(0, 201));
      const fromCsv = await start({
        source: { csv },
        archive: join(fresh(), "archive"),
        key: join(dir, "b.key.json"),
        now,
      });

      const a = await fetch(`${fromKlines.publisher.url}/v1/windows/${MARKET}`);
      const b = await fetch(`${fromCsv.publisher.url}/v1/windows/${MARKET}`);
      const [wa, wb] = [
        (await a.json()) as Record<string, unknown>,
        (await b.json()) as Record<string, unknown>,
      ];
      expect(wa.endTime).toBe(barTime(199));
      expect(wa.digest).toBe(wb.digest);
      expect(wa.bars).toEqual(wb.bars);
      expect(wa.signature).not.toEqual(wb.signature);
    } finally {
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
    }
  });

  it("two publishers over one source sign the same window (same digest) with different signatures", async () => {
    const csv = join(fresh(), "btc.csv");
    writeFileSync(csv, csvText(0, 200));
    const a = await start({ source: { csv }, archive: join(fresh(), "archive") });
    const b = await start({
      source: { csv },
      archive: join(fresh(), "archive"),
      key: join(dir, "b.key.json"),
    });
    const windows = [];
    for (const p of [a, b]) {
      const response = await fetch(`${p.publisher.url}/v1/windows/${MARKET}?at=${barTime(199)}`);
      expect(response.status).toBe(200);
      const file = join(fresh(), "window.json");
      writeFileSync(file, await response.text());
      windows.push(await readSignedWindow(file));
    }
    const [wa, wb] = windows;
    expect(wa.digest).toBe(wb.digest);
    expect(wa.window).toEqual(wb.window);
    expect(wa.publicKey).toEqual(keyA.publicKey);
    expect(wb.publicKey).toEqual(keyB.publicKey);
    expect(wa.signature).not.toEqual(wb.signature);
  });

  it("reports a source of another bar interval and signs nothing from it", async () => {
    const csv = join(fresh(), "btc.csv");
    writeFileSync(csv, csvText(0, 200));
    const archive = join(fresh(), "archive");
    const { publisher, lines } = await start({ source: { csv }, archive, intervalMs: 3_600_000 });
    const report = await publisher.poll();
    expect(report.signed).toEqual([]);
    expect(report.errors).toEqual([
      {
        market: MARKET,
        message: `${csv}: bars are 7200000 ms apart, but the market's intervalMs is 3600000`,
      },
    ]);
    expect(archivedTimes(archive)).toEqual([]);
    // Logged once, not at every poll.
    expect(logged(lines, "candle source unusable; nothing signed for now")).toHaveLength(1);
    const health = (await (await fetch(`${publisher.url}/health`)).json()) as Record<string, unknown>;
    expect(health.status).toBe("degraded");
  });

  /** A CSV of 200 bars and an archive a first publisher signed from it; `file` its newest window. */
  async function signedArchive(): Promise<{ csv: string; archive: string; file: string }> {
    const csv = join(fresh(), "btc.csv");
    writeFileSync(csv, csvText(0, 200));
    const archive = join(fresh(), "archive");
    const first = await start({ source: { csv }, archive });
    await first.publisher.stop();
    return { csv, archive, file: join(archive, MARKET, `${barTime(199)}.json`) };
  }

  it("refuses to start on an archive signed by another key, or with another bar interval", async () => {
    const { csv, archive, file } = await signedArchive();
    await expect(start({ source: { csv }, archive, key: join(dir, "b.key.json") })).rejects.toThrow(
      new ConfigError(
        `publisher.json: archive: ${file} is signed by another key (Ax ${keyA.publicKey.Ax}); each publisher key ` +
          `keeps its own archive: give this key (Ax ${keyB.publicKey.Ax}) another archive directory`,
      ),
    );
    await expect(start({ source: { csv }, archive, intervalMs: 3_600_000 })).rejects.toThrow(
      `publisher.json: markets[0].intervalMs: 3600000, but the archived windows of ${MARKET} have bars of 7200000 ms (${file})`,
    );
  });

  it("refuses to start on an archive of version 2 windows (digest layout v2), naming the file and the version", async () => {
    const { csv, archive, file } = await signedArchive();
    // the newest archived window as the publisher of layout v2 wrote it: version 2, high and low in 12 bars
    const doc = JSON.parse(readFileSync(file, "utf8")) as {
      version: number;
      bars: Record<string, unknown>[];
    };
    doc.version = 2;
    for (const bar of doc.bars.slice(WINDOW_BARS - 24, WINDOW_BARS - 12)) {
      delete bar.high;
      delete bar.low;
    }
    writeFileSync(file, JSON.stringify(doc));
    await expect(start({ source: { csv }, archive })).rejects.toThrow(
      new ConfigError(
        `publisher.json: archive: ${file}: signed window version 2 is no longer read (expected 3): its windows ` +
          "sign the highs and lows of their last 12 bars only (digest layout v2), version 3 those of the last 24 " +
          "(layout v3, which the adaptive rule's lagged outcomes read); sign the bar again. This publisher signs " +
          "version 3 windows (version 2 batches): give it another archive directory",
      ),
    );
    // a new archive directory starts
    const { publisher } = await start({ source: { csv }, archive: join(fresh(), "archive") });
    expect((await publisher.poll()).signed).toEqual([]);
  });
});

afterAll(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop()));
});
