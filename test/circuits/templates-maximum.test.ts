/**
 * circuits/lib/maximum.circom: Maximum(K, N) against the largest of K integers. Exhaustive on three
 * 3-bit values, 21 closes of 64 bits (drawdown_7d's 7-day high), constraint-count pins, and forged
 * maxima: one that is not the largest, one that is not among the inputs.
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

/** A wrapper `in[K] -> out` around Maximum(K, N), inputs public. */
function maximumSource(k: number, n: number): string {
  return [
    "pragma circom 2.1.0;",
    'include "maximum.circom";',
    "template Wrap() {",
    `    signal input in[${k}];`,
    "    signal output out;",
    `    component t = Maximum(${k}, ${n});`,
    "    t.in <== in;",
    "    out <== t.out;",
    "}",
    "component main {public [in]} = Wrap();",
    "",
  ].join("\n");
}

const largest = (vs: readonly bigint[]): bigint => vs.reduce((a, b) => (b > a ? b : a));

async function maxOf(c: TestCircuit, vs: readonly bigint[]): Promise<bigint | undefined> {
  if ((await witnessFailure(c, { in: vs })) !== undefined) return undefined;
  const w = await c.witness({ in: vs });
  expect(c.violated(w)).toEqual([]);
  return c.read(w, "main.out");
}

describe("Maximum(K, N)", () => {
  let small: TestCircuit;
  let smallO1: TestCircuit;
  let pair: TestCircuit;
  let closes: TestCircuit;

  beforeAll(async () => {
    [small, smallO1, pair, closes] = await Promise.all([
      loadCircuit(maximumSource(3, 3), "Maximum3", { O: 2 }),
      loadCircuit(maximumSource(3, 3), "Maximum3", { O: 1 }),
      loadCircuit(maximumSource(2, 3), "Maximum2", { O: 2 }),
      // drawdown_7d: the closes of bars 84, 80, ..., 4
      loadCircuit(maximumSource(21, 64), "Maximum21"),
    ]);
  });

  it("pins the --O2 cost: K N + K - 1 (a decomposition per value, the membership product chain)", () => {
    expect(small.constraints).toBe(3 * 3 + 2);
    expect(pair.constraints).toBe(2 * 3 + 1);
    expect(closes.constraints).toBe(21 * 64 + 20);
  });

  it("is the largest of every triple of [0, 8), and of every pair", async () => {
    for (let a = 0n; a < 8n; a++) {
      for (let b = 0n; b < 8n; b++) {
        expect(await maxOf(pair, [a, b])).toBe(a > b ? a : b);
        for (let c = 0n; c < 8n; c++) expect(await maxOf(small, [a, b, c])).toBe(largest([a, b, c]));
      }
    }
  });

  it("refuses values 2^N or more apart (8 next to 0, -5 next to 3, aliases of -1 and p/2)", async () => {
    for (const vs of [
      [8n, 0n, 0n],
      [0n, -5n, 3n],
      [P - 1n, 0n, 7n],
      [(P + 1n) / 2n, 1n, 1n],
    ]) {
      await expectNoWitness(small, { in: vs }, "RangeCheck");
    }
    // values less than 2^N apart have their maximum wherever they are (the template never lies)
    expect(await maxOf(small, [8n, 12n, 9n])).toBe(12n);
    expect(await maxOf(small, [0n, -1n, 3n])).toBe(3n);
  });

  it("is the 7-day high of 21 random 64-bit closes, ties and boundary closes included", async () => {
    const rnd = bigRandom(21);
    const top = (1n << 64n) - 1n;
    const sets: bigint[][] = [Array(21).fill(1n), Array(21).fill(top), [top, ...Array(20).fill(1n)]];
    sets.push([...Array(20).fill(0n), top]);
    for (let k = 0; k < 100; k++) {
      const base = rnd.between(1n, top);
      // a random walk: closes near each other, as in a real window, then fully random ones
      sets.push(Array.from({ length: 21 }, () => rnd.between(base / 2n, base)));
      sets.push(Array.from({ length: 21 }, () => rnd.between(0n, top)));
    }
    for (const vs of sets) expect(await maxOf(closes, vs)).toBe(largest(vs));
    await expectNoWitness(closes, { in: [top + 1n, ...Array(20).fill(0n)] }, "RangeCheck");
  });

  describe("forged maxima (K = 3, N = 3; in = [5, 2, 6])", () => {
    const diffs = (out: bigint, vs: readonly bigint[]) =>
      Object.assign(
        { "main.out": out },
        ...vs.map((v, i) => {
          const d = out - v;
          const bits =
            d >= 0n && d < 8n
              ? bitEdits(`main.t.atLeast[${i}].bits`, bitsOf(d, 3))
              : {
                  ...bitEdits(`main.t.atLeast[${i}].bits`, bitsOf(0n, 3)),
                  [`main.t.atLeast[${i}].bits[0]`]: d,
                };
          return { [`main.t.atLeast[${i}].in`]: d, ...bits };
        }),
      ) as Record<string, bigint>;

    it("rejects a max that is not the maximum (5 < 6: booleanity of atLeast[2].bits[0])", async () => {
      await expectForgeryRejected(smallO1, small, {
        name: "max(5, 2, 6) = 5",
        from: { in: [5n, 2n, 6n] },
        edits: () => ({ ...diffs(5n, [5n, 2n, 6n]), "main.t.chain[0]": 0n }),
        rejectedBy: ["main.t.atLeast[2].bits[0]"],
      });
    });

    it("rejects a max that is not one of the inputs (7: the product chain is not 0)", async () => {
      // 7 - 5 = 2, 7 - 2 = 5, 7 - 6 = 1 all fit 3 bits; chain[0] = 2 * 5 = 10, then 10 * 1 != 0
      await expectForgeryRejected(smallO1, small, {
        name: "max(5, 2, 6) = 7",
        from: { in: [5n, 2n, 6n] },
        edits: () => ({ ...diffs(7n, [5n, 2n, 6n]), "main.t.chain[0]": 10n }),
        rejectedBy: ["main.in[2]", "main.out", "main.t.chain[0]"],
      });
    });

    it("rejects a chain product forged to 0 for a max outside the inputs (chain[0] = (out - in[0]) (out - in[1]))", async () => {
      await expectForgeryRejected(smallO1, small, {
        name: "max(5, 2, 6) = 7, chain[0] = 0",
        from: { in: [5n, 2n, 6n] },
        edits: () => ({ ...diffs(7n, [5n, 2n, 6n]), "main.t.chain[0]": 0n }),
        rejectedBy: ["main.in[0]", "main.in[1]", "main.out", "main.t.chain[0]"],
      });
    });
  });
});
