/**
 * circuits/lib/range.circom: RangeCheck, BoundedInput, SignedRangeCheck.
 * Exhaustive on small widths, boundaries and seeded random values on production widths, constraint-count
 * pins, out-of-range inputs (including aliased field elements) and forged bit decompositions.
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
  bigRandom,
  bitEdits,
  bitsOf,
  FIELD_MODULUS as P,
  loadCircuit,
  signalRange,
  toField,
  unaryWrapper,
  type TestCircuit,
} from "../helpers/circuits";
import { expectForgeryRejected, expectNoWitness } from "../helpers/circuits/expect";
import { loadQuantizedModel } from "../../models/quantized-model";
import { join } from "node:path";

const ROOT = join(__dirname, "../..");
const INCLUDES = ["range.circom"];

function load(call: string, name: string, O: 0 | 1 | 2): Promise<TestCircuit> {
  return loadCircuit(unaryWrapper(INCLUDES, call, false), name, { O });
}

/** The bits a witness holds for `main.t.bits`. */
function readBits(c: TestCircuit, w: readonly bigint[], n: number): bigint[] {
  return signalRange("main.t.bits", 0, n).map((s) => c.read(w, s));
}

describe("RangeCheck(N)", () => {
  let rc8: TestCircuit;
  let rc8o1: TestCircuit;
  let rc3o1: TestCircuit;
  let rc64: TestCircuit;
  let rc250: TestCircuit;

  beforeAll(async () => {
    [rc8, rc8o1, rc3o1, rc64, rc250] = await Promise.all([
      load("RangeCheck(8)", "RangeCheck8", 2),
      load("RangeCheck(8)", "RangeCheck8", 1),
      load("RangeCheck(3)", "RangeCheck3", 1),
      load("RangeCheck(64)", "RangeCheck64", 2),
      load("RangeCheck(250)", "RangeCheck250", 2),
    ]);
  });

  it("pins the --O2 cost: N booleanity constraints (the linear sum substitutes one bit away)", () => {
    // RangeCheck(N): N x b*(b-1) = 0 + 1 linear sum; --O2 eliminates the sum by solving it for a bit.
    expect(rc8.constraints).toBe(8);
    expect(rc64.constraints).toBe(64);
    expect(rc250.constraints).toBe(250);
    // --O1 keeps the linear sum: N + 1.
    expect(rc8o1.constraints).toBe(9);
  });

  it("accepts exactly [0, 2^8) with the binary digits as bits (exhaustive on [-3, 259])", async () => {
    for (let v = -3n; v <= 259n; v++) {
      if (v >= 0n && v < 256n) {
        const w = await rc8o1.witness({ in: v });
        expect(readBits(rc8o1, w, 8)).toEqual(bitsOf(v, 8));
        expect(rc8o1.violated(w)).toEqual([]);
      } else {
        await expectNoWitness(rc8o1, { in: v }, "RangeCheck");
      }
    }
  });

  it("refuses aliased field elements and treats v + p as v", async () => {
    for (const v of [P - 1n, (P - 1n) / 2n, (P + 1n) / 2n, 256n + P, P - 256n]) {
      await expectNoWitness(rc8, { in: v }, "RangeCheck");
    }
    // v + p is the same field element as v: the generator reduces inputs mod p.
    const w = await rc8o1.witness({ in: 5n + P });
    expect(rc8o1.read(w, "main.in")).toBe(5n);
  });

  it("accepts the boundaries of RangeCheck(250) and refuses 2^250 and p - 1", async () => {
    for (const v of [0n, 1n, (1n << 250n) - 1n, 1n << 249n]) {
      const w = await rc250.witness({ in: v });
      expect(rc250.violated(w)).toEqual([]);
    }
    for (const v of [1n << 250n, (1n << 250n) + 1n, P - 1n, P - (1n << 250n)]) {
      await expectNoWitness(rc250, { in: v }, "RangeCheck");
    }
  });

  it("accepts 200 seeded random 64-bit values and refuses 2^64 + r", async () => {
    const rnd = bigRandom(64);
    for (let k = 0; k < 200; k++) {
      const v = rnd.bits(64);
      const w = await rc64.witness({ in: v });
      expect(rc64.violated(w)).toEqual([]);
    }
    for (let k = 0; k < 5; k++) await expectNoWitness(rc64, { in: (1n << 64n) + rnd.bits(64) });
  });

  it("has no satisfying witness for an out-of-range input: every boolean bit vector fails the sum", async () => {
    // Each bit is pinned to {0, 1} by its own constraint, so enumerating the 2^3 boolean vectors
    // enumerates every candidate witness of RangeCheck(3).
    const honest = await rc3o1.witness({ in: 0n });
    for (const v of [8n, 9n, 1n << 200n, P - 1n, P - 8n]) {
      for (let bits = 0n; bits < 8n; bits++) {
        const w = rc3o1.edit(honest, { "main.in": v, ...bitEdits("main.t.bits", bitsOf(bits, 3)) });
        const bad = rc3o1.violatedSignals(w);
        expect(bad).toEqual([["main.in", ...signalRange("main.t.bits", 0, 3)].sort()]);
      }
    }
  });

  describe("forged decompositions", () => {
    it("rejects in = 2^8 encoded with a digit 2 (booleanity of bits[0])", async () => {
      await expectForgeryRejected(rc8o1, rc8, {
        name: "in = 256 from 255 with bits[0] = 2",
        from: { in: 255n },
        edits: () => ({ "main.in": 256n, "main.t.bits[0]": 2n }),
        rejectedBy: ["main.t.bits[0]"],
      });
    });

    it("rejects the aliased in = p - 1 ('-1') encoded with bits[0] = -1 (booleanity of bits[0])", async () => {
      await expectForgeryRejected(rc8o1, rc8, {
        name: "in = -1 from 0 with bits[0] = p - 1",
        from: { in: 0n },
        edits: () => ({ "main.in": -1n, "main.t.bits[0]": -1n }),
        rejectedBy: ["main.t.bits[0]"],
      });
    });

    it("rejects a boolean bit vector that does not sum to in (the sum constraint)", async () => {
      await expectForgeryRejected(rc8o1, rc8, {
        name: "bits of 7 for in = 5",
        from: { in: 5n },
        edits: () => bitEdits("main.t.bits", bitsOf(7n, 8)),
        rejectedBy: ["main.in", ...signalRange("main.t.bits", 0, 8)],
      });
    });
  });
});

describe("BoundedInput(MIN, N)", () => {
  let small: TestCircuit;
  let smallO1: TestCircuit;
  let feature: TestCircuit;
  const model = loadQuantizedModel(join(ROOT, "models/btc-usdt-2h.quantized.json"));
  // The signed feature of the shipped model: [-2^36, 2^36 - 1], rangeBits 37.
  const f = model.features.find((x) => x.min < 0n) ?? model.features[0];

  beforeAll(async () => {
    [small, smallO1, feature] = await Promise.all([
      load("BoundedInput(-5, 4)", "BoundedInputSmall", 2),
      load("BoundedInput(-5, 4)", "BoundedInputSmall", 1),
      load(`BoundedInput(${f.min}, ${f.rangeBits})`, "BoundedInputFeature", 2),
    ]);
  });

  it("pins the --O2 cost: N (RangeCheck(N) on in - MIN)", () => {
    expect(small.constraints).toBe(4);
    expect(feature.constraints).toBe(f.rangeBits);
  });

  it("accepts exactly [MIN, MIN + 2^N - 1] = [-5, 10] (exhaustive on [-9, 14]), bits of in - MIN", async () => {
    for (let v = -9n; v <= 14n; v++) {
      if (v >= -5n && v <= 10n) {
        const w = await smallO1.witness({ in: v });
        expect(signalRange("main.t.bits", 0, 4).map((s) => smallO1.read(w, s))).toEqual(bitsOf(v + 5n, 4));
      } else {
        await expectNoWitness(small, { in: v }, "RangeCheck");
      }
    }
  });

  it(`accepts the declared bounds of feature ${f.name} and 200 random values inside; refuses min - 1, max + 1`, async () => {
    const rnd = bigRandom(37);
    const values = [f.min, f.min + 1n, -1n, 0n, 1n, f.max - 1n, f.max];
    for (let k = 0; k < 200; k++) values.push(rnd.between(f.min, f.max));
    for (const v of values) {
      if (v < f.min || v > f.max) continue;
      const w = await feature.witness({ in: v });
      expect(feature.violated(w)).toEqual([]);
    }
    for (const v of [f.min - 1n, f.max + 1n, toField(f.min - 1n), P - 1n + f.min]) {
      await expectNoWitness(feature, { in: v }, "RangeCheck");
    }
  });

  it("rejects min - 1 encoded with bits[0] = -1 (booleanity of bits[0])", async () => {
    await expectForgeryRejected(smallO1, small, {
      name: "in = -6 from -5 with bits[0] = -1",
      from: { in: -5n },
      edits: () => ({ "main.in": -6n, "main.t.rc.in": -1n, "main.t.bits[0]": -1n }),
      rejectedBy: ["main.t.bits[0]"],
    });
  });
});

describe("SignedRangeCheck(N)", () => {
  let c: TestCircuit;

  beforeAll(async () => {
    c = await load("SignedRangeCheck(8)", "SignedRangeCheck8", 1);
  });

  it("accepts exactly [-128, 127] and its top bit is the sign (exhaustive on [-131, 130])", async () => {
    for (let v = -131n; v <= 130n; v++) {
      if (v >= -128n && v <= 127n) {
        const w = await c.witness({ in: v });
        expect(c.read(w, "main.t.bits[7]")).toBe(v >= 0n ? 1n : 0n);
        expect(signalRange("main.t.bits", 0, 8).map((s) => c.read(w, s))).toEqual(bitsOf(v + 128n, 8));
      } else {
        await expectNoWitness(c, { in: v }, "RangeCheck");
      }
    }
  });
});
