/** `zkrisk backtest`: its flags and description; cli/commands/backtest.ts does the work. */
import type { Command } from "commander";
import { join } from "node:path";
import { DEFAULT_CALIBRATIONS, DEFAULT_DATA, DEFAULT_MODEL } from "../paths";
import { lazyModule } from "../lazy";
import type { BacktestFlags } from "../commands/backtest";

const commands = lazyModule<typeof import("../commands/backtest")>(
  join(__dirname, "../commands/backtest.ts"),
);

/** Register `zkrisk backtest`. */
export function registerBacktest(program: Command): void {
  program
    .command("backtest")
    .description(
      "backtest the model's maintenance margin against the realised 24 h adverse move, with baselines " +
        "(coverage tests on non-overlapping daily samples)",
    )
    .option("--model <file>", "model file (quantised: what would be deployed; or float)", DEFAULT_MODEL)
    .option("--data <files...>", "candles CSV files (any market, any period, any length)", [DEFAULT_DATA])
    .option(
      "--market <id>",
      "market of the (single) data file; btcusdt or BTC_USDT is the calibrated BTC-USDT (default: from its name, e.g. btcusdt-2h-2025.csv)",
    )
    .option(
      "--calibrations <file>",
      "per-market calibrations of the quantised model ('none': the model file's own scale; default: " +
        `${DEFAULT_CALIBRATIONS} when they belong to the model, else the model file's own scale)`,
    )
    .option("--adaptive", "also run the adaptive calibration as it would run on chain")
    .option("--miss-rate <x>", "fraction of bars without an accepted update (with --adaptive)", "0")
    .option("--from <date>", "first bar to evaluate (UTC date or timestamp)")
    .option("--to <date>", "last bar to evaluate (UTC timestamp, or a date: its whole day)")
    .option(
      "--series <file>",
      "write the per-bar series (time, features, MM, IM, realised move, breach) as CSV",
    )
    .option("--report <file>", "write a self-contained HTML report (charts per market, coverage tests)")
    .option(
      "--json",
      "print one JSON object: {period, bars, models: [...], unavailable, ...}; several files: {markets: [...], pooled}",
    )
    .action(async (f: BacktestFlags) => (await commands()).backtestAction(f));
}
