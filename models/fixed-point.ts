/**
 * Fixed-point arithmetic over bigint: the one definition of rescaling that the integer engine uses and
 * that the circuit generator must reproduce. A value v at scale s stands for v / 2^s.
 */

/** floor(a / 2^s), also for negative a (bigint `>>` is an arithmetic shift, i.e. floor). */
export function floorShift(a: bigint, s: number): bigint {
  if (!Number.isInteger(s) || s < 0) throw new RangeError(`shift must be a non-negative integer, got ${s}`);
  return a >> BigInt(s);
}

/** ceil(a / 2^s), also for negative a: floor((a + 2^s - 1) / 2^s). */
export function ceilShift(a: bigint, s: number): bigint {
  if (!Number.isInteger(s) || s < 0) throw new RangeError(`shift must be a non-negative integer, got ${s}`);
  return (a + (1n << BigInt(s)) - 1n) >> BigInt(s);
}

/** max(0, a). */
export function relu(a: bigint): bigint {
  return a > 0n ? a : 0n;
}

/** Clamp a to [lo, hi]. */
export function clampBig(a: bigint, lo: bigint, hi: bigint): bigint {
  return a < lo ? lo : a > hi ? hi : a;
}

/**
 * Round a float to the nearest integer at scale 2^s (ties towards +infinity). Exact: x * 2^s is exact in
 * float64 and Math.round rounds it without an intermediate addition.
 */
export function toFixed(x: number, s: number): bigint {
  const scaled = x * 2 ** s;
  if (!Number.isFinite(scaled)) throw new RangeError(`cannot represent ${x} at scale 2^${s}`);
  return BigInt(Math.round(scaled));
}

/**
 * floor(x * 2^s): how features become integers. Flooring maps the declared float range [lo, hi) onto the
 * declared integer range exactly when lo and hi are multiples of 2^-s, so no in-bound value rounds out.
 */
export function floorToFixed(x: number, s: number): bigint {
  const scaled = x * 2 ** s;
  if (!Number.isFinite(scaled)) throw new RangeError(`cannot represent ${x} at scale 2^${s}`);
  return BigInt(Math.floor(scaled));
}

/** The value of a fixed-point integer at scale 2^s, as a float (for display and comparisons only). */
export function fromFixed(v: bigint, s: number): number {
  return Number(v) / 2 ** s;
}

/** A closed integer interval. */
export interface Interval {
  min: bigint;
  max: bigint;
}

/**
 * The fewest bits n such that every value of [min, max] lies in the two's-complement range
 * [-2^(n-1), 2^(n-1) - 1]. The circuit checks v + 2^(n-1) with an n-bit decomposition, whose top bit is
 * then the sign of v.
 */
export function signedBits({ min, max }: Interval): number {
  if (min > max) throw new RangeError(`empty interval [${min}, ${max}]`);
  let n = 1;
  while (min < -(1n << BigInt(n - 1)) || max > (1n << BigInt(n - 1)) - 1n) n++;
  return n;
}

/** Interval of a * w for a constant w. */
export function scaleInterval(a: Interval, w: bigint): Interval {
  const x = a.min * w;
  const y = a.max * w;
  return x <= y ? { min: x, max: y } : { min: y, max: x };
}

/** Interval of a + b. */
export function addInterval(a: Interval, b: Interval): Interval {
  return { min: a.min + b.min, max: a.max + b.max };
}
