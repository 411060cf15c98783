/**
 * What the signed circuits' generators refuse before writing any Circom (circuits/signed-circuit-parts.ts
 * `checkSignedCircuitParameters`): a model that does not read the window features as WindowFeatures gives them
 * (by position, at scale 2^32, on 2-hour bars), whose commitment would then name another function than the one
 * the circuit computes, and a quorum outside [1, 8]; and how they wire the window's range part (layout v3) into
 * the digest, the features and the adaptive rule. No compile: these are quick.
 */
import { describe, expect, it } from "vitest";
import { generateSignedBatchCircuit } from "../../circuits/generate-signed-batch-circuit";
import { generateUpdateCircuit } from "../../circuits/generate-update-circuit";
import { ModelError } from "../../core/errors";
import { loadQuantizedModel, type QuantizedModel } from "../../models/quantized-model";
import { MODEL } from "../helpers/artifacts";
import { loadCalibrations } from "../../models/market-calibrations";
import { DEFAULT_CALIBRATIONS } from "../../cli/paths";
import { ADAPTIVE_BARS } from "../../circuits/adaptive-params";
import { WINDOW_RANGE_BARS } from "../../candles/window";
import { architectureOf } from "../../circuits/architecture";

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

    it(`${name}: wires the window's 24 highs and lows into the digest, the last 12 into the features, the last 23 into the adaptive rule`, async () => {
      const rule = loadCalibrations(DEFAULT_CALIBRATIONS).adaptive;
      const single = name === "signed update";
      const source = single
        ? (await generateUpdateCircuit(model, "constant", 1, undefined, { adaptive: rule })).source
        : (await generateSignedBatchCircuit(model, "constant", 2, 1, undefined, { adaptive: rule })).source;
      expect(WINDOW_RANGE_BARS).toBe(24);
      expect(ADAPTIVE_BARS - 1).toBeLessThanOrEqual(WINDOW_RANGE_BARS);
      expect(source).toContain(single ? "signal input high[24];" : "signal input high[2][24];");
      // the digest: 223 elements, the 24 highs and lows after the header and the 85 closes and volumes
      expect(source).toContain("PoseidonSponge(223)");
      expect(source).toMatch(
        /for \(var j = 0; j < 24; j\+\+\) \{\s+\S+\.in\[175 \+ 2 \* j\] <== high(\[m\])?\[j\];/,
      );
      // the features: the last 12 of the 24 (bars 73 .. 84); the adaptive rule: bars t - 22 .. t, entries 1 .. 23
      for (const m of single ? [""] : ["[0]", "[1]"]) {
        expect(source).toContain(`features${m}.high[k] <== high${m}[12 + k];`);
        expect(source).toContain(`features${m}.low[k] <== low${m}[12 + k];`);
        const adaptive = single ? "adaptive" : `adaptive${m.slice(1, 2)}`;
        expect(source).toContain(`${adaptive}.high[i] <== high${m}[i + 1];`);
        expect(source).toContain(`${adaptive}.low[i] <== low${m}[i + 1];`);
      }
      // no high or low of the adaptive rule wired to a constant 0 (layout v2's 12-bar range part did)
      expect(source).not.toMatch(/\.(high|low)\[i\] <== 0;/);
    });

    it(`${name}: refuses an architecture of another policy in either weight mode (the adaptive rule's policy is built from it)`, async () => {
      const rule = loadCalibrations(DEFAULT_CALIBRATIONS).adaptive;
      const own = architectureOf(model);
      const other = { ...own, policy: { ...own.policy, mmMaxBps: 10000, imRatioNum: 1, imRatioShift: 0 } };
      for (const mode of ["constant", "committed"] as const) {
        const gen = () =>
          name === "signed update"
            ? generateUpdateCircuit(model, mode, 1, other, { adaptive: rule })
            : generateSignedBatchCircuit(model, mode, 2, 1, other, { adaptive: rule });
        await expect(gen()).rejects.toThrow(ModelError);
        await expect(gen()).rejects.toThrow(/policy\.mmMaxBps/);
      }
    });

    it(`${name}: refuses a model whose layers declare other activations than the circuit applies`, async () => {
      const last = model.layers.length - 1;
      const withActivation = (k: number, activation: "relu" | "linear"): QuantizedModel => ({
        ...model,
        layers: model.layers.map((l, i) => (i === k ? { ...l, activation } : l)),
      });
      await expect(generate(withActivation(last, "relu"))).rejects.toThrow(
        `layer ${last}'s activation is "relu"; the circuit gives the output layer none (linear)`,
      );
      await expect(generate(withActivation(0, "linear"))).rejects.toThrow(
        `layer 0's activation is "linear"; the circuit gives every hidden layer a ReLU`,
      );
    });

    it(`${name}: refuses a quorum outside [1, 8], and generates for the shipped model`, async () => {
      for (const quorum of [0, 9, 1.5]) await expect(generate(model, quorum)).rejects.toThrow(RangeError);
      expect((await generate(model)).source).toContain("component features");
    });
  }
});
