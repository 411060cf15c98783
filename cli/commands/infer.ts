/** `zkrisk infer`: the integer window features and quantised margins of one bar (the latest by default). */
import { UsageError } from "../../core/errors";
import { loadCandles } from "../../candles/load-data";
import { inferBar, type BarInference } from "../../models/predict";
import { loadQuantizedModel, type QuantizedModel } from "../../models/quantized-model";
import type { CandleSeries } from "../../candles/types";
import { letters, marketOfFile } from "../../models/market-calibrations";
import { output, parseDateOption, table } from "../options";

/** The options of `zkrisk infer`, as commander gives them (cli/register/infer.ts). */
export interface InferFlags {
  model: string;
  data: string;
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

/** One bar's inference with the model that made it (its market, feature names and scales). */
export interface InferResult {
  model: QuantizedModel;
  inference: BarInference;
  /** The candle file's market as its name gives it (`ethusdt-2h.csv`: ETH-USDT), when it does. */
  dataMarket?: string;
}

/** Load the model and the candles and run the integer engine on the bar `--at` (default: the latest). */
export async function runInfer(f: InferFlags): Promise<InferResult> {
  const model = loadQuantizedModel(f.model);
  const series = loadCandles(f.data);
  const index =
    f.at === undefined ? series.candles.length - 1 : barIndexAt(series, parseDateOption("--at", f.at));
  const dataMarket = marketOfFile(f.data);
  return {
    model,
    inference: inferBar(model, series, index),
    ...(dataMarket !== undefined && { dataMarket }),
  };
}

/**
 * A note when the candles are of another market than the model file's: the margins are then the model file's
 * calibration applied to them, not that market's.
 */
function otherMarketNote(model: QuantizedModel, dataMarket: string | undefined): string | undefined {
  if (dataMarket === undefined || letters(dataMarket) === letters(model.market)) return undefined;
  return (
    `the candles are ${dataMarket}'s, the model file ${model.market}'s: these margins use ${model.market}'s ` +
    `calibration; ${dataMarket}'s own model file (its fitted calibration, or the new-market rule's) comes from ` +
    `\`zkrisk market-model --market ${dataMarket}\``
  );
}

/** The text output of `zkrisk infer`: the bar, its features (value and integer) and the margins. */
export function formatInfer({ model, inference: r, dataMarket }: InferResult): string {
  const note = otherMarketNote(model, dataMarket);
  const scale = model.policy.calibrationNum / 2 ** model.policy.calibrationShift;
  return (
    `${dataMarket ?? model.market} bar ${new Date(r.time).toISOString()} (model of ${model.market}, calibration ` +
    `${model.policy.calibrationNum}/2^${model.policy.calibrationShift} = ${scale.toFixed(4)})\n` +
    (note === undefined ? "" : `note: ${note}\n`) +
    table([
      ["feature", "value", `integer (scale 2^${model.features[0]?.scaleBits})`],
      ...model.features.map((f, i) => [f.name, r.features[i].toPrecision(6), r.featuresInt[i].toString()]),
    ]) +
    `\nmaintenance margin ${r.trace.maintenanceMarginBps} bps, initial margin ${r.trace.initialMarginBps} bps (integer engine)\n`
  );
}

/** The `--json` document of `zkrisk infer`: the bar, its features (value and integer) and the margins. */
export function inferJson({ model, inference: r, dataMarket }: InferResult) {
  const note = otherMarketNote(model, dataMarket);
  return {
    market: model.market,
    ...(dataMarket !== undefined && { dataMarket }),
    calibrationNum: model.policy.calibrationNum,
    ...(note !== undefined && { note }),
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

/** `zkrisk infer`: features and margins of one bar. */
export async function inferAction(f: InferFlags): Promise<void> {
  output(await runInfer(f), f.json, formatInfer, inferJson);
}
