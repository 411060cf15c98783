/**
 * The quantised model file: integer weights, declared feature scales and bounds, and the interval of
 * every accumulator, from which the circuit generator sizes its range checks. All integers are decimal
 * strings in the file and bigint in memory.
 */
import {
  FLOAT_MODEL_FORMAT,
  MODEL_FILE_KEYS,
  readIsoTime,
  readModelHeader,
  readTrainingInfo,
  recordModelFile,
  type TrainingInfo,
} from "./float-model";
import { ModelError } from "../core/errors";
import { readJsonFile } from "../core/io";
import { POLICY_KEYS, validatePolicy, type MarginPolicy } from "./policy";
import { signedBits, type Interval } from "./fixed-point";
import { analyseIntervals } from "./intervals";
import { JsonReader, nonEmptyString, preview, readSha256 } from "../core/validate";

/** Version 2: the features are the integer window features (features/window-features.ts), no funding. */
export const QUANTIZED_MODEL_FORMAT = "zkrisk-quantized-model/2";

/** An integer interval with the signed bit width that holds it (see fixed-point.ts `signedBits`). */
export interface BoundedInterval extends Interval {
  bits: number;
}

/** A feature input: an integer at scale 2^scaleBits (a window feature), declared to lie in [min, max]. */
export interface QuantizedFeature {
  name: string;
  scaleBits: number;
  /** Inclusive integer bounds; max - min + 1 = 2^rangeBits, so one rangeBits-bit check on x - min suffices. */
  min: bigint;
  max: bigint;
  rangeBits: number;
}

/**
 * A dense layer in integers: acc_j = biases[j] + sum_i weights[j][i] * x_i at scale
 * 2^(inputScaleBits + weightScaleBits); then out_j = floor(acc_j / 2^shift), then ReLU for hidden layers.
 */
export interface QuantizedLayer {
  inputScaleBits: number;
  weightScaleBits: number;
  shift: number;
  activation: "relu" | "linear";
  weights: bigint[][];
  biases: bigint[];
  /** Interval of each accumulator acc_j, from interval analysis over the feature bounds. */
  accumulators: BoundedInterval[];
  /** Interval of each output after rescale (and ReLU). */
  outputs: Interval[];
}

/**
 * The policy in integers. With y the network output at scale 2^outputScaleBits,
 *   mmNumerator = y * calibrationNum * (10000 + bufferBps)
 *   mmRaw       = ceil(mmNumerator / 2^mmShift),  mmShift = outputScaleBits + calibrationShift
 *   MM          = clamp(mmRaw, mmMinBps, mmMaxBps)
 *   imRaw       = ceil(MM * imRatioNum / 2^imRatioShift),  IM = clamp(imRaw, imMinBps, imMaxBps)
 */
export interface QuantizedPolicy extends MarginPolicy {
  calibrationNum: number;
  calibrationShift: number;
  outputScaleBits: number;
  mmShift: number;
  intervals: {
    output: BoundedInterval;
    mmNumerator: BoundedInterval;
    mmRaw: BoundedInterval;
    imNumerator: BoundedInterval;
    imRaw: BoundedInterval;
  };
}

/** Float-vs-integer agreement measured when the model was quantised. */
export interface QuantizationReport {
  split: "test";
  from: string;
  to: string;
  bars: number;
  maxAbsDiffMaintenanceMarginBps: number;
  meanAbsDiffMaintenanceMarginBps: number;
  maxAbsDiffInitialMarginBps: number;
  meanAbsDiffInitialMarginBps: number;
  /** Largest |float - integer| of the pre-ceil MM value, in bps. */
  maxAbsDiffMaintenanceMarginExactBps: number;
}

/**
 * Where a market model file's calibration came from (`zkrisk market-model` writes it): the market's scale fitted
 * on its own history, or the new-market rule's, and the calibrations file that gave it. Information for whoever
 * reads the file; the model commitment binds the calibration itself (policy.calibrationNum), not this.
 */
export interface ModelCalibrationInfo {
  source: "fitted" | "new-market rule";
  calibrations: { file: string; sha256: string };
}

/** The quantised model file. */
export interface QuantizedModel {
  format: typeof QUANTIZED_MODEL_FORMAT;
  market: string;
  barIntervalMs: number;
  targetHorizonBars: number;
  quantileLevel: number;
  source: { file: string; sha256: string };
  features: QuantizedFeature[];
  layers: QuantizedLayer[];
  policy: QuantizedPolicy;
  quantization: {
    featureScaleBits: number;
    weightPrecisionBits: number;
    activationScaleBits: number;
    report: QuantizationReport;
  };
  training: TrainingInfo;
  /** A market model file's calibration provenance (absent from the base model `zkrisk quantize` writes). */
  calibration?: ModelCalibrationInfo;
}

/** Serialise with bigints as decimal strings. */
export function quantizedModelToJson(model: QuantizedModel): unknown {
  return JSON.parse(JSON.stringify(model, (_k, v) => (typeof v === "bigint" ? v.toString() : v)));
}

function readInterval(r: JsonReader, withBits: true): BoundedInterval;
function readInterval(r: JsonReader, withBits: false): Interval;
function readInterval(r: JsonReader, withBits: boolean): Interval | BoundedInterval {
  r.onlyKeys(withBits ? ["min", "max", "bits"] : ["min", "max"]);
  const min = r.at("min").bigint();
  const max = r.at("max").bigint();
  if (min > max) r.error(`min ${min} > max ${max}`);
  if (!withBits) return { min, max };
  const bits = r.at("bits").integer(1, 250);
  if (bits !== signedBits({ min, max })) r.at("bits").error(`${bits} does not match [${min}, ${max}]`);
  return { min, max, bits };
}

function show(iv: Interval): string {
  return `[${iv.min}, ${iv.max}]`;
}

/** The fields of `quantization.report`, as `quantizationReport` writes them. */
const REPORT_KEYS = [
  "split",
  "from",
  "to",
  "bars",
  "maxAbsDiffMaintenanceMarginBps",
  "meanAbsDiffMaintenanceMarginBps",
  "maxAbsDiffInitialMarginBps",
  "meanAbsDiffInitialMarginBps",
  "maxAbsDiffMaintenanceMarginExactBps",
] as const;

/**
 * Check `quantization` as `quantize` writes it: the bit choices (integers; each feature's scaleBits is
 * featureScaleBits, checked with the features) and the report of the float-vs-integer agreement on the test
 * split: `split` "test", `from` <= `to` ISO 8601 times inside `training.splits.test`, `bars` a count, and the
 * differences (bps) non-negative numbers.
 * @param test the reader at `training.splits.test` (already checked)
 */
function readQuantization(q: JsonReader, test: JsonReader): void {
  q.at("featureScaleBits").integer(0, 64);
  q.at("weightPrecisionBits").integer(0, 128);
  q.at("activationScaleBits").integer(0, 128);
  const report = q.at("report");
  report.at("split").literal("test");
  const from = readIsoTime(report.at("from"));
  const to = readIsoTime(report.at("to"));
  const shown = (r: JsonReader, key: string) => preview(r.at(key).raw());
  if (from > to) report.at("from").error(`${shown(report, "from")} is after to ${shown(report, "to")}`);
  if (from < readIsoTime(test.at("from")) || to > readIsoTime(test.at("to"))) {
    report.error(
      `${shown(report, "from")} .. ${shown(report, "to")} is outside the test split ` +
        `${shown(test, "from")} .. ${shown(test, "to")} (training.splits.test)`,
    );
  }
  report.at("bars").integer(0);
  for (const key of REPORT_KEYS.slice(4)) {
    const v = report.at(key).number();
    if (!(v >= 0)) report.at(key).error(`expected a number >= 0 (bps), got ${v}`);
  }
}

/** Parse and check a quantised model document (as read from `file`). */
export function parseQuantizedModel(doc: unknown, file: string): QuantizedModel {
  const r = new JsonReader(file, doc);
  const format = r.at("format").string();
  if (format !== QUANTIZED_MODEL_FORMAT) {
    // the format found, and a float model named as one (not guessed for any other file)
    throw new ModelError(
      `${file}: format is ${preview(format)}, not ${QUANTIZED_MODEL_FORMAT}` +
        (format === FLOAT_MODEL_FORMAT ? " (a float model: quantise it with `zkrisk quantize`)" : ""),
    );
  }
  // A misspelt key (policy.bufferBsp) must not pass unnoticed: every object of the file is closed.
  r.onlyKeys([...MODEL_FILE_KEYS, "source", "quantization", "calibration"]);
  const source = r.at("source").onlyKeys(["file", "sha256"]);
  nonEmptyString(source.at("file"));
  readSha256(source.at("sha256"));
  const calibration = r.optional("calibration");
  if (calibration !== undefined) {
    calibration.onlyKeys(["source", "calibrations"]);
    calibration.at("source").literal("fitted", "new-market rule");
    const from = calibration.at("calibrations").onlyKeys(["file", "sha256"]);
    nonEmptyString(from.at("file"));
    readSha256(from.at("sha256"));
  }
  const quantization = r
    .at("quantization")
    .onlyKeys(["featureScaleBits", "weightPrecisionBits", "activationScaleBits", "report"]);
  quantization.at("report").onlyKeys(REPORT_KEYS);
  readTrainingInfo(r.at("training"));
  readQuantization(quantization, r.at("training").at("splits").at("test"));
  readModelHeader(r);
  const features: QuantizedFeature[] = r
    .at("features")
    .items()
    .map((f) => {
      f.onlyKeys(["name", "scaleBits", "min", "max", "rangeBits"]);
      const q: QuantizedFeature = {
        name: f.at("name").string(),
        scaleBits: f.at("scaleBits").integer(0, 64),
        min: f.at("min").bigint(),
        max: f.at("max").bigint(),
        rangeBits: f.at("rangeBits").integer(1, 128),
      };
      if (q.max - q.min + 1n !== 1n << BigInt(q.rangeBits)) {
        f.error(`max - min + 1 must be 2^rangeBits = 2^${q.rangeBits}`);
      }
      return q;
    });
  let width = features.length;
  const layerReaders = r.at("layers").items();
  const layers: QuantizedLayer[] = layerReaders.map((l, k) => {
    const last = k === layerReaders.length - 1;
    l.onlyKeys([
      "inputScaleBits",
      "weightScaleBits",
      "shift",
      "activation",
      "weights",
      "biases",
      "accumulators",
      "outputs",
    ]);
    const weights = l
      .at("weights")
      .items()
      .map((row) => row.items(width).map((w) => w.bigint()));
    const out = weights.length;
    const layer: QuantizedLayer = {
      inputScaleBits: l.at("inputScaleBits").integer(0, 128),
      weightScaleBits: l.at("weightScaleBits").integer(0, 128),
      shift: l.at("shift").integer(0, 128),
      activation: l.at("activation").literal(last ? "linear" : "relu"),
      weights,
      biases: l
        .at("biases")
        .items(out)
        .map((b) => b.bigint()),
      accumulators: l
        .at("accumulators")
        .items(out)
        .map((a) => readInterval(a, true)),
      outputs: l
        .at("outputs")
        .items(out)
        .map((a) => readInterval(a, false)),
    };
    width = out;
    return layer;
  });
  if (width !== 1) r.at("layers").error(`the last layer must have one output, has ${width}`);
  const p = r
    .at("policy")
    .onlyKeys([
      ...POLICY_KEYS,
      "calibrationNum",
      "calibrationShift",
      "outputScaleBits",
      "mmShift",
      "intervals",
    ]);
  const iv = p.at("intervals").onlyKeys(["output", "mmNumerator", "mmRaw", "imNumerator", "imRaw"]);
  const policy: QuantizedPolicy = {
    ...(p.object() as unknown as MarginPolicy),
    calibrationNum: p.at("calibrationNum").integer(1),
    calibrationShift: p.at("calibrationShift").integer(0, 62),
    outputScaleBits: p.at("outputScaleBits").integer(0, 200),
    mmShift: p.at("mmShift").integer(0, 250),
    intervals: {
      output: readInterval(iv.at("output"), true),
      mmNumerator: readInterval(iv.at("mmNumerator"), true),
      mmRaw: readInterval(iv.at("mmRaw"), true),
      imNumerator: readInterval(iv.at("imNumerator"), true),
      imRaw: readInterval(iv.at("imRaw"), true),
    },
  };
  validatePolicy(policy, file);
  if (policy.mmShift !== policy.outputScaleBits + policy.calibrationShift) {
    p.at("mmShift").error("must equal outputScaleBits + calibrationShift");
  }
  // Scales must chain: each layer's input scale is the previous layer's output scale.
  let scale = features[0]?.scaleBits ?? 0;
  features.forEach((f, i) => {
    if (f.scaleBits !== scale)
      r.at("features").at(i).at("scaleBits").error(`must equal the other features' ${scale}`);
  });
  const featureScaleBits = r.at("quantization").at("featureScaleBits");
  if (features.length > 0 && featureScaleBits.raw() !== scale) {
    featureScaleBits.error(`${preview(featureScaleBits.raw())} is not the features' scaleBits ${scale}`);
  }
  layers.forEach((l, k) => {
    if (l.inputScaleBits !== scale) {
      layerReaders[k].at("inputScaleBits").error(`must equal the previous stage's output scale ${scale}`);
    }
    scale = l.inputScaleBits + l.weightScaleBits - l.shift;
  });
  if (policy.outputScaleBits !== scale)
    p.at("outputScaleBits").error(`must equal the last layer's output scale ${scale}`);
  // The circuit sizes its range checks from the recorded intervals: they must be exactly what the
  // interval analysis derives from the bounds and weights, not merely plausible.
  const derived = analyseIntervals(
    features.map((f) => ({ min: f.min, max: f.max })),
    layers,
    policy,
  );
  const same = (a: Interval, b: Interval) => a.min === b.min && a.max === b.max;
  layers.forEach((l, k) => {
    l.accumulators.forEach((a, j) => {
      if (!same(a, derived.layers[k].accumulators[j])) {
        layerReaders[k]
          .at("accumulators")
          .at(j)
          .error(`does not match the interval analysis ${show(derived.layers[k].accumulators[j])}`);
      }
    });
    l.outputs.forEach((o, j) => {
      if (!same(o, derived.layers[k].outputs[j])) {
        layerReaders[k]
          .at("outputs")
          .at(j)
          .error(`does not match the interval analysis ${show(derived.layers[k].outputs[j])}`);
      }
    });
  });
  for (const key of Object.keys(derived.policy) as (keyof QuantizedPolicy["intervals"])[]) {
    if (!same(policy.intervals[key], derived.policy[key])) {
      iv.at(key).error(`does not match the interval analysis ${show(derived.policy[key])}`);
    }
  }
  r.at("barIntervalMs").integer(1);
  r.at("targetHorizonBars").integer(1);
  const base = r.object() as unknown as QuantizedModel;
  return recordModelFile({ ...base, features, layers, policy }, file);
}

/** Load and check a quantised model file. */
export function loadQuantizedModel(path: string): QuantizedModel {
  return parseQuantizedModel(readJsonFile(path, "MODEL_INVALID"), path);
}
