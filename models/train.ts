/**
 * Training of the float model: a tfjs MLP fitted with the pinball (quantile) loss at tau = 0.99 on a
 * chronological split, early-stopped on validation loss, then calibrated on the validation split so that
 * its coverage there is 99 %. Seeded: the same data, seed and options give the same model.
 *
 * The model reads the integer window features (features/window-features.ts) through their exact float
 * twins (`featureFloats`), so the features it was fitted on are the integers the circuit proves.
 */
import * as tf from "@tensorflow/tfjs";
import { basename } from "node:path";
import { buildDataset, splitDataset, type Dataset } from "./dataset";
import { DataError, InsufficientDataError } from "../core/errors";
import { FEATURE_INTERVAL_MS, seriesWindowFeatures, WINDOW_FEATURES } from "../features/window-features";
import {
  FLOAT_MODEL_FORMAT,
  networkOutput,
  type DenseLayer,
  type FloatModel,
  type SplitMetrics,
} from "./float-model";
import { kupiecPof } from "./kupiec";
import { marginFromQuantile, type MarginPolicy } from "./policy";
import { mean, quantile, seededRandom, std } from "./stats";
import { adverseMoveTargets, TARGET_HORIZON_BARS } from "./target";
import type { CandleSeries } from "../candles/types";
import type { TrainOptions } from "./train-options";
import { isoFromMs } from "../core/time";

export { DEFAULT_TRAIN_OPTIONS, type TrainOptions } from "./train-options";

/** Target multiplier during training (fractions -> percent) for a better-conditioned loss. */
const TARGET_SCALE = 100;

function permutation(n: number, rand: () => number): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/** Mean pinball loss of predictions `q` for targets `y` at level tau. */
export function pinballLoss(y: readonly number[], q: readonly number[], tau: number): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) {
    const e = y[i] - q[i];
    s += e >= 0 ? tau * e : (tau - 1) * e;
  }
  return s / y.length;
}

function pinballTensor(y: tf.Tensor, q: tf.Tensor, tau: number): tf.Scalar {
  const e = tf.sub(y, q);
  return tf.mean(tf.maximum(tf.mul(e, tau), tf.mul(e, tau - 1))) as tf.Scalar;
}

/**
 * Smallest calibration scale c = num / 2^shift such that the policy's maintenance margin on
 * c * raw covers the targets at `level` (breaches <= floor((1 - level) * n)).
 */
export function calibrateScale(
  raw: readonly number[],
  y: readonly number[],
  policy: MarginPolicy,
  level: number,
  shift: number,
): number {
  const allowed = Math.floor((1 - level) * y.length);
  const breaches = (num: number) => {
    const c = num / 2 ** shift;
    let b = 0;
    for (let i = 0; i < y.length; i++) {
      if (y[i] > marginFromQuantile(c * raw[i], policy).maintenanceMarginBps / 10000) b++;
    }
    return b;
  };
  let lo = 1;
  let hi = 2 ** shift;
  while (breaches(hi) > allowed) {
    hi *= 2;
    if (hi > 2 ** (shift + 20))
      throw new InsufficientDataError(
        "calibration did not converge: the model output is not positive where targets are large",
      );
  }
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (breaches(mid) <= allowed) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Figures of a (calibrated) float model on a split. */
export function evaluateSplit(model: FloatModel, ds: Dataset): SplitMetrics {
  const c = model.calibration.num / 2 ** model.calibration.shift;
  const q = ds.x.map((x) => c * networkOutput(model, x));
  let breaches = 0;
  let mm = 0;
  let im = 0;
  q.forEach((qi, i) => {
    const m = marginFromQuantile(qi, model.policy);
    if (ds.y[i] > m.maintenanceMarginBps / 10000) breaches++;
    mm += m.maintenanceMarginBps;
    im += m.initialMarginBps;
  });
  const n = ds.y.length;
  return {
    rows: n,
    pinballLoss: pinballLoss(ds.y, q, model.quantileLevel),
    breachRate: breaches / n,
    kupiecP: kupiecPof(breaches, n, 1 - model.quantileLevel),
    avgMaintenanceMarginBps: mm / n,
    avgInitialMarginBps: im / n,
  };
}

/** A fitted network: its layers (fractions out), the training normalisation and the epochs run. */
export interface FittedNetwork {
  means: number[];
  stds: number[];
  layers: DenseLayer[];
  bestEpoch: number;
  epochsRun: number;
}

/**
 * Fit the MLP with the pinball loss on `train` (rows in the order given), early-stopped on `validation`.
 * Deterministic for a given seed on the CPU backend (set by the caller).
 */
export async function fitQuantileNetwork(
  train: Dataset,
  validation: Dataset,
  options: Pick<
    TrainOptions,
    "hidden" | "seed" | "epochs" | "batchSize" | "learningRate" | "patience" | "quantileLevel" | "onEpoch"
  >,
): Promise<FittedNetwork> {
  const d = WINDOW_FEATURES.length;
  const means = WINDOW_FEATURES.map((_, i) => mean(train.x.map((r) => r[i])));
  const stds = WINDOW_FEATURES.map((_, i) => std(train.x.map((r) => r[i])) || 1);
  const norm = (rows: number[][]) => rows.map((r) => r.map((v, i) => (v - means[i]) / stds[i]));
  const xTrain = tf.tensor2d(norm(train.x));
  const yTrain = tf.tensor2d(train.y.map((v) => [v * TARGET_SCALE]));
  const xVal = tf.tensor2d(norm(validation.x));
  const yVal = tf.tensor2d(validation.y.map((v) => [v * TARGET_SCALE]));
  const tau = options.quantileLevel;

  const net = tf.sequential();
  let width = d;
  options.hidden.forEach((units, l) => {
    net.add(
      tf.layers.dense({
        units,
        inputShape: [width],
        activation: "relu",
        kernelInitializer: tf.initializers.heNormal({ seed: options.seed + l }),
        biasInitializer: tf.initializers.constant({ value: 0.1 }),
      }),
    );
    width = units;
  });
  net.add(
    tf.layers.dense({
      units: 1,
      inputShape: [width],
      kernelInitializer: tf.initializers.glorotUniform({ seed: options.seed + 1000 }),
      biasInitializer: tf.initializers.constant({ value: quantile(train.y, tau) * TARGET_SCALE }),
    }),
  );
  const optimizer = tf.train.adam(options.learningRate);
  const rand = seededRandom(options.seed);
  const n = train.y.length;
  let best = { loss: Infinity, epoch: 0, weights: net.getWeights().map((w) => w.clone()) };
  let epoch = 0;
  for (epoch = 1; epoch <= options.epochs; epoch++) {
    const order = permutation(n, rand);
    let trainLoss = 0;
    for (let s = 0; s < n; s += options.batchSize) {
      const idx = tf.tensor1d(order.slice(s, s + options.batchSize), "int32");
      const xb = tf.gather(xTrain, idx);
      const yb = tf.gather(yTrain, idx);
      const loss = optimizer.minimize(() => pinballTensor(yb, net.apply(xb) as tf.Tensor, tau), true);
      trainLoss += (loss as tf.Scalar).dataSync()[0] * (idx.shape[0] / n);
      tf.dispose([idx, xb, yb, loss as tf.Scalar]);
    }
    const valLoss = tf.tidy(() => pinballTensor(yVal, net.apply(xVal) as tf.Tensor, tau).dataSync()[0]);
    options.onEpoch?.(epoch, trainLoss, valLoss);
    if (valLoss < best.loss - 1e-7) {
      best.weights.forEach((w) => w.dispose());
      best = { loss: valLoss, epoch, weights: net.getWeights().map((w) => w.clone()) };
    } else if (epoch - best.epoch >= options.patience) {
      break;
    }
  }
  const epochsRun = Math.min(epoch, options.epochs);

  // Read the best weights out of tfjs: kernels are [in][out]; the file stores [out][in].
  const arrays = best.weights.map((w) => w.arraySync() as number[][] | number[]);
  const layers: DenseLayer[] = [];
  for (let l = 0; l < arrays.length; l += 2) {
    const kernel = arrays[l] as number[][];
    const bias = arrays[l + 1] as number[];
    const last = l + 2 === arrays.length;
    // The network was fitted to targets in percent; scale the last layer back to fractions.
    const k = last ? 1 / TARGET_SCALE : 1;
    layers.push({
      weights: bias.map((_, j) => kernel.map((row) => row[j] * k)),
      biases: bias.map((b) => b * k),
      activation: last ? "linear" : "relu",
    });
  }
  best.weights.forEach((w) => w.dispose());
  tf.dispose([xTrain, yTrain, xVal, yVal]);
  net.dispose();
  optimizer.dispose();

  return { means, stds, layers, bestEpoch: best.epoch, epochsRun };
}

/**
 * Train, calibrate and describe a float model on a candle series.
 * @throws DataError for a series whose bars are not FEATURE_INTERVAL_MS (2 h) apart, or whose candles do not
 *   convert to integers exactly; InsufficientDataError for a split with fewer than 200 usable bars.
 */
export async function trainModel(series: CandleSeries, options: TrainOptions): Promise<FloatModel> {
  if (series.intervalMs !== FEATURE_INTERVAL_MS) {
    throw new DataError(
      series.source,
      undefined,
      `bar interval is ${series.intervalMs / 60000} min but the window features are defined on ` +
        `${FEATURE_INTERVAL_MS / 60000} min bars`,
    );
  }
  // The plain CPU backend: deterministic, so a seeded retrain reproduces the shipped weights exactly.
  // Production mode also silences tfjs's advice to install tfjs-node, which cannot install here.
  tf.enableProdMode();
  await tf.setBackend("cpu");
  const defs = WINDOW_FEATURES;
  const features = seriesWindowFeatures(series);
  const targets = adverseMoveTargets(series);
  const all = buildDataset(features, targets, series);
  const { train, validation, test } = splitDataset(all, options.splits, series.intervalMs);
  for (const [name, ds] of [
    ["train", train],
    ["validation", validation],
    ["test", test],
  ] as const) {
    if (ds.y.length < 200) {
      throw new InsufficientDataError(
        `${series.source}: the ${name} split has ${ds.y.length} usable bars; at least 200 are needed ` +
          `(splits: validation from ${isoFromMs(options.splits.validationFrom)}, test from ${isoFromMs(options.splits.testFrom)})`,
      );
    }
  }

  const d = defs.length;
  const fit = await fitQuantileNetwork(train, validation, options);
  const tau = options.quantileLevel;
  const { means, stds, layers, bestEpoch, epochsRun } = fit;

  const model: FloatModel = {
    format: FLOAT_MODEL_FORMAT,
    market: options.market,
    barIntervalMs: series.intervalMs,
    targetHorizonBars: TARGET_HORIZON_BARS,
    quantileLevel: tau,
    features: defs.map((f, i) => ({
      name: f.name,
      description: f.description,
      lo: f.lo,
      hi: f.hi,
      mean: means[i],
      std: stds[i],
    })),
    architecture: { inputs: d, hidden: options.hidden, activation: "relu", output: "linear" },
    layers,
    calibration: { num: 1, shift: options.calibrationShift, method: "" },
    policy: options.policy,
    training: {
      data: {
        file: basename(options.dataFile.file),
        sha256: options.dataFile.sha256,
        rows: series.candles.length,
        from: isoFromMs(series.candles[0].time),
        to: isoFromMs(series.candles[series.candles.length - 1].time),
      },
      splits: {
        train: {
          from: isoFromMs(train.time[0]),
          to: isoFromMs(train.time[train.time.length - 1]),
          rows: train.y.length,
        },
        validation: {
          from: isoFromMs(validation.time[0]),
          to: isoFromMs(validation.time[validation.time.length - 1]),
          rows: validation.y.length,
        },
        test: {
          from: isoFromMs(test.time[0]),
          to: isoFromMs(test.time[test.time.length - 1]),
          rows: test.y.length,
        },
      },
      seed: options.seed,
      epochs: epochsRun,
      bestEpoch,
      batchSize: options.batchSize,
      learningRate: options.learningRate,
      patience: options.patience,
    },
    metrics: {} as FloatModel["metrics"],
  };
  const rawVal = validation.x.map((x) => networkOutput(model, x));
  model.calibration = {
    num: calibrateScale(rawVal, validation.y, options.policy, tau, options.calibrationShift),
    shift: options.calibrationShift,
    method: `smallest dyadic scale (resolution 2^-${options.calibrationShift}) with validation breach rate <= ${(1 - tau).toFixed(2)} under the policy`,
  };
  model.metrics = {
    train: evaluateSplit(model, train),
    validation: evaluateSplit(model, validation),
    test: evaluateSplit(model, test),
  };
  return model;
}
