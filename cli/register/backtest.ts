/** `zkrisk backtest`: its flags and description; cli/commands/backtest.ts does the work. */
import type { Command } from "commander";
import { join } from "node:path";
import { DEFAULT_DATA, DEFAULT_MODEL } from "../paths";
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
      "backtest the model's maintenance margin against the realised 24 h adverse move, with baselines",
    )
    .option("--model <file>", "model file (quantised: what would be deployed; or float)", DEFAULT_MODEL)
    .option("--data <file>", "candles CSV (any market, any period)", DEFAULT_DATA)
    .option("--from <date>", "first bar to evaluate (UTC date or timestamp)")
    .option("--to <date>", "last bar to evaluate (UTC timestamp, or a date: its whole day)")
    .option("--json", "print one JSON object: {period, bars, models: [{name, breachRate, kupiecP, ...}]}")
    .action(async (f: BacktestFlags) => (await commands()).backtestAction(f));
}
