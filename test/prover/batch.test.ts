/** A real batch proof of the shipped model on two markets: verifies, matches the engine, binds every signal. */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIELD_MODULUS } from "../../circuits/field";
import { unpackBatchUpdate } from "../../circuits/generate-batch-circuit";
import { loadCandles } from "../../models/load-data";
import { inferBar } from "../../models/predict";
import { loadQuantizedModel } from "../../models/quantized-model";
import { marketIdOf } from "../../candles/market-id";
import { BatchProver, type ProvedBatch } from "../../prover/prove-batch";
import { releaseCurves, snarkjs } from "../../prover/setup";
import { buildBatchArtifacts } from "../helpers/batch-artifacts";

const ROOT = join(__dirname, "../..");
const series = loadCandles(join(ROOT, "models/data/btcusdt-2h.csv"));
const model = loadQuantizedModel(join(ROOT, "models/btc-usdt-2h.quantized.json"));
let prover: BatchProver;
let batch: ProvedBatch;
const last = series.candles.length - 1;

beforeAll(async () => {
  prover = await BatchProver.open(await buildBatchArtifacts(2));
  batch = await prover.prove(
    [
      { market: "BTC-USDT", marketId: marketIdOf("BTC-USDT"), series },
      { market: "ETH-USDT", marketId: marketIdOf("ETH-USDT"), series, index: last - 1 },
    ],
    99n,
  );
}, 900_000);

afterAll(async () => {
  await prover?.close();
  await releaseCurves();
});

describe("BatchProver", () => {
  it("proves two markets in one proof with the engine's parameters", async () => {
    expect(prover.batchSize).toBe(2);
    expect(batch.publicSignals).toHaveLength(5);
    for (const [i, index] of [last, last - 1].entries()) {
      const bar = inferBar(model, series, index);
      const u = unpackBatchUpdate(BigInt(batch.publicSignals[i]));
      expect(u.mm).toBe(bar.trace.maintenanceMarginBps);
      expect(u.im).toBe(bar.trace.initialMarginBps);
      expect(u.dataTimestamp).toBe(BigInt(bar.time / 1000));
      expect(u.marketId).toBe(marketIdOf(i === 0 ? "BTC-USDT" : "ETH-USDT"));
    }
    expect(batch.publicSignals[4]).toBe("99");
    expect(await snarkjs.groth16.verify(prover.vkey, batch.publicSignals, batch.proof)).toBe(true);
  });

  it("a proof with any public signal changed (by 1 or by p) does not verify", async () => {
    for (let i = 0; i < batch.publicSignals.length; i++) {
      for (const delta of [1n, FIELD_MODULUS]) {
        const changed = [...batch.publicSignals];
        changed[i] = (BigInt(changed[i]) + delta).toString();
        expect(
          await snarkjs.groth16.verify(prover.vkey, changed, batch.proof),
          `signal ${i} + ${delta}`,
        ).toBe(false);
      }
    }
  }, 120_000);

  it("refuses a batch of the wrong size", async () => {
    await expect(prover.prove([{ market: "BTC-USDT", marketId: 1n, series }], 0n)).rejects.toThrow(
      /batches of 2 markets/,
    );
  });
});
