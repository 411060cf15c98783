/** The BN254 scalar field that Groth16 over bn128 (and so every circuit signal) lives in. */

/** p, the scalar field modulus of BN254. */
export const FIELD_MODULUS = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

/** A signed integer as a field element: v mod p in [0, p). */
export function toField(v: bigint): bigint {
  const r = v % FIELD_MODULUS;
  return r < 0n ? r + FIELD_MODULUS : r;
}

/** A field element read back as a signed integer: values above (p - 1) / 2 are negative. */
export function fromField(f: bigint): bigint {
  return f > FIELD_MODULUS / 2n ? f - FIELD_MODULUS : f;
}

/** a^-1 mod p (extended Euclid), in [1, p). Throws a RangeError if a is 0 mod p. */
export function invertField(a: bigint): bigint {
  let [r0, r1] = [FIELD_MODULUS, toField(a)];
  let [t0, t1] = [0n, 1n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [t0, t1] = [t1, t0 - q * t1];
  }
  if (r0 !== 1n) throw new RangeError(`invertField: ${a} is 0 mod p and has no inverse`);
  return toField(t0);
}

/**
 * Inverses of many values in [0, p) with one inversion (Montgomery's trick: prefix products, then back).
 * Throws a RangeError, as invertField() does, if one of them is 0.
 */
export function invertFieldAll(values: readonly bigint[]): bigint[] {
  const prefix: bigint[] = [];
  let acc = 1n;
  for (const v of values) {
    prefix.push(acc);
    acc = (acc * v) % FIELD_MODULUS;
  }
  let inv = invertField(acc);
  const out: bigint[] = new Array<bigint>(values.length);
  for (let i = values.length - 1; i >= 0; i--) {
    out[i] = (inv * prefix[i]) % FIELD_MODULUS;
    inv = (inv * values[i]) % FIELD_MODULUS;
  }
  return out;
}

/** Pack an ASCII string of at most 31 bytes into one field element (big-endian bytes). */
export function packAscii(s: string): bigint {
  if (!/^[\x20-\x7e]{0,31}$/.test(s))
    throw new RangeError(`cannot pack '${s}': printable ASCII, at most 31 bytes`);
  let v = 0n;
  for (const ch of s) v = (v << 8n) | BigInt(ch.charCodeAt(0));
  return v;
}
