/**
 * The parts the signed-update circuit (generate-update-circuit.ts) and the signed batch circuit
 * (generate-signed-batch-circuit.ts) write alike: the checks of their parameters, the publisher set's and the
 * signatures' inputs, the digest of one window (candles/digest.ts, layout v3), the wiring of a window into the
 * features and the quorum of signatures over a digest (circuits/lib/publisher-quorum.circom). Each emitter writes
 * Circom lines through `line`, as the model's emitters in generate-circuit.ts do.
 */
import { WINDOW_DIGEST_TAG } from "../candles/digest";
import { WINDOW_BARS, WINDOW_RANGE_BARS } from "../candles/window";
import { FEATURE_INTERVAL_MS, FEATURE_RANGE_BARS } from "../features/window-features";
import { modelFileOf } from "../models/float-model";
import { checkWindowModel } from "../models/predict";
import type { QuantizedModel } from "../models/quantized-model";
import { PUBLISHER_SET_MAX_KEYS } from "../publisher/publisher-set";
import { checkFitsArchitecture, type Architecture } from "./architecture";
import type { WeightMode } from "./generate-circuit";

/**
 * Field elements the digest absorbs for a feature window: header, (close, volume) per bar, (high, low) of the
 * range part: 5 + 2 x 85 + 2 x 24 = 223 (layout v3; 199 in v2, whose range part was 12 bars).
 */
export const WINDOW_DIGEST_LENGTH = 5 + 2 * WINDOW_BARS + 2 * WINDOW_RANGE_BARS;

/** Writes one line of Circom. */
type Line = (s?: string) => void;

/**
 * Check what a signed circuit is generated for: a quorum in [1, PUBLISHER_SET_MAX_KEYS], a model of the eight
 * window features (in their order, at their scale, on their bars: `checkWindowModel`), and a model that fits the
 * architecture: committed weights take their widths from it, and a circuit whose calibration is a signal (the
 * adaptive rule's, in either mode) takes its policy's clamps and ratios from it, so an architecture of another
 * policy would prove other margins under this model's commitment.
 * @throws RangeError for a quorum outside its range; ModelError naming the model's file (when it was loaded from one)
 *   and its difference
 */
export function checkSignedCircuitParameters(
  model: QuantizedModel,
  mode: WeightMode,
  quorum: number,
  architecture: Architecture,
): void {
  if (!Number.isInteger(quorum) || quorum < 1 || quorum > PUBLISHER_SET_MAX_KEYS) {
    throw new RangeError(`quorum ${quorum} is not an integer in [1, ${PUBLISHER_SET_MAX_KEYS}]`);
  }
  // The circuit feeds WindowFeatures' outputs to the model by position, at scale 2^32: the model must read
  // exactly those (its commitment names them), else the proof computes another function than the one committed.
  checkWindowModel(model, modelFileOf(model) ?? "the model of a signed circuit");
  checkFitsArchitecture(model, architecture);
}

/** The inputs of the publisher set (its keys, padded to the maximum) and of the quorum's K signatures. */
export function emitPublisherInputs(line: Line, quorum: number): void {
  const S = PUBLISHER_SET_MAX_KEYS;
  line("    signal input publisherCount;");
  line(`    signal input publisherAx[${S}];`);
  line(`    signal input publisherAy[${S}];`);
  line(`    signal input signerIndex[${quorum}];`);
  line(`    signal input signatureR8x[${quorum}];`);
  line(`    signal input signatureR8y[${quorum}];`);
  line(`    signal input signatureS[${quorum}];`);
}

/** `publishers`: K signatures of `digest` by distinct keys of the committed set (its commitment is an output). */
export function emitQuorum(line: Line, quorum: number, digest: string): void {
  line(`    component publishers = PublisherQuorum(${quorum});`);
  line(`    publishers.digest <== ${digest};`);
  line("    publishers.n <== publisherCount;");
  line("    publishers.Ax <== publisherAx;");
  line("    publishers.Ay <== publisherAy;");
  line("    publishers.index <== signerIndex;");
  line("    publishers.R8x <== signatureR8x;");
  line("    publishers.R8y <== signatureR8y;");
  line("    publishers.S <== signatureS;");
}

/**
 * The digest of one window into the sponge `target`: `of` indexes the window's signals ("" for the single
 * update's, "[m]" for market m of a batch), `indent` is the lines' indentation, and `declare` makes the first
 * line a declaration (`component target = ...`) rather than an assignment to an array's element;
 * `dataTimestamp` names the window's end signal in seconds (default `dataTimestamp` + `of`; a batch's windows
 * share one).
 */
export function emitWindowDigest(
  line: Line,
  o: { target: string; of: string; indent: string; declare: boolean; dataTimestamp?: string },
): void {
  const N = WINDOW_BARS;
  const R = WINDOW_RANGE_BARS;
  const { target, of, indent } = o;
  line(`${indent}${o.declare ? "component " : ""}${target} = PoseidonSponge(${WINDOW_DIGEST_LENGTH});`);
  line(`${indent}${target}.in[0] <== ${WINDOW_DIGEST_TAG};`);
  line(`${indent}${target}.in[1] <== marketId${of};`);
  line(`${indent}${target}.in[2] <== ${FEATURE_INTERVAL_MS};`);
  line(`${indent}${target}.in[3] <== ${o.dataTimestamp ?? `dataTimestamp${of}`} * 1000;`);
  line(`${indent}${target}.in[4] <== ${N};`);
  line(`${indent}for (var i = 0; i < ${N}; i++) {`);
  line(`${indent}    ${target}.in[5 + 2 * i] <== close${of}[i];`);
  line(`${indent}    ${target}.in[6 + 2 * i] <== volume${of}[i];`);
  line(`${indent}}`);
  line(`${indent}for (var j = 0; j < ${R}; j++) {`);
  line(`${indent}    ${target}.in[${5 + 2 * N} + 2 * j] <== high${of}[j];`);
  line(`${indent}    ${target}.in[${6 + 2 * N} + 2 * j] <== low${of}[j];`);
  line(`${indent}}`);
}

/**
 * The window's signals into the WindowFeatures component `target` (circuits/lib/window-features.circom): every
 * close and volume, and the highs and lows of the last FEATURE_RANGE_BARS bars, which are the last entries of
 * the range part `high${of}[WINDOW_RANGE_BARS]` (range_1d reads 12 bars; the digest signs 24, the adaptive rule
 * reads the rest). `of` indexes a batch's market ("[m]"), "" for the single update's.
 */
export function emitFeatureInputs(line: Line, o: { target: string; of: string; indent: string }): void {
  const { target, of, indent } = o;
  const from = WINDOW_RANGE_BARS - FEATURE_RANGE_BARS;
  if (from < 0) {
    throw new RangeError(
      `range_1d reads ${FEATURE_RANGE_BARS} highs and lows, the window signs ${WINDOW_RANGE_BARS}`,
    );
  }
  line(`${indent}${target}.close <== close${of};`);
  line(`${indent}${target}.volume <== volume${of};`);
  line(
    `${indent}// the last ${FEATURE_RANGE_BARS} of the ${WINDOW_RANGE_BARS} signed highs and lows (bars t - ${FEATURE_RANGE_BARS - 1} .. t)`,
  );
  line(`${indent}for (var k = 0; k < ${FEATURE_RANGE_BARS}; k++) {`);
  line(`${indent}    ${target}.high[k] <== high${of}[${from} + k];`);
  line(`${indent}    ${target}.low[k] <== low${of}[${from} + k];`);
  line(`${indent}}`);
}
