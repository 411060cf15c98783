import path from "node:path";
import { describe, expect, it } from "vitest";
import { DataError, InsufficientDataError } from "../../core/errors";
import { loadCandles, parseCandlesCsv, parseTimestamp, TIMESTAMP_FORMATS } from "../../candles/load-data";

const ROOT = path.join(__dirname, "../..");
const CANDLE_FILE = path.join(ROOT, "models/data/btcusdt-2h.csv");

const HOUR = 3_600_000;
const HEADER = "timestamp,open,high,low,close,volume";

/** Candle CSV text: the standard header, then the given rows, LF-separated with a trailing newline. */
function candleCsv(...rows: string[]): string {
  return [HEADER, ...rows].join("\n") + "\n";
}

/** The error `run` throws (fails the test if it returns). */
function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error, none was thrown");
}

/** Asserts `run` throws a DataError for `file:line` whose full message is `file:line: reason`. */
function expectDataError(run: () => unknown, file: string, line: number | undefined, reason: string): void {
  const error = thrown(run);
  expect(error).toBeInstanceOf(DataError);
  const dataError = error as DataError;
  expect(dataError.file).toBe(file);
  expect(dataError.line).toBe(line);
  expect(dataError.code).toBe("DATA_INVALID");
  expect(dataError.message).toBe(`${line === undefined ? file : `${file}:${line}`}: ${reason}`);
}

describe("parseTimestamp", () => {
  it("parses milliseconds exactly", () => {
    expect(parseTimestamp("2019-09-10 16:00:00.010")).toBe(1_568_131_200_010);
    expect(parseTimestamp("2019-09-10 16:00:00.000")).toBe(1_568_131_200_000);
  });

  it("accepts the ISO form with T and Z", () => {
    expect(parseTimestamp("2019-09-10T16:00:00Z")).toBe(1_568_131_200_000);
    expect(parseTimestamp("2019-09-10T16:00:00.010Z")).toBe(1_568_131_200_010);
  });

  it("reads 1 and 2 fraction digits as tenths and hundredths of a second", () => {
    expect(parseTimestamp("2019-09-10 16:00:00.1")).toBe(1_568_131_200_100);
    expect(parseTimestamp("2019-09-10 16:00:00.01")).toBe(1_568_131_200_010);
  });

  it("accepts ISO 8601 offsets", () => {
    const t = 1_568_131_200_000; // 2019-09-10T16:00:00Z
    expect(parseTimestamp("2019-09-10T18:00:00+02:00")).toBe(t);
    expect(parseTimestamp("2019-09-10T18:00:00.000+0200")).toBe(t);
    expect(parseTimestamp("2019-09-10T18:00:00+02")).toBe(t);
    expect(parseTimestamp("2019-09-10T10:30:00-05:30")).toBe(t);
    expect(parseTimestamp("2019-09-10 16:00:00Z")).toBe(t);
  });

  it("accepts milliseconds since the Unix epoch (11 to 14 digits)", () => {
    expect(parseTimestamp("1568131200010")).toBe(1_568_131_200_010);
    expect(parseTimestamp("99999999999")).toBe(99_999_999_999);
  });

  it("accepts a leap day and the last second of a year", () => {
    expect(parseTimestamp("2020-02-29 12:00:00")).toBe(Date.UTC(2020, 1, 29, 12));
    expect(parseTimestamp("2023-12-31 23:59:59.999")).toBe(Date.UTC(2024, 0, 1) - 1);
  });

  it.each([
    "",
    "junk",
    "2019-09-10",
    "2019-09-10 16:00",
    "2019-09-10T16:00Z",
    "2019-9-10 16:00:00",
    " 2019-09-10 16:00:00",
    "2019-09-10 16:00:00 ",
    "2019-09-10 16:00:00.",
    "2019-09-10 16:00:00.0100",
    "2019-09-10 16:00:00+24:00",
    "2019-09-10 16:00:00+01:60",
    "2019-09-10 16:00:00+1",
    "1568131200",
    "-1568131200000",
    "1568131200000.5",
    "2019-09-10 16:00:00ZZ",
    "2020-13-01 00:00:00",
    "2020-00-10 00:00:00",
    "2020-02-30 00:00:00",
    "2019-02-29 00:00:00",
    "2020-04-31 00:00:00",
    "2020-01-01 24:00:00",
    "2020-01-01 00:60:00",
    "2020-01-01 00:00:60",
    "0050-01-01 00:00:00",
  ])("rejects %j", (text) => {
    expect(parseTimestamp(text)).toBeUndefined();
  });
});

describe("real data files", () => {
  it("loads the 2h candles with their interval and gaps", () => {
    const series = loadCandles(CANDLE_FILE);
    expect(series.source).toBe(CANDLE_FILE);
    expect(series.candles).toHaveLength(30_065);
    expect(series.intervalMs).toBe(7_200_000);
    expect(series.candles[0]).toEqual({
      time: Date.UTC(2017, 7, 17, 4),
      open: 4261.48,
      high: 4328.69,
      low: 4261.32,
      close: 4315.32,
      volume: 70.415925,
    });
    expect(series.candles[series.candles.length - 1].time).toBe(Date.UTC(2024, 5, 30, 22));

    expect(series.gaps).toHaveLength(18);
    const maintenance = series.gaps.find((gap) => gap.from === Date.UTC(2018, 1, 8, 0));
    expect(maintenance).toEqual({
      afterIndex: 2096,
      from: Date.UTC(2018, 1, 8, 0),
      to: Date.UTC(2018, 1, 9, 10),
      missingBars: 16,
    });
    expect(series.candles[2096].time).toBe(Date.UTC(2018, 1, 8, 0));
    expect(series.candles[2097].time).toBe(Date.UTC(2018, 1, 9, 10));

    // Bars present plus bars missing cover the whole span exactly.
    const missing = series.gaps.reduce((sum, gap) => sum + gap.missingBars, 0);
    const span = series.candles[series.candles.length - 1].time - series.candles[0].time;
    expect(series.candles.length + missing).toBe(span / series.intervalMs + 1);
  });
});

describe("parseCandlesCsv", () => {
  it("parses a series with one gap into the right Gap record", () => {
    const series = parseCandlesCsv(
      candleCsv(
        "2020-01-01 00:00:00,10,12,9,11,5",
        "2020-01-01 02:00:00,11,13,10,12,6",
        "2020-01-01 08:00:00,12,14,11,13,0",
        "2020-01-01 10:00:00,13,15,12,14,7.5",
      ),
      "gap.csv",
    );
    expect(series.source).toBe("gap.csv");
    expect(series.intervalMs).toBe(2 * HOUR);
    expect(series.candles.map((c) => c.time)).toEqual([0, 2, 8, 10].map((h) => Date.UTC(2020, 0, 1, h)));
    expect(series.candles[3]).toEqual({
      time: Date.UTC(2020, 0, 1, 10),
      open: 13,
      high: 15,
      low: 12,
      close: 14,
      volume: 7.5,
    });
    expect(series.gaps).toEqual([
      { afterIndex: 1, from: Date.UTC(2020, 0, 1, 2), to: Date.UTC(2020, 0, 1, 8), missingBars: 2 },
    ]);
  });

  it("reads exponent-notation cells, millisecond timestamps and CRLF lines", () => {
    const text = [
      HEADER,
      "2019-09-10 08:00:00.000,1E+1,12,9,11,6.876e-05",
      "2019-09-10 10:00:00.0,11,13,10,12,0",
    ].join("\r\n");
    const series = parseCandlesCsv(text, "e.csv");
    expect(series.candles[0]).toEqual({
      time: Date.UTC(2019, 8, 10, 8),
      open: 10,
      high: 12,
      low: 9,
      close: 11,
      volume: 0.00006876,
    });
    expect(series.candles[1].time).toBe(Date.UTC(2019, 8, 10, 10));
  });

  it("takes the interval from the smallest spacing even when the series starts with a gap", () => {
    const series = parseCandlesCsv(
      candleCsv(
        "2020-01-01 00:00:00,10,12,9,11,5",
        "2020-01-01 04:00:00,10,12,9,11,5",
        "2020-01-01 05:00:00,10,12,9,11,5",
      ),
      "s.csv",
    );
    expect(series.intervalMs).toBe(HOUR);
    expect(series.gaps).toEqual([
      { afterIndex: 0, from: Date.UTC(2020, 0, 1, 0), to: Date.UTC(2020, 0, 1, 4), missingBars: 3 },
    ]);
  });

  it("parses CRLF input identically to LF", () => {
    const rows = [
      "2020-01-01 00:00:00,10,12,9,11,5",
      "2020-01-01 02:00:00,11,13,10,12,6",
      "2020-01-01 06:00:00,12,14,11,13,0",
    ];
    const lf = parseCandlesCsv([HEADER, ...rows].join("\n") + "\n", "x.csv");
    const crlf = parseCandlesCsv([HEADER, ...rows].join("\r\n") + "\r\n", "x.csv");
    expect(crlf).toEqual(lf);
    expect(crlf.candles).toHaveLength(3);
    expect(crlf.gaps).toHaveLength(1);
  });

  it("finds columns by trimmed, case-insensitive name in any order, and refuses any other column", () => {
    const series = parseCandlesCsv(
      [
        " Close ,VOLUME,Timestamp,low,High,open",
        "11,5,2020-01-01 00:00:00,9,12,10",
        "12,6,2020-01-01 01:00:00,10,13,11",
      ].join("\n"),
      "x.csv",
    );
    expect(() =>
      parseCandlesCsv(
        ["close,volume,trades,timestamp,low,high,open", "11,5,99,2020-01-01 00:00:00,9,12,10"].join("\n"),
        "x.csv",
      ),
    ).toThrow(
      'x.csv:1: unknown column "trades" (the columns are timestamp, open, high, low, close, volume, in any order)',
    );
    expect(series.candles[0]).toEqual({
      time: Date.UTC(2020, 0, 1),
      open: 10,
      high: 12,
      low: 9,
      close: 11,
      volume: 5,
    });
    expect(series.intervalMs).toBe(HOUR);
  });

  it("ignores blank lines and accepts a file without a trailing newline", () => {
    const series = parseCandlesCsv(
      ["", HEADER, "", "2020-01-01 00:00:00,10,12,9,11,5", "   ", "2020-01-01 02:00:00,11,13,10,12,6"].join(
        "\n",
      ),
      "x.csv",
    );
    expect(series.candles).toHaveLength(2);
  });

  it("reports physical line numbers, counting blank lines", () => {
    const text = [
      HEADER,
      "",
      "2020-01-01 00:00:00,10,12,9,11,5",
      "",
      "2020-01-01 02:00:00,11,13,10,x,6",
    ].join("\n");
    expectDataError(
      () => parseCandlesCsv(text, "x.csv"),
      "x.csv",
      5,
      'close "x" is not a finite decimal number',
    );
  });

  it("rejects a missing column at the header line", () => {
    const text = ["timestamp,open,high,low,close", "2020-01-01 00:00:00,10,12,9,11"].join("\n");
    expectDataError(
      () => parseCandlesCsv(text, "x.csv"),
      "x.csv",
      1,
      "missing column 'volume' (header has: timestamp, open, high, low, close)",
    );
  });

  it("rejects a column named twice", () => {
    const text = ["timestamp,open,high,low,close,volume,Close", "2020-01-01 00:00:00,10,12,9,11,5,11"].join(
      "\n",
    );
    expectDataError(
      () => parseCandlesCsv(text, "x.csv"),
      "x.csv",
      1,
      "column 'close' appears more than once in the header",
    );
  });

  it("rejects a row with the wrong number of fields", () => {
    const text = candleCsv("2020-01-01 00:00:00,10,12,9,11,5", "2020-01-01 02:00:00,11,13,10,12");
    expectDataError(
      () => parseCandlesCsv(text, "x.csv"),
      "x.csv",
      3,
      "expected 6 fields as in the header, found 5",
    );
  });

  it.each(["", "abc", "NaN", "Infinity", "-Infinity", "1e5x", "0x10", "1.2.3", "+", "1e999"])(
    "rejects the non-numeric price %j",
    (cell) => {
      const text = candleCsv("2020-01-01 00:00:00,10,12,9,11,5", `2020-01-01 02:00:00,${cell},13,10,12,6`);
      expectDataError(
        () => parseCandlesCsv(text, "x.csv"),
        "x.csv",
        3,
        `open ${JSON.stringify(cell)} is not a finite decimal number`,
      );
    },
  );

  it("rejects a non-numeric volume", () => {
    const text = candleCsv("2020-01-01 00:00:00,10,12,9,11,lots");
    expectDataError(
      () => parseCandlesCsv(text, "x.csv"),
      "x.csv",
      2,
      'volume "lots" is not a finite decimal number',
    );
  });

  it("rejects a zero close", () => {
    const text = candleCsv("2020-01-01 00:00:00,10,12,9,11,5", "2020-01-01 02:00:00,11,13,10,0,6");
    expectDataError(() => parseCandlesCsv(text, "x.csv"), "x.csv", 3, "non-positive close 0");
  });

  it("rejects a negative low", () => {
    const text = candleCsv("2020-01-01 00:00:00,10,12,-9.5,11,5");
    expectDataError(() => parseCandlesCsv(text, "x.csv"), "x.csv", 2, "non-positive low -9.5");
  });

  it("rejects a negative volume and accepts a zero one", () => {
    const text = candleCsv("2020-01-01 00:00:00,10,12,9,11,0", "2020-01-01 02:00:00,11,13,10,12,-0.5");
    expectDataError(() => parseCandlesCsv(text, "x.csv"), "x.csv", 3, "negative volume -0.5");
  });

  it("rejects high below low", () => {
    const text = candleCsv("2020-01-01 00:00:00,10.5,10,11,10.5,5");
    expectDataError(() => parseCandlesCsv(text, "x.csv"), "x.csv", 2, "high 10 < low 11");
  });

  it.each([
    ["9,12,9.5,11", "low 9.5 > open 9"],
    ["10,12,9.5,9", "low 9.5 > close 9"],
    ["12.5,12,9,11", "high 12 < open 12.5"],
    ["10,12,9,12.25", "high 12 < close 12.25"],
  ])("rejects open/close outside [low, high]: %s", (ohlc, reason) => {
    const text = candleCsv(`2020-01-01 00:00:00,${ohlc},5`);
    expectDataError(() => parseCandlesCsv(text, "x.csv"), "x.csv", 2, reason);
  });

  it("rejects a value the integer candles cannot hold, on its own line", () => {
    const text = candleCsv(
      "2020-01-01 00:00:00,10,12,9,11,5",
      "2020-01-01 02:00:00,11,13,10,12,5",
      "2020-01-01 04:00:00,0.000000015,0.00000002,0.00000001,0.00000002,5",
    );
    expectDataError(
      () => parseCandlesCsv(text, "x.csv"),
      "x.csv",
      4,
      "open 0.000000015 does not fit 8 decimals",
    );
    expectDataError(
      () => parseCandlesCsv(candleCsv("2020-01-01 00:00:00,10,1e30,9,11,5"), "x.csv"),
      "x.csv",
      2,
      "high 1e30 is outside [0.00000001, 184467440737.09551615] (8 decimals in 64 bits)",
    );
  });

  it("accepts open and close equal to the extremes", () => {
    const series = parseCandlesCsv(
      candleCsv("2020-01-01 00:00:00,9,12,9,12,5", "2020-01-01 02:00:00,12,12,9,9,5"),
      "x.csv",
    );
    expect(series.candles).toHaveLength(2);
  });

  it("rejects a duplicate timestamp", () => {
    const text = candleCsv(
      "2020-01-01 00:00:00,10,12,9,11,5",
      "2020-01-01 02:00:00,10,12,9,11,5",
      "2020-01-01 02:00:00,10,12,9,11,5",
    );
    expectDataError(
      () => parseCandlesCsv(text, "x.csv"),
      "x.csv",
      4,
      "duplicate timestamp 2020-01-01 02:00:00 (first seen on line 3)",
    );
  });

  it("rejects timestamps out of order", () => {
    const text = candleCsv(
      "2020-01-01 02:00:00,10,12,9,11,5",
      "2020-01-01 04:00:00,10,12,9,11,5",
      "2020-01-01 00:00:00,10,12,9,11,5",
    );
    expectDataError(
      () => parseCandlesCsv(text, "x.csv"),
      "x.csv",
      4,
      "timestamps not sorted: 2020-01-01 00:00:00 comes after 2020-01-01 04:00:00 (line 3)",
    );
  });

  it("rejects a timestamp off the bar grid", () => {
    const text = candleCsv(
      "2020-01-01 00:00:00,10,12,9,11,5",
      "2020-01-01 02:00:00,10,12,9,11,5",
      "2020-01-01 05:00:00,10,12,9,11,5",
      "2020-01-01 07:00:00,10,12,9,11,5",
    );
    expectDataError(
      () => parseCandlesCsv(text, "x.csv"),
      "x.csv",
      4,
      "timestamp 2020-01-01 05:00:00 is not aligned to the 2h bar grid (3h after 2020-01-01 02:00:00 on line 3)",
    );
  });

  it("loads the same series from epoch-ms, ISO 8601 and plain timestamps", () => {
    const plain = parseCandlesCsv(
      candleCsv(
        "2020-01-01 00:00:00,10,12,9,11,5",
        "2020-01-01 02:00:00,10,12,9,11,5",
        "2020-01-01 04:00:00,10,12,9,11,5",
      ),
      "x.csv",
    );
    const mixed = parseCandlesCsv(
      candleCsv(
        "1577836800000,10,12,9,11,5",
        "2020-01-01T03:00:00+01:00,10,12,9,11,5",
        "2020-01-01T04:00:00Z,10,12,9,11,5",
      ),
      "x.csv",
    );
    expect(mixed.candles).toEqual(plain.candles);
    expect(mixed.intervalMs).toBe(2 * 3_600_000);
  });

  it("blames a misaligned timestamp deep in the file on its own line, not on the first bars", () => {
    const start = Date.UTC(2020, 0, 1);
    const rows = Array.from({ length: 2100 }, (_, i) => {
      // Line 2000 (row 1998 after the header) is 1h17m late.
      const t = start + i * 7_200_000 + (i === 1998 ? 77 * 60_000 : 0);
      return `${new Date(t).toISOString().replace("T", " ").replace(".000Z", "")},10,12,9,11,5`;
    });
    expectDataError(
      () => parseCandlesCsv(candleCsv(...rows), "x.csv"),
      "x.csv",
      2000,
      "timestamp 2020-06-15 13:17:00 is not aligned to the 2h bar grid (197m after 2020-06-15 10:00:00 on line 1999)",
    );
  });

  it.each(["2020-13-01 00:00:00", "2020-02-30 00:00:00", "01/01/2020 00:00"])(
    "rejects the malformed timestamp %j",
    (stamp) => {
      const text = candleCsv("2020-01-01 00:00:00,10,12,9,11,5", `${stamp},10,12,9,11,5`);
      expectDataError(
        () => parseCandlesCsv(text, "x.csv"),
        "x.csv",
        3,
        `invalid timestamp ${JSON.stringify(stamp)} (expected ${TIMESTAMP_FORMATS})`,
      );
    },
  );

  it.each(["", "\n\n", "\r\n  \r\n"])("rejects the empty file %j", (text) => {
    expectDataError(
      () => parseCandlesCsv(text, "empty.csv"),
      "empty.csv",
      undefined,
      "file is empty (no header row)",
    );
  });

  it.each([
    [HEADER + "\n", 0],
    [candleCsv("2020-01-01 00:00:00,10,12,9,11,5"), 1],
  ])("rejects a file with too few candles (%#)", (text, found) => {
    const error = thrown(() => parseCandlesCsv(text, "short.csv"));
    expect(error).toBeInstanceOf(InsufficientDataError);
    expect((error as InsufficientDataError).message).toBe(
      `short.csv: need at least 2 candles to infer the bar interval, found ${found}`,
    );
  });
});

describe("loadCandles", () => {
  it("reports an unreadable file by its path", () => {
    const missing = path.join(ROOT, "models/data/no-such-file.csv");
    const error = thrown(() => loadCandles(missing));
    expect(error).toBeInstanceOf(DataError);
    expect((error as DataError).line).toBeUndefined();
    expect((error as DataError).message).toBe(`${missing}: file not found`);
    const dir = path.join(ROOT, "models/data");
    expect((thrown(() => loadCandles(dir)) as DataError).message).toBe(`${dir}: is a directory, not a file`);
  });
});
