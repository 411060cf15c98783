/**
 * The margin policy: how a predicted 99% adverse-move quantile becomes maintenance and initial margin.
 *
 *   MM_bps = clamp(ceil(q99 * 10000 * (1 + buffer)), MM_MIN, MM_MAX)
 *   IM_bps = clamp(ceil(MM_bps * IM_RATIO), IM_MIN, IM_MAX)
 *
 * with buffer = bufferBps / 10000 and IM_RATIO = imRatioNum / 2^imRatioShift (a dyadic rational, so the
 * integer engine and the circuit compute it exactly with one floor division by a power of two).
 * The float form lives here; the integer form is in integer-engine.ts and must agree with it.
 */
import { ModelError } from "../core/errors";

/** Policy constants, stored in both the float and the quantised model files. */
export interface MarginPolicy {
  /** Safety buffer on the quantile, in bps of the quantile (1000 = +10 %). */
  bufferBps: number;
  /** Lower clamp of maintenance margin, bps of notional. */
  mmMinBps: number;
  /** Upper clamp of maintenance margin, bps of notional. */
  mmMaxBps: number;
  /** Numerator of IM_RATIO. */
  imRatioNum: number;
  /** IM_RATIO = imRatioNum / 2^imRatioShift. */
  imRatioShift: number;
  /** Lower clamp of initial margin, bps of notional. */
  imMinBps: number;
  /** Upper clamp of initial margin, bps of notional. */
  imMaxBps: number;
}

/** The fields of a MarginPolicy, in file order (model readers reject any other key in `policy`). */
export const POLICY_KEYS: readonly (keyof MarginPolicy)[] = [
  "bufferBps",
  "mmMinBps",
  "mmMaxBps",
  "imRatioNum",
  "imRatioShift",
  "imMinBps",
  "imMaxBps",
];

/** Margin parameters in bps of notional. */
export interface MarginParameters {
  maintenanceMarginBps: number;
  initialMarginBps: number;
}

/** The default policy of the shipped BTC-USDT model. */
export const DEFAULT_POLICY: MarginPolicy = {
  bufferBps: 0,
  mmMinBps: 50,
  mmMaxBps: 5000,
  imRatioNum: 3,
  imRatioShift: 1,
  imMinBps: 100,
  imMaxBps: 10000,
};

/** Clamp `v` to [lo, hi]. */
export function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/** Apply the policy to a (calibrated) 99% quantile of the adverse move, given as a fraction (0.05 = 5 %). */
export function marginFromQuantile(q99: number, policy: MarginPolicy): MarginParameters {
  const mm = clamp(Math.ceil(q99 * (10000 + policy.bufferBps)), policy.mmMinBps, policy.mmMaxBps);
  const im = clamp(
    Math.ceil((mm * policy.imRatioNum) / 2 ** policy.imRatioShift),
    policy.imMinBps,
    policy.imMaxBps,
  );
  return { maintenanceMarginBps: mm, initialMarginBps: im };
}

/** Check a policy read from a file; throws ModelError naming the bad constant. */
export function validatePolicy(p: MarginPolicy, where: string): MarginPolicy {
  for (const k of POLICY_KEYS) {
    const v = p[k];
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new ModelError(`${where}: policy.${k} must be a non-negative integer, got ${JSON.stringify(v)}`);
    }
  }
  if (p.mmMinBps > p.mmMaxBps) throw new ModelError(`${where}: policy.mmMinBps > policy.mmMaxBps`);
  if (p.imMinBps > p.imMaxBps) throw new ModelError(`${where}: policy.imMinBps > policy.imMaxBps`);
  if (p.imRatioShift > 32) throw new ModelError(`${where}: policy.imRatioShift must be <= 32`);
  if (p.mmMaxBps > 10000 || p.imMaxBps > 10000) {
    throw new ModelError(`${where}: margin bounds above 10000 bps (100 % of notional) are not meaningful`);
  }
  return p;
}
