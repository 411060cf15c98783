/**
 * The model sweep's calendar input (scripts/model-sweep.ts `weekendShare`): the share of a target's 12 bars
 * that open on a UTC Saturday or Sunday. The sweep itself (training on eight markets) is run by hand; see the
 * README.
 */
import { describe, expect, it } from "vitest";
import { weekendShare } from "../../scripts/model-sweep";

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
