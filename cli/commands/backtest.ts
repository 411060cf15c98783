/** `zkrisk backtest`: breach rates, Kupiec p-values and average margins of the model and the baselines. */
import type { Command } from "commander";
import { loadCandles, loadFunding } from "../../models/load-data";
import { loadAnyModel } from "../../models/predict";
import { runBacktest, type FullBacktestReport } from "../../models/run-backtest";
import { DEFAULT_DATA, DEFAULT_MODEL } from "../paths";
import { parseDateOption, printJson, table } from "../options";

interface BacktestFlags {
  model: string;
  data: string;
  funding?: string;
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

export function registerBacktest(program: Command): void {
  program
    .command("backtest")
    .description(
      "backtest the model's maintenance margin against the realised 24 h adverse move, with baselines",
    )
    .option("--model <file>", "model file (quantised: what would be deployed; or float)", DEFAULT_MODEL)
    .option("--data <file>", "candles CSV (any market, any period)", DEFAULT_DATA)
    .option("--funding <file>", "funding-rate CSV, if the model uses funding features")
    .option("--from <date>", "first bar to evaluate (UTC date or timestamp)")
    .option("--to <date>", "last bar to evaluate (UTC timestamp, or a date: its whole day)")
    .option("--json", "print one JSON object: {period, bars, models: [{name, breachRate, kupiecP, ...}]}")
    .action((f: BacktestFlags) => {
      const model = loadAnyModel(f.model);
      const series = loadCandles(f.data);
      const funding = f.funding ? loadFunding(f.funding) : undefined;
      const report = runBacktest(model, series, funding, {
        fromMs: f.from === undefined ? undefined : parseDateOption("--from", f.from),
        toMs: f.to === undefined ? undefined : parseDateOption("--to", f.to, true),
      });
      if (f.json) printJson(report);
      else process.stdout.write(formatBacktest(report));
    });
}
