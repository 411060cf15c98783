/**
 * The architecture of a committed-weights circuit: everything the circuit fixes, i.e. everything about a
 * model except its weights, biases and calibration. One circuit (and one trusted setup) serves every
 * quantised model that fits the architecture: same features, scales, shifts and policy constants, and
 * weights, biases and calibration within the architecture's bit budgets. The circuit's range checks are
 * sized from those budgets by interval analysis, so any fitting model proves without a new ceremony.
 */
import { ModelError } from "../core/errors";
import { JsonReader } from "../core/validate";
import { signedBits, type Interval } from "../models/fixed-point";
import type { QuantizedModel } from "../models/quantized-model";
import { POLICY_KEYS } from "../models/policy";
import { spanBits } from "./policy-params";

/** One layer of an architecture. */
export interface ArchitectureLayer {
  inputs: number;
  outputs: number;
  inputScaleBits: number;
  weightScaleBits: number;
  shift: number;
  activation: "relu" | "linear";
  /** Every |weight| < 2^weightBits. */
  weightBits: number;
  /** Every |bias| < 2^biasBits. */
  biasBits: number;
  /** Signed width of every accumulator of the layer under those budgets (the range checks' width). */
  accumulatorBits: number;
}

/** What a committed-weights circuit fixes. Integers are bigint in memory, decimal strings in JSON. */
export interface Architecture {
  format: "zkrisk-architecture/1";
  barIntervalMs: number;
  targetHorizonBars: number;
  features: { name: string; scaleBits: number; min: bigint; rangeBits: number }[];
  layers: ArchitectureLayer[];
  policy: {
    calibrationShift: number;
    /** calibrationNum in [1, 2^calibrationBits). */
    calibrationBits: number;
    bufferBps: number;
    mmMinBps: number;
    mmMaxBps: number;
    imRatioNum: number;
    imRatioShift: number;
    imMinBps: number;
    imMaxBps: number;
    outputScaleBits: number;
    mmShift: number;
    /** Signed width of the network output y under the budgets. */
    yBits: number;
    /** k = calibrationNum * (10000 + bufferBps) lies in [1, 2^kBits]. */
    kBits: number;
    mmRaw: Interval;
    imRaw: Interval;
  };
}

function bitLength(v: bigint): number {
  return v === 0n ? 0 : (v < 0n ? -v : v).toString(2).length;
}

function maxAbs(iv: Interval): bigint {
  const a = iv.min < 0n ? -iv.min : iv.min;
  const b = iv.max < 0n ? -iv.max : iv.max;
  return a > b ? a : b;
}

function ceilShiftInterval(iv: Interval, s: number): Interval {
  const k = (1n << BigInt(s)) - 1n;
  return { min: (iv.min + k) >> BigInt(s), max: (iv.max + k) >> BigInt(s) };
}

/**
 * The architecture of `model`, with `headroomBits` spare bits on every weight, bias and calibration
 * budget so that retrained models of the same shape still fit.
 */
export function architectureOf(model: QuantizedModel, headroomBits = 1): Architecture {
  let inputs: Interval[] = model.features.map((f) => ({ min: f.min, max: f.max }));
  const layers = model.layers.map((l) => {
    const weightBits = Math.max(...l.weights.flat().map(bitLength)) + headroomBits;
    const biasBits = Math.max(...l.biases.map(bitLength)) + headroomBits;
    // Worst case over every weight vector and bias within budget: symmetric around 0.
    const wMax = (1n << BigInt(weightBits)) - 1n;
    let bound = (1n << BigInt(biasBits)) - 1n;
    for (const x of inputs) bound += wMax * maxAbs(x);
    const acc = { min: -bound, max: bound };
    const out = {
      min: l.activation === "relu" ? 0n : acc.min >> BigInt(l.shift),
      max: acc.max >> BigInt(l.shift),
    };
    inputs = l.weights.map(() => out);
    return {
      inputs: l.weights[0].length,
      outputs: l.weights.length,
      inputScaleBits: l.inputScaleBits,
      weightScaleBits: l.weightScaleBits,
      shift: l.shift,
      activation: l.activation,
      weightBits,
      biasBits,
      accumulatorBits: signedBits(acc),
    };
  });
  const p = model.policy;
  const y = inputs[0];
  const calibrationBits = bitLength(BigInt(p.calibrationNum)) + headroomBits;
  const kMax = ((1n << BigInt(calibrationBits)) - 1n) * BigInt(10000 + p.bufferBps);
  const mmNumerator = { min: y.min * kMax, max: y.max * kMax };
  const mmRaw = ceilShiftInterval(mmNumerator, p.mmShift);
  const clampMm = (v: bigint) =>
    v < BigInt(p.mmMinBps) ? BigInt(p.mmMinBps) : v > BigInt(p.mmMaxBps) ? BigInt(p.mmMaxBps) : v;
  const imRaw = ceilShiftInterval(
    { min: clampMm(mmRaw.min) * BigInt(p.imRatioNum), max: clampMm(mmRaw.max) * BigInt(p.imRatioNum) },
    p.imRatioShift,
  );
  return {
    format: "zkrisk-architecture/1",
    barIntervalMs: model.barIntervalMs,
    targetHorizonBars: model.targetHorizonBars,
    features: model.features.map((f) => ({
      name: f.name,
      scaleBits: f.scaleBits,
      min: f.min,
      rangeBits: f.rangeBits,
    })),
    layers,
    policy: {
      calibrationShift: p.calibrationShift,
      calibrationBits,
      bufferBps: p.bufferBps,
      mmMinBps: p.mmMinBps,
      mmMaxBps: p.mmMaxBps,
      imRatioNum: p.imRatioNum,
      imRatioShift: p.imRatioShift,
      imMinBps: p.imMinBps,
      imMaxBps: p.imMaxBps,
      outputScaleBits: p.outputScaleBits,
      mmShift: p.mmShift,
      yBits: signedBits(y),
      kBits: bitLength(kMax),
      mmRaw,
      imRaw,
    },
  };
}

/**
 * Why `model` does not fit `arch` (empty when it fits), each naming the architecture's field as circuit.json holds
 * it (`architecture.layers[0].inputs`).
 */
export function architectureMismatches(model: QuantizedModel, arch: Architecture): string[] {
  const out: string[] = [];
  const same = (what: string, a: unknown, b: unknown, field: string) => {
    if (String(a) !== String(b))
      out.push(`${what} is ${String(a)}, the circuit has ${String(b)} (architecture.${field})`);
  };
  same("bar interval (ms)", model.barIntervalMs, arch.barIntervalMs, "barIntervalMs");
  same("target horizon (bars)", model.targetHorizonBars, arch.targetHorizonBars, "targetHorizonBars");
  same("feature count", model.features.length, arch.features.length, "features");
  model.features.forEach((f, i) => {
    const a = arch.features[i];
    if (!a) return;
    same(`feature ${i} name`, f.name, a.name, `features[${i}].name`);
    same(`feature ${f.name} scale bits`, f.scaleBits, a.scaleBits, `features[${i}].scaleBits`);
    same(`feature ${f.name} min`, f.min, a.min, `features[${i}].min`);
    same(`feature ${f.name} range bits`, f.rangeBits, a.rangeBits, `features[${i}].rangeBits`);
  });
  same("layer count", model.layers.length, arch.layers.length, "layers");
  model.layers.forEach((l, k) => {
    const a = arch.layers[k];
    if (!a) return;
    const at = `layers[${k}]`;
    same(`layer ${k} outputs`, l.weights.length, a.outputs, `${at}.outputs`);
    same(`layer ${k} inputs`, l.weights[0].length, a.inputs, `${at}.inputs`);
    same(`layer ${k} input scale bits`, l.inputScaleBits, a.inputScaleBits, `${at}.inputScaleBits`);
    same(`layer ${k} weight scale bits`, l.weightScaleBits, a.weightScaleBits, `${at}.weightScaleBits`);
    same(`layer ${k} shift`, l.shift, a.shift, `${at}.shift`);
    same(`layer ${k} activation`, l.activation, a.activation, `${at}.activation`);
    const wb = Math.max(...l.weights.flat().map(bitLength));
    if (wb > a.weightBits)
      out.push(
        `layer ${k} has a weight of ${wb} bits, the circuit allows ${a.weightBits} (architecture.${at}.weightBits)`,
      );
    const bb = Math.max(...l.biases.map(bitLength));
    if (bb > a.biasBits)
      out.push(
        `layer ${k} has a bias of ${bb} bits, the circuit allows ${a.biasBits} (architecture.${at}.biasBits)`,
      );
  });
  const p = model.policy;
  const ap = arch.policy;
  for (const key of ["calibrationShift", ...POLICY_KEYS, "outputScaleBits", "mmShift"] as const) {
    same(`policy.${key}`, p[key], ap[key], `policy.${key}`);
  }
  if (bitLength(BigInt(p.calibrationNum)) > ap.calibrationBits) {
    out.push(
      `policy.calibrationNum ${p.calibrationNum} needs more than the circuit's ${ap.calibrationBits} bits ` +
        "(architecture.policy.calibrationBits)",
    );
  }
  return out;
}

/**
 * Throw a ModelError listing every way `model` does not fit `arch`, naming `archFile` (the circuit.json the
 * architecture was read from) when given.
 */
export function checkFitsArchitecture(
  model: QuantizedModel,
  arch: Architecture,
  what = "the model",
  archFile?: string,
): void {
  const problems = architectureMismatches(model, arch);
  if (problems.length > 0) {
    const of = archFile === undefined ? "" : ` (${archFile})`;
    throw new ModelError(`${what} does not fit the circuit's architecture${of}: ${problems.join("; ")}`);
  }
}

/** The MarginPolicyPrivateK arguments of an architecture, in template order. */
export function privateKPolicyArgs(arch: Architecture): string {
  const p = arch.policy;
  return [
    p.yBits,
    p.kBits,
    p.mmShift,
    p.mmRaw.min,
    spanBits(p.mmRaw.max - p.mmRaw.min),
    p.mmMinBps,
    p.mmMaxBps,
    p.imRatioNum,
    p.imRatioShift,
    p.imRaw.min,
    spanBits(p.imRaw.max - p.imRaw.min),
    p.imMinBps,
    p.imMaxBps,
  ].join(", ");
}

/** JSON form (bigints as decimal strings). */
export function architectureToJson(arch: Architecture): unknown {
  return JSON.parse(JSON.stringify(arch, (_k, v) => (typeof v === "bigint" ? v.toString() : v)));
}

/** The fields of an architecture's JSON form, per object (unknown keys are refused). */
const ARCHITECTURE_KEYS = [
  "format",
  "barIntervalMs",
  "targetHorizonBars",
  "features",
  "layers",
  "policy",
] as const;
const FEATURE_KEYS = ["name", "scaleBits", "min", "rangeBits"] as const;
const LAYER_KEYS = [
  "inputs",
  "outputs",
  "inputScaleBits",
  "weightScaleBits",
  "shift",
  "activation",
  "weightBits",
  "biasBits",
  "accumulatorBits",
] as const;
const POLICY_NUMBER_KEYS = [
  "calibrationShift",
  "calibrationBits",
  ...POLICY_KEYS,
  "outputScaleBits",
  "mmShift",
  "yBits",
  "kBits",
] as const;

/** A bit width or shift: an integer in [0, 254] (a field element has 254 bits). */
function bits(r: JsonReader): number {
  return r.integer(0, 254);
}

function interval(r: JsonReader): Interval {
  r.onlyKeys(["min", "max"]);
  const iv = { min: r.at("min").bigint(), max: r.at("max").bigint() };
  if (iv.min > iv.max) r.at("min").error(`must be <= max (${iv.max}), got ${iv.min}`);
  return iv;
}

/**
 * Read an architecture from its JSON form at `r` (the `architecture` field of a circuit.json), strictly:
 * every field present with its type, no unknown key; errors name the file and the field path.
 */
export function parseArchitecture(r: JsonReader): Architecture {
  r.onlyKeys(ARCHITECTURE_KEYS);
  r.at("format").literal("zkrisk-architecture/1");
  const features = r
    .at("features")
    .items()
    .map((f) => {
      f.onlyKeys(FEATURE_KEYS);
      return {
        name: f.at("name").string(),
        scaleBits: bits(f.at("scaleBits")),
        min: f.at("min").bigint(),
        rangeBits: bits(f.at("rangeBits")),
      };
    });
  if (features.length === 0) r.at("features").error("expected at least one feature");
  const layers = r
    .at("layers")
    .items()
    .map((l): ArchitectureLayer => {
      l.onlyKeys(LAYER_KEYS);
      return {
        inputs: l.at("inputs").integer(1, 1 << 16),
        outputs: l.at("outputs").integer(1, 1 << 16),
        inputScaleBits: bits(l.at("inputScaleBits")),
        weightScaleBits: bits(l.at("weightScaleBits")),
        shift: bits(l.at("shift")),
        activation: l.at("activation").literal("relu", "linear"),
        weightBits: bits(l.at("weightBits")),
        biasBits: bits(l.at("biasBits")),
        accumulatorBits: bits(l.at("accumulatorBits")),
      };
    });
  if (layers.length === 0) r.at("layers").error("expected at least one layer");
  const p = r.at("policy");
  p.onlyKeys([...POLICY_NUMBER_KEYS, "mmRaw", "imRaw"]);
  const numbers = Object.fromEntries(POLICY_NUMBER_KEYS.map((k) => [k, p.at(k).integer()])) as Record<
    (typeof POLICY_NUMBER_KEYS)[number],
    number
  >;
  return {
    format: "zkrisk-architecture/1",
    barIntervalMs: r.at("barIntervalMs").integer(1),
    targetHorizonBars: r.at("targetHorizonBars").integer(1),
    features,
    layers,
    policy: { ...numbers, mmRaw: interval(p.at("mmRaw")), imRaw: interval(p.at("imRaw")) },
  };
}

/**
 * Read an architecture back from its JSON form `doc`, the `architecture` field of circuit.json `file`;
 * a malformed one is a ModelError naming the file and the field (`architecture.layers[0].shift`).
 */
export function architectureFromJson(doc: unknown, file: string): Architecture {
  return parseArchitecture(new JsonReader(file, doc, "architecture"));
}
