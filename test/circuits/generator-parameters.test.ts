/**
 * What the signed circuits' generators refuse before writing any Circom (circuits/signed-circuit-parts.ts
 * `checkSignedCircuitParameters`): a model that does not read the window features as WindowFeatures gives them
 * (by position, at scale 2^32, on 2-hour bars), whose commitment would then name another function than the one
 * the circuit computes, and a quorum outside [1, 8]. No compile: these are quick.
 */
import { describe, expect, it } from "vitest";
import { generateSignedBatchCircuit } from "../../circuits/generate-signed-batch-circuit";
import { generateUpdateCircuit } from "../../circuits/generate-update-circuit";
import { ModelError } from "../../core/errors";
import { loadQuantizedModel, type QuantizedModel } from "../../models/quantized-model";
import { MODEL } from "../helpers/artifacts";
import { loadCalibrations } from "../../models/market-calibrations";
import { DEFAULT_CALIBRATIONS } from "../../cli/paths";

const model = loadQuantizedModel(MODEL);

/** The shipped model with two features' labels swapped (same weights: it reads volume_ratio_7d first). */
const swapped: QuantizedModel = {
  ...model,
  features: [model.features[5], ...model.features.slice(1, 5), model.features[0], ...model.features.slice(6)],
};
/** The shipped model declared at feature scale 2^33 (WindowFeatures gives 2^32). */
const rescaled: QuantizedModel = {
  ...model,
  features: model.features.map((f) => ({ ...f, scaleBits: f.scaleBits + 1 })),
};
/** The shipped model on hourly bars. */
const hourly: QuantizedModel = { ...model, barIntervalMs: 3_600_000 };

describe("signed circuit generators", () => {
  const generators = [
    ["signed update", (m: QuantizedModel, quorum = 1) => generateUpdateCircuit(m, "constant", quorum)],
    ["signed batch", (m: QuantizedModel, quorum = 1) => generateSignedBatchCircuit(m, "constant", 2, quorum)],
  ] as const;

  for (const [name, generate] of generators) {
    it(`${name}: refuses a model that does not read the window features as the circuit gives them`, async () => {
      await expect(generate(swapped)).rejects.toThrow(ModelError);
      await expect(generate(swapped)).rejects.toThrow(/are not the window features/);
      await expect(generate(rescaled)).rejects.toThrow(/at scale 2\^33, the window features are at 2\^32/);
      await expect(generate(hourly)).rejects.toThrow(/barIntervalMs is 3600000/);
      await expect(generate({ ...model, features: model.features.slice(0, 7) })).rejects.toThrow(ModelError);
    });

    it(`${name}: with the adaptive rule, refuses a model whose margins are for another horizon than 12 bars or may be 0`, async () => {
      const rule = loadCalibrations(DEFAULT_CALIBRATIONS).adaptive;
      const gen = (m: QuantizedModel) =>
        name === "signed update"
          ? generateUpdateCircuit(m, "constant", 1, undefined, { adaptive: rule })
          : generateSignedBatchCircuit(m, "constant", 2, 1, undefined, { adaptive: rule });
      await expect(gen({ ...model, targetHorizonBars: 24 })).rejects.toThrow(
        /the next 12 bars; this model's margins are for 24 bars/,
      );
      // An MM floor of 0: a margin of 0 would read as "no update for that bar", never as breached.
      await expect(gen({ ...model, policy: { ...model.policy, mmMinBps: 0 } })).rejects.toThrow(
        /policy.mmMinBps must be at least 1, this model's is 0/,
      );
      // The same model without the rule: the horizon is only committed to, not read.
      expect((await generate({ ...model, targetHorizonBars: 24 })).source).toContain("component features");
    });

    it(`${name}: refuses a quorum outside [1, 8], and generates for the shipped model`, async () => {
      for (const quorum of [0, 9, 1.5]) await expect(generate(model, quorum)).rejects.toThrow(RangeError);
      expect((await generate(model)).source).toContain("component features");
    });
  }
});
