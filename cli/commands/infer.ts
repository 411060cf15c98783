/** `zkrisk infer`: features and quantised margins for one bar (the latest by default). */
import type { Command } from "commander";
import { UsageError } from "../../models/errors";
import { loadCandles, loadFunding } from "../../models/load-data";
import { inferBar, type BarInference } from "../../models/predict";
import { loadQuantizedModel, type QuantizedModel } from "../../models/quantized-model";
import type { CandleSeries } from "../../models/types";
import { DEFAULT_DATA, DEFAULT_MODEL } from "../paths";
import { parseDateOption, printJson, table } from "../options";

interface InferFlags {
  model: string;
  data: string;
  funding?: string;
  at?: string;
  json?: boolean;
}

/** Index of the bar with open time `ms`, or a UsageError naming the nearest bars. */
export function barIndexAt(series: CandleSeries, ms: number, option = "--at"): number {
  const { candles } = series;
  let lo = 0;
  let hi = candles.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (candles[mid].time < ms) lo = mid + 1;
    else hi = mid;
  }
  if (candles[lo].time !== ms) {
    throw new UsageError(
      `${option}: no bar opens at ${new Date(ms).toISOString()} in ${series.source} ` +
        `(bars span ${new Date(candles[0].time).toISOString()} .. ${new Date(candles[candles.length - 1].time).toISOString()})`,
    );
  }
  return lo;
}

/** Machine-readable form of one inference. */
export function inferenceJson(model: QuantizedModel, r: BarInference) {
  return {
    market: model.market,
    bar: new Date(r.time).toISOString(),
    features: model.features.map((f, i) => ({
      name: f.name,
      value: r.features[i],
      quantized: r.featuresInt[i],
    })),
    maintenanceMarginBps: Number(r.trace.maintenanceMarginBps),
    initialMarginBps: Number(r.trace.initialMarginBps),
    output: r.trace.output,
  };
}

/** Text form of one inference. */
export function formatInference(model: QuantizedModel, r: BarInference): string {
  return (
    `${model.market} bar ${new Date(r.time).toISOString()}\n` +
    table([
      ["feature", "value", `integer (scale 2^${model.features[0]?.scaleBits})`],
      ...model.features.map((f, i) => [f.name, r.features[i].toPrecision(6), r.featuresInt[i].toString()]),
    ]) +
    `\nmaintenance margin ${r.trace.maintenanceMarginBps} bps, initial margin ${r.trace.initialMarginBps} bps (integer engine)\n`
  );
}

export function registerInfer(program: Command): void {
  program
    .command("infer")
    .description("compute features and the quantised model's margins for one bar")
    .option("--model <file>", "quantised model file", DEFAULT_MODEL)
    .option("--data <file>", "candles CSV", DEFAULT_DATA)
    .option("--funding <file>", "funding-rate CSV, if the model uses funding features")
    .option("--at <timestamp>", "open time of the bar (UTC); default: the latest bar")
    .option("--json", "print the result as one JSON object")
    .action((f: InferFlags) => {
      const model = loadQuantizedModel(f.model);
      const series = loadCandles(f.data);
      const funding = f.funding ? loadFunding(f.funding) : undefined;
      const index =
        f.at === undefined ? series.candles.length - 1 : barIndexAt(series, parseDateOption("--at", f.at));
      const r = inferBar(model, series, funding, index);
      if (f.json) printJson(inferenceJson(model, r));
      else process.stdout.write(formatInference(model, r));
    });
}
