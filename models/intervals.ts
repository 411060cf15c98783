/**
 * Interval analysis of the integer model: from the declared feature bounds and the integer weights, the
 * exact range of every accumulator and intermediate of the policy, and the signed bit width that holds it.
 * The quantiser records these; loading a quantised model recomputes them and refuses a file whose recorded
 * widths differ, because the circuit generator sizes its range checks from them.
 */
import { addInterval, scaleInterval, signedBits, type Interval } from "./fixed-point";
import type { BoundedInterval, QuantizedLayer, QuantizedPolicy } from "./quantized-model";

/** The parts of a layer that determine its intervals. */
export type LayerShape = Pick<QuantizedLayer, "weights" | "biases" | "shift" | "activation">;

/** The policy constants that determine the policy's intervals. */
export type PolicyShape = Pick<
  QuantizedPolicy,
  "calibrationNum" | "bufferBps" | "mmShift" | "mmMinBps" | "mmMaxBps" | "imRatioNum" | "imRatioShift"
>;

/** Attach the signed bit width to an interval. */
export function bounded(iv: Interval): BoundedInterval {
  return { ...iv, bits: signedBits(iv) };
}

/** Interval of floor(v / 2^s), then ReLU if asked. */
function rescaleInterval(iv: Interval, s: number, reluOut: boolean): Interval {
  const min = iv.min >> BigInt(s);
  const max = iv.max >> BigInt(s);
  return reluOut ? { min: min > 0n ? min : 0n, max: max > 0n ? max : 0n } : { min, max };
}

/** Interval of ceil(v / 2^s). */
function ceilInterval(iv: Interval, s: number): Interval {
  const k = (1n << BigInt(s)) - 1n;
  return { min: (iv.min + k) >> BigInt(s), max: (iv.max + k) >> BigInt(s) };
}

function clampInterval(iv: Interval, lo: number, hi: number): Interval {
  const c = (v: bigint) => (v < BigInt(lo) ? BigInt(lo) : v > BigInt(hi) ? BigInt(hi) : v);
  return { min: c(iv.min), max: c(iv.max) };
}

/** Every interval of the model, layer by layer, then the policy's. */
export function analyseIntervals(
  features: readonly Interval[],
  layers: readonly LayerShape[],
  policy: PolicyShape,
): { layers: Pick<QuantizedLayer, "accumulators" | "outputs">[]; policy: QuantizedPolicy["intervals"] } {
  let inputs: readonly Interval[] = features;
  const out = layers.map((layer) => {
    const accumulators = layer.weights.map((row, j) =>
      bounded(
        row.reduce((acc, w, i) => addInterval(acc, scaleInterval(inputs[i], w)), {
          min: layer.biases[j],
          max: layer.biases[j],
        }),
      ),
    );
    const outputs = accumulators.map((a) => rescaleInterval(a, layer.shift, layer.activation === "relu"));
    inputs = outputs;
    return { accumulators, outputs };
  });
  const output = inputs[0];
  const mmNumerator = scaleInterval(output, BigInt(policy.calibrationNum) * BigInt(10000 + policy.bufferBps));
  const mmRaw = ceilInterval(mmNumerator, policy.mmShift);
  const mm = clampInterval(mmRaw, policy.mmMinBps, policy.mmMaxBps);
  const imNumerator = scaleInterval(mm, BigInt(policy.imRatioNum));
  const imRaw = ceilInterval(imNumerator, policy.imRatioShift);
  return {
    layers: out,
    policy: {
      output: bounded(output),
      mmNumerator: bounded(mmNumerator),
      mmRaw: bounded(mmRaw),
      imNumerator: bounded(imNumerator),
      imRaw: bounded(imRaw),
    },
  };
}
