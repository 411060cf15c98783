import { describe, expect, it } from "vitest";

import { erfc, kupiecPof } from "../../models/kupiec";

/** |actual - expected| / |expected| < tol (absolute when expected is 0). */
function expectRel(actual: number, expected: number, tol: number): void {
  const err = expected === 0 ? Math.abs(actual) : Math.abs(actual - expected) / Math.abs(expected);
  expect(err, `actual ${actual}, expected ${expected}`).toBeLessThan(tol);
}

// Reference values: erfc to 40 significant digits (mpmath), rounded to double.
const ERFC_REFERENCE: [number, number][] = [
  [0, 1],
  [0.1, 0.8875370839817152],
  [0.5, 0.4795001221869535],
  [1, 0.15729920705028513],
  [1.5, 0.033894853524689274],
  [2, 0.004677734981047266],
  [2.5, 0.0004069520174449589],
  [3, 2.209049699858544e-5],
  [4, 1.541725790028002e-8],
  [5, 1.5374597944280349e-12],
  [6, 2.1519736712498913e-17],
  [8, 1.1224297172982926e-29],
  [10, 2.088487583762545e-45],
];

describe("erfc", () => {
  it.each(ERFC_REFERENCE)("erfc(%d) matches the reference to 1e-12 relative", (x, expected) => {
    expectRel(erfc(x), expected, 1e-12);
  });

  it.each(ERFC_REFERENCE)("erfc(-%d) = 2 - erfc(%d)", (x, expected) => {
    expectRel(erfc(-x), 2 - expected, 1e-15);
  });

  it("is exact at the ends and propagates NaN", () => {
    expect(erfc(0)).toBe(1);
    expect(erfc(Infinity)).toBe(0);
    expect(erfc(-Infinity)).toBe(2);
    expect(erfc(40)).toBe(0); // ~1e-697, below the smallest double
    expect(erfc(NaN)).toBeNaN();
  });

  it("is continuous across the switch from series to continued fraction (x = 1)", () => {
    const below = erfc(1 - 2 ** -40);
    const above = erfc(1);
    // d/dx erfc = -2/sqrt(pi) e^{-x^2} ~ -0.415 at x = 1, so the step 2^-40 moves erfc by ~3.8e-13.
    expectRel(below - above, (2 / Math.sqrt(Math.PI)) * Math.exp(-1) * 2 ** -40, 1e-2);
  });

  it("agrees with a Simpson integral of its derivative on [0, 6]", () => {
    // erfc(a) - erfc(b) = (2/sqrt(pi)) * integral_a^b exp(-t^2) dt, checked piecewise on steps of 0.25; an
    // independent check of both branches that does not reuse either expansion.
    const f = (t: number): number => (2 / Math.sqrt(Math.PI)) * Math.exp(-t * t);
    const m = 1000; // Simpson subintervals per step (even)
    for (let a = 0; a < 6; a += 0.25) {
      const b = a + 0.25;
      const h = (b - a) / m;
      let s = f(a) + f(b);
      for (let i = 1; i < m; i++) s += (i % 2 === 1 ? 4 : 2) * f(a + i * h);
      expectRel(erfc(a) - erfc(b), (s * h) / 3, 1e-10);
    }
  });
});

describe("kupiecPof", () => {
  it.each([
    [10, 1000],
    [1, 100],
    [5, 500],
  ])("is 1 when the breach count is exactly n * p (%d of %d)", (x, n) => {
    // x/n = p, so both likelihoods coincide: LR = 0 and P(chi2_1 > 0) = 1.
    expect(kupiecPof(x, n, 0.01)).toBeCloseTo(1, 12);
  });

  it("matches a hand computation: 20 breaches in 1000 bars", () => {
    // LR = -2[980 ln 0.99 + 20 ln 0.01] + 2[980 ln 0.98 + 20 ln 0.02]
    //    = 2[980 ln(0.98 / 0.99) + 20 ln 2]                     (the ln 0.01 and ln 0.02 terms differ by ln 2)
    //    ln 0.98 = -0.0202027073175194, ln 0.99 = -0.0100503358535014 -> ln(0.98/0.99) = -0.0101523714640180
    //    980 * -0.0101523714640180 = -9.94932403473765;  20 ln 2 = 13.8629436111989
    //    LR = 2 * 3.91361957646125 = 7.8272391529225
    // p = erfc(sqrt(LR / 2)) = erfc(1.97828703085807) = 0.00514646498249963 (mpmath: 0.0051464649824996265)
    expect(Math.abs(kupiecPof(20, 1000, 0.01) - 0.005146464982499627)).toBeLessThan(1e-9);
    // And p = erfc(sqrt(LR / 2)) with the hand-computed LR.
    expect(kupiecPof(20, 1000)).toBeCloseTo(erfc(Math.sqrt(7.8272391529225 / 2)), 12);
  });

  it("matches the reference for small samples", () => {
    // 1 of 8: LR = -2[7 ln 0.99 + ln 0.01] + 2[7 ln(7/8) + ln(1/8)] = 3.3227224938222143
    expectRel(kupiecPof(1, 8), 0.06832859042968058, 1e-12);
    // 5 of 8: LR = -2[3 ln 0.99 + 5 ln 0.01] + 2[3 ln(3/8) + 5 ln(5/8)] = 35.526992064474209
    expectRel(kupiecPof(5, 8), 2.5154066552170565e-9, 1e-12);
  });

  it("is finite and in [0, 1] at x = 0 and x = n (0 ln 0 = 0)", () => {
    // x = 0, n = 1000: LR = -2 * 1000 ln 0.99 = 20.100671707002882 -> p = 7.347086770069019e-6
    expectRel(kupiecPof(0, 1000), 7.347086770069019e-6, 1e-12);
    // x = n = 10: LR = -2 * 10 ln 0.01 = 92.10340371976183 -> p = 8.226375843540706e-22
    expectRel(kupiecPof(10, 10), 8.226375843540706e-22, 1e-11);
    // n = 1: LR = -2 ln 0.99 = 0.020100671707002882 (x = 0) and -2 ln 0.01 = 9.210340371976183 (x = 1)
    expectRel(kupiecPof(0, 1), 0.887256280075909, 1e-12);
    expectRel(kupiecPof(1, 1), 0.0024065194588227586, 1e-12);
    for (const [x, n] of [
      [0, 1],
      [1, 1],
      [0, 100_000],
      [100_000, 100_000],
    ]) {
      const p = kupiecPof(x, n);
      expect(Number.isFinite(p)).toBe(true);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThanOrEqual(1);
    }
  });

  it("rejects both too many and too few breaches, and falls away from x = n p on both sides", () => {
    const ps = [0, 2, 5, 10, 15, 20, 30].map((x) => kupiecPof(x, 1000));
    expect(ps[0]).toBeLessThan(0.01); // 0 of 1000 at p = 1 %: too few
    expect(ps[6]).toBeLessThan(0.01); // 30 of 1000: too many
    expect(ps[1]).toBeLessThan(ps[2]);
    expect(ps[2]).toBeLessThan(ps[3]);
    expect(ps[3]).toBeGreaterThan(ps[4]);
    expect(ps[4]).toBeGreaterThan(ps[5]);
  });

  it("uses the breach probability it is given", () => {
    expect(kupiecPof(50, 1000, 0.05)).toBeCloseTo(1, 12);
    expect(kupiecPof(50, 1000, 0.05)).toBeGreaterThan(kupiecPof(50, 1000, 0.01));
  });

  it.each([
    [0, 0, 0.01, /n must be an integer >= 1, got 0/],
    [0, 2.5, 0.01, /n must be an integer >= 1, got 2.5/],
    [0, NaN, 0.01, /n must be an integer >= 1, got NaN/],
    [-1, 10, 0.01, /breaches must be an integer in \[0, n = 10\], got -1/],
    [11, 10, 0.01, /breaches must be an integer in \[0, n = 10\], got 11/],
    [1.5, 10, 0.01, /breaches must be an integer in \[0, n = 10\], got 1.5/],
    [1, 10, 0, /p must be in \(0, 1\), got 0/],
    [1, 10, 1, /p must be in \(0, 1\), got 1/],
    [1, 10, NaN, /p must be in \(0, 1\), got NaN/],
  ])("kupiecPof(%d, %d, %d) throws a RangeError naming the value", (x, n, p, message) => {
    expect(() => kupiecPof(x, n, p)).toThrow(RangeError);
    expect(() => kupiecPof(x, n, p)).toThrow(message);
  });
});
