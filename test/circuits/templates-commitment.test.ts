/**
 * circuits/lib/commitment.circom: PoseidonSponge(N) against an independent reference built here from
 * circomlibjs's Poseidon, and against the project's TypeScript twin (crypto/poseidon-sponge.ts).
 */
import { createRequire } from "node:module";
import { beforeAll, describe, expect, it } from "vitest";
import { bigRandom, FIELD_MODULUS as P, loadCircuit, toField, type TestCircuit } from "../helpers/circuits";
import { poseidonSponge } from "../../crypto/poseidon-sponge";

type Poseidon = ((inputs: bigint[]) => unknown) & { F: { toObject(x: unknown): bigint } };
const loadModule = createRequire(__filename);
const { buildPoseidon } = loadModule("circomlibjs") as { buildPoseidon(): Promise<Poseidon> };

const SIZES = [1, 8, 15, 16, 31, 40];

/** The sponge, written out from its definition: h = N; h = Poseidon([h, ...chunk]) per 15 values. */
function referenceSponge(poseidon: Poseidon, values: readonly bigint[]): bigint {
  let h = BigInt(values.length);
  for (let i = 0; i < values.length; i += 15) {
    h = poseidon.F.toObject(poseidon([h, ...values.slice(i, i + 15).map(toField)]));
  }
  return h;
}

function spongeWrapper(sizes: readonly number[]): string {
  return [
    "pragma circom 2.1.0;",
    'include "commitment.circom";',
    "template Wrap() {",
    ...sizes.flatMap((n) => [
      `    signal input in${n}[${n}];`,
      `    signal output h${n};`,
      `    component s${n} = PoseidonSponge(${n});`,
      `    s${n}.in <== in${n};`,
      `    h${n} <== s${n}.out;`,
    ]),
    "}",
    "component main = Wrap();",
    "",
  ].join("\n");
}

describe("PoseidonSponge(N)", () => {
  let poseidon: Poseidon;
  let bundle: TestCircuit;
  let one: TestCircuit;
  let sixteen: TestCircuit;

  beforeAll(async () => {
    [poseidon, bundle, one, sixteen] = await Promise.all([
      buildPoseidon(),
      // Functional checks at --O1 (compiles faster; the same constraints up to linear substitution).
      loadCircuit(spongeWrapper(SIZES), "SpongeBundle", { O: 1 }),
      loadCircuit(spongeWrapper([1]), "Sponge1"),
      loadCircuit(spongeWrapper([16]), "Sponge16"),
    ]);
  });

  it("pins the --O2 cost: the sum of its Poseidon permutations, minus 3 for the constant prefix", () => {
    // circomlib Poseidon(t - 1) at --O2: Poseidon(2) = 240, Poseidon(16) = 609 (measured). The first
    // permutation's state starts with the constant N, whose first S-box x^5 (3 constraints: x^2, x^4,
    // x^5) is computed at compile time, so the sponge pays 3 less.
    // N = 1: Poseidon(2) over [1, in[0]]: 240 - 3.
    expect(one.constraints).toBe(240 - 3);
    // N = 16: Poseidon(16) over [16, in[0..14]] (609 - 3), then Poseidon(2) over [h, in[15]] (240).
    expect(sixteen.constraints).toBe(609 - 3 + 240);
  });

  it(`equals the circomlibjs reference and poseidonSponge for N = ${SIZES.join(", ")} (negatives mod p)`, async () => {
    const rnd = bigRandom(99);
    const input: Record<string, bigint[]> = {};
    for (const n of SIZES) {
      input[`in${n}`] = Array.from({ length: n }, (_, i) => {
        // Mix small signed values (fixed-point features, weights) with full-size field elements.
        if (i % 3 === 0) return -rnd.between(1n, 1n << 40n);
        if (i % 3 === 1) return rnd.between(0n, 1n << 40n);
        return rnd.between(0n, P - 1n);
      });
    }
    const w = await bundle.witness(input);
    expect(bundle.violated(w)).toEqual([]);
    for (const n of SIZES) {
      const values = input[`in${n}`];
      const h = bundle.read(w, `main.h${n}`);
      expect(h, `N = ${n}`).toBe(referenceSponge(poseidon, values));
      expect(h, `poseidonSponge, N = ${n}`).toBe(await poseidonSponge(values));
    }
  });

  it("separates lengths: [x] and [x, 0] hash apart, v and v + p hash alike", async () => {
    expect(referenceSponge(poseidon, [5n])).not.toBe(referenceSponge(poseidon, [5n, 0n]));
    const w1 = await one.witness({ in1: [-7n] });
    const w2 = await one.witness({ in1: [P - 7n] });
    expect(one.read(w1, "main.h1")).toBe(one.read(w2, "main.h1"));
    expect(one.read(w1, "main.h1")).toBe(referenceSponge(poseidon, [-7n]));
  });

  it("rejects a forged commitment (the last Poseidon's output constraint)", async () => {
    const w = await one.witness({ in1: [3n] });
    const forged = one.edit(w, { "main.h1": one.read(w, "main.h1") + 1n });
    expect(one.violated(forged).length).toBeGreaterThan(0);
  });
});
