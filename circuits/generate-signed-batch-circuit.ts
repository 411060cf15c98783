/**
 * The signed batch circuit: one proof for N markets whose windows at one bar close k publishers signed
 * together (one signature each over the batch digest, candles/batch-digest.ts). It proves that
 *
 *   1. each market's window hashes to its window digest (candles/digest.ts, layout v2), as in the
 *      signed-update circuit (generate-update-circuit.ts);
 *   2. the N (marketId, windowDigest) pairs hash to the batch digest (candles/batch-digest.ts, layout v1);
 *   3. K distinct publishers of a committed publisher set signed the batch digest (PublisherQuorum(K), once
 *      for the whole batch);
 *   4. each market's features are what features/window-features.ts computes (WindowFeatures), and the
 *      model and the margin policy give its MM and IM (emitInference, as generate-circuit.ts);
 *
 * and it has N + 4 public signals (`batchSignalNames` in public-signals.ts): per market one packed signal
 * (circuits/batch-statement.ts: MM, IM, the window's end in seconds, the market id), then the batch digest,
 * the model commitment, the publisher-set commitment (outputs) and the domain (a public input). The oracle
 * compares the model and publisher-set commitments with each market's registered ones, so the statement of
 * every market is the one `submitSignedUpdate` accepts: its registered model on candles signed by a quorum
 * of its registered publishers. The candles, keys and signatures are private.
 *
 * The markets' order is the batch digest's (strictly increasing ids, which the oracle checks on the packed
 * signals; the digest binds the order the publishers signed). Each market's end is its own private input
 * `dataTimestamp[i]` in seconds, absorbed by its window digest in milliseconds (times 1000).
 *
 * Cost at --O2 with the shipped model, constant weights (measured; pinned in
 * test/circuits/signed-batch-circuit.test.ts):
 *
 *   part                                   per market    per batch
 *   window digest (PoseidonSponge(199))         8,226
 *   features (WindowFeatures)                   6,818
 *   model and policy                              844
 *   packing range checks (40 + 176 bits)          216
 *   batch digest (PoseidonSponge(2 + 2N))                    313 (N = 1), 373 (N = 2), 457 (N = 4), 898
 *                                                            (N = 8: two permutations, ceil((2 + 2N) / 15))
 *   signatures (PublisherQuorum(K))                          924 + 4,233 K
 *   domain binding                                           1
 *
 * so N markets cost 16,104 N + 5,158 + the batch digest at K = 1: N = 1 21,575; N = 2 37,739; N = 4 70,031;
 * N = 8 134,888 (measured by `npm run bench`).
 */
import type { QuantizedModel } from "../models/quantized-model";
import { BATCH_DIGEST_TAG, MAX_BATCH_MARKETS } from "../candles/batch-digest";
import { WINDOW_DIGEST_TAG } from "../candles/digest";
import { WINDOW_RANGE_BARS } from "../candles/window";
import { FEATURE_INTERVAL_MS, FEATURE_WINDOW_BARS } from "../features/window-features";
import { PUBLISHER_SET_MAX_KEYS } from "../publisher/publisher-set";
import { architectureOf, checkFitsArchitecture, type Architecture } from "./architecture";
import { BATCH_PACKING } from "./batch-statement";
import {
  emitInference,
  emitModelCommitment,
  emitWeightInputs,
  type GeneratedCircuit,
  type WeightMode,
} from "./generate-circuit";
import { WINDOW_DIGEST_LENGTH } from "./generate-update-circuit";
import { BATCH_TRAILING_SIGNAL_NAMES } from "./public-signals";
import { modelCommitment } from "./commitments";

/** A generated signed batch circuit. */
export interface GeneratedSignedBatchCircuit extends GeneratedCircuit {
  /** Markets per proof. */
  batchSize: number;
  /** Signatures the circuit checks (the publisher set's quorum). */
  quorum: number;
}

/**
 * Write the signed batch circuit of `model` for `n` markets and publisher sets of quorum `quorum`.
 * @throws RangeError for n outside [1, MAX_BATCH_MARKETS] or a quorum outside [1, PUBLISHER_SET_MAX_KEYS].
 */
export async function generateSignedBatchCircuit(
  model: QuantizedModel,
  mode: WeightMode,
  n: number,
  quorum: number,
  architecture: Architecture = architectureOf(model),
): Promise<GeneratedSignedBatchCircuit> {
  if (!Number.isInteger(n) || n < 1 || n > MAX_BATCH_MARKETS) {
    throw new RangeError(`batch size ${n} is not an integer in [1, ${MAX_BATCH_MARKETS}]`);
  }
  if (!Number.isInteger(quorum) || quorum < 1 || quorum > PUBLISHER_SET_MAX_KEYS) {
    throw new RangeError(`quorum ${quorum} is not an integer in [1, ${PUBLISHER_SET_MAX_KEYS}]`);
  }
  if (model.features.length !== 8) {
    throw new RangeError(`the window features are 8, the model reads ${model.features.length}`);
  }
  if (mode === "committed") checkFitsArchitecture(model, architecture);
  const BARS = FEATURE_WINDOW_BARS;
  const R = WINDOW_RANGE_BARS;
  const K = quorum;
  const S = PUBLISHER_SET_MAX_KEYS;
  const P = BATCH_PACKING;
  const [batchDigestName, modelName, publisherSetName, domainName] = BATCH_TRAILING_SIGNAL_NAMES;
  const out: string[] = [];
  const line = (s = "") => out.push(s);

  line("pragma circom 2.1.0;");
  line("");
  line("// GENERATED by zkrisk (circuits/generate-signed-batch-circuit.ts). Do not edit: regenerate it.");
  line(
    `// Signed batch of ${n} market(s): ${K} publisher signature(s) of the batch digest -> window digests -> ` +
      `features -> ${mode} model -> policy.`,
  );
  for (const lib of ["range", "fixed-point", "policy", "commitment", "window-features", "publisher-quorum"]) {
    line(`include "${lib}.circom";`);
  }
  line("");
  line("template ZkriskSignedBatch() {");
  line(
    "    // Public signals, in the order of batchSignalNames in circuits/public-signals.ts: outputs first,",
  );
  line("    // then the public input.");
  line(`    signal output packed[${n}];`);
  line(`    signal output ${batchDigestName};`);
  line(`    signal output ${modelName};`);
  line(`    signal output ${publisherSetName};`);
  line(`    signal input ${domainName};`);
  line("");
  line(
    "    // Each market's window (candles/window.ts): closes and volumes of every bar, highs and lows of the",
  );
  line("    // range part, in the batch's order.");
  line(`    signal input marketId[${n}];`);
  line(`    signal input dataTimestamp[${n}]; // open time of the last bar, seconds`);
  line(`    signal input close[${n}][${BARS}];`);
  line(`    signal input volume[${n}][${BARS}];`);
  line(`    signal input high[${n}][${R}];`);
  line(`    signal input low[${n}][${R}];`);
  line(
    "    // The publisher set (publisher/publisher-set.ts) and the quorum's signatures of the batch digest.",
  );
  line("    signal input publisherCount;");
  line(`    signal input publisherAx[${S}];`);
  line(`    signal input publisherAy[${S}];`);
  line(`    signal input signerIndex[${K}];`);
  line(`    signal input signatureR8x[${K}];`);
  line(`    signal input signatureR8y[${K}];`);
  line(`    signal input signatureS[${K}];`);
  emitWeightInputs(line, model, mode);

  line("");
  line(
    `    // 1. Each market's window digest (candles/digest.ts, layout v2): ${WINDOW_DIGEST_LENGTH} elements.`,
  );
  line(`    component windowDigest[${n}];`);
  line(`    for (var m = 0; m < ${n}; m++) {`);
  line(`        windowDigest[m] = PoseidonSponge(${WINDOW_DIGEST_LENGTH});`);
  line(`        windowDigest[m].in[0] <== ${WINDOW_DIGEST_TAG};`);
  line("        windowDigest[m].in[1] <== marketId[m];");
  line(`        windowDigest[m].in[2] <== ${FEATURE_INTERVAL_MS};`);
  line("        windowDigest[m].in[3] <== dataTimestamp[m] * 1000;");
  line(`        windowDigest[m].in[4] <== ${BARS};`);
  line(`        for (var i = 0; i < ${BARS}; i++) {`);
  line("            windowDigest[m].in[5 + 2 * i] <== close[m][i];");
  line("            windowDigest[m].in[6 + 2 * i] <== volume[m][i];");
  line("        }");
  line(`        for (var j = 0; j < ${R}; j++) {`);
  line(`            windowDigest[m].in[${5 + 2 * BARS} + 2 * j] <== high[m][j];`);
  line(`            windowDigest[m].in[${6 + 2 * BARS} + 2 * j] <== low[m][j];`);
  line("        }");
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
  line(`    ${batchDigestName} <== batchHash.out;`);
  line("");
  line(`    // 3. ${K} signature(s) of the batch digest by distinct keys of the committed publisher set.`);
  line(`    component publishers = PublisherQuorum(${K});`);
  line("    publishers.digest <== batchHash.out;");
  line("    publishers.n <== publisherCount;");
  line("    publishers.Ax <== publisherAx;");
  line("    publishers.Ay <== publisherAy;");
  line("    publishers.index <== signerIndex;");
  line("    publishers.R8x <== signatureR8x;");
  line("    publishers.R8y <== signatureR8y;");
  line("    publishers.S <== signatureS;");
  line(`    ${publisherSetName} <== publishers.setCommitment;`);
  line("");
  line(
    `    // The packing is injective: dataTimestamp < 2^${P.timestampBits}, marketId < 2^${P.marketBits}; MM and`,
  );
  line("    // IM are below 2^16 by the policy's clamps (circuits/batch-statement.ts).");
  line(`    component timestampRange[${n}];`);
  line(`    component marketRange[${n}];`);
  line(`    component features[${n}];`);
  const architectureOfModel = architecture;
  for (let m = 0; m < n; m++) {
    line("");
    line(`    // 4. Market ${m}: its features (features/window-features.ts), the model and the policy.`);
    line(`    timestampRange[${m}] = RangeCheck(${P.timestampBits});`);
    line(`    timestampRange[${m}].in <== dataTimestamp[${m}];`);
    line(`    marketRange[${m}] = RangeCheck(${P.marketBits});`);
    line(`    marketRange[${m}].in <== marketId[${m}];`);
    line(`    features[${m}] = WindowFeatures();`);
    line(`    features[${m}].close <== close[${m}];`);
    line(`    features[${m}].volume <== volume[${m}];`);
    line(`    features[${m}].high <== high[${m}];`);
    line(`    features[${m}].low <== low[${m}];`);
    const margins = emitInference(
      line,
      model,
      mode,
      architectureOfModel,
      (i) => `features[${m}].features[${i}]`,
      `m${m}_`,
    );
    line(
      `    packed[${m}] <== ${margins.mm} + ${margins.im} * ${1n << BigInt(P.imShift)} + ` +
        `dataTimestamp[${m}] * ${1n << BigInt(P.timestampShift)} + marketId[${m}] * ${1n << BigInt(P.marketShift)};`,
    );
  }
  line("");
  const commitment = await emitModelCommitment(line, model, mode);
  line(`    ${modelName} <== ${commitment};`);
  line("");
  line(
    "    // The domain is a public input no other constraint uses: a product binds it, so a proof cannot be",
  );
  line("    // replayed with it changed.");
  line(`    signal ${domainName}Squared;`);
  line(`    ${domainName}Squared <== ${domainName} * ${domainName};`);
  line("}");
  line("");
  line(`component main {public [${domainName}]} = ZkriskSignedBatch();`);
  return {
    mode,
    source: out.join("\n") + "\n",
    modelCommitment: await modelCommitment(model),
    batchSize: n,
    quorum: K,
  };
}
