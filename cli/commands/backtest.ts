/** `zkrisk backtest`: breach rates, Kupiec p-values and average margins of the model and the baselines. */
import { loadCandles } from "../../models/load-data";
import { loadAnyModel } from "../../models/predict";
import { runBacktest, type FullBacktestReport } from "../../models/run-backtest";
import { parseDateOption, printJson, table } from "../options";

/** The options of `zkrisk backtest`, as commander gives them (cli/register/backtest.ts). */
export interface BacktestFlags {
  model: string;
  data: string;
  from?: string;
  to?: string;
  json?: boolean;
}

/** Text rendering of a backtest report. */
export function formatBacktest(r: FullBacktestReport): string {
  return (
    `period ${r.period.from} .. ${r.period.to}, ${r.bars} bars with a full 24 h ahead ` +
    `(baselines fitted on ${r.baselineTraining.from.slice(0, 10)} .. ${r.baselineTraining.to.slice(0, 10)})\n` +
    table([
      ["model", "breach rate", "Kupiec p", "avg MM bps", "avg IM bps", "coverage valid (p >= 0.05)"],
      ...r.models.map((m) => [
        m.name,
        `${(m.breachRate * 100).toFixed(2)} %`,
        m.kupiecP.toFixed(3),
        m.avgMaintenanceMarginBps.toFixed(1),
        m.avgInitialMarginBps.toFixed(1),
        m.kupiecP >= 0.05 ? "yes" : "no",
      ]),
    ]) +
    "\n"
  );
}

/** `zkrisk backtest`: the report of the model and the baselines. */
export function backtestAction(f: BacktestFlags): void {
  const model = loadAnyModel(f.model);
  const series = loadCandles(f.data);
  const report = runBacktest(model, series, {
    fromMs: f.from === undefined ? undefined : parseDateOption("--from", f.from),
    toMs: f.to === undefined ? undefined : parseDateOption("--to", f.to, true),
  });
  if (f.json) printJson(report);
  else process.stdout.write(formatBacktest(report));
}
