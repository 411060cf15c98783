/**
 * circuits/lib/fixed-point.circom: FloorShift, CeilShift, RescaleRelu, FloorShiftToRange,
 * CeilShiftToRange against models/fixed-point.ts (floorShift, ceilShift, relu).
 */
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  bigRandom,
  FIELD_MODULUS as P,
  fromField,
  loadCircuit,
  signalRange,
  unaryWrapper,
  type TestCircuit,
} from "../helpers/circuits";
import { expectForgeryRejected, expectNoWitness } from "../helpers/circuits/expect";
import { ceilShift, floorShift, relu } from "../../models/fixed-point";
import { loadQuantizedModel } from "../../models/quantized-model";

const ROOT = join(__dirname, "../..");
const INCLUDES = ["fixed-point.circom"];
const model = loadQuantizedModel(join(ROOT, "models/btc-usdt-2h.quantized.json"));

function load(call: string, name: string, O: 0 | 1 | 2): Promise<TestCircuit> {
  return loadCircuit(unaryWrapper(INCLUDES, call), name, { O });
}

/** The integer value of `main.out` (a field element standing for a signed integer). */
async function outOf(c: TestCircuit, v: bigint): Promise<bigint> {
  const w = await c.witness({ in: v });
  return fromField(c.read(w, "main.out"));
}

/** 0, +-1, the range ends, multiples of 2^S and their neighbours, and 200 seeded random values. */
function probeValues(lo: bigint, hi: bigint, s: number, seed: number): bigint[] {
  const m = 1n << BigInt(s);
  const vs = [lo, lo + 1n, -1n, 0n, 1n, hi - 1n, hi, m - 1n, m, m + 1n, -m - 1n, -m, -m + 1n];
  for (const k of [2n, 3n, 1000n, -2n, -3n, -1000n]) vs.push(k * m - 1n, k * m, k * m + 1n);
  const rnd = bigRandom(seed);
  for (let k = 0; k < 200; k++) vs.push(rnd.between(lo, hi));
  return vs.filter((v) => v >= lo && v <= hi);
}

describe("FloorShift / RescaleRelu, exhaustive at N = 8 and N = 1", () => {
  let bundle: TestCircuit;
  let tiny: TestCircuit;
  const SHIFTS = [0, 3, 7];

  beforeAll(async () => {
    const body = SHIFTS.map(
      (s) =>
        `    component f${s} = FloorShift(8, ${s}); f${s}.in <== in; floor${s} <== f${s}.out;\n` +
        `    component r${s} = RescaleRelu(8, ${s}); r${s}.in <== in; relu${s} <== r${s}.out;`,
    );
    const outs = SHIFTS.flatMap((s) => [`floor${s}`, `relu${s}`]);
    const bundleSource = [
      "pragma circom 2.1.0;",
      'include "fixed-point.circom";',
      "template Bundle() {",
      "    signal input in;",
      ...outs.map((o) => `    signal output ${o};`),
      ...body,
      "}",
      "component main {public [in]} = Bundle();",
      "",
    ].join("\n");
    const tinySource = [
      "pragma circom 2.1.0;",
      'include "fixed-point.circom";',
      "template Tiny() {",
      "    signal input in;",
      "    signal output floor0, relu0;",
      "    component f = FloorShift(1, 0); f.in <== in; floor0 <== f.out;",
      "    component r = RescaleRelu(1, 0); r.in <== in; relu0 <== r.out;",
      "}",
      "component main {public [in]} = Tiny();",
      "",
    ].join("\n");
    [bundle, tiny] = await Promise.all([
      loadCircuit(bundleSource, "FixedPointBundle8"),
      loadCircuit(tinySource, "FixedPointBundle1"),
    ]);
  });

  it("equals floorShift and relu(floorShift) on all of [-128, 127] for S = 0, 3, 7", async () => {
    for (let v = -128n; v <= 127n; v++) {
      const w = await bundle.witness({ in: v });
      for (const s of SHIFTS) {
        expect(fromField(bundle.read(w, `main.floor${s}`)), `floor(${v} / 2^${s})`).toBe(floorShift(v, s));
        expect(fromField(bundle.read(w, `main.relu${s}`)), `relu(${v} >> ${s})`).toBe(relu(floorShift(v, s)));
      }
    }
  });

  it("has no witness for -129, 128 and aliased field elements", async () => {
    for (const v of [-129n, 128n, -130n, 129n, P - 129n, (P + 1n) / 2n, 1n << 200n]) {
      await expectNoWitness(bundle, { in: v }, "RangeCheck");
    }
  });

  it("handles N = 1 (in in {-1, 0})", async () => {
    for (const v of [-1n, 0n]) {
      const w = await tiny.witness({ in: v });
      expect(fromField(tiny.read(w, "main.floor0"))).toBe(v);
      expect(fromField(tiny.read(w, "main.relu0"))).toBe(0n);
    }
    await expectNoWitness(tiny, { in: 1n });
    await expectNoWitness(tiny, { in: -2n });
  });
});

describe("FloorShift(N, S)", () => {
  let o1: TestCircuit;
  let o2: TestCircuit;
  let last: TestCircuit;
  let hidden: TestCircuit;
  // The shipped model's layers: hidden accumulators of up to 67 bits shifted by 24, and a linear output
  // accumulator of 75 bits with shift 0 (FloorShift(75, 0) is then a pure range check).
  const L0 = model.layers[0];
  const L1 = model.layers[1];
  const hiddenBits = Math.max(...L0.accumulators.map((a) => a.bits));

  beforeAll(async () => {
    [o1, o2, last, hidden] = await Promise.all([
      load("FloorShift(8, 3)", "FloorShift8", 1),
      load("FloorShift(8, 3)", "FloorShift8", 2),
      load(`FloorShift(${L1.accumulators[0].bits}, ${L1.shift})`, "FloorShiftLast", 2),
      load(`FloorShift(${hiddenBits}, ${L0.shift})`, "FloorShiftHidden", 2),
    ]);
  });

  it("pins the --O2 cost: N (N booleanity; the sum and the output are linear and fold)", () => {
    expect(o2.constraints).toBe(8);
    expect(hidden.constraints).toBe(hiddenBits);
    // S = 0 is a pure range check: the two linear constraints combine into out = in, which mentions only
    // the wrapper's public signals and cannot be eliminated, so this wrapper measures N + 1. Inside a
    // circuit, where in is a linear combination of other signals, it folds to N.
    expect(last.constraints).toBe(L1.accumulators[0].bits + 1);
    // --O1: N booleanity + sum + (in + 2^(N-1)) + output definition = N + 3.
    expect(o1.constraints).toBe(11);
  });

  it(`equals floorShift on boundaries and 200 random values, N = ${hiddenBits}, S = ${L0.shift}`, async () => {
    const half = 1n << BigInt(hiddenBits - 1);
    const iv = L0.accumulators.find((a) => a.bits === hiddenBits) ?? L0.accumulators[0];
    for (const v of [iv.min, iv.max, ...probeValues(-half, half - 1n, L0.shift, 1)]) {
      expect(await outOf(hidden, v), `floor(${v} / 2^${L0.shift})`).toBe(floorShift(v, L0.shift));
    }
    for (const v of [half, -half - 1n, P - half - 1n, half + P * 0n + (1n << 100n)]) {
      await expectNoWitness(hidden, { in: v }, "RangeCheck");
    }
  });

  it(`is the identity with a range check for the output layer (N = ${L1.accumulators[0].bits}, S = 0)`, async () => {
    const n = L1.accumulators[0].bits;
    const half = 1n << BigInt(n - 1);
    const iv = L1.accumulators[0];
    for (const v of [iv.min, iv.max, ...probeValues(-half, half - 1n, 0, 2)]) {
      expect(await outOf(last, v)).toBe(v);
    }
    await expectNoWitness(last, { in: half });
    await expectNoWitness(last, { in: -half - 1n });
    // v + p is v.
    expect(await outOf(last, iv.min + P)).toBe(iv.min);
  });

  describe("forgeries (N = 8, S = 3)", () => {
    const bits = (i: number) => `main.t.d.bits[${i}]`;
    const outConstraint = ["main.out", ...signalRange("main.t.d.bits", 3, 8)];

    it("rejects quotient + 1 paid for by a remainder digit of -7 (booleanity of bits[0])", async () => {
      // 21 = 2 * 8 + 5. Start from 29 = 3 * 8 + 5, put in back to 21 and absorb -8 in bit 0.
      await expectForgeryRejected(o1, o2, {
        name: "floor(21 / 8) = 3",
        from: { in: 29n },
        edits: (r) => ({ "main.in": 21n, "main.t.d.rc.in": 21n + 128n, [bits(0)]: r(bits(0)) - 8n }),
        rejectedBy: [bits(0)],
      });
    });

    it("rejects quotient - 1 with the remainder r + 8 >= 2^S (digit 3 at bit 2)", async () => {
      // From 13 = 1 * 8 + 5 (bit 2 of 13 + 128 is 1), in back to 21: bit 2 becomes 3.
      await expectForgeryRejected(o1, o2, {
        name: "floor(21 / 8) = 1, remainder 13",
        from: { in: 13n },
        edits: (r) => ({ "main.in": 21n, "main.t.d.rc.in": 21n + 128n, [bits(2)]: r(bits(2)) + 2n }),
        rejectedBy: [bits(2)],
      });
    });

    it("rejects rounding a negative value towards zero (booleanity of bits[0])", async () => {
      // floor(-21 / 8) = -3; truncation would give -2 = floor(-13 / 8).
      await expectForgeryRejected(o1, o2, {
        name: "floor(-21 / 8) = -2",
        from: { in: -13n },
        edits: (r) => ({ "main.in": -21n, "main.t.d.rc.in": -21n + 128n, [bits(0)]: r(bits(0)) - 8n }),
        rejectedBy: [bits(0)],
      });
    });

    it("rejects a forged output with honest bits (the output's linear constraint)", async () => {
      await expectForgeryRejected(o1, o2, {
        name: "out + 1",
        from: { in: 21n },
        edits: (r) => ({ "main.out": r("main.out") + 1n }),
        rejectedBy: outConstraint,
      });
    });

    it("rejects the aliased input -129 (p - 129) encoded with bit 0 = -1", async () => {
      await expectForgeryRejected(o1, o2, {
        name: "in = -129",
        from: { in: -128n },
        edits: () => ({ "main.in": -129n, "main.t.d.rc.in": -1n, [bits(0)]: -1n }),
        rejectedBy: [bits(0)],
      });
    });
  });
});

describe("CeilShift(N, S)", () => {
  let o1: TestCircuit;
  let o2: TestCircuit;
  let wide: TestCircuit;

  beforeAll(async () => {
    [o1, o2, wide] = await Promise.all([
      load("CeilShift(8, 3)", "CeilShift8", 1),
      load("CeilShift(8, 3)", "CeilShift8", 2),
      // The full-width alternative for the policy's mmRaw: 104-bit numerator, shift 85.
      load("CeilShift(105, 85)", "CeilShift105", 2),
    ]);
  });

  it("pins the --O2 cost: N (FloorShift(N, S) of in + 2^S - 1)", () => {
    expect(o2.constraints).toBe(8);
    expect(wide.constraints).toBe(105);
  });

  it("equals ceilShift on all of its range [-2^7 - 7, 2^7 - 8] and refuses the neighbours", async () => {
    for (let v = -138n; v <= 123n; v++) {
      if (v >= -135n && v <= 120n) {
        expect(await outOf(o2, v), `ceil(${v} / 8)`).toBe(ceilShift(v, 3));
      } else {
        await expectNoWitness(o2, { in: v }, "RangeCheck");
      }
    }
  });

  it("equals ceilShift at N = 105, S = 85 on boundaries and 200 random values", async () => {
    const half = 1n << 104n;
    const k = (1n << 85n) - 1n;
    for (const v of probeValues(-half - k, half - 1n - k, 85, 3)) {
      expect(await outOf(wide, v)).toBe(ceilShift(v, 85));
    }
    await expectNoWitness(wide, { in: half - k });
    await expectNoWitness(wide, { in: -half - k - 1n });
  });

  describe("forgeries (N = 8, S = 3)", () => {
    const bits = (i: number) => `main.t.f.d.bits[${i}]`;
    const fix = (v: bigint) => ({ "main.in": v, "main.t.f.in": v + 7n, "main.t.f.d.rc.in": v + 7n + 128n });

    it("rejects ceil - 1 (the floor) paid for by a digit 8 (booleanity of bits[0])", async () => {
      // ceil(21 / 8) = 3; from 13 (ceil 2): 13 + 7 + 128 = 148 has bit 0 = 0, which becomes 8.
      await expectForgeryRejected(o1, o2, {
        name: "ceil(21 / 8) = 2",
        from: { in: 13n },
        edits: (r) => ({ ...fix(21n), [bits(0)]: r(bits(0)) + 8n }),
        rejectedBy: [bits(0)],
      });
    });

    it("rejects ceil + 1 on an exact multiple (booleanity of bits[0])", async () => {
      // ceil(16 / 8) = 2; from 24 (ceil 3).
      await expectForgeryRejected(o1, o2, {
        name: "ceil(16 / 8) = 3",
        from: { in: 24n },
        edits: (r) => ({ ...fix(16n), [bits(0)]: r(bits(0)) - 8n }),
        rejectedBy: [bits(0)],
      });
    });

    it("rejects a forged output with honest bits (the output's linear constraint)", async () => {
      await expectForgeryRejected(o1, o2, {
        name: "out + 1",
        from: { in: 21n },
        edits: (r) => ({ "main.out": r("main.out") + 1n }),
        rejectedBy: ["main.out", ...signalRange("main.t.f.d.bits", 3, 8)],
      });
    });
  });
});

describe("RescaleRelu(N, S)", () => {
  let o1: TestCircuit;
  let o2: TestCircuit;
  let hidden: TestCircuit;
  const L0 = model.layers[0];
  const hiddenBits = Math.max(...L0.accumulators.map((a) => a.bits));

  beforeAll(async () => {
    [o1, o2, hidden] = await Promise.all([
      load("RescaleRelu(8, 3)", "RescaleRelu8", 1),
      load("RescaleRelu(8, 3)", "RescaleRelu8", 2),
      load(`RescaleRelu(${hiddenBits}, ${L0.shift})`, "RescaleReluHidden", 2),
    ]);
  });

  it("pins the --O2 cost: N + 1 (N booleanity + 1 product; the sum folds)", () => {
    expect(o2.constraints).toBe(9);
    expect(hidden.constraints).toBe(hiddenBits + 1);
    // --O1: N booleanity + sum + (in + 2^(N-1)) + product = N + 3.
    expect(o1.constraints).toBe(11);
  });

  it(`equals relu(floorShift) for every hidden neuron's interval ends and 200 random values (N = ${hiddenBits}, S = ${L0.shift})`, async () => {
    const half = 1n << BigInt(hiddenBits - 1);
    const ends = L0.accumulators.flatMap((a) => [a.min, a.max]);
    for (const v of [...ends, ...probeValues(-half, half - 1n, L0.shift, 4)]) {
      expect(await outOf(hidden, v), `relu(${v} >> ${L0.shift})`).toBe(relu(floorShift(v, L0.shift)));
    }
    for (const v of [half, -half - 1n, P - half - 1n, (P + 1n) / 2n, half + (1n << 200n)]) {
      await expectNoWitness(hidden, { in: v }, "RangeCheck");
    }
  });

  describe("forgeries (N = 8, S = 3)", () => {
    const bits = (i: number) => `main.t.d.bits[${i}]`;
    const product = ["main.out", ...signalRange("main.t.d.bits", 3, 8)];
    const sum = ["main.t.d.rc.in", ...signalRange("main.t.d.bits", 0, 8)];

    it("rejects a negative value passed through (out = floor(in / 2^S) < 0): the product", async () => {
      await expectForgeryRejected(o1, o2, {
        name: "relu(-21 >> 3) = -3",
        from: { in: -21n },
        edits: () => ({ "main.out": -3n }),
        rejectedBy: product,
      });
    });

    it("rejects a flipped sign bit with the digits made consistent (booleanity of bits[0])", async () => {
      // in = -21: in + 128 = 107 has sign 0. From 107 (in + 128 = 235, sign 1, out 13), put in back to
      // -21 and absorb -128 in bit 0: every constraint but bit 0's booleanity holds, out = 13.
      await expectForgeryRejected(o1, o2, {
        name: "relu(-21 >> 3) = 13",
        from: { in: 107n },
        edits: (r) => ({ "main.in": -21n, "main.t.d.rc.in": 107n, [bits(0)]: r(bits(0)) - 128n }),
        rejectedBy: [bits(0)],
      });
    });

    it("rejects a flipped sign bit alone, output made consistent with it (the sum)", async () => {
      await expectForgeryRejected(o1, o2, {
        name: "sign of -21 set to 1",
        from: { in: -21n },
        edits: () => ({ [bits(7)]: 1n, "main.out": 13n }),
        rejectedBy: sum,
      });
    });

    it("rejects out + 1 with the bits edited consistently (booleanity of bits[0])", async () => {
      // relu(21 >> 3) = 2; from 29 (out 3), in back to 21, bit 0 absorbs -8.
      await expectForgeryRejected(o1, o2, {
        name: "relu(21 >> 3) = 3",
        from: { in: 29n },
        edits: (r) => ({ "main.in": 21n, "main.t.d.rc.in": 149n, [bits(0)]: r(bits(0)) - 8n }),
        rejectedBy: [bits(0)],
      });
    });

    it("rejects out + 1 with honest bits (the product)", async () => {
      await expectForgeryRejected(o1, o2, {
        name: "out + 1",
        from: { in: 21n },
        edits: (r) => ({ "main.out": r("main.out") + 1n }),
        rejectedBy: product,
      });
    });

    it("rejects a positive output for a negative input outside the range (in = 128 - p, digit 2)", async () => {
      // 128 is out of range; from 127, bit 0 absorbs +1 (becomes 2); out stays 15, true value 16.
      await expectForgeryRejected(o1, o2, {
        name: "in = 128",
        from: { in: 127n },
        edits: (r) => ({ "main.in": 128n, "main.t.d.rc.in": 256n, [bits(0)]: r(bits(0)) + 1n }),
        rejectedBy: [bits(0)],
      });
    });
  });
});

describe("FloorShiftToRange / CeilShiftToRange", () => {
  let floorO2: TestCircuit;
  let ceilO1: TestCircuit;
  let ceilO2: TestCircuit;
  let policy: TestCircuit;
  const mmRaw = model.policy.intervals.mmRaw;

  beforeAll(async () => {
    [floorO2, ceilO1, ceilO2, policy] = await Promise.all([
      load("FloorShiftToRange(3, -5, 4)", "FloorShiftToRange", 2),
      load("CeilShiftToRange(3, -5, 4)", "CeilShiftToRange", 1),
      load("CeilShiftToRange(3, -5, 4)", "CeilShiftToRange", 2),
      // The shipped policy's mmRaw: quotient interval [-150502, 193795] (19 span bits), shift 85 - 4.
      load(`CeilShiftToRange(81, ${mmRaw.min}, 19)`, "CeilShiftToRangePolicy", 2),
    ]);
  });

  it("pins the --O2 cost: S + Q_BITS", () => {
    expect(floorO2.constraints).toBe(3 + 4);
    expect(ceilO2.constraints).toBe(3 + 4);
    expect(policy.constraints).toBe(81 + 19);
  });

  it("accepts exactly the inputs whose quotient is in [Q_MIN, Q_MIN + 2^Q_BITS) = [-5, 10] (exhaustive)", async () => {
    for (let v = -50n; v <= 95n; v++) {
      const f = floorShift(v, 3);
      if (f >= -5n && f <= 10n) expect(await outOf(floorO2, v), `floor(${v} / 8)`).toBe(f);
      else await expectNoWitness(floorO2, { in: v }, "RangeCheck");
      const c = ceilShift(v, 3);
      if (c >= -5n && c <= 10n) expect(await outOf(ceilO2, v), `ceil(${v} / 8)`).toBe(c);
      else await expectNoWitness(ceilO2, { in: v }, "RangeCheck");
    }
    for (const v of [P - 48n, (P + 1n) / 2n]) await expectNoWitness(ceilO2, { in: v });
  });

  it("equals ceilShift(x, 81) on mmRaw's quotient boundaries and 200 random values", async () => {
    const s = 81;
    const lo = mmRaw.min;
    const hi = mmRaw.min + (1n << 19n) - 1n;
    // ceil(x / 2^s) = q exactly for x in ((q - 1) 2^s, q 2^s].
    const vs: bigint[] = [];
    for (const q of [lo, lo + 1n, -1n, 0n, 1n, 50n, 5000n, mmRaw.max, hi]) {
      vs.push(((q - 1n) << BigInt(s)) + 1n, (q << BigInt(s)) - 1n, q << BigInt(s));
    }
    const rnd = bigRandom(5);
    for (let k = 0; k < 200; k++) vs.push(rnd.between((lo - 1n) << 81n, hi << 81n));
    for (const v of vs) {
      const q = ceilShift(v, s);
      if (q < lo || q > hi) continue;
      expect(await outOf(policy, v)).toBe(q);
    }
    await expectNoWitness(policy, { in: (lo - 1n) << 81n });
    await expectNoWitness(policy, { in: (hi << 81n) + 1n });
  });

  describe("forgeries (S = 3, Q_MIN = -5, Q_BITS = 4)", () => {
    const bits = (i: number) => `main.t.f.d.bits[${i}]`;
    // in -> f.in = in + 7 -> f.d.in = in + 7 + 5 * 8
    const fix = (v: bigint) => ({ "main.in": v, "main.t.f.in": v + 7n, "main.t.f.d.in": v + 47n });

    it("rejects a wrong quotient (ceil - 1) paid for by a digit 8 (booleanity of bits[0])", async () => {
      // ceil(21 / 8) = 3; from 13: 13 + 47 = 60 has bit 0 = 0.
      await expectForgeryRejected(ceilO1, ceilO2, {
        name: "ceil(21 / 8) = 2",
        from: { in: 13n },
        edits: (r) => ({ ...fix(21n), [bits(0)]: r(bits(0)) + 8n }),
        rejectedBy: [bits(0)],
      });
    });

    it("rejects a remainder out of range (r + 8, quotient - 1: digit 3 at bit 2)", async () => {
      await expectForgeryRejected(ceilO1, ceilO2, {
        name: "ceil(21 / 8) = 2, remainder 12",
        from: { in: 13n },
        edits: (r) => ({ ...fix(21n), [bits(2)]: r(bits(2)) + 2n }),
        rejectedBy: [bits(2)],
      });
    });

    it("rejects a quotient below Q_MIN (ceil(-48 / 8) = -6) encoded as Q_MIN with a digit -7", async () => {
      // From -40 (ceil -5 = Q_MIN, -40 + 47 = 7 has bit 0 = 1).
      await expectForgeryRejected(ceilO1, ceilO2, {
        name: "ceil(-48 / 8) = -5",
        from: { in: -40n },
        edits: (r) => ({ ...fix(-48n), [bits(0)]: r(bits(0)) - 8n }),
        rejectedBy: [bits(0)],
      });
    });

    it("rejects a forged output with honest bits (the output's linear constraint)", async () => {
      await expectForgeryRejected(ceilO1, ceilO2, {
        name: "out + 1",
        from: { in: 21n },
        edits: (r) => ({ "main.out": r("main.out") + 1n }),
        rejectedBy: ["main.out", ...signalRange("main.t.f.d.bits", 3, 7)],
      });
    });
  });
});
