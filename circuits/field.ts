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
