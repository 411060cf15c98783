/**
 * Running a model (quantised, as deployed, or float) over candles: the margins of one bar or of every bar.
 * Both the CLI and the prover go through here, so what is backtested is what is proven.
 */
import { BoundsError, DataError, ModelError } from "./errors";
import { computeFeatures, featuresAt } from "./features";
import { loadFloatModel, predictMarginsFloat, FLOAT_MODEL_FORMAT, type FloatModel } from "./float-model";
import { inferInteger, quantizeFeatures, type IntegerTrace } from "./integer-engine";
import { readJsonFile } from "./io";
import { parseQuantizedModel, QUANTIZED_MODEL_FORMAT, type QuantizedModel } from "./quantized-model";
import type { MarginSeries } from "./backtest";
import type { CandleSeries, FundingSeries } from "./types";

/** A model file of either kind. */
export type AnyModel = { kind: "quantized"; model: QuantizedModel } | { kind: "float"; model: FloatModel };

/** Load a model file of either kind, telling them apart by their `format` field. */
export function loadAnyModel(path: string): AnyModel {
  const doc = readJsonFile(path, "MODEL_INVALID") as { format?: unknown };
  if (doc?.format === QUANTIZED_MODEL_FORMAT)
    return { kind: "quantized", model: parseQuantizedModel(doc, path) };
  if (doc?.format === FLOAT_MODEL_FORMAT) return { kind: "float", model: loadFloatModel(path) };
  throw new ModelError(`${path}: not a zkrisk model (format ${JSON.stringify(doc?.format)})`);
}

/** Check that a candle series (and funding, if the model needs it) fits the model. */
export function checkInputsFit(
  model: Pick<QuantizedModel, "barIntervalMs" | "funding">,
  series: CandleSeries,
  funding: FundingSeries | undefined,
): void {
  if (series.intervalMs !== model.barIntervalMs) {
    throw new DataError(
      series.source,
      undefined,
      `bar interval is ${series.intervalMs / 60000} min but the model needs ${model.barIntervalMs / 60000} min bars`,
    );
  }
  if (model.funding && !funding) {
    throw new ModelError("this model uses funding-rate features: give a funding file (--funding)");
  }
}

/** One bar's inference by the quantised model. */
export interface BarInference {
  index: number;
  /** Open time of the bar, ms. */
  time: number;
  features: number[];
  featuresInt: bigint[];
  trace: IntegerTrace;
}

/** Quantised inference for the bar at `index` (default: the latest bar). */
export function inferBar(
  model: QuantizedModel,
  series: CandleSeries,
  funding?: FundingSeries,
  index = series.candles.length - 1,
): BarInference {
  checkInputsFit(model, series, funding);
  const features = featuresAt(series, index, model.funding ? funding : undefined);
  const featuresInt = quantizeFeatures(model, features);
  return {
    index,
    time: series.candles[index].time,
    features,
    featuresInt,
    trace: inferInteger(model, featuresInt),
  };
}

/** Margins of a model on every bar that has features (null elsewhere). */
export function modelMarginSeries(
  m: AnyModel,
  series: CandleSeries,
  funding: FundingSeries | undefined,
  name: string,
): MarginSeries {
  checkInputsFit(m.model, series, funding);
  const fm = computeFeatures(series, m.model.funding ? funding : undefined);
  const mm: (number | null)[] = [];
  const im: (number | null)[] = [];
  fm.rows.forEach((x, t) => {
    if (x === null) {
      mm.push(null);
      im.push(null);
      return;
    }
    if (m.kind === "float") {
      const p = predictMarginsFloat(m.model, x);
      mm.push(p.maintenanceMarginBps);
      im.push(p.initialMarginBps);
      return;
    }
    let xi: bigint[];
    try {
      xi = quantizeFeatures(m.model, x);
    } catch (err) {
      if (err instanceof BoundsError) {
        throw new BoundsError(
          `${series.source}: bar ${new Date(series.candles[t].time).toISOString()}: ${err.message}`,
        );
      }
      throw err;
    }
    const r = inferInteger(m.model, xi);
    mm.push(Number(r.maintenanceMarginBps));
    im.push(Number(r.initialMarginBps));
  });
  return { name, maintenanceMarginBps: mm, initialMarginBps: im };
}
