/**
 * The backtest: per-bar maintenance margins of several models against the realised 24 h adverse move, on
 * the same bars for every model: the breach rate, the coverage tests on non-overlapping daily samples
 * (coverage.ts: Kupiec, Christoffersen independence and conditional coverage, per phase offset, median and
 * worst), Kupiec over every bar (over-confident: neighbouring targets overlap; kept for comparison), the
 * average margins and the largest shortfall after a breach.
 */
import {
  calibrateEwmaK,
  ewmaVolatility,
  NINETY_DAYS_MS,
  rollingHistoricalQuantile,
  staticQuantile,
} from "./baselines";
import {
  coverageValid,
  coverageVerdict,
  dailyCoverage,
  type CoverageVerdict,
  type DailyCoverage,
} from "./coverage";
import { InsufficientDataError } from "../core/errors";
import { kupiecPof } from "./kupiec";
import { marginFromQuantile, type MarginPolicy } from "./policy";
import { barLogReturns } from "./returns";
import { targetObservedAt } from "./target";
import type { CandleSeries } from "../candles/types";
import { isoFromMsOr } from "../core/time";

/** Breach probability a 99 % margin promises per bar (fraction). */
export const BACKTEST_BREACH_PROBABILITY = 0.01;

/** The baselines' names in every report: a fixed quantile, an EWMA volatility scale and a rolling quantile. */
export const BASELINE_NAMES: readonly string[] = ["static-q99", "ewma-0.94", "rolling-90d-q99"];

/** Margins of one model, per bar, aligned with `series.candles`; null where the model has no estimate. */
export interface MarginSeries {
  /** Model name, as printed in the report. */
  name: string;
  /** Maintenance margin per bar, bps of notional. */
  maintenanceMarginBps: (number | null)[];
  /** Initial margin per bar, bps of notional (non-null wherever the maintenance margin is). */
  initialMarginBps: (number | null)[];
  /** Why a bar has no margin (where the maintenance margin is null), when the model says. */
  missing?: (string | null)[];
  /**
   * The calibration scale (calibrationNum / 2^calibrationShift) each bar's margin was computed with, for a
   * zkrisk model (the adaptive rule's moves bar by bar); null where the maintenance margin is.
   */
  scale?: (number | null)[];
}

/** Backtest outcome of one model over the evaluated bars. */
export interface BacktestModelResult {
  name: string;
  /** Bars with target_t > MM_t / 10000. */
  breaches: number;
  /** breaches / bars, a fraction (0.01 = 1 %). */
  breachRate: number;
  /**
   * Kupiec POF p-value of `breaches` out of `bars` against a 1 % breach probability, every bar a trial:
   * over-confident (the 24 h targets of neighbouring bars overlap); the daily tests are the ones to read.
   */
  kupiecP: number;
  /** Coverage tests on the 12 non-overlapping daily sample sequences. */
  daily: DailyCoverage;
  /** Median daily Kupiec, independence and conditional-coverage p-values all >= 0.05, on enough samples. */
  coverageValid: boolean;
  /** The same rule's three outcomes (models/coverage.ts): "valid", "not valid" or "too short". */
  coverage: CoverageVerdict;
  /** Largest realised move beyond MM on a breached bar, bps of notional (0 without a breach). */
  maxShortfallBps: number;
  /** Mean maintenance margin over the evaluated bars, bps of notional. */
  avgMaintenanceMarginBps: number;
  /** Mean initial margin over the evaluated bars, bps of notional. */
  avgInitialMarginBps: number;
  /**
   * Sharpness at matched coverage: the mean MM after scaling the model's margins by the one constant that
   * breaches on exactly floor(1 % of the bars) of these bars (`matchedCoverageScale`). Chosen in hindsight on
   * the evaluated bars, so no deployable margin: it compares how well models rank risk at equal coverage,
   * apart from how well they are calibrated.
   */
  matchedAvgMaintenanceMarginBps: number;
}

/** Backtest of several models on one common set of bars. */
export interface BacktestReport {
  /** ISO-8601 UTC open times of the first and last evaluated bar. */
  period: { from: string; to: string };
  /** Number of evaluated bars (the same for every model). */
  bars: number;
  models: BacktestModelResult[];
}

/** Optional bounds of the evaluated open times, ms since the Unix epoch, both inclusive. */
export interface BacktestRange {
  fromMs?: number;
  toMs?: number;
}

/**
 * Evaluate per-bar margins against the realised adverse move.
 *
 * A bar t is evaluated when its open time is in [fromMs, toMs] (either bound optional), target_t is known
 * (the full 24 h after it is present), and every model has a maintenance margin at t; so all models are
 * compared on the same bars. MM_t is breached when target_t > MM_t / 10000 (strictly).
 *
 * @param series the candles; `targets` and each model's margins are aligned with `series.candles`.
 * @param targets per-bar adverse move (fraction of close, see adverseMoveTargets), null where unknown.
 * @param models the margin series to compare (at least one).
 * @param opts inclusive bounds on the evaluated open times (ms).
 * @throws RangeError when an array is misaligned or a model lacks an initial margin on an evaluated bar.
 * @throws InsufficientDataError when no bar of the period can be evaluated.
 */
export function evaluateBacktest(
  series: CandleSeries,
  targets: (number | null)[],
  models: MarginSeries[],
  opts: BacktestRange = {},
): BacktestReport {
  const { candles } = series;
  const n = candles.length;
  if (targets.length !== n) {
    throw new RangeError(
      `evaluateBacktest: targets has ${targets.length} entries, expected ${n} (one per bar)`,
    );
  }
  if (models.length === 0) throw new RangeError("evaluateBacktest: no model to evaluate");
  for (const m of models) {
    for (const [field, arr] of [
      ["maintenanceMarginBps", m.maintenanceMarginBps],
      ["initialMarginBps", m.initialMarginBps],
    ] as const) {
      if (arr.length !== n) {
        throw new RangeError(
          `evaluateBacktest: model "${m.name}" ${field} has ${arr.length} entries, expected ${n} (one per bar)`,
        );
      }
    }
  }
  const { fromMs, toMs } = opts;
  for (const [k, v] of [
    ["fromMs", fromMs],
    ["toMs", toMs],
  ] as const) {
    if (v !== undefined && !Number.isFinite(v)) {
      throw new RangeError(`evaluateBacktest: ${k} must be a finite time in ms, got ${v}`);
    }
  }

  const evaluated: number[] = [];
  for (let t = 0; t < n; t++) {
    const time = candles[t].time;
    if (fromMs !== undefined && time < fromMs) continue;
    if (toMs !== undefined && time > toMs) continue;
    if (targets[t] === null) continue;
    if (models.every((m) => m.maintenanceMarginBps[t] !== null)) evaluated.push(t);
  }
  if (evaluated.length === 0) {
    throw new InsufficientDataError(
      `evaluateBacktest: no bar of ${series.source} in [${isoFromMsOr(fromMs, "start")}, ${isoFromMsOr(toMs, "end")}] ` +
        `has a target and a maintenance margin from every model`,
    );
  }

  const bars = evaluated.length;
  const results = models.map((m): BacktestModelResult => {
    let breaches = 0;
    let sumMm = 0;
    let sumIm = 0;
    let maxShortfall = 0;
    const breached: boolean[] = [];
    const ratios: number[] = [];
    for (const t of evaluated) {
      const y = targets[t] as number; // non-null: filtered above
      const mm = m.maintenanceMarginBps[t] as number; // non-null: filtered above
      const im = m.initialMarginBps[t];
      if (im === null) {
        throw new RangeError(
          `evaluateBacktest: model "${m.name}" has a maintenance but no initial margin at bar ${t} ` +
            `(${new Date(candles[t].time).toISOString()})`,
        );
      }
      const breach = y > mm / 10000;
      breached.push(breach);
      ratios.push(mm > 0 ? (y * 10000) / mm : y > 0 ? Infinity : 0);
      if (breach) {
        breaches++;
        maxShortfall = Math.max(maxShortfall, y * 10000 - mm);
      }
      sumMm += mm;
      sumIm += im;
    }
    const daily = dailyCoverage(
      evaluated.map((t) => candles[t].time),
      breached,
      series.intervalMs,
      BACKTEST_BREACH_PROBABILITY,
    );
    return {
      name: m.name,
      breaches,
      breachRate: breaches / bars,
      kupiecP: kupiecPof(breaches, bars, BACKTEST_BREACH_PROBABILITY),
      daily,
      coverageValid: coverageValid(daily),
      coverage: coverageVerdict(daily),
      maxShortfallBps: maxShortfall,
      avgMaintenanceMarginBps: sumMm / bars,
      avgInitialMarginBps: sumIm / bars,
      matchedAvgMaintenanceMarginBps: (matchedCoverageScale(ratios) * sumMm) / bars,
    };
  });

  return {
    period: {
      from: new Date(candles[evaluated[0]].time).toISOString(),
      to: new Date(candles[evaluated[bars - 1]].time).toISOString(),
    },
    bars,
    models: results,
  };
}

/**
 * The smallest constant c such that scaled margins c * MM_t breach (target_t > c * MM_t / 10000, strictly) on at
 * most floor(p * n) of n bars, given each bar's ratio target_t * 10000 / MM_t (Infinity where MM_t is 0, a bar
 * no scale covers). It is the ratio ranked floor(p * n) + 1 from the top: the bars above it are exactly the
 * allowed breaches (ties with it are covered, the test being strict). Infinity when the allowed breaches cannot
 * absorb the zero margins.
 */
export function matchedCoverageScale(ratios: readonly number[], p = BACKTEST_BREACH_PROBABILITY): number {
  if (ratios.length === 0) throw new RangeError("matchedCoverageScale: no bar");
  const allowed = Math.floor(p * ratios.length);
  if (allowed >= ratios.length) return 0;
  return [...ratios].sort((a, b) => b - a)[allowed];
}

/** Inclusive range of open times, ms since the Unix epoch. */
export interface TimeRange {
  fromMs: number;
  toMs: number;
}

/** Per-bar margins from per-bar q99 (fraction of close) under `policy`; null q99 gives null margins. */
function marginsOf(name: string, q99: (number | null)[], policy: MarginPolicy): MarginSeries {
  const mm: (number | null)[] = [];
  const im: (number | null)[] = [];
  for (const q of q99) {
    if (q === null) {
      mm.push(null);
      im.push(null);
    } else {
      const m = marginFromQuantile(q, policy);
      mm.push(m.maintenanceMarginBps);
      im.push(m.initialMarginBps);
    }
  }
  return { name, maintenanceMarginBps: mm, initialMarginBps: im };
}

/**
 * The three baselines, as margins under the same policy as the model:
 *  - "static-q99": the 99 % quantile of the training targets, for every bar;
 *  - "ewma-0.94": k * sigma_t, sigma from RiskMetrics EWMA (lambda 0.94, 84-bar seed) of bar log returns,
 *    k calibrated so k * sigma covers 99 % of the training bars;
 *  - "rolling-90d-q99": the 99 % quantile of the targets observed by each bar's close over the last 90 days.
 * Training bars (for static and for k) are those whose open time is in trainRange and whose target is
 * fully observed by trainRange.toMs, so nothing after the end of training leaks in.
 *
 * @param series the candles.
 * @param targets per-bar adverse move (fraction of close), aligned with `series.candles`.
 * @param policy the margin policy shared with the model.
 * @param trainRange inclusive training period, open times in ms.
 * @throws InsufficientDataError when the training period has no usable target (or no seeded sigma).
 */
export function baselineMargins(
  series: CandleSeries,
  targets: (number | null)[],
  policy: MarginPolicy,
  trainRange: TimeRange,
): MarginSeries[] {
  const { candles, intervalMs } = series;
  if (targets.length !== candles.length) {
    throw new RangeError(
      `baselineMargins: targets has ${targets.length} entries, expected ${candles.length} (one per bar)`,
    );
  }
  const { fromMs, toMs } = trainRange;
  if (!(Number.isFinite(fromMs) && Number.isFinite(toMs) && fromMs <= toMs)) {
    throw new RangeError(
      `baselineMargins: trainRange must have finite fromMs <= toMs, got [${fromMs}, ${toMs}]`,
    );
  }
  const isTrainingBar = (t: number): boolean => {
    const time = candles[t].time;
    return time >= fromMs && time <= toMs && targetObservedAt(time, intervalMs) <= toMs;
  };

  const trainTargets: number[] = [];
  targets.forEach((y, t) => {
    if (y !== null && isTrainingBar(t)) trainTargets.push(y);
  });
  const staticQ = staticQuantile(trainTargets, 0.99);

  const sigmas = ewmaVolatility(barLogReturns(series), 0.94, 84);
  const k = calibrateEwmaK(targets, sigmas, isTrainingBar, 0.99);

  return [
    marginsOf(
      BASELINE_NAMES[0],
      candles.map(() => staticQ),
      policy,
    ),
    marginsOf(
      BASELINE_NAMES[1],
      sigmas.map((s) => (s === null ? null : k * s)),
      policy,
    ),
    rollingBaselineMargins(series, targets, policy),
  ];
}

/** The rolling 90-day baseline alone: it needs no fit, only 90 days of history before a bar. */
export function rollingBaselineMargins(
  series: CandleSeries,
  targets: (number | null)[],
  policy: MarginPolicy,
): MarginSeries {
  return marginsOf(
    BASELINE_NAMES[2],
    rollingHistoricalQuantile(series, targets, NINETY_DAYS_MS, 0.99),
    policy,
  );
}

/** What the goal reads of a model's result: a market's (`BacktestModelResult`) or a pool's. */
export type GoalInput = Pick<BacktestModelResult, "name" | "coverage" | "avgMaintenanceMarginBps">;

/**
 * Issue 12's goal for one model on one market or pool: its coverage is valid by the daily tests, and its
 * average MM is below that of every other model in `others` whose own coverage is valid by the same tests.
 * `others` are the baselines evaluated on the same bars; without any, the goal is not met (being below no
 * baseline at all shows nothing).
 */
export interface GoalVerdict {
  model: string;
  met: boolean;
  /** The model's own coverage verdict: the goal needs "valid". */
  coverage: CoverageVerdict;
  /** The valid models of `others` whose average MM is at or below the model's (why the goal is not met). */
  lowerValid: { name: string; avgMaintenanceMarginBps: number }[];
}

/**
 * The goal for `model` against `others` (the baselines evaluated on the same bars). Without any baseline the
 * goal is not met: a model compared with nothing is not "below every valid baseline".
 */
export function goalVerdict(model: GoalInput, others: readonly GoalInput[]): GoalVerdict {
  const lowerValid = others
    .filter((o) => o.coverage === "valid" && o.avgMaintenanceMarginBps <= model.avgMaintenanceMarginBps)
    .map((o) => ({ name: o.name, avgMaintenanceMarginBps: o.avgMaintenanceMarginBps }));
  return {
    model: model.name,
    met: model.coverage === "valid" && others.length > 0 && lowerValid.length === 0,
    coverage: model.coverage,
    lowerValid,
  };
}

/** The goal for each model of a report that is not a baseline, against the report's baselines. */
export function goalVerdicts(models: readonly GoalInput[]): GoalVerdict[] {
  const baselines = models.filter((m) => BASELINE_NAMES.includes(m.name));
  return models.filter((m) => !BASELINE_NAMES.includes(m.name)).map((m) => goalVerdict(m, baselines));
}

/** One line: each model's goal verdict, and why where it is not met (empty without a model to judge). */
export function goalSummary(goal: readonly GoalVerdict[]): string {
  if (goal.length === 0) return "";
  const why = (g: GoalVerdict) => {
    const reasons = [
      ...(g.coverage === "valid" ? [] : [`coverage ${g.coverage}`]),
      ...g.lowerValid.map((b) => `${b.name} ${b.avgMaintenanceMarginBps.toFixed(1)} bps`),
    ];
    // Valid and below every baseline, yet not met: there was no baseline on the same bars to be below.
    return reasons.length === 0 ? ["no baseline evaluated on the same bars"] : reasons;
  };
  return (
    "goal (valid, and avg MM below every valid baseline): " +
    goal.map((g) => `${g.model} ${g.met ? "met" : `not met (${why(g).join(", ")})`}`).join("; ")
  );
}
