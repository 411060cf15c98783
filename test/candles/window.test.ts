/** Integer candles (exact conversion, bounds) and windows (fixed length, gaps as missing bars). */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  buildWindow,
  fixedPointText,
  integerCandleOf,
  integerCandleViolation,
  missingCandle,
  PRICE_BITS,
  toFixedPoint,
  VOLUME_BITS,
  windowViolation,
  WINDOW_BARS,
  WINDOW_RANGE_BARS,
} from "../../candles";
import { MAX_OUTCOME_LAG, TARGET_HORIZON_BARS } from "../../models/target";
import { DataError, InsufficientDataError } from "../../core/errors";
import { loadCandles, parseCandlesCsv } from "../../candles/load-data";

const HOUR = 3_600_000;
const T0 = Date.UTC(2024, 0, 1);

/** A 2 h candle CSV of the given rows `[hoursAfterT0, open, high, low, close, volume]`. */
function csv(rows: (string | number)[][]): string {
  const stamp = (h: number) => new Date(T0 + h * HOUR).toISOString().replace("T", " ").slice(0, 19);
  return [
    "timestamp,open,high,low,close,volume",
    ...rows.map(([h, ...v]) => [stamp(Number(h)), ...v].join(",")),
  ].join("\n");
}

describe("integer candles", () => {
  it("converts decimals exactly, or refuses", () => {
    expect(toFixedPoint(4261.48, 8)).toBe(426148000000n);
    expect(toFixedPoint(70.415925, 8)).toBe(7041592500n);
    expect(toFixedPoint(0.00000001, 8)).toBe(1n);
    expect(toFixedPoint(1e-7, 8)).toBe(10n);
    expect(toFixedPoint(1.5e21, 8)).toBe(150000000000000000000000000000n);
    expect(toFixedPoint(0.1 + 0.2, 8)).toBeUndefined(); // 0.30000000000000004
    expect(toFixedPoint(0.000000001, 8)).toBeUndefined();
    expect(toFixedPoint(-1, 8)).toBeUndefined();
    expect(toFixedPoint(Number.NaN, 8)).toBeUndefined();
    expect(fixedPointText(426148000000n, 8)).toBe("4261.48");
    expect(fixedPointText(1n, 8)).toBe("0.00000001");
    expect(fixedPointText(500000000n, 8)).toBe("5");
  });

  it("names the bar and field of a value that does not fit its scale or bound", () => {
    const bar = { time: T0, open: 1, high: 2, low: 0.5, close: 1.5, volume: 3 };
    expect(integerCandleOf(bar, "f.csv")).toEqual({
      time: T0,
      missing: false,
      open: 100000000n,
      high: 200000000n,
      low: 50000000n,
      close: 150000000n,
      volume: 300000000n,
    });
    expect(() => integerCandleOf({ ...bar, low: 0.123456789 }, "f.csv")).toThrow(
      new DataError(
        "f.csv",
        undefined,
        "bar 2024-01-01T00:00:00.000Z: low 0.123456789 does not fit 8 decimals",
      ),
    );
    expect(() => integerCandleOf({ ...bar, volume: 2 ** 80 / 1e8 }, "f.csv")).toThrow(
      "bar 2024-01-01T00:00:00.000Z: volume 12089258196146292 is outside [0, 12089258196146291.74706175] " +
        "(8 decimals in 80 bits)",
    );
    expect(() => integerCandleOf({ ...bar, high: 2e11 }, "f.csv")).toThrow(
      "high 200000000000 is outside [0.00000001, 184467440737.09551615] (8 decimals in 64 bits)",
    );
  });

  it("checks bounds and the OHLC rules at their boundaries", () => {
    const ok = { ...missingCandle(T0), missing: false, open: 1n, high: 1n, low: 1n, close: 1n, volume: 0n };
    expect(integerCandleViolation(ok)).toBeUndefined();
    expect(integerCandleViolation({ ...ok, high: (1n << BigInt(PRICE_BITS)) - 1n })).toBeUndefined();
    expect(integerCandleViolation({ ...ok, high: 1n << BigInt(PRICE_BITS) })).toMatch(/^high/);
    expect(integerCandleViolation({ ...ok, volume: (1n << BigInt(VOLUME_BITS)) - 1n })).toBeUndefined();
    expect(integerCandleViolation({ ...ok, volume: 1n << BigInt(VOLUME_BITS) })).toMatch(/^volume/);
    expect(integerCandleViolation({ ...ok, open: 0n, low: 0n })).toMatch(/^open 0 is outside/);
    expect(integerCandleViolation({ ...ok, volume: -1n })).toMatch(/^volume -1/);
    expect(integerCandleViolation({ ...ok, low: 2n, high: 2n })).toBe("low 2 > open 1");
    expect(integerCandleViolation({ ...ok, high: 2n, close: 3n })).toBe("high 2 < close 3");
    expect(integerCandleViolation(missingCandle(T0))).toBeUndefined();
    expect(integerCandleViolation({ ...missingCandle(T0), close: 1n })).toMatch(/close of a missing bar/);
  });
});

describe("windows", () => {
  const series = parseCandlesCsv(
    csv([
      [0, 10, 11, 9, 10.5, 1],
      [2, 10.5, 12, 10, 11, 2],
      // 4 h and 6 h are missing
      [8, 11, 11.5, 10.25, 11.25, 0],
      [10, 11.25, 13, 11, 12, 4.5],
    ]),
    "gap.csv",
  );

  it("has exactly N bars: a gap becomes missing bars, not a shorter window", () => {
    const w = buildWindow(series, 7n, 3, 6);
    expect(w.marketId).toBe(7n);
    expect(w.intervalMs).toBe(2 * HOUR);
    expect(w.endTime).toBe(T0 + 10 * HOUR);
    expect(w.bars.map((b) => (b.time - T0) / HOUR)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(w.bars.map((b) => b.missing)).toEqual([false, false, true, true, false, false]);
    expect(w.bars[2]).toEqual({
      time: T0 + 4 * HOUR,
      missing: true,
      high: 0n,
      low: 0n,
      close: 0n,
      volume: 0n,
    });
    expect("open" in w.bars[0]).toBe(false);
    expect(w.bars[5].close).toBe(1200000000n);
    expect(w.bars[4].low).toBe(1025000000n);
    expect(windowViolation(w)).toBeUndefined();
    expect(buildWindow(series, 7n, 1, 1).bars).toHaveLength(1);
  });

  it("refuses a window that starts before the first bar", () => {
    expect(() => buildWindow(series, 7n, 3, 7)).toThrow(InsufficientDataError);
    expect(() => buildWindow(series, 7n, 3, 7)).toThrow(
      "gap.csv: a window of 7 bars ending at 2024-01-01T10:00:00.000Z starts at 2023-12-31T22:00:00.000Z, " +
        "before the first bar 2024-01-01T00:00:00.000Z",
    );
    expect(() => buildWindow(series, 7n, 4, 2)).toThrow(RangeError);
    expect(() => buildWindow(series, 7n, 3, 0)).toThrow(RangeError);
  });

  it("names the field of a malformed window", () => {
    const w = buildWindow(series, 7n, 3, 6);
    expect(windowViolation({ ...w, intervalMs: 0 })?.field).toBe("intervalMs");
    expect(windowViolation({ ...w, bars: w.bars.slice(0, 5) })?.field).toBe("bars[0].time");
    expect(windowViolation({ ...w, bars: [...w.bars.slice(0, 5), missingCandle(w.endTime)] })).toEqual({
      field: "bars[5].missing",
      reason: "the last bar must be present",
    });
    const edited = w.bars.map((b, i) => (i === 1 ? { ...b, low: b.high + 1n } : b));
    expect(windowViolation({ ...w, bars: edited })).toEqual({
      field: "bars[1].low",
      reason: "low 1200000001 > close 1100000000",
    });
    const missing = w.bars.map((b, i) => (i === 2 ? { ...b, volume: 1n } : b));
    expect(windowViolation({ ...w, bars: missing })).toEqual({
      field: "bars[2].volume",
      reason: "volume of a missing bar must be 0, got 1",
    });
  });

  it("converts every bar of the shipped candles exactly", () => {
    const real = loadCandles(join(__dirname, "../../models/data/btcusdt-2h.csv"));
    const last = real.candles.length - 1;
    const w = buildWindow(real, 1n, last, 98);
    expect(w.bars).toHaveLength(98);
    for (const c of real.candles) integerCandleOf(c, real.source);
    // Only the last WINDOW_RANGE_BARS bars keep their high and low.
    expect(w.bars.map((b) => b.high > 0n)).toEqual(w.bars.map((_, i) => i >= 98 - WINDOW_RANGE_BARS));
    expect(w.bars.every((b) => b.close > 0n)).toBe(true);
    const ranged = w.bars.map((b, i) => (i === 0 ? { ...b, high: b.close } : b));
    expect(windowViolation({ ...w, bars: ranged })).toEqual({
      field: "bars[0].high",
      reason: `high of a bar before the range part must be 0, got ${w.bars[0].close}`,
    });
  });

  it("signs the highs and lows of the last 24 bars (layout v3): every bar an adaptive outcome reads", () => {
    // The adaptive rule at bar t reads bar s = t - 12 - lag (lag <= 11) and the highs and lows of s+1..s+12, so
    // of bars t-22..t at most: the range part is bars t-23..t, as in the candle file.
    expect(WINDOW_RANGE_BARS).toBe(24);
    expect(WINDOW_RANGE_BARS).toBeGreaterThanOrEqual(TARGET_HORIZON_BARS + MAX_OUTCOME_LAG);
    const real = loadCandles(join(__dirname, "../../models/data/btcusdt-2h.csv"));
    const last = real.candles.length - 1;
    const w = buildWindow(real, 1n, last, WINDOW_BARS);
    const rangeStart = WINDOW_BARS - 24;
    w.bars.forEach((b, i) => {
      const c = real.candles[last - (WINDOW_BARS - 1 - i)];
      expect(b.time).toBe(c.time);
      if (i >= rangeStart) {
        expect([b.high, b.low], `bar ${i}`).toEqual([toFixedPoint(c.high, 8), toFixedPoint(c.low, 8)]);
      } else {
        expect([b.high, b.low], `bar ${i}`).toEqual([0n, 0n]);
      }
    });
    // the first bar of the range part may carry its high and low, the bar before it may not
    const at = (i: number, high: bigint) => ({
      ...w,
      bars: w.bars.map((b, j) => (j === i ? { ...b, high } : b)),
    });
    expect(windowViolation(at(rangeStart, w.bars[rangeStart].high))).toBeUndefined();
    expect(windowViolation(at(rangeStart - 1, w.bars[rangeStart - 1].close))?.field).toBe(
      `bars[${rangeStart - 1}].high`,
    );
    expect(windowViolation(at(rangeStart, 0n))).toEqual({
      field: `bars[${rangeStart}].high`,
      reason: expect.stringMatching(/^high 0 is outside/),
    });
  });
});
