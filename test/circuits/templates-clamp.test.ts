/**
 * circuits/lib/clamp.circom: ClampRange, Clamp, ClampStrict against models/fixed-point.ts `clampBig`.
 */
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  bigRandom,
  bitEdits,
  bitsOf,
  FIELD_MODULUS as P,
  fromField,
  loadCircuit,
  unaryWrapper,
  witnessFailure,
  type TestCircuit,
} from "../helpers/circuits";
import { expectForgeryRejected, expectNoWitness } from "../helpers/circuits/expect";
import { clampBig } from "../../models/fixed-point";
import { loadQuantizedModel } from "../../models/quantized-model";

const ROOT = join(__dirname, "../..");
const INCLUDES = ["clamp.circom"];
const model = loadQuantizedModel(join(ROOT, "models/btc-usdt-2h.quantized.json"));

function load(call: string, name: string, O: 0 | 1 | 2 = 2): Promise<TestCircuit> {
  return loadCircuit(unaryWrapper(INCLUDES, call), name, { O });
}

/** The clamped value, or undefined when the witness generator refuses the input. */
async function clampOf(c: TestCircuit, v: bigint): Promise<bigint | undefined> {
  if ((await witnessFailure(c, { in: v })) !== undefined) return undefined;
  const w = await c.witness({ in: v });
  expect(c.violated(w)).toEqual([]);
  return fromField(c.read(w, "main.out"));
}

describe("Clamp(N, MIN, MAX) and ClampStrict", () => {
  let clamp: TestCircuit;
  let clampO1: TestCircuit;
  let strict: TestCircuit;

  beforeAll(async () => {
    [clamp, clampO1, strict] = await Promise.all([
      load("Clamp(8, -5, 10)", "Clamp8"),
      load("Clamp(8, -5, 10)", "Clamp8", 1),
      load("ClampStrict(8, -5, 10)", "ClampStrict8"),
    ]);
  });

  it("pins the --O2 cost: W1 + W2 + 2", () => {
    // d1 = in + 5 in [-123, 132]: W1 = 9; u = max(in, -5) in [-5, 127], d2 = 10 - u in [-117, 15]:
    // W2 = 8; plus the two products. The decompositions' sums fold.
    expect(clamp.constraints).toBe(9 + 8 + 2);
    // ClampStrict adds SignedRangeCheck(8).
    expect(strict.constraints).toBe(9 + 8 + 2 + 8);
  });

  it("equals clampBig on all of [-128, 127]", async () => {
    for (let v = -128n; v <= 127n; v++) {
      expect(await clampOf(clamp, v), `clamp(${v})`).toBe(clampBig(v, -5n, 10n));
      expect(await clampOf(strict, v)).toBe(clampBig(v, -5n, 10n));
    }
  });

  it("Clamp is sound on ANY input: it accepts exactly [-261, 138], always with the right clamp", async () => {
    // Accepted: in + 5 fits 9 signed bits (in in [-261, 250]) and 10 - max(in, -5) fits 8 (in <= 138).
    // Outside the precondition [-128, 127] it still never outputs a wrong value.
    for (let v = -300n; v <= 300n; v++) {
      const expected = v >= -261n && v <= 138n ? clampBig(v, -5n, 10n) : undefined;
      expect(await clampOf(clamp, v), `clamp(${v})`).toBe(expected);
    }
    for (const v of [P - 262n, P - 1000n, (P + 1n) / 2n, 1n << 200n]) {
      await expectNoWitness(clamp, { in: v }, "RangeCheck");
    }
  });

  it("ClampStrict accepts exactly [-2^(N-1), 2^(N-1)) = [-128, 127]", async () => {
    for (const v of [-129n, 128n, -200n, P - 129n]) await expectNoWitness(strict, { in: v }, "RangeCheck");
    expect(await clampOf(strict, -128n)).toBe(-5n);
    expect(await clampOf(strict, 127n)).toBe(10n);
  });

  describe("forgeries", () => {
    const L = (i: number) => `main.t.c.lower.bits[${i}]`;
    const U = (i: number) => `main.t.c.upper.bits[${i}]`;
    /** The upper side's signals for u: d2 = 10 - u, its rc input d2 + 128 and bits. */
    const upper = (u: bigint) => ({
      "main.t.c.u": u,
      "main.t.c.upper.in": 10n - u,
      "main.t.c.upper.rc.in": 10n - u + 128n,
      ...bitEdits("main.t.c.upper.bits", bitsOf(10n - u + 128n, 8)),
    });

    it("rejects a forged lower flag: in = -6 < MIN passed through as -6 (booleanity of lower bit 0)", async () => {
      // Honest: d1 = -1, d1 + 256 = 255 (flag bit 8 = 0), out = -5. Forged: flag 1, bit 0 absorbs
      // -256, u = in = -6, the upper side recomputed for u, out = -6.
      await expectForgeryRejected(clampO1, clamp, {
        name: "clamp(-6) = -6",
        from: { in: -6n },
        edits: () => ({ [L(8)]: 1n, [L(0)]: 1n - 256n, ...upper(-6n), "main.out": -6n }),
        rejectedBy: [L(0)],
      });
    });

    it("rejects a forged lower flag: in = 3 inside [MIN, MAX] clamped to MIN (booleanity of lower bit 0)", async () => {
      // d1 = 8, d1 + 256 = 264 (flag 1, bit 0 = 0). Forged: flag 0, bit 0 = 256, u = -5, out = -5.
      await expectForgeryRejected(clampO1, clamp, {
        name: "clamp(3) = -5",
        from: { in: 3n },
        edits: () => ({ [L(8)]: 0n, [L(0)]: 256n, ...upper(-5n), "main.out": -5n }),
        rejectedBy: [L(0)],
      });
    });

    it("rejects a forged upper flag: in = 11 > MAX passed through as 11 (booleanity of upper bit 0)", async () => {
      // d2 = -1, d2 + 128 = 127 (flag bit 7 = 0), out = 10. Forged: flag 1, bit 0 absorbs -128, out = 11.
      await expectForgeryRejected(clampO1, clamp, {
        name: "clamp(11) = 11",
        from: { in: 11n },
        edits: () => ({ [U(7)]: 1n, [U(0)]: 1n - 128n, "main.out": 11n }),
        rejectedBy: [U(0)],
      });
    });

    it("rejects a forged u with honest flags (the lower product)", async () => {
      await expectForgeryRejected(clampO1, clamp, {
        name: "u = -6 for in = -6",
        from: { in: -6n },
        edits: () => ({ ...upper(-6n), "main.out": -6n }),
        rejectedBy: ["main.in", "main.t.c.u", L(8)],
      });
    });

    it("rejects a forged output with honest flags (the upper product)", async () => {
      await expectForgeryRejected(clampO1, clamp, {
        name: "clamp(11) = 11, flag honest",
        from: { in: 11n },
        edits: () => ({ "main.out": 11n }),
        rejectedBy: ["main.out", "main.t.c.u", U(7)],
      });
    });
  });
});

describe("ClampRange(LO, HI, MIN, MAX)", () => {
  let policyMm: TestCircuit;
  let lowerOnly: TestCircuit;
  let upperOnly: TestCircuit;
  let point: TestCircuit;
  let below: TestCircuit;
  const { mmMinBps, mmMaxBps } = model.policy;
  const mmRaw = model.policy.intervals.mmRaw;
  // What CeilShiftToRange enforces on mmRaw in MarginPolicy: [min, min + 2^19 - 1].
  const LO = mmRaw.min;
  const HI = mmRaw.min + (1n << 19n) - 1n;

  beforeAll(async () => {
    [policyMm, lowerOnly, upperOnly, point, below] = await Promise.all([
      load(`ClampRange(${LO}, ${HI}, ${mmMinBps}, ${mmMaxBps})`, "ClampRangePolicy"),
      load("ClampRange(75, 8266, 100, 10000)", "ClampRangeLowerOnly"),
      load("ClampRange(-128, 127, -200, 10)", "ClampRangeUpperOnly"),
      load("ClampRange(-128, 127, 3, 3)", "ClampRangePoint"),
      load("ClampRange(-10, -6, -5, 10)", "ClampRangeBelow"),
    ]);
  });

  it("pins the --O2 costs", () => {
    // mm clamp: d1 = in - 50 in [-150552, 373735]: W1 = 20; u in [50, 373785], d2 = 5000 - u in
    // [-368785, 4950]: W2 = 20; + 2 products.
    expect(policyMm.constraints).toBe(20 + 20 + 2);
    // im clamp of the shipped policy: MAX = 10000 >= HI = 8266, so only the lower side: d1 in
    // [-25, 8166], W1 = 14, + 1 product.
    expect(lowerOnly.constraints).toBe(14 + 1);
    // MIN = -200 <= LO: only the upper side: d2 = 10 - in in [-117, 138], W2 = 9, + 1 product.
    expect(upperOnly.constraints).toBe(9 + 1);
    // MIN = MAX = 3: d1 = in - 3 in [-131, 124] (W1 = 9), u in [3, 127], d2 in [-124, 0] (W2 = 8).
    expect(point.constraints).toBe(9 + 8 + 2);
  });

  it(`equals clampBig(v, ${mmMinBps}, ${mmMaxBps}) on the mmRaw range ends, clamp edges and 200 random values`, async () => {
    const vs = [LO, HI, mmRaw.max, -1n, 0n, 1n];
    for (const e of [BigInt(mmMinBps), BigInt(mmMaxBps)]) vs.push(e - 1n, e, e + 1n);
    const rnd = bigRandom(7);
    for (let k = 0; k < 200; k++) vs.push(rnd.between(LO, HI));
    for (const v of vs) {
      expect(await clampOf(policyMm, v), `clamp(${v})`).toBe(clampBig(v, BigInt(mmMinBps), BigInt(mmMaxBps)));
    }
  });

  it("handles one-sided, point and always-below clamps", async () => {
    for (const v of [75n, 99n, 100n, 101n, 7500n, 8266n]) {
      expect(await clampOf(lowerOnly, v)).toBe(clampBig(v, 100n, 10000n));
    }
    for (let v = -128n; v <= 127n; v++) {
      expect(await clampOf(upperOnly, v)).toBe(clampBig(v, -200n, 10n));
      expect(await clampOf(point, v)).toBe(3n);
    }
    for (let v = -10n; v <= -6n; v++) expect(await clampOf(below, v)).toBe(-5n);
  });
});
