/**
 * Soundness of what is not a `<--` hint (templates-*.test.ts pin those): the properties of signals, keys and
 * layouts that no other suite pins. Each test says what it pins and why it matters.
 *
 * - MarginPolicyPrivateK (circuits/lib/policy.circom), the policy of every committed and adaptive circuit: y and k
 *   come in with `<==` and are range-checked inside the template, which is what makes y * k the integer product.
 *   Pinned with the production instances (committed architecture, adaptive architecture): agreement with
 *   `integerPolicy`, refusals just outside both ranges, and, on a copy without the two checks, the forgery they
 *   stop (a k or y near p whose field product with the other is a chosen small numerator).
 * - PublisherSignature (circuits/lib/publisher-quorum.circom): a registered key of small order would let anyone
 *   "sign" (8A is the identity, so S B8 = R8 + h 8A holds for R8 = S B8). The circuit refuses all eight such keys
 *   by circomlib's not-identity test on x(4A), with enabled tied to 1; pinned here with the forged signature.
 * - The signed-update circuit's constraint system, plain and adaptive: every input wire is constrained, and the only wires that occur
 *   in a single constraint non-linearly (the shape of a free hint) are IsZero inverses, which are free only where
 *   they multiply 0; the only wires in no constraint at all are the EdDSA equality checks' IsZero inverses, which
 *   is what `enabled` being the constant 1 looks like in the r1cs.
 * - contracts/PublicSignals.sol: every constant equals the TypeScript layout it mirrors (statement.ts,
 *   batch-statement.ts, public-signals.ts, the bar interval and horizon), so the oracle unpacks what the circuit
 *   packs (the real-proof suites exercise only some fields: batches above 4 markets, for instance, run on stand-ins).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  FIELD_MODULUS as P,
  loadCircuit,
  readR1cs,
  readSymbols,
  witnessFailure,
  type TestCircuit,
} from "../helpers/circuits";
import { expectNoWitness } from "../helpers/circuits/expect";
import { adaptivePolicyArchitecture } from "../../circuits/adaptive-params";
import { architectureOf, privateKPolicyArgs, type Architecture } from "../../circuits/architecture";
import { BATCH_PACKING } from "../../circuits/batch-statement";
import { generateUpdateCircuit } from "../../circuits/generate-update-circuit";
import { UPDATE_SIGNAL_INDEX, UPDATE_SIGNALS } from "../../circuits/public-signals";
import { ADAPTIVE_UPDATE_PACKING, UPDATE_PACKING } from "../../circuits/statement";
import { MAX_BATCH_MARKETS } from "../../candles/batch-digest";
import { poseidon } from "../../crypto/poseidon";
import { FEATURE_INTERVAL_MS } from "../../features/window-features";
import { loadCalibrations } from "../../models/market-calibrations";
import { integerPolicy } from "../../models/integer-engine";
import { loadQuantizedModel } from "../../models/quantized-model";
import { MAX_OUTCOME_LAG, TARGET_HORIZON_BARS } from "../../models/target";
import {
  addPoints,
  BASE8,
  IDENTITY,
  isOnCurve,
  mulPoint,
  pointsEqual,
  publicKeyOf,
  signDigest,
  SUBGROUP_ORDER,
  type CurvePoint,
} from "../../publisher";

const ROOT = join(__dirname, "../..");
const model = loadQuantizedModel(join(ROOT, "models/btc-usdt-2h.quantized.json"));
const RULE = loadCalibrations(join(ROOT, "models/calibrations.json")).adaptive;

// ------------------------------------------------------------------------------------ MarginPolicyPrivateK

/** MarginPolicyPrivateK(arch) with y and k public inputs and MM, IM outputs. */
function privateKSource(arch: Architecture): string {
  return [
    "pragma circom 2.1.0;",
    'include "policy.circom";',
    "template Wrap() {",
    "    signal input y;",
    "    signal input k;",
    "    signal output mm;",
    "    signal output im;",
    `    component p = MarginPolicyPrivateK(${privateKPolicyArgs(arch)});`,
    "    p.y <== y;",
    "    p.k <== k;",
    "    mm <== p.maintenanceMarginBps;",
    "    im <== p.initialMarginBps;",
    "}",
    "component main {public [y, k]} = Wrap();",
    "",
  ].join("\n");
}

/**
 * The same template body without its two range checks (yRange, kRange): MarginFromNumerator on y * k. Test-only,
 * to show what the checks stop.
 */
function uncheckedSource(arch: Architecture): string {
  const args = privateKPolicyArgs(arch).split(", ").slice(2).join(", ");
  return [
    "pragma circom 2.1.0;",
    'include "policy.circom";',
    "template Wrap() {",
    "    signal input y;",
    "    signal input k;",
    "    signal output mm;",
    "    signal output im;",
    "    signal numerator;",
    "    numerator <== y * k;",
    `    component t = MarginFromNumerator(${args});`,
    "    t.numerator <== numerator;",
    "    mm <== t.maintenanceMarginBps;",
    "    im <== t.initialMarginBps;",
    "}",
    "component main {public [y, k]} = Wrap();",
    "",
  ].join("\n");
}

/** The inverse of a nonzero field element (Fermat). */
function inverse(a: bigint): bigint {
  let result = 1n;
  let base = ((a % P) + P) % P;
  let e = P - 2n;
  while (e > 0n) {
    if (e & 1n) result = (result * base) % P;
    base = (base * base) % P;
    e >>= 1n;
  }
  return result;
}

/**
 * The production instances: `top` is the largest calibrationNum the architecture's mmRaw window is sized for
 * (architectureOf: the calibration budget; adaptivePolicyArchitecture: the rule's maxNum).
 */
const PRIVATE_K_CASES = [
  {
    name: "committed architecture (the shipped model's)",
    arch: architectureOf(model),
    top: (1n << BigInt(architectureOf(model).policy.calibrationBits)) - 1n,
    id: "PrivateKCommitted",
  },
  {
    name: "adaptive architecture (the shipped rule, scales up to 4.0)",
    arch: adaptivePolicyArchitecture(architectureOf(model), RULE),
    top: BigInt(RULE.maxNum),
    id: "PrivateKAdaptive",
  },
] as const;

describe.each(PRIVATE_K_CASES)("MarginPolicyPrivateK, $name", ({ arch, top, id }) => {
  let checked: TestCircuit;
  let unchecked: TestCircuit;
  const p = arch.policy;
  const yMin = -(1n << BigInt(p.yBits - 1));
  const yMax = (1n << BigInt(p.yBits - 1)) - 1n;
  const factor = BigInt(10000 + p.bufferBps);

  beforeAll(async () => {
    [checked, unchecked] = await Promise.all([
      loadCircuit(privateKSource(arch), id),
      loadCircuit(uncheckedSource(arch), `${id}Unchecked`),
    ]);
  });

  const margins = async (c: TestCircuit, y: bigint, k: bigint) => {
    const w = await c.witness({ y, k });
    return { mm: c.read(w, "main.mm"), im: c.read(w, "main.im") };
  };

  it("equals integerPolicy for y across its range and k = calibrationNum * (10000 + buffer) across its range", async () => {
    const ys = [yMin, yMin + 1n, -1n, 0n, 1n, 12345n, yMax - 1n, yMax];
    const calibrations = [1n, BigInt(model.policy.calibrationNum), top];
    for (const calibrationNum of calibrations) {
      for (const y of ys) {
        const expected = integerPolicy({ ...model.policy, calibrationNum: Number(calibrationNum) }, y);
        const got = await witnessFailure(checked, { y, k: calibrationNum * factor });
        if (got !== undefined) {
          // Outside the architecture's mmRaw window there may be no witness (never a wrong one): the committed
          // architecture's window is the analysed y interval's, narrower than the yBits range at its ends. The
          // adaptive architecture's is computed for the whole yBits range, so it must always have one.
          const nearZero = y > -(1n << 20n) && y < 1n << 20n;
          expect(
            id === "PrivateKCommitted" && !nearZero,
            `y ${y} calibrationNum ${calibrationNum}: ${got}`,
          ).toBe(true);
          continue;
        }
        expect(
          await margins(checked, y, calibrationNum * factor),
          `y ${y}, calibrationNum ${calibrationNum}`,
        ).toEqual({ mm: expected.maintenanceMarginBps, im: expected.initialMarginBps });
      }
    }
  });

  it("keeps MM and IM inside the policy's clamps (so the packed update's fields cannot overflow)", async () => {
    for (const y of [yMin, 0n, yMax]) {
      for (const k of [1n, top * factor]) {
        if ((await witnessFailure(checked, { y, k })) !== undefined) continue;
        const { mm, im } = await margins(checked, y, k);
        expect(mm >= BigInt(p.mmMinBps) && mm <= BigInt(p.mmMaxBps)).toBe(true);
        expect(im >= BigInt(p.imMinBps) && im <= BigInt(p.imMaxBps)).toBe(true);
        expect(mm < 1n << 14n && im < 1n << 14n).toBe(true);
      }
    }
  });

  it("has no witness for y or k just outside their ranges (yRange, kRange)", async () => {
    const k = BigInt(model.policy.calibrationNum) * factor;
    await expectNoWitness(checked, { y: yMax + 1n, k }, "RangeCheck");
    await expectNoWitness(checked, { y: yMin - 1n, k }, "RangeCheck");
    await expectNoWitness(checked, { y: 1n, k: 0n }, "RangeCheck");
    await expectNoWitness(checked, { y: 1n, k: (1n << BigInt(p.kBits)) + 1n }, "RangeCheck");
    await expectNoWitness(checked, { y: 1n, k: P - 1n }, "RangeCheck");
  });

  it("needs both range checks: without them a k (or y) near p gives any chosen margin", async () => {
    // The numerator of a chosen MM: ceil(numerator / 2^mmShift) = target, and not a multiple of 3, so
    // numerator / 3 mod p is a field element near p, not the small integer it would have to be.
    const target = BigInt(p.mmMaxBps) - 1n;
    let numerator = target << BigInt(p.mmShift);
    if (numerator % 3n === 0n) numerator -= 1n;
    const forgedK = (numerator * inverse(3n)) % P;
    const forgedY = forgedK;
    expect(forgedK > 1n << 250n, "the forged factor is not a small integer").toBe(true);
    // The copy without the checks accepts both forgeries, with the chosen MM ...
    expect((await margins(unchecked, 3n, forgedK)).mm).toBe(target);
    expect((await margins(unchecked, forgedY, 3n)).mm).toBe(target);
    // ... which the template refuses: k near p fails kRange, y near p fails yRange.
    await expectNoWitness(checked, { y: 3n, k: forgedK }, "RangeCheck");
    await expectNoWitness(checked, { y: forgedY, k: 3n }, "RangeCheck");
  });
});

// ------------------------------------------------------------------------------------ PublisherSignature

/** circomlib's `Generator` of BabyJubJub (order 8 l): l times it is a point of order 8. */
const GENERATOR: CurvePoint = {
  x: 995203441582195749578291179787384436505546430278305826713579947235728471134n,
  y: 5472060717959818805561601436314318772137091100104008585924551046643952123905n,
};

/** The line (1-based) of `statement` in `file`. */
function lineOf(file: string, statement: string): number {
  const i = readFileSync(file, "utf8")
    .split("\n")
    .findIndex((l) => l.trim() === statement);
  if (i < 0) throw new Error(`${file}: no line ${statement}`);
  return i + 1;
}

describe("PublisherSignature: keys of small order", () => {
  let circuit: TestCircuit;
  const EDDSA_FILE = createRequire(__filename).resolve("circomlib/circuits/eddsaposeidon.circom");
  const NOT_IDENTITY = new RegExp(
    `Assert Failed\\.\\nError in template EdDSAPoseidonVerifier_\\d+ line: ${lineOf(EDDSA_FILE, "isZero.out*enabled === 0;")}\\n`,
  );
  const torsion8 = mulPoint(GENERATOR, SUBGROUP_ORDER);
  /** The 8 points of order dividing 8: k T for k = 0 .. 7 (k = 0 the identity). */
  const smallOrder = Array.from({ length: 8 }, (_, k) => mulPoint(torsion8, BigInt(k)));
  const M = 1234567890123456789n;

  beforeAll(async () => {
    const source = [
      "pragma circom 2.1.0;",
      'include "publisher-quorum.circom";',
      "component main {public [M, Ax, Ay]} = PublisherSignature();",
      "",
    ].join("\n");
    circuit = await loadCircuit(source, "PublisherSignatureAlone");
  });

  it("the eight points are on the curve, of order dividing 8, all different, and T of order exactly 8", () => {
    expect(smallOrder.every(isOnCurve)).toBe(true);
    expect(pointsEqual(smallOrder[0], IDENTITY)).toBe(true);
    expect(pointsEqual(mulPoint(torsion8, 4n), IDENTITY)).toBe(false);
    expect(pointsEqual(mulPoint(torsion8, 8n), IDENTITY)).toBe(true);
    expect(new Set(smallOrder.map((t) => `${t.x},${t.y}`)).size).toBe(8);
  });

  it("accepts a real signature (the control)", async () => {
    const prv = new Uint8Array(32).fill(7);
    const key = await publicKeyOf(prv);
    const sig = await signDigest(prv, M);
    const w = await circuit.witness({ M, Ax: key.Ax, Ay: key.Ay, R8x: sig.R8x, R8y: sig.R8y, S: sig.S });
    expect(circuit.violated(w)).toEqual([]);
  });

  it("ties enabled to 1 in the r1cs: the equality checks' IsZero inverses are its only wires in no constraint", async () => {
    // ForceEqualIfEnabled: (1 - isz.out) * enabled === 0. With enabled the constant 1 the optimiser fixes
    // isz.out = 1, hence in[1] - in[0] = 0, and the inverse only ever multiplies 0: editing it changes nothing.
    const r1cs = readR1cs(circuit.r1csPath);
    const used = new Set<number>();
    for (const { a, b, c } of r1cs.constraints) for (const lc of [a, b, c]) for (const [w] of lc) used.add(w);
    const { wireNames } = readSymbols(circuit.symPath);
    const unused = Array.from({ length: r1cs.nWires - 1 }, (_, i) => i + 1)
      .filter((w) => !used.has(w))
      .map((w) => wireNames.get(w)?.[0]);
    expect(unused.sort()).toEqual(["main.verify.eqCheckX.isz.inv", "main.verify.eqCheckY.isz.inv"]);
    expect(circuit.index("main.verify.eqCheckX.enabled")).toBe(-1);

    const prv = new Uint8Array(32).fill(9);
    const key = await publicKeyOf(prv);
    const sig = await signDigest(prv, M);
    const w = await circuit.witness({ M, Ax: key.Ax, Ay: key.Ay, R8x: sig.R8x, R8y: sig.R8y, S: sig.S });
    const edited = circuit.edit(w, {
      "main.verify.eqCheckX.isz.inv": 5n,
      "main.verify.eqCheckY.isz.inv": P - 7n,
    });
    expect(circuit.violated(edited)).toEqual([]);
  });

  it("refuses every key of small order with the forgery R8 = S B8 that the cofactored equation accepts", async () => {
    const S = 31415926535897932384626433832795028841971n;
    const R8 = mulPoint(BASE8, S);
    for (const [k, A] of smallOrder.entries()) {
      // The forgery satisfies S B8 = R8 + h (8 A): 8 A is the identity, whatever h is.
      const h = poseidon([R8.x, R8.y, A.x, A.y, M]);
      const right = addPoints(R8, mulPoint(mulPoint(A, 8n), h));
      expect(pointsEqual(mulPoint(BASE8, S), right), `equation for ${k} T`).toBe(true);
      // The circuit refuses it at `isZero.out*enabled === 0` (x(4A) = 0), not later.
      const msg = await witnessFailure(circuit, { M, Ax: A.x, Ay: A.y, R8x: R8.x, R8y: R8.y, S });
      expect(msg, `key ${k} T`).toMatch(NOT_IDENTITY);
    }
  });
});

// ------------------------------------------------------------------------------------ constraint system

describe("signed-update circuit (quorum 1, constant weights): no free wire", () => {
  // the plain circuit, and the adaptive one (whose one-hot of the lag is a hint, pinned in
  // templates-adaptive.test.ts; its e_j each occur in their booleanity and the selection's products)
  it.each([
    ["plain", "signed_update_k1_constant", {}],
    ["adaptive", "signed_update_k1_constant_adaptive", { adaptive: RULE }],
  ] as const)(
    "%s: constrains every input wire; the wires used once non-linearly, or never, are IsZero inverses",
    async (_kind, name, options) => {
      const generated = await generateUpdateCircuit(model, "constant", 1, undefined, options);
      const c = await loadCircuit(generated.source, name);
      const r1cs = readR1cs(c.r1csPath);
      const { wireNames } = readSymbols(c.symPath);
      const uses = new Array<number>(r1cs.nWires).fill(0);
      const nonLinear = new Array<boolean>(r1cs.nWires).fill(false);
      for (const { a, b, c: lc } of r1cs.constraints) {
        const seen = new Set<number>();
        for (const [w] of a) {
          seen.add(w);
          if (b.length > 0) nonLinear[w] = true;
        }
        for (const [w] of b) {
          seen.add(w);
          if (a.length > 0) nonLinear[w] = true;
        }
        for (const [w] of lc) seen.add(w);
        for (const w of seen) uses[w]++;
      }
      expect(r1cs.nPubOut).toBe(UPDATE_SIGNALS.length);
      const inputs = r1cs.nPubOut + r1cs.nPubIn + r1cs.nPrvIn;
      const unused: string[] = [];
      const freeShaped: string[] = [];
      for (let w = 1; w < r1cs.nWires; w++) {
        const name = wireNames.get(w)?.[0] ?? `wire${w}`;
        if (uses[w] === 0) unused.push(name);
        else if (w > inputs && uses[w] === 1 && nonLinear[w] && !/\.inv$/.test(name)) freeShaped.push(name);
      }
      // The two wires in no constraint are the inverses of ForceEqualIfEnabled's IsZero in the EdDSA verifier:
      // enabled is the constant 1, so the optimiser fixes isz.out = 1 and in[1] - in[0] = 0, and the inverse is then
      // multiplied by 0 (harmless). Were enabled a wire, they would be constrained.
      expect(unused.sort()).toEqual([
        "main.publishers.signature[0].verify.eqCheckX.isz.inv",
        "main.publishers.signature[0].verify.eqCheckY.isz.inv",
      ]);
      expect(freeShaped).toEqual([]);
    },
    600_000,
  );
});

// ------------------------------------------------------------------------------------ PublicSignals.sol

describe("contracts/PublicSignals.sol mirrors the TypeScript layouts", () => {
  const source = readFileSync(join(ROOT, "contracts/PublicSignals.sol"), "utf8");
  const constants = new Map<string, bigint>();
  for (const m of source.matchAll(/uint256 internal constant (\w+) = (\d+);/g))
    constants.set(m[1], BigInt(m[2]));
  const A = ADAPTIVE_UPDATE_PACKING;
  const U = UPDATE_PACKING;
  const B = BATCH_PACKING;
  const expected: Record<string, number> = {
    BATCH_MAX_MARKETS: MAX_BATCH_MARKETS,
    BATCH_TIMESTAMP_BITS: B.timestampBits,
    BATCH_DIGEST_SHIFT: B.digestShift,
    BATCH_DIGEST_BITS: B.digestBits,
    BATCH_MARKETS_SHIFT: B.marketsShift,
    BATCH_MARGIN_BITS: B.marginBits,
    BATCH_MARKET_BITS: B.marketBits,
    BATCH_FIRST_SIGNAL_MARKETS: B.firstSignalMarkets,
    BATCH_SIGNAL_MARKETS: B.signalMarkets,
    PACKED_INITIAL_MARGIN_SHIFT: U.imShift,
    PACKED_DATA_TIMESTAMP_SHIFT: U.timestampShift,
    UPDATE_COUNT: UPDATE_SIGNALS.length,
    UPDATE_PACKED: UPDATE_SIGNAL_INDEX.update,
    UPDATE_STATEMENT: UPDATE_SIGNAL_INDEX.statement,
    UPDATE_TIMESTAMP_BITS: U.timestampBits,
    UPDATE_DIGEST_SHIFT: U.digestShift,
    UPDATE_DIGEST_BITS: U.digestBits,
    UPDATE_BITS: U.bits,
    ADAPTIVE_UPDATE_BITS: A.bits,
    ADAPTIVE_PRIOR_SHIFT: A.numShift,
    ADAPTIVE_PRIOR_BITS: A.numBits + A.outcomesBits + A.marginSBits + A.lagBits,
    ADAPTIVE_NEW_NUM_SHIFT: A.newNumShift,
    ADAPTIVE_DIGEST_SHIFT: A.digestShift,
    ADAPTIVE_NUM_BITS: A.numBits,
    ADAPTIVE_OUTCOMES_BITS: A.outcomesBits,
    ADAPTIVE_MARGIN_BITS: A.marginSBits,
    ADAPTIVE_HORIZON_BARS: TARGET_HORIZON_BARS,
    ADAPTIVE_MAX_LAG: MAX_OUTCOME_LAG,
    ADAPTIVE_RING_BARS: TARGET_HORIZON_BARS + MAX_OUTCOME_LAG + 1,
    ADAPTIVE_BAR_SECONDS: FEATURE_INTERVAL_MS / 1000,
  };

  it("has exactly the constants listed here, each equal to its TypeScript value", () => {
    expect([...constants.keys()].sort()).toEqual(Object.keys(expected).sort());
    for (const [name, value] of Object.entries(expected))
      expect(constants.get(name), name).toBe(BigInt(value));
  });

  it("reads the adaptive parts where the circuit writes them: the prior, then new num and new outcomes adjacent", () => {
    // The oracle reads the prior as one 56-bit field at ADAPTIVE_PRIOR_SHIFT (num, outcomes, MM_s, lag from bit 0)
    // and the new outcomes at ADAPTIVE_NEW_NUM_SHIFT + ADAPTIVE_NUM_BITS (RiskOracle `_nextAdaptiveState`).
    expect(A.outcomesShift).toBe(A.numShift + A.numBits);
    expect(A.marginSShift).toBe(A.outcomesShift + A.outcomesBits);
    expect(A.lagShift).toBe(A.marginSShift + A.marginSBits);
    expect(A.newNumShift).toBe(A.lagShift + A.lagBits);
    expect(A.newOutcomesShift).toBe(A.newNumShift + A.numBits);
    expect(A.digestShift).toBe(A.newOutcomesShift + A.outcomesBits);
    expect(A.digestShift + A.digestBits).toBe(A.bits);
    expect(U.digestShift + U.digestBits).toBe(U.bits);
    // Both layouts stay below r > 2^253, so the field element is the integer the oracle unpacks.
    expect(1n << BigInt(A.bits)).toBeLessThan(P);
  });
});
