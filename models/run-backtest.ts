/**
 * The backtest as the CLI runs it: the model (as given: quantised = what would be deployed) with its market's
 * calibration (calibrations.ts), optionally the adaptive calibration simulated as on chain (adaptive.ts), and
 * the three baselines, on any candle file of any length. The model needs only its 85-bar feature window.
 * Baselines are fitted on the model's training period when the file covers it and it ends before the
 * evaluated period (its last target observed by the period's start), otherwise on the part of the file before
 * the evaluated period: never on the evaluated bars' future. A baseline that cannot be fitted there, or has no
 * estimate on some evaluated bar, is reported as unavailable (with the reason) instead of refusing the run.
 */
import {
  BASELINE_NAMES,
  baselineMargins,
  evaluateBacktest,
  goalVerdict,
  goalVerdicts,
  rollingBaselineMargins,
  type BacktestModelResult,
  type BacktestReport,
  type GoalVerdict,
  type MarginSeries,
} from "./backtest";
import { acceptancePattern, runAdaptive, scaleInForce, type AdaptiveRule } from "./adaptive";
import { integerOutputs, marketOfFile, type MarketScale } from "./market-calibrations";
import {
  chi2Sf1,
  chi2Sf2,
  christoffersenLr,
  coverageValid,
  coverageVerdict,
  DAILY_OFFSETS,
  kupiecLr,
  medianSamples,
  summarise,
  type CoverageSummary,
  type CoverageVerdict,
} from "./coverage";
import { InsufficientDataError, ModelError } from "../core/errors";
import { kupiecPof } from "./kupiec";
import { modelMarginSeries, type AnyModel } from "./predict";
import { adverseMoveTargets, TARGET_HORIZON_BARS, targetObservedAt } from "./target";
import type { CandleSeries } from "../candles/types";
import { WINDOW_BARS } from "../candles/window";

/** Least number of fully observed targets the static and EWMA baseline fits need. */
export const MIN_BASELINE_TRAIN_BARS = 1000;

/** A model that could not be evaluated, and why. */
export interface UnavailableModel {
  name: string;
  reason: string;
}

/** The backtest report plus where the baselines were fitted and what could not be evaluated. */
export interface FullBacktestReport extends BacktestReport {
  /** The market label, when known. */
  market?: string;
  /** The calibration the model ran with, and for a market's own the bars it was fitted on. */
  calibration: {
    num: number;
    shift: number;
    source: "model file" | "fitted" | "new-market rule";
    fittedOn?: { from: string; to: string };
  };
  /** The bars the static and EWMA baselines were fitted on: the open times of the first and last, and how many. */
  baselineTraining: {
    from: string;
    to: string;
    bars: number;
    source: "model-training-period" | "file-before-period";
  };
  unavailable: UnavailableModel[];
  /**
   * Bars of the period with a full 24 h ahead that are not evaluated, because a model (the first without a
   * margin there) has none, by reason: e.g. features outside the model's bounds, where no update can be proven.
   */
  notEvaluated: NotEvaluated[];
  /** Issue 12's goal for each model that is not a baseline: valid, and below every valid baseline. */
  goal: GoalVerdict[];
  /**
   * Evaluated bars the model was fitted on, so judged in sample: its network's training or validation split
   * (when the market is the one it was trained on) and the bars its calibration was fitted on. Empty when the
   * whole period is out of sample.
   */
  inSample: InSample[];
}

/** Evaluated bars that a fit of the model used: which fit, and the open times of the first and last such bar. */
export interface InSample {
  fit: "network training" | "network validation" | "calibration";
  from: string;
  to: string;
}

/** What an in-sample stretch means, in words for the text and HTML reports. */
export function inSampleWords(i: InSample): string {
  switch (i.fit) {
    case "network training":
      return "the network was trained on these bars";
    case "network validation":
      return "early stopping chose the network's epoch on these bars";
    case "calibration":
      return "the calibration was fitted on these bars";
  }
}

/**
 * The evaluated period's overlaps with what the model was fitted on (`FullBacktestReport.inSample`).
 * @param period the open times (ISO 8601) of the first and last evaluated bar.
 * @param market the file's market, when known: the network's own splits count only on its training market.
 */
export function inSamplePeriods(
  m: AnyModel,
  period: { from: string; to: string },
  market: string | undefined,
  calibration: FullBacktestReport["calibration"],
): InSample[] {
  const out: InSample[] = [];
  const overlap = (fit: InSample["fit"], range: { from: string; to: string }) => {
    const from = Math.max(Date.parse(period.from), Date.parse(range.from));
    const to = Math.min(Date.parse(period.to), Date.parse(range.to));
    if (from <= to) out.push({ fit, from: new Date(from).toISOString(), to: new Date(to).toISOString() });
  };
  const { splits, data } = m.model.training;
  const ownMarket = market !== undefined && marketOfFile(data.file) === market;
  if (ownMarket) {
    overlap("network training", splits.train);
    overlap("network validation", splits.validation);
  }
  // The model file's own scale was fitted on its validation split of its training market; a market's own scale
  // on that market's validation split (calibrations.json).
  if (calibration.fittedOn !== undefined) overlap("calibration", calibration.fittedOn);
  else if (calibration.source === "model file" && ownMarket) overlap("calibration", splits.validation);
  return out;
}

/** Bars left out of a backtest for one reason, and the open times of the first and last of them. */
export interface NotEvaluated {
  reason: string;
  bars: number;
  from: string;
  to: string;
}

/** Options of a backtest beyond the period. */
export interface BacktestOptions {
  market?: string;
  /** The market's calibration (else the model file's own). */
  calibration?: MarketScale;
  /**
   * Also run the adaptive calibration, deployed at the start of the period (range.fromMs, else the first bar)
   * with the market's calibration as its state, missing updates at `missRate`.
   */
  adaptive?: { rule: AdaptiveRule; missRate: number };
  /** Collects the per-bar margin series (for --series and --report). */
  onSeries?: (series: CandleSeries, targets: (number | null)[], models: MarginSeries[]) => void;
}

/** The bars in [fromMs, toMs] whose target is observed by toMs: their number, and the first and last open time. */
function countTargets(
  series: CandleSeries,
  targets: (number | null)[],
  fromMs: number,
  toMs: number,
): { bars: number; first: number; last: number } {
  let bars = 0;
  let first = fromMs;
  let last = toMs;
  series.candles.forEach((c, t) => {
    if (
      targets[t] !== null &&
      c.time >= fromMs &&
      c.time <= toMs &&
      targetObservedAt(c.time, series.intervalMs) <= toMs
    ) {
      if (bars === 0) first = c.time;
      last = c.time;
      bars++;
    }
  });
  return { bars, first, last };
}

/**
 * The backtest judges margins for the move of the next TARGET_HORIZON_BARS bars: its samples a day apart, the
 * baselines' fits and the rolling window all take a target as known that many bars on. A ModelError naming both
 * horizons for a model of another one.
 */
export function checkBacktestHorizon(model: { targetHorizonBars: number }): void {
  if (model.targetHorizonBars !== TARGET_HORIZON_BARS) {
    throw new ModelError(
      `the backtest judges margins for the move of the next ${TARGET_HORIZON_BARS} bars (non-overlapping ` +
        `daily samples, baselines fitted on moves known by then); this model's margins are for ` +
        `${model.targetHorizonBars} bars (targetHorizonBars)`,
    );
  }
}

/** Backtest a model and the baselines over [fromMs, toMs] of a candle series. */
export function runBacktest(
  m: AnyModel,
  series: CandleSeries,
  range: { fromMs?: number; toMs?: number },
  modelName = m.kind === "quantized" ? "zkrisk-quantized" : "zkrisk-float",
  opts: BacktestOptions = {},
): FullBacktestReport {
  checkBacktestHorizon(m.model);
  const targets = adverseMoveTargets(series, m.model.targetHorizonBars);
  const unavailable: UnavailableModel[] = [];

  // The model, with the market's calibration when given (quantised models only: what is proven).
  let model = m;
  let calibration: FullBacktestReport["calibration"] =
    m.kind === "quantized"
      ? { num: m.model.policy.calibrationNum, shift: m.model.policy.calibrationShift, source: "model file" }
      : { num: m.model.calibration.num, shift: m.model.calibration.shift, source: "model file" };
  if (opts.calibration !== undefined) {
    if (m.kind !== "quantized")
      throw new ModelError("a market calibration applies to a quantised model only");
    model = {
      kind: "quantized",
      model: { ...m.model, policy: { ...m.model.policy, calibrationNum: opts.calibration.num } },
    };
    calibration = {
      num: opts.calibration.num,
      shift: m.model.policy.calibrationShift,
      source: opts.calibration.source,
      ...(opts.calibration.fittedOn === undefined ? {} : { fittedOn: opts.calibration.fittedOn }),
    };
  }
  const fixed = modelMarginSeries(model, series, modelName);
  const fixedScale = calibration.num / 2 ** calibration.shift;
  const models: MarginSeries[] = [
    { ...fixed, scale: fixed.maintenanceMarginBps.map((mm) => (mm === null ? null : fixedScale)) },
  ];
  if (opts.adaptive !== undefined) {
    if (model.kind !== "quantized")
      throw new ModelError("the adaptive calibration runs on a quantised model only");
    const run = runAdaptive(
      series,
      integerOutputs(model.model, series),
      acceptancePattern(opts.adaptive.missRate),
      model.model.policy,
      calibration.num,
      opts.adaptive.rule,
      range.fromMs,
    );
    models.push({
      name: `${modelName}-adaptive`,
      maintenanceMarginBps: run.maintenanceMarginBps,
      initialMarginBps: run.initialMarginBps,
      missing: run.maintenanceMarginBps.map((mm) =>
        mm === null ? "before the adaptive rule's first accepted update" : null,
      ),
      scale: scaleInForce(run.state, calibration.shift),
    });
  }

  // Baselines: fitted on the model's training period if the file covers it and its last target is observed
  // by the start of the backtest period, else on the file before the period. Never on targets observed after
  // the period starts: a static or EWMA fit on them would margin a bar with its own future.
  const split = m.model.training.splits.train;
  const firstTime = series.candles[0].time;
  const periodStart = range.fromMs ?? firstTime;
  let train = {
    fromMs: Date.parse(split.from),
    toMs: Date.parse(split.to) + (m.model.targetHorizonBars + 1) * series.intervalMs,
  };
  const trainingBeforePeriod = train.toMs <= periodStart;
  let source: FullBacktestReport["baselineTraining"]["source"] = "model-training-period";
  let counted = countTargets(series, targets, train.fromMs, train.toMs);
  const trainingCovered = counted.bars >= MIN_BASELINE_TRAIN_BARS;
  if (!trainingCovered || !trainingBeforePeriod) {
    const end = periodStart - series.intervalMs;
    train = { fromMs: firstTime, toMs: Math.max(firstTime, end) };
    source = "file-before-period";
    counted =
      end > firstTime
        ? countTargets(series, targets, train.fromMs, train.toMs)
        : { bars: 0, first: train.fromMs, last: train.toMs };
  }
  const bars = counted.bars;
  const fitted = bars >= MIN_BASELINE_TRAIN_BARS;
  const baselines = fitted
    ? baselineMargins(series, targets, m.model.policy, train)
    : [rollingBaselineMargins(series, targets, m.model.policy)];
  if (!fitted) {
    for (const name of ["static-q99", "ewma-0.94"]) {
      unavailable.push({
        name,
        reason:
          `needs ${MIN_BASELINE_TRAIN_BARS} fully observed bars to fit on: ` +
          (trainingCovered
            ? `the model's training period (${split.from} to ${split.to}) does not end before the backtest ` +
              `period (its targets are observed after the period starts)`
            : `the file does not cover the model's training period (${split.from} to ${split.to})`) +
          ` and the file has ${bars} before the backtest period`,
      });
    }
  }

  // Bars the model can be evaluated on; a baseline without an estimate on one of them is unavailable.
  const inRange = (t: number) =>
    (range.fromMs === undefined || series.candles[t].time >= range.fromMs) &&
    (range.toMs === undefined || series.candles[t].time <= range.toMs);
  const modelBars: number[] = [];
  const skipped = new Map<string, NotEvaluated>();
  targets.forEach((y, t) => {
    if (y === null || !inRange(t)) return;
    const without = models.find((s) => s.maintenanceMarginBps[t] === null);
    if (without === undefined) {
      modelBars.push(t);
      return;
    }
    const reason = `${without.name}: ${without.missing?.[t] ?? "no margin"}`;
    const time = new Date(series.candles[t].time).toISOString();
    const seen = skipped.get(reason);
    if (seen === undefined) skipped.set(reason, { reason, bars: 1, from: time, to: time });
    else {
      seen.bars++;
      seen.to = time;
    }
  });
  for (const b of baselines) {
    if (unavailable.some((u) => u.name === b.name)) continue;
    const missing = modelBars.filter((t) => b.maintenanceMarginBps[t] === null).length;
    if (missing === 0) models.push(b);
    else {
      unavailable.push({
        name: b.name,
        reason: `no estimate on ${missing} of the ${modelBars.length} evaluated bars (not enough history before them)`,
      });
    }
  }
  if (modelBars.length === 0) {
    const iso = (ms: number) => new Date(ms).toISOString().slice(0, 16);
    const c = series.candles;
    const asked =
      range.fromMs === undefined && range.toMs === undefined
        ? ""
        : `; the period asked is ${range.fromMs === undefined ? "its start" : iso(range.fromMs)} .. ${
            range.toMs === undefined ? "its end" : iso(range.toMs)
          }`;
    const why = [...skipped.values()].map((n) => `; ${n.bars} bars left out: ${n.reason}`).join("");
    throw new InsufficientDataError(
      `${series.source}: no bar of the period has both a full 24 h ahead and the model's ${WINDOW_BARS}-bar ` +
        `feature window (the file spans ${iso(c[0].time)} .. ${iso(c[c.length - 1].time)}${asked}${why})`,
    );
  }
  opts.onSeries?.(series, targets, models);
  const report = evaluateBacktest(series, targets, models, range);
  return {
    ...report,
    ...(opts.market === undefined ? {} : { market: opts.market }),
    calibration,
    baselineTraining: {
      from: new Date(counted.first).toISOString(),
      to: new Date(counted.last).toISOString(),
      bars,
      source,
    },
    unavailable,
    notEvaluated: [...skipped.values()],
    goal: goalVerdicts(report.models),
    inSample: inSamplePeriods(m, report.period, opts.market, calibration),
  };
}

/** Pooled figures of one model over several markets' reports. */
export interface PooledModelResult {
  name: string;
  markets: number;
  bars: number;
  breaches: number;
  breachRate: number;
  avgMaintenanceMarginBps: number;
  avgInitialMarginBps: number;
  /**
   * Bar-weighted mean of the markets' `matchedAvgMaintenanceMarginBps`: each market scaled to 1 % on its own
   * bars in hindsight (not one scale for the pool).
   */
  matchedAvgMaintenanceMarginBps: number;
  maxShortfallBps: number;
  /** Daily tests on the pooled counts: per offset, samples, breaches and transitions summed over markets. */
  daily: CoverageSummary;
  coverageValid: boolean;
  coverage: CoverageVerdict;
}

/** Pool each model over the reports that evaluated it (by name). */
export function poolReports(reports: readonly BacktestReport[]): PooledModelResult[] {
  const names = [...new Set(reports.flatMap((r) => r.models.map((m) => m.name)))];
  return names.map((name) => {
    const rs = reports
      .map((r) => ({ bars: r.bars, m: r.models.find((x) => x.name === name) }))
      .filter((x): x is { bars: number; m: BacktestModelResult } => x.m !== undefined);
    const bars = rs.reduce((a, x) => a + x.bars, 0);
    const breaches = rs.reduce((a, x) => a + x.m.breaches, 0);
    const kp: number[] = [];
    const ip: number[] = [];
    const cp: number[] = [];
    const samples: number[] = [];
    for (let k = 0; k < DAILY_OFFSETS; k++) {
      let n = 0;
      let b = 0;
      const tr = { n00: 0, n01: 0, n10: 0, n11: 0 };
      for (const x of rs) {
        const o = x.m.daily.offsets[k];
        n += o.samples;
        b += o.breaches;
        tr.n00 += o.transitions.n00;
        tr.n01 += o.transitions.n01;
        tr.n10 += o.transitions.n10;
        tr.n11 += o.transitions.n11;
      }
      if (n === 0) continue;
      samples.push(n);
      const lrInd = christoffersenLr(tr);
      kp.push(kupiecPof(b, n, 0.01));
      ip.push(chi2Sf1(lrInd));
      cp.push(chi2Sf2(kupiecLr(b, n, 0.01) + lrInd));
    }
    const daily: CoverageSummary = {
      kupiec: summarise(kp),
      independence: summarise(ip),
      conditional: summarise(cp),
      samples: medianSamples(samples),
    };
    return {
      name,
      markets: rs.length,
      bars,
      breaches,
      breachRate: breaches / bars,
      avgMaintenanceMarginBps: rs.reduce((a, x) => a + x.m.avgMaintenanceMarginBps * x.bars, 0) / bars,
      avgInitialMarginBps: rs.reduce((a, x) => a + x.m.avgInitialMarginBps * x.bars, 0) / bars,
      matchedAvgMaintenanceMarginBps:
        rs.reduce((a, x) => a + x.m.matchedAvgMaintenanceMarginBps * x.bars, 0) / bars,
      maxShortfallBps: Math.max(...rs.map((x) => x.m.maxShortfallBps)),
      daily,
      coverageValid: coverageValid(daily),
      coverage: coverageVerdict(daily),
    };
  });
}

/**
 * Issue 12's goal on the pooled figures: each model that is not a baseline against the baselines pooled over
 * the same markets as it, so on the same bars. A baseline unavailable on some of the model's markets is pooled
 * over other bars (`markets` tells how many): comparing its average MM with the model's would compare other
 * markets, so it is left out; with no baseline left, the goal is not met (`goalVerdict`).
 * @param reports the markets' reports, as pooled by `poolReports`.
 * @param pooled `poolReports(reports)`.
 */
export function pooledGoalVerdicts(
  reports: readonly BacktestReport[],
  pooled: readonly PooledModelResult[],
): GoalVerdict[] {
  const marketsOf = (name: string) =>
    reports
      .map((r, i) => (r.models.some((m) => m.name === name) ? i : -1))
      .filter((i) => i >= 0)
      .join(",");
  const baselines = pooled.filter((p) => BASELINE_NAMES.includes(p.name));
  return pooled
    .filter((p) => !BASELINE_NAMES.includes(p.name))
    .map((p) =>
      goalVerdict(
        p,
        baselines.filter((b) => marketsOf(b.name) === marketsOf(p.name)),
      ),
    );
}
