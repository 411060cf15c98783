/** Model files for tests that need a model other than the shipped one. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { analyseIntervals } from "../../models/intervals";
import { loadQuantizedModel, quantizedModelToJson, type QuantizedModel } from "../../models/quantized-model";
import { MODEL } from "./artifacts";

/**
 * The shipped quantised model with one first-layer weight changed by 1 (intervals re-derived so the file
 * loads), written to `dir/other.quantized.json`: a valid model whose commitment differs.
 */
export function writeOtherModel(dir: string): string {
  const m = loadQuantizedModel(MODEL);
  const layers = m.layers.map((l, k) =>
    k === 0
      ? { ...l, weights: l.weights.map((row, j) => (j === 0 ? [row[0] + 1n, ...row.slice(1)] : row)) }
      : l,
  );
  const derived = analyseIntervals(
    m.features.map((f) => ({ min: f.min, max: f.max })),
    layers,
    m.policy,
  );
  const other: QuantizedModel = {
    ...m,
    layers: layers.map((l, k) => ({ ...l, ...derived.layers[k] })),
    policy: { ...m.policy, intervals: derived.policy },
  };
  const file = join(dir, "other.quantized.json");
  writeFileSync(file, JSON.stringify(quantizedModelToJson(other), null, 2));
  return file;
}

/**
 * The shipped quantised model with its output layer's bias doubled (intervals re-derived so the file loads),
 * written to `dir/biased.quantized.json`: a valid model whose margins differ from the shipped one's (about 2.5
 * times on the last bars of the shipped candles), for tests where another model must give other margins.
 */
export function writeBiasedModel(dir: string): string {
  const m = loadQuantizedModel(MODEL);
  const last = m.layers.length - 1;
  const layers = m.layers.map((l, k) => (k === last ? { ...l, biases: l.biases.map((b) => 2n * b) } : l));
  const derived = analyseIntervals(
    m.features.map((f) => ({ min: f.min, max: f.max })),
    layers,
    m.policy,
  );
  const biased: QuantizedModel = {
    ...m,
    layers: layers.map((l, k) => ({ ...l, ...derived.layers[k] })),
    policy: { ...m.policy, intervals: derived.policy },
  };
  const file = join(dir, "biased.quantized.json");
  writeFileSync(file, JSON.stringify(quantizedModelToJson(biased), null, 2));
  return file;
}
