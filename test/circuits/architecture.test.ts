/**
 * One committed-weights circuit per architecture: a retrained model quantised to the shipped circuit's
 * architecture proves with the very same circuit (same source, so the same r1cs and setup) and gives its
 * own integer engine's outputs and its own commitment; a model that does not fit is refused by name.
 */
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { architectureOf, architectureMismatches, checkFitsArchitecture } from "../../circuits/architecture";
import { modelCommitment } from "../../circuits/commitments";
import { generateCircuit } from "../../circuits/generate-circuit";
import { bigRandom, loadCircuit, type TestCircuit } from "../helpers/circuits";
import { inferInteger } from "../../models/integer-engine";
import { sha256File } from "../../core/io";
import { loadCandles } from "../../candles/load-data";
import { quantizeModel } from "../../models/quantize";
import { loadQuantizedModel, type QuantizedModel } from "../../models/quantized-model";
import { DEFAULT_TRAIN_OPTIONS, trainModel } from "../../models/train";
import { circuitInput } from "../../prover/circuit-input";

const ROOT = join(__dirname, "../..");
const DATA = join(ROOT, "models/data/btcusdt-2h.csv");
const shipped = loadQuantizedModel(join(ROOT, "models/btc-usdt-2h.quantized.json"));
const arch = architectureOf(shipped);

let retrained: QuantizedModel;
let circuit: TestCircuit;

beforeAll(async () => {
  const floatModel = await trainModel(loadCandles(DATA), {
    ...DEFAULT_TRAIN_OPTIONS,
    seed: 7,
    epochs: 15,
    dataFile: { file: DATA, sha256: sha256File(DATA) },
  });
  const q = quantizeModel(
    floatModel,
    { file: "retrained.json", sha256: "0" },
    shipped.quantization,
    arch.layers.map((l) => l.weightScaleBits),
  );
  retrained = { ...q, quantization: { ...q.quantization, report: shipped.quantization.report } };
  circuit = await loadCircuit(
    (await generateCircuit(shipped, "committed", arch)).source,
    "zkrisk_committed_arch",
  );
}, 600_000);

describe("committed-weights architecture", () => {
  it("the retrained model fits the shipped model's architecture and yields the identical circuit source", async () => {
    expect(architectureMismatches(retrained, arch)).toEqual([]);
    expect(retrained.layers[0].weights).not.toEqual(shipped.layers[0].weights);
    const a = await generateCircuit(shipped, "committed", arch);
    const b = await generateCircuit(retrained, "committed", arch);
    expect(b.source).toBe(a.source);
    expect(b.modelCommitment).not.toBe(a.modelCommitment);
  });

  it("the shared circuit computes each model's own integer-engine outputs and commitment", async () => {
    const rnd = bigRandom(5);
    const ctx = { marketId: 1n, dataTimestamp: 2n, domain: 3n };
    for (const model of [shipped, retrained]) {
      const commitment = await modelCommitment(model);
      for (let k = 0; k < 100; k++) {
        const x = model.features.map((f) => rnd.between(f.min, f.max));
        const w = await circuit.witness(circuitInput(model, "committed", x, ctx) as never);
        const engine = inferInteger(model, x);
        expect(circuit.read(w, "main.maintenanceMarginBps")).toBe(engine.maintenanceMarginBps);
        expect(circuit.read(w, "main.initialMarginBps")).toBe(engine.initialMarginBps);
        expect(circuit.read(w, "main.modelCommitment")).toBe(commitment);
      }
    }
  }, 300_000);

  it("refuses a model whose weights exceed the budget, naming the layer", () => {
    const big: QuantizedModel = {
      ...retrained,
      layers: retrained.layers.map((l, k) =>
        k === 0 ? { ...l, weights: l.weights.map((r) => r.map((w) => w * 8n)) } : l,
      ),
    };
    expect(() => checkFitsArchitecture(big, arch, "the model", "art/circuit.json")).toThrow(
      /^the model does not fit the circuit's architecture \(art\/circuit\.json\): layer 0 has a weight of \d+ bits, the circuit allows \d+ \(architecture\.layers\[0\]\.weightBits\)/,
    );
    const otherShift: QuantizedModel = {
      ...retrained,
      layers: retrained.layers.map((l, k) => (k === 0 ? { ...l, shift: l.shift + 1 } : l)),
    };
    expect(architectureMismatches(otherShift, arch)).toContain(
      `layer 0 shift is ${retrained.layers[0].shift + 1}, the circuit has ${arch.layers[0].shift} ` +
        "(architecture.layers[0].shift)",
    );
  });
});
