/**
 * The float model file: an MLP on normalised features predicting the (uncalibrated) 99 % quantile of the
 * 24 h adverse move, a calibration scale, and the margin policy. `predictQuantile` is the float reference
 * that the integer engine is measured against.
 */
import { ModelError } from "../core/errors";
import { readJsonFile } from "../core/io";
import {
  marginFromQuantile,
  POLICY_KEYS,
  validatePolicy,
  type MarginParameters,
  type MarginPolicy,
} from "./policy";
import { JsonReader, preview, readSha256 } from "../core/validate";
import { marketLabelProblem } from "../candles/market-id";

/** Version 2: the features are the integer window features (features/window-features.ts), no funding. */
export const FLOAT_MODEL_FORMAT = "zkrisk-float-model/2";

/** A dense layer: `weights[j][i]` from input i to output j. */
export interface DenseLayer {
  weights: number[][];
  biases: number[];
  activation: "relu" | "linear";
}

/** A feature as the model sees it: declared bounds and the training normalisation. */
export interface ModelFeature {
  name: string;
  description: string;
  /** Declared bounds [lo, hi) in the feature's own units. */
  lo: number;
  hi: number;
  /** Training mean and standard deviation used to normalise: (x - mean) / std. */
  mean: number;
  std: number;
}

/** A half-open date range of a data split, ISO-8601 strings, and its size. */
export interface SplitRange {
  from: string;
  to: string;
  rows: number;
}

/** Figures of the model on one split (calibrated, float). */
export interface SplitMetrics {
  rows: number;
  pinballLoss: number;
  breachRate: number;
  kupiecP: number;
  avgMaintenanceMarginBps: number;
  avgInitialMarginBps: number;
}

/** Provenance of a trained model. */
export interface TrainingInfo {
  data: { file: string; sha256: string; rows: number; from: string; to: string };
  splits: { train: SplitRange; validation: SplitRange; test: SplitRange };
  seed: number;
  epochs: number;
  bestEpoch: number;
  batchSize: number;
  learningRate: number;
  patience: number;
}

/** The float model file. */
export interface FloatModel {
  format: typeof FLOAT_MODEL_FORMAT;
  market: string;
  barIntervalMs: number;
  targetHorizonBars: number;
  quantileLevel: number;
  features: ModelFeature[];
  architecture: { inputs: number; hidden: number[]; activation: "relu"; output: "linear" };
  layers: DenseLayer[];
  /** q99 = (calibrationNum / 2^calibrationShift) * network output (a dyadic scale, exact in integers). */
  calibration: { num: number; shift: number; method: string };
  policy: MarginPolicy;
  training: TrainingInfo;
  metrics: { train: SplitMetrics; validation: SplitMetrics; test: SplitMetrics };
}

/** Evaluate the network on one feature vector (float64), before calibration. */
export function networkOutput(model: Pick<FloatModel, "features" | "layers">, x: readonly number[]): number {
  let h = x.map((v, i) => (v - model.features[i].mean) / model.features[i].std);
  for (const layer of model.layers) {
    h = layer.weights.map((row, j) => {
      let acc = layer.biases[j];
      for (let i = 0; i < row.length; i++) acc += row[i] * h[i];
      return layer.activation === "relu" ? Math.max(0, acc) : acc;
    });
  }
  return h[0];
}

/** The calibration scale as a number. */
export function calibrationScale(model: Pick<FloatModel, "calibration">): number {
  return model.calibration.num / 2 ** model.calibration.shift;
}

/** Calibrated 99 % quantile of the 24 h adverse move (a fraction) for one feature vector. */
export function predictQuantile(model: FloatModel, x: readonly number[]): number {
  return calibrationScale(model) * networkOutput(model, x);
}

/** Margin parameters of the float model for one feature vector. */
export function predictMarginsFloat(model: FloatModel, x: readonly number[]): MarginParameters {
  return marginFromQuantile(predictQuantile(model, x), model.policy);
}

/** The top-level keys the float and the quantised model files share. */
export const MODEL_FILE_KEYS = [
  "format",
  "market",
  "barIntervalMs",
  "targetHorizonBars",
  "quantileLevel",
  "features",
  "layers",
  "policy",
  "training",
] as const;

/** The file each model object was read from (see {@link recordModelFile}); copies and models built in memory have none. */
const modelFiles = new WeakMap<object, string>();

/**
 * Record that `model` was read from `file` (the model loaders call this), so that a check made later, far from
 * the loader (`checkWindowModel` on `infer`, `backtest`, `compile`), can name the file. Returns `model`.
 */
export function recordModelFile<T extends object>(model: T, file: string): T {
  modelFiles.set(model, file);
  return model;
}

/** The file `model` was read from, or undefined for a model built in memory or a copy (`{ ...model }`). */
export function modelFileOf(model: object): string | undefined {
  return modelFiles.get(model);
}

/**
 * Check the fields the float and quantised model files share that a typo could make absurd without failing
 * elsewhere: the market label (one the oracle can key) and the quantile level, in (0, 1).
 */
export function readModelHeader(r: JsonReader): void {
  const problem = marketLabelProblem(r.at("market").string());
  if (problem !== undefined) r.at("market").error(problem);
  const q = r.at("quantileLevel").number();
  if (!(q > 0 && q < 1)) r.at("quantileLevel").error(`${q} is not a quantile level in (0, 1), e.g. 0.99`);
}

/**
 * A time field as `train` writes it (`isoFromMs`: ISO 8601 UTC with milliseconds, 2024-01-01T00:00:00.000Z),
 * as ms since the epoch; any other text, or a date that does not exist (2023-13-45), is an error naming the field.
 */
export function readIsoTime(r: JsonReader): number {
  const text = r.raw();
  const ok = typeof text === "string" && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(text);
  const ms = ok ? Date.parse(text) : NaN;
  // the round trip refuses a date that does not exist (2023-02-30), which Date.parse would roll over
  if (!Number.isFinite(ms) || new Date(ms).toISOString() !== text) {
    r.error(`expected an ISO 8601 UTC time like 2024-01-01T00:00:00.000Z, got ${preview(text)}`);
  }
  return ms;
}

/** The value of `r`'s field `key` as an error message shows it. */
function shown(r: JsonReader, key: string): string {
  return preview(r.at(key).raw());
}

/** A `{ from, to, rows }` record: two times with from <= to, and a row count; `from` and `to` in ms. */
function readDateRange(r: JsonReader, keys: readonly string[]): { from: number; to: number } {
  r.onlyKeys(keys);
  r.at("rows").integer(0);
  const from = readIsoTime(r.at("from"));
  const to = readIsoTime(r.at("to"));
  if (from > to) r.at("from").error(`${shown(r, "from")} is after to ${shown(r, "to")}`);
  return { from, to };
}

/**
 * Check a model file's `training` record (shared by the float and quantised files): its keys, the counts
 * (non-negative integers), and the dates `quantize`, `calibrate` and `backtest` select rows by: ISO 8601 times,
 * each range from <= to, the splits in time order without overlap (train, then validation, then test, as
 * `train` cuts them) and inside the data file's range.
 */
export function readTrainingInfo(r: JsonReader): void {
  r.onlyKeys(["data", "splits", "seed", "epochs", "bestEpoch", "batchSize", "learningRate", "patience"]);
  const data = r.at("data");
  const range = readDateRange(data, ["file", "sha256", "rows", "from", "to"]);
  data.at("file").string();
  readSha256(data.at("sha256"));
  const splits = r.at("splits").onlyKeys(["train", "validation", "test"]);
  let previous: JsonReader | undefined;
  let previousTo = -Infinity;
  for (const name of ["train", "validation", "test"]) {
    const split = splits.at(name);
    const s = readDateRange(split, ["from", "to", "rows"]);
    if (s.from < range.from || s.to > range.to) {
      split.error(
        `${shown(split, "from")} .. ${shown(split, "to")} is outside the data file's ` +
          `${shown(data, "from")} .. ${shown(data, "to")} (training.data)`,
      );
    }
    if (previous !== undefined && s.from <= previousTo) {
      split
        .at("from")
        .error(`${shown(split, "from")} is not after ${previous.field}.to ${shown(previous, "to")}`);
    }
    previous = split;
    previousTo = s.to;
  }
  r.at("seed").integer(0);
  const epochs = r.at("epochs").integer(0);
  r.at("bestEpoch").integer(0, epochs);
  r.at("batchSize").integer(1);
  if (!(r.at("learningRate").number() > 0)) r.at("learningRate").error("must be positive");
  r.at("patience").integer(0);
}

/** The figures `train` writes for each split (`evaluateSplit`), and the range each must lie in. */
const SPLIT_METRICS: readonly [keyof SplitMetrics, "fraction" | "non-negative"][] = [
  ["pinballLoss", "non-negative"],
  ["breachRate", "fraction"],
  ["kupiecP", "fraction"],
  ["avgMaintenanceMarginBps", "non-negative"],
  ["avgInitialMarginBps", "non-negative"],
];

/**
 * Check a float model's `metrics` report as `train` writes it: one record per split (train, validation, test)
 * with every figure of {@link SplitMetrics} and no other key, rates and p-values in [0, 1], losses and margins
 * non-negative, and each split's row count the one `training.splits` records.
 */
function readMetrics(r: JsonReader, splits: JsonReader): void {
  for (const name of ["train", "validation", "test"]) {
    const m = r.at(name).onlyKeys(["rows", ...SPLIT_METRICS.map(([key]) => key)]);
    const rows = m.at("rows").integer(0);
    const recorded = splits.at(name).at("rows").raw();
    if (rows !== recorded)
      m.at("rows").error(`${rows} is not training.splits.${name}.rows ${preview(recorded)}`);
    for (const [key, range] of SPLIT_METRICS) {
      const v = m.at(key).number();
      if (range === "fraction" ? !(v >= 0 && v <= 1) : !(v >= 0)) {
        m.at(key).error(`expected a ${range === "fraction" ? "number in [0, 1]" : "number >= 0"}, got ${v}`);
      }
    }
  }
}

/**
 * Check a float model's `architecture` record against its layers, as `train` writes it: `inputs` the number of
 * features, `hidden` the width of each layer but the last (which has one output), relu hidden layers and a
 * linear output.
 */
function readArchitectureRecord(r: JsonReader, inputs: number, hidden: readonly number[]): void {
  const n = r.at("inputs").integer(1);
  if (n !== inputs) r.at("inputs").error(`${n} is not the number of features, ${inputs}`);
  const declared = r
    .at("hidden")
    .items()
    .map((h) => h.integer(1));
  if (declared.length !== hidden.length || declared.some((h, i) => h !== hidden[i])) {
    r.at("hidden").error(
      `${preview(declared)} is not the widths of the hidden layers (every layer but the last), ${preview(hidden)}`,
    );
  }
  r.at("activation").literal("relu");
  r.at("output").literal("linear");
}

/** Load and check a float model file. */
export function loadFloatModel(path: string): FloatModel {
  const r = new JsonReader(path, readJsonFile(path, "MODEL_INVALID"));
  const format = r.at("format").string();
  if (format !== FLOAT_MODEL_FORMAT) {
    // the format found, and a quantised model (of any version) named as one (not guessed for any other file)
    throw new ModelError(
      `${path}: format is ${preview(format)}, not ${FLOAT_MODEL_FORMAT}` +
        (format.startsWith("zkrisk-quantized-model/") ? " (a quantised model)" : ""),
    );
  }
  // A misspelt key (policy.bufferBsp) must not pass unnoticed: every object of the file is closed.
  r.onlyKeys([...MODEL_FILE_KEYS, "architecture", "calibration", "metrics"]);
  r.at("architecture").onlyKeys(["inputs", "hidden", "activation", "output"]);
  r.at("calibration").onlyKeys(["num", "shift", "method"]);
  r.at("metrics").onlyKeys(["train", "validation", "test"]);
  r.at("policy").onlyKeys(POLICY_KEYS);
  readTrainingInfo(r.at("training"));
  readModelHeader(r);
  const features = r.at("features").items();
  for (const f of features) {
    f.onlyKeys(["name", "description", "lo", "hi", "mean", "std"]);
    f.at("name").string();
    f.at("lo").number();
    f.at("hi").number();
    f.at("mean").number();
    if (f.at("std").number() <= 0) f.at("std").error("must be positive");
  }
  let width = features.length;
  const widths: number[] = [];
  const layers = r.at("layers").items();
  if (layers.length < 1) r.at("layers").error("needs at least one layer");
  layers.forEach((layer, l) => {
    layer.onlyKeys(["weights", "biases", "activation"]);
    const rows = layer.at("weights").items();
    for (const row of rows) row.items(width).forEach((w) => w.number());
    layer
      .at("biases")
      .items(rows.length)
      .forEach((b) => b.number());
    layer
      .at("activation")
      .literal(...(l === layers.length - 1 ? (["linear"] as const) : (["relu"] as const)));
    width = rows.length;
    widths.push(width);
  });
  if (width !== 1) r.at("layers").error(`the last layer must have one output, has ${width}`);
  readArchitectureRecord(r.at("architecture"), features.length, widths.slice(0, -1));
  r.at("calibration").at("num").integer(1);
  r.at("calibration").at("shift").integer(0, 62);
  r.at("calibration").at("method").string();
  readMetrics(r.at("metrics"), r.at("training").at("splits"));
  r.at("barIntervalMs").integer(1);
  r.at("targetHorizonBars").integer(1);
  const model = r.object() as unknown as FloatModel;
  validatePolicy(model.policy, path);
  return recordModelFile(model, path);
}
