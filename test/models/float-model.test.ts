/**
 * The float model file is read strictly (models/float-model.ts `loadFloatModel`): besides the training record
 * (test/models/training-info.test.ts), the `metrics` report and the `architecture` record are checked as `train`
 * writes them (no unknown key, each figure of its type and range, the architecture the layers' shapes), with a
 * ModelError naming the file, the field and the value, and `zkrisk quantize` refusing such a file with exit code 2.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ModelError } from "../../core/errors";
import { sha256File } from "../../core/io";
import { loadCandles } from "../../candles/load-data";
import { loadFloatModel } from "../../models/float-model";
import { DEFAULT_TRAIN_OPTIONS, trainModel } from "../../models/train";
import { zkrisk } from "../helpers/zkrisk-cli";

const ROOT = join(__dirname, "../..");
const FLOAT = join(ROOT, "models/btc-usdt-2h.float.json");
const DATA = join(ROOT, "models/data/btcusdt-2h.csv");
const dir = mkdtempSync(join(tmpdir(), "zkrisk-float-model-"));

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = Record<string, any>;

/** The shipped float model with `edit` applied, written to `dir/name`. */
function edited(name: string, edit: (doc: Doc) => void): string {
  const doc = JSON.parse(readFileSync(FLOAT, "utf8")) as Doc;
  edit(doc);
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(doc));
  return file;
}

/** The error loading `file` throws (fails the test if it loads). */
function loadError(file: string): Error {
  try {
    loadFloatModel(file);
  } catch (error) {
    expect(error).toBeInstanceOf(ModelError);
    return error as Error;
  }
  throw new Error(`${file} loaded, expected a ModelError`);
}

/** Each edit of the shipped file, and the message (after `file: `) it must give. */
const CASES: [string, (d: Doc) => void, string][] = [
  [
    "an unknown key in metrics",
    (d) => (d.metrics.bogus = 1),
    "metrics.bogus: unknown key (expected one of train, validation, test)",
  ],
  [
    "an unknown key in a split's metrics",
    (d) => (d.metrics.test.pinball = 1),
    "metrics.test.pinball: unknown key (expected one of rows, pinballLoss, breachRate, kupiecP, " +
      "avgMaintenanceMarginBps, avgInitialMarginBps)",
  ],
  [
    "a quantised model's format",
    (d) => (d.format = "zkrisk-quantized-model/2"),
    'format is "zkrisk-quantized-model/2", not zkrisk-float-model/2 (a quantised model)',
  ],
  [
    "another file's format, named without a guess",
    (d) => (d.format = "zkrisk-calibrations/2"),
    'format is "zkrisk-calibrations/2", not zkrisk-float-model/2',
  ],
  ["a split's metrics missing", (d) => delete d.metrics.validation, "metrics.validation: missing"],
  ["a figure missing", (d) => delete d.metrics.train.kupiecP, "metrics.train.kupiecP: missing"],
  [
    "rows as a string",
    (d) => (d.metrics.train.rows = "x"),
    'metrics.train.rows: expected a finite number, got "x"',
  ],
  ["negative rows", (d) => (d.metrics.test.rows = -1), "metrics.test.rows: expected an integer in [0, "],
  [
    "rows other than the split's",
    (d) => (d.metrics.validation.rows = 4367),
    "metrics.validation.rows: 4367 is not training.splits.validation.rows 4368",
  ],
  [
    "a breach rate above 1",
    (d) => (d.metrics.test.breachRate = 1.5),
    "metrics.test.breachRate: expected a number in [0, 1], got 1.5",
  ],
  [
    "a p-value as a string",
    (d) => (d.metrics.train.kupiecP = "0.5"),
    'metrics.train.kupiecP: expected a finite number, got "0.5"',
  ],
  [
    "a negative loss",
    (d) => (d.metrics.train.pinballLoss = -0.1),
    "metrics.train.pinballLoss: expected a number >= 0, got -0.1",
  ],
  [
    "a null margin (NaN written by JSON.stringify)",
    (d) => (d.metrics.test.avgInitialMarginBps = null),
    "metrics.test.avgInitialMarginBps: expected a finite number, got null",
  ],
  [
    "hidden widths other than the layers'",
    (d) => (d.architecture.hidden = [7]),
    "architecture.hidden: [7] is not the widths of the hidden layers (every layer but the last), [6]",
  ],
  [
    "a hidden layer too many",
    (d) => (d.architecture.hidden = [6, 6]),
    "architecture.hidden: [6,6] is not the widths of the hidden layers (every layer but the last), [6]",
  ],
  [
    "hidden widths as strings",
    (d) => (d.architecture.hidden = ["6"]),
    "architecture.hidden[0]: expected a finite number",
  ],
  [
    "inputs other than the features",
    (d) => (d.architecture.inputs = 7),
    "architecture.inputs: 7 is not the number of features, 8",
  ],
  [
    "an activation the layers do not use",
    (d) => (d.architecture.activation = "tanh"),
    'architecture.activation: expected one of relu, got "tanh"',
  ],
  [
    "an output that is not linear",
    (d) => (d.architecture.output = 1),
    "architecture.output: expected a string, got 1",
  ],
  [
    "a calibration method that is not text",
    (d) => (d.calibration.method = 5),
    "calibration.method: expected a string, got 5",
  ],
  [
    "a data sha256 that is not one",
    (d) => (d.training.data.sha256 = "zz"),
    'training.data.sha256: expected 64 lowercase hex digits (a sha256), got "zz"',
  ],
];

describe("loadFloatModel: metrics and architecture", () => {
  it("accepts the shipped file", () => {
    const model = loadFloatModel(FLOAT);
    expect(model.architecture.hidden).toEqual([6]);
    expect(model.metrics.test.rows).toBe(model.training.splits.test.rows);
  });

  it.each(CASES)("refuses %s, naming the file, the field and the value", (_what, edit, message) => {
    const file = edited(`${_what.replace(/\W+/g, "-")}.json`, edit);
    expect(loadError(file).message).toContain(`${file}: ${message}`);
  });

  it("accepts a freshly trained model as `train` writes it (a short run)", async () => {
    const model = await trainModel(loadCandles(DATA), {
      ...DEFAULT_TRAIN_OPTIONS,
      epochs: 2,
      hidden: [5, 3],
      dataFile: { file: "btcusdt-2h.csv", sha256: sha256File(DATA) },
    });
    const file = join(dir, "fresh.float.json");
    writeFileSync(file, JSON.stringify(model, null, 2));
    const read = loadFloatModel(file);
    expect(read.architecture.hidden).toEqual([5, 3]);
    expect(read.metrics).toEqual(model.metrics);
  }, 300_000);
});

describe("zkrisk quantize: a float model with bad metrics or architecture", () => {
  it.each([
    ["metrics.bogus: unknown key", (d: Doc) => (d.metrics.bogus = 1)],
    ['metrics.train.rows: expected a finite number, got "x"', (d: Doc) => (d.metrics.train.rows = "x")],
    [
      "architecture.hidden: [7] is not the widths of the hidden layers",
      (d: Doc) => (d.architecture.hidden = [7]),
    ],
  ])(
    "exits 2 with %s, writing nothing",
    (message, edit) => {
      const file = edited(`cli-${message.slice(0, 20).replace(/\W+/g, "-")}.json`, edit);
      const out = join(dir, "never.quantized.json");
      const r = zkrisk("quantize", "--model", file, "--out", out);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`zkrisk: ${file}: ${message}`);
      expect(() => readFileSync(out)).toThrow();
    },
    120_000,
  );
});
