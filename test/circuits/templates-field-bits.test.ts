/**
 * circuits/lib/field-bits.circom: FieldLowBits(L), the low L bits of a field element's canonical integer (the
 * signed-update circuit takes the window digest's low 180 bits with it, the adaptive update and the batches 91).
 * At both widths: values computed by `digestSignal` (circuits/statement.ts), boundaries around p and 2^L, the constraint-count pin, and forged
 * witnesses for the hints `out` and `high`: the aliased decomposition of x + p (refused by the canonicity
 * checks, one test for each of its two constraints) and a wrong split (refused by the recomposition).
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
  bigRandom,
  bitEdits,
  bitsOf,
  FIELD_MODULUS as P,
  loadCircuit,
  unaryWrapper,
  type TestCircuit,
} from "../helpers/circuits";
import { expectForgeryRejected } from "../helpers/circuits/expect";
import { ADAPTIVE_UPDATE_PACKING, digestSignal, UPDATE_PACKING } from "../../circuits/statement";

/**
 * The suite at one width L: 180 (the signed update's digest signal) and 91 (the adaptive update's and both batch
 * circuits', `ADAPTIVE_UPDATE_PACKING`).
 */
function fieldLowBitsSuite(L: number): void {
  const H = 254 - L;
  const TWO_L = 1n << BigInt(L);
  /** The two parts of p - 1 the template compares with. */
  const P_HI = (P - 1n) >> BigInt(L);
  const P_LO = (P - 1n) & (TWO_L - 1n);

  const source = () => unaryWrapper(["field-bits.circom"], `FieldLowBits(${L})`);

  /**
   * Every hinted and derived signal of the template for a decomposition (out, high) of `x`, honest or not: the
   * edits that make a witness consistent everywhere except where the decomposition is wrong.
   */
  function assignment(x: bigint, out: bigint, high: bigint): Record<string, bigint> {
    const m = (v: bigint) => ((v % P) + P) % P;
    const top = high === P_HI ? 1n : 0n;
    const slack = m(top * (P_LO - out));
    const diff = m(P_HI - high);
    return {
      "main.in": x,
      "main.out": out,
      "main.t.out": out,
      "main.t.high": high,
      "main.t.lowRange.in": out,
      "main.t.highRange.in": high,
      "main.t.highMax.in": diff,
      "main.t.atTop.isz.in": diff,
      "main.t.lowMax.in": slack,
      ...bitEdits("main.t.lowRange.bits", bitsOf(out & (TWO_L - 1n), L)),
      ...bitEdits("main.t.highRange.bits", bitsOf(high & ((1n << BigInt(H)) - 1n), H)),
      ...bitEdits("main.t.highMax.bits", bitsOf(m(P_HI - high) & ((1n << BigInt(H)) - 1n), H)),
      "main.t.atTop.out": top,
      "main.t.atTop.isz.inv": diff === 0n ? 0n : modInverse(diff),
      "main.t.topSlack": slack,
      ...bitEdits("main.t.lowMax.bits", bitsOf(slack & (TWO_L - 1n), L)),
    };
  }

  /** `edits` without the signals --O1 merged into others (their values equal the kept ones); unknown names throw. */
  function kept(c: TestCircuit, edits: Record<string, bigint>): Record<string, bigint> {
    return Object.fromEntries(
      Object.entries(edits).filter(([name]) => {
        const i = c.index(name);
        if (i === undefined) throw new Error(`no signal ${name}`);
        return i >= 0;
      }),
    );
  }

  function modInverse(v: bigint): bigint {
    let [a, b, x0, x1] = [v, P, 1n, 0n];
    while (b !== 0n) {
      const q = a / b;
      [a, b] = [b, a - q * b];
      [x0, x1] = [x1, x0 - q * x1];
    }
    return ((x0 % P) + P) % P;
  }

  describe(`FieldLowBits(${L})`, () => {
    let o1: TestCircuit;
    let o2: TestCircuit;

    beforeAll(async () => {
      [o1, o2] = await Promise.all([
        loadCircuit(source(), `FieldLowBits${L}`, { O: 1 }),
        loadCircuit(source(), `FieldLowBits${L}`, { O: 2 }),
      ]);
    });

    it(`pins the --O2 cost: 2L + 2(254 - L) + 3 = ${2 * 254 + 3}`, () => {
      // RangeCheck(L) on out and on the top slack, RangeCheck(254 - L) on high and on P_HI - high (N each at --O2),
      // IsEqual (2: the inverse product and in * out = 0), the slack product (1); the recomposition is linear and
      // substituted away.
      expect(o2.constraints).toBe(2 * L + 2 * H + 3);
    });

    it("outputs digestSignal(x) for boundary and seeded random field elements", async () => {
      const rnd = bigRandom(180);
      const values = [0n, 1n, TWO_L - 1n, TWO_L, P - 1n, P - 2n, P_HI << BigInt(L), (1n << 254n) - P - 1n];
      for (let k = 0; k < 20; k++) values.push(rnd.bits(254) % P);
      for (const x of values) {
        const w = await o2.witness({ in: x });
        expect(o2.read(w, "main.out"), `x = ${x}`).toBe(digestSignal(x) & (TWO_L - 1n));
        expect(o2.violated(w)).toEqual([]);
      }
    });

    it("an honest witness is exactly the assignment of the canonical decomposition", async () => {
      const x = 12345n;
      const w = await o1.witness({ in: x });
      const edited = o1.edit(w, kept(o1, assignment(x, x, 0n)));
      expect(edited).toEqual(w);
    });

    describe("forged decompositions", () => {
      it("x + p with high = P_HI (a small x): refused by the top slack's range check", async () => {
        // x + p = P_HI * 2^L + (P_LO + 1 + x): a second decomposition with high = P_HI and out > P_LO.
        const x = 5n;
        const out = P_LO + 1n + x;
        expect(out < TWO_L).toBe(true);
        expect(out + (P_HI << BigInt(L))).toBe(x + P);
        await expectForgeryRejected(o1, o2, {
          name: "aliased decomposition of x + p at the top",
          from: { in: x },
          edits: () => kept(o1, assignment(x, out, P_HI)),
          rejectedBy: ["main.t.topSlack", ...Array.from({ length: L }, (_, i) => `main.t.lowMax.bits[${i}]`)],
        });
      });

      it("x + p with high = P_HI + 1: refused by the range check of P_HI - high", async () => {
        // x = 2^L - (P_LO + 1) + 7 gives x + p = (P_HI + 1) * 2^L + 7.
        const x = TWO_L - (P_LO + 1n) + 7n;
        expect(x + P).toBe(((P_HI + 1n) << BigInt(L)) + 7n);
        await expectForgeryRejected(o1, o2, {
          name: "aliased decomposition of x + p above the top",
          from: { in: x },
          edits: () => kept(o1, assignment(x, 7n, P_HI + 1n)),
          rejectedBy: [
            "main.t.highMax.in",
            ...Array.from({ length: H }, (_, i) => `main.t.highMax.bits[${i}]`),
          ],
        });
      });

      it("another split that does not recompose x: refused by the recomposition", async () => {
        const x = (3n << BigInt(L)) + 99n;
        await expectForgeryRejected(o1, o2, {
          name: "out + 1 with the same high",
          from: { in: x },
          edits: () => kept(o1, assignment(x, 100n, 3n)),
          // in === out + high * 2^L (at --O1 out is the template's output wire main.out).
          rejectedBy: ["main.in", "main.out", "main.t.high"],
        });
      });
    });
  });
}

for (const L of [UPDATE_PACKING.digestBits, ADAPTIVE_UPDATE_PACKING.digestBits]) fieldLowBitsSuite(L);
