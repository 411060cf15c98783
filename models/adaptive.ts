/**
 * Adaptive calibration (issue 12, part 3), offline: an integer rule in the family of adaptive conformal
 * inference (Gibbs & Candès, 2021), with a step size that anneals after deployment. Each market carries a
 * state of two integers: `num`, the calibration at STATE_EXTRA_BITS more resolution than the model's
 * calibrationNum (so a step of 2^-13 is not lost to rounding), and `outcomes`, the number of outcomes the rule
 * has processed since deployment (capped once the step has annealed). The margin uses
 * calibrationNum = ceil(num / 2^STATE_EXTRA_BITS), the same dyadic form as the model's own calibration.
 *
 * At an accepted update for bar t, the realised 24 h move of one earlier accepted bar s, the oldest whose outcome
 * is still pending, s = t - 12 - lag with lag in [0, 11] (`PendingOutcomes`; the move lies inside the 85-bar
 * signed window of bar t), is compared with bar s's accepted maintenance margin, in integers on the signed
 * candles:
 *
 *   breach_s  <=>  10000 * max(close_s - min low_{s+1..s+12}, max high_{s+1..s+12} - close_s) > MM_s * close_s
 *   k = min(downShift - downShiftStart, floor(outcomes / outcomesPerShift))     (the annealing stage)
 *   breach:  num <- num + floor(num * upNums[k] / 2^upShift)                   (scale up, ~ +u_k)
 *   covered: num <- num - floor(num / 2^(downShiftStart + k))                 (scale down, ~ -d_k)
 *   then num <- clamp(num, minNum * 2^STATE_EXTRA_BITS, maxNum * 2^STATE_EXTRA_BITS)
 *   outcomes <- min(outcomes + 1, (downShift - downShiftStart) * outcomesPerShift)
 *
 * and the update's margin uses the new num. At every stage the up step balances the down step in log terms:
 * ln(1 + u_k) = 99 (-ln(1 - d_k)) (rounded up), so the drift is zero exactly when P(breach) = 1 %, whatever
 * the market's tail-to-volatility ratio. The first outcomes move fast (a deployed scale fitted on another year
 * can be far off: the 2021 scales cover 2022 at 0.0-0.2 % breaches), then the step halves every
 * outcomesPerShift outcomes down to 2^-downShift, where the scale wanders less and so costs less margin for the
 * same coverage. The rule then keeps tracking at that step through later regime changes.
 *
 * Bars without an accepted update: the oracle keeps the last accepted margin in force (what the backtest
 * evaluates on such a bar) and the state does not move. Each accepted update processes one pending outcome, the
 * oldest; an outcome whose bar s + 12 got no update is processed by a later one (with lag > 0), so a submitter
 * cannot drop a breach by skipping the bar that would count it. An outcome is lost only when it is still pending
 * 24 bars after its bar (fewer accepted updates than pending outcomes over that span), or when a bar of s..s+12
 * is missing from the signed candles. So the backtest simulates exactly what the chain would see. The rule uses
 * only the signed window of bar t (the candles s..s+12 lie inside it), the margin MM_s and lag the oracle's ring
 * gives, and the two state integers.
 */
import type { CandleSeries } from "../candles/types";
import { ModelError } from "../core/errors";
import { integerCandleOf } from "../candles/integer-candle";
import { integerPolicy } from "./integer-engine";
import type { QuantizedPolicy } from "./quantized-model";
import { MAX_OUTCOME_LAG, TARGET_HORIZON_BARS } from "./target";

/**
 * The rule checks each accepted margin against the move of the TARGET_HORIZON_BARS bars after it, so it runs
 * only on a model whose margins are for that horizon (a ModelError naming both horizons otherwise).
 */
export function checkAdaptiveHorizon(model: { targetHorizonBars: number }): void {
  if (model.targetHorizonBars !== TARGET_HORIZON_BARS) {
    throw new ModelError(
      `the adaptive rule checks each margin against the move of the next ${TARGET_HORIZON_BARS} bars; ` +
        `this model's margins are for ${model.targetHorizonBars} bars (targetHorizonBars)`,
    );
  }
}

/** Extra bits of resolution of the adaptive state over calibrationNum. */
export const STATE_EXTRA_BITS = 8;

/** The calibrationNum a state gives (rounded up: conservative). */
export function stateToNum(state: bigint): bigint {
  return (state + (1n << BigInt(STATE_EXTRA_BITS)) - 1n) >> BigInt(STATE_EXTRA_BITS);
}

/** The constants of the adaptive rule (shipped in the calibrations file). */
export interface AdaptiveRule {
  /** Down step 2^-downShiftStart of the state per covered outcome right after deployment. */
  downShiftStart: number;
  /** Down step 2^-downShift once annealed (downShift >= downShiftStart). */
  downShift: number;
  /** Outcomes processed per annealing stage (the down shift grows by one after each stage). */
  outcomesPerShift: number;
  /** upNums[k]: the up step upNums[k] / 2^upShift at stage k (down shift downShiftStart + k). */
  upNums: number[];
  upShift: number;
  /** Bounds of the state, in calibrationNum units (the state is bounded by them times 2^STATE_EXTRA_BITS). */
  minNum: number;
  maxNum: number;
}

/** The state of the rule for one market: two integers, stored by the oracle. */
export interface AdaptiveState {
  /** Calibration at calibrationNum * 2^STATE_EXTRA_BITS. */
  num: bigint;
  /** Outcomes processed since deployment, capped at the last annealing stage's start. */
  outcomes: number;
}

/** The state at deployment with a calibrationNum (e.g. the market's fitted one). */
export function initialState(calibrationNum: number): AdaptiveState {
  return { num: BigInt(calibrationNum) << BigInt(STATE_EXTRA_BITS), outcomes: 0 };
}

/** upNum at upShift for a given downShift: (1 + u) = (1 - d)^-(1/p - 1), rounded up (conservative). */
export function balancedUpNum(downShift: number, upShift: number, breachProbability = 0.01): number {
  const d = 2 ** -downShift;
  const u = Math.pow(1 - d, -(1 / breachProbability - 1)) - 1;
  return Math.ceil(u * 2 ** upShift);
}

/** The annealing stage k of a state: min(downShift - downShiftStart, floor(outcomes / outcomesPerShift)). */
export function annealingStage(outcomes: number, r: AdaptiveRule): number {
  return Math.min(r.downShift - r.downShiftStart, Math.floor(outcomes / r.outcomesPerShift));
}

/** One step of the rule on a state (num at calibrationNum * 2^STATE_EXTRA_BITS). */
export function adaptiveStep(state: AdaptiveState, breached: boolean, r: AdaptiveRule): AdaptiveState {
  const { num } = state;
  const k = annealingStage(state.outcomes, r);
  let next = breached
    ? num + ((num * BigInt(r.upNums[k])) >> BigInt(r.upShift))
    : num - (num >> BigInt(r.downShiftStart + k));
  const lo = BigInt(r.minNum) << BigInt(STATE_EXTRA_BITS);
  const hi = BigInt(r.maxNum) << BigInt(STATE_EXTRA_BITS);
  if (next < lo) next = lo;
  if (next > hi) next = hi;
  const cap = (r.downShift - r.downShiftStart) * r.outcomesPerShift;
  return { num: next, outcomes: Math.min(state.outcomes + 1, cap) };
}

/**
 * Whether the realised 24 h move from bar s exceeds its margin, exactly in integers (prices at 8 decimals):
 * 10000 * max(close_s - minLow, maxHigh - close_s) > mmBps * close_s over bars s+1 .. s+12.
 */
export function integerBreach(
  closeS: bigint,
  lows: readonly bigint[],
  highs: readonly bigint[],
  mmBps: bigint,
): boolean {
  let lo = lows[0];
  let hi = highs[0];
  for (const v of lows) if (v < lo) lo = v;
  for (const v of highs) if (v > hi) hi = v;
  const down = closeS - lo;
  const up = hi - closeS;
  const move = down > up ? down : up;
  return 10000n * move > mmBps * closeS;
}

/**
 * The outcome of bar s = t - TARGET_HORIZON_BARS - lag as an update for bar t sees it in its signed window:
 * null ("no outcome") when there is no pending outcome (`mmS` 0) or a bar of s..s+12 is missing from the window,
 * else whether bar s's move breached `mmS` (`integerBreach` on the window's close of s and the highs and lows
 * of s+1..s+12, its range part). This is what the signed-update circuit proves (circuits/lib/adaptive.circom)
 * and what `runScaleRule` computes from a series: "bars s..s+12 all in the series" there is "no bar of s..s+12
 * missing" here.
 * @param bars the window's bars, oldest first, the last one bar t
 * @param mmS bar s's accepted maintenance margin in bps, 0 for none
 * @param lag bars of s beyond t - 12, in [0, MAX_OUTCOME_LAG] (`PendingOutcomes.prior`)
 */
export function windowOutcome(
  bars: readonly { close: bigint; high: bigint; low: bigint; missing: boolean }[],
  mmS: bigint,
  lag = 0,
): boolean | null {
  const h = TARGET_HORIZON_BARS;
  if (!(Number.isInteger(lag) && lag >= 0 && lag <= MAX_OUTCOME_LAG)) {
    throw new RangeError(`windowOutcome: lag ${lag} is not in [0, ${MAX_OUTCOME_LAG}]`);
  }
  if (bars.length < h + 1 + lag) {
    throw new RangeError(`windowOutcome: ${bars.length} bars, need ${h + 1 + lag}`);
  }
  const tail = bars.slice(bars.length - h - 1 - lag, bars.length - lag);
  if (mmS === 0n || tail.some((b) => b.missing || b.close === 0n)) return null;
  const later = tail.slice(1);
  return integerBreach(
    tail[0].close,
    later.map((b) => b.low),
    later.map((b) => b.high),
    mmS,
  );
}

/** The outcome an update for a bar processes: bar s = t - 12 - lag's accepted MM (0: none pending) and lag. */
export interface PendingPrior {
  marginS: bigint;
  lag: number;
}

/**
 * The accepted margins whose outcomes are still pending, exactly as the oracle keeps them (its ring of the
 * margins accepted for the last ADAPTIVE_RING_BARS = 24 bars, contracts/RiskOracle.sol): an accepted update for
 * bar t adds bar t's MM; it processes the OLDEST pending bar s with t - 23 <= s <= t - 12 (`prior`), which is
 * then no longer pending whether or not its outcome could be computed (a bar of s..s+12 missing); a pending bar
 * older than t - 23 when bar t is accepted is lost (its move no longer lies in a window the circuit selects
 * from). So an outcome whose bar t = s + 12 was skipped, by accident or on purpose, is processed by a later
 * update, and is lost only when fewer than one accepted update per pending outcome arrives over 24 bars.
 * Bars are bar numbers (a data timestamp / the bar's length), increasing from update to update.
 */
export class PendingOutcomes {
  private readonly pending = new Map<number, bigint>();

  /** What an update for bar `t` processes (`marginS` 0 and lag 0 when no outcome is pending in range). */
  prior(t: number): PendingPrior {
    const h = TARGET_HORIZON_BARS;
    for (let s = t - h - MAX_OUTCOME_LAG; s <= t - h; s++) {
      const mm = this.pending.get(s);
      if (mm !== undefined) return { marginS: mm, lag: t - h - s };
    }
    return { marginS: 0n, lag: 0 };
  }

  /**
   * Accept an update for bar `t` (newer than every earlier one) with maintenance margin `mm`: the outcome
   * `prior(t)` names is processed, bars older than t - 23 are dropped. Returns the dropped bars with their
   * margins (lost outcomes), oldest first.
   */
  accept(t: number, mm: bigint): { bar: number; marginS: bigint }[] {
    const chosen = this.prior(t);
    if (chosen.marginS !== 0n) this.pending.delete(t - TARGET_HORIZON_BARS - chosen.lag);
    const lost: { bar: number; marginS: bigint }[] = [];
    for (const [bar, marginS] of this.pending) {
      if (bar < t - TARGET_HORIZON_BARS - MAX_OUTCOME_LAG) {
        lost.push({ bar, marginS });
        this.pending.delete(bar);
      }
    }
    if (mm !== 0n) this.pending.set(t, mm);
    return lost.sort((a, b) => a.bar - b.bar);
  }
}

/**
 * The state after an accepted update whose window's outcome is `outcome` (`windowOutcome`): one
 * `adaptiveStep` for a breach or a covered bar, the same state for "no outcome". The oracle stores the result
 * and this update's margins use `stateToNum(result.num)`.
 */
export function adaptiveUpdate(
  state: AdaptiveState,
  outcome: boolean | null,
  r: AdaptiveRule,
): AdaptiveState {
  return outcome === null ? state : adaptiveStep(state, outcome, r);
}

/**
 * One accepted adaptive update as its signed window sees it, what the signed-update circuit proves and the oracle
 * stores: bar s's outcome (`windowOutcome`), the state after it (`adaptiveUpdate`), that state's calibrationNum,
 * and the policy's margins at it on the network output `y`. The prover's input, its check of a proof, the prover
 * service's precheck and the audit's replay all take it from here.
 */
export function adaptiveWindowUpdate(
  policy: QuantizedPolicy,
  y: bigint,
  bars: Parameters<typeof windowOutcome>[0],
  prior: { state: AdaptiveState } & PendingPrior,
  rule: AdaptiveRule,
): {
  outcome: boolean | null;
  after: AdaptiveState;
  calibrationNum: bigint;
  margins: ReturnType<typeof integerPolicy>;
} {
  const outcome = windowOutcome(bars, prior.marginS, prior.lag);
  const after = adaptiveUpdate(prior.state, outcome, rule);
  const calibrationNum = stateToNum(after.num);
  return {
    outcome,
    after,
    calibrationNum,
    margins: integerPolicy({ ...policy, calibrationNum: Number(calibrationNum) }, y),
  };
}

/**
 * A calibration rule as the oracle would run it, in integers: a state per market, the calibrationNum it gives,
 * and one step per processed outcome. The shipped rule is `annealedRule(rule)`; the selection sweep
 * (scripts/adaptive-sweep.ts) runs other members of the family and a few rules outside it through the same
 * simulation.
 */
export interface ScaleRule<S> {
  /** The state at deployment with a calibrationNum (e.g. the market's fitted one). */
  initial(calibrationNum: number): S;
  /** The calibrationNum (at the policy's calibration shift) the state gives. */
  calibrationNum(state: S): bigint;
  /** The state after one outcome (breached: the realised move exceeded that bar's maintenance margin). */
  step(state: S, breached: boolean): S;
}

/** The shipped annealed rule (adaptiveStep) as a ScaleRule. */
export function annealedRule(rule: AdaptiveRule): ScaleRule<AdaptiveState> {
  return {
    initial: initialState,
    calibrationNum: (state) => stateToNum(state.num),
    step: (state, breached) => adaptiveStep(state, breached, rule),
  };
}

/** The simulated on-chain run of a rule over a series. */
export interface ScaleRuleRun<S> {
  /** Margin in force at each bar (the last accepted one), null before the first accepted update. */
  maintenanceMarginBps: (number | null)[];
  initialMarginBps: (number | null)[];
  /** The state after each accepted update (null on bars without one). */
  state: (S | null)[];
  /** Outcomes processed (bars s whose 24 h move was compared with their margin). */
  outcomes: number;
  /** Accepted updates. */
  updates: number;
}

/** The simulated on-chain run of the shipped rule over a series. */
export type AdaptiveRun = ScaleRuleRun<AdaptiveState>;

/**
 * The calibration scale in force at each bar of a run: that of the last accepted update (calibrationNum /
 * 2^shift), null before the first.
 */
export function scaleInForce(states: readonly (AdaptiveState | null)[], shift: number): (number | null)[] {
  let last: number | null = null;
  return states.map((state) => {
    if (state !== null) last = Number(stateToNum(state.num)) / 2 ** shift;
    return last;
  });
}

/**
 * Run the shipped rule over a series.
 * @param outputs the network output y (integer, scale 2^outputScaleBits) per bar, null where the model has no
 *   features (no update can be proven there).
 * @param accepted whether an update is accepted at bar t (e.g. all bars, or a pattern of missed bars).
 * @param policy the quantised policy (its calibrationNum is replaced by the state).
 * @param initialNum the state before the first update (the market's fitted calibration).
 * @param startMs deployment: bars opening before it get no update (no margin, no state change).
 */
export function runAdaptive(
  series: CandleSeries,
  outputs: readonly (bigint | null)[],
  accepted: (t: number) => boolean,
  policy: QuantizedPolicy,
  initialNum: number,
  rule: AdaptiveRule,
  startMs = -Infinity,
): AdaptiveRun {
  return runScaleRule(series, outputs, accepted, policy, initialNum, annealedRule(rule), startMs);
}

/** Run any ScaleRule over a series, exactly as runAdaptive runs the shipped one (same parameters). */
export function runScaleRule<S>(
  series: CandleSeries,
  outputs: readonly (bigint | null)[],
  accepted: (t: number) => boolean,
  policy: QuantizedPolicy,
  initialNum: number,
  rule: ScaleRule<S>,
  startMs = -Infinity,
): ScaleRuleRun<S> {
  const { candles, intervalMs } = series;
  const n = candles.length;
  const h = TARGET_HORIZON_BARS;
  const ints = candles.map((c) => integerCandleOf(c, series.source));
  // bar number (open time / interval, as the oracle's data timestamp / 7200) -> index in the series
  const barOf = (i: number) => Math.round(candles[i].time / intervalMs);
  const indexOfBar = new Map<number, number>();
  for (let i = 0; i < n; i++) indexOfBar.set(barOf(i), i);
  const pending = new PendingOutcomes();
  const out: ScaleRuleRun<S> = {
    maintenanceMarginBps: new Array(n).fill(null),
    initialMarginBps: new Array(n).fill(null),
    state: new Array(n).fill(null),
    outcomes: 0,
    updates: 0,
  };
  let state = rule.initial(initialNum);
  let inForce: { mm: number; im: number } | null = null;
  for (let t = 0; t < n; t++) {
    const y = outputs[t];
    if (y !== null && candles[t].time >= startMs && accepted(t)) {
      // The oldest pending outcome (bar s = t - 12 - lag), processed when bars s..s+12 are all in the series.
      const bar = barOf(t);
      const { marginS, lag } = pending.prior(bar);
      if (marginS !== 0n) {
        const s = indexOfBar.get(bar - h - lag);
        const end = indexOfBar.get(bar - lag);
        if (s !== undefined && end === s + h) {
          const lows: bigint[] = [];
          const highs: bigint[] = [];
          for (let k = s + 1; k <= end; k++) {
            lows.push(ints[k].low);
            highs.push(ints[k].high);
          }
          state = rule.step(state, integerBreach(ints[s].close, lows, highs, marginS));
          out.outcomes++;
        }
      }
      const p = integerPolicy({ ...policy, calibrationNum: Number(rule.calibrationNum(state)) }, y);
      pending.accept(bar, p.maintenanceMarginBps);
      inForce = { mm: Number(p.maintenanceMarginBps), im: Number(p.initialMarginBps) };
      out.state[t] = state;
      out.updates++;
    }
    if (inForce !== null) {
      out.maintenanceMarginBps[t] = inForce.mm;
      out.initialMarginBps[t] = inForce.im;
    }
  }
  return out;
}

/**
 * A deterministic pattern of missed updates: bar t is accepted unless a 32-bit hash of (seed, t) falls below
 * missRate (a fraction in [0, 1)). missRate 0 accepts every bar.
 */
export function acceptancePattern(missRate: number, seed = 12): (t: number) => boolean {
  if (!(missRate >= 0 && missRate < 1)) throw new RangeError(`missRate must be in [0, 1), got ${missRate}`);
  return (t: number) => {
    let x = (Math.imul(t + 1, 0x9e3779b1) ^ Math.imul(seed, 0x85ebca6b)) >>> 0;
    x = Math.imul(x ^ (x >>> 16), 0x7feb352d) >>> 0;
    x = Math.imul(x ^ (x >>> 15), 0x846ca68b) >>> 0;
    x = (x ^ (x >>> 16)) >>> 0;
    return x / 2 ** 32 >= missRate;
  };
}
