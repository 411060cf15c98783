/**
 * Small deterministic utilities for circuit tests: seeded bigint randomness, bit vectors, wrapper
 * sources, and "does the witness generator refuse this input" probes.
 */
import type { TestCircuit } from "./circuit";
import type { CircuitInput } from "./witness";

/** A seeded source of bigints (xorshift128+ on BigInt.asUintN; deterministic across runs). */
export interface BigRandom {
  /** Uniform in [lo, hi] (inclusive). */
  between(lo: bigint, hi: bigint): bigint;
  /** Uniform in [0, 2^bits). */
  bits(bits: number): bigint;
}

/** A seeded BigRandom. */
export function bigRandom(seed: number): BigRandom {
  let s0 = BigInt.asUintN(64, BigInt(seed) * 0x9e3779b97f4a7c15n + 1n);
  let s1 = BigInt.asUintN(64, s0 * 0xbf58476d1ce4e5b9n + 0x94d049bb133111ebn);
  const next64 = (): bigint => {
    let x = s0;
    const y = s1;
    s0 = y;
    x = BigInt.asUintN(64, x ^ (x << 23n));
    s1 = x ^ y ^ (x >> 17n) ^ (y >> 26n);
    return BigInt.asUintN(64, s1 + y);
  };
  const bits = (n: number): bigint => {
    let v = 0n;
    for (let got = 0; got < n; got += 64) v = (v << 64n) | next64();
    return BigInt.asUintN(n, v);
  };
  return {
    bits,
    between(lo, hi) {
      if (hi < lo) throw new RangeError(`empty range [${lo}, ${hi}]`);
      const span = hi - lo + 1n;
      const n = span.toString(2).length + 64;
      return lo + (bits(n) % span);
    },
  };
}

/** The n low binary digits of v >= 0, least significant first. */
export function bitsOf(v: bigint, n: number): bigint[] {
  if (v < 0n) throw new RangeError(`bitsOf needs v >= 0, got ${v}`);
  return Array.from({ length: n }, (_, i) => (v >> BigInt(i)) & 1n);
}

/** `{ "<prefix>[0]": bits[0], ... }` for editing a decomposition by name. */
export function bitEdits(prefix: string, bits: readonly bigint[]): Record<string, bigint> {
  return Object.fromEntries(bits.map((b, i) => [`${prefix}[${i}]`, b]));
}

/** The error message of the witness generator on `input`, or undefined when it produced a witness. */
export async function witnessFailure(circuit: TestCircuit, input: CircuitInput): Promise<string | undefined> {
  try {
    await circuit.witness(input);
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/**
 * A test wrapper: `template Wrap() { signal input in; signal output out; component t = <call>; ... }`
 * with `in` public. `out` is omitted for templates without an `out` (range checks).
 */
export function unaryWrapper(includes: readonly string[], call: string, withOut = true): string {
  return [
    "pragma circom 2.1.0;",
    ...includes.map((f) => `include "${f}";`),
    "template Wrap() {",
    "    signal input in;",
    ...(withOut ? ["    signal output out;"] : []),
    `    component t = ${call};`,
    "    t.in <== in;",
    ...(withOut ? ["    out <== t.out;"] : []),
    "}",
    "component main {public [in]} = Wrap();",
    "",
  ].join("\n");
}
