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

/** The shipped quantised model with its layers changed by `edit`, and the intervals re-derived so it loads. */
function editedModel(
  edit: (
    layer: QuantizedModel["layers"][number],
    k: number,
    last: number,
  ) => QuantizedModel["layers"][number],
): QuantizedModel {
  const m = loadQuantizedModel(MODEL);
  const layers = m.layers.map((l, k) => edit(l, k, m.layers.length - 1));
  const derived = analyseIntervals(
    m.features.map((f) => ({ min: f.min, max: f.max })),
    layers,
    m.policy,
  );
  return {
    ...m,
    layers: layers.map((l, k) => ({ ...l, ...derived.layers[k] })),
    policy: { ...m.policy, intervals: derived.policy },
  };
}

function writeModel(dir: string, name: string, model: QuantizedModel): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(quantizedModelToJson(model), null, 2));
  return file;
}

/**
 * The shipped quantised model with one first-layer weight changed by 1, written to `dir/other.quantized.json`:
 * a valid model whose commitment differs.
 */
export function writeOtherModel(dir: string): string {
  const other = editedModel((l, k) =>
    k === 0
      ? { ...l, weights: l.weights.map((row, j) => (j === 0 ? [row[0] + 1n, ...row.slice(1)] : row)) }
      : l,
  );
  return writeModel(dir, "other.quantized.json", other);
}

/**
 * The shipped quantised model with an output layer that rescales: its weights and bias times 2^shift,
 * weightScaleBits + shift and a floor shift of `shift`, read back through the model loader. The integer
 * engine gives it the shipped model's margins exactly (floor(2^s acc / 2^s) = acc).
 */
export function shiftedOutputModel(shift: number): QuantizedModel {
  const s = BigInt(shift);
  const shifted = editedModel((l, k, last) =>
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
  return parseQuantizedModel(quantizedModelToJson(shifted), `shifted-output-${shift}.quantized.json`);
}

/**
 * The shipped quantised model with its output layer's bias doubled, written to `dir/biased.quantized.json`: a
 * valid model whose margins differ from the shipped one's (about 2.5 times on the last bars of the shipped
 * candles), for tests where another model must give other margins.
 */
export function writeBiasedModel(dir: string): string {
  const biased = editedModel((l, k, last) =>
    k === last ? { ...l, biases: l.biases.map((b) => 2n * b) } : l,
  );
  return writeModel(dir, "biased.quantized.json", biased);
}
