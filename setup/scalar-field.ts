/**
 * Arithmetic in bn128's scalar field r for the development setup: powers, inverses, the roots of unity snarkjs's FFT
 * domains use, and Lagrange-basis values at a point. Plain bigint; the cost that matters is the curve's.
 */
import { randomBytes } from "node:crypto";
import { FIELD_MODULUS as R } from "../crypto/field";

/** `a * b mod r`. */
export const mul = (a: bigint, b: bigint): bigint => (a * b) % R;

/** `a - b mod r`, in [0, r). */
export const sub = (a: bigint, b: bigint): bigint => (a >= b ? a - b : a - b + R);

/** `base^exp mod r` by square-and-multiply. */
export function pow(base: bigint, exp: bigint): bigint {
  let result = 1n;
  let b = base % R;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = mul(result, b);
    b = mul(b, b);
    e >>= 1n;
  }
  return result;
}

/** `1 / a mod r` (Fermat); throws for 0. */
export function inv(a: bigint): bigint {
  if (a % R === 0n) throw new RangeError("inverse of zero");
  return pow(a, R - 2n);
}

/** `1 / a_i` for every `a_i` with one inversion (Montgomery's trick); every `a_i` must be nonzero. */
export function batchInverse(values: bigint[]): bigint[] {
  const prefix = new Array<bigint>(values.length);
  let acc = 1n;
  for (let i = 0; i < values.length; i++) {
    prefix[i] = acc;
    acc = mul(acc, values[i]!);
  }
  let inverse = inv(acc);
  const out = new Array<bigint>(values.length);
  for (let i = values.length - 1; i >= 0; i--) {
    out[i] = mul(inverse, prefix[i]!);
    inverse = mul(inverse, values[i]!);
  }
  return out;
}

/** The 2-adicity of r - 1: the largest power-of-two domain of the field is 2^28. */
export const TWO_ADICITY = 28;

let roots: bigint[] | undefined;

/**
 * The primitive 2^k-th root of unity of the FFT domain of size 2^k, as ffjavascript (and so snarkjs) chooses it:
 * `w[28] = g^t` with g the smallest quadratic non-residue (5 for bn128) and `r - 1 = 2^28 * t`, and
 * `w[k] = w[k + 1]^2`. A test checks these against ffjavascript's `Fr.w`.
 * @param k log2 of the domain size, 0..28
 */
export function rootOfUnity(k: number): bigint {
  if (!roots) {
    let nqr = 2n;
    while (pow(nqr, (R - 1n) / 2n) !== R - 1n) nqr++;
    const t = (R - 1n) >> BigInt(TWO_ADICITY);
    roots = new Array<bigint>(TWO_ADICITY + 1);
    roots[TWO_ADICITY] = pow(nqr, t);
    for (let i = TWO_ADICITY - 1; i >= 0; i--) roots[i] = mul(roots[i + 1]!, roots[i + 1]!);
  }
  if (!Number.isInteger(k) || k < 0 || k > TWO_ADICITY)
    throw new RangeError(`no root of unity of order 2^${k}`);
  return roots[k]!;
}

/** Which basis values to compute: `i = start, start + stride, ...`, `count` of them, each times `factor`. */
export interface BasisWindow {
  start: number;
  count: number;
  factor?: bigint;
  stride?: number;
}

/** The domain points `w^i` of the size-2^k domain for the indices of `window`. */
function domainPoints(k: number, { start, count, stride = 1 }: BasisWindow): bigint[] {
  const w = rootOfUnity(k);
  const step = pow(w, BigInt(stride));
  const out = new Array<bigint>(count);
  let cur = pow(w, BigInt(start));
  for (let i = 0; i < count; i++) {
    out[i] = cur;
    cur = mul(cur, step);
  }
  return out;
}

/**
 * Values at `x` of the Lagrange basis of the domain `{w^i}` of size `n = 2^k` (w = {@link rootOfUnity}(k)) for the
 * indices of `window`, each multiplied by its factor: `L_i(x) = w^i (x^n - 1) / (n (x - w^i))`. These are what an
 * inverse FFT of `[x^0 .. x^(n-1)]` gives, which is how snarkjs's `prepare phase2` computes a ptau's Lagrange
 * sections. `x` must not lie in the domain.
 */
export function lagrangeValues(x: bigint, k: number, window: BasisWindow): bigint[] {
  const n = 1n << BigInt(k);
  const scale = mul(window.factor ?? 1n, mul(sub(pow(x, n), 1n), inv(n)));
  const wi = domainPoints(k, window);
  const inverses = batchInverse(wi.map((v) => sub(x, v)));
  return wi.map((v, i) => mul(scale, mul(v, inverses[i]!)));
}

/**
 * {@link lagrangeValues} of the largest domain of a ptau as snarkjs's `prepare phase2` leaves them: the inverse FFT of
 * the `n - 1` powers `[x^0 .. x^(n-2)]` padded with a zero (section 2 holds only `2N - 1` powers). Its i-th output
 * lacks the top term `x^(n-1) w^(-i(n-1)) / n = x^(n-1) w^i / n`, so the values are `L_i(x) - x^(n-1) w^i / n`.
 */
export function truncatedLagrangeValues(x: bigint, k: number, window: BasisWindow): bigint[] {
  const n = 1n << BigInt(k);
  const top = mul(window.factor ?? 1n, mul(pow(x, n - 1n), inv(n)));
  const wi = domainPoints(k, window);
  return lagrangeValues(x, k, window).map((v, i) => sub(v, mul(top, wi[i]!)));
}

/** A uniformly random nonzero field element from the OS CSPRNG (512 bits reduced mod r: bias below 2^-250). */
export function randomScalar(): bigint {
  for (;;) {
    const v = BigInt(`0x${randomBytes(64).toString("hex")}`) % R;
    if (v !== 0n) return v;
  }
}
