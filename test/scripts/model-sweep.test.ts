/**
 * The model sweep's calendar inputs (scripts/model-sweep.ts): `weekendShare`, the share of a target's 12 bars
 * that open on a UTC Saturday or Sunday, and the weekly variance profile (`seasonalProfile`,
 * `seasonalFactors`). The sweep itself (training on eight markets) is run by hand; see
 * docs/model-results.md.
 */
import { describe, expect, it } from "vitest";
import type { Candle, CandleSeries } from "../../candles/types";
import {
  barOfWeek,
  seasonalFactors,
  seasonalProfile,
  WEEK_BARS,
  weekendShare,
} from "../../scripts/model-sweep";

const H = 2 * 3600 * 1000;

describe("weekendShare", () => {
  it("counts the 12 bars after the bar, not the bar itself", () => {
    // Friday 2024-06-28 22:00 UTC: the next 12 bars open Saturday 00:00 .. 22:00.
    expect(weekendShare(Date.UTC(2024, 5, 28, 22))).toBe(1);
    // Friday 20:00: the next bar opens Friday 22:00, then 11 Saturday bars.
    expect(weekendShare(Date.UTC(2024, 5, 28, 20))).toBe(11 / 12);
    // Sunday 22:00: every later bar is on Monday.
    expect(weekendShare(Date.UTC(2024, 5, 30, 22))).toBe(0);
    // Sunday 10:00: Sunday 12:00 .. 22:00 (6 bars), then Monday.
    expect(weekendShare(Date.UTC(2024, 5, 30, 10))).toBe(6 / 12);
    // Wednesday: none.
    expect(weekendShare(Date.UTC(2024, 5, 26, 8))).toBe(0);
  });

  it("takes the bar interval and horizon", () => {
    expect(weekendShare(Date.UTC(2024, 5, 28, 23), 3600 * 1000, 2)).toBe(1);
    expect(weekendShare(Date.UTC(2024, 5, 28, 22), 3600 * 1000, 2)).toBe(0.5);
    expect(weekendShare(Date.UTC(2024, 5, 28, 22), H, 24)).toBe(1);
  });
});

describe("the weekly variance profile", () => {
  it("places bars in the week from Thursday 00:00 UTC", () => {
    expect(WEEK_BARS).toBe(84);
    expect(barOfWeek(Date.UTC(2024, 5, 27, 0))).toBe(0); // a Thursday
    expect(barOfWeek(Date.UTC(2024, 5, 27, 14))).toBe(7);
    expect(barOfWeek(Date.UTC(2024, 5, 26, 22))).toBe(83);
  });

  it("finds the bars that move more, relative to their trailing week, normalised to mean 1", () => {
    // Six weeks of bars moving 1 % up and down, except the bar of the week at place 7, which moves 3 %.
    const start = Date.UTC(2024, 0, 4); // a Thursday
    const candles: Candle[] = [];
    let close = 100;
    for (let i = 0; i < 6 * WEEK_BARS; i++) {
      const time = start + i * H;
      const move = barOfWeek(time) === 7 ? 0.03 : 0.01;
      close *= Math.exp(i % 2 === 0 ? move : -move);
      candles.push({ time, open: close, high: close, low: close, close, volume: 1 });
    }
    const series: CandleSeries = { source: "test", candles, intervalMs: H, gaps: [] };
    const profile = seasonalProfile([series], start + 6 * WEEK_BARS * H);
    expect(profile.reduce((a, v) => a + v, 0) / WEEK_BARS).toBeCloseTo(1, 12);
    // (3 / 1)^2 = 9 times the variance of every other bar.
    expect(profile[7] / profile[8]).toBeCloseTo(9, 9);
    expect(profile[8]).toBeCloseTo(profile[40], 12);
    // Bars at or after the end of training do not count.
    const early = seasonalProfile([series], start + 2 * WEEK_BARS * H);
    expect(early[7] / early[8]).toBeCloseTo(9, 9);
  });

  it("takes the factors over the 12 bars ahead and the 12 up to the bar", () => {
    const profile = Array.from({ length: WEEK_BARS }, (_, h) => (h < 12 ? 4 : 1));
    // Wednesday 22:00 (place 83): the next 12 bars are Thursday's, the last 12 Wednesday's.
    const f = seasonalFactors(profile, Date.UTC(2024, 5, 26, 22));
    expect(f.ahead).toBe(2);
    expect(f.behind).toBe(1);
    // Thursday 22:00 (place 11): ahead is Friday, behind is Thursday.
    const g = seasonalFactors(profile, Date.UTC(2024, 5, 27, 22));
    expect(g.ahead).toBe(1);
    expect(g.behind).toBe(2);
  });
});
