/**
 * The template arguments of `MarginPolicy` (circuits/lib/policy.circom), derived from a quantised
 * model file, in the template's parameter order.
 */
import type { QuantizedModel } from "../models/quantized-model";

/** MarginPolicy's parameters by name (see the template header for each one's meaning). */
export interface MarginPolicyParams {
  Y_BITS: number;
  K: bigint;
  MM_SHIFT: number;
  MM_RAW_MIN: bigint;
  MM_RAW_BITS: number;
  MM_MIN: bigint;
  MM_MAX: bigint;
  IM_NUM: bigint;
  IM_SHIFT: number;
  IM_RAW_MIN: bigint;
  IM_RAW_BITS: number;
  IM_MIN: bigint;
  IM_MAX: bigint;
}

/** The fewest bits n >= 1 with 0 <= v < 2^n. */
export function spanBits(v: bigint): number {
  if (v < 0n) throw new RangeError(`span must be non-negative, got ${v}`);
  let n = 1;
  while (1n << BigInt(n) <= v) n++;
  return n;
}

/**
 * Derive MarginPolicy's parameters from the model file. Y_BITS = policy.intervals.output.bits: in the
 * generated circuit y is a linear combination, with pinned coefficients, of activations that are pinned
 * functions of range-checked features, so y lies in the interval analysis' output interval. The quotient
 * ranges use span bits (fewest bits with max - min < 2^bits) from the interval min, not the signed `bits`:
 * the signed width can be one bit wider, which for the shipped model would also widen imRaw's range
 * past IM_MAX and switch on the IM upper clamp (about 17 constraints more).
 */
export function marginPolicyParams(model: Pick<QuantizedModel, "policy">): MarginPolicyParams {
  const p = model.policy;
  const iv = p.intervals;
  return {
    Y_BITS: iv.output.bits,
    K: BigInt(p.calibrationNum) * BigInt(10000 + p.bufferBps),
    MM_SHIFT: p.mmShift,
    MM_RAW_MIN: iv.mmRaw.min,
    MM_RAW_BITS: spanBits(iv.mmRaw.max - iv.mmRaw.min),
    MM_MIN: BigInt(p.mmMinBps),
    MM_MAX: BigInt(p.mmMaxBps),
    IM_NUM: BigInt(p.imRatioNum),
    IM_SHIFT: p.imRatioShift,
    IM_RAW_MIN: iv.imRaw.min,
    IM_RAW_BITS: spanBits(iv.imRaw.max - iv.imRaw.min),
    IM_MIN: BigInt(p.imMinBps),
    IM_MAX: BigInt(p.imMaxBps),
  };
}

/** The argument list for `MarginPolicy(...)` in Circom source, e.g. `75, 503490000, 85, ...`. */
export function marginPolicyArgs(params: MarginPolicyParams): string {
  const order: (keyof MarginPolicyParams)[] = [
    "Y_BITS",
    "K",
    "MM_SHIFT",
    "MM_RAW_MIN",
    "MM_RAW_BITS",
    "MM_MIN",
    "MM_MAX",
    "IM_NUM",
    "IM_SHIFT",
    "IM_RAW_MIN",
    "IM_RAW_BITS",
    "IM_MIN",
    "IM_MAX",
  ];
  return order.map((k) => params[k].toString()).join(", ");
}
