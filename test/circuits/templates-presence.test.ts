/**
 * circuits/lib/presence.circom: Presence ([in != 0], circomlib's IsZero negated) and NonZero (in != 0
 * enforced). Values around 0, aliased field elements, constraint-count pins, and forged hints.
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
  bigRandom,
  FIELD_MODULUS as P,
  loadCircuit,
  unaryWrapper,
  type TestCircuit,
} from "../helpers/circuits";
import { expectForgeryRejected, expectNoWitness } from "../helpers/circuits/expect";

const INCLUDES = ["presence.circom"];

/** 0, small values of both signs, a window's largest close, aliases of -1 and p/2, 50 random. */
function probes(): bigint[] {
  const rnd = bigRandom(11);
  const vs = [0n, 1n, 2n, -1n, -2n, (1n << 64n) - 1n, P - 1n, (P - 1n) / 2n, (P + 1n) / 2n, 0n + P];
  for (let k = 0; k < 50; k++) vs.push(rnd.between(0n, P - 1n));
  return vs;
}

describe("Presence()", () => {
  let o1: TestCircuit;
  let o2: TestCircuit;

  beforeAll(async () => {
    [o1, o2] = await Promise.all([
      loadCircuit(unaryWrapper(INCLUDES, "Presence()"), "Presence", { O: 1 }),
      loadCircuit(unaryWrapper(INCLUDES, "Presence()"), "Presence", { O: 2 }),
    ]);
  });

  it("pins the --O2 cost: 2 (IsZero: out = 1 - in * inv, in * out = 0)", () => {
    expect(o2.constraints).toBe(2);
  });

  it("is 1 exactly for a nonzero field element (0 and p are missing)", async () => {
    for (const v of probes()) {
      const w = await o2.witness({ in: v });
      expect(o2.read(w, "main.out"), `present(${v})`).toBe(v % P === 0n ? 0n : 1n);
      expect(o2.violated(w)).toEqual([]);
    }
  });

  describe("forged hints", () => {
    it("rejects 'missing' for a present bar (inv = 0 makes IsZero's out 1: in * out = 0)", async () => {
      await expectForgeryRejected(o1, o2, {
        name: "present(5) = 0",
        from: { in: 5n },
        edits: () => ({ "main.t.z.inv": 0n, "main.t.z.out": 1n, "main.out": 0n }),
        rejectedBy: ["main.in", "main.t.z.out"],
      });
    });

    it("rejects 'present' for a missing bar (out = 1 - in * inv)", async () => {
      await expectForgeryRejected(o1, o2, {
        name: "present(0) = 1",
        from: { in: 0n },
        edits: () => ({ "main.t.z.inv": 7n, "main.t.z.out": 0n, "main.out": 1n }),
        rejectedBy: ["main.in", "main.t.z.inv", "main.t.z.out"],
      });
    });

    it("rejects a non-boolean flag (inv off by one: out = 1 - in * inv is not 0)", async () => {
      await expectForgeryRejected(o1, o2, {
        name: "present(5) = 1 - 5 * (1/5 + 1)",
        from: { in: 5n },
        edits: (r) => {
          const inv = r("main.t.z.inv") + 1n;
          const z = (1n - 5n * inv) % P;
          return { "main.t.z.inv": inv, "main.t.z.out": z, "main.out": 1n - z };
        },
        rejectedBy: ["main.in", "main.t.z.out"],
      });
    });
  });
});

describe("NonZero()", () => {
  let o1: TestCircuit;
  let o2: TestCircuit;

  beforeAll(async () => {
    [o1, o2] = await Promise.all([
      loadCircuit(unaryWrapper(INCLUDES, "NonZero()", false), "NonZero", { O: 1 }),
      loadCircuit(unaryWrapper(INCLUDES, "NonZero()", false), "NonZero", { O: 2 }),
    ]);
  });

  it("pins the --O2 cost: 1 (in * inv = 1)", () => {
    expect(o2.constraints).toBe(1);
  });

  it("accepts every nonzero field element and refuses 0 and p", async () => {
    for (const v of probes()) {
      if (v % P === 0n) {
        await expectNoWitness(o2, { in: v }, "NonZero");
      } else {
        const w = await o2.witness({ in: v });
        expect(o2.violated(w)).toEqual([]);
      }
    }
  });

  it("rejects in = 0 with any inverse hint (in * inv = 1)", async () => {
    for (const inv of [0n, 1n, 5n, P - 1n]) {
      await expectForgeryRejected(o1, o2, {
        name: `in = 0, inv = ${inv}`,
        from: { in: 5n },
        edits: () => ({ "main.in": 0n, "main.t.inv": inv }),
        rejectedBy: ["main.in", "main.t.inv"],
      });
    }
  });

  it("rejects a wrong inverse of a nonzero in (in * inv = 1)", async () => {
    await expectForgeryRejected(o1, o2, {
      name: "inv(5) + 1",
      from: { in: 5n },
      edits: (r) => ({ "main.t.inv": r("main.t.inv") + 1n }),
      rejectedBy: ["main.in", "main.t.inv"],
    });
  });
});
