import { seededRandom } from "../../models/stats";
import { describe, expect, it } from "vitest";
import { BoundsError, ModelError } from "../../core/errors";
import { WINDOW_FEATURES } from "../../features/window-features";
import {
  FLOAT_MODEL_FORMAT,
  networkOutput,
  predictMarginsFloat,
  type FloatModel,
  type SplitMetrics,
  type TrainingInfo,
} from "../../models/float-model";
import {
  checkFeatureBounds,
  inferInteger,
  integerPolicy,
  type IntegerTrace,
} from "../../models/integer-engine";
import { DEFAULT_POLICY } from "../../models/policy";
import { quantizeModel } from "../../models/quantize";
import {
  parseQuantizedModel,
  quantizedModelToJson,
  QUANTIZED_MODEL_FORMAT,
  type QuantizedModel,
  type QuantizedPolicy,
} from "../../models/quantized-model";

const prng = seededRandom;

/** The error `run` throws (fails the test if it returns). */
function thrown(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`expected an Error, got ${String(error)}`);
  }
  throw new Error("expected an error, none was thrown");
}

/** Three splits in time order inside the data's range, as `train` writes them (the model loader checks). */
const split = (from: string, to: string) => ({
  from: `${from}T00:00:00.000Z`,
  to: `${to}T00:00:00.000Z`,
  rows: 10,
});
const TRAINING: TrainingInfo = {
  data: { ...split("2024-01-01", "2024-03-31"), file: "hand.csv", sha256: "0".repeat(64), rows: 30 },
  splits: {
    train: split("2024-01-01", "2024-01-31"),
    validation: split("2024-02-01", "2024-02-29"),
    test: split("2024-03-01", "2024-03-31"),
  },
  seed: 1,
  epochs: 1,
  bestEpoch: 1,
  batchSize: 1,
  learningRate: 0.001,
  patience: 1,
};
const METRICS: SplitMetrics = {
  rows: 10,
  pinballLoss: 0,
  breachRate: 0,
  kupiecP: 1,
  avgMaintenanceMarginBps: 0,
  avgInitialMarginBps: 0,
};

/*
 * The hand model. Features at scale 2^2: a in [-8, 7] (= [-2, 2)), b in [0, 15] (= [0, 4)).
 *
 * Layer 0 (weights at 2^1, acc at 2^3, shift 2 -> activations at 2^1, ReLU):
 *   acc0 = 1 + 3a - 2b   in [1 - 24 - 30, 1 + 21 - 0] = [-53, 22]   -> 7 bits ([-64, 63])
 *   acc1 = -2 + a + b    in [-2 - 8 + 0, -2 + 7 + 15] = [-10, 20]   -> 6 bits ([-32, 31])
 *   h_j = max(0, floor(acc_j / 4)): [floor(-53/4), floor(22/4)] = [-14, 5] -> [0, 5]; [-3, 5] -> [0, 5]
 * Layer 1 (weights at 2^2, no shift, linear; output y at 2^3):
 *   y = -1 + 4 h0 - 3 h1 in [-1 + 0 - 15, -1 + 20 - 0] = [-16, 19] -> 6 bits
 * Policy: calibration 125 / 2^11, buffer 240 bps, mmShift = 3 + 11 = 14:
 *   mmNumerator = y * 125 * 10240 = 1,280,000 y in [-20,480,000, 24,320,000] -> 26 bits (2^25 > 24.3 M > 2^24)
 *   mmRaw = ceil(1,280,000 y / 16384) = ceil(78.125 y) in [-1250, ceil(1484.375) = 1485] -> 12 bits
 *   MM = clamp(mmRaw, 50, 1000); imNumerator = 3 MM in [150, 3000] -> 13 bits
 *   imRaw = ceil(3 MM / 2) in [75, 1500] -> 12 bits; IM = clamp(imRaw, 100, 1200)
 */
const HAND_POLICY: QuantizedPolicy = {
  bufferBps: 240,
  mmMinBps: 50,
  mmMaxBps: 1000,
  imRatioNum: 3,
  imRatioShift: 1,
  imMinBps: 100,
  imMaxBps: 1200,
  calibrationNum: 125,
  calibrationShift: 11,
  outputScaleBits: 3,
  mmShift: 14,
  intervals: {
    output: { min: -16n, max: 19n, bits: 6 },
    mmNumerator: { min: -20_480_000n, max: 24_320_000n, bits: 26 },
    mmRaw: { min: -1250n, max: 1485n, bits: 12 },
    imNumerator: { min: 150n, max: 3000n, bits: 13 },
    imRaw: { min: 75n, max: 1500n, bits: 12 },
  },
};

const HAND: QuantizedModel = {
  format: QUANTIZED_MODEL_FORMAT,
  market: "HAND-USD",
  barIntervalMs: 7_200_000,
  targetHorizonBars: 12,
  quantileLevel: 0.99,
  source: { file: "hand.float.json", sha256: "1".repeat(64) },
  features: [
    { name: "a", scaleBits: 2, min: -8n, max: 7n, rangeBits: 4 },
    { name: "b", scaleBits: 2, min: 0n, max: 15n, rangeBits: 4 },
  ],
  layers: [
    {
      inputScaleBits: 2,
      weightScaleBits: 1,
      shift: 2,
      activation: "relu",
      weights: [
        [3n, -2n],
        [1n, 1n],
      ],
      biases: [1n, -2n],
      accumulators: [
        { min: -53n, max: 22n, bits: 7 },
        { min: -10n, max: 20n, bits: 6 },
      ],
      outputs: [
        { min: 0n, max: 5n },
        { min: 0n, max: 5n },
      ],
    },
    {
      inputScaleBits: 1,
      weightScaleBits: 2,
      shift: 0,
      activation: "linear",
      weights: [[4n, -3n]],
      biases: [-1n],
      accumulators: [{ min: -16n, max: 19n, bits: 6 }],
      outputs: [{ min: -16n, max: 19n }],
    },
  ],
  policy: HAND_POLICY,
  quantization: {
    featureScaleBits: 2,
    weightPrecisionBits: 2,
    activationScaleBits: 1,
    report: {
      split: "test",
      from: TRAINING.splits.test.from,
      to: TRAINING.splits.test.to,
      bars: 10,
      maxAbsDiffMaintenanceMarginBps: 0,
      meanAbsDiffMaintenanceMarginBps: 0,
      maxAbsDiffInitialMarginBps: 0,
      meanAbsDiffInitialMarginBps: 0,
      maxAbsDiffMaintenanceMarginExactBps: 0,
    },
  },
  training: TRAINING,
};

/** A deep copy of the hand model to tamper with. */
function handCopy(): QuantizedModel {
  return structuredClone(HAND);
}

/** The trace fields of one inference, written out by hand. */
interface HandTrace {
  acc: [bigint, bigint, bigint];
  act: [bigint, bigint, bigint];
  mmNumerator: bigint;
  mmRaw: bigint;
  mm: bigint;
  imNumerator: bigint;
  imRaw: bigint;
  im: bigint;
}

function expectTrace(t: IntegerTrace, x: bigint[], h: HandTrace): void {
  expect(t.features).toEqual(x);
  expect(t.accumulators).toEqual([[h.acc[0], h.acc[1]], [h.acc[2]]]);
  expect(t.activations).toEqual([[h.act[0], h.act[1]], [h.act[2]]]);
  expect(t.output).toBe(h.act[2]);
  expect(t.mmNumerator).toBe(h.mmNumerator);
  expect(t.mmRaw).toBe(h.mmRaw);
  expect(t.maintenanceMarginBps).toBe(h.mm);
  expect(t.imNumerator).toBe(h.imNumerator);
  expect(t.imRaw).toBe(h.imRaw);
  expect(t.initialMarginBps).toBe(h.im);
}

describe("inferInteger on the hand model", () => {
  it("positive path with an exact ceil: y = 8 -> MM 625 exactly", () => {
    // a = 5, b = 1: acc0 = 1 + 15 - 2 = 14 -> 3; acc1 = -2 + 5 + 1 = 4 -> 1; y = -1 + 12 - 3 = 8.
    // mmNumerator = 8 * 1,280,000 = 10,240,000 = 625 * 16384 -> 625; IM = ceil(1875 / 2) = 938.
    expectTrace(inferInteger(HAND, [5n, 1n]), [5n, 1n], {
      acc: [14n, 4n, 8n],
      act: [3n, 1n, 8n],
      mmNumerator: 10_240_000n,
      mmRaw: 625n,
      mm: 625n,
      imNumerator: 1875n,
      imRaw: 938n,
      im: 938n,
    });
  });

  it("ceil just above an integer: y = 1 -> 78.125 -> MM 79", () => {
    // a = 6, b = 4: acc0 = 1 + 18 - 8 = 11 -> 2; acc1 = -2 + 6 + 4 = 8 -> 2; y = -1 + 8 - 6 = 1.
    // IM = ceil(237 / 2) = 119.
    expectTrace(inferInteger(HAND, [6n, 4n]), [6n, 4n], {
      acc: [11n, 8n, 1n],
      act: [2n, 2n, 1n],
      mmNumerator: 1_280_000n,
      mmRaw: 79n,
      mm: 79n,
      imNumerator: 237n,
      imRaw: 119n,
      im: 119n,
    });
  });

  it("y = 9 -> 703.125 -> MM 704, and an IM that divides exactly (2112 / 2 = 1056)", () => {
    // a = 7, b = 3: acc0 = 1 + 21 - 6 = 16 -> 4; acc1 = -2 + 7 + 3 = 8 -> 2; y = -1 + 16 - 6 = 9.
    expectTrace(inferInteger(HAND, [7n, 3n]), [7n, 3n], {
      acc: [16n, 8n, 9n],
      act: [4n, 2n, 9n],
      mmNumerator: 11_520_000n,
      mmRaw: 704n,
      mm: 704n,
      imNumerator: 2112n,
      imRaw: 1056n,
      im: 1056n,
    });
  });

  it("IM clamped at imMaxBps while MM is not", () => {
    // a = 4, b = 0: acc0 = 13 -> 3; acc1 = 2 -> 0; y = -1 + 12 = 11 -> 859.375 -> 860;
    // imRaw = 2580 / 2 = 1290 > 1200.
    expectTrace(inferInteger(HAND, [4n, 0n]), [4n, 0n], {
      acc: [13n, 2n, 11n],
      act: [3n, 0n, 11n],
      mmNumerator: 14_080_000n,
      mmRaw: 860n,
      mm: 860n,
      imNumerator: 2580n,
      imRaw: 1290n,
      im: 1200n,
    });
  });

  it("MM clamped at mmMaxBps (and IM at imMaxBps)", () => {
    // a = 7, b = 0: acc0 = 22 -> 5; acc1 = 5 -> 1; y = -1 + 20 - 3 = 16 -> 1250 > 1000.
    expectTrace(inferInteger(HAND, [7n, 0n]), [7n, 0n], {
      acc: [22n, 5n, 16n],
      act: [5n, 1n, 16n],
      mmNumerator: 20_480_000n,
      mmRaw: 1250n,
      mm: 1000n,
      imNumerator: 3000n,
      imRaw: 1500n,
      im: 1200n,
    });
  });

  it("negative accumulator floors down before ReLU; negative output clamps MM and IM at their minima", () => {
    // a = 2, b = 7: acc0 = 1 + 6 - 14 = -7 -> floor(-7 / 4) = -2 -> ReLU 0; acc1 = -2 + 2 + 7 = 7 -> 1;
    // y = -1 + 0 - 3 = -4; mmNumerator = -5,120,000 -> ceil(-312.5) = -312 -> MM 50; IM ceil(75) -> 100.
    expectTrace(inferInteger(HAND, [2n, 7n]), [2n, 7n], {
      acc: [-7n, 7n, -4n],
      act: [0n, 1n, -4n],
      mmNumerator: -5_120_000n,
      mmRaw: -312n,
      mm: 50n,
      imNumerator: 150n,
      imRaw: 75n,
      im: 100n,
    });
  });

  it("a linear layer with a shift floors a negative accumulator (-7 >> 1 = -4, not -3)", () => {
    const m = handCopy();
    m.layers[1].shift = 1;
    m.layers[1].outputs = [{ min: -8n, max: 9n }];
    // a = -2, b = 12: acc0 = 1 - 6 - 24 = -29 -> 0; acc1 = -2 - 2 + 12 = 8 -> 2; acc = -1 - 6 = -7.
    const t = inferInteger(m, [-2n, 12n]);
    expect(t.accumulators).toEqual([[-29n, 8n], [-7n]]);
    expect(t.output).toBe(-4n);
    // A positive odd accumulator floors down too: a = 7, b = 3 gives acc 9 -> 4.
    expect(inferInteger(m, [7n, 3n]).output).toBe(4n);
  });

  it("all-min and all-max feature vectors", () => {
    // a = -8, b = 0: acc0 = -23 -> floor(-5.75) = -6 -> 0; acc1 = -10 -> -3 -> 0; y = -1 -> ceil(-78.125) = -78.
    expectTrace(inferInteger(HAND, [-8n, 0n]), [-8n, 0n], {
      acc: [-23n, -10n, -1n],
      act: [0n, 0n, -1n],
      mmNumerator: -1_280_000n,
      mmRaw: -78n,
      mm: 50n,
      imNumerator: 150n,
      imRaw: 75n,
      im: 100n,
    });
    // a = 7, b = 15: acc0 = 1 + 21 - 30 = -8 -> -2 -> 0; acc1 = 20 -> 5; y = -1 - 15 = -16 -> -1250 exactly.
    expectTrace(inferInteger(HAND, [7n, 15n]), [7n, 15n], {
      acc: [-8n, 20n, -16n],
      act: [0n, 5n, -16n],
      mmNumerator: -20_480_000n,
      mmRaw: -1250n,
      mm: 50n,
      imNumerator: 150n,
      imRaw: 75n,
      im: 100n,
    });
  });
});

describe("integerPolicy", () => {
  it("ceil at the finest step: numerators k * 16 and k * 16 + 1", () => {
    // buffer 1 bp, calibration 3 / 2^4, output scale 2^0: mmNumerator = 30003 y, mmShift 4.
    const p: QuantizedPolicy = {
      ...HAND_POLICY,
      bufferBps: 1,
      calibrationNum: 3,
      calibrationShift: 4,
      outputScaleBits: 0,
      mmShift: 4,
      mmMaxBps: 10_000,
    };
    // 16 * 30003 / 16 = 30003 exactly.
    expect(integerPolicy(p, 16n).mmRaw).toBe(30_003n);
    // 11 * 30003 = 330033 = 20627 * 16 + 1: 1/16 above an integer.
    expect(integerPolicy(p, 11n).mmNumerator).toBe(330_033n);
    expect(integerPolicy(p, 11n).mmRaw).toBe(20_628n);
    expect(integerPolicy(p, 11n).maintenanceMarginBps).toBe(10_000n);
    // -330033 / 16 = -20627.0625 -> ceil -20627.
    expect(integerPolicy(p, -11n).mmRaw).toBe(-20_627n);
    // 1 * 30003 / 16 = 1875.1875 -> 1876; IM = ceil(3 * 1876 / 2) = 2814 -> clamped at 1200.
    const one = integerPolicy(p, 1n);
    expect(one.mmRaw).toBe(1876n);
    expect(one.maintenanceMarginBps).toBe(1876n);
    expect(one.imNumerator).toBe(5628n);
    expect(one.imRaw).toBe(2814n);
    expect(one.initialMarginBps).toBe(1200n);
  });

  it("IM ceil: an odd MM rounds up by one half, an even one is exact", () => {
    // y = 7: MM = ceil(546.875) = 547 (odd): IM = ceil(1641 / 2) = 821.
    // y = 10: MM = ceil(781.25) = 782 (even): IM = 2346 / 2 = 1173, under the 1200 clamp.
    expect(integerPolicy(HAND_POLICY, 7n).maintenanceMarginBps).toBe(547n);
    expect(integerPolicy(HAND_POLICY, 7n).initialMarginBps).toBe(821n);
    expect(integerPolicy(HAND_POLICY, 10n).maintenanceMarginBps).toBe(782n);
    expect(integerPolicy(HAND_POLICY, 10n).imRaw).toBe(1173n);
    expect(integerPolicy(HAND_POLICY, 10n).initialMarginBps).toBe(1173n);
  });
});

describe("feature bounds", () => {
  it("accepts features at their min and max", () => {
    expect(() => checkFeatureBounds(HAND, [-8n, 0n])).not.toThrow();
    expect(() => checkFeatureBounds(HAND, [7n, 15n])).not.toThrow();
    expect(() => checkFeatureBounds(HAND, [-8n, 15n])).not.toThrow();
  });

  it("rejects min - 1 and max + 1 with a BoundsError naming the feature", () => {
    const cases: [bigint[], RegExp][] = [
      [[-9n, 0n], /feature a = -9 is outside its declared bounds \[-8, 7\]/],
      [[8n, 0n], /feature a = 8 is outside its declared bounds \[-8, 7\]/],
      [[0n, -1n], /feature b = -1 is outside its declared bounds \[0, 15\]/],
      [[0n, 16n], /feature b = 16 is outside its declared bounds \[0, 15\]/],
    ];
    for (const [x, message] of cases) {
      const error = thrown(() => inferInteger(HAND, x));
      expect(error).toBeInstanceOf(BoundsError);
      expect((error as BoundsError).code).toBe("OUT_OF_BOUNDS");
      expect(error.message).toMatch(message);
    }
  });

  it("rejects a vector of the wrong length", () => {
    expect(() => inferInteger(HAND, [1n])).toThrow(BoundsError);
    expect(() => inferInteger(HAND, [1n])).toThrow(/expected 2 features, got 1/);
    expect(() => inferInteger(HAND, [1n, 2n, 3n])).toThrow(/expected 2 features, got 3/);
  });
});

describe("recorded accumulator intervals", () => {
  it("an accumulator above its recorded interval throws ModelError", () => {
    const m = handCopy();
    m.layers[0].accumulators[0] = { min: -53n, max: 21n, bits: 7 };
    // a = 7, b = 0 gives acc0 = 22; a = 7, b = 1 gives 20, still inside.
    const error = thrown(() => inferInteger(m, [7n, 0n]));
    expect(error).toBeInstanceOf(ModelError);
    expect((error as ModelError).code).toBe("MODEL_INVALID");
    expect(error.message).toMatch(/layer 0 neuron 0: accumulator 22 outside its recorded interval/);
    expect(inferInteger(m, [7n, 1n]).accumulators[0][0]).toBe(20n);
  });

  it("an accumulator below its recorded interval throws ModelError", () => {
    const m = handCopy();
    m.layers[1].accumulators[0] = { min: -15n, max: 19n, bits: 6 };
    expect(() => inferInteger(m, [7n, 15n])).toThrow(ModelError);
    expect(() => inferInteger(m, [7n, 15n])).toThrow(/layer 1 neuron 0: accumulator -16 outside/);
    expect(inferInteger(m, [7n, 14n]).output).toBe(-13n); // acc1 = 19 -> 4: y = -1 - 12
  });
});

describe("parseQuantizedModel", () => {
  it("round-trips quantizedModelToJson", () => {
    const doc = quantizedModelToJson(HAND);
    // Bigints travel as decimal strings; the document survives JSON text.
    const text = JSON.stringify(doc);
    expect(text).toContain('"biases":["1","-2"]');
    expect(text).toContain('"mmNumerator":{"min":"-20480000","max":"24320000","bits":26}');
    expect(parseQuantizedModel(JSON.parse(text), "hand.json")).toEqual(HAND);
  });

  /** Parse the hand model's JSON with the field at `path` set to `value`, returning the error message. */
  function parseError(path: (string | number)[], value: unknown): string {
    const doc = quantizedModelToJson(HAND);
    let node = doc as Record<string | number, unknown>;
    for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
    const last = path[path.length - 1];
    expect(node[last], `field ${path.join(".")}`).toBeDefined();
    node[last] = value;
    const error = thrown(() => parseQuantizedModel(doc, "hand.json"));
    expect(error).toBeInstanceOf(ModelError);
    return error.message;
  }

  it("rejects a tampered accumulator bit width, naming the field", () => {
    expect(parseError(["layers", 0, "accumulators", 1, "bits"], 7)).toBe(
      "hand.json: layers[0].accumulators[1].bits: 7 does not match [-10, 20]",
    );
    expect(parseError(["layers", 0, "accumulators", 1, "bits"], 5)).toMatch(
      /layers\[0\]\.accumulators\[1\]\.bits/,
    );
  });

  it("rejects a tampered policy interval bit width, naming the field", () => {
    expect(parseError(["policy", "intervals", "mmNumerator", "bits"], 25)).toBe(
      "hand.json: policy.intervals.mmNumerator.bits: 25 does not match [-20480000, 24320000]",
    );
    expect(parseError(["policy", "intervals", "imRaw", "min"], "1501")).toMatch(
      /policy\.intervals\.imRaw: min 1501 > max 1500/,
    );
  });

  it("rejects a feature whose range is not 2^rangeBits, naming the feature", () => {
    expect(parseError(["features", 1, "rangeBits"], 5)).toBe(
      "hand.json: features[1]: max - min + 1 must be 2^rangeBits = 2^5",
    );
    expect(parseError(["features", 0, "max"], "8")).toBe(
      "hand.json: features[0]: max - min + 1 must be 2^rangeBits = 2^4",
    );
  });

  it("rejects inconsistent shapes and constants, naming the field", () => {
    expect(parseError(["policy", "mmShift"], 13)).toBe(
      "hand.json: policy.mmShift: must equal outputScaleBits + calibrationShift",
    );
    expect(parseError(["layers", 1, "weights", 0], ["4", "-3", "1"])).toMatch(
      /layers\[1\]\.weights\[0\]: expected 2 entries, got 3/,
    );
    expect(parseError(["layers", 1, "activation"], "relu")).toMatch(
      /layers\[1\]\.activation: expected one of linear/,
    );
    expect(parseError(["layers", 0, "biases", 0], "1.5")).toMatch(
      /layers\[0\]\.biases\[0\]: expected a decimal integer string/,
    );
    // the format found; "a float model" only for one (a calibrations file was once guessed to be one)
    expect(parseError(["format"], FLOAT_MODEL_FORMAT)).toBe(
      'hand.json: format is "zkrisk-float-model/2", not zkrisk-quantized-model/2 (a float model: quantise it ' +
        "with `zkrisk quantize`)",
    );
    expect(parseError(["format"], "zkrisk-quantized-model/1")).toBe(
      'hand.json: format is "zkrisk-quantized-model/1", not zkrisk-quantized-model/2',
    );
    expect(parseError(["format"], "zkrisk-calibrations/2")).toBe(
      'hand.json: format is "zkrisk-calibrations/2", not zkrisk-quantized-model/2',
    );
  });
});

describe("quantizeModel on a hand-made float model", () => {
  // Folding (x - mean) / std into layer 0 (mean_a 0.5, std_a 2; b unnormalised) gives weights
  // [[1.5, -1], [0.5, 0.5]] and biases [0.875 - 3 * 0.5 / 2, 0 - 1 * 0.5 / 2] = [0.125, -0.25]; with P = 2 the
  // largest |w| = 1.5 gets W = 2 - ceil(log2 1.5) = 1, so weights [[3, -2], [1, 1]] and biases at 2^(2+1):
  // [1, -2]. Layer 1: largest |w| = 1 -> W = 2: [4, -3]; bias -0.125 at 2^(1+2) = -1.
  const floatModel: FloatModel = {
    format: FLOAT_MODEL_FORMAT,
    market: "HAND-USD",
    barIntervalMs: 7_200_000,
    targetHorizonBars: 12,
    quantileLevel: 0.99,
    features: [
      { name: "a", description: "hand feature a", lo: -2, hi: 2, mean: 0.5, std: 2 },
      { name: "b", description: "hand feature b", lo: 0, hi: 4, mean: 0, std: 1 },
    ],
    architecture: { inputs: 2, hidden: [2], activation: "relu", output: "linear" },
    layers: [
      {
        weights: [
          [3, -1],
          [1, 0.5],
        ],
        biases: [0.875, 0],
        activation: "relu",
      },
      { weights: [[1, -0.75]], biases: [-0.125], activation: "linear" },
    ],
    calibration: { num: 125, shift: 11, method: "hand" },
    policy: {
      bufferBps: 240,
      mmMinBps: 50,
      mmMaxBps: 1000,
      imRatioNum: 3,
      imRatioShift: 1,
      imMinBps: 100,
      imMaxBps: 1200,
    },
    training: TRAINING,
    metrics: { train: METRICS, validation: METRICS, test: METRICS },
  };
  const q = quantizeModel(floatModel, HAND.source, {
    featureScaleBits: 2,
    weightPrecisionBits: 2,
    activationScaleBits: 1,
  });

  it("gives the hand model's features, integer weights and intervals", () => {
    expect(q.features).toEqual(HAND.features);
    expect(q.layers).toEqual(HAND.layers);
    expect(q.policy).toEqual(HAND.policy);
    expect(q.quantization).toEqual({ featureScaleBits: 2, weightPrecisionBits: 2, activationScaleBits: 1 });
  });

  it("agrees with the float model where no rescale rounds", () => {
    // a = 1.75, b = 0.75 (x = [7, 3]): normalised a = 0.625; h0 = 0.875 + 1.875 - 0.75 = 2, h1 = 0.625 + 0.375
    // = 1 (acc 16 and 8 at 2^3: both divide by 4); y = -0.125 + 2 - 0.75 = 1.125 = 9 / 2^3, as in the trace
    // above: MM = ceil(703.125) = 704, IM = 1056.
    expect(predictMarginsFloat(floatModel, [1.75, 0.75])).toEqual({
      maintenanceMarginBps: 704,
      initialMarginBps: 1056,
    });
    const t = inferInteger(q as QuantizedModel, [7n, 3n]);
    expect([t.maintenanceMarginBps, t.initialMarginBps]).toEqual([704n, 1056n]);
  });
});

describe("interval soundness", () => {
  /** Every intermediate of `t` lies inside the intervals recorded in `m`. */
  function expectInside(m: QuantizedModel, t: IntegerTrace, label: string): void {
    m.layers.forEach((layer, l) => {
      layer.accumulators.forEach((iv, j) => {
        const a = t.accumulators[l][j];
        expect(a >= iv.min && a <= iv.max, `${label}: layer ${l} acc ${j} = ${a}`).toBe(true);
      });
      layer.outputs.forEach((iv, j) => {
        const h = t.activations[l][j];
        expect(h >= iv.min && h <= iv.max, `${label}: layer ${l} out ${j} = ${h}`).toBe(true);
      });
    });
    const iv = m.policy.intervals;
    const pairs: [string, bigint, { min: bigint; max: bigint }][] = [
      ["output", t.output, iv.output],
      ["mmNumerator", t.mmNumerator, iv.mmNumerator],
      ["mmRaw", t.mmRaw, iv.mmRaw],
      ["imNumerator", t.imNumerator, iv.imNumerator],
      ["imRaw", t.imRaw, iv.imRaw],
    ];
    for (const [name, v, range] of pairs) {
      expect(v >= range.min && v <= range.max, `${label}: ${name} = ${v}`).toBe(true);
    }
    const p = m.policy;
    expect(t.maintenanceMarginBps >= BigInt(p.mmMinBps) && t.maintenanceMarginBps <= BigInt(p.mmMaxBps)).toBe(
      true,
    );
    expect(t.initialMarginBps >= BigInt(p.imMinBps) && t.initialMarginBps <= BigInt(p.imMaxBps)).toBe(true);
  }

  it("the hand model: every one of the 256 inputs stays inside, and layer 0's intervals are reached", () => {
    const seen = [new Set<bigint>(), new Set<bigint>()];
    for (let a = -8n; a <= 7n; a++) {
      for (let b = 0n; b <= 15n; b++) {
        const t = inferInteger(HAND, [a, b]);
        expectInside(HAND, t, `[${a}, ${b}]`);
        seen[0].add(t.accumulators[0][0]);
        seen[1].add(t.accumulators[0][1]);
      }
    }
    // Layer 0 sees the features directly, so interval analysis is exact there.
    expect(Math.min(...[...seen[0]].map(Number))).toBe(-53);
    expect(Math.max(...[...seen[0]].map(Number))).toBe(22);
    expect(Math.min(...[...seen[1]].map(Number))).toBe(-10);
    expect(Math.max(...[...seen[1]].map(Number))).toBe(20);
  });

  describe("a random float model quantised at the default 32 bits", () => {
    const defs = WINDOW_FEATURES;
    const r = prng(424242);
    const u = (lo: number, hi: number) => lo + (hi - lo) * r();
    const sizes = [defs.length, 6, 4, 1];
    const floatModel: FloatModel = {
      format: FLOAT_MODEL_FORMAT,
      market: "RANDOM",
      barIntervalMs: 7_200_000,
      targetHorizonBars: 12,
      quantileLevel: 0.99,
      features: defs.map((d) => ({
        name: d.name,
        description: d.description,
        lo: d.lo,
        hi: d.hi,
        mean: u(d.lo, d.lo + (d.hi - d.lo) / 8),
        std: u(0.5, 2),
      })),
      architecture: { inputs: defs.length, hidden: [6, 4], activation: "relu", output: "linear" },
      layers: sizes.slice(1).map((n, k) => ({
        weights: Array.from({ length: n }, () => Array.from({ length: sizes[k] }, () => u(-1, 1))),
        biases: Array.from({ length: n }, () => u(-0.5, 0.5)),
        activation: k === sizes.length - 2 ? ("linear" as const) : ("relu" as const),
      })),
      calibration: { num: 3, shift: 5, method: "random" },
      policy: DEFAULT_POLICY,
      training: TRAINING,
      metrics: { train: METRICS, validation: METRICS, test: METRICS },
    };
    const partial = quantizeModel(floatModel, { file: "random.float.json", sha256: "2".repeat(64) });
    const model: QuantizedModel = {
      ...partial,
      quantization: { ...partial.quantization, report: HAND.quantization.report },
    };

    /** A uniform random integer in [min, max]. */
    const between = (min: bigint, max: bigint): bigint => {
      const raw = (BigInt(Math.floor(r() * 2 ** 32)) << 32n) | BigInt(Math.floor(r() * 2 ** 32));
      return min + (raw % (max - min + 1n));
    };

    it("the quantised model survives the JSON round trip", () => {
      expect(parseQuantizedModel(JSON.parse(JSON.stringify(quantizedModelToJson(model))), "r.json")).toEqual(
        model,
      );
    });

    it("1,000 random in-bound vectors, all-min and all-max stay inside the recorded intervals", () => {
      const vectors: bigint[][] = [model.features.map((f) => f.min), model.features.map((f) => f.max)];
      for (let i = 0; i < 1000; i++) vectors.push(model.features.map((f) => between(f.min, f.max)));
      let worstMm = 0;
      let worstOutput = 0;
      vectors.forEach((x, i) => {
        const t = inferInteger(model, x);
        expectInside(model, t, `vector ${i}`);
        // The integer engine tracks the float model it came from: the network output to ~1e-9 (every
        // rescale drops under 2^-32), so the margins to within one ceil step.
        const xf = x.map((v, k) => Number(v) / 2 ** model.features[k].scaleBits);
        const y = Number(t.output) / 2 ** model.policy.outputScaleBits;
        worstOutput = Math.max(worstOutput, Math.abs(networkOutput(floatModel, xf) - y));
        const f = predictMarginsFloat(floatModel, xf);
        worstMm = Math.max(worstMm, Math.abs(f.maintenanceMarginBps - Number(t.maintenanceMarginBps)));
      });
      expect(worstOutput).toBeLessThan(1e-6);
      expect(worstMm).toBeLessThanOrEqual(1);
    });

    it("layer 0's recorded intervals are reached exactly by the corner vectors", () => {
      const layer = model.layers[0];
      layer.weights.forEach((row, j) => {
        const up = row.map((w, i) => (w >= 0n ? model.features[i].max : model.features[i].min));
        const down = row.map((w, i) => (w >= 0n ? model.features[i].min : model.features[i].max));
        expect(inferInteger(model, up).accumulators[0][j]).toBe(layer.accumulators[j].max);
        expect(inferInteger(model, down).accumulators[0][j]).toBe(layer.accumulators[j].min);
      });
    });
  });
});
