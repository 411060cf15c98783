import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  barWindowFeatures,
  FEATURE_SCALE_BITS,
  featureFloats,
  WINDOW_FEATURES,
} from "../../features/window-features";
import { DataError, ModelError } from "../../core/errors";
import { floorToFixed, toFixed } from "../../models/fixed-point";
import { inferInteger } from "../../models/integer-engine";
import { loadCandles } from "../../candles/load-data";
import { architectureOf } from "../../circuits/architecture";
import { checkSignedCircuitParameters } from "../../circuits/signed-circuit-parts";
import {
  checkInputsFit,
  checkWindowModel,
  inferBar,
  loadAnyModel,
  modelMarginSeries,
} from "../../models/predict";
import { loadQuantizedModel, parseQuantizedModel } from "../../models/quantized-model";
import { zkrisk } from "../helpers/zkrisk-cli";

const ROOT = join(__dirname, "../..");
const QUANT = join(ROOT, "models/btc-usdt-2h.quantized.json");
type Doc = {
  layers: { accumulators: { min: string; max: string; bits: number }[]; inputScaleBits: number }[];
  policy: { outputScaleBits: number; intervals: { mmRaw: { min: string; max: string; bits: number } } };
};

const doc = (): Doc => JSON.parse(readFileSync(QUANT, "utf8"));

/** The error `run` throws (fails the test if it returns). */
function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error, none was thrown");
}

describe("loading a quantised model re-derives what the circuit will trust", () => {
  it("accepts the shipped file", () => {
    expect(() => loadQuantizedModel(QUANT)).not.toThrow();
  });

  it("refuses a quantile level outside (0, 1) and a market label that names no market, naming the field", () => {
    for (const [edit, message] of [
      [{ quantileLevel: -1 }, "x.json: quantileLevel: -1 is not a quantile level in (0, 1), e.g. 0.99"],
      [{ quantileLevel: 1 }, "x.json: quantileLevel: 1 is not a quantile level in (0, 1)"],
      [{ quantileLevel: 0 }, "x.json: quantileLevel: 0 is not a quantile level in (0, 1)"],
      [{ market: "" }, "x.json: market: '' is empty"],
      [{ market: " BTC-USDT" }, "x.json: market: ' BTC-USDT' has spaces around it"],
    ] as const) {
      const e = thrown(() => parseQuantizedModel({ ...doc(), ...edit }, "x.json"));
      expect(e, JSON.stringify(edit)).toBeInstanceOf(ModelError);
      expect((e as Error).message).toContain(message);
    }
  });

  it("refuses an accumulator interval narrower than the interval analysis gives", () => {
    const d = doc();
    const a = d.layers[0].accumulators[3];
    a.max = (BigInt(a.max) - 1n).toString();
    expect(() => parseQuantizedModel(d, "m.json")).toThrow(ModelError);
    expect(() => parseQuantizedModel(d, "m.json")).toThrow(
      /layers\[0\]\.accumulators\[3\]: does not match the interval analysis/,
    );
  });

  it("refuses a wider interval too (with its bit width adjusted to match)", () => {
    const d = doc();
    const iv = d.policy.intervals.mmRaw;
    iv.max = (BigInt(iv.max) * 4n).toString();
    iv.bits += 2;
    expect(() => parseQuantizedModel(d, "m.json")).toThrow(/policy\.intervals\.mmRaw: does not match/);
  });

  it("refuses scales that do not chain from layer to layer", () => {
    const d = doc();
    d.layers[1].inputScaleBits += 1;
    expect(() => parseQuantizedModel(d, "m.json")).toThrow(/layers\[1\]\.inputScaleBits: must equal/);
    const e = doc();
    e.policy.outputScaleBits += 1;
    expect(() => parseQuantizedModel(e, "m.json")).toThrow(/outputScaleBits/);
  });
});

describe("rounding to fixed point", () => {
  it("toFixed is exact near 0.5 and above 2^52", () => {
    expect(toFixed(0.49999999999999994, 0)).toBe(0n);
    expect(toFixed(2 ** 52 + 1, 0)).toBe(4503599627370497n);
    expect(toFixed(-(2 ** 52 + 1), 0)).toBe(-4503599627370497n);
    expect(toFixed(2.5, 0)).toBe(3n);
    expect(toFixed(-2.5, 0)).toBe(-2n);
  });

  it("floorToFixed floors, also below zero (how a proof file's float feature value is checked)", () => {
    expect(floorToFixed(1 - 2 ** -34, 32)).toBe((1n << 32n) - 1n);
    expect(floorToFixed(-1e-12, 32)).toBe(-1n);
  });
});

describe("the window features and the quantised model", () => {
  const model = loadQuantizedModel(QUANT);

  it("declares exactly the window features' bounds: what the window engine accepts, the engine accepts", () => {
    expect(model.features.map((f) => f.name)).toEqual(WINDOW_FEATURES.map((f) => f.name));
    model.features.forEach((f, i) => {
      const def = WINDOW_FEATURES[i];
      expect(f.scaleBits).toBe(FEATURE_SCALE_BITS);
      // Every declared [lo, hi) is a power-of-two range at 2^32, so widening leaves it as it is.
      expect(f.min).toBe(toFixed(def.lo, FEATURE_SCALE_BITS));
      expect(f.max).toBe(toFixed(def.hi, FEATURE_SCALE_BITS) - 1n);
    });
  });

  it("the shipped model and series fit; a model of other features, bar interval or scale is refused by name", () => {
    const series = loadCandles(join(ROOT, "models/data/btcusdt-2h.csv"));
    expect(() => checkInputsFit(model, series)).not.toThrow();
    const renamed = {
      ...model,
      features: model.features.map((f, i) => (i === 3 ? { ...f, name: "parkinson_1d" } : f)),
    };
    const error = thrown(() => inferBar(renamed, series));
    expect(error).toBeInstanceOf(ModelError);
    expect((error as Error).message).toMatch(
      /^the model: its features \(rv_1d, rv_3d5, rv_7d, parkinson_1d, .*\) are not the window features \(rv_1d, rv_3d5, rv_7d, range_1d, /,
    );
    expect(() => checkWindowModel({ ...model, barIntervalMs: 3_600_000 }, "m.json")).toThrow(
      "m.json: barIntervalMs is 3600000, the window features are defined on 7200000 ms bars",
    );
    const rescaled = { ...model, features: model.features.map((f) => ({ ...f, scaleBits: 24 })) };
    expect(() => checkWindowModel(rescaled, "m.json")).toThrow(
      "m.json: feature rv_1d is at scale 2^24, the window features are at 2^32",
    );
    const hourly = { ...series, intervalMs: 3_600_000 };
    expect(() => checkInputsFit(model, hourly)).toThrow(DataError);
  });

  it("a model read from a file is refused under the file's name, by infer, backtest and compile alike", () => {
    const dir = mkdtempSync(join(tmpdir(), "zkrisk-window-model-"));
    const series = loadCandles(join(ROOT, "models/data/btcusdt-2h.csv"));
    const reason = "barIntervalMs is 3600000, the window features are defined on 7200000 ms bars";
    const hourlyFile = (source: string, name: string) => {
      const file = join(dir, name);
      writeFileSync(
        file,
        JSON.stringify({ ...JSON.parse(readFileSync(source, "utf8")), barIntervalMs: 3_600_000 }),
      );
      return file;
    };
    const quantized = hourlyFile(QUANT, "hourly.quantized.json");
    const float = hourlyFile(join(ROOT, "models/btc-usdt-2h.float.json"), "hourly.float.json");
    const loaded = loadQuantizedModel(quantized);
    // infer
    expect(() => inferBar(loaded, series)).toThrow(new ModelError(`${quantized}: ${reason}`));
    // backtest (either kind of model)
    for (const file of [quantized, float]) {
      expect(() => modelMarginSeries(loadAnyModel(file), series, "m")).toThrow(
        new ModelError(`${file}: ${reason}`),
      );
    }
    // compile (the signed circuits' generators)
    expect(() => checkSignedCircuitParameters(loaded, "constant", 1, architectureOf(loaded))).toThrow(
      new ModelError(`${quantized}: ${reason}`),
    );
    // a model built in memory, or a copy, has no file: said as such
    expect(() => inferBar({ ...loaded }, series)).toThrow(new ModelError(`the model: ${reason}`));
    expect(() => checkSignedCircuitParameters({ ...loaded }, "constant", 1, architectureOf(loaded))).toThrow(
      new ModelError(`the model of a signed circuit: ${reason}`),
    );
  });

  it("inferBar runs the engine on the integer window features of the bar, and shows their float twins", () => {
    const series = loadCandles(join(ROOT, "models/data/btcusdt-2h.csv"));
    const index = series.candles.length - 1;
    const r = inferBar(model, series);
    expect(r.index).toBe(index);
    expect(r.featuresInt).toEqual(barWindowFeatures(series, index));
    expect(r.features).toEqual(featureFloats(r.featuresInt));
    expect(r.trace).toEqual(inferInteger(model, r.featuresInt));
  });
});

describe("loading a quantised model checks its metadata as `quantize` writes it", () => {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  type Meta = Record<string, any>;
  const meta = (): Meta => JSON.parse(readFileSync(QUANT, "utf8"));
  const cases: [string, (d: Meta) => void, string][] = [
    [
      "source.sha256 not a sha256",
      (d) => (d.source.sha256 = "zz"),
      'source.sha256: expected 64 lowercase hex digits (a sha256), got "zz"',
    ],
    ["source.file not a string", (d) => (d.source.file = 5), "source.file: expected a string, got 5"],
    ["source.file empty", (d) => (d.source.file = ""), "source.file: expected a non-empty string"],
    [
      "quantization.featureScaleBits not a number",
      (d) => (d.quantization.featureScaleBits = "x"),
      'quantization.featureScaleBits: expected a finite number, got "x"',
    ],
    [
      "quantization.featureScaleBits other than the features' scale",
      (d) => (d.quantization.featureScaleBits = 31),
      "quantization.featureScaleBits: 31 is not the features' scaleBits 32",
    ],
    [
      "quantization.weightPrecisionBits negative",
      (d) => (d.quantization.weightPrecisionBits = -1),
      "quantization.weightPrecisionBits: expected an integer in [0, 128], got -1",
    ],
    [
      "quantization.activationScaleBits fractional",
      (d) => (d.quantization.activationScaleBits = 1.5),
      "quantization.activationScaleBits: expected an integer in [0, 128], got 1.5",
    ],
    [
      "quantization.report.from an object",
      (d) => (d.quantization.report.from = { a: 1 }),
      'quantization.report.from: expected an ISO 8601 UTC time like 2024-01-01T00:00:00.000Z, got {"a":1}',
    ],
    [
      "quantization.report.from after to",
      (d) => (d.quantization.report.from = "2024-06-30T00:00:00.000Z"),
      'quantization.report.from: "2024-06-30T00:00:00.000Z" is after to "2024-06-29T22:00:00.000Z"',
    ],
    [
      "quantization.report outside the test split",
      (d) => (d.quantization.report.from = "2022-12-31T22:00:00.000Z"),
      'quantization.report: "2022-12-31T22:00:00.000Z" .. "2024-06-29T22:00:00.000Z" is outside the test split',
    ],
    [
      "quantization.report.bars negative",
      (d) => (d.quantization.report.bars = -5),
      "quantization.report.bars: expected an integer in [0, ",
    ],
    [
      "quantization.report.split not test",
      (d) => (d.quantization.report.split = "validation"),
      'quantization.report.split: expected one of test, got "validation"',
    ],
    [
      "quantization.report difference negative",
      (d) => (d.quantization.report.maxAbsDiffInitialMarginBps = -1),
      "quantization.report.maxAbsDiffInitialMarginBps: expected a number >= 0 (bps), got -1",
    ],
    [
      "quantization.report difference a string",
      (d) => (d.quantization.report.meanAbsDiffMaintenanceMarginBps = "0"),
      'quantization.report.meanAbsDiffMaintenanceMarginBps: expected a finite number, got "0"',
    ],
    [
      "calibration.calibrations.file not a string",
      (d) => (d.calibration = { source: "fitted", calibrations: { file: 1, sha256: "0".repeat(64) } }),
      "calibration.calibrations.file: expected a string, got 1",
    ],
  ];

  it.each(cases)("refuses %s, naming the file, the field and the value", (_what, edit, message) => {
    const d = meta();
    edit(d);
    const e = thrown(() => parseQuantizedModel(d, "q.json"));
    expect(e).toBeInstanceOf(ModelError);
    expect((e as Error).message).toContain(`q.json: ${message}`);
  });

  it("zkrisk infer refuses such a file with exit code 2 naming the field", () => {
    const dir = mkdtempSync(join(tmpdir(), "zkrisk-quantized-meta-"));
    for (const [field, edit] of [
      ["source.sha256", (d: Meta) => (d.source.sha256 = "zz")],
      ["quantization.report.bars", (d: Meta) => (d.quantization.report.bars = -5)],
    ] as const) {
      const d = meta();
      edit(d);
      const file = join(dir, `${field}.json`);
      writeFileSync(file, JSON.stringify(d));
      const r = zkrisk("infer", "--model", file);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`zkrisk: ${file}: ${field}: `);
    }
  }, 120_000);
});
