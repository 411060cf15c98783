import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ModelError } from "../../models/errors";
import { featuresAt } from "../../models/features";
import { floorToFixed, toFixed } from "../../models/fixed-point";
import { quantizeFeatures } from "../../models/integer-engine";
import { loadCandles } from "../../models/load-data";
import { loadQuantizedModel, parseQuantizedModel } from "../../models/quantized-model";

const ROOT = join(__dirname, "../..");
const QUANT = join(ROOT, "models/btc-usdt-2h.quantized.json");
type Doc = {
  layers: { accumulators: { min: string; max: string; bits: number }[]; inputScaleBits: number }[];
  policy: { outputScaleBits: number; intervals: { mmRaw: { min: string; max: string; bits: number } } };
};

const doc = (): Doc => JSON.parse(readFileSync(QUANT, "utf8"));

describe("loading a quantised model re-derives what the circuit will trust", () => {
  it("accepts the shipped file", () => {
    expect(() => loadQuantizedModel(QUANT)).not.toThrow();
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

  it("features are floored, so every float in the declared [lo, hi) lands inside the integer bounds", () => {
    const model = loadQuantizedModel(QUANT);
    const i = model.features.findIndex((f) => f.name === "drawdown_7d");
    const x = model.features.map((f) => Number(f.min) / 2 ** f.scaleBits);
    x[i] = 1 - 2 ** -34; // just below hi = 1
    expect(quantizeFeatures(model, x)[i]).toBe(model.features[i].max);
    expect(floorToFixed(-1e-12, 32)).toBe(-1n);
    x[i] = 1;
    expect(() => quantizeFeatures(model, x)).toThrow(
      /drawdown_7d = 1 is outside its declared bounds \[0, 1\)/,
    );
    x[i] = Number.NaN;
    expect(() => quantizeFeatures(model, x)).toThrow(/drawdown_7d = NaN is not a finite number/);
  });
});

describe("featuresAt", () => {
  it("rejects an index that is not a bar of the series", () => {
    const s = loadCandles(join(ROOT, "models/data/btcusdt-2h.csv"));
    expect(() => featuresAt(s, s.candles.length)).toThrow(RangeError);
    expect(() => featuresAt(s, -1)).toThrow(RangeError);
    expect(() => featuresAt(s, 500.5)).toThrow(RangeError);
  });
});
