/**
 * The generated circuit of the shipped model agrees with the integer engine bit for bit, in both weight
 * modes, and accepts nothing else at the model level (template-level forgeries are in templates-*.test.ts).
 */
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { inputCommitment, modelCommitment } from "../../circuits/commitments";
import { generateCircuit, type WeightMode } from "../../circuits/generate-circuit";
import { bigRandom, loadCircuit, toField, type TestCircuit } from "../helpers/circuits";
import { buildDataset, rowsInRange } from "../../models/dataset";
import { seriesWindowFeatures } from "../../features/window-features";
import { inferInteger } from "../../models/integer-engine";
import { loadCandles } from "../../candles/load-data";
import { loadQuantizedModel } from "../../models/quantized-model";
import { adverseMoveTargets } from "../../models/target";
import { circuitInput } from "../../prover/circuit-input";
import { FIELD_MODULUS } from "../../crypto/field";
import { shiftedOutputModel } from "../helpers/models";

const ROOT = join(__dirname, "../..");
const model = loadQuantizedModel(join(ROOT, "models/btc-usdt-2h.quantized.json"));
const ctx = { marketId: 4242n, dataTimestamp: 1719784800n, domain: 77n };

/** Circuit outputs for features x, read from a witness. */
async function outputs(c: TestCircuit, mode: WeightMode, x: bigint[]) {
  const w = await c.witness(circuitInput(model, mode, x, ctx) as never);
  return {
    mm: c.read(w, "main.maintenanceMarginBps"),
    im: c.read(w, "main.initialMarginBps"),
    modelCommitment: c.read(w, "main.modelCommitment"),
    inputCommitment: c.read(w, "main.inputCommitment"),
    w,
  };
}

function testSplitFeatures(limit: number): bigint[][] {
  const series = loadCandles(join(ROOT, "models/data/btcusdt-2h.csv"));
  const all = buildDataset(seriesWindowFeatures(series), adverseMoveTargets(series), series);
  const test = rowsInRange(
    all,
    Date.parse(model.training.splits.test.from),
    Date.parse(model.training.splits.test.to),
  );
  return test.xInt.slice(-limit);
}

describe.each(["constant", "committed"] as const)("generated circuit, %s weights", (mode) => {
  let circuit: TestCircuit;
  let commitment: bigint;

  beforeAll(async () => {
    const generated = await generateCircuit(model, mode);
    circuit = await loadCircuit(generated.source, `zkrisk_${mode}`);
    commitment = await modelCommitment(model);
    expect(generated.modelCommitment).toBe(commitment);
  }, 300_000);

  it("equals the integer engine on 1,000 seeded random in-bound feature vectors", async () => {
    const rnd = bigRandom(mode === "constant" ? 11 : 12);
    for (let k = 0; k < 1000; k++) {
      const x = model.features.map((f) => rnd.between(f.min, f.max));
      const engine = inferInteger(model, x);
      const o = await outputs(circuit, mode, x);
      expect(o.mm, `vector ${k}`).toBe(engine.maintenanceMarginBps);
      expect(o.im, `vector ${k}`).toBe(engine.initialMarginBps);
    }
  }, 300_000);

  it("equals the integer engine on the all-minimum and all-maximum vectors, with the right commitments", async () => {
    for (const x of [model.features.map((f) => f.min), model.features.map((f) => f.max)]) {
      const engine = inferInteger(model, x);
      const o = await outputs(circuit, mode, x);
      expect(o.mm).toBe(engine.maintenanceMarginBps);
      expect(o.im).toBe(engine.initialMarginBps);
      expect(o.modelCommitment).toBe(commitment);
      expect(o.inputCommitment).toBe(await inputCommitment(x));
      expect(circuit.violated(o.w)).toEqual([]);
    }
  });

  it("equals the integer engine on every bar of a test-split slice (real features)", async () => {
    const bars = testSplitFeatures(mode === "constant" ? 500 : 200);
    const seen = new Set<bigint>();
    for (const x of bars) {
      const engine = inferInteger(model, x);
      const o = await outputs(circuit, mode, x);
      expect(o.mm).toBe(engine.maintenanceMarginBps);
      expect(o.im).toBe(engine.initialMarginBps);
      seen.add(o.mm);
    }
    expect(seen.size).toBeGreaterThan(20); // the slice exercises many different margins
  }, 300_000);

  it("has no witness for a feature outside its bounds, or a feature plus the field modulus", async () => {
    const x = model.features.map((f) => f.min);
    for (const bad of [model.features[0].max + 1n, model.features[0].min - 1n]) {
      await expect(
        circuit.witness(circuitInput(model, mode, [bad, ...x.slice(1)], ctx) as never),
      ).rejects.toThrow();
    }
    const aliased = { ...(circuitInput(model, mode, x, ctx) as Record<string, unknown>) };
    aliased.features = x.map((v, i) =>
      i === 5 ? (toField(v) + FIELD_MODULUS).toString() : toField(v).toString(),
    );
    // The witness generator reduces mod p, so this is the same field element: it must give the same outputs.
    const w = await circuit.witness(aliased as never);
    expect(circuit.read(w, "main.features[5]")).toBe(toField(x[5]));
  });

  it("rejects a forged output: MM + 1 with everything else honest", async () => {
    const x = model.features.map((f) => (f.min + f.max) / 2n);
    const o = await outputs(circuit, mode, x);
    const forged = circuit.edit(o.w, { "main.maintenanceMarginBps": o.mm + 1n }, { skipEliminated: true });
    expect(circuit.violated(forged).length).toBeGreaterThan(0);
    const forgedCommitment = circuit.edit(
      o.w,
      { "main.modelCommitment": commitment + 1n },
      { skipEliminated: true },
    );
    expect(circuit.violated(forgedCommitment).length).toBeGreaterThan(0);
  });
});

describe.each(["constant", "committed"] as const)(
  "generated circuit of a model whose output layer rescales (shift 3), %s weights",
  (mode) => {
    // The model loader accepts an output layer with a floor shift and the integer engine applies it; the
    // circuit must too (y = floor(acc / 2^shift)), or it proves margins the engine does not give.
    const shifted = shiftedOutputModel(3);
    let circuit: TestCircuit;

    beforeAll(async () => {
      circuit = await loadCircuit((await generateCircuit(shifted, mode)).source, `zkrisk_shift3_${mode}`);
    }, 300_000);

    it("equals the integer engine (which gives the shipped model's margins) on seeded random vectors", async () => {
      const rnd = bigRandom(mode === "constant" ? 21 : 22);
      const vectors = [shifted.features.map((f) => f.min), shifted.features.map((f) => f.max)];
      for (let k = 0; k < 40; k++) vectors.push(shifted.features.map((f) => rnd.between(f.min, f.max)));
      for (const [k, x] of vectors.entries()) {
        const engine = inferInteger(shifted, x);
        expect(engine.maintenanceMarginBps).toBe(inferInteger(model, x).maintenanceMarginBps);
        const w = await circuit.witness(circuitInput(shifted, mode, x, ctx) as never);
        expect(circuit.read(w, "main.maintenanceMarginBps"), `vector ${k}`).toBe(engine.maintenanceMarginBps);
        expect(circuit.read(w, "main.initialMarginBps"), `vector ${k}`).toBe(engine.initialMarginBps);
        expect(circuit.read(w, "main.modelCommitment")).toBe(await modelCommitment(shifted));
        expect(circuit.violated(w)).toEqual([]);
      }
    }, 300_000);
  },
);

describe("constraint budget", () => {
  it("pins the constant-mode count of the shipped model", async () => {
    const c = await loadCircuit((await generateCircuit(model, "constant")).source, "zkrisk_constant");
    const featureBits = model.features.reduce((n, f) => n + f.rangeBits, 0); // BoundedInput: N each
    const hidden = model.layers[0].accumulators.reduce((n, a) => n + a.bits + 1, 0); // RescaleRelu: N + 1
    // Derivation: 270 feature range bits (the window features' bounds at 2^32: 5 x 33 + 39 + 32 + 34) + 406
    // hidden (6 x (bits + 1), bits 66..67) + 168 policy (templates-policy pin) + 415 input sponge
    // (PoseidonSponge(8): one Poseidon(9) with a constant first input) + 3 public-input squares = 1,262. The
    // output layer (shift 0, constant weights) costs nothing: y is a linear form of range-checked activations.
    expect(featureBits).toBe(270);
    expect(hidden).toBe(406);
    expect(c.constraints).toBe(featureBits + hidden + 168 + 415 + 3);
  }, 300_000);

  it("keeps committed mode near 45 constraints per committed value", async () => {
    const c = await loadCircuit((await generateCircuit(model, "committed")).source, "zkrisk_committed");
    const committed = model.layers.reduce((n, l) => n + l.weights.length * (l.weights[0].length + 1), 0) + 1;
    expect(committed).toBe(62); // 48 + 6 + 6 + 1 weights and biases, plus the calibration
    // Over constant mode: 54 weight products, wider budget range checks (hidden 6 x 75 against 406), y and
    // k range checks, and the model sponge over the 62 private values only (its 60 constant values, 4
    // whole chunks, are absorbed by the generator): 4 Poseidon(16) + 1 Poseidon(3). Per committed value
    // that is 47.6 (45.2 for the 8-neuron model before): the y and k checks and the last Poseidon, for 2
    // values, are shared by fewer values.
    expect(c.constraints).toBe(4213);
    expect((c.constraints - 1262) / committed).toBeLessThan(48);
  }, 300_000);
});
