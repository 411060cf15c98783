/**
 * The bit-exact integer engine: the arithmetic the circuit constrains, over bigint. It is the single
 * source of truth: the circuit must produce the same outputs for the same integer features, and nothing
 * else. It takes the integer window features as they are (features/window-features.ts, scale 2^32): no float
 * is quantised on the way to a proof. Features outside their declared bounds are an error here (and
 * unprovable in the circuit).
 */
import { BoundsError, ModelError } from "../core/errors";
import { ceilShift, clampBig, floorShift, relu, type Interval } from "./fixed-point";
import type { QuantizedModel, QuantizedPolicy } from "./quantized-model";

/** Every intermediate value of one inference (the circuit's witness is built from these). */
export interface IntegerTrace {
  features: bigint[];
  /** acc_j of each layer, before rescale. */
  accumulators: bigint[][];
  /** Each layer's outputs after rescale (and ReLU). */
  activations: bigint[][];
  /** Network output y at scale 2^policy.outputScaleBits. */
  output: bigint;
  mmNumerator: bigint;
  mmRaw: bigint;
  maintenanceMarginBps: bigint;
  imNumerator: bigint;
  imRaw: bigint;
  initialMarginBps: bigint;
}

function inside(v: bigint, iv: Interval): boolean {
  return v >= iv.min && v <= iv.max;
}

/** Throw a BoundsError naming the first feature outside its declared integer bounds. */
export function checkFeatureBounds(model: QuantizedModel, x: readonly bigint[]): void {
  if (x.length !== model.features.length) {
    throw new BoundsError(`expected ${model.features.length} features, got ${x.length}`);
  }
  model.features.forEach((f, i) => {
    if (x[i] < f.min || x[i] > f.max) {
      throw new BoundsError(
        `feature ${f.name} = ${x[i]} is outside its declared bounds [${f.min}, ${f.max}]`,
      );
    }
  });
}

/** The integer margin policy on the network output y; returns every intermediate. */
export function integerPolicy(
  p: QuantizedPolicy,
  y: bigint,
): Pick<
  IntegerTrace,
  "mmNumerator" | "mmRaw" | "maintenanceMarginBps" | "imNumerator" | "imRaw" | "initialMarginBps"
> {
  const mmNumerator = y * BigInt(p.calibrationNum) * BigInt(10000 + p.bufferBps);
  const mmRaw = ceilShift(mmNumerator, p.mmShift);
  const mm = clampBig(mmRaw, BigInt(p.mmMinBps), BigInt(p.mmMaxBps));
  const imNumerator = mm * BigInt(p.imRatioNum);
  const imRaw = ceilShift(imNumerator, p.imRatioShift);
  const im = clampBig(imRaw, BigInt(p.imMinBps), BigInt(p.imMaxBps));
  return { mmNumerator, mmRaw, maintenanceMarginBps: mm, imNumerator, imRaw, initialMarginBps: im };
}

/** Run the quantised model on integer features. */
export function inferInteger(model: QuantizedModel, x: readonly bigint[]): IntegerTrace {
  checkFeatureBounds(model, x);
  const accumulators: bigint[][] = [];
  const activations: bigint[][] = [];
  let h: readonly bigint[] = x;
  model.layers.forEach((layer, l) => {
    const acc = layer.weights.map((row, j) => {
      let a = layer.biases[j];
      for (let i = 0; i < row.length; i++) a += row[i] * h[i];
      if (!inside(a, layer.accumulators[j])) {
        throw new ModelError(
          `layer ${l} neuron ${j}: accumulator ${a} outside its recorded interval (corrupt model?)`,
        );
      }
      return a;
    });
    const out = acc.map((a) => {
      const r = floorShift(a, layer.shift);
      return layer.activation === "relu" ? relu(r) : r;
    });
    accumulators.push(acc);
    activations.push(out);
    h = out;
  });
  const output = h[0];
  return { features: [...x], accumulators, activations, output, ...integerPolicy(model.policy, output) };
}
