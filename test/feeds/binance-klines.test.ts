/**
 * Binance klines as a candle source (file and HTTP): the same series as the CSV loader gives for the same bars,
 * every refusal named by source, element and field, and the source config that selects it.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  candleSourceOf,
  HttpCandleSource,
  KlinesFileSource,
  KlinesHttpSource,
  klinesSeries,
  latestClosedBar,
  readCandleSourceConfig,
  redactedSourceConfig,
  type CandleSourceKey,
} from "../../feeds";
import { ConfigError, DataError } from "../../core/errors";
import { parseCandlesCsv } from "../../candles/load-data";
import { JsonReader } from "../../core/validate";

const DATA = join(__dirname, "../../models/data/btcusdt-2h.csv");
const TWO_HOURS = 7_200_000;
const [HEADER, ...BARS] = readFileSync(DATA, "utf8").trimEnd().split("\n");

/** Bars `from` to `to` (exclusive) of the real file as Binance klines, prices as the CSV wrote them. */
function klinesOf(from: number, to: number): unknown[][] {
  return BARS.slice(from, to).map((line) => {
    const [time, open, high, low, close, volume] = line.split(",");
    const openTime = Date.parse(`${time.replace(" ", "T")}Z`);
    return [openTime, open, high, low, close, volume, openTime + TWO_HOURS - 1, "0", 100, "0", "0", "0"];
  });
}

/** The CSV loader's series of the same bars. */
const csvSeries = (from: number, to: number) =>
  parseCandlesCsv([HEADER, ...BARS.slice(from, to)].join("\n") + "\n", "reference");

let dir: string;
let server: Server;
let base: string;
const routes: Record<string, unknown> = {};
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "zkrisk-klines-"));
  server = createServer((req, res) => {
    const body = routes[req.url ?? ""];
    res.writeHead(body === undefined ? 404 : 200, { "content-type": "application/json" });
    res.end(body === undefined ? "" : JSON.stringify(body));
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((done) => server.close(done));
  rmSync(dir, { recursive: true, force: true });
});

/** The DataError message `run` throws. */
function dataErrorOf(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(DataError);
    return (err as Error).message;
  }
  throw new Error("expected a DataError");
}

describe("Binance klines", () => {
  it("give the CSV loader's series for the same bars (gaps included), from a file and over HTTP", async () => {
    // Bars 200 to 300 of the real file hold its first gap (two bars before 2017-09-06 22:00); bar 300 is the last
    // kline, the bar still forming, which is left out.
    const expected = csvSeries(200, 300);
    expect(expected.gaps).toHaveLength(1);
    const file = join(dir, "klines.json");
    writeFileSync(file, JSON.stringify(klinesOf(200, 301)));
    const fromFile = await new KlinesFileSource(file).read();
    expect(fromFile.candles).toEqual(expected.candles);
    expect(fromFile.gaps).toEqual(expected.gaps.map((g) => ({ ...g })));
    expect(fromFile.intervalMs).toBe(TWO_HOURS);
    expect(fromFile.source).toBe(file);

    routes["/api/v3/klines?symbol=BTCUSDT&interval=2h"] = klinesOf(200, 301);
    const url = `${base}/api/v3/klines?symbol=BTCUSDT&interval=2h`;
    const fromHttp = await new KlinesHttpSource(url, 5_000).read();
    expect(fromHttp.candles).toEqual(expected.candles);
    expect(fromHttp.source).toBe(url);
  });

  it("accept JSON numbers for prices and volume, and ignore the entries after closeTime", () => {
    const rows = klinesOf(0, 5).map((k) => [k[0], ...k.slice(1, 6).map(Number), k[6]]);
    expect(klinesSeries(rows, "n.json").candles).toEqual(csvSeries(0, 5).candles);
  });

  it("name the source, the element and the field of bad data", () => {
    const edit = (i: number, j: number, v: unknown) => {
      const rows = klinesOf(0, 10);
      rows[i][j] = v;
      return rows;
    };
    expect(dataErrorOf(() => klinesSeries({ klines: [] }, "k.json"))).toBe(
      'k.json: klines: expected an array of klines [openTime, "open", ..., closeTime, ...], got object',
    );
    expect(dataErrorOf(() => klinesSeries(edit(3, 4, "4,300.1"), "k.json"))).toBe(
      'k.json: klines[3][4]: close: expected a decimal string or a number, got "4,300.1"',
    );
    expect(dataErrorOf(() => klinesSeries(edit(2, 0, "2017-08-17"), "k.json"))).toBe(
      'k.json: klines[2][0]: expected a finite number, got "2017-08-17"',
    );
    expect(dataErrorOf(() => klinesSeries([...klinesOf(0, 2), [1, "1", "1", "1", "1", "1"]], "k.json"))).toBe(
      "k.json: klines[2]: expected at least 7 entries (openTime, open, high, low, close, volume, closeTime), got 6",
    );
    const rows = klinesOf(0, 10);
    expect(dataErrorOf(() => klinesSeries(edit(5, 6, (rows[5][0] as number) - 1), "k.json"))).toBe(
      `k.json: klines[5][6]: closeTime ${(rows[5][0] as number) - 1} is not after openTime ${rows[5][0]}`,
    );
    // A bar of one hour among two-hour bars: its closeTime gives it away.
    const hourly = edit(6, 6, (rows[6][0] as number) + 3_600_000 - 1);
    expect(dataErrorOf(() => klinesSeries(hourly, "k.json"))).toBe(
      `k.json: klines[6][6]: closeTime ${(rows[6][0] as number) + 3_599_999} is not openTime + 7200000 - 1 ` +
        "(the series' bar interval is 7200000 ms; this bar spans 3600000 ms)",
    );
    // The loader's own rules, at the element: high below low.
    expect(dataErrorOf(() => klinesSeries(edit(4, 2, "1"), "k.json"))).toMatch(
      /^k\.json: klines\[4\]: high 1 < low /,
    );
  });

  it("name the file of a file that is not JSON, and the URL of an HTTP error", async () => {
    const file = join(dir, "broken.json");
    writeFileSync(file, "[[1, ");
    await expect(new KlinesFileSource(file).read()).rejects.toThrow(
      new RegExp(`^${file}:1:6: not valid JSON: Unexpected end of JSON input$`),
    );
    await expect(new KlinesHttpSource(`${base}/missing`, 5_000).read()).rejects.toThrow(
      `${base}/missing: HTTP 404`,
    );
  });
});

/**
 * A server answering like Binance's GET /api/v3/klines over `klines` (oldest first, the last one still forming):
 * the newest `limit` (default 500, at most 1000) klines, or those opening at or before `endTime`. `answer` may
 * replace an answer (by the request's URL); every request's URL is kept in `requests`.
 */
async function binanceLike(
  klines: unknown[][],
  answer?: (url: URL) => ((res: ServerResponse) => void) | undefined,
) {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    requests.push(`${url.pathname}${url.search}`);
    const special = answer?.(url);
    if (special !== undefined) return special(res);
    const limit = Math.min(Number(url.searchParams.get("limit") ?? 500), 1000);
    const endTime = url.searchParams.get("endTime");
    const upTo = endTime === null ? klines : klines.filter((k) => (k[0] as number) <= Number(endTime));
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(upTo.slice(-limit)));
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    requests,
    url: (query: string) => `${base}/api/v3/klines?${query}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
    },
  };
}

describe("Binance klines: the bar still forming", () => {
  it("is the last kline, left out whatever the local clock says (a clock ahead of the exchange's)", async () => {
    // Binance serves the bar forming as the last kline: here bar 99, with its open as every price so far.
    const klines = klinesOf(0, 100);
    const forming = klines[99];
    klines[99] = [forming[0], forming[1], forming[1], forming[1], forming[1], "0.5", ...forming.slice(6)];
    const server = await binanceLike(klines);
    const file = join(dir, "forming.json");
    writeFileSync(file, JSON.stringify(klines));
    try {
      for (const source of [
        new KlinesHttpSource(server.url("symbol=BTCUSDT&interval=2h"), 5_000),
        new KlinesFileSource(file),
      ]) {
        const series = await source.read();
        expect(series.candles).toEqual(csvSeries(0, 99).candles);
        // A local clock past bar 99's close (ahead of the exchange's, which still forms it) finds bar 98 the newest
        // closed bar. Before, bar 99's partial candle was taken for closed and signed.
        expect(latestClosedBar(series, (forming[6] as number) + 5_000)).toBe(98);
      }
    } finally {
      await server.close();
    }
  });
});

describe("Binance klines over HTTP: older pages", () => {
  // Bars 0 to 1500 of the real file, bar 1499 still forming.
  const klines = klinesOf(0, 1500);
  const time = (i: number) => klines[i][0] as number;

  it("are fetched with endTime (limit 1000) until the bar the reader needs, and not when it has it", async () => {
    const server = await binanceLike(klines);
    try {
      const url = server.url("symbol=BTCUSDT&interval=2h&limit=200");
      const source = new KlinesHttpSource(url, 5_000);
      // The answer alone: bars 1300 to 1498.
      expect((await source.read()).candles).toEqual(csvSeries(1300, 1499).candles);
      expect((await source.read({ fromMs: time(1350) })).candles).toEqual(csvSeries(1300, 1499).candles);
      expect(server.requests).toHaveLength(2);
      // A restart after a downtime that needs bar 600: one older page (bars 300 to 1299) reaches it.
      server.requests.length = 0;
      const series = await source.read({ fromMs: time(600) });
      expect(series.candles).toEqual(csvSeries(300, 1499).candles);
      expect(series.gaps).toEqual(csvSeries(300, 1499).gaps.map((g) => ({ ...g, source: url })));
      expect(series.source).toBe(url);
      expect(server.requests).toEqual([
        "/api/v3/klines?symbol=BTCUSDT&interval=2h&limit=200",
        `/api/v3/klines?symbol=BTCUSDT&interval=2h&limit=1000&endTime=${time(1300) - 1}`,
      ]);
      // Before the first bar Binance has: pages until an empty one.
      server.requests.length = 0;
      expect((await source.read({ fromMs: time(0) - 100 * TWO_HOURS })).candles).toEqual(
        csvSeries(0, 1499).candles,
      );
      expect(server.requests.slice(1)).toEqual(
        [1300, 300, 0].map(
          (i) => `/api/v3/klines?symbol=BTCUSDT&interval=2h&limit=1000&endTime=${time(i) - 1}`,
        ),
      );
    } finally {
      await server.close();
    }
  });

  it("that fail, or do not precede the newest answer, name the configured URL and the page's endTime", async () => {
    const server = await binanceLike(klines, (url) =>
      url.searchParams.has("endTime")
        ? (res) => {
            res.writeHead(502, "Bad Gateway");
            res.end();
          }
        : undefined,
    );
    try {
      const url = server.url("symbol=BTCUSDT&interval=2h&limit=200");
      await expect(new KlinesHttpSource(url, 5_000).read({ fromMs: time(600) })).rejects.toThrow(
        `${url}: older klines (endTime ${time(1300) - 1}, ${new Date(time(1300) - 1).toISOString()}): HTTP 502 Bad Gateway`,
      );
    } finally {
      await server.close();
    }

    // A server that ignores endTime answers the newest bars again.
    const ignoring = await binanceLike(klines, (url) =>
      url.searchParams.has("endTime")
        ? (res) => {
            res.writeHead(200, { "content-type": "application/json" });
            res.end(JSON.stringify(klines.slice(-1000)));
          }
        : undefined,
    );
    try {
      const url = ignoring.url("symbol=BTCUSDT&interval=2h&limit=200");
      await expect(new KlinesHttpSource(url, 5_000).read({ fromMs: time(600) })).rejects.toThrow(
        `${url}: older klines (endTime ${time(1300) - 1}, ${new Date(time(1300) - 1).toISOString()}): the answer ` +
          `ends with a bar opening at ${time(1499)}, not before ${time(1300)} (is endTime honoured?)`,
      );
      expect(ignoring.requests).toHaveLength(2);
    } finally {
      await ignoring.close();
    }
  });
});

describe("Binance klines over HTTP: rate limits", () => {
  // Waits are measured on performance.now() (monotonic); only it is faked, timers and sockets stay real.
  afterEach(() => {
    vi.useRealTimers();
  });
  /** Moves the wall clock `now` (shown in messages) and the monotonic clock by `ms`. */
  const pass = (clock: { now: number }, ms: number) => {
    clock.now += ms;
    vi.advanceTimersByTime(ms);
  };

  it("after a 429 or 418, nothing is asked before the Retry-After (else 60 s) has passed", async () => {
    vi.useFakeTimers({ toFake: ["performance"] });
    let status = 429;
    let retryAfter: string | undefined = "120";
    const server = await binanceLike(klinesOf(0, 100), () =>
      status === 200
        ? undefined
        : (res) => {
            res.writeHead(status, retryAfter === undefined ? {} : { "retry-after": retryAfter });
            res.end('{"code":-1003,"msg":"Too many requests"}');
          },
    );
    try {
      const clock = { now: Date.parse("2024-06-30T22:00:00Z") };
      const url = server.url("symbol=BTCUSDT&interval=2h");
      const source = new KlinesHttpSource(url, 5_000, () => clock.now);
      await expect(source.read()).rejects.toThrow(
        `${url}: HTTP 429 Too Many Requests: rate limited, not asked again before 2024-06-30T22:02:00.000Z`,
      );
      expect(server.requests).toHaveLength(1);
      // Before, every poll asked again, and Binance answers a client that goes on asking with a ban (418).
      pass(clock, 119_000);
      await expect(source.read()).rejects.toThrow(
        `${url}: HTTP 429 Too Many Requests: not asked again before 2024-06-30T22:02:00.000Z`,
      );
      expect(server.requests).toHaveLength(1);
      pass(clock, 1_000);
      status = 418;
      retryAfter = undefined;
      await expect(source.read()).rejects.toThrow(
        `${url}: HTTP 418 I'm a Teapot: rate limited, not asked again before 2024-06-30T22:03:00.000Z`,
      );
      expect(server.requests).toHaveLength(2);
      pass(clock, 60_000);
      status = 200;
      expect((await source.read()).candles).toHaveLength(99);
      expect(server.requests).toHaveLength(3);
    } finally {
      await server.close();
    }
  });

  it("a wall clock stepped back during a back-off does not stretch it: the wait is monotonic", async () => {
    vi.useFakeTimers({ toFake: ["performance"] });
    let status = 429;
    const server = await binanceLike(klinesOf(0, 100), () =>
      status === 200
        ? undefined
        : (res) => {
            res.writeHead(status, { "retry-after": "60" });
            res.end();
          },
    );
    try {
      const clock = { now: Date.parse("2024-06-30T22:00:00Z") };
      const url = server.url("symbol=BTCUSDT&interval=2h");
      const source = new KlinesHttpSource(url, 5_000, () => clock.now);
      await expect(source.read()).rejects.toThrow("rate limited, not asked again before 2024-06-30T22:01:00");
      status = 200;
      // NTP steps the wall clock back 6 hours; 60 s pass. Before, the source was not asked again for 6 hours.
      clock.now -= 6 * 3_600_000;
      pass(clock, 59_000);
      await expect(source.read()).rejects.toThrow("not asked again before");
      pass(clock, 1_000);
      expect((await source.read()).candles).toHaveLength(99);
      expect(server.requests).toHaveLength(2);
    } finally {
      await server.close();
    }
  });

  it("the JSON candle source backs off the same way", async () => {
    const server = await binanceLike([], () => (res) => {
      res.writeHead(429, { "retry-after": "30" });
      res.end();
    });
    try {
      const now = Date.parse("2024-06-30T22:00:00Z");
      const url = server.url("candles");
      const source = new HttpCandleSource(url, 5_000, () => now);
      await expect(source.read()).rejects.toThrow(
        `${url}: HTTP 429 Too Many Requests: rate limited, not asked`,
      );
      await expect(source.read()).rejects.toThrow(
        `${url}: HTTP 429 Too Many Requests: not asked again before`,
      );
      expect(server.requests).toHaveLength(1);
    } finally {
      await server.close();
    }
  });
});

describe("readCandleSourceConfig", () => {
  const read = (value: unknown, accepted: CandleSourceKey[] = ["csv", "url", "klines"]) =>
    readCandleSourceConfig(
      new JsonReader("p.json", value, "markets[0].source", (file, field, reason) => {
        return new ConfigError(`${file}: ${field}: ${reason}`);
      }),
      "/etc/zkrisk",
      accepted,
      10_000,
    );
  const messageOf = (value: unknown, accepted?: CandleSourceKey[]) => {
    try {
      read(value, accepted);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error("expected a ConfigError");
  };

  it("takes a klines value with an http(s) scheme as a URL, else as a path from the config's directory", () => {
    expect(read({ klines: "https://api.binance.com/api/v3/klines?symbol=BTCUSDT&interval=2h" })).toEqual({
      kind: "klines-http",
      url: "https://api.binance.com/api/v3/klines?symbol=BTCUSDT&interval=2h",
      timeoutMs: 10_000,
    });
    expect(read({ klines: "feeds/btc.json" })).toEqual({
      kind: "klines-file",
      path: "/etc/zkrisk/feeds/btc.json",
    });
    expect(read({ csv: "btc.csv" })).toEqual({ kind: "csv", path: "/etc/zkrisk/btc.csv" });
    expect(read({ url: "http://127.0.0.1:9/c", timeoutMs: 500 })).toEqual({
      kind: "http",
      url: "http://127.0.0.1:9/c",
      timeoutMs: 500,
    });
    const source = candleSourceOf(read({ klines: "http://127.0.0.1:9/k" }));
    expect(source).toBeInstanceOf(KlinesHttpSource);
    expect(candleSourceOf(read({ klines: "k.json" }))).toBeInstanceOf(KlinesFileSource);
    expect(redactedSourceConfig(read({ klines: "https://u:p@x.example/k?key=s3cret" }))).toMatchObject({
      url: "https://***:***@x.example/k?key=***",
    });
  });

  it("names the field, and lists exactly the keys the config accepts", () => {
    expect(messageOf({ csv: "a.csv", klines: "k.json" })).toBe(
      'p.json: markets[0].source: expected exactly one of "csv", "url" or "klines"',
    );
    expect(messageOf({ klines: "k.json" }, ["csv", "url"])).toBe(
      "p.json: markets[0].source.klines: unknown key (expected one of csv, url, timeoutMs)",
    );
    expect(messageOf({ klines: "k.json", timeoutMs: 500 })).toBe(
      'p.json: markets[0].source.timeoutMs: only applies to a "url" source or a "klines" URL',
    );
    expect(messageOf({ klines: "ftp://x/k" })).toBe(
      'p.json: markets[0].source.klines: expected an http(s) URL, got "ftp://x/k"',
    );
    expect(messageOf({ klines: "" })).toBe("p.json: markets[0].source.klines: expected a non-empty string");
    expect(messageOf({ klines: "https://x/k", timeoutMs: 50 })).toBe(
      "p.json: markets[0].source.timeoutMs: expected an integer in [100, 120000], got 50",
    );
  });
});
