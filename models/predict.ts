/**
 * Running a model (quantised, as deployed, or float) over candles: the margins of one bar or of every bar.
 * Both the CLI and the prover go through here, so what is backtested is what is proven.
 *
 * The features are the integer window features of each bar (features/window-features.ts). The quantised
 * model runs on those integers as they are; the float model on their exact float twins.
 */
import { DataError, ModelError } from "../core/errors";
import {
  barWindowFeatures,
  FEATURE_INTERVAL_MS,
  FEATURE_SCALE_BITS,
  featureFloats,
  seriesWindowFeatures,
  WINDOW_FEATURES,
  type MissingFeaturesKind,
} from "../features/window-features";
import { WINDOW_BARS } from "../candles/window";
import {
  loadFloatModel,
  modelFileOf,
  predictMarginsFloat,
  FLOAT_MODEL_FORMAT,
  type FloatModel,
} from "./float-model";
import { inferInteger, type IntegerTrace } from "./integer-engine";
import { readJsonFile } from "../core/io";
import { parseQuantizedModel, QUANTIZED_MODEL_FORMAT, type QuantizedModel } from "./quantized-model";
import type { MarginSeries } from "./backtest";
import type { CandleSeries } from "../candles/types";

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

/** What a model must declare to run on the window features. */
type WindowModelShape = {
  barIntervalMs: number;
  features: readonly { name: string; scaleBits?: number }[];
};

/**
 * Check that a model reads the window features: WINDOW_FEATURES in their order, on FEATURE_INTERVAL_MS bars,
 * and (quantised) at scale 2^FEATURE_SCALE_BITS, the scale the integer features come at.
 * @param label the model's file (or name), for messages; by default the file the model was loaded from
 *   (`modelFileOf`), or "the model" for one built in memory.
 * @throws ModelError naming the first difference.
 */
export function checkWindowModel(model: WindowModelShape, label = modelFileOf(model) ?? "the model"): void {
  const names = model.features.map((f) => f.name);
  const expected = WINDOW_FEATURES.map((f) => f.name);
  if (names.join(",") !== expected.join(",")) {
    throw new ModelError(
      `${label}: its features (${names.join(", ")}) are not the window features (${expected.join(", ")})`,
    );
  }
  if (model.barIntervalMs !== FEATURE_INTERVAL_MS) {
    throw new ModelError(
      `${label}: barIntervalMs is ${model.barIntervalMs}, the window features are defined on ${FEATURE_INTERVAL_MS} ms bars`,
    );
  }
  const scaled = model.features.find((f) => f.scaleBits !== undefined && f.scaleBits !== FEATURE_SCALE_BITS);
  if (scaled !== undefined) {
    throw new ModelError(
      `${label}: feature ${scaled.name} is at scale 2^${scaled.scaleBits}, the window features are at 2^${FEATURE_SCALE_BITS}`,
    );
  }
}

/**
 * Check that a candle series fits the model: the model reads the window features (`checkWindowModel`, naming
 * the model's file when it was loaded from one) and the series has the model's bar interval.
 * @throws ModelError for a model that does not read the window features; DataError naming the series for
 *   another bar interval.
 */
export function checkInputsFit(model: WindowModelShape, series: CandleSeries): void {
  checkWindowModel(model);
  checkBarInterval(series, model.barIntervalMs);
}

/**
 * Check that the bars of a series are `intervalMs` apart (the model file's `barIntervalMs`).
 * @throws DataError naming the series and both intervals.
 */
export function checkBarInterval(series: CandleSeries, intervalMs: number): void {
  if (series.intervalMs !== intervalMs) {
    throw new DataError(
      series.source,
      undefined,
      `bar interval is ${series.intervalMs / 60000} min but the model needs ${intervalMs / 60000} min bars`,
    );
  }
}

/** One bar's inference by the quantised model. */
export interface BarInference {
  index: number;
  /** Open time of the bar, ms. */
  time: number;
  /** The float twins of the integer features (x / 2^32), for display. */
  features: number[];
  /** The integer window features at scale 2^32: what the engine and the circuit take. */
  featuresInt: bigint[];
  trace: IntegerTrace;
}

/**
 * Quantised inference for the bar at `index` (default: the latest bar), on the integer window features of
 * the window ending there.
 * @throws ModelError / DataError as `checkInputsFit`; InsufficientDataError when the bar has no features
 *   (the window starts before the series or misses too many bars); BoundsError for a feature out of bounds.
 */
export function inferBar(
  model: QuantizedModel,
  series: CandleSeries,
  index = series.candles.length - 1,
): BarInference {
  checkInputsFit(model, series);
  const featuresInt = barWindowFeatures(series, index);
  return {
    index,
    time: series.candles[index].time,
    features: featureFloats(featuresInt),
    featuresInt,
    trace: inferInteger(model, featuresInt),
  };
}

/** How a backtest names the bars a model has no features for, by kind. */
export const MISSING_FEATURES_TEXT: Record<MissingFeaturesKind, string> = {
  "window before the series": `the ${WINDOW_BARS}-bar feature window starts before the file`,
  "gaps in the window": "too many missing bars in the feature window",
  "outside the bounds": "a feature at or above the model's bound (no update can be proven there)",
};

/** Margins of a model on every bar that has window features (null elsewhere). */
export function modelMarginSeries(m: AnyModel, series: CandleSeries, name: string): MarginSeries {
  checkInputsFit(m.model, series);
  const fm = seriesWindowFeatures(series);
  const mm: (number | null)[] = [];
  const im: (number | null)[] = [];
  const missing = fm.kinds.map((k) => (k === null ? null : MISSING_FEATURES_TEXT[k]));
  for (const x of fm.rows) {
    if (x === null) {
      mm.push(null);
      im.push(null);
      continue;
    }
    if (m.kind === "float") {
      const p = predictMarginsFloat(m.model, featureFloats(x));
      mm.push(p.maintenanceMarginBps);
      im.push(p.initialMarginBps);
      continue;
    }
    const r = inferInteger(m.model, x);
    mm.push(Number(r.maintenanceMarginBps));
    im.push(Number(r.initialMarginBps));
  }
  return { name, maintenanceMarginBps: mm, initialMarginBps: im, missing };
}
