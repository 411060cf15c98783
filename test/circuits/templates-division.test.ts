/**
 * circuits/lib/division.circom: FloorDiv and FloorDivOrZero against bigint `/` and `%` (the divisions
 * of features/window-features.ts). Exhaustive on small widths, boundaries and seeded random values at
 * the widths WindowFeatures uses, constraint-count pins, and forged quotient/remainder pairs.
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
  bigRandom,
  bitEdits,
  bitsOf,
  FIELD_MODULUS as P,
  loadCircuit,
  witnessFailure,
  type TestCircuit,
} from "../helpers/circuits";
import { expectForgeryRejected, expectNoWitness } from "../helpers/circuits/expect";

/** A wrapper `(num, den) -> (q, r)` around `call`, inputs public. */
function divisionSource(call: string): string {
  return [
    "pragma circom 2.1.0;",
    'include "division.circom";',
    "template Wrap() {",
    "    signal input num;",
    "    signal input den;",
    "    signal output q;",
    "    signal output r;",
    `    component t = ${call};`,
    "    t.num <== num;",
    "    t.den <== den;",
    "    q <== t.q;",
    "    r <== t.r;",
    "}",
    "component main {public [num, den]} = Wrap();",
    "",
  ].join("\n");
}

function load(call: string, name: string, O: 1 | 2 = 2): Promise<TestCircuit> {
  return loadCircuit(divisionSource(call), name, { O });
}

/** (q, r) of the circuit, or undefined when the witness generator refuses. */
async function divide(c: TestCircuit, num: bigint, den: bigint): Promise<[bigint, bigint] | undefined> {
  if ((await witnessFailure(c, { num, den })) !== undefined) return undefined;
  const w = await c.witness({ num, den });
  expect(c.violated(w)).toEqual([]);
  return [c.read(w, "main.q"), c.read(w, "main.r")];
}

/**
 * Edits that put `v` into the N-bit decomposition `prefix`: its binary digits when 0 <= v < 2^N, else
 * all digits 0 but bits[0] = v, so that only bits[0]'s booleanity fails.
 */
function encode(prefix: string, v: bigint, n: number): Record<string, bigint> {
  if (v >= 0n && v < 1n << BigInt(n)) return bitEdits(prefix, bitsOf(v, n));
  return { ...bitEdits(prefix, bitsOf(0n, n)), [`${prefix}[0]`]: v };
}

describe("FloorDiv(Q_BITS, D_BITS)", () => {
  let small: TestCircuit;
  let smallO1: TestCircuit;
  let daily: TestCircuit;
  let drawdown: TestCircuit;
  // Q_BITS = 4, D_BITS = 3: den in [1, 8] always accepted, quotients below 16.
  const Q = 4;
  const D = 3;

  beforeAll(async () => {
    [small, smallO1, daily, drawdown] = await Promise.all([
      load(`FloorDiv(${Q}, ${D})`, "FloorDivSmall"),
      load(`FloorDiv(${Q}, ${D})`, "FloorDivSmall", 1),
      // volvol_7d's daily variances and drawdown_7d in WindowFeatures
      load("FloorDiv(73, 132)", "FloorDivDaily"),
      load("FloorDiv(32, 64)", "FloorDivDrawdown"),
    ]);
  });

  it("pins the --O2 cost: Q_BITS + 2 D_BITS + 1 (three decompositions, one product)", () => {
    expect(small.constraints).toBe(Q + 2 * D + 1);
    expect(daily.constraints).toBe(73 + 2 * 132 + 1);
    expect(drawdown.constraints).toBe(32 + 2 * 64 + 1);
  });

  it("is Euclidean division or refuses, exhaustively on num in [-3, 140], den in [0, 17]", async () => {
    let accepted = 0;
    for (let den = 0n; den <= 17n; den++) {
      for (let num = -3n; num <= 140n; num++) {
        const got = await divide(small, num, den);
        const q = den > 0n && num >= 0n ? num / den : undefined;
        const r = q === undefined ? undefined : num % den;
        // accepted: every den in [1, 2^D]; above it only when r and den - 1 - r both fit D bits
        const fits =
          q !== undefined &&
          r !== undefined &&
          q < 1n << BigInt(Q) &&
          r < 1n << BigInt(D) &&
          den - 1n - r < 1n << BigInt(D);
        if (fits) {
          expect(got, `${num} / ${den}`).toEqual([q, r]);
          accepted++;
        } else {
          expect(got, `${num} / ${den} must have no witness`).toBeUndefined();
        }
      }
    }
    expect(accepted).toBeGreaterThan(800);
  });

  it("refuses aliased dividends (a negative num, p - 1) and dens of 0, p - 1, 2^(D_BITS+1)", async () => {
    for (const [num, den] of [
      [P - 1n, 3n],
      [(P + 1n) / 2n, 7n],
      [5n, 0n],
      [5n, P - 1n],
      [5n, 1n << BigInt(D + 1)],
    ]) {
      await expectNoWitness(small, { num, den }, "RangeCheck");
    }
  });

  it("equals bigint division at the daily-variance widths (73, 132): boundaries and 200 random", async () => {
    const rnd = bigRandom(73);
    const cases: [bigint, bigint][] = [];
    const qMax = (1n << 73n) - 1n;
    const dMax = 1n << 132n;
    for (const den of [1n, 2n, 12n, dMax - 1n, dMax]) {
      for (const q of [0n, 1n, qMax]) cases.push([q * den, den], [q * den + den - 1n, den]);
    }
    for (let k = 0; k < 200; k++) {
      const den = rnd.between(1n, dMax);
      cases.push([rnd.between(0n, qMax) * den + rnd.between(0n, den - 1n), den]);
    }
    for (const [num, den] of cases) expect(await divide(daily, num, den)).toEqual([num / den, num % den]);
    // the quotient bound: 2^73 has no witness
    await expectNoWitness(daily, { num: (qMax + 1n) * 12n, den: 12n }, "RangeCheck");
    await expectNoWitness(daily, { num: (qMax + 1n) * dMax, den: dMax }, "RangeCheck");
    await expectNoWitness(daily, { num: 5n, den: 0n }, "RangeCheck");
  });

  it("equals bigint division at drawdown_7d's widths (32, 64) and refuses a quotient of 2^32", async () => {
    const rnd = bigRandom(32);
    for (let k = 0; k < 200; k++) {
      const high = rnd.between(1n, (1n << 64n) - 1n);
      const close = rnd.between(1n, high);
      const num = (high - close) << 32n;
      expect(await divide(drawdown, num, high)).toEqual([num / high, num % high]);
    }
    await expectNoWitness(drawdown, { num: 5n << 32n, den: 5n }, "RangeCheck");
  });

  describe("forged quotients and remainders (Q_BITS = 4, D_BITS = 3)", () => {
    const forge = (q: bigint, r: bigint, den = 7n) => ({
      "main.q": q,
      "main.r": r,
      ...encode("main.t.qRange.bits", q, Q),
      ...encode("main.t.rRange.bits", r, D),
      "main.t.rBelowDen.in": den - 1n - r,
      ...encode("main.t.rBelowDen.bits", den - 1n - r, D),
    });

    it("rejects (q + 1, r - den): the remainder is negative (booleanity of rRange.bits[0])", async () => {
      // 38 = 7 * 5 + 3; forged 8 * 5 - 2 (den - 1 - r = 6 still fits, so only r's range fails)
      await expectForgeryRejected(smallO1, small, {
        name: "38 / 5 = 8 rem -2",
        from: { num: 38n, den: 5n },
        edits: () => forge(8n, -2n, 5n),
        rejectedBy: ["main.t.rRange.bits[0]"],
      });
    });

    it("rejects (q - 1, r + den): the remainder is not below den (booleanity of rBelowDen.bits[0])", async () => {
      // 36 = 7 * 5 + 1; forged 6 * 5 + 6 (r = 6 fits 3 bits, den - 1 - r = -2 does not)
      await expectForgeryRejected(smallO1, small, {
        name: "36 / 5 = 6 rem 6",
        from: { num: 36n, den: 5n },
        edits: () => forge(6n, 6n, 5n),
        rejectedBy: ["main.t.rBelowDen.bits[0]"],
      });
    });

    it("rejects r = den on an exact multiple (35 / 7 = 4 rem 7: den - 1 - r = -1)", async () => {
      await expectForgeryRejected(smallO1, small, {
        name: "35 / 7 = 4 rem 7",
        from: { num: 35n, den: 7n },
        edits: () => forge(4n, 7n),
        rejectedBy: ["main.t.rBelowDen.bits[0]"],
      });
    });

    it("rejects a quotient of 2^Q_BITS encoded with a digit 16 (booleanity of qRange.bits[0])", async () => {
      // 112 = 16 * 7: the quotient 16 is out of range; from 105 = 15 * 7.
      await expectForgeryRejected(smallO1, small, {
        name: "112 / 7 = 16",
        from: { num: 105n, den: 7n },
        edits: () => ({ "main.num": 112n, ...forge(16n, 0n) }),
        rejectedBy: ["main.t.qRange.bits[0]"],
      });
    });

    it("rejects a wrong quotient with a consistent decomposition (num = q * den + r)", async () => {
      await expectForgeryRejected(smallO1, small, {
        name: "38 / 7 = 6 rem 3",
        from: { num: 38n, den: 7n },
        edits: () => forge(6n, 3n),
        rejectedBy: ["main.num", "main.den", "main.q", "main.r"],
      });
    });
  });
});

describe("FloorDivOrZero(Q_BITS, D_BITS)", () => {
  let small: TestCircuit;
  let smallO1: TestCircuit;
  let volume: TestCircuit;

  beforeAll(async () => {
    [small, smallO1, volume] = await Promise.all([
      load("FloorDivOrZero(4, 3)", "FloorDivOrZeroSmall"),
      load("FloorDivOrZero(4, 3)", "FloorDivOrZeroSmall", 1),
      // volume_ratio_7d in WindowFeatures
      load("FloorDivOrZero(39, 87)", "FloorDivOrZeroVolume"),
    ]);
  });

  it("pins the --O2 cost: FloorDiv + 3 (IsZero, and num * (1 - z))", () => {
    expect(small.constraints).toBe(4 + 2 * 3 + 1 + 3);
    expect(volume.constraints).toBe(39 + 2 * 87 + 1 + 3);
  });

  it("gives 0 for den = 0 whatever num, and FloorDiv's result otherwise (num in [0, 140], den in [0, 8])", async () => {
    for (let den = 0n; den <= 8n; den++) {
      for (let num = 0n; num <= 140n; num++) {
        const got = await divide(small, num, den);
        if (den === 0n) expect(got).toEqual([0n, 0n]);
        else if (num / den < 16n) expect(got).toEqual([num / den, num % den]);
        else expect(got).toBeUndefined();
      }
    }
    expect(await divide(small, P - 1n, 0n)).toEqual([0n, 0n]);
  });

  it("equals volume_ratio_7d's v_84 m7 F / V on 200 random volumes, and refuses a ratio of 128", async () => {
    const rnd = bigRandom(39);
    for (let k = 0; k < 200; k++) {
      const sum = rnd.between(1n, 84n * ((1n << 80n) - 1n));
      const last = rnd.between(0n, sum < 1n << 80n ? sum : (1n << 80n) - 1n);
      const num = last * rnd.between(63n, 84n) * (1n << 32n);
      expect(await divide(volume, num, sum)).toEqual([num / sum, num % sum]);
    }
    expect(await divide(volume, 0n, 0n)).toEqual([0n, 0n]);
    await expectNoWitness(volume, { num: 128n << 32n, den: 1n }, "RangeCheck");
  });

  it("rejects a zero flag forged for a nonzero den, which would make q = 0 (IsZero's in * out = 0)", async () => {
    // 38 / 7 forged as 'den = 0': z = 1, kept = 0, FloorDiv(0, 8) = (0, 0) with den - 1 - r = 7.
    await expectForgeryRejected(smallO1, small, {
      name: "38 / 7 = 0 (z = 1)",
      from: { num: 38n, den: 7n },
      edits: () => ({
        "main.t.isZero.inv": 0n,
        "main.t.isZero.out": 1n,
        "main.t.kept": 0n,
        "main.t.div.den": 8n,
        "main.q": 0n,
        "main.r": 0n,
        ...encode("main.t.div.qRange.bits", 0n, 4),
        ...encode("main.t.div.rRange.bits", 0n, 3),
        "main.t.div.rBelowDen.in": 7n,
        ...encode("main.t.div.rBelowDen.bits", 7n, 3),
      }),
      rejectedBy: ["main.den", "main.t.isZero.out"],
    });
  });
});
