/**
 * publisher/babyjubjub.ts against circomlibjs's `babyJub` (a test-only reference here): the curve's constants,
 * and the sum, scalar multiple, on-curve and subgroup checks on seeded random points, on points of small
 * order and on pairs that are not curve points; multiplication from a multiples table against mulPoint.
 */
import { createRequire } from "node:module";
import { beforeAll, describe, expect, it } from "vitest";
import { bigRandom } from "../helpers/circuits/testing";
import { FIELD_MODULUS as P } from "../../crypto/field";
import {
  addPoints,
  BASE8,
  CURVE_A,
  CURVE_D,
  IDENTITY,
  isInSubgroup,
  isOnCurve,
  mulPoint,
  multiplesTable,
  mulWithTable,
  pointsEqual,
  SUBGROUP_ORDER,
  type CurvePoint,
} from "../../publisher/babyjubjub";

type F1 = unknown;
interface BabyJub {
  F: { e(x: bigint): F1; toObject(x: F1): bigint };
  Base8: [F1, F1];
  Generator: [F1, F1];
  order: bigint;
  subOrder: bigint;
  A: F1;
  D: F1;
  addPoint(a: F1[], b: F1[]): [F1, F1];
  mulPointEscalar(p: F1[], e: bigint): [F1, F1];
  inCurve(p: F1[]): boolean;
  inSubgroup(p: F1[]): boolean;
}
const loadModule = createRequire(__filename);
const { buildBabyjub } = loadModule("circomlibjs") as { buildBabyjub(): Promise<BabyJub> };

let bj: BabyJub;
const toLib = (p: CurvePoint): F1[] => [bj.F.e(p.x), bj.F.e(p.y)];
const fromLib = ([x, y]: F1[]): CurvePoint => ({ x: bj.F.toObject(x), y: bj.F.toObject(y) });

/** x^((p-1)/2) mod p: 1 for a non-zero square, p - 1 for a non-square (Euler's criterion). */
function legendre(x: bigint): bigint {
  let [result, base, e] = [1n, x % P, (P - 1n) / 2n];
  for (; e > 0n; e >>= 1n, base = (base * base) % P) if (e & 1n) result = (result * base) % P;
  return result;
}

beforeAll(async () => {
  bj = await buildBabyjub();
});

describe("BabyJubJub constants", () => {
  it("a, d, the subgroup order and Base8 are circomlibjs's, and Base8 = 8·Generator has order l", () => {
    expect(CURVE_A).toBe(bj.F.toObject(bj.A));
    expect(CURVE_D).toBe(bj.F.toObject(bj.D));
    expect(SUBGROUP_ORDER).toBe(bj.subOrder);
    expect(8n * SUBGROUP_ORDER).toBe(bj.order);
    expect(BASE8).toEqual(fromLib(bj.Base8));
    const generator = fromLib(bj.Generator);
    expect(mulPoint(generator, 8n)).toEqual(BASE8);
    expect(isOnCurve(BASE8) && isInSubgroup(BASE8)).toBe(true);
    expect(pointsEqual(BASE8, IDENTITY)).toBe(false);
    expect(mulPoint(BASE8, SUBGROUP_ORDER)).toEqual(IDENTITY);
    expect(isInSubgroup(generator)).toBe(false); // order 8·l
  });

  it("a is a square mod p and d is not, so the addition law is complete", () => {
    expect(legendre(CURVE_A)).toBe(1n);
    expect(legendre(CURVE_D)).toBe(P - 1n);
  });
});

describe("BabyJubJub arithmetic", () => {
  const rnd = bigRandom(2494);
  /** Seeded random curve points: multiples of Base8 and of the generator (order 8·l), and the identity. */
  const randomPoints = (n: number): CurvePoint[] => [
    IDENTITY,
    ...Array.from({ length: n }, (_, i) =>
      mulPoint(i % 2 === 0 ? BASE8 : fromLib(bj.Generator), rnd.between(1n, bj.order - 1n)),
    ),
  ];

  it("adds, doubles and multiplies as circomlibjs does on 20 seeded random points", () => {
    const points = randomPoints(20);
    for (const [i, p] of points.entries()) {
      expect(bj.inCurve(toLib(p))).toBe(true);
      const q = points[(i + 7) % points.length];
      expect(addPoints(p, q)).toEqual(fromLib(bj.addPoint(toLib(p), toLib(q))));
      expect(addPoints(p, p)).toEqual(fromLib(bj.addPoint(toLib(p), toLib(p))));
      expect(addPoints(p, IDENTITY)).toEqual(p);
      for (const k of [0n, 1n, 8n, rnd.bits(254), SUBGROUP_ORDER - 1n]) {
        expect(mulPoint(p, k)).toEqual(fromLib(bj.mulPointEscalar(toLib(p), k)));
      }
    }
  });

  it("agrees with circomlibjs's inCurve and inSubgroup on random, small-order and off-curve points", () => {
    const order2: CurvePoint = { x: 0n, y: P - 1n };
    const order8 = mulPoint(fromLib(bj.Generator), SUBGROUP_ORDER);
    expect(pointsEqual(mulPoint(order8, 4n), order2)).toBe(true);
    const cases: CurvePoint[] = [
      ...randomPoints(12),
      ...randomPoints(4).map((p) => addPoints(p, order2)),
      ...randomPoints(4).map((p) => addPoints(p, order8)),
      order2,
      order8,
      mulPoint(order8, 2n), // order 4
      { x: 0n, y: 0n },
      { x: 1n, y: 1n },
      ...Array.from({ length: 8 }, () => ({ x: rnd.between(0n, P - 1n), y: rnd.between(0n, P - 1n) })),
      { ...BASE8, y: BASE8.y + 1n },
    ];
    let inSubgroup = 0;
    for (const p of cases) {
      expect(isOnCurve(p)).toBe(bj.inCurve(toLib(p)));
      expect(isInSubgroup(p)).toBe(bj.inSubgroup(toLib(p)));
      if (isInSubgroup(p)) inSubgroup++;
    }
    expect(inSubgroup).toBeGreaterThan(5);
    expect(inSubgroup).toBeLessThan(cases.length - 10);
    // Coordinates outside [0, p) are refused, though congruent to a curve point's.
    expect(isOnCurve({ ...BASE8, x: BASE8.x + P })).toBe(false);
    expect(isInSubgroup({ ...BASE8, y: BASE8.y - P })).toBe(false);
  });

  it("multiplies from a multiples table as mulPoint does, on Base8 and random points, over the table's range", () => {
    const points = [BASE8, ...randomPoints(4)];
    for (const [i, p] of points.entries()) {
      const bits = i === 0 ? 251 : 257;
      const table = multiplesTable(p, bits);
      expect(table.bits).toBe(Math.ceil(bits / 4) * 4);
      const top = (1n << BigInt(table.bits)) - 1n;
      const scalars = [
        0n,
        1n,
        15n,
        16n,
        17n,
        SUBGROUP_ORDER - 1n,
        SUBGROUP_ORDER,
        top,
        rnd.bits(bits),
        rnd.bits(64),
      ];
      for (const k of scalars) expect(mulWithTable(table, k), `point ${i}, k ${k}`).toEqual(mulPoint(p, k));
    }
  });

  it("refuses a table of what is not a curve point or of no bits, and scalars outside its range", () => {
    expect(() => multiplesTable({ x: 1n, y: 1n }, 8)).toThrow(/^multiplesTable: p: \(1, 1\) is not a point/);
    expect(() => multiplesTable(BASE8, 0)).toThrow(/^multiplesTable: bits 0 is not a positive integer$/);
    const table = multiplesTable(BASE8, 6);
    expect(table.bits).toBe(8);
    expect(mulWithTable(table, 255n)).toEqual(mulPoint(BASE8, 255n));
    expect(() => mulWithTable(table, 256n)).toThrow(/^mulWithTable: scalar 256 is outside \[0, 2\^8\)$/);
    expect(() => mulWithTable(table, -1n)).toThrow(/^mulWithTable: scalar -1 is outside/);
  });

  it("refuses to add or multiply what is not a curve point, and negative scalars", () => {
    const off = { x: 1n, y: 1n };
    expect(() => addPoints(off, BASE8)).toThrow(/^addPoints: p: \(1, 1\) is not a point of BabyJubJub$/);
    expect(() => addPoints(BASE8, off)).toThrow(/^addPoints: q: /);
    expect(() => mulPoint(off, 2n)).toThrow(/^mulPoint: p: /);
    expect(() => mulPoint(BASE8, -1n)).toThrow(/^mulPoint: scalar -1 is negative$/);
  });
});
