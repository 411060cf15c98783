/**
 * Quantisation: float model -> integer model, with the feature normalisation folded into the first layer,
 * per-layer power-of-two weight scales, interval analysis of every accumulator, and a report of how far
 * the integer engine is from the float model on the test split.
 *
 * Scales (a value v at scale s stands for v / 2^s):
 *   features at 2^F; layer l weights at 2^W_l, chosen so the largest |weight| is about 2^P;
 *   acc at 2^(in_l + W_l); hidden outputs rescaled to 2^A; the last layer is not rescaled.
 */
import type { Dataset } from "./dataset";
import { toFixed } from "./fixed-point";
import { analyseIntervals } from "./intervals";
import { calibrationScale, networkOutput, type FloatModel } from "./float-model";
import { inferInteger } from "./integer-engine";
import { FEATURE_SCALE_BITS, WINDOW_FEATURES } from "../features/window-features";
import { marginFromQuantile } from "./policy";
import {
  QUANTIZED_MODEL_FORMAT,
  type QuantizationReport,
  type QuantizedFeature,
  type QuantizedLayer,
  type QuantizedModel,
} from "./quantized-model";

/** Bit choices of the quantiser. */
export interface QuantizeOptions {
  /** F: features are integers at scale 2^F (the window features are at FEATURE_SCALE_BITS = 32). */
  featureScaleBits: number;
  /** P: each layer's largest |weight| is scaled to about 2^P. */
  weightPrecisionBits: number;
  /** A: hidden activations are integers at scale 2^A. */
  activationScaleBits: number;
}

export const DEFAULT_QUANTIZE_OPTIONS: QuantizeOptions = {
  featureScaleBits: FEATURE_SCALE_BITS,
  weightPrecisionBits: 32,
  activationScaleBits: 32,
};

/**
 * Integer features' declared bounds at scale 2^F, widened to a power-of-two range: [lo, hi) of the window
 * feature's definition (WINDOW_FEATURES), or the float model's own [lo, hi) for a feature that is not one (a
 * hand-made model).
 */
function quantizeFeatureBounds(model: FloatModel, F: number): QuantizedFeature[] {
  const defs = new Map(WINDOW_FEATURES.map((d) => [d.name, d]));
  return model.features.map((f) => {
    const { lo, hi } = defs.get(f.name) ?? f;
    const min = toFixed(lo, F);
    const span = toFixed(hi, F) - min;
    let rangeBits = 0;
    while (1n << BigInt(rangeBits) < span) rangeBits++;
    return { name: f.name, scaleBits: F, min, max: min + (1n << BigInt(rangeBits)) - 1n, rangeBits };
  });
}

/** Power-of-two scale bits that bring the largest |w| to about 2^P. */
function weightScaleBits(weights: number[][], P: number): number {
  let m = 0;
  for (const row of weights) for (const w of row) m = Math.max(m, Math.abs(w));
  return m === 0 ? P : P - Math.ceil(Math.log2(m));
}

/**
 * Quantise a float model (without the report: see `quantizationReport`). `weightScaleBits`, when given,
 * fixes each layer's weight scale instead of deriving it from the largest weight (to fit the model to an
 * existing committed-weights circuit).
 */
export function quantizeModel(
  model: FloatModel,
  source: { file: string; sha256: string },
  options: QuantizeOptions = DEFAULT_QUANTIZE_OPTIONS,
  weightScaleBitsPerLayer?: readonly number[],
): Omit<QuantizedModel, "quantization"> & { quantization: Omit<QuantizedModel["quantization"], "report"> } {
  const { featureScaleBits: F, weightPrecisionBits: P, activationScaleBits: A } = options;
  const features = quantizeFeatureBounds(model, F);

  // Fold (x - mean) / std into layer 0: w'_ji = w_ji / std_i, b'_j = b_j - sum_i w_ji * mean_i / std_i.
  const floatLayers = model.layers.map((l, k) => {
    if (k > 0) return l;
    const weights = l.weights.map((row) => row.map((w, i) => w / model.features[i].std));
    const biases = l.biases.map((b, j) => {
      let s = b;
      l.weights[j].forEach((w, i) => (s -= (w * model.features[i].mean) / model.features[i].std));
      return s;
    });
    return { ...l, weights, biases };
  });

  let inScale = F;
  const integerLayers = floatLayers.map((l, k) => {
    const last = k === floatLayers.length - 1;
    const W = weightScaleBitsPerLayer?.[k] ?? weightScaleBits(l.weights, P);
    const shift = last ? 0 : inScale + W - A;
    if (shift < 0) throw new RangeError(`layer ${k}: rescale shift ${shift} < 0; raise the weight precision`);
    const layer = {
      inputScaleBits: inScale,
      weightScaleBits: W,
      shift,
      activation: last ? ("linear" as const) : ("relu" as const),
      weights: l.weights.map((row) => row.map((w) => toFixed(w, W))),
      biases: l.biases.map((b) => toFixed(b, inScale + W)),
    };
    inScale = last ? inScale + W : A;
    return layer;
  });

  const p = model.policy;
  const policyShape = {
    ...p,
    calibrationNum: model.calibration.num,
    calibrationShift: model.calibration.shift,
    outputScaleBits: inScale,
    mmShift: inScale + model.calibration.shift,
  };
  const intervals = analyseIntervals(
    features.map((f) => ({ min: f.min, max: f.max })),
    integerLayers,
    policyShape,
  );
  const layers: QuantizedLayer[] = integerLayers.map((l, k) => ({ ...l, ...intervals.layers[k] }));

  return {
    format: QUANTIZED_MODEL_FORMAT,
    market: model.market,
    barIntervalMs: model.barIntervalMs,
    targetHorizonBars: model.targetHorizonBars,
    quantileLevel: model.quantileLevel,
    source,
    features,
    layers,
    policy: { ...policyShape, intervals: intervals.policy },
    quantization: { featureScaleBits: F, weightPrecisionBits: P, activationScaleBits: A },
    training: model.training,
  };
}

/**
 * Float model vs integer engine, in bps, on the rows of a data split: the float model on the float twins
 * (`test.x`), the integer engine on the integer features themselves (`test.xInt`).
 */
export function quantizationReport(
  floatModel: FloatModel,
  qmodel: Pick<QuantizedModel, "features" | "layers" | "policy">,
  test: Dataset,
): QuantizationReport {
  const c = calibrationScale(floatModel);
  let maxMm = 0;
  let maxIm = 0;
  let sumMm = 0;
  let sumIm = 0;
  let maxExact = 0;
  const p = qmodel.policy;
  test.x.forEach((x, row) => {
    const q = c * networkOutput(floatModel, x);
    const f = marginFromQuantile(q, floatModel.policy);
    const t = inferInteger(qmodel as QuantizedModel, test.xInt[row]);
    const dMm = Math.abs(f.maintenanceMarginBps - Number(t.maintenanceMarginBps));
    const dIm = Math.abs(f.initialMarginBps - Number(t.initialMarginBps));
    maxMm = Math.max(maxMm, dMm);
    maxIm = Math.max(maxIm, dIm);
    sumMm += dMm;
    sumIm += dIm;
    const exactInt = Number(t.mmNumerator) / 2 ** p.mmShift;
    maxExact = Math.max(maxExact, Math.abs(q * (10000 + p.bufferBps) - exactInt));
  });
  const n = test.x.length;
  return {
    split: "test",
    from: new Date(test.time[0]).toISOString(),
    to: new Date(test.time[n - 1]).toISOString(),
    bars: n,
    maxAbsDiffMaintenanceMarginBps: maxMm,
    meanAbsDiffMaintenanceMarginBps: sumMm / n,
    maxAbsDiffInitialMarginBps: maxIm,
    meanAbsDiffInitialMarginBps: sumIm / n,
    maxAbsDiffMaintenanceMarginExactBps: maxExact,
  };
}
