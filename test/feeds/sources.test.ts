/**
 * Candle feeds: the CSV file and JSON-over-HTTP sources (an answer read up to SOURCE_MAX_ANSWER_BYTES, a redirect
 * refused), shared reads, and which bar has closed.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DataError, InsufficientDataError } from "../../core/errors";
import { parseCandlesCsv } from "../../candles/load-data";
import type { CandleSeries } from "../../candles/types";
import {
  candleSourceOf,
  CsvCandleSource,
  HttpCandleSource,
  latestClosedBar,
  sharedSource,
  SOURCE_MAX_ANSWER_BYTES,
  type CandleSource,
} from "../../feeds";

const DATA = join(__dirname, "../../models/data/btcusdt-2h.csv");
const TWO_HOURS = 7_200_000;

/** Header and bar lines of the real Binance file (each line without its newline). */
const [HEADER, ...BARS] = readFileSync(DATA, "utf8").trimEnd().split("\n");

/** Lines `from` (inclusive) to `to` (exclusive) of the real file's bars, as CSV text with the header. */
function slice(from: number, to: number): string {
  return [HEADER, ...BARS.slice(from, to)].join("\n") + "\n";
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "zkrisk-candles-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
/** A fresh file in the temp dir holding `text`. */
function tempCsv(text: string): string {
  const path = join(dir, `candles-${++files}.csv`);
  writeFileSync(path, text);
  return path;
}

/** The error `promise` rejects with (fails if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(Error);
  return error as Error;
}

describe("CsvCandleSource", () => {
  it("reads what the real loader reads", async () => {
    const path = tempCsv(slice(0, 300));
    const series = await new CsvCandleSource(path).read();
    expect(series).toEqual(parseCandlesCsv(slice(0, 300), path));
    expect(series.candles).toHaveLength(300);
  });

  it("sees rows appended between reads", async () => {
    const path = tempCsv(slice(0, 200));
    const source = new CsvCandleSource(path);
    expect((await source.read()).candles).toHaveLength(200);
    appendFileSync(path, BARS.slice(200, 203).join("\n") + "\n");
    const series = await source.read();
    expect(series).toEqual(parseCandlesCsv(slice(0, 203), path));
  });

  it("ignores a partial last line until its newline is written", async () => {
    const path = tempCsv(slice(0, 200));
    const source = new CsvCandleSource(path);
    const row = BARS[200];
    appendFileSync(path, row.slice(0, 25));
    expect((await source.read()).candles).toHaveLength(200);
    appendFileSync(path, row.slice(25));
    expect((await source.read()).candles).toHaveLength(200);
    appendFileSync(path, "\n");
    const series = await source.read();
    expect(series.candles).toHaveLength(201);
    expect(series.candles[200]).toEqual(parseCandlesCsv(slice(199, 201), "x").candles[1]);
  });

  it("returns the cached series while the file is unchanged", async () => {
    const path = tempCsv(slice(0, 200));
    const source = new CsvCandleSource(path);
    const first = await source.read();
    expect(await source.read()).toBe(first);
    appendFileSync(path, BARS[200] + "\n");
    const second = await source.read();
    expect(second).not.toBe(first);
    expect(await source.read()).toBe(second);
  });

  it("reports a malformed appended row at its line", async () => {
    const path = tempCsv(slice(0, 200));
    const source = new CsvCandleSource(path);
    await source.read();
    const cells = BARS[200].split(",");
    cells[2] = "abc";
    appendFileSync(path, `${cells.join(",")}\n`);
    const error = await rejection(source.read());
    expect(error).toBeInstanceOf(DataError);
    // Line 1 is the header, so bar k is on line k + 2: the appended row (bar 200) is line 202.
    expect(error.message).toBe(`${path}:202: high "abc" is not a finite decimal number`);
  });

  it("names a missing file", async () => {
    const path = join(dir, "none.csv");
    const error = await rejection(new CsvCandleSource(path).read());
    expect(error).toBeInstanceOf(DataError);
    expect(error.message).toMatch(new RegExp(`^${path}: file not found`));
  });

  it("refuses a header that is still being written, and a file with a header only", async () => {
    const partial = tempCsv("timestamp,open,hi");
    const error = await rejection(new CsvCandleSource(partial).read());
    expect(error).toBeInstanceOf(DataError);
    expect(error.message).toBe(`${partial}: the header line is incomplete (no newline after it yet)`);

    const headerOnly = tempCsv(`${HEADER}\n${BARS[0].slice(0, 10)}`);
    const short = await rejection(new CsvCandleSource(headerOnly).read());
    expect(short).toBeInstanceOf(InsufficientDataError);
  });
});

describe("HttpCandleSource", () => {
  /** The real file's first 150 bars as JSON candles (time in ms). */
  const reference = parseCandlesCsv(slice(0, 150), "reference");
  const candles = reference.candles.map((c) => ({ ...c }));
  const routes: Record<string, (res: ServerResponse) => void> = {
    "/array": (res) => json(res, candles),
    "/object": (res) => json(res, { symbol: "BTCUSDT", candles }),
    "/iso": (res) =>
      json(
        res,
        candles.map((c) => ({ ...c, time: new Date(c.time).toISOString() })),
      ),
    "/iso-space": (res) =>
      json(
        res,
        candles.map((c) => ({ ...c, time: new Date(c.time).toISOString().replace("T", " ").slice(0, 19) })),
      ),
    "/error": (res) => {
      res.writeHead(500);
      res.end("boom");
    },
    "/not-json": (res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end("[{ time: 1 }");
    },
    "/bad-field": (res) =>
      json(
        res,
        candles.map((c, i) => (i === 3 ? { ...c, close: "x" } : c)),
      ),
    "/bad-time": (res) =>
      json(
        res,
        candles.map((c, i) => (i === 2 ? { ...c, time: "2017-08-17 04:00" } : c)),
      ),
    "/bad-bar": (res) =>
      json(
        res,
        candles.map((c, i) => (i === 4 ? { ...c, low: c.open + 1 } : c)),
      ),
    "/duplicate": (res) =>
      json(
        res,
        candles.map((c, i) => (i === 5 ? { ...c, time: candles[4].time } : c)),
      ),
    "/shape": (res) => json(res, 42),
    "/no-candles": (res) => json(res, { data: [] }),
    "/hang": () => undefined,
    "/redirect": (res) => {
      res.writeHead(302, { location: "/array" });
      res.end();
    },
    // an endless body of spaces, sent gzipped (a gzip bomb without end)
    "/endless": (res) => {
      hungUp.push(new Promise((done) => res.on("close", done)));
      res.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" });
      const spaces = Buffer.alloc(64 * 1024, 0x20);
      const body = Readable.from(
        (function* () {
          for (;;) yield spaces;
        })(),
      );
      pipeline(body, createGzip(), res).catch(() => undefined);
    },
  };
  /** Resolved when the client closed the connection of an `/endless` answer. */
  const hungUp: Promise<void>[] = [];
  let server: Server;
  let base: string;

  function json(res: ServerResponse, body: unknown): void {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  }

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const route = routes[req.url ?? ""];
      if (route) route(res);
      else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
  });

  const read = (path: string, timeoutMs = 5000) => new HttpCandleSource(`${base}${path}`, timeoutMs).read();

  /** The series `path` should give: the reference candles, labelled with the URL. */
  const expected = (path: string): CandleSeries => ({ ...reference, source: `${base}${path}` });

  it("reads an array of candles, a {candles} object, and UTC timestamp strings", async () => {
    for (const path of ["/array", "/object", "/iso", "/iso-space"])
      expect(await read(path)).toEqual(expected(path));
  });

  /** Asserts `path` fails with a DataError whose message is `url: reason` (or matches `pattern`). */
  async function expectDataError(path: string, reason: string | RegExp, timeoutMs?: number): Promise<void> {
    const error = await rejection(read(path, timeoutMs));
    expect(error).toBeInstanceOf(DataError);
    if (typeof reason === "string") expect(error.message).toBe(`${base}${path}: ${reason}`);
    else expect(error.message.slice(`${base}${path}: `.length)).toMatch(reason);
  }

  it("names the URL and the element on bad data", async () => {
    await expectDataError("/bad-field", 'candles[3].close: expected a finite number, got "x"');
    await expectDataError(
      "/bad-time",
      'candles[2].time: expected ms since the Unix epoch or a UTC time YYYY-MM-DDTHH:MM:SS[.fff]Z, got "2017-08-17 04:00"',
    );
    const c4 = candles[4];
    await expectDataError("/bad-bar", `candles[4]: low ${c4.open + 1} > open ${c4.open}`);
    const t4 = `${candles[4].time} (${new Date(candles[4].time).toISOString()})`;
    await expectDataError("/duplicate", `candles[5]: duplicate timestamp ${t4} (first seen on candles[4])`);
    await expectDataError("/shape", '(root): expected an array of candles or {"candles": [...]}, got 42');
    await expectDataError("/no-candles", "candles: missing");
  });

  it("names the URL on HTTP errors, invalid JSON, refused connections and timeouts", async () => {
    await expectDataError("/error", "HTTP 500 Internal Server Error");
    await expectDataError("/missing", "HTTP 404 Not Found");
    await expectDataError("/not-json", "line 1, column 4: not valid JSON: Expected property name or '}'");
    await expectDataError("/hang", "no complete answer within 200 ms", 200);

    const closed = createServer();
    await new Promise<void>((done) => closed.listen(0, "127.0.0.1", done));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/candles`;
    await new Promise((done) => closed.close(done));
    const error = await rejection(new HttpCandleSource(url, 5000).read());
    expect(error).toBeInstanceOf(DataError);
    expect(error.message).toMatch(new RegExp(`^${url}: request failed: .*ECONNREFUSED`));
  });

  it("refuses a redirect: a source is read at its configured URL", async () => {
    // /redirect leads to /array, which reads
    await expectDataError("/redirect", "request failed: unexpected redirect");
  });

  it("does not read an answer past SOURCE_MAX_ANSWER_BYTES (decompressed)", async () => {
    expect(SOURCE_MAX_ANSWER_BYTES).toBe(16 * 1024 * 1024);
    // a reader that buffered the endless answer would end only at the timeout
    await expectDataError(
      "/endless",
      `an answer of more than ${SOURCE_MAX_ANSWER_BYTES} bytes (the most read of a source's answer), not read`,
      5_000,
    );
    // not read to its end: the connection was closed
    await Promise.all(hungUp);
  });
});

describe("candleSourceOf", () => {
  it("builds the source a market's config describes", () => {
    const csv = candleSourceOf({ kind: "csv", path: "/data/btc.csv" });
    expect(csv).toBeInstanceOf(CsvCandleSource);
    expect(csv.label).toBe("/data/btc.csv");
    const http = candleSourceOf({ kind: "http", url: "http://127.0.0.1:9000/c", timeoutMs: 1234 });
    expect(http).toBeInstanceOf(HttpCandleSource);
    expect(http.label).toBe("http://127.0.0.1:9000/c");
    expect((http as HttpCandleSource).timeoutMs).toBe(1234);
  });
});

describe("latestClosedBar", () => {
  const series = parseCandlesCsv(slice(0, 10), "s.csv");
  const last = series.candles[9].time;

  it("is the newest bar whose close (open time + interval) is at or before now", () => {
    expect(latestClosedBar(series, last + TWO_HOURS)).toBe(9);
    expect(latestClosedBar(series, last + TWO_HOURS - 1)).toBe(8);
    expect(latestClosedBar(series, last + 100 * TWO_HOURS)).toBe(9);
    expect(latestClosedBar(series, series.candles[0].time + TWO_HOURS)).toBe(0);
  });

  it("is undefined before the first bar closes", () => {
    expect(latestClosedBar(series, series.candles[0].time + TWO_HOURS - 1)).toBeUndefined();
  });
});

describe("sharedSource", () => {
  /** A source that answers after 30 ms and counts its reads; it fails while `failing` is set. */
  function countingSource() {
    const series = parseCandlesCsv(slice(0, 150), "counted");
    const state = { reads: 0, failing: false };
    const source: CandleSource = {
      label: "counted",
      read: async () => {
        state.reads++;
        await new Promise((r) => setTimeout(r, 30));
        if (state.failing) throw new Error("feed down");
        return series;
      },
    };
    return { state, source, series };
  }

  it("makes reads under way serve every read that comes meanwhile, then reads again after max age", async () => {
    const { state, source, series } = countingSource();
    const shared = sharedSource(source, 100);
    const results = await Promise.all(Array.from({ length: 20 }, () => shared.read()));
    expect(state.reads).toBe(1);
    expect(results.every((r) => r === series)).toBe(true);
    expect(shared.label).toBe("counted");
    await shared.read();
    expect(state.reads).toBe(1);
    await new Promise((r) => setTimeout(r, 120));
    await shared.read();
    expect(state.reads).toBe(2);
  });

  it("does not keep a failed read", async () => {
    const { state, source, series } = countingSource();
    const shared = sharedSource(source, 10_000);
    state.failing = true;
    await expect(Promise.all([shared.read(), shared.read()])).rejects.toThrow("feed down");
    expect(state.reads).toBe(1);
    state.failing = false;
    expect(await shared.read()).toBe(series);
    expect(state.reads).toBe(2);
  });
});
