/**
 * circuits/lib/policy.circom: MarginPolicy against models/integer-engine.ts `integerPolicy`, on the
 * shipped model's policy and on synthetic policies that exercise the other branches (buffer, powers of
 * two in K and IM_NUM, an active IM upper clamp, IM_NUM = 0).
 */
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  bigRandom,
  FIELD_MODULUS as P,
  fromField,
  loadCircuit,
  marginPolicyArgs,
  marginPolicyParams,
  readSymbols,
  toField,
  witnessFailure,
  type MarginPolicyParams,
  type TestCircuit,
} from "../helpers/circuits";
import { expectForgeryRejected, expectNoWitness } from "../helpers/circuits/expect";
import { integerPolicy } from "../../models/integer-engine";
import { analyseIntervals, bounded } from "../../models/intervals";
import type { QuantizedLayer, QuantizedModel, QuantizedPolicy } from "../../models/quantized-model";
import { loadQuantizedModel } from "../../models/quantized-model";

const ROOT = join(__dirname, "../..");
const model = loadQuantizedModel(join(ROOT, "models/btc-usdt-2h.quantized.json"));
const OUTPUTS = [
  "mmNumerator",
  "mmRaw",
  "maintenanceMarginBps",
  "imNumerator",
  "imRaw",
  "initialMarginBps",
] as const;

/**
 * y -> [FloorShift(Y_BITS, 0) if `checked`] -> MarginPolicy, every IntegerTrace policy field an output.
 * `checked` models the generated circuit, where y is the last layer's FloorShift output.
 */
function wrapper(params: MarginPolicyParams, checked: boolean, outputs: readonly string[] = OUTPUTS): string {
  return [
    "pragma circom 2.1.0;",
    'include "policy.circom";',
    'include "fixed-point.circom";',
    "template Wrap() {",
    "    signal input y;",
    ...outputs.map((o) => `    signal output ${o};`),
    `    component p = MarginPolicy(${marginPolicyArgs(params)});`,
    ...(checked
      ? [
          `    component last = FloorShift(${params.Y_BITS}, 0);`,
          "    last.in <== y;",
          "    p.y <== last.out;",
        ]
      : ["    p.y <== y;"]),
    ...outputs.map((o) => `    ${o} <== p.${o};`),
    "}",
    "component main {public [y]} = Wrap();",
    "",
  ].join("\n");
}

/** floor(a / b) for b > 0. */
function floorDiv(a: bigint, b: bigint): bigint {
  return a >= 0n ? a / b : -((-a + b - 1n) / b);
}

/** The smallest and largest y with ceil(y K / 2^S) = m. */
function yRangeFor(m: bigint, params: MarginPolicyParams): [bigint, bigint] {
  const s = BigInt(params.MM_SHIFT);
  return [floorDiv((m - 1n) << s, params.K) + 1n, floorDiv(m << s, params.K)];
}

/** The circuit's six outputs for y as signed integers, or undefined when there is no witness. */
async function policyOf(c: TestCircuit, y: bigint): Promise<Record<string, bigint> | undefined> {
  if ((await witnessFailure(c, { y })) !== undefined) return undefined;
  const w = await c.witness({ y });
  expect(c.violated(w)).toEqual([]);
  return Object.fromEntries(OUTPUTS.map((o) => [o, fromField(c.read(w, `main.${o}`))]));
}

function expected(p: QuantizedPolicy, y: bigint): Record<string, bigint> {
  const t = integerPolicy(p, y);
  return Object.fromEntries(OUTPUTS.map((o) => [o, t[o]]));
}

/** A quantised policy (and one-neuron last layer) whose network output y spans [-2^(bits-1), 2^(bits-1)). */
function syntheticModel(
  policy: Omit<QuantizedPolicy, "intervals" | "mmShift">,
  yBits: number,
): Pick<QuantizedModel, "layers" | "policy"> {
  const half = 1n << BigInt(yBits - 1);
  const shape = { weights: [[1n]], biases: [0n], shift: 0, activation: "linear" as const };
  const full = { ...policy, mmShift: policy.outputScaleBits + policy.calibrationShift };
  const iv = analyseIntervals([{ min: -half, max: half - 1n }], [shape], full);
  const layer: QuantizedLayer = {
    ...shape,
    inputScaleBits: 0,
    weightScaleBits: 0,
    accumulators: [bounded({ min: -half, max: half - 1n })],
    outputs: [{ min: -half, max: half - 1n }],
  };
  return { layers: [layer], policy: { ...full, intervals: iv.policy } };
}

describe("MarginPolicy on the shipped model's policy", () => {
  const params = marginPolicyParams(model);
  const policy = model.policy;
  const out = policy.intervals.output;
  let checked: TestCircuit;
  let bare: TestCircuit;
  let bareO1: TestCircuit;
  let minimal: TestCircuit;

  beforeAll(async () => {
    [checked, bare, bareO1, minimal] = await Promise.all([
      loadCircuit(wrapper(params, true), "PolicyChecked"),
      loadCircuit(wrapper(params, false), "PolicyBare"),
      loadCircuit(wrapper(params, false), "PolicyBare", { O: 1 }),
      loadCircuit(wrapper(params, false, ["maintenanceMarginBps", "initialMarginBps"]), "PolicyMinimal"),
    ]);
  });

  it("derives its parameters from the model file", () => {
    expect(params).toEqual({
      Y_BITS: 75,
      K: 49021n * 10000n,
      MM_SHIFT: 85,
      MM_RAW_MIN: -104804n,
      MM_RAW_BITS: 18,
      MM_MIN: 50n,
      MM_MAX: 5000n,
      IM_NUM: 3n,
      IM_SHIFT: 1,
      IM_RAW_MIN: 75n,
      IM_RAW_BITS: 13,
      IM_MIN: 100n,
      IM_MAX: 10000n,
    });
  });

  it("pins the --O2 cost: 168", () => {
    // K = 49021 * 10000 = 49021 * 625 * 2^4: mmRaw = ceil(y (K / 16) / 2^81), 81 remainder + 18 quotient
    //   bits = 99;
    // MM clamp of [-104804, 157339] to [50, 5000]: d1 in [-104854, 157289] and d2 in [-152339, 4950], so
    //   W1 = W2 = 19, + 2 products = 40;
    // imRaw = ceil(3 MM / 2): 1 remainder + 13 quotient bits = 14;
    // IM clamp of [75, 8266] to [100, 10000]: lower side only (8266 <= 10000), W1 = 14, + 1 product = 15.
    expect(minimal.constraints).toBe(99 + 40 + 14 + 15);
    // Exposing all six values as public outputs: mmNumerator = y K and imNumerator = 3 MM relate public
    // signals only, so those two linear constraints cannot be substituted away (+2); mmRaw and imRaw
    // are linear in private bits, which --O2 substitutes instead (+0).
    expect(bare.constraints).toBe(168 + 2);
  });

  it("equals integerPolicy on the output interval ends, every clamp edge and 0, +-1", async () => {
    const ys = [out.min, out.max, -1n, 0n, 1n];
    for (const m of [
      policy.intervals.mmRaw.min,
      -1n,
      0n,
      1n,
      49n,
      50n,
      51n,
      66n,
      67n,
      68n,
      4999n,
      5000n,
      5001n,
    ]) {
      const [lo, hi] = yRangeFor(m, params);
      ys.push(lo - 1n, lo, lo + 1n, hi - 1n, hi, hi + 1n);
    }
    for (const y of ys) {
      if (y < out.min || y > out.max) continue;
      expect(await policyOf(checked, y), `policy(${y})`).toEqual(expected(policy, y));
    }
  });

  it("equals integerPolicy on 200 seeded random outputs", async () => {
    const rnd = bigRandom(11);
    for (let k = 0; k < 200; k++) {
      const y = rnd.between(out.min, out.max);
      expect(await policyOf(checked, y), `policy(${y})`).toEqual(expected(policy, y));
    }
  });

  it("beyond the output interval: right values or no witness, never a wrong value", async () => {
    // The circuit enforces y in [-2^74, 2^74) and mmRaw in [-104804, 157339]; inside both it is exact.
    const half = 1n << 74n;
    const mmRawMax = params.MM_RAW_MIN + (1n << BigInt(params.MM_RAW_BITS)) - 1n;
    const [qLo] = yRangeFor(params.MM_RAW_MIN, params);
    const [, qHi] = yRangeFor(mmRawMax, params);
    expect(qHi < half - 1n).toBe(true); // the mmRaw window ends first on this side
    expect(await policyOf(checked, qLo - 1n)).toBeUndefined(); // mmRaw = -104805
    expect(await policyOf(checked, qLo)).toEqual(expected(policy, qLo));
    expect(await policyOf(checked, qHi)).toEqual(expected(policy, qHi));
    expect(await policyOf(checked, qHi + 1n)).toBeUndefined(); // mmRaw = 157340
    const rnd = bigRandom(12);
    for (let k = 0; k < 50; k++) {
      const y = rnd.between(-half, half - 1n);
      const e = integerPolicy(policy, y);
      const inWindow = e.mmRaw >= params.MM_RAW_MIN && e.mmRaw <= mmRawMax;
      expect(await policyOf(checked, y)).toEqual(inWindow ? expected(policy, y) : undefined);
    }
    for (const y of [half, -half - 1n, P - half - 1n, (P + 1n) / 2n]) {
      await expectNoWitness(checked, { y }, "RangeCheck");
    }
  });

  it("needs y range-checked upstream: the bare template accepts y = 5000 * 2^85 / K mod p", async () => {
    // This y is no small integer, yet y * K = 5000 * 2^85 in the field: the bare MarginPolicy outputs
    // MM = 5000. The generated circuit must feed y from a decomposition (the checked wrapper refuses).
    const inv = (a: bigint) => {
      let [r, x, b, e] = [1n, toField(a), P - 2n, 0n];
      for (; b > 0n; b >>= 1n, e++) {
        if (b & 1n) r = (r * x) % P;
        x = (x * x) % P;
      }
      return r;
    };
    const y = (toField(5000n << 85n) * inv(params.K)) % P;
    expect(y > 1n << 200n).toBe(true);
    const forged = await policyOf(bare, y);
    expect(forged?.maintenanceMarginBps).toBe(5000n);
    await expectNoWitness(checked, { y }, "RangeCheck");
  });

  describe("forgeries", () => {
    const mmBits = (i: number) => `main.p.tail.mmCeil.f.d.bits[${i}]`;
    const imBits = (i: number) => `main.p.tail.imCeil.f.d.bits[${i}]`;
    const K1 = params.K / 16n;
    const S1 = 81n;
    /** Every input-side signal of the mm ceil for a given y (the linear chain from y to the bits). */
    const yChain = (y: bigint) =>
      Object.fromEntries(
        Object.entries({
          "main.y": y,
          "main.mmNumerator": y * params.K,
          "main.p.tail.numerator": y * K1,
          "main.p.tail.mmCeil.in": y * K1,
          "main.p.tail.mmCeil.f.in": y * K1 + (1n << S1) - 1n,
          "main.p.tail.mmCeil.f.d.in": y * K1 + (1n << S1) - 1n - params.MM_RAW_MIN * (1n << S1),
          // --O1 merges signal-to-signal copies: keep the names that still have a wire.
        }).filter(([name]) => (bareO1.index(name) ?? -1) > 0),
      );
    /** Values of every --O1 signal whose name passes `keep`, read from the honest witness of `y`. */
    async function copied(y: bigint, keep: (name: string) => boolean): Promise<Record<string, bigint>> {
      const w = await bareO1.witness({ y });
      const names = [...readSymbols(bareO1.symPath).index].filter(([n, wire]) => wire > 0 && keep(n));
      return Object.fromEntries(names.map(([n]) => [n, bareO1.read(w, n)]));
    }
    const UPSTREAM_OF_MM_CLAMP = (n: string) =>
      ["main.y", "main.mmNumerator", "main.mmRaw", "main.p.tail.numerator"].includes(n) ||
      n.startsWith("main.p.tail.mmCeil.");
    const UPSTREAM_OF_IM = (n: string) =>
      UPSTREAM_OF_MM_CLAMP(n) || n === "main.maintenanceMarginBps" || n.startsWith("main.p.tail.mmClamp.");

    it("rejects mmRaw + 1 with everything downstream consistent (booleanity of bit 0)", async () => {
      // y has mmRaw = 1000; start from y' (mmRaw = 1001: MM, IM all consistent with it), put y back and
      // absorb (y - y') K' in bit 0 of the remainder.
      const [, y] = yRangeFor(1000n, params);
      const [yp] = yRangeFor(1001n, params);
      await expectForgeryRejected(bareO1, bare, {
        name: "mmRaw(y) = 1001",
        from: { y: yp },
        edits: (r) => ({ ...yChain(y), [mmBits(0)]: r(mmBits(0)) + (y - yp) * K1 }),
        rejectedBy: [mmBits(0)],
      });
    });

    it("rejects mmRaw - 1 (remainder >= 2^S) with everything downstream consistent", async () => {
      const [y] = yRangeFor(1000n, params);
      const [, yp] = yRangeFor(999n, params);
      await expectForgeryRejected(bareO1, bare, {
        name: "mmRaw(y) = 999",
        from: { y: yp },
        edits: (r) => ({ ...yChain(y), [mmBits(0)]: r(mmBits(0)) + (y - yp) * K1 }),
        rejectedBy: [mmBits(0)],
      });
    });

    it("rejects a forged MM lower-clamp flag: mmRaw = 60 clamped to 50 (booleanity of lower bit 0)", async () => {
      // From y' (mmRaw 50, MM 50); mm ceil side taken from y (mmRaw 60); lower side d1 = 10 with the
      // flag (bit 18 of d1 + 2^18, W1 = 19) forced to 0 and bit 0 absorbing +2^18, so u = MIN = 50.
      const [y] = yRangeFor(60n, params);
      const [yp] = yRangeFor(50n, params);
      const up = await copied(y, UPSTREAM_OF_MM_CLAMP);
      const L = (i: number) => `main.p.tail.mmClamp.lower.bits[${i}]`;
      await expectForgeryRejected(bareO1, bare, {
        name: "clamp(60) = 50",
        from: { y: yp },
        edits: () => ({
          ...up,
          "main.p.tail.mmClamp.lower.in": 10n,
          "main.p.tail.mmClamp.lower.rc.in": 10n + (1n << 18n),
          [L(1)]: 1n,
          [L(3)]: 1n,
          [L(18)]: 0n,
          [L(0)]: 1n << 18n,
        }),
        rejectedBy: [L(0)],
      });
    });

    it("rejects a forged MM upper-clamp flag: mmRaw = 4990 clamped to 5000 (booleanity of upper bit 0)", async () => {
      const [y] = yRangeFor(4990n, params);
      const [yp] = yRangeFor(5000n, params);
      const up = await copied(
        y,
        (n) => UPSTREAM_OF_MM_CLAMP(n) || n.startsWith("main.p.tail.mmClamp.lower."),
      );
      const U = (i: number) => `main.p.tail.mmClamp.upper.bits[${i}]`;
      await expectForgeryRejected(bareO1, bare, {
        name: "clamp(4990) = 5000",
        from: { y: yp },
        edits: () => ({
          ...up,
          "main.p.tail.mmClamp.u": 4990n,
          "main.p.tail.mmClamp.upper.in": 10n,
          "main.p.tail.mmClamp.upper.rc.in": 10n + (1n << 18n),
          [U(1)]: 1n,
          [U(3)]: 1n,
          [U(18)]: 0n,
          [U(0)]: 1n << 18n,
        }),
        rejectedBy: [U(0)],
      });
    });

    it("rejects a wrong imRaw quotient: ceil(3 * 1000 / 2) = 1502 (booleanity of bit 0)", async () => {
      // From y' (MM 1001, imRaw 1502); everything up to MM from y (MM 1000); bit 0 absorbs -3.
      const [, y] = yRangeFor(1000n, params);
      const [, yp] = yRangeFor(1001n, params);
      const up = await copied(y, UPSTREAM_OF_IM);
      await expectForgeryRejected(bareO1, bare, {
        name: "imRaw(MM = 1000) = 1502",
        from: { y: yp },
        edits: (r) => ({
          ...up,
          "main.imNumerator": 3000n,
          "main.p.tail.imCeil.in": 3000n,
          "main.p.tail.imCeil.f.in": 3001n,
          "main.p.tail.imCeil.f.d.in": 3001n - 75n * 2n,
          [imBits(0)]: r(imBits(0)) - 3n,
        }),
        rejectedBy: [imBits(0)],
      });
    });

    it("rejects a forged IM clamp flag: imRaw = 75 passed through below IM_MIN (booleanity of bit 0)", async () => {
      // MM = 50: imRaw = 75, IM = 100. Forged: flag (bit 13 of 75 - 100 + 2^13 = 8167) set to 1, bit 0
      // absorbs -2^13, IM = u = 75.
      const [y] = yRangeFor(50n, params);
      const L = (i: number) => `main.p.tail.imClamp.lower.bits[${i}]`;
      await expectForgeryRejected(bareO1, bare, {
        name: "IM = 75",
        from: { y },
        edits: (r) => ({ [L(13)]: 1n, [L(0)]: r(L(0)) - (1n << 13n), "main.initialMarginBps": 75n }),
        rejectedBy: [L(0)],
      });
    });

    it("rejects a forged IM with honest flags (the clamp product)", async () => {
      const [y] = yRangeFor(50n, params);
      await expectForgeryRejected(bareO1, bare, {
        name: "IM = 75, flag honest",
        from: { y },
        edits: () => ({ "main.initialMarginBps": 75n }),
        rejectedBy: ["main.imRaw", "main.initialMarginBps", "main.p.tail.imClamp.lower.bits[13]"],
      });
    });
  });
});

describe("MarginPolicy on synthetic policies", () => {
  const buffered = syntheticModel(
    {
      bufferBps: 1000,
      mmMinBps: 50,
      mmMaxBps: 5000,
      imRatioNum: 6,
      imRatioShift: 2,
      imMinBps: 100,
      imMaxBps: 7000,
      calibrationNum: 40000,
      calibrationShift: 10,
      outputScaleBits: 20,
    },
    26,
  );
  const noIm = syntheticModel(
    {
      bufferBps: 250,
      mmMinBps: 0,
      mmMaxBps: 10000,
      imRatioNum: 0,
      imRatioShift: 0,
      imMinBps: 0,
      imMaxBps: 0,
      calibrationNum: 3,
      calibrationShift: 0,
      outputScaleBits: 12,
    },
    20,
  );
  let bufferedC: TestCircuit;
  let noImC: TestCircuit;

  beforeAll(async () => {
    [bufferedC, noImC] = await Promise.all([
      loadCircuit(wrapper(marginPolicyParams(buffered), true), "PolicySynthBuffered"),
      loadCircuit(wrapper(marginPolicyParams(noIm), true), "PolicySynthNoIm"),
    ]);
  });

  for (const [name, m, get, seed] of [
    ["buffer, K and IM_NUM with factors of 2, active IM upper clamp", buffered, () => bufferedC, 21],
    ["IM_NUM = 0, IM_SHIFT = 0, MM_MIN = 0", noIm, () => noImC, 22],
  ] as const) {
    it(`equals integerPolicy (${name}) on the interval ends, clamp edges and 200 random values`, async () => {
      const p = m.policy;
      const params = marginPolicyParams(m);
      const out = p.intervals.output;
      const ys = [out.min, out.max, -1n, 0n, 1n];
      for (const e of [p.mmMinBps, p.mmMaxBps, 3000, 4667, 4668]) {
        const [lo, hi] = yRangeFor(BigInt(e), params);
        ys.push(lo - 1n, lo, hi, hi + 1n);
      }
      const rnd = bigRandom(seed);
      for (let k = 0; k < 200; k++) ys.push(rnd.between(out.min, out.max));
      const c = get();
      for (const y of ys) {
        if (y < out.min || y > out.max) continue;
        expect(await policyOf(c, y), `policy(${y})`).toEqual(expected(p, y));
      }
    });
  }

  it("reaches the IM upper clamp in the buffered policy", () => {
    const [y] = yRangeFor(5000n, marginPolicyParams(buffered));
    expect(integerPolicy(buffered.policy, y).initialMarginBps).toBe(7000n);
  });
});
