/**
 * submitBatch with a REAL batch proof: the shipped model on two markets, the generated batch verifier, one
 * proof, both markets updated with the integer engine's parameters; a replay of the batch is refused.
 */
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { hre } from "./fixture";
import { unpackBatchUpdate } from "../../circuits/generate-batch-circuit";
import { loadCandles } from "../../models/load-data";
import { inferBar } from "../../models/predict";
import { loadQuantizedModel } from "../../models/quantized-model";
import { releaseCurves, silentLog } from "../../prover/setup";
import { measureBatchGas } from "../../scripts/batch-gas";

const ROOT = join(__dirname, "../..");
const MODEL = join(ROOT, "models/btc-usdt-2h.quantized.json");
const DATA = join(ROOT, "models/data/btcusdt-2h.csv");

afterAll(async () => {
  await releaseCurves();
});

describe("submitBatch with a real batch proof", () => {
  it("accepts one proof for two markets and stores the engine's parameters for both", async () => {
    expect(hre.network.name).toBe("hardhat");
    const [result] = await measureBatchGas({ model: MODEL, data: DATA, sizes: [2], log: silentLog });
    const bar = inferBar(loadQuantizedModel(MODEL), loadCandles(DATA));
    expect(result.stored).toEqual([
      {
        market: "MKT-00",
        maintenanceMarginBps: Number(bar.trace.maintenanceMarginBps),
        initialMarginBps: Number(bar.trace.initialMarginBps),
      },
      {
        market: "MKT-01",
        maintenanceMarginBps: Number(bar.trace.maintenanceMarginBps),
        initialMarginBps: Number(bar.trace.initialMarginBps),
      },
    ]);
    for (const [i, signal] of result.batch.publicSignals.slice(0, 2).entries()) {
      expect(unpackBatchUpdate(BigInt(signal)).mm).toBe(BigInt(result.stored[i].maintenanceMarginBps));
    }
    expect(result.gasPerMarket).toBeGreaterThan(50_000);
    console.log(
      `submitBatch with a real proof, N = 2: ${result.gasUsed} gas, ${result.gasPerMarket} per market`,
    );
  }, 900_000);
});
