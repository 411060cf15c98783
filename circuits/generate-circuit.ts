/**
 * The generator: writes the main Circom circuit of a quantised model. The circuit recomputes exactly what
 * models/integer-engine.ts computes, sized by the intervals recorded in the model (which loading the model
 * re-derives), and exposes the public signals of public-signals.ts in that order.
 *
 * Two ways to carry the weights:
 *  - `committed`: weights and biases are private inputs, hashed in the circuit into the public model
 *    commitment. One circuit (and one trusted setup) serves every model with the same architecture, scales
 *    and bit widths; the weights stay private.
 *  - `constant`: weights are compiled in (a product with a constant costs no constraint); the model
 *    commitment is still output, as a constant, so the oracle can check which model ran.
 * Both give the same outputs for the same model and features.
 */
import type { QuantizedModel } from "../models/quantized-model";
import { ModelError } from "../core/errors";
import { architectureOf, checkFitsArchitecture, privateKPolicyArgs, type Architecture } from "./architecture";
import { modelCommitment, modelCommitmentLayout, type CommitmentLayout } from "./commitments";
import { poseidonChain, SPONGE_CHUNK } from "../crypto/poseidon-sponge";
import { marginPolicyArgs, marginPolicyParams } from "./policy-params";
import { PUBLIC_SIGNALS } from "./public-signals";

/** How the circuit carries the model's weights. */
export type WeightMode = "committed" | "constant";

/** A generated main circuit. */
export interface GeneratedCircuit {
  mode: WeightMode;
  /** Circom source of the main circuit (build output: never edit by hand). */
  source: string;
  /** The model commitment the circuit outputs for this model. */
  modelCommitment: bigint;
}

/** Circom's name for the private input holding layer l's weight j,i (committed mode). */
export function weightSignal(l: number, j: number, i: number): string {
  return `weights${l}[${j}][${i}]`;
}

/** A linear form `c0 + sum c_k * s_k` in circom syntax (constants may be negative). */
function linear(constant: bigint, terms: [bigint | string, string][]): string {
  const parts = [constant.toString()];
  for (const [c, s] of terms) parts.push(typeof c === "string" ? `${c} * ${s}` : `(${c}) * ${s}`);
  return parts.join(" + ");
}

/**
 * Emit the lines that compute one inference (feature range checks, layers, policy) for features named by
 * `feature(i)`, with every component and signal name prefixed by `P` (so a batch circuit can hold several),
 * and return the expressions of the resulting MM and IM. With `calibration` (a signal expression), the policy
 * takes its calibrationNum from it instead of the model (the adaptive state's; generate-update-circuit.ts).
 */
export function emitInference(
  line: (s?: string) => void,
  model: QuantizedModel,
  mode: WeightMode,
  architecture: Architecture,
  feature: (i: number) => string,
  P: string,
  calibration?: string,
): { mm: string; im: string } {
  const nFeatures = model.features.length;
  const p = model.policy;
  line("");
  line("    // Every feature within its declared bounds [min, min + 2^bits - 1].");
  line(`    component ${P}featureRange[${nFeatures}];`);
  model.features.forEach((f, i) => {
    line(`    ${P}featureRange[${i}] = BoundedInput(${f.min}, ${f.rangeBits}); // ${f.name}`);
    line(`    ${P}featureRange[${i}].in <== ${feature(i)};`);
  });

  let inputs = model.features.map((_, i) => feature(i));
  model.layers.forEach((l, k) => {
    const last = k === model.layers.length - 1;
    // The circuit puts a ReLU after every hidden layer and none after the last, whatever a layer declares; the
    // loader allows only that, and a model built in code must not reach here claiming otherwise.
    if (l.activation !== (last ? "linear" : "relu")) {
      throw new ModelError(
        `layer ${k}'s activation is ${JSON.stringify(l.activation)}; the circuit gives ` +
          (last ? "the output layer none (linear)" : "every hidden layer a ReLU"),
      );
    }
    line("");
    line(
      `    // Layer ${k}: ${l.weights[0].length} -> ${l.weights.length}, weights at 2^${l.weightScaleBits}, ` +
        (!last
          ? `floor(acc / 2^${l.shift}) then ReLU.`
          : l.shift === 0
            ? "linear, no rescale."
            : `linear, floor(acc / 2^${l.shift}).`),
    );
    if (mode === "committed") {
      line(`    signal ${P}products${k}[${l.weights.length}][${l.weights[0].length}];`);
      l.weights.forEach((row, j) =>
        row.forEach((_, i) =>
          line(`    ${P}products${k}[${j}][${i}] <== weights${k}[${j}][${i}] * ${inputs[i]};`),
        ),
      );
    }
    const acc = (j: number) =>
      mode === "committed"
        ? [`biases${k}[${j}]`, ...l.weights[j].map((_, i) => `${P}products${k}[${j}][${i}]`)].join(" + ")
        : linear(
            l.biases[j],
            l.weights[j].map((w, i) => [w, inputs[i]]),
          );
    if (last) {
      line(`    signal ${P}y;`);
      if (l.shift === 0) {
        line(`    ${P}y <== ${acc(0)};`);
      } else {
        // The output layer's floor rescale (the integer engine's floorShift): y = floor(acc / 2^shift), from
        // one decomposition of the accumulator (which also range-checks it).
        const bits = mode === "committed" ? architecture.layers[k].accumulatorBits : l.accumulators[0].bits;
        line(`    component ${P}yShift = FloorShift(${bits}, ${l.shift});`);
        line(`    ${P}yShift.in <== ${acc(0)};`);
        line(`    ${P}y <== ${P}yShift.out;`);
      }
      inputs = [`${P}y`];
      return;
    }
    line(`    component ${P}layer${k}[${l.weights.length}];`);
    l.weights.forEach((_, j) => {
      const bits = mode === "committed" ? architecture.layers[k].accumulatorBits : l.accumulators[j].bits;
      line(`    ${P}layer${k}[${j}] = RescaleRelu(${bits}, ${l.shift});`);
      line(`    ${P}layer${k}[${j}].in <== ${acc(j)};`);
    });
    inputs = l.weights.map((_, j) => `${P}layer${k}[${j}].out`);
  });

  line("");
  line("");
  line("    // The margin policy, exactly as integerPolicy() in models/integer-engine.ts.");
  if (calibration !== undefined) {
    // The calibration is a signal of the caller, within `architecture`'s policy widths: the adaptive state's
    // (circuits/lib/adaptive.circom; adaptivePolicyArchitecture), or a batch market's own committed one.
    line(`    component ${P}policy = MarginPolicyPrivateK(${privateKPolicyArgs(architecture)});`);
    line(`    ${P}policy.k <== ${calibration} * ${10000 + p.bufferBps};`);
  } else if (mode === "committed") {
    // K = calibrationNum * (10000 + bufferBps) is private (bound by the model commitment); the template
    // range-checks y and k to the architecture's widths, which its no-wrap argument needs.
    line(`    component ${P}policy = MarginPolicyPrivateK(${privateKPolicyArgs(architecture)});`);
    line(`    ${P}policy.k <== calibration * ${10000 + p.bufferBps};`);
  } else {
    line(`    component ${P}policy = MarginPolicy(${marginPolicyArgs(marginPolicyParams(model))});`);
  }
  line(`    ${P}policy.y <== ${P}y;`);
  return { mm: `${P}policy.maintenanceMarginBps`, im: `${P}policy.initialMarginBps` };
}

/**
 * Emit the private inputs of committed mode (weights, biases, calibration); nothing in constant mode. With
 * `calibrations`, the calibration is an array of that many (a batch's markets: one network, a calibration each).
 */
export function emitWeightInputs(
  line: (s?: string) => void,
  model: QuantizedModel,
  mode: WeightMode,
  calibrations?: number,
): void {
  if (mode !== "committed") return;
  model.layers.forEach((l, k) => {
    line(`    signal input weights${k}[${l.weights.length}][${l.weights[0].length}];`);
    line(`    signal input biases${k}[${l.biases.length}];`);
  });
  line(
    calibrations === undefined
      ? "    signal input calibration;"
      : `    signal input calibration[${calibrations}];`,
  );
}

/** The committed circuit's signal of each private position of the model-commitment layout. */
function committedSignals(layout: CommitmentLayout, calibration: string): Map<number, string> {
  const signalAt = new Map<number, string>();
  layout.weightIndex.forEach((rows, k) =>
    rows.forEach((row, j) => row.forEach((pos, i) => signalAt.set(pos, `weights${k}[${j}][${i}]`))),
  );
  layout.biasIndex.forEach((row, k) => row.forEach((pos, j) => signalAt.set(pos, `biases${k}[${j}]`)));
  signalAt.set(layout.calibrationIndex, calibration);
  return signalAt;
}

/**
 * Emit the model commitment: in committed mode the sponge over the private weights (its constant leading
 * chunks absorbed here, at generation time), in constant mode the generator's constant. Returns the
 * expression holding it.
 */
export async function emitModelCommitment(
  line: (s?: string) => void,
  model: QuantizedModel,
  mode: WeightMode,
): Promise<string> {
  if (mode !== "committed") {
    line("    // Model commitment of the compiled-in model (computed by the generator).");
    return (await modelCommitment(model)).toString();
  }
  const layout = modelCommitmentLayout(model);
  const signalAt = committedSignals(layout, "calibration");
  // The leading whole chunks are architecture constants: absorb them here, at generation time.
  const constantChunks = Math.floor(layout.constantPrefix / SPONGE_CHUNK);
  const start = constantChunks * SPONGE_CHUNK;
  const h0 = await poseidonChain(BigInt(layout.values.length), layout.values.slice(0, start));
  const rest = layout.values.length - start;
  line("    // Model commitment: the Poseidon sponge of circuits/commitments.ts. Its first");
  line(`    // ${constantChunks} chunk(s) are architecture constants, absorbed by the generator; the chain`);
  line("    // continues here over the remaining constants and the private weights, biases and calibration.");
  line(`    component modelHash = PoseidonChain(${rest}, ${h0});`);
  layout.values
    .slice(start)
    .forEach((v, k) => line(`    modelHash.in[${k}] <== ${signalAt.get(start + k) ?? v.toString()};`));
  return "modelHash.out";
}

/**
 * Emit one model commitment per market of a batch whose markets share the network (weights and biases) and
 * each have their own calibration (`calibrations[m]`, a signal): market m's commitment is the sponge of
 * circuits/commitments.ts over its own model file. The calibration is the layout's last value, so the chain is
 * shared up to the last chunk and each market adds one Poseidon permutation over that chunk. Constant mode:
 * the compiled-in model's commitment for every market. Returns the expressions, in market order.
 */
export async function emitModelCommitments(
  line: (s?: string) => void,
  model: QuantizedModel,
  mode: WeightMode,
  calibrations: readonly string[],
): Promise<string[]> {
  if (mode !== "committed") {
    line("    // Model commitment of the compiled-in model (computed by the generator), every market's.");
    const constant = (await modelCommitment(model)).toString();
    return calibrations.map(() => constant);
  }
  const layout = modelCommitmentLayout(model);
  const total = layout.values.length;
  if (layout.calibrationIndex !== total - 1) {
    throw new Error(
      "the calibration must be the model commitment layout's last value (circuits/commitments.ts)",
    );
  }
  const signalAt = committedSignals(layout, "");
  const start = Math.floor(layout.constantPrefix / SPONGE_CHUNK) * SPONGE_CHUNK;
  const lastStart = start + Math.floor((total - 1 - start) / SPONGE_CHUNK) * SPONGE_CHUNK;
  const h0 = await poseidonChain(BigInt(total), layout.values.slice(0, start));
  const value = (pos: number) => signalAt.get(pos) ?? layout.values[pos].toString();
  line(
    "    // Each market's model commitment: the Poseidon sponge of circuits/commitments.ts over the shared",
  );
  line(
    "    // weights and biases and the market's calibration. The architecture constants' chunks are absorbed",
  );
  line(
    "    // by the generator, the chain up to the last chunk is shared, and the last chunk (which ends with",
  );
  line("    // the calibration) is one permutation per market.");
  let state = h0.toString();
  if (lastStart > start) {
    line(`    component modelHash = PoseidonChain(${lastStart - start}, ${h0});`);
    for (let pos = start; pos < lastStart; pos++) line(`    modelHash.in[${pos - start}] <== ${value(pos)};`);
    state = "modelHash.out";
  }
  const len = total - lastStart;
  line(`    component modelHashLast[${calibrations.length}];`);
  return calibrations.map((calibration, m) => {
    line(`    modelHashLast[${m}] = Poseidon(${1 + len});`);
    line(`    modelHashLast[${m}].inputs[0] <== ${state};`);
    for (let pos = lastStart; pos < total; pos++) {
      const v = pos === layout.calibrationIndex ? calibration : value(pos);
      line(`    modelHashLast[${m}].inputs[${1 + pos - lastStart}] <== ${v};`);
    }
    return `modelHashLast[${m}].out`;
  });
}

/**
 * Write the main circuit of `model` in the given weight mode. In committed mode the circuit is sized for
 * `architecture` (default: the model's own, with one bit of headroom on every budget), so every model
 * that fits it proves with the same circuit and setup.
 */
export async function generateCircuit(
  model: QuantizedModel,
  mode: WeightMode,
  architecture: Architecture = architectureOf(model),
): Promise<GeneratedCircuit> {
  if (mode === "committed") checkFitsArchitecture(model, architecture);
  const commitment = await modelCommitment(model);
  const nFeatures = model.features.length;
  const out: string[] = [];
  const line = (s = "") => out.push(s);

  line("pragma circom 2.1.0;");
  line("");
  line(
    "// GENERATED by zkrisk (circuits/generate-circuit.ts). Do not edit: regenerate with `zkrisk compile`.",
  );
  if (mode === "committed") {
    line(
      "// Committed weights: the model is a private input bound by the public model commitment; every model",
    );
    line(
      "// that fits this circuit's architecture proves with it (the source depends on the architecture only).",
    );
  } else {
    line(`// Constant weights of a quantised ${model.market} model; model commitment ${commitment}.`);
  }
  line('include "range.circom";');
  line('include "fixed-point.circom";');
  line('include "policy.circom";');
  line('include "commitment.circom";');
  line("");
  line("template ZkriskModel() {");
  line("    // Public signals, in the order of circuits/public-signals.ts: outputs, then public inputs.");
  for (const name of PUBLIC_SIGNALS.slice(0, 4)) line(`    signal output ${name};`);
  for (const name of PUBLIC_SIGNALS.slice(4)) line(`    signal input ${name};`);
  line(`    signal input features[${nFeatures}];`);
  emitWeightInputs(line, model, mode);
  const margins = emitInference(line, model, mode, architecture, (i) => `features[${i}]`, "");
  line(`    maintenanceMarginBps <== ${margins.mm};`);
  line(`    initialMarginBps <== ${margins.im};`);
  line("");
  line("    // Input commitment: Poseidon sponge over the quantised features.");
  line(`    component inputHash = PoseidonSponge(${nFeatures});`);
  line(`    for (var i = 0; i < ${nFeatures}; i++) inputHash.in[i] <== features[i];`);
  line("    inputCommitment <== inputHash.out;");
  line("");
  const commitmentSignal = await emitModelCommitment(line, model, mode);
  line(`    modelCommitment <== ${commitmentSignal};`);
  line("");
  line("    // Public inputs that no other constraint uses are bound by a product, so a proof cannot be");
  line("    // replayed with them changed.");
  for (const name of PUBLIC_SIGNALS.slice(4)) {
    line(`    signal ${name}Squared;`);
    line(`    ${name}Squared <== ${name} * ${name};`);
  }
  line("}");
  line("");
  line(`component main {public [${PUBLIC_SIGNALS.slice(4).join(", ")}]} = ZkriskModel();`);
  return { mode, source: out.join("\n") + "\n", modelCommitment: commitment };
}
