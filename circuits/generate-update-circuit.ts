/**
 * The signed-update circuit: one proof from publishers' signatures to margins. It proves that
 *
 *   1. the window (the closes and volumes of 85 bars, the highs and lows of the last 24, its market and its
 *      end) hashes to the window digest (candles/digest.ts, layout v3);
 *   2. K distinct publishers of a committed publisher set signed that digest (PublisherQuorum);
 *   3. the features of the window are what features/window-features.ts computes (WindowFeatures, on the
 *      closes, the volumes and the highs and lows of the last 12 bars);
 *   4. the model and the margin policy give MM and IM from those features (as generate-circuit.ts);
 *
 * and it outputs the two public signals of `UPDATE_SIGNALS` (public-signals.ts): the packed update (MM, IM,
 * the data timestamp and the window digest's low 180 bits) and the statement key over the market, the model,
 * the publisher set and the domain (statement.ts). Nothing else is public: the candles, keys and signatures
 * are private inputs, bound by the digest, the set commitment and the statement key.
 *
 * Why the low 180 bits of the digest are enough (the layout is in statement.ts): the signatures checked in
 * step 2 are over the FULL digest, so the truncation weakens nothing the proof binds; the public 180 bits only
 * locate the window for auditors. Another window with the same 180 bits costs about 2^180 hashes (second
 * preimage), two windows with equal 180 bits about 2^90 (collision), and a quorum that wanted two windows for
 * one update could sign both anyway. FieldLowBits takes the bits of the digest's canonical integer, so the
 * prover has no second choice (x and x + p).
 *
 * The window's end is the private input `dataTimestamp` in seconds; the digest absorbs it in milliseconds
 * (times 1000, a linear term), so a window must end on a whole second, and a range check keeps it below
 * 2^40 for the packing.
 *
 * Cost at --O2 with the shipped model (measured; pinned in test/circuits/signed-update-circuit.test.ts):
 *
 *   part                                   K = 1, constant   K = 1, committed   each further signature
 *   window digest (PoseidonSponge(223))              9,051              9,051
 *   digest's low 180 bits (FieldLowBits(180))          511                511
 *   signatures (PublisherQuorum(K))                  5,157              5,157                   +4,233
 *   features (WindowFeatures)                        6,818              6,818
 *   model and policy                                   844              3,796
 *   statement key (PoseidonSponge(5))                  345                348
 *   timestamp range check                               40                 40
 *   total                                           22,766             25,721
 *
 * The digest's 15 permutations are 40 % of it: every signed value costs about 41 constraints. Its 223 elements
 * (layout v3: 5 + 2 x 85 + 2 x 24) are 14 Poseidon(16) of 609 and one Poseidon(14) of 537, less 12: the first
 * permutation's constant inputs (the length, the tag, the interval, N) have their first S-box (3 constraints
 * each) computed at compile time. Layout v2's 199 elements (highs and lows of 12 bars) cost 8,226, one
 * Poseidon(16) less and a Poseidon(5) for the Poseidon(14), and the whole circuit 21,941 (constant) and 24,896
 * (committed). The features read 12 of the 24 highs and lows and the adaptive rule (option `adaptive`) 23: wires,
 * no constraint.
 */
import type { QuantizedModel } from "../models/quantized-model";
import { WINDOW_BARS, WINDOW_RANGE_BARS } from "../candles/window";
import { architectureOf, type Architecture } from "./architecture";
import {
  emitInference,
  emitModelCommitment,
  emitWeightInputs,
  type GeneratedCircuit,
  type WeightMode,
} from "./generate-circuit";
import { UPDATE_SIGNALS } from "./public-signals";
import { ADAPTIVE_UPDATE_PACKING, STATEMENT_TAG, UPDATE_PACKING } from "./statement";
import { checkAdaptiveHorizon, type AdaptiveRule } from "../models/adaptive";
import { MAX_OUTCOME_LAG, TARGET_HORIZON_BARS } from "../models/target";
import {
  ADAPTIVE_BARS,
  adaptivePolicyArchitecture,
  adaptiveStateWidths,
  emitAdaptiveBars,
  emitAdaptiveCalibration,
} from "./adaptive-params";
import { modelCommitment } from "./commitments";
import {
  checkSignedCircuitParameters,
  emitPublisherInputs,
  emitFeatureInputs,
  emitQuorum,
  emitWindowDigest,
  WINDOW_DIGEST_LENGTH,
} from "./signed-circuit-parts";

export { WINDOW_DIGEST_LENGTH } from "./signed-circuit-parts";

/** A generated signed-update circuit. */
export interface GeneratedUpdateCircuit extends GeneratedCircuit {
  /** Signatures the circuit checks (the publisher set's quorum). */
  quorum: number;
  /** The adaptive rule the circuit runs, if any (its update is then `packAdaptiveUpdate`'s layout). */
  adaptive?: AdaptiveRule;
}

/** Options of the signed-update circuit. */
export interface UpdateCircuitOptions {
  /**
   * Prove the adaptive calibration (issue 12, part 3): the state (num, outcomes), bar s's accepted MM and its
   * lag are private inputs that the packed update states (`ADAPTIVE_UPDATE_PACKING`, the oracle compares them
   * with its storage), the circuit steps the state by the outcome of bar s = t - 12 - lag in the signed window
   * (circuits/lib/adaptive.circom), the margins use the new state's calibrationNum, and the update states
   * the new state. The model commitment still hashes the model file's own calibration (committed mode),
   * which is the market's initial state: the oracle registers num = calibrationNum * 2^8.
   */
  adaptive?: AdaptiveRule;
}

/**
 * Write the signed-update circuit of `model` for publisher sets of quorum `quorum`.
 * @throws RangeError for a quorum outside [1, PUBLISHER_SET_MAX_KEYS].
 */
export async function generateUpdateCircuit(
  model: QuantizedModel,
  mode: WeightMode,
  quorum: number,
  architecture: Architecture = architectureOf(model),
  options: UpdateCircuitOptions = {},
): Promise<GeneratedUpdateCircuit> {
  checkSignedCircuitParameters(model, mode, quorum, architecture);
  const { adaptive } = options;
  if (adaptive !== undefined) checkAdaptiveFits(adaptive, model);
  const N = WINDOW_BARS;
  const R = WINDOW_RANGE_BARS;
  const K = quorum;
  const out: string[] = [];
  const line = (s = "") => out.push(s);

  line("pragma circom 2.1.0;");
  line("");
  line("// GENERATED by zkrisk (circuits/generate-update-circuit.ts). Do not edit: regenerate it.");
  line(
    `// Signed update: ${K} publisher signature(s) -> window digest -> features -> ${mode} model -> policy` +
      (adaptive === undefined ? "." : ", with the adaptive calibration."),
  );
  const libs = [
    ...(adaptive === undefined ? [] : ["adaptive"]),
    "range",
    "field-bits",
    "fixed-point",
    "policy",
    "commitment",
    "window-features",
    "publisher-quorum",
  ];
  for (const lib of libs) {
    line(`include "${lib}.circom";`);
  }
  line("");
  line("template ZkriskSignedUpdate() {");
  line("    // Public signals, in the order of UPDATE_SIGNALS in circuits/public-signals.ts (all outputs).");
  for (const name of UPDATE_SIGNALS) line(`    signal output ${name};`);
  line("");
  line(
    "    // The window (candles/window.ts): closes and volumes of every bar, highs and lows of the range part.",
  );
  line("    signal input marketId;");
  line("    signal input dataTimestamp; // open time of the last bar, seconds");
  line(`    signal input close[${N}];`);
  line(`    signal input volume[${N}];`);
  line(`    signal input high[${R}];`);
  line(`    signal input low[${R}];`);
  line("    // The publisher set (publisher/publisher-set.ts) and the quorum's signatures of the digest.");
  emitPublisherInputs(line, K);
  line("    // The oracle's domain (prover/domain.ts), bound by the statement key.");
  line("    signal input domain;");
  emitWeightInputs(line, model, mode);
  if (adaptive !== undefined) {
    line(
      "    // The adaptive state before the update, the accepted MM of the pending outcome's bar s (0: none) and",
    );
    line(
      `    // its lag (s = t - ${TARGET_HORIZON_BARS} - lag, lag in [0, ${MAX_OUTCOME_LAG}]), as the oracle holds them.`,
    );
    line("    signal input stateNum;");
    line("    signal input stateOutcomes;");
    line("    signal input marginS;");
    line("    signal input lag;");
  }

  line("");
  line(`    // The end fits the packing: dataTimestamp < 2^${UPDATE_PACKING.timestampBits}.`);
  line(`    component timestampRange = RangeCheck(${UPDATE_PACKING.timestampBits});`);
  line("    timestampRange.in <== dataTimestamp;");
  line("");
  line(`    // 1. The window digest (candles/digest.ts, layout v3): ${WINDOW_DIGEST_LENGTH} elements.`);
  emitWindowDigest(line, { target: "digest", of: "", indent: "    ", declare: true });
  line("");
  const digestBitCount =
    adaptive === undefined ? UPDATE_PACKING.digestBits : ADAPTIVE_UPDATE_PACKING.digestBits;
  line(`    // The digest's low ${digestBitCount} bits for the packed update (statement.ts).`);
  line(`    component digestBits = FieldLowBits(${digestBitCount});`);
  line("    digestBits.in <== digest.out;");
  line("");
  line(`    // 2. ${K} signature(s) of the digest by distinct keys of the committed publisher set.`);
  emitQuorum(line, K, "digest.out");
  line("");
  line("    // 3. The features of the window (features/window-features.ts).");
  line("    component features = WindowFeatures();");
  emitFeatureInputs(line, { target: "features", of: "", indent: "    " });
  let calibration: string | undefined;
  let policyArchitecture = architecture;
  if (adaptive !== undefined) {
    const H = TARGET_HORIZON_BARS;
    line("");
    line(
      `    // 3b. The adaptive calibration: the outcome of bar s = t - ${H} - lag (close[${N - 1 - H} - lag]) over bars`,
    );
    line(
      `    // s+1..s+${H}, read from the window's last ${ADAPTIVE_BARS} bars, one annealed step, and this update's calibrationNum.`,
    );
    emitAdaptiveCalibration(line, adaptive, "adaptive");
    line("    adaptive.num <== stateNum;");
    line("    adaptive.outcomes <== stateOutcomes;");
    line("    adaptive.mmS <== marginS;");
    line("    adaptive.lag <== lag;");
    emitAdaptiveBars(line, "adaptive");
    calibration = "adaptive.calibrationNum";
    policyArchitecture = adaptivePolicyArchitecture(architecture, adaptive);
  }
  const margins = emitInference(
    line,
    model,
    mode,
    policyArchitecture,
    (i) => `features.features[${i}]`,
    "",
    calibration,
  );
  line("");
  const commitment = await emitModelCommitment(line, model, mode);
  line("");
  line("    // The statement key (circuits/statement.ts).");
  line("    component statementHash = PoseidonSponge(5);");
  line(`    statementHash.in[0] <== ${STATEMENT_TAG};`);
  line("    statementHash.in[1] <== marketId;");
  line(`    statementHash.in[2] <== ${commitment};`);
  line("    statementHash.in[3] <== publishers.setCommitment;");
  line("    statementHash.in[4] <== domain;");
  line("    statement <== statementHash.out;");
  line("");
  const P = UPDATE_PACKING;
  const margins72 =
    `${margins.mm} + ${margins.im} * ${1n << BigInt(P.imShift)} + ` +
    `dataTimestamp * ${1n << BigInt(P.timestampShift)}`;
  line(
    "    // MM and IM are below 2^16 by the policy's clamps, the timestamp below 2^40 (range-checked above).",
  );
  if (adaptive === undefined) {
    line(
      "    // The packed update (circuits/statement.ts): the digest bits below 2^180: 252 bits, no overlap.",
    );
    line(`    update <== ${margins72} + digestBits.out * ${1n << BigInt(P.digestShift)};`);
  } else {
    const A = ADAPTIVE_UPDATE_PACKING;
    const at = (shift: number) => 1n << BigInt(shift);
    line(
      "    // The adaptive layout (statement.ts ADAPTIVE_UPDATE_PACKING): the state before (range-checked by",
    );
    line(
      "    // AdaptiveCalibration: num < 2^27, outcomes <= its cap < 2^11, marginS < 2^14, lag <= 11 < 2^4 by its",
    );
    line(
      "    // one-hot), the state after (num in the clamp or unchanged, outcomes <= the cap), the digest's low",
    );
    line(`    // ${A.digestBits} bits: ${A.bits} bits, no overlap.`);
    line(
      `    update <== ${margins72} + stateNum * ${at(A.numShift)} + stateOutcomes * ${at(A.outcomesShift)} + ` +
        `marginS * ${at(A.marginSShift)} + lag * ${at(A.lagShift)} + adaptive.newNum * ${at(A.newNumShift)} + ` +
        `adaptive.newOutcomes * ${at(A.newOutcomesShift)} + digestBits.out * ${at(A.digestShift)};`,
    );
  }
  line("}");
  line("");
  line("component main = ZkriskSignedUpdate();");
  return {
    mode,
    source: out.join("\n") + "\n",
    modelCommitment: await modelCommitment(model),
    quorum: K,
    ...(adaptive === undefined ? {} : { adaptive }),
  };
}

/**
 * Check that the state of `rule` fits the adaptive packing (num below 2^numBits, outcomes below
 * 2^outcomesBits, the largest lag below 2^lagBits), that every bar s = t - 12 - lag and its 12 bars after it lie
 * inside the window with the highs and lows of those 12 bars signed (its range part, candles/window.ts), and that
 * the policy's MM floor is at least 1 bps: the rule reads an accepted MM of 0 as "no
 * pending outcome", so a margin of 0 could never count as breached.
 * @throws RangeError naming the width or the constant at fault
 */
export function checkAdaptiveFits(
  rule: AdaptiveRule,
  model: { targetHorizonBars: number; policy: { mmMinBps: number } },
): void {
  checkAdaptiveHorizon(model);
  if (model.policy.mmMinBps < 1) {
    throw new RangeError(
      `the adaptive rule reads an accepted MM of 0 as "no update for that bar": policy.mmMinBps must be at ` +
        `least 1, this model's is ${model.policy.mmMinBps}`,
    );
  }
  const w = adaptiveStateWidths(rule);
  const A = ADAPTIVE_UPDATE_PACKING;
  if (w.numBits > A.numBits)
    throw new RangeError(`adaptive num needs ${w.numBits} bits, the packing has ${A.numBits}`);
  if (w.outcomeBits > A.outcomesBits) {
    throw new RangeError(`adaptive outcomes need ${w.outcomeBits} bits, the packing has ${A.outcomesBits}`);
  }
  if (MAX_OUTCOME_LAG >= 2 ** A.lagBits) {
    throw new RangeError(`adaptive lags up to ${MAX_OUTCOME_LAG}, the packing has ${A.lagBits} bits`);
  }
  // Every lagged outcome's highs and lows must be signed: a bar before the range part holds high = low = 0,
  // which reads as a move of close_s (a breach at any margin), as layout v2's 12-bar range part did.
  if (WINDOW_RANGE_BARS < ADAPTIVE_BARS - 1 || WINDOW_BARS < ADAPTIVE_BARS) {
    throw new RangeError(
      `the adaptive rule reads the closes of bars t-${ADAPTIVE_BARS - 1}..t and the highs and lows of ` +
        `t-${ADAPTIVE_BARS - 2}..t: the window has ${WINDOW_BARS} bars, its range part ${WINDOW_RANGE_BARS}`,
    );
  }
}
