/**
 * circuits/lib/sqrt.circom: IntegerSqrt and SqrtOfRatio against features/window-features.ts `isqrt`
 * (and isqrt(x / y) with bigint division). Exhaustive on small widths, every root boundary at the
 * widths WindowFeatures uses, constraint-count pins, and forged roots s + 1 and s - 1.
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
  bigRandom,
  bitEdits,
  bitsOf,
  FIELD_MODULUS as P,
  loadCircuit,
  unaryWrapper,
  witnessFailure,
  type TestCircuit,
} from "../helpers/circuits";
import { expectForgeryRejected, expectNoWitness } from "../helpers/circuits/expect";
import { isqrt } from "../../features/window-features";

/** A wrapper `(x, y) -> out` around SqrtOfRatio(S, Y), inputs public. */
function ratioSource(s: number, y: number): string {
  return [
    "pragma circom 2.1.0;",
    'include "sqrt.circom";',
    "template Wrap() {",
    "    signal input x;",
    "    signal input y;",
    "    signal output out;",
    `    component t = SqrtOfRatio(${s}, ${y});`,
    "    t.x <== x;",
    "    t.y <== y;",
    "    out <== t.out;",
    "}",
    "component main {public [x, y]} = Wrap();",
    "",
  ].join("\n");
}

/** The circuit's `main.out` on `input`, or undefined when the witness generator refuses it. */
async function rootOf(c: TestCircuit, input: Record<string, bigint>): Promise<bigint | undefined> {
  if ((await witnessFailure(c, input)) !== undefined) return undefined;
  const w = await c.witness(input);
  expect(c.violated(w)).toEqual([]);
  return c.read(w, "main.out");
}

/** Edits putting `v` in the N-bit decomposition `prefix` (all digits in bits[0] when out of range). */
function encode(prefix: string, v: bigint, n: number): Record<string, bigint> {
  if (v >= 0n && v < 1n << BigInt(n)) return bitEdits(prefix, bitsOf(v, n));
  return { ...bitEdits(prefix, bitsOf(0n, n)), [`${prefix}[0]`]: v };
}

describe("IntegerSqrt(S_BITS)", () => {
  let o1: TestCircuit;
  let o2: TestCircuit;
  let wide: TestCircuit;

  beforeAll(async () => {
    [o1, o2, wide] = await Promise.all([
      loadCircuit(unaryWrapper(["sqrt.circom"], "IntegerSqrt(8)"), "IntegerSqrt8", { O: 1 }),
      loadCircuit(unaryWrapper(["sqrt.circom"], "IntegerSqrt(8)"), "IntegerSqrt8", { O: 2 }),
      loadCircuit(unaryWrapper(["sqrt.circom"], "IntegerSqrt(33)"), "IntegerSqrt33", { O: 2 }),
    ]);
  });

  it("pins the --O2 cost: 3 S_BITS + 3 (root, two residues of S_BITS + 1 bits, s * s)", () => {
    expect(o2.constraints).toBe(3 * 8 + 3);
    expect(wide.constraints).toBe(3 * 33 + 3);
  });

  it("equals isqrt on [0, 1100] and around every square up to 255^2; refuses 2^16 and aliases", async () => {
    const vs: bigint[] = [];
    for (let v = 0n; v <= 1100n; v++) vs.push(v);
    for (let k = 34n; k < 256n; k++) vs.push(k * k - 1n, k * k, k * k + 1n);
    vs.push((1n << 16n) - 1n);
    for (const v of vs) expect(await rootOf(o2, { in: v }), `isqrt(${v})`).toBe(isqrt(v));
    for (const v of [1n << 16n, (1n << 16n) + 1n, P - 1n, (P + 1n) / 2n, 1n << 200n]) {
      await expectNoWitness(o2, { in: v }, "RangeCheck");
    }
  });

  it("equals isqrt on 66-bit values (a feature below 2 at scale 2^32) and refuses 2^66", async () => {
    const rnd = bigRandom(66);
    const vs = [0n, 1n, (1n << 66n) - 1n, 1n << 64n, (1n << 64n) - 1n];
    for (let k = 0; k < 200; k++) vs.push(rnd.bits(66));
    for (const v of vs) expect(await rootOf(wide, { in: v })).toBe(isqrt(v));
    await expectNoWitness(wide, { in: 1n << 66n }, "RangeCheck");
  });

  describe("forged roots (S_BITS = 8, in = 50: root 7, residue 1)", () => {
    const forge = (s: bigint) => {
      const e = 50n - s * s;
      return {
        "main.out": s,
        "main.t.square": s * s,
        ...encode("main.t.rootRange.bits", s, 8),
        "main.t.residue.in": e,
        ...encode("main.t.residue.bits", e, 9),
        "main.t.belowNext.in": 2n * s - e,
        ...encode("main.t.belowNext.bits", 2n * s - e, 9),
      };
    };

    it("rejects s + 1 = 8: 50 - 64 < 0 (booleanity of residue.bits[0])", async () => {
      await expectForgeryRejected(o1, o2, {
        name: "isqrt(50) = 8",
        from: { in: 50n },
        edits: () => forge(8n),
        rejectedBy: ["main.t.residue.bits[0]"],
      });
    });

    it("rejects s - 1 = 6: residue 14 > 2 * 6 (booleanity of belowNext.bits[0])", async () => {
      await expectForgeryRejected(o1, o2, {
        name: "isqrt(50) = 6",
        from: { in: 50n },
        edits: () => forge(6n),
        rejectedBy: ["main.t.belowNext.bits[0]"],
      });
    });

    it("rejects s + 1 = 8 with the square left at 49 (square = s * s)", async () => {
      // residue 50 - 49 = 1 and 2 * 8 - 1 = 15 both fit: only the product catches it
      await expectForgeryRejected(o1, o2, {
        name: "isqrt(50) = 8 with square 49",
        from: { in: 50n },
        edits: () => ({
          "main.out": 8n,
          ...encode("main.t.rootRange.bits", 8n, 8),
          "main.t.belowNext.in": 15n,
          ...encode("main.t.belowNext.bits", 15n, 9),
        }),
        rejectedBy: ["main.out", "main.t.square"],
      });
    });
  });
});

describe("SqrtOfRatio(S_BITS, Y_BITS)", () => {
  let small: TestCircuit;
  let smallO1: TestCircuit;
  let rv7: TestCircuit;
  let volvol: TestCircuit;

  beforeAll(async () => {
    [small, smallO1, rv7, volvol] = await Promise.all([
      loadCircuit(ratioSource(4, 4), "SqrtOfRatioSmall", { O: 2 }),
      loadCircuit(ratioSource(4, 4), "SqrtOfRatioSmall", { O: 1 }),
      // rv_7d (y = n(W7) D < 2^135) and volvol_7d (y = U1^2 < 2^152) in WindowFeatures
      loadCircuit(ratioSource(33, 135), "SqrtOfRatioRv7"),
      loadCircuit(ratioSource(34, 152), "SqrtOfRatioVolvol"),
    ]);
  });

  it("pins the --O2 cost: S_BITS + 2 (S_BITS + 1 + Y_BITS) + 2", () => {
    expect(small.constraints).toBe(4 + 2 * 9 + 2);
    expect(rv7.constraints).toBe(33 + 2 * 169 + 2);
    expect(volvol.constraints).toBe(34 + 2 * 187 + 2);
  });

  it("equals isqrt(x / y) or refuses, exhaustively on x in [0, 300], y in [0, 17]", async () => {
    for (let y = 0n; y <= 17n; y++) {
      for (let x = 0n; x <= 300n; x++) {
        const got = await rootOf(small, { x, y });
        if (y === 0n) {
          expect(got, `${x} / 0 has no witness`).toBeUndefined();
          continue;
        }
        const s = isqrt(x / y);
        // accepted whenever s < 2^4 and y < 2^4; for larger y, a witness is still never wrong
        if (s < 16n && y < 16n) expect(got, `isqrt(${x} / ${y})`).toBe(s);
        else if (s >= 16n) expect(got).toBeUndefined();
        else if (got !== undefined) expect(got).toBe(s);
      }
    }
  });

  it("refuses aliased dividends (p - 1, (p + 1) / 2)", async () => {
    for (const x of [P - 1n, (P + 1n) / 2n]) await expectNoWitness(small, { x, y: 3n }, "RangeCheck");
  });

  it("equals isqrt(x / y) for rv_7d-sized operands: every root boundary and 200 random", async () => {
    const rnd = bigRandom(135);
    const cases: [bigint, bigint][] = [];
    const sMax = (1n << 33n) - 1n;
    for (const y of [1n, 84n, (1n << 135n) - 1n]) {
      for (const s of [0n, 1n, 1n << 32n, sMax])
        cases.push([s * s * y, y], [(s + 1n) * (s + 1n) * y - 1n, y]);
    }
    for (let k = 0; k < 200; k++) {
      const y = rnd.between(1n, (1n << 135n) - 1n);
      cases.push([rnd.between(0n, (sMax + 1n) * (sMax + 1n) * y - 1n), y]);
    }
    for (const [x, y] of cases) expect(await rootOf(rv7, { x, y }), `isqrt(${x} / ${y})`).toBe(isqrt(x / y));
    // a root of 2^33 (a feature of 2 at scale 2^32) has no witness
    await expectNoWitness(rv7, { x: (sMax + 1n) ** 2n * 84n, y: 84n }, "RangeCheck");
    await expectNoWitness(rv7, { x: 5n, y: 0n }, "RangeCheck");
  });

  it("equals isqrt(x / y) for volvol_7d-sized operands and refuses a root of 2^34", async () => {
    const rnd = bigRandom(152);
    for (let k = 0; k < 200; k++) {
      const y = rnd.between(1n, (1n << 152n) - 1n);
      const x = rnd.between(0n, (1n << 68n) * y - 1n);
      expect(await rootOf(volvol, { x, y })).toBe(isqrt(x / y));
    }
    await expectNoWitness(volvol, { x: 1n << 68n, y: 1n }, "RangeCheck");
  });

  describe("forged roots (S_BITS = 4, Y_BITS = 4; x = 100, y = 3: root 5)", () => {
    const forge = (s: bigint) => {
      const t = (s + 1n) * 3n;
      const u = (s + 1n) * t;
      return {
        "main.out": s,
        "main.t.t": t,
        "main.t.u": u,
        ...encode("main.t.rootRange.bits", s, 4),
        "main.t.atLeast.in": 100n - (u - 2n * t + 3n),
        ...encode("main.t.atLeast.bits", 100n - (u - 2n * t + 3n), 9),
        "main.t.below.in": u - 1n - 100n,
        ...encode("main.t.below.bits", u - 1n - 100n, 9),
      };
    };

    it("rejects s + 1 = 6: 100 - 36 * 3 < 0 (booleanity of atLeast.bits[0])", async () => {
      await expectForgeryRejected(smallO1, small, {
        name: "isqrt(100 / 3) = 6",
        from: { x: 100n, y: 3n },
        edits: () => forge(6n),
        rejectedBy: ["main.t.atLeast.bits[0]"],
      });
    });

    it("rejects s - 1 = 4: 25 * 3 - 1 - 100 < 0 (booleanity of below.bits[0])", async () => {
      await expectForgeryRejected(smallO1, small, {
        name: "isqrt(100 / 3) = 4",
        from: { x: 100n, y: 3n },
        edits: () => forge(4n),
        rejectedBy: ["main.t.below.bits[0]"],
      });
    });

    it("rejects s + 1 = 6 with t consistent and u = (s + 1)^2 y left honest (the product u)", async () => {
      // t = 7 * 3 = 21 and u = 108: x - (u - 2t + y) = 31 and u - 1 - x = 7 both fit
      await expectForgeryRejected(smallO1, small, {
        name: "isqrt(100 / 3) = 6 with u = 108",
        from: { x: 100n, y: 3n },
        edits: () => ({
          "main.out": 6n,
          ...encode("main.t.rootRange.bits", 6n, 4),
          "main.t.t": 21n,
          "main.t.atLeast.in": 31n,
          ...encode("main.t.atLeast.bits", 31n, 9),
        }),
        rejectedBy: ["main.out", "main.t.t", "main.t.u"],
      });
    });
  });
});
