/**
 * `zkrisk demo` (npm run demo): the model stage end to end on the shipped data and model: load candles,
 * compute features, run the quantised model on the latest bar, and backtest the test split.
 */
import type { Command } from "commander";
import { loadCandles } from "../../models/load-data";
import { inferBar } from "../../models/predict";
import { loadQuantizedModel } from "../../models/quantized-model";
import { runBacktest } from "../../models/run-backtest";
import { DEFAULT_DATA, DEFAULT_MODEL } from "../paths";
import { printJson } from "../options";
import { formatBacktest } from "./backtest";
import { formatInference, inferenceJson } from "./infer";

interface DemoFlags {
  model: string;
  data: string;
  json?: boolean;
}

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description(
      "run the model stage: data -> features -> quantised inference for the latest bar -> backtest",
    )
    .option("--model <file>", "quantised model file", DEFAULT_MODEL)
    .option("--data <file>", "candles CSV", DEFAULT_DATA)
    .option("--json", "print the result as one JSON object")
    .action((f: DemoFlags) => {
      const series = loadCandles(f.data);
      const model = loadQuantizedModel(f.model);
      const latest = inferBar(model, series);
      const test = model.training.splits.test;
      const backtest = runBacktest({ kind: "quantized", model }, series, undefined, {
        fromMs: Date.parse(test.from),
        toMs: Date.parse(test.to),
      });
      const r = model.quantization.report;
      if (f.json) {
        printJson({
          data: { file: f.data, bars: series.candles.length, gaps: series.gaps.length },
          latest: inferenceJson(model, latest),
          quantization: r,
          backtest,
        });
        return;
      }
      const out = process.stdout;
      out.write(
        `1. data: ${series.candles.length} bars of ${series.intervalMs / 3.6e6} h from ${f.data} (${series.gaps.length} gaps)\n`,
      );
      out.write(
        `2. model: ${f.model} (${model.features.length} features, layers ${model.layers.map((l) => l.weights.length).join("-")})\n`,
      );
      out.write(`3. latest bar, quantised inference:\n${formatInference(model, latest)}`);
      out.write(
        `4. float vs integer on the test split: max |diff| MM ${r.maxAbsDiffMaintenanceMarginBps} bps, ` +
          `IM ${r.maxAbsDiffInitialMarginBps} bps over ${r.bars} bars\n`,
      );
      out.write(`5. backtest on the test split:\n${formatBacktest(backtest)}`);
    });
}
