/**
 * A market's own model file (issue 12, part 2): the shipped quantised model with that market's calibration
 * (models/calibrations.json: its fitted scale, or the new-market rule's). Only `market`,
 * `policy.calibrationNum` and the policy intervals that depend on it change; the weights, biases, features
 * and every other constant stay the base model's, so the file fits the committed-weights circuit of the base
 * model (circuits/architecture.ts) whenever the scale is within the circuit's calibration bits, and its
 * model commitment (circuits/commitments.ts) differs from every other market's: registered per market on
 * the oracle, it binds that market's calibration into the statement each proof is checked against.
 */
import { sha256File } from "../core/io";
import { ModelError } from "../core/errors";
import { calibrationFor, letters, loadCalibrations, type Calibrations } from "./market-calibrations";
import { analyseIntervals } from "./intervals";
import { loadQuantizedModel, type QuantizedModel } from "./quantized-model";

/** Where a market model's calibration came from. */
export type CalibrationSource = "fitted" | "new-market rule";

/** A market's model and the calibration it carries. */
export interface MarketModel {
  model: QuantizedModel;
  market: string;
  /** Calibration scale = num / 2^calibrationShift. */
  calibrationNum: number;
  calibrationShift: number;
  source: CalibrationSource;
}

/**
 * `model` with calibration `num` (scale num / 2^calibrationShift) for `market`: the policy intervals are
 * recomputed by the interval analysis, exactly as a loader recomputes them.
 */
export function withCalibration(model: QuantizedModel, market: string, num: number): QuantizedModel {
  if (!Number.isSafeInteger(num) || num < 1) {
    throw new ModelError(`calibrationNum must be a positive integer, got ${num}`);
  }
  const policy = { ...model.policy, calibrationNum: num };
  const derived = analyseIntervals(
    model.features.map((f) => ({ min: f.min, max: f.max })),
    model.layers,
    policy,
  );
  return { ...model, market, policy: { ...policy, intervals: derived.policy } };
}

/**
 * The model of `market` under calibrations `c`: its own fitted scale, or the new-market rule's when the
 * file has none for it (a label that differs from a calibrated one only in case or punctuation is refused). `c` must belong
 * to `model` (same calibration shift; the file's model hash is checked by {@link loadMarketModel}).
 */
export function marketModel(model: QuantizedModel, c: Calibrations, market: string): MarketModel {
  if (c.calibrationShift !== model.policy.calibrationShift) {
    throw new ModelError(
      `the calibrations' calibrationShift ${c.calibrationShift} is not the model's ${model.policy.calibrationShift}`,
    );
  }
  // A label spelt with another case or punctuation (btcusdt) would otherwise fall silently to the new-market rule.
  const near = c.markets.find((m) => m.market !== market && letters(m.market) === letters(market));
  if (near !== undefined) {
    throw new ModelError(`market '${market}' has no calibration; did you mean '${near.market}'?`);
  }
  const { num, source } = calibrationFor(c, market);
  return {
    model: withCalibration(model, market, num),
    market,
    calibrationNum: num,
    calibrationShift: c.calibrationShift,
    source,
  };
}

/**
 * Read the base model and the calibrations file (which must name that model by sha256) and build the model
 * of `market`. Errors (ModelError) name the file and the field at fault.
 */
export function loadMarketModel(modelFile: string, calibrationsFile: string, market: string): MarketModel {
  const model = loadQuantizedModel(modelFile);
  const c = loadCalibrations(calibrationsFile, sha256File(modelFile));
  try {
    return marketModel(model, c, market);
  } catch (err) {
    if (err instanceof ModelError) throw new ModelError(`${calibrationsFile}: ${err.message}`);
    throw err;
  }
}
