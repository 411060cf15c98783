/**
 * `zkrisk backtest`: breach rates, coverage tests on non-overlapping daily samples, average margins and the
 * largest shortfall of the model (with each market's calibration, optionally adaptive) and the baselines, on
 * one or several candle files; optionally the per-bar series (CSV) and a self-contained HTML report.
 */
import { writeFilesAtomic } from "../../core/atomic-file";
import { collectSeries, reportHtml, seriesCsv, type MarketSeries } from "../../models/backtest-output";
import {
  calibrationFor,
  loadCalibrations,
  resolveMarket,
  type Calibrations,
} from "../../models/market-calibrations";
import { UsageError } from "../../core/errors";
import { sha256File } from "../../core/io";
import { loadCandles } from "../../candles/load-data";
import { marketLabelProblem } from "../../candles/market-id";
import { loadAnyModel } from "../../models/predict";
import { goalSummary, type GoalVerdict } from "../../models/backtest";
import {
  MIN_BASELINE_TRAIN_BARS,
  inSampleWords,
  poolReports,
  pooledGoalVerdicts,
  checkBacktestHorizon,
  runBacktest,
  type BacktestOptions,
  type FullBacktestReport,
  type PooledModelResult,
} from "../../models/run-backtest";
import { DEFAULT_CALIBRATIONS } from "../paths";
import { VERDICT_NOTE, verdictCell } from "../../models/coverage";
import {
  fileOptions,
  outFileOption,
  output,
  parseDateOption,
  parseFloatOption,
  refuseOverwrites,
  refuseRepeatedMarkets,
  table,
} from "../options";

/** The options of `zkrisk backtest`, as commander gives them (cli/register/backtest.ts). */
export interface BacktestFlags {
  model: string;
  data: string[];
  market?: string;
  /** Not given: the shipped calibrations where they belong to the model. */
  calibrations?: string;
  adaptive?: boolean;
  missRate: string;
  from?: string;
  to?: string;
  series?: string;
  report?: string;
  json?: boolean;
}

/** What the hindsight column means, printed under every market's table. */
const MATCHED_NOTE =
  "MM at 1 % in hindsight: the average MM with the model's margins scaled by the one constant that breaches on " +
  "exactly 1 % of these bars (chosen on them: sharpness at equal coverage, not a deployable margin)\n";

const p3 = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : "n/a");

/** The reports of `zkrisk backtest`: one per `--data` file, and with several files the pooled figures. */
export interface BacktestResult {
  /** One report per `--data` file, in their order. */
  reports: FullBacktestReport[];
  /** The figures pooled over the markets; only with several `--data` files. */
  pooled?: PooledModelResult[];
  /** The goal on the pooled figures, against the baselines pooled over the same markets; with `pooled` only. */
  pooledGoal?: GoalVerdict[];
}

/** Text rendering of one market's backtest report (also the demo's). */
export function formatBacktestReport(r: FullBacktestReport): string {
  return (
    (r.market === undefined ? "" : `${r.market}: `) +
    `period ${r.period.from} .. ${r.period.to}, ${r.bars} bar${r.bars === 1 ? "" : "s"} with a full 24 h ahead ` +
    `(calibration ${r.calibration.num}/2^${r.calibration.shift}, ${r.calibration.source}; ` +
    (r.baselineTraining.bars >= MIN_BASELINE_TRAIN_BARS
      ? `baselines fitted on ${r.baselineTraining.from.slice(0, 10)} .. ${r.baselineTraining.to.slice(0, 10)})\n`
      : `static and EWMA baselines not fitted: ${r.baselineTraining.bars} bars to fit on)\n`) +
    r.notEvaluated
      .map(
        (n) =>
          `  not evaluated: ${n.bars} bar${n.bars === 1 ? "" : "s"} with a full 24 h ahead, ` +
          `${n.from.slice(0, 16)} .. ${n.to.slice(0, 16)} (${n.reason})\n`,
      )
      .join("") +
    r.inSample
      .map((i) => `  in sample: ${i.from.slice(0, 16)} .. ${i.to.slice(0, 16)} (${inSampleWords(i)})\n`)
      .join("") +
    table([
      [
        "model",
        "breach rate",
        "Kupiec p daily (median/worst)",
        "indep. p",
        "cond. cov. p",
        "Kupiec p every bar",
        "avg MM bps",
        "avg IM bps",
        "MM at 1 % in hindsight",
        "max shortfall bps",
        "valid",
      ],
      ...r.models.map((m) => [
        m.name,
        `${(m.breachRate * 100).toFixed(2)} %`,
        `${p3(m.daily.kupiec.median)} / ${p3(m.daily.kupiec.worst)}`,
        `${p3(m.daily.independence.median)} / ${p3(m.daily.independence.worst)}`,
        `${p3(m.daily.conditional.median)} / ${p3(m.daily.conditional.worst)}`,
        p3(m.kupiecP),
        m.avgMaintenanceMarginBps.toFixed(1),
        m.avgInitialMarginBps.toFixed(1),
        m.matchedAvgMaintenanceMarginBps.toFixed(1),
        m.maxShortfallBps.toFixed(0),
        verdictCell(m.coverage),
      ]),
      ...r.unavailable.map((u) => [u.name, "unavailable", "", "", "", "", "", "", "", "", ""]),
    ]) +
    "\n" +
    r.unavailable.map((u) => `  ${u.name}: ${u.reason}\n`).join("") +
    `${goalSummary(r.goal)}\n` +
    VERDICT_NOTE +
    "\n" +
    MATCHED_NOTE
  );
}

function formatPooled(p: PooledModelResult[], goal: readonly GoalVerdict[]): string {
  return (
    "pooled:\n" +
    table([
      [
        "model",
        "markets",
        "bars",
        "breach rate",
        "Kupiec p daily",
        "indep. p",
        "cond. cov. p",
        "avg MM bps",
        "MM at 1 % in hindsight",
        "valid",
      ],
      ...p.map((m) => [
        m.name,
        String(m.markets),
        String(m.bars),
        `${(m.breachRate * 100).toFixed(2)} %`,
        `${p3(m.daily.kupiec.median)} / ${p3(m.daily.kupiec.worst)}`,
        `${p3(m.daily.independence.median)} / ${p3(m.daily.independence.worst)}`,
        `${p3(m.daily.conditional.median)} / ${p3(m.daily.conditional.worst)}`,
        m.avgMaintenanceMarginBps.toFixed(1),
        m.matchedAvgMaintenanceMarginBps.toFixed(1),
        verdictCell(m.coverage),
      ]),
    ]) +
    "\n" +
    (goal.length === 0 ? "" : `${goalSummary(goal)}\n`)
  );
}

/**
 * Backtest the model and the baselines on every `--data` file and write `--series` and `--report` when asked.
 * (Named for the command: `runBacktest` is the backtest of one series, models/run-backtest.ts.)
 */
export async function runBacktestCommand(f: BacktestFlags): Promise<BacktestResult> {
  if (f.series !== undefined) outFileOption("--series", f.series);
  if (f.report !== undefined) outFileOption("--report", f.report);
  refuseOverwrites({
    reads: [
      ...fileOptions("--model", f.model),
      ...fileOptions("--data", f.data),
      ...fileOptions(
        "--calibrations",
        f.calibrations === "none" ? undefined : (f.calibrations ?? DEFAULT_CALIBRATIONS),
      ),
    ],
    writes: [...fileOptions("--series", f.series), ...fileOptions("--report", f.report)],
  });
  if (f.market !== undefined && f.data.length !== 1) {
    throw new UsageError(
      "--market: names the market of a single --data file; with several files each is named by its file",
    );
  }
  // the label every other command takes for the market (its on-chain id is made from it)
  const labelProblem = f.market === undefined ? undefined : marketLabelProblem(f.market);
  if (labelProblem !== undefined) throw new UsageError(`--market: ${labelProblem}`);
  const missRate = parseFloatOption("--miss-rate", f.missRate, 0, 0.99);
  if (missRate !== 0 && !f.adaptive) {
    throw new UsageError(`--miss-rate ${f.missRate}: misses adaptive updates only, so it needs --adaptive`);
  }
  const model = loadAnyModel(f.model);
  try {
    checkBacktestHorizon(model.model);
  } catch (err) {
    throw new UsageError(`--model: ${f.model}: ${(err as Error).message}`);
  }
  let calibrations: Calibrations | undefined;
  if (f.calibrations === undefined) {
    // The shipped calibrations belong to the shipped model: another model runs on its own scale.
    if (model.kind === "quantized") {
      const modelSha = sha256File(f.model);
      if (loadCalibrations(DEFAULT_CALIBRATIONS).model.sha256 === modelSha) {
        calibrations = loadCalibrations(DEFAULT_CALIBRATIONS, modelSha);
      }
    }
  } else if (f.calibrations !== "none") {
    // A calibrations file given is read, and must be the model's.
    if (model.kind !== "quantized") {
      throw new UsageError(
        `--calibrations ${f.calibrations}: calibrates a quantised model, and --model ${f.model} is a float ` +
          "model (its calibration is in the file; quantise it with zkrisk quantize, or leave out --calibrations)",
      );
    }
    calibrations = loadCalibrations(f.calibrations, sha256File(f.model));
  }
  if (f.adaptive && calibrations === undefined) {
    throw new UsageError(
      "--adaptive: needs a quantised model and its --calibrations file (the rule's constants)",
    );
  }
  const range = {
    fromMs: f.from === undefined ? undefined : parseDateOption("--from", f.from),
    toMs: f.to === undefined ? undefined : parseDateOption("--to", f.to, true),
  };
  if (range.fromMs !== undefined && range.toMs !== undefined && range.fromMs > range.toMs)
    throw new UsageError(`--from ${f.from} is after --to ${f.to}`);
  const known = calibrations?.markets.map((c) => c.market) ?? [];
  const markets = f.data.map((file) => resolveMarket(file, f.market, known));
  refuseRepeatedMarkets(f.data, markets, "pooled figures would count it twice");
  // The per-bar margins of each market, kept only when a series file or a report is asked for.
  const collected: { market: string; args: Parameters<NonNullable<BacktestOptions["onSeries"]>> }[] = [];
  const reports = f.data.map((file, i) => {
    const series = loadCandles(file);
    const market = markets[i];
    return runBacktest(model, series, range, undefined, {
      market,
      calibration: calibrations === undefined ? undefined : calibrationFor(calibrations, market),
      adaptive:
        f.adaptive && calibrations !== undefined ? { rule: calibrations.adaptive, missRate } : undefined,
      onSeries:
        f.series === undefined && f.report === undefined
          ? undefined
          : (...args) => collected.push({ market, args }),
    });
  });
  const marketSeries: MarketSeries[] = collected.map((c, i) =>
    collectSeries(c.market, ...c.args, reports[i]),
  );
  const pooled = reports.length > 1 ? poolReports(reports) : undefined;
  const pooledGoal = pooled === undefined ? undefined : pooledGoalVerdicts(reports, pooled);
  // Both files or neither: a report that cannot be written leaves no series behind.
  writeFilesAtomic([
    ...(f.series === undefined ? [] : [{ path: f.series, data: seriesCsv(marketSeries) }]),
    ...(f.report === undefined
      ? []
      : [
          {
            path: f.report,
            data: reportHtml(marketSeries, pooled && { models: pooled, goal: pooledGoal ?? [] }),
          },
        ]),
  ]);
  return { reports, pooled, pooledGoal };
}

/** The text output of `zkrisk backtest`: each market's report, then the pooled figures. */
export function formatBacktest(r: BacktestResult): string {
  return (
    r.reports.map(formatBacktestReport).join("\n") +
    (r.pooled ? "\n" + formatPooled(r.pooled, r.pooledGoal ?? []) : "")
  );
}

/** The `--json` document of `zkrisk backtest`: the report of a single file, else `{markets, pooled}`. */
export function backtestJson(r: BacktestResult): unknown {
  return r.reports.length === 1
    ? r.reports[0]
    : { markets: r.reports, pooled: r.pooled, pooledGoal: r.pooledGoal };
}

/** `zkrisk backtest`: the report of the model and the baselines. */
export async function backtestAction(f: BacktestFlags): Promise<void> {
  output(await runBacktestCommand(f), f.json, formatBacktest, backtestJson);
}
