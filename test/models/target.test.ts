import { describe, expect, it } from "vitest";
import { adverseMoveTargets, TARGET_HORIZON_BARS, targetObservedAt } from "../../models/target";
import type { Candle, CandleSeries } from "../../candles/types";

const HOUR = 3_600_000;
const BAR = 2 * HOUR;
const T0 = Date.UTC(2024, 0, 1);

/** Bars of 2 h from T0; each row is [open, high, low, close]; `shiftFrom` delays bars from that index on. */
function series(
  rows: [number, number, number, number][],
  shiftFrom = rows.length,
  missing = 0,
): CandleSeries {
  const candles: Candle[] = rows.map(([open, high, low, close], t) => ({
    time: T0 + (t + (t >= shiftFrom ? missing : 0)) * BAR,
    open,
    high,
    low,
    close,
    volume: 1,
  }));
  const gaps =
    missing > 0 && shiftFrom < rows.length
      ? [
          {
            afterIndex: shiftFrom - 1,
            from: candles[shiftFrom - 1].time,
            to: candles[shiftFrom].time,
            missingBars: missing,
          },
        ]
      : [];
  return { source: "hand", candles, intervalMs: BAR, gaps };
}

/** 20 bars, quiet (open = close = 100, high 101, low 99) except where noted. */
function handRows(): [number, number, number, number][] {
  const rows: [number, number, number, number][] = Array.from({ length: 20 }, () => [100, 101, 99, 100]);
  rows[2] = [100, 104, 99, 104]; // close 104
  rows[3] = [104, 104, 99, 100];
  rows[5] = [100, 101, 80, 100]; // crash: low 80
  rows[7] = [100, 108, 99, 108]; // close 108
  rows[8] = [108, 108, 99, 100];
  rows[13] = [100, 115, 99, 100]; // spike: high 115
  rows[19] = [100, 130, 99, 100]; // spike: high 130
  return rows;
}

describe("adverseMoveTargets", () => {
  const targets = adverseMoveTargets(series(handRows()));

  it("uses a 12-bar (24 h) horizon by default", () => {
    expect(TARGET_HORIZON_BARS).toBe(12);
    expect(targets).toHaveLength(20);
  });

  it("takes the long side when the fall below close_t is the larger move", () => {
    // t = 0: bars 1..12 have min low 80 (bar 5) and max high 108 (bars 7, 8); the spike of bar 13 is the
    // 13th bar, outside the horizon. Long (100 - 80) / 100 = 0.20 > short (108 - 100) / 100 = 0.08.
    expect(targets[0]).toBeCloseTo(0.2, 15);
    // t = 1: bars 2..13: low 80, high 115 (bar 13, the 12th): long 0.20 > short 0.15.
    expect(targets[1]).toBeCloseTo(0.2, 15);
    // t = 2, close 104: bars 3..14: low 80, high 115: long 24 / 104 > short 11 / 104.
    expect(targets[2]).toBeCloseTo(24 / 104, 15);
    expect(targets[3]).toBeCloseTo(0.2, 15);
    expect(targets[4]).toBeCloseTo(0.2, 15);
  });

  it("takes the short side when the rise above close_t is the larger move", () => {
    // t = 5: bars 6..17 (the crash bar itself is excluded): low 99, high 115: short 0.15 > long 0.01.
    expect(targets[5]).toBeCloseTo(0.15, 15);
    // t = 6: bars 7..18: the 130 spike of bar 19 is the 13th bar, outside: short 0.15.
    expect(targets[6]).toBeCloseTo(0.15, 15);
    // t = 7, close 108: bars 8..19 include the 130 spike (the 12th bar): short 22 / 108 > long 9 / 108.
    expect(targets[7]).toBeCloseTo(22 / 108, 15);
  });

  it("is null for the last 12 bars, whose horizon runs past the data", () => {
    for (let t = 0; t < 8; t++) expect(targets[t], `bar ${t}`).not.toBeNull();
    for (let t = 8; t < 20; t++) expect(targets[t], `bar ${t}`).toBeNull();
  });

  it("is null for a bar whose next 12 bars cross a gap", () => {
    // 30 quiet bars with one bar missing before bar 15: bar t's horizon t+1..t+12 is gap-free for t <= 2
    // (bar 14 is the last before the gap) and for t >= 15.
    const rows: [number, number, number, number][] = Array.from({ length: 30 }, () => [100, 101, 99, 100]);
    rows[15] = [100, 150, 99, 100]; // a spike right after the gap: seen only by bars whose horizon spans it
    const s = series(rows, 15, 1);
    const y = adverseMoveTargets(s);
    expect(y[0]).toBeCloseTo(0.01, 15);
    expect(y[2]).toBeCloseTo(0.01, 15);
    for (let t = 3; t <= 14; t++) expect(y[t], `bar ${t}`).toBeNull();
    expect(y[15]).toBeCloseTo(0.01, 15);
    expect(y[17]).toBeCloseTo(0.01, 15);
    for (let t = 18; t < 30; t++) expect(y[t], `bar ${t}`).toBeNull();
  });

  it("honours a shorter horizon", () => {
    // Horizon 2 at t = 4: bars 5 and 6: low 80 -> 0.20; at t = 3: bars 4 and 5 -> 0.20; at t = 6: 7 and 8
    // -> high 108: 0.08.
    const y = adverseMoveTargets(series(handRows()), 2);
    expect(y[3]).toBeCloseTo(0.2, 15);
    expect(y[6]).toBeCloseTo(0.08, 15);
    expect(y[17]).not.toBeNull();
    expect(y[18]).toBeNull();
    expect(y[19]).toBeNull();
  });
});

describe("targetObservedAt", () => {
  it("is the close of bar t + 12: open time plus 13 intervals", () => {
    const s = series(handRows());
    const c = s.candles;
    for (const t of [0, 3, 7]) {
      const observed = targetObservedAt(c[t].time, BAR);
      expect(observed).toBe(c[t + 12].time + BAR);
      // Not yet known at the close of bar t + 11, whose candle does not include bar t + 12's prices.
      expect(observed).toBeGreaterThan(c[t + 11].time + BAR);
    }
    expect(targetObservedAt(T0, BAR)).toBe(T0 + 26 * HOUR);
  });

  it("scales with the horizon and the interval", () => {
    expect(targetObservedAt(T0, BAR, 3)).toBe(T0 + 8 * HOUR);
    expect(targetObservedAt(T0, HOUR, 12)).toBe(T0 + 13 * HOUR);
  });
});
