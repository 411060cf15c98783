/**
 * The signed batch circuit: one proof for N markets whose windows at one bar close k publishers signed
 * together (one signature each over the batch digest, candles/batch-digest.ts). It proves that
 *
 *   1. each market's window hashes to its window digest (candles/digest.ts, layout v3), as in the
 *      signed-update circuit (generate-update-circuit.ts), every window ending at the batch's one
 *      `dataTimestamp` (absorbed in milliseconds, times 1000);
 *   2. the N (marketId, windowDigest) pairs hash to the batch digest (candles/batch-digest.ts, layout v1);
 *   3. K distinct publishers of a committed publisher set signed the batch digest (PublisherQuorum(K), once
 *      for the whole batch);
 *   4. each market's features are what features/window-features.ts computes (WindowFeatures, on the highs
 *      and lows of the last 12 of its 24 signed), and the
 *      model and the margin policy give its MM and IM (emitInference, as generate-circuit.ts);
 *   5. each market's model commitment is its model's: with committed weights the markets share the network
 *      (weights and biases, private) and each has its own private calibration, hashed into its own commitment
 *      (emitModelCommitments), so markets registered with their own calibrations (`zkrisk market-model`) share
 *      a batch; with constant weights every market's is the compiled-in model's;
 *
 * and it has V + 2N + 2 public signals (`batchSignalNames` in public-signals.ts, V = batchVaryingCount(N)):
 * the varying signals `update[V]` (circuits/batch-statement.ts: the data timestamp, the batch digest's low
 * 91 bits and every market's MM and IM, packed), the N model commitments and the publisher-set commitment
 * (outputs), then the market ids and the domain (public inputs). The oracle holds the verifier's part for
 * the constants (ids, models, set, domain) per batch composition, and compares each market's model and the
 * publisher set with its registered ones, so the statement of every market is the one `submitSignedUpdate`
 * accepts: its registered model on candles signed by a quorum of its registered publishers. The candles, keys,
 * signatures, weights and calibrations are private.
 *
 * The markets' order is the batch digest's (strictly increasing ids, which the oracle checks; the digest
 * binds the order the publishers signed). A window with another end cannot be in a batch: its digest
 * absorbs its own end, the circuit's has the batch's, so the signature over the batch digest fails.
 *
 * Cost at --O2 with the shipped model, constant weights (measured; pinned in
 * test/circuits/signed-batch-circuit.test.ts):
 *
 *   part                                   per market    per batch
 *   window digest (PoseidonSponge(223))         9,051
 *   features (WindowFeatures)                   6,818
 *   model and policy                              844
 *   MM and IM range checks (2 x 14 bits)           28
 *   data timestamp range check                               40
 *   batch digest's low 91 bits (FieldLowBits(91))            511
 *   batch digest (PoseidonSponge(2 + 2N))                    313 (N = 1), 373 (N = 2), 457 (N = 4), 898
 *                                                            (N = 8: two permutations, ceil((2 + 2N) / 15))
 *   signatures (PublisherQuorum(K))                          924 + 4,233 K
 *   domain binding                                           1
 *   model commitments (constants)               1            -1
 *
 * so N markets cost 16,742 N + 5,708 + the batch digest at K = 1: N = 1 22,763; N = 2 39,565 (both measured);
 * N = 4 73,133; N = 8 140,542. The window digest is layout v3's (223 elements, the highs and lows of 24 bars;
 * generate-update-circuit.ts gives its cost); with layout v2's 199 elements (8,226) a market cost 15,917: N = 1
 * 21,938, N = 2 37,915, N = 8 133,942 (before the per-market model commitments, 15,916 N + 5,709 + the batch
 * digest; before the constant/varying split, with one packed signal per market and the ids range-checked to 176
 * bits: 16,104 N + 5,158 + the batch digest, N = 8 134,888). With committed weights (the weights' products, the
 * private policy and the model commitments' sponge instead of constants), measured: N = 1 25,714, N = 2 43,034
 * (24,889 and 41,384 with layout v2: 825 more per market); each market's own commitment is one Poseidon
 * permutation over the sponge's last chunk (the calibration), the chain before it is shared. An adaptive batch
 * adds each market's AdaptiveCalibration (2,298) and private-calibration policy (164) and drops its MM and IM
 * range checks (28: the policy's clamps bound them in the adaptive packing): 16,742 + 2,434 = 19,176 per market,
 * N = 2 44,433 (measured; 42,519 with v2, whose 12-bar range part left 132 of the selection's products reading
 * constant zeros).
 */
import type { QuantizedModel } from "../models/quantized-model";
import { BATCH_DIGEST_TAG, MAX_BATCH_MARKETS } from "../candles/batch-digest";
import { WINDOW_BARS, WINDOW_RANGE_BARS } from "../candles/window";
import { architectureOf, type Architecture } from "./architecture";
import { BATCH_PACKING, batchMarketPosition, batchVaryingCount } from "./batch-statement";
import type { AdaptiveRule } from "../models/adaptive";
import { MAX_OUTCOME_LAG, TARGET_HORIZON_BARS } from "../models/target";
import {
  ADAPTIVE_BARS,
  adaptivePolicyArchitecture,
  emitAdaptiveBars,
  emitAdaptiveCalibration,
} from "./adaptive-params";
import { ADAPTIVE_UPDATE_PACKING, UPDATE_PACKING } from "./statement";
import { checkAdaptiveFits } from "./generate-update-circuit";
import {
  emitInference,
  emitModelCommitments,
  emitWeightInputs,
  type GeneratedCircuit,
  type WeightMode,
} from "./generate-circuit";
import {
  checkSignedCircuitParameters,
  emitPublisherInputs,
  emitFeatureInputs,
  emitQuorum,
  emitWindowDigest,
  WINDOW_DIGEST_LENGTH,
} from "./signed-circuit-parts";
import { modelCommitment } from "./commitments";

/** A generated signed batch circuit. */
export interface GeneratedSignedBatchCircuit extends GeneratedCircuit {
  /** Markets per proof. */
  batchSize: number;
  /** Signatures the circuit checks (the publisher set's quorum). */
  quorum: number;
  /** The adaptive rule every market runs, if any (an adaptive batch: one adaptive update per market). */
  adaptive?: AdaptiveRule;
}

/** Options of the signed batch circuit. */
export interface BatchCircuitOptions {
  /**
   * An ADAPTIVE batch (every market adaptive): each market's state (num, outcomes), its pending outcome's bar s's
   * accepted MM and lag are private inputs, stepped by the outcome of its bar s = t - 12 - lag in its own signed
   * window as the signed-update circuit does (circuits/lib/adaptive.circom), its margins use its new state's
   * calibrationNum, and its varying signal is its adaptive update (`packAdaptiveUpdate` of statement.ts) with the
   * batch's data timestamp and the batch digest's low 87 bits. Its model commitment still hashes its model file's calibration (committed
   * mode), the market's initial state.
   */
  adaptive?: AdaptiveRule;
}

/**
 * Write the signed batch circuit of `model` for `n` markets and publisher sets of quorum `quorum`.
 * @throws RangeError for n outside [1, MAX_BATCH_MARKETS] (an adaptive batch: [2, MAX_BATCH_MARKETS]), a quorum
 *   outside [1, PUBLISHER_SET_MAX_KEYS], or an adaptive rule whose state does not fit the adaptive packing.
 */
export async function generateSignedBatchCircuit(
  model: QuantizedModel,
  mode: WeightMode,
  n: number,
  quorum: number,
  architecture: Architecture = architectureOf(model),
  options: BatchCircuitOptions = {},
): Promise<GeneratedSignedBatchCircuit> {
  const { adaptive } = options;
  const least = adaptive === undefined ? 1 : 2;
  if (!Number.isInteger(n) || n < least || n > MAX_BATCH_MARKETS) {
    throw new RangeError(
      `batch size ${n} is not an integer in [${least}, ${MAX_BATCH_MARKETS}]` +
        (adaptive === undefined ? "" : " (one adaptive market is a signed update)"),
    );
  }
  checkSignedCircuitParameters(model, mode, quorum, architecture);
  if (adaptive !== undefined) checkAdaptiveFits(adaptive, model);
  const BARS = WINDOW_BARS;
  const R = WINDOW_RANGE_BARS;
  const K = quorum;
  const P = BATCH_PACKING;
  const V = batchVaryingCount(n, adaptive !== undefined);
  const out: string[] = [];
  const line = (s = "") => out.push(s);

  line("pragma circom 2.1.0;");
  line("");
  line("// GENERATED by zkrisk (circuits/generate-signed-batch-circuit.ts). Do not edit: regenerate it.");
  line(
    `// Signed batch of ${n} market(s): ${K} publisher signature(s) of the batch digest -> window digests -> ` +
      `features -> ${mode} model -> policy` +
      (adaptive === undefined ? "." : ", with each market's adaptive calibration."),
  );
  for (const lib of [
    ...(adaptive === undefined ? [] : ["adaptive"]),
    "range",
    "field-bits",
    "fixed-point",
    "policy",
    "commitment",
    "window-features",
    "publisher-quorum",
  ]) {
    line(`include "${lib}.circom";`);
  }
  line("");
  line("template ZkriskSignedBatch() {");
  line(
    "    // Public signals, in the order of batchSignalNames in circuits/public-signals.ts: the outputs (the",
  );
  line("    // varying signals, then the model and publisher set), then the public inputs (the constants).");
  line(`    signal output update[${V}];`);
  line(`    signal output modelCommitment[${n}];`);
  line("    signal output publisherSet;");
  line(`    signal input marketId[${n}];`);
  line("    signal input domain;");
  line("");
  line(
    "    // Each market's window (candles/window.ts): closes and volumes of every bar, highs and lows of the",
  );
  line("    // range part, in the batch's order; every window ends at the batch's one data timestamp.");
  line("    signal input dataTimestamp; // open time of the last bar, seconds");
  line(`    signal input close[${n}][${BARS}];`);
  line(`    signal input volume[${n}][${BARS}];`);
  line(`    signal input high[${n}][${R}];`);
  line(`    signal input low[${n}][${R}];`);
  line(
    "    // The publisher set (publisher/publisher-set.ts) and the quorum's signatures of the batch digest.",
  );
  emitPublisherInputs(line, K);
  emitWeightInputs(line, model, mode, n);
  const calibration = (m: number) => (mode === "committed" ? `calibration[${m}]` : undefined);
  if (adaptive !== undefined) {
    line(
      "    // Each market's adaptive state before the update, the accepted MM of its pending outcome's bar s (0:",
    );
    line(
      `    // none) and its lag (s = t - ${TARGET_HORIZON_BARS} - lag, lag in [0, ${MAX_OUTCOME_LAG}]), as the oracle holds them.`,
    );
    line(`    signal input stateNum[${n}];`);
    line(`    signal input stateOutcomes[${n}];`);
    line(`    signal input marginS[${n}];`);
    line(`    signal input lag[${n}];`);
  }

  line("");
  line(
    `    // 1. Each market's window digest (candles/digest.ts, layout v3): ${WINDOW_DIGEST_LENGTH} elements.`,
  );
  line(`    component windowDigest[${n}];`);
  line(`    for (var m = 0; m < ${n}; m++) {`);
  emitWindowDigest(line, {
    target: "windowDigest[m]",
    of: "[m]",
    indent: "        ",
    declare: false,
    dataTimestamp: "dataTimestamp",
  });
  line("    }");
  line("");
  line(`    // 2. The batch digest (candles/batch-digest.ts, layout v1): ${2 + 2 * n} elements.`);
  line(`    component batchHash = PoseidonSponge(${2 + 2 * n});`);
  line(`    batchHash.in[0] <== ${BATCH_DIGEST_TAG};`);
  line(`    batchHash.in[1] <== ${n};`);
  line(`    for (var m = 0; m < ${n}; m++) {`);
  line("        batchHash.in[2 + 2 * m] <== marketId[m];");
  line("        batchHash.in[3 + 2 * m] <== windowDigest[m].out;");
  line("    }");
  line("");
  line(`    // 3. ${K} signature(s) of the batch digest by distinct keys of the committed publisher set.`);
  emitQuorum(line, K, "batchHash.out");
  line("    publisherSet <== publishers.setCommitment;");
  line("");
  if (adaptive === undefined) {
    line(
      `    // The packing is injective (circuits/batch-statement.ts): dataTimestamp < 2^${P.timestampBits}, the`,
    );
    line(
      `    // digest's low ${P.digestBits} bits, and every MM and IM < 2^${P.marginBits}, each range-checked.`,
    );
  } else {
    line(
      `    // Each market's adaptive update (statement.ts ADAPTIVE_UPDATE_PACKING): dataTimestamp < 2^${UPDATE_PACKING.timestampBits}`,
    );
    line(
      `    // (range-checked), the batch digest's low ${ADAPTIVE_UPDATE_PACKING.digestBits} bits, MM and IM below 2^16 by the policy's clamps,`,
    );
    line(
      "    // the prior and the new state range-checked by AdaptiveCalibration (lag <= 11 by its one-hot).",
    );
  }
  // The widths of the layout the two parts are packed into: an adaptive batch packs them into each market's
  // adaptive update (ADAPTIVE_UPDATE_PACKING), whose room for them is its own, not the plain batch's.
  const timestampBits = adaptive === undefined ? P.timestampBits : UPDATE_PACKING.timestampBits;
  const digestBitCount = adaptive === undefined ? P.digestBits : ADAPTIVE_UPDATE_PACKING.digestBits;
  line(`    component timestampRange = RangeCheck(${timestampBits});`);
  line("    timestampRange.in <== dataTimestamp;");
  line(`    component digestBits = FieldLowBits(${digestBitCount});`);
  line("    digestBits.in <== batchHash.out;");
  if (adaptive === undefined) line(`    component marginRange[${2 * n}];`);
  line(`    component features[${n}];`);
  const terms: string[][] = Array.from({ length: V }, () => []);
  if (adaptive === undefined)
    terms[0].push("dataTimestamp", `digestBits.out * ${1n << BigInt(P.digestShift)}`);
  const policyArchitecture =
    adaptive === undefined ? architecture : adaptivePolicyArchitecture(architecture, adaptive);
  for (let m = 0; m < n; m++) {
    line("");
    line(`    // 4. Market ${m}: its features (features/window-features.ts), the model and the policy.`);
    line(`    features[${m}] = WindowFeatures();`);
    emitFeatureInputs(line, { target: `features[${m}]`, of: `[${m}]`, indent: "    " });
    if (adaptive !== undefined) {
      const H = TARGET_HORIZON_BARS;
      line(
        `    // Its adaptive calibration: the outcome of its bar s = t - ${H} - lag (close[${m}][${BARS - 1 - H} - lag])`,
      );
      line(
        `    // over bars s+1..s+${H} (its last ${ADAPTIVE_BARS} bars), one annealed step, and its calibrationNum.`,
      );
      emitAdaptiveCalibration(line, adaptive, `adaptive${m}`);
      line(`    adaptive${m}.num <== stateNum[${m}];`);
      line(`    adaptive${m}.outcomes <== stateOutcomes[${m}];`);
      line(`    adaptive${m}.mmS <== marginS[${m}];`);
      line(`    adaptive${m}.lag <== lag[${m}];`);
      emitAdaptiveBars(line, `adaptive${m}`, `[${m}]`);
    }
    const margins = emitInference(
      line,
      model,
      mode,
      policyArchitecture,
      (i) => `features[${m}].features[${i}]`,
      `m${m}_`,
      adaptive === undefined ? calibration(m) : `adaptive${m}.calibrationNum`,
    );
    if (adaptive !== undefined) {
      const A = ADAPTIVE_UPDATE_PACKING;
      const U = UPDATE_PACKING;
      const at = (shift: number) => 1n << BigInt(shift);
      terms[m].push(
        margins.mm,
        `${margins.im} * ${at(U.imShift)}`,
        `dataTimestamp * ${at(U.timestampShift)}`,
        `stateNum[${m}] * ${at(A.numShift)}`,
        `stateOutcomes[${m}] * ${at(A.outcomesShift)}`,
        `marginS[${m}] * ${at(A.marginSShift)}`,
        `lag[${m}] * ${at(A.lagShift)}`,
        `adaptive${m}.newNum * ${at(A.newNumShift)}`,
        `adaptive${m}.newOutcomes * ${at(A.newOutcomesShift)}`,
        `digestBits.out * ${at(A.digestShift)}`,
      );
      continue;
    }
    line(`    marginRange[${2 * m}] = RangeCheck(${P.marginBits});`);
    line(`    marginRange[${2 * m}].in <== ${margins.mm};`);
    line(`    marginRange[${2 * m + 1}] = RangeCheck(${P.marginBits});`);
    line(`    marginRange[${2 * m + 1}].in <== ${margins.im};`);
    const { signal, shift } = batchMarketPosition(m);
    terms[signal].push(
      `${margins.mm} * ${1n << BigInt(shift)}`,
      `${margins.im} * ${1n << BigInt(shift + P.marginBits)}`,
    );
  }
  line("");
  line("    // The varying signals (circuits/batch-statement.ts): parts below their bounds, no overlap.");
  terms.forEach((t, k) => line(`    update[${k}] <== ${t.join(" + ")};`));
  line("");
  const commitments = await emitModelCommitments(
    line,
    model,
    mode,
    Array.from({ length: n }, (_, m) => calibration(m) ?? ""),
  );
  commitments.forEach((c, m) => line(`    modelCommitment[${m}] <== ${c};`));
  line("");
  line(
    "    // The domain is a public input no other constraint uses: a product binds it, so a proof cannot be",
  );
  line("    // replayed with it changed.");
  line("    signal domainSquared;");
  line("    domainSquared <== domain * domain;");
  line("}");
  line("");
  line(`component main {public [marketId, domain]} = ZkriskSignedBatch();`);
  return {
    mode,
    source: out.join("\n") + "\n",
    modelCommitment: await modelCommitment(model),
    batchSize: n,
    quorum: K,
    ...(adaptive === undefined ? {} : { adaptive }),
  };
}
