/**
 * The `training` record of a model file (float and quantised alike): the split dates `quantize`, `calibrate`,
 * `backtest` and `demo` select rows by, and the counts, checked when the file is read (ModelError naming the
 * file, the field and the value), so a bad date can no longer silently select other rows.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ModelError } from "../../core/errors";
import { loadFloatModel } from "../../models/float-model";
import { loadAnyModel } from "../../models/predict";
import { loadQuantizedModel } from "../../models/quantized-model";

const ROOT = join(__dirname, "../..");
const FLOAT = join(ROOT, "models/btc-usdt-2h.float.json");
const QUANT = join(ROOT, "models/btc-usdt-2h.quantized.json");
const dir = mkdtempSync(join(tmpdir(), "zkrisk-training-info-"));

/** A model document, typed as far as the edits below reach. */
type Doc = {
  training: Record<string, unknown> & {
    data: Record<string, unknown>;
    splits: Record<string, Record<string, unknown>>;
  };
};

/** `model` with one edit of its training record, written to a file of the temporary directory. */
function edited(model: string, name: string, edit: (doc: Doc) => void): string {
  const doc = JSON.parse(readFileSync(model, "utf8")) as Doc;
  edit(doc);
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(doc));
  return file;
}

const LOADERS = [
  ["float", FLOAT, loadFloatModel],
  ["quantised", QUANT, loadQuantizedModel],
  ["either (backtest's loader)", QUANT, (path: string) => loadAnyModel(path).model],
] as const;

describe.each(LOADERS)("the training record of a %s model file", (kind, shipped, load) => {
  it("accepts the shipped file, whose dates are what `train` writes (ISO 8601, ms, UTC)", () => {
    expect(load(shipped).training.splits.test.from).toBe("2023-01-01T00:00:00.000Z");
  });

  it("refuses a split date that is not an ISO 8601 time, naming the file, the field and the value", () => {
    const cases: [string, string, unknown, string][] = [
      ["test", "from", 7, "7"],
      ["train", "from", null, "null"],
      ["train", "to", { x: 1 }, '{"x":1}'],
      ["validation", "from", "garbage", '"garbage"'],
      ["validation", "from", "2023-13-45", '"2023-13-45"'],
      // a date that does not exist, which Date.parse rolls over to 2 March
      ["validation", "from", "2023-02-30T00:00:00.000Z", '"2023-02-30T00:00:00.000Z"'],
      // a date without its time, or in another form than `train` writes
      ["test", "to", "2024-06-29", '"2024-06-29"'],
      ["test", "from", "2023-01-01T00:00:00Z", '"2023-01-01T00:00:00Z"'],
    ];
    for (const [split, key, value, shown] of cases) {
      const file = edited(
        shipped,
        `${kind}-${split}-${key}.json`,
        (d) => (d.training.splits[split][key] = value),
      );
      const field = `training.splits.${split}.${key}`;
      expect(() => load(file), field).toThrow(ModelError);
      expect(() => load(file), field).toThrow(
        `${file}: ${field}: expected an ISO 8601 UTC time like 2024-01-01T00:00:00.000Z, got ${shown}`,
      );
    }
  });

  it("refuses a range that ends before it starts, splits out of order or overlapping, or outside the data", () => {
    const cases: [(d: Doc) => void, string][] = [
      [
        (d) => (d.training.splits.test.from = "2024-07-01T00:00:00.000Z"),
        'training.splits.test.from: "2024-07-01T00:00:00.000Z" is after to "2024-06-29T22:00:00.000Z"',
      ],
      [
        (d) => (d.training.splits.validation.from = "2021-06-01T00:00:00.000Z"),
        'training.splits.validation.from: "2021-06-01T00:00:00.000Z" is not after training.splits.train.to ' +
          '"2021-12-30T22:00:00.000Z"',
      ],
      [
        (d) => {
          // the test split before the validation split: calibrate would fit on no bar at all
          d.training.splits.test.from = "2019-01-01T00:00:00.000Z";
          d.training.splits.test.to = "2019-06-01T00:00:00.000Z";
        },
        'training.splits.test.from: "2019-01-01T00:00:00.000Z" is not after training.splits.validation.to',
      ],
      [
        (d) => (d.training.splits.test.to = "2024-07-30T00:00:00.000Z"),
        'training.splits.test: "2023-01-01T00:00:00.000Z" .. "2024-07-30T00:00:00.000Z" is outside the data ' +
          'file\'s "2017-08-17T04:00:00.000Z" .. "2024-06-30T22:00:00.000Z" (training.data)',
      ],
      [(d) => (d.training.data.from = "yesterday"), "training.data.from: expected an ISO 8601 UTC time"],
    ];
    for (const [edit, message] of cases) {
      const file = edited(shipped, `${kind}-order.json`, edit);
      expect(() => load(file), message).toThrow(`${file}: ${message}`);
    }
  });

  it("refuses a count that is not a non-negative integer", () => {
    const cases: [(d: Doc) => void, string][] = [
      [(d) => (d.training.splits.test.rows = -1), "training.splits.test.rows: expected an integer in [0, "],
      [
        (d) => (d.training.splits.train.rows = 1.5),
        "training.splits.train.rows: expected an integer in [0, ",
      ],
      [(d) => (d.training.data.rows = "30065"), 'training.data.rows: expected a finite number, got "30065"'],
      [(d) => (d.training.epochs = -3), "training.epochs: expected an integer in [0, "],
      [(d) => (d.training.bestEpoch = 101), "training.bestEpoch: expected an integer in [0, 100], got 101"],
      [(d) => (d.training.batchSize = 0), "training.batchSize: expected an integer in [1, "],
      [(d) => (d.training.learningRate = 0), "training.learningRate: must be positive"],
    ];
    for (const [edit, message] of cases) {
      const file = edited(shipped, `${kind}-count.json`, edit);
      expect(() => load(file), message).toThrow(`${file}: ${message}`);
    }
  });
});
