import { describe, expect, it } from "vitest";
import {
  chi2Sf1,
  chi2Sf2,
  christoffersenLr,
  coverageValid,
  coverageVerdict,
  dailyCoverage,
  MIN_DAILY_SAMPLES,
  minDailySamples,
  kupiecLr,
  sequenceTests,
  summarise,
} from "../../models/coverage";
import { kupiecPof } from "../../models/kupiec";

const DAY = 24 * 3600 * 1000;
const H2 = 2 * 3600 * 1000;
const T0 = Date.UTC(2024, 0, 1);

describe("coverage tests on daily samples (hand-computed values)", () => {
  // 10 daily samples, breaches on days 2, 3, 4: transitions FF FT TT TT TF FF FF FF FF.
  const breached = [false, false, true, true, true, false, false, false, false, false];
  const days = breached.map((_, i) => T0 + i * DAY);

  it("Christoffersen independence: n00 5, n01 1, n10 1, n11 2", () => {
    const s = sequenceTests(days, breached, DAY, 0.01);
    expect(s.transitions).toEqual({ n00: 5, n01: 1, n10: 1, n11: 2 });
    // LR = 2[5 ln(5/6) + ln(1/6) + ln(1/3) + 2 ln(2/3) - 6 ln(2/3) - 3 ln(1/3)] = 2.231435513142097
    expect(christoffersenLr(s.transitions)).toBeCloseTo(2.231435513142097, 12);
    expect(s.independenceP).toBeCloseTo(0.13522815768706664, 12);
  });

  it("Kupiec and conditional coverage: 3 breaches in 10 at 1 %", () => {
    const s = sequenceTests(days, breached, DAY, 0.01);
    expect(kupiecLr(3, 10, 0.01)).toBeCloseTo(15.554439776779697, 10);
    expect(s.kupiecP).toBeCloseTo(kupiecPof(3, 10, 0.01), 15);
    expect(s.kupiecP).toBeCloseTo(8.01631729909625e-5, 15);
    // LR_cc = LR_pof + LR_ind, chi2 with 2 df: exp(-LR / 2).
    expect(s.conditionalP).toBeCloseTo(1.373555628511169e-4, 15);
  });

  it("a missing day breaks the chain: no transition across it", () => {
    const gapped = days.map((t, i) => (i >= 4 ? t + DAY : t));
    const s = sequenceTests(gapped, breached, DAY, 0.01);
    expect(s.transitions).toEqual({ n00: 5, n01: 1, n10: 1, n11: 1 });
    expect(christoffersenLr(s.transitions)).toBeCloseTo(0.8180390852654948, 12);
  });

  it("chi-squared tails and the 0 ln 0 conventions", () => {
    expect(chi2Sf1(3.841458820694124)).toBeCloseTo(0.05, 10);
    expect(chi2Sf2(5.991464547107979)).toBeCloseTo(0.05, 10);
    expect(chi2Sf1(0)).toBe(1);
    // No breach at all: no evidence against independence.
    expect(christoffersenLr({ n00: 10, n01: 0, n10: 0, n11: 0 })).toBe(0);
    // Breaches never follow breaches and the rate is the same after both: LR 0.
    expect(christoffersenLr({ n00: 4, n01: 2, n10: 2, n11: 1 })).toBeCloseTo(0, 12);
  });

  it("median and worst of 12 p-values (even count: mean of the middle two)", () => {
    const ps = [0.9, 0.1, 0.5, 0.3, 0.7, 0.2, 0.8, 0.4, 0.6, 0.05, 1, 0.01];
    expect(summarise(ps)).toEqual({ median: (0.4 + 0.5) / 2, worst: 0.01 });
    expect(summarise([0.3, 0.1, 0.2])).toEqual({ median: 0.2, worst: 0.1 });
  });

  it("splits the bars into the 12 phase offsets by UTC open hour", () => {
    // 30 days of 2 h bars; breaches on every bar opening at 06:00 (offset 3) and nowhere else.
    const times: number[] = [];
    const b: boolean[] = [];
    for (let i = 0; i < 30 * 12; i++) {
      times.push(T0 + i * H2);
      b.push(i % 12 === 3);
    }
    const d = dailyCoverage(times, b, H2);
    expect(d.offsets.map((o) => o.samples)).toEqual(new Array(12).fill(30));
    expect(d.offsets.map((o) => o.breaches)).toEqual(d.offsets.map((o) => (o.offset === 3 ? 30 : 0)));
    expect(d.offsets[3].transitions).toEqual({ n00: 0, n01: 0, n10: 0, n11: 29 });
    expect(d.kupiec.worst).toBe(d.offsets[3].kupiecP);
    // 11 offsets without a breach in 30 days: Kupiec p = P(chi2 > 2 * 30 * -ln 0.99) for each.
    expect(d.offsets[0].kupiecP).toBeCloseTo(kupiecPof(0, 30, 0.01), 15);
    expect(d.kupiec.median).toBeCloseTo(kupiecPof(0, 30, 0.01), 15);
    // Every median p passes, but on 30 days even a margin that never breaches would: too short to tell.
    expect(d.samples).toBe(30);
    expect(coverageVerdict(d)).toBe("too short");
    expect(coverageValid(d)).toBe(false);
    const bad = dailyCoverage(
      times,
      times.map((_, i) => i % 12 < 8 && i % 5 === 0),
      H2,
    );
    expect(coverageValid(bad)).toBe(false);
  });

  it("gives an offset without samples no p-value (not a pass), and leaves it out of the medians", () => {
    // 10 days of the 00:00 .. 12:00 bars only: offsets 7 to 11 have no sample.
    const times: number[] = [];
    for (let i = 0; i < 10 * 12; i++) if (i % 12 < 7) times.push(T0 + i * H2);
    const d = dailyCoverage(
      times,
      times.map((_, i) => i === 0),
      H2,
    );
    for (const o of d.offsets.slice(7)) {
      expect(o.samples).toBe(0);
      expect([o.kupiecP, o.independenceP, o.conditionalP].every(Number.isNaN)).toBe(true);
    }
    expect(JSON.parse(JSON.stringify(d.offsets[7])).kupiecP).toBeNull();
    // Offsets 1 .. 6 (no breach in 10 samples) and offset 0 (one): the median is a no-breach offset's.
    expect(d.kupiec.median).toBeCloseTo(kupiecPof(0, 10, 0.01), 15);
    expect(d.kupiec.worst).toBeCloseTo(kupiecPof(1, 10, 0.01), 15);
  });
});

describe("the validity verdict's sample floor", () => {
  // The chi2(1) 95 % quantile; no breach in n samples fails Kupiec at 1 % once -2 n ln(0.99) exceeds it.
  const CHI2_95 = 3.841458820694124;

  it("is the fewest daily samples on which no breach at all fails Kupiec at 5 %", () => {
    const closedForm = Math.floor(CHI2_95 / (-2 * Math.log(0.99))) + 1;
    expect(MIN_DAILY_SAMPLES).toBe(closedForm);
    expect(MIN_DAILY_SAMPLES).toBe(192);
    expect(kupiecPof(0, MIN_DAILY_SAMPLES, 0.01)).toBeLessThan(0.05);
    expect(kupiecPof(0, MIN_DAILY_SAMPLES - 1, 0.01)).toBeGreaterThanOrEqual(0.05);
    expect(minDailySamples(0.05)).toBe(Math.floor(CHI2_95 / (-2 * Math.log(0.95))) + 1);
  });

  /** `days` days of 2 h bars with one breach on `breachDays` days of offset 0 (and of no other offset). */
  function days(n: number, breachDays: number[]) {
    const times: number[] = [];
    const b: boolean[] = [];
    for (let i = 0; i < n * 12; i++) {
      times.push(T0 + i * H2);
      b.push(i % 12 === 0 && breachDays.includes(i / 12));
    }
    return dailyCoverage(times, b, H2);
  }

  it("calls a period valid from the floor on, too short below it, and not valid whenever a median p fails", () => {
    // Two breaches in a year on one offset: that offset's p passes, the other eleven have none.
    expect(coverageVerdict(days(MIN_DAILY_SAMPLES - 1, [10, 100]))).toBe("too short");
    // At the floor the eleven breach-free offsets fail Kupiec: a margin that never breaches is not valid.
    expect(coverageVerdict(days(MIN_DAILY_SAMPLES, [10, 100]))).toBe("not valid");
    // Two breaches on every offset over a year and a half: a 1 % margin's picture, valid.
    const times: number[] = [];
    const b: boolean[] = [];
    for (let i = 0; i < 545 * 12; i++) {
      times.push(T0 + i * H2);
      const day = Math.floor(i / 12);
      b.push(day === 50 + (i % 12) * 20 || day === 300 + (i % 12) * 15);
    }
    const d = dailyCoverage(times, b, H2);
    expect(d.samples).toBe(545);
    expect(coverageVerdict(d)).toBe("valid");
    // Short and failing: twenty breaches in thirty days on every offset is rejected, however short.
    const bad = dailyCoverage(
      times.slice(0, 30 * 12),
      times.slice(0, 30 * 12).map((_, i) => Math.floor(i / 12) < 20),
      H2,
    );
    expect(coverageVerdict(bad)).toBe("not valid");
  });
});
