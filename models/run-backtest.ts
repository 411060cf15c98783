/**
 * The backtest as the CLI runs it: the model (as given: quantised = what would be deployed) against the
 * three baselines, on any candle file. Baselines are fitted on the model's training period when the file
 * covers it, otherwise on the part of the file before the evaluated period.
 */
import { baselineMargins, evaluateBacktest, type BacktestReport } from "./backtest";
import { InsufficientDataError } from "./errors";
import { modelMarginSeries, type AnyModel } from "./predict";
import { adverseMoveTargets, targetObservedAt } from "./target";
import type { CandleSeries } from "./types";

/** Least number of fully observed targets a baseline fit needs. */
export const MIN_BASELINE_TRAIN_BARS = 1000;

/** The backtest report plus where the baselines were fitted. */
export interface FullBacktestReport extends BacktestReport {
  baselineTraining: {
    from: string;
    to: string;
    bars: number;
    source: "model-training-period" | "file-before-period";
  };
}

function countTargets(
  series: CandleSeries,
  targets: (number | null)[],
  fromMs: number,
  toMs: number,
): number {
  let n = 0;
  series.candles.forEach((c, t) => {
    if (
      targets[t] !== null &&
      c.time >= fromMs &&
      c.time <= toMs &&
      targetObservedAt(c.time, series.intervalMs) <= toMs
    )
      n++;
  });
  return n;
}

/** Backtest a model and the baselines over [fromMs, toMs] of a candle series. */
export function runBacktest(
  m: AnyModel,
  series: CandleSeries,
  range: { fromMs?: number; toMs?: number },
  modelName = m.kind === "quantized" ? "zkrisk-quantized" : "zkrisk-float",
): FullBacktestReport {
  const targets = adverseMoveTargets(series, m.model.targetHorizonBars);
  const split = m.model.training.splits.train;
  let train = {
    fromMs: Date.parse(split.from),
    toMs: Date.parse(split.to) + (m.model.targetHorizonBars + 1) * series.intervalMs,
  };
  let source: FullBacktestReport["baselineTraining"]["source"] = "model-training-period";
  let bars = countTargets(series, targets, train.fromMs, train.toMs);
  if (bars < MIN_BASELINE_TRAIN_BARS) {
    const firstTime = series.candles[0].time;
    const end = (range.fromMs ?? firstTime) - series.intervalMs;
    train = { fromMs: firstTime, toMs: end };
    source = "file-before-period";
    bars = end > firstTime ? countTargets(series, targets, train.fromMs, train.toMs) : 0;
    if (bars < MIN_BASELINE_TRAIN_BARS) {
      throw new InsufficientDataError(
        `${series.source}: the baselines need ${MIN_BASELINE_TRAIN_BARS} fully observed bars to fit on: the file does not ` +
          `cover the model's training period (${split.from} to ${split.to}) and has ${bars} before the backtest ` +
          `period; pass an earlier file or a later --from`,
      );
    }
  }
  const models = [
    modelMarginSeries(m, series, modelName),
    ...baselineMargins(series, targets, m.model.policy, train),
  ];
  const report = evaluateBacktest(series, targets, models, range);
  return {
    ...report,
    baselineTraining: {
      from: new Date(train.fromMs).toISOString(),
      to: new Date(train.toMs).toISOString(),
      bars,
      source,
    },
  };
}
