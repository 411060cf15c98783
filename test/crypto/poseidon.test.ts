/**
 * crypto/poseidon.ts against its two oracles, for every width circomlib has (1 to 16 inputs): circomlibjs's
 * `buildPoseidon()` (a test-only dependency here) on seeded random inputs, and circomlib's `Poseidon(n)`
 * circuit itself, compiled and run by the test harness.
 */
import { createRequire } from "node:module";
import { beforeAll, describe, expect, it } from "vitest";
import {
  bigRandom,
  FIELD_MODULUS as P,
  loadCircuit,
  type BigRandom,
  type TestCircuit,
} from "../helpers/circuits";
import { poseidon, POSEIDON_MAX_INPUTS } from "../../crypto/poseidon";

type CircomlibjsPoseidon = ((inputs: bigint[]) => unknown) & { F: { toObject(x: unknown): bigint } };
const loadModule = createRequire(__filename);
const { buildPoseidon } = loadModule("circomlibjs") as { buildPoseidon(): Promise<CircomlibjsPoseidon> };

const WIDTHS = Array.from({ length: POSEIDON_MAX_INPUTS }, (_, i) => i + 1);

/** Random inputs of length n: small signed values, full-size field elements, and the edges 0 and p - 1. */
function randomInputs(rnd: BigRandom, n: number): bigint[] {
  return Array.from({ length: n }, (_, i) => {
    switch ((i + Number(rnd.between(0n, 4n))) % 5) {
      case 0:
        return -rnd.between(1n, 1n << 40n);
      case 1:
        return rnd.between(0n, 1n << 40n);
      case 2:
        return rnd.between(0n, 1n) === 0n ? 0n : P - 1n;
      default:
        return rnd.between(0n, P - 1n);
    }
  });
}

/** One circuit with a circomlib Poseidon(n) per width, outputs h<n>. */
function poseidonWrapper(widths: readonly number[]): string {
  return [
    "pragma circom 2.1.0;",
    'include "poseidon.circom";',
    "template Wrap() {",
    ...widths.flatMap((n) => [
      `    signal input in${n}[${n}];`,
      `    signal output h${n};`,
      `    component p${n} = Poseidon(${n});`,
      `    p${n}.inputs <== in${n};`,
      `    h${n} <== p${n}.out;`,
    ]),
    "}",
    "component main = Wrap();",
    "",
  ].join("\n");
}

/**
 * The widths in groups of four, one circuit each: one circuit with all sixteen makes circom2 (wasm) grow past
 * 2 GiB while writing its witness generator, where its WASI layer fails ("Start offset ... is outside the bounds").
 */
const WIDTH_GROUPS = [0, 4, 8, 12].map((first) => WIDTHS.slice(first, first + 4));

describe("poseidon (crypto/poseidon.ts)", () => {
  let reference: CircomlibjsPoseidon;
  const circuits: { widths: number[]; circuit: TestCircuit }[] = [];

  beforeAll(async () => {
    reference = await buildPoseidon();
    // One compile at a time: each is a circom2 process of its own.
    for (const widths of WIDTH_GROUPS) {
      const name = `PoseidonWidths${widths[0]}to${widths.at(-1)}`;
      circuits.push({ widths, circuit: await loadCircuit(poseidonWrapper(widths), name, { O: 1 }) });
    }
  });

  it("equals circomlibjs on 40 seeded random inputs of every width 1..16 (negatives mod p)", () => {
    const rnd = bigRandom(1313);
    for (const n of WIDTHS) {
      for (let k = 0; k < 40; k++) {
        const inputs = randomInputs(rnd, n);
        const want = reference.F.toObject(reference(inputs.map((v) => ((v % P) + P) % P)));
        expect(poseidon(inputs), `width ${n}, case ${k}`).toBe(want);
      }
    }
  });

  it("equals circomlib's Poseidon(n) circuit for every width 1..16", async () => {
    const rnd = bigRandom(1314);
    expect(circuits.flatMap((c) => c.widths)).toEqual(WIDTHS);
    for (const { widths, circuit } of circuits) {
      for (let k = 0; k < 3; k++) {
        const input: Record<string, bigint[]> = {};
        for (const n of widths) input[`in${n}`] = randomInputs(rnd, n);
        const w = await circuit.witness(input);
        for (const n of widths)
          expect(circuit.read(w, `main.h${n}`), `width ${n}`).toBe(poseidon(input[`in${n}`]));
      }
    }
  });

  it("refuses no inputs and more than 16", () => {
    expect(() => poseidon([])).toThrow(/1 to 16 inputs, got 0/);
    expect(() => poseidon(new Array<bigint>(17).fill(1n))).toThrow(/1 to 16 inputs, got 17/);
  });
});
