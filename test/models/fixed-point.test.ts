import { seededRandom } from "../../models/stats";
import { describe, expect, it } from "vitest";
import {
  addInterval,
  ceilShift,
  clampBig,
  floorShift,
  fromFixed,
  relu,
  scaleInterval,
  signedBits,
  toFixed,
} from "../../models/fixed-point";

const prng = seededRandom;

describe("floorShift and ceilShift", () => {
  it("round towards -infinity and +infinity on negatives", () => {
    expect(floorShift(-5n, 1)).toBe(-3n); // -2.5 -> -3
    expect(ceilShift(-5n, 1)).toBe(-2n); // -2.5 -> -2
    expect(floorShift(-7n, 2)).toBe(-2n); // -1.75 -> -2
    expect(ceilShift(-7n, 2)).toBe(-1n); // -1.75 -> -1
    expect(floorShift(-1n, 3)).toBe(-1n); // -0.125 -> -1
    expect(ceilShift(-1n, 3)).toBe(0n); // -0.125 -> 0
  });

  it("round positives down and up", () => {
    expect(floorShift(5n, 1)).toBe(2n);
    expect(ceilShift(5n, 1)).toBe(3n);
    expect(floorShift(1n, 3)).toBe(0n);
    expect(ceilShift(1n, 3)).toBe(1n);
  });

  it("are exact on multiples of 2^s, negative or not", () => {
    expect(floorShift(-8n, 2)).toBe(-2n);
    expect(ceilShift(-8n, 2)).toBe(-2n);
    expect(floorShift(12n, 2)).toBe(3n);
    expect(ceilShift(12n, 2)).toBe(3n);
    expect(floorShift(0n, 5)).toBe(0n);
    expect(ceilShift(0n, 5)).toBe(0n);
    // A value one above a multiple: floor stays, ceil moves up by one.
    expect(floorShift(-7n * 1024n + 1n, 10)).toBe(-7n);
    expect(ceilShift(-7n * 1024n + 1n, 10)).toBe(-6n);
  });

  it("are the identity for a shift of 0", () => {
    for (const a of [-3n, 0n, 7n]) {
      expect(floorShift(a, 0)).toBe(a);
      expect(ceilShift(a, 0)).toBe(a);
    }
  });

  it("satisfy q * 2^s <= a < (q + 1) * 2^s (floor) and (c - 1) * 2^s < a <= c * 2^s (ceil)", () => {
    const r = prng(11);
    for (let i = 0; i < 500; i++) {
      const a = BigInt(Math.floor((r() - 0.5) * 2 ** 52)) * BigInt(1 + Math.floor(r() * 1000));
      const s = Math.floor(r() * 70);
      const d = 1n << BigInt(s);
      const q = floorShift(a, s);
      const c = ceilShift(a, s);
      expect(q * d <= a && a < (q + 1n) * d, `floor(${a} / 2^${s}) = ${q}`).toBe(true);
      expect((c - 1n) * d < a && a <= c * d, `ceil(${a} / 2^${s}) = ${c}`).toBe(true);
    }
  });

  it("reject a negative or fractional shift", () => {
    expect(() => floorShift(1n, -1)).toThrow(RangeError);
    expect(() => ceilShift(1n, 1.5)).toThrow(RangeError);
    expect(() => floorShift(1n, 0.5)).toThrow(/non-negative integer/);
  });
});

describe("signedBits", () => {
  it("counts the two's-complement width of an interval", () => {
    expect(signedBits({ min: -128n, max: 127n })).toBe(8);
    expect(signedBits({ min: -129n, max: 0n })).toBe(9);
    expect(signedBits({ min: 0n, max: 128n })).toBe(9);
    expect(signedBits({ min: 0n, max: 127n })).toBe(8);
    expect(signedBits({ min: -128n, max: -128n })).toBe(8);
    expect(signedBits({ min: 0n, max: 0n })).toBe(1);
    expect(signedBits({ min: -1n, max: -1n })).toBe(1);
    expect(signedBits({ min: -1n, max: 0n })).toBe(1);
    expect(signedBits({ min: 0n, max: 1n })).toBe(2);
    expect(signedBits({ min: -2n, max: 1n })).toBe(2);
    expect(signedBits({ min: -(1n << 63n), max: (1n << 63n) - 1n })).toBe(64);
    expect(signedBits({ min: 0n, max: 1n << 63n })).toBe(65);
  });

  it("rejects an empty interval", () => {
    expect(() => signedBits({ min: 1n, max: 0n })).toThrow(/empty interval \[1, 0\]/);
  });
});

describe("toFixed and fromFixed", () => {
  it("rounds to the nearest integer at scale 2^s, ties towards +infinity", () => {
    expect(toFixed(0.5, 0)).toBe(1n);
    expect(toFixed(2.5, 0)).toBe(3n);
    expect(toFixed(-0.5, 0)).toBe(0n);
    expect(toFixed(-1.5, 0)).toBe(-1n);
    expect(toFixed(-2.5, 0)).toBe(-2n);
    expect(toFixed(0.3, 4)).toBe(5n); // 4.8
    expect(toFixed(-0.3, 4)).toBe(-5n); // -4.8
    expect(toFixed(0.28, 4)).toBe(4n); // 4.48
    expect(toFixed(1.75, 2)).toBe(7n);
    expect(toFixed(1 / 3, 10)).toBe(341n); // 341.33
    expect(toFixed(-1 / 3, 10)).toBe(-341n);
    expect(toFixed(0, 32)).toBe(0n);
    expect(toFixed(16, 32)).toBe(1n << 36n);
  });

  it("matches an exact reference on random values below 2^52 at the scale", () => {
    const r = prng(5);
    for (let i = 0; i < 1000; i++) {
      const s = Math.floor(r() * 40);
      const x = (r() - 0.5) * 2 ** (52 - s) * r();
      const v = x * 2 ** s; // exact: a power-of-two scaling
      const fl = Math.floor(v);
      const expected = BigInt(fl) + (v - fl >= 0.5 ? 1n : 0n); // v - fl is exact for |v| < 2^52
      expect(toFixed(x, s), `toFixed(${x}, ${s})`).toBe(expected);
    }
  });

  it("refuses values that do not fit a float at the scale", () => {
    expect(() => toFixed(Infinity, 0)).toThrow(RangeError);
    expect(() => toFixed(NaN, 3)).toThrow(RangeError);
    expect(() => toFixed(1e300, 100)).toThrow(/cannot represent/);
  });

  it("fromFixed reads a value at scale 2^s back", () => {
    expect(fromFixed(7n, 2)).toBe(1.75);
    expect(fromFixed(-341n, 10)).toBe(-341 / 1024);
    expect(fromFixed(toFixed(0.125, 3), 3)).toBe(0.125);
  });
});

describe("relu, clampBig and interval helpers", () => {
  it("relu keeps positives and zeroes negatives", () => {
    expect(relu(5n)).toBe(5n);
    expect(relu(0n)).toBe(0n);
    expect(relu(-2n)).toBe(0n);
  });

  it("clampBig clamps to a closed interval", () => {
    expect(clampBig(-1n, 0n, 10n)).toBe(0n);
    expect(clampBig(11n, 0n, 10n)).toBe(10n);
    expect(clampBig(10n, 0n, 10n)).toBe(10n);
    expect(clampBig(4n, 0n, 10n)).toBe(4n);
  });

  it("scaleInterval swaps the ends for a negative weight; addInterval adds ends", () => {
    expect(scaleInterval({ min: -2n, max: 5n }, 3n)).toEqual({ min: -6n, max: 15n });
    expect(scaleInterval({ min: -2n, max: 5n }, -3n)).toEqual({ min: -15n, max: 6n });
    expect(scaleInterval({ min: -2n, max: 5n }, 0n)).toEqual({ min: 0n, max: 0n });
    expect(addInterval({ min: -2n, max: 5n }, { min: 1n, max: 10n })).toEqual({ min: -1n, max: 15n });
  });
});
