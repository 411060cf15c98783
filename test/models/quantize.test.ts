import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildDataset, rowsInRange } from "../../models/dataset";
import { seriesWindowFeatures } from "../../features/window-features";
import { loadFloatModel, predictMarginsFloat } from "../../models/float-model";
import { sha256File } from "../../core/io";
import { inferInteger } from "../../models/integer-engine";
import { loadCandles } from "../../candles/load-data";
import { quantizationReport, quantizeModel } from "../../models/quantize";
import { loadQuantizedModel, quantizedModelToJson } from "../../models/quantized-model";
import { adverseMoveTargets } from "../../models/target";

const ROOT = join(__dirname, "../..");
const FLOAT = join(ROOT, "models/btc-usdt-2h.float.json");
const QUANT = join(ROOT, "models/btc-usdt-2h.quantized.json");

describe("shipped quantised model", () => {
  const floatModel = loadFloatModel(FLOAT);
  const qmodel = loadQuantizedModel(QUANT);
  const series = loadCandles(join(ROOT, "models/data/btcusdt-2h.csv"));
  const all = buildDataset(seriesWindowFeatures(series), adverseMoveTargets(series), series);
  const test = rowsInRange(
    all,
    Date.parse(floatModel.training.splits.test.from),
    Date.parse(floatModel.training.splits.test.to),
  );

  it("was trained on the shipped data and quantised from the shipped float model", () => {
    expect(floatModel.training.data.sha256).toBe(sha256File(join(ROOT, "models/data/btcusdt-2h.csv")));
    expect(qmodel.source.sha256).toBe(sha256File(FLOAT));
  });

  it("is reproduced exactly by quantising the float model", () => {
    const again = quantizeModel(floatModel, qmodel.source, qmodel.quantization);
    const strip = (m: object) => {
      const j = quantizedModelToJson(m as never) as { quantization: { report?: unknown } };
      delete j.quantization.report;
      return j;
    };
    expect(strip(again)).toEqual(strip(qmodel));
  });

  it("differs from the float model by at most 1 bps in MM and IM on every test-split bar", () => {
    expect(test.y.length).toBe(floatModel.training.splits.test.rows);
    let maxMm = 0;
    let maxIm = 0;
    test.x.forEach((x, row) => {
      // The float model on the float twins, the integer engine on the integer features themselves.
      const f = predictMarginsFloat(floatModel, x);
      const t = inferInteger(qmodel, test.xInt[row]);
      maxMm = Math.max(maxMm, Math.abs(f.maintenanceMarginBps - Number(t.maintenanceMarginBps)));
      maxIm = Math.max(maxIm, Math.abs(f.initialMarginBps - Number(t.initialMarginBps)));
    });
    expect(maxMm).toBeLessThanOrEqual(1);
    expect(maxIm).toBeLessThanOrEqual(1);
    // The report stored in the model file says the same.
    const report = quantizationReport(floatModel, qmodel, test);
    expect(report).toEqual(qmodel.quantization.report);
    expect(report.maxAbsDiffMaintenanceMarginBps).toBe(maxMm);
    expect(report.maxAbsDiffInitialMarginBps).toBe(maxIm);
  });

  it("coarse quantisation is measurably worse (the report can fail)", () => {
    // The features stay at their scale 2^32; the weights and activations get 12 bits.
    const coarse = quantizeModel(floatModel, qmodel.source, {
      featureScaleBits: 32,
      weightPrecisionBits: 12,
      activationScaleBits: 12,
    });
    const report = quantizationReport(floatModel, coarse, test);
    expect(report.maxAbsDiffMaintenanceMarginBps).toBeGreaterThan(1);
  });

  it("records accumulator widths that the interval analysis derives from the bounds", () => {
    for (const layer of qmodel.layers) {
      for (const a of layer.accumulators) {
        expect(a.bits).toBeGreaterThan(0);
        expect(a.min <= a.max).toBe(true);
      }
    }
    // The all-max and all-min feature vectors stay inside the recorded intervals (inferInteger checks).
    expect(() =>
      inferInteger(
        qmodel,
        qmodel.features.map((f) => f.max),
      ),
    ).not.toThrow();
    expect(() =>
      inferInteger(
        qmodel,
        qmodel.features.map((f) => f.min),
      ),
    ).not.toThrow();
  });
});
