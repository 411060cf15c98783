/**
 * The adaptive rule (models/adaptive.ts, shipped in models/calibrations.json) as the parameters of the
 * `AdaptiveCalibration` template (circuits/lib/adaptive.circom), and the bit widths of the state the oracle
 * holds. One place turns an `AdaptiveRule` into circuit constants; the generator and the template tests use it.
 */
import { STATE_EXTRA_BITS, type AdaptiveRule } from "../models/adaptive";
import { MAX_OUTCOME_LAG, TARGET_HORIZON_BARS } from "../models/target";
import { WINDOW_BARS, WINDOW_RANGE_BARS } from "../candles/window";
import type { Architecture } from "./architecture";
import { ADAPTIVE_UPDATE_PACKING } from "./statement";

/** Bits of a signed price (candles/integer-candle.ts: prices below 2^64). */
export const ADAPTIVE_PRICE_BITS = 64;
/**
 * Bits of a maintenance margin in bps (at most 10000 < 2^14; 0 means "no accepted update"): the width the template
 * range-checks bar s's margin to is the width the adaptive update packs it in (statement.ts), so the packing stays
 * injective.
 */
export const ADAPTIVE_MM_BITS = ADAPTIVE_UPDATE_PACKING.marginSBits;

/** The widths of a rule's state: num in [numMin, numMax] (numBits), outcomes in [0, cap] (outcomeBits). */
export interface AdaptiveStateWidths {
  numMin: bigint;
  numMax: bigint;
  numBits: number;
  cap: number;
  outcomeBits: number;
}

const widthOf = (v: bigint): number => (v === 0n ? 1 : v.toString(2).length);

/**
 * Check that `rule` is one the template takes: at least two stages, upNums.length = downShift -
 * downShiftStart + 1, upShift >= downShift, up numerators in [1, 2^upShift), 1 <= minNum <= maxNum.
 * @throws RangeError naming the field
 */
export function checkAdaptiveRule(rule: AdaptiveRule): void {
  const stages = rule.downShift - rule.downShiftStart + 1;
  if (!Number.isInteger(stages) || stages < 2) {
    throw new RangeError(
      `adaptive rule: downShift ${rule.downShift} must exceed downShiftStart ${rule.downShiftStart}`,
    );
  }
  if (rule.upNums.length !== stages) {
    throw new RangeError(`adaptive rule: ${rule.upNums.length} upNums for ${stages} stages`);
  }
  if (rule.upShift < rule.downShift) {
    throw new RangeError(`adaptive rule: upShift ${rule.upShift} is below downShift ${rule.downShift}`);
  }
  for (const u of rule.upNums) {
    if (!Number.isInteger(u) || u < 1 || u >= 2 ** rule.upShift) {
      throw new RangeError(`adaptive rule: upNum ${u} is not in [1, 2^${rule.upShift})`);
    }
  }
  if (!(Number.isInteger(rule.outcomesPerShift) && rule.outcomesPerShift >= 1)) {
    throw new RangeError(
      `adaptive rule: outcomesPerShift ${rule.outcomesPerShift} is not a positive integer`,
    );
  }
  if (!(Number.isInteger(rule.minNum) && rule.minNum >= 1 && rule.minNum <= rule.maxNum)) {
    throw new RangeError(
      `adaptive rule: [minNum, maxNum] = [${rule.minNum}, ${rule.maxNum}] is not an interval`,
    );
  }
}

/** The widths of the state of `rule` (see AdaptiveStateWidths). */
export function adaptiveStateWidths(rule: AdaptiveRule): AdaptiveStateWidths {
  checkAdaptiveRule(rule);
  const numMin = BigInt(rule.minNum) << BigInt(STATE_EXTRA_BITS);
  const numMax = BigInt(rule.maxNum) << BigInt(STATE_EXTRA_BITS);
  const cap = (rule.downShift - rule.downShiftStart) * rule.outcomesPerShift;
  return { numMin, numMax, numBits: widthOf(numMax), cap, outcomeBits: widthOf(BigInt(cap)) };
}

/**
 * Bars of a window the `AdaptiveCalibration` template reads: the closes of the last
 * TARGET_HORIZON_BARS + MAX_OUTCOME_LAG + 1 (bars t - 23 .. t, every bar s = t - 12 - lag and its 12 bars after
 * it), and the highs and lows of all of them but the first (bar t - 23 is only ever a bar s).
 */
export const ADAPTIVE_BARS = TARGET_HORIZON_BARS + MAX_OUTCOME_LAG + 1;

/**
 * Write the component `name` = AdaptiveCalibration(...) of `rule` (and the var array of its up numerators,
 * `${name}Up`), at `indent`. Its inputs: num, outcomes, mmS, lag, close[ADAPTIVE_BARS], high[ADAPTIVE_BARS - 1],
 * low[ADAPTIVE_BARS - 1].
 */
export function emitAdaptiveCalibration(
  line: (s?: string) => void,
  rule: AdaptiveRule,
  name: string,
  indent = "    ",
): void {
  const w = adaptiveStateWidths(rule);
  line(`${indent}var ${name}Up[${rule.upNums.length}] = [${rule.upNums.join(", ")}];`);
  const args = [
    TARGET_HORIZON_BARS,
    MAX_OUTCOME_LAG,
    ADAPTIVE_PRICE_BITS,
    ADAPTIVE_MM_BITS,
    rule.upNums.length,
    rule.outcomesPerShift,
    rule.downShiftStart,
    `${name}Up`,
    rule.upShift,
    w.numMin,
    w.numMax,
    STATE_EXTRA_BITS,
  ];
  line(`${indent}component ${name} = AdaptiveCalibration(${args.join(", ")});`);
}

/**
 * Write the wiring of the window's last ADAPTIVE_BARS bars into the component `name` (emitAdaptiveCalibration):
 * its closes from `close${of}[WINDOW_BARS]`, and the highs and lows of its last ADAPTIVE_BARS - 1 bars (t - 22 ..
 * t) from the end of the range part `high${of}[WINDOW_RANGE_BARS]`, `low${of}[...]`, which holds them
 * (`checkAdaptiveFits` refuses a shorter range part). `of` indexes a batch's market (`[m]`), "" else.
 */
export function emitAdaptiveBars(line: (s?: string) => void, name: string, of = "", indent = "    "): void {
  const ranged = ADAPTIVE_BARS - 1;
  line(`${indent}for (var i = 0; i < ${ADAPTIVE_BARS}; i++) {`);
  line(`${indent}    ${name}.close[i] <== close${of}[${WINDOW_BARS - ADAPTIVE_BARS} + i];`);
  line(`${indent}}`);
  line(`${indent}for (var i = 0; i < ${ranged}; i++) {`);
  line(`${indent}    ${name}.high[i] <== high${of}[i + ${WINDOW_RANGE_BARS - ranged}];`);
  line(`${indent}    ${name}.low[i] <== low${of}[i + ${WINDOW_RANGE_BARS - ranged}];`);
  line(`${indent}}`);
}

/**
 * The architecture whose policy takes every calibrationNum the rule's state can give (up to `maxNum`, scale
 * 4.0), where the model's own budget stops at its calibration's bits plus headroom (scale below 2.0 for the
 * shipped model). Only the policy's widths change: k = calibrationNum * (10000 + bufferBps) up to maxNum times
 * that, and the raw MM and IM intervals over the full y range of the architecture's `yBits`.
 */
export function adaptivePolicyArchitecture(arch: Architecture, rule: AdaptiveRule): Architecture {
  checkAdaptiveRule(rule);
  const p = arch.policy;
  const kMax = BigInt(rule.maxNum) * BigInt(10000 + p.bufferBps);
  const half = 1n << BigInt(p.yBits - 1);
  const ceil = (v: bigint, s: number) => (v + (1n << BigInt(s)) - 1n) >> BigInt(s);
  const mmRaw = { min: ceil(-half * kMax, p.mmShift), max: ceil((half - 1n) * kMax, p.mmShift) };
  const clampMm = (v: bigint) =>
    v < BigInt(p.mmMinBps) ? BigInt(p.mmMinBps) : v > BigInt(p.mmMaxBps) ? BigInt(p.mmMaxBps) : v;
  const imRaw = {
    min: ceil(clampMm(mmRaw.min) * BigInt(p.imRatioNum), p.imRatioShift),
    max: ceil(clampMm(mmRaw.max) * BigInt(p.imRatioNum), p.imRatioShift),
  };
  return {
    ...arch,
    policy: { ...p, calibrationBits: widthOf(BigInt(rule.maxNum)), kBits: widthOf(kMax), mmRaw, imRaw },
  };
}
