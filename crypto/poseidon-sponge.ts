/**
 * The commitment hash: a length-prefixed chain of circomlib Poseidon calls, the TypeScript twin of
 * `PoseidonSponge(N)` in circuits/lib/commitment.circom.
 *
 *   h = N;  for each chunk c of up to 15 consecutive values:  h = Poseidon(1 + |c|)([h, ...c]);  return h
 *
 * Prefixing the length makes inputs of different lengths hash apart without padding rules. The functions stay
 * async (callers await them) though the hash itself (crypto/poseidon.ts) is synchronous.
 */
import { toField } from "./field";
import { poseidon, POSEIDON_MAX_INPUTS } from "./poseidon";

/** Values per Poseidon call besides the chaining value (circomlib Poseidon takes at most 16 inputs). */
export const SPONGE_CHUNK = POSEIDON_MAX_INPUTS - 1;

/** Hash a non-empty list of integers (negative values are taken mod p). */
export async function poseidonSponge(values: readonly bigint[]): Promise<bigint> {
  if (values.length === 0) throw new RangeError("poseidonSponge: needs at least one value");
  return poseidonChain(BigInt(values.length), values);
}

/**
 * The sponge's chain from state `h0` (the twin of `PoseidonChain` in commitment.circom): absorbs `values`
 * in chunks of 15. `poseidonSponge(v)` is `poseidonChain(v.length, v)`.
 */
export async function poseidonChain(h0: bigint, values: readonly bigint[]): Promise<bigint> {
  let h = toField(h0);
  for (let i = 0; i < values.length; i += SPONGE_CHUNK) {
    const chunk = values.slice(i, i + SPONGE_CHUNK).map(toField);
    h = poseidon([h, ...chunk]);
  }
  return h;
}
