/**
 * What the proof's commitments cover, as lists of field elements, and their Poseidon sponge hashes.
 *
 * The model commitment binds everything that determines the model's arithmetic and meaning: feature names,
 * scales and bounds; every layer's shape, scales, shift, activation, weights and biases; the policy constants;
 * the bar interval and target horizon. Two models with the same commitment compute the same function.
 * The input commitment binds the quantised features of one update, in model order.
 */
import type { QuantizedModel } from "../models/quantized-model";
import { packAscii } from "../crypto/field";
import { poseidonSponge, SPONGE_CHUNK } from "../crypto/poseidon-sponge";

/** Version of the layout below; bump it when the layout changes. */
export const MODEL_COMMITMENT_LAYOUT = 2n;

/** Where each weight and bias sits in the model-commitment list (the committed-mode circuit needs it). */
export interface CommitmentLayout {
  values: bigint[];
  /**
   * How many leading values are architecture constants: every model that fits a committed circuit has the
   * same prefix, so its whole chunks are absorbed at compile time. The private values (weights, biases,
   * calibration) all come after it.
   */
  constantPrefix: number;
  /** weightIndex[l][j][i] = position of layer l's weight j,i in `values`. */
  weightIndex: number[][][];
  /** biasIndex[l][j] = position of layer l's bias j in `values`. */
  biasIndex: number[][];
  /** Position of policy.calibrationNum in `values`. */
  calibrationIndex: number;
}

/**
 * The model commitment's field elements: first everything a committed circuit fixes (layout version, bar
 * interval, horizon, features, layer shapes and scales, policy constants), then the weights and biases of
 * each layer (row-major), then the calibration numerator.
 */
export function modelCommitmentLayout(m: QuantizedModel): CommitmentLayout {
  const values: bigint[] = [MODEL_COMMITMENT_LAYOUT, BigInt(m.barIntervalMs), BigInt(m.targetHorizonBars)];
  values.push(BigInt(m.features.length));
  for (const f of m.features) values.push(packAscii(f.name), BigInt(f.scaleBits), f.min, BigInt(f.rangeBits));
  values.push(BigInt(m.layers.length));
  for (const l of m.layers) {
    values.push(
      BigInt(l.weights.length),
      BigInt(l.weights[0].length),
      BigInt(l.inputScaleBits),
      BigInt(l.weightScaleBits),
      BigInt(l.shift),
      l.activation === "relu" ? 1n : 0n,
    );
  }
  const p = m.policy;
  values.push(
    BigInt(p.calibrationShift),
    BigInt(p.outputScaleBits),
    BigInt(p.mmShift),
    BigInt(p.bufferBps),
    BigInt(p.mmMinBps),
    BigInt(p.mmMaxBps),
    BigInt(p.imRatioNum),
    BigInt(p.imRatioShift),
    BigInt(p.imMinBps),
    BigInt(p.imMaxBps),
  );
  // Pad the constants to whole sponge chunks (zeros; the layout's sizes above make this unambiguous) so a
  // committed circuit absorbs all of them at generation time and hashes only private values.
  while (values.length % SPONGE_CHUNK !== 0) values.push(0n);
  const constantPrefix = values.length;
  const push = (v: bigint) => {
    values.push(v);
    return values.length - 1;
  };
  const weightIndex: number[][][] = [];
  const biasIndex: number[][] = [];
  for (const l of m.layers) {
    weightIndex.push(l.weights.map((row) => row.map(push)));
    biasIndex.push(l.biases.map(push));
  }
  const calibrationIndex = push(BigInt(p.calibrationNum));
  return { values, constantPrefix, weightIndex, biasIndex, calibrationIndex };
}

/** Poseidon commitment to a quantised model (a field element). */
export function modelCommitment(m: QuantizedModel): Promise<bigint> {
  return poseidonSponge(modelCommitmentLayout(m).values);
}

/** Poseidon commitment to the quantised features of one update (a field element). */
export function inputCommitment(featuresInt: readonly bigint[]): Promise<bigint> {
  return poseidonSponge(featuresInt);
}
