/** The shared time formatting of core/time.ts: seconds vs milliseconds, the compact form and open bounds. */
import { describe, expect, it } from "vitest";
import { isoFromMs, isoFromMsOr, isoFromSeconds, isoFromSecondsCompact } from "../../core/time";

describe("core/time", () => {
  it("formats seconds (number or bigint) since the epoch", () => {
    expect(isoFromSeconds(0)).toBe("1970-01-01T00:00:00.000Z");
    expect(isoFromSeconds(1717236000)).toBe("2024-06-01T10:00:00.000Z");
    expect(isoFromSeconds(1717236000n)).toBe("2024-06-01T10:00:00.000Z");
  });

  it("formats milliseconds since the epoch", () => {
    expect(isoFromMs(1717236000123)).toBe("2024-06-01T10:00:00.123Z");
  });

  it("drops milliseconds in the compact form and never throws on out-of-range values", () => {
    expect(isoFromSecondsCompact(1717236000)).toBe("2024-06-01T10:00:00Z");
    expect(isoFromSecondsCompact(1e13)).toBe("10000000000000 s since the epoch");
    expect(isoFromSecondsCompact(Number.NaN)).toBe("NaN s since the epoch");
  });

  it("names an open bound with the fallback", () => {
    expect(isoFromMsOr(undefined, "start")).toBe("start");
    expect(isoFromMsOr(0, "start")).toBe("1970-01-01T00:00:00.000Z");
  });
});
