/**
 * The circuit's input for one update: public inputs (market, data timestamp, domain), the quantised
 * features and, in committed mode, the weights and biases. Values are field elements as decimal strings.
 */
import type { QuantizedModel } from "../models/quantized-model";
import { toField } from "../crypto/field";
import type { WeightMode } from "../circuits/generate-circuit";

/** The public context of an update. */
export interface UpdateContext {
  /** Market id as a field element (see `marketIdOf`). */
  marketId: bigint;
  /** Open time of the last bar used, seconds since the Unix epoch. */
  dataTimestamp: bigint;
  /** Chain-and-oracle domain value (0 until an oracle is chosen). */
  domain: bigint;
}

type SignalValue = string | SignalValue[];

/** The input object for the witness calculator. */
export function circuitInput(
  model: QuantizedModel,
  mode: WeightMode,
  featuresInt: readonly bigint[],
  ctx: UpdateContext,
): Record<string, SignalValue> {
  const s = (v: bigint) => toField(v).toString();
  const input: Record<string, SignalValue> = {
    marketId: s(ctx.marketId),
    dataTimestamp: s(ctx.dataTimestamp),
    domain: s(ctx.domain),
    features: featuresInt.map(s),
    ...weightInputs(model, mode),
  };
  return input;
}

/** The private weight inputs of committed mode (weights, biases, calibration); none in constant mode. */
export function weightInputs(model: QuantizedModel, mode: WeightMode): Record<string, SignalValue> {
  if (mode !== "committed") return {};
  const s = (v: bigint) => toField(v).toString();
  const input: Record<string, SignalValue> = {};
  model.layers.forEach((l, k) => {
    input[`weights${k}`] = l.weights.map((row) => row.map(s));
    input[`biases${k}`] = l.biases.map(s);
  });
  input.calibration = s(BigInt(model.policy.calibrationNum));
  return input;
}
