/** Model files for tests that need a model other than the shipped one. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { analyseIntervals } from "../../models/intervals";
import {
  loadQuantizedModel,
  parseQuantizedModel,
  quantizedModelToJson,
  type QuantizedModel,
} from "../../models/quantized-model";
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
 * The shipped quantised model with an output layer that rescales: its weights and bias times 2^shift,
 * weightScaleBits + shift and a floor shift of `shift` (intervals re-derived), read back through the model
 * loader. The integer engine gives it the shipped model's margins exactly (floor(2^s acc / 2^s) = acc).
 */
export function shiftedOutputModel(shift: number): QuantizedModel {
  const m = loadQuantizedModel(MODEL);
  const s = BigInt(shift);
  const last = m.layers.length - 1;
  const layers = m.layers.map((l, k) =>
    k === last
      ? {
          ...l,
          weightScaleBits: l.weightScaleBits + shift,
          shift,
          weights: l.weights.map((row) => row.map((w) => w << s)),
          biases: l.biases.map((b) => b << s),
        }
      : l,
  );
  const derived = analyseIntervals(
    m.features.map((f) => ({ min: f.min, max: f.max })),
    layers,
    m.policy,
  );
  const shifted: QuantizedModel = {
    ...m,
    layers: layers.map((l, k) => ({ ...l, ...derived.layers[k] })),
    policy: { ...m.policy, intervals: derived.policy },
  };
  return parseQuantizedModel(quantizedModelToJson(shifted), `shifted-output-${shift}.quantized.json`);
}
