/**
 * The batch circuit (one model on N markets) gives, for every market, the integer engine's MM and IM packed
 * with its market id and data timestamp, one input commitment over all features, and rejects a forged
 * packed output or an out-of-range market id.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  generateBatchCircuit,
  packBatchUpdate,
  unpackBatchUpdate,
} from "../../circuits/generate-batch-circuit";
import { poseidonSponge } from "../../circuits/poseidon-sponge";
import { bigRandom, loadCircuit, toField } from "../../circuits/test-harness";
import { inferInteger } from "../../models/integer-engine";
import { loadQuantizedModel } from "../../models/quantized-model";

const model = loadQuantizedModel(join(__dirname, "../..", "models/btc-usdt-2h.quantized.json"));

describe.each([2, 3])("batch circuit, N = %i", (n) => {
  it("packs each market's engine outputs with its id and timestamp; one input commitment", async () => {
    const c = await loadCircuit((await generateBatchCircuit(model, n)).source, `zkrisk_batch${n}`);
    const rnd = bigRandom(40 + n);
    for (let round = 0; round < 20; round++) {
      const features = Array.from({ length: n }, () => model.features.map((f) => rnd.between(f.min, f.max)));
      const marketId = Array.from({ length: n }, (_, i) => BigInt(1000 + i) + rnd.bits(40));
      const dataTimestamp = Array.from({ length: n }, () => 1_700_000_000n + rnd.bits(20));
      const w = await c.witness({
        domain: 5n,
        features: features.map((x) => x.map((v) => toField(v))),
        marketId,
        dataTimestamp,
      });
      for (let i = 0; i < n; i++) {
        const e = inferInteger(model, features[i]);
        const packed = c.read(w, `main.packed[${i}]`);
        expect(packed).toBe(
          packBatchUpdate({
            mm: e.maintenanceMarginBps,
            im: e.initialMarginBps,
            dataTimestamp: dataTimestamp[i],
            marketId: marketId[i],
          }),
        );
        expect(unpackBatchUpdate(packed)).toEqual({
          mm: e.maintenanceMarginBps,
          im: e.initialMarginBps,
          dataTimestamp: dataTimestamp[i],
          marketId: marketId[i],
        });
      }
      expect(c.read(w, "main.inputCommitment")).toBe(await poseidonSponge(features.flat()));
    }
  }, 300_000);

  it("has no witness for a market id of 2^64, and rejects a forged packed output", async () => {
    const c = await loadCircuit((await generateBatchCircuit(model, n)).source, `zkrisk_batch${n}`);
    const features = Array.from({ length: n }, () => model.features.map((f) => f.min));
    const input = {
      domain: 1n,
      features: features.map((x) => x.map(toField)),
      marketId: Array(n).fill(7n),
      dataTimestamp: Array(n).fill(100n),
    };
    await expect(c.witness({ ...input, marketId: [1n << 64n, ...Array(n - 1).fill(7n)] })).rejects.toThrow();
    const w = await c.witness(input);
    const forged = c.edit(
      w,
      { "main.packed[0]": c.read(w, "main.packed[0]") + 1n },
      { skipEliminated: true },
    );
    expect(c.violated(forged).length).toBeGreaterThan(0);
  }, 300_000);
});
