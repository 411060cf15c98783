import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadFloatModel } from "../../models/float-model";
import { sha256File } from "../../core/io";
import { loadCandles } from "../../candles/load-data";
import { marginFromQuantile } from "../../models/policy";
import { calibrateScale, DEFAULT_TRAIN_OPTIONS, pinballLoss, trainModel } from "../../models/train";

const ROOT = join(__dirname, "../..");
const DATA = join(ROOT, "models/data/btcusdt-2h.csv");

describe("training", () => {
  it("pinball loss weighs misses above the quantile by tau and below by 1 - tau", () => {
    // y - q = +1 costs 0.99; y - q = -1 costs 0.01; mean of the two = 0.5.
    expect(pinballLoss([2, 0], [1, 1], 0.99)).toBeCloseTo(0.5, 12);
    expect(pinballLoss([3], [1], 0.99)).toBeCloseTo(1.98, 12);
  });

  it("calibration picks the smallest dyadic scale whose breach rate is at most 1 %", () => {
    // raw prediction 0.01 for every row; targets 0.001 .. 0.1; 100 rows: one breach allowed, so the
    // margin must cover the 99th largest target (0.099): c * 0.01 * 10000 >= 990 bps -> c >= 9.9.
    const y = Array.from({ length: 100 }, (_, i) => (i + 1) / 1000);
    const raw = y.map(() => 0.01);
    const policy = { ...DEFAULT_TRAIN_OPTIONS.policy, mmMaxBps: 10000 };
    const num = calibrateScale(raw, y, policy, 0.99, 8);
    const breaches = (n: number) =>
      y.filter((t, i) => t > marginFromQuantile((n / 256) * raw[i], policy).maintenanceMarginBps / 10000)
        .length;
    expect(breaches(num)).toBeLessThanOrEqual(1);
    expect(breaches(num - 1)).toBeGreaterThan(1);
    expect(num / 256).toBeGreaterThan(9.8);
    expect(num / 256).toBeLessThan(9.95);
  });

  it("a seeded retrain reproduces the shipped model exactly (npm run train)", async () => {
    const shipped = loadFloatModel(join(ROOT, "models/btc-usdt-2h.float.json"));
    const series = loadCandles(DATA);
    const model = await trainModel(series, {
      ...DEFAULT_TRAIN_OPTIONS,
      dataFile: { file: "models/data/btcusdt-2h.csv", sha256: sha256File(DATA) },
    });
    expect(model.layers).toEqual(shipped.layers);
    expect(model.calibration).toEqual(shipped.calibration);
    expect(model.metrics).toEqual(shipped.metrics);
    expect(JSON.parse(JSON.stringify(model))).toEqual(
      JSON.parse(readFileSync(join(ROOT, "models/btc-usdt-2h.float.json"), "utf8")),
    );
  }, 300_000);

  it("a different seed gives a different model", async () => {
    const series = loadCandles(DATA);
    const opts = { ...DEFAULT_TRAIN_OPTIONS, epochs: 2, dataFile: { file: "x", sha256: "y" } };
    const a = await trainModel(series, opts);
    const b = await trainModel(series, { ...opts, seed: opts.seed + 1 });
    const a2 = await trainModel(series, opts);
    expect(a2.layers).toEqual(a.layers);
    expect(b.layers).not.toEqual(a.layers);
  }, 300_000);
});
