/**
 * Binance klines as a candle source (file and HTTP): the same series as the CSV loader gives for the same bars,
 * every refusal named by source, element and field, and the source config that selects it.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  candleSourceOf,
  KlinesFileSource,
  KlinesHttpSource,
  klinesSeries,
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
    // Bars 200 to 300 of the real file hold its first gap (two bars before 2017-09-06 22:00).
    const expected = csvSeries(200, 300);
    expect(expected.gaps).toHaveLength(1);
    const file = join(dir, "klines.json");
    writeFileSync(file, JSON.stringify(klinesOf(200, 300)));
    const fromFile = await new KlinesFileSource(file).read();
    expect(fromFile.candles).toEqual(expected.candles);
    expect(fromFile.gaps).toEqual(expected.gaps.map((g) => ({ ...g })));
    expect(fromFile.intervalMs).toBe(TWO_HOURS);
    expect(fromFile.source).toBe(file);

    routes["/api/v3/klines?symbol=BTCUSDT&interval=2h"] = klinesOf(200, 300);
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
    await expect(new KlinesFileSource(file).read()).rejects.toThrow(new RegExp(`^${file}: not valid JSON: `));
    await expect(new KlinesHttpSource(`${base}/missing`, 5_000).read()).rejects.toThrow(
      `${base}/missing: HTTP 404`,
    );
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
