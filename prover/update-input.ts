/**
 * The input of the signed-update circuit (circuits/generate-update-circuit.ts) from k publishers' signed
 * windows, and the public signals the proof must then carry, computed in TypeScript by the integer engine.
 *
 * The windows must hold identical candles (otherwise the first differing bar and field are named), be signed
 * by k distinct keys of the market's publisher set (k = the set's quorum), and end on a whole second.
 */
import { windowDigest } from "../candles/digest";
import { WINDOW_RANGE_BARS } from "../candles/window";
import { toField } from "../crypto/field";
import type { WeightMode } from "../circuits/generate-circuit";
import { modelCommitment } from "../circuits/commitments";
import {
  adaptiveDigestSignal,
  digestSignal,
  packAdaptiveUpdate,
  packUpdate,
  statementKey,
} from "../circuits/statement";
import { FEATURE_INTERVAL_MS, windowFeatures } from "../features/window-features";
import { WINDOW_BARS } from "../candles/window";
import {
  adaptiveWindowUpdate,
  type AdaptiveRule,
  type AdaptiveState,
  type PendingPrior,
} from "../models/adaptive";
import { inferInteger, type IntegerTrace } from "../models/integer-engine";
import type { QuantizedModel } from "../models/quantized-model";
import { comparePublicKeys } from "../publisher/eddsa";
import { publisherSetCommitment, publisherSetSlots, type PublisherSet } from "../publisher/publisher-set";
import { firstDisagreement, type SignedWindow } from "../publisher/signed-window";
import { UsageError } from "../core/errors";
import { weightInputs } from "./circuit-input";

type SignalValue = string | SignalValue[];

/** What a signed update needs besides the model. */
export interface SignedUpdateSource {
  /** The quorum's signed windows of one bar (any order; one per publisher). */
  windows: readonly SignedWindow[];
  /** Names of the windows for messages (e.g. their files). */
  names?: readonly string[];
  /** The market's registered publisher set. */
  publishers: PublisherSet;
  /** The oracle's domain (prover/domain.ts), 0 for an offline proof. */
  domain: bigint;
  /** For a circuit with an adaptive rule: the market's state, bar s's margin and lag as the oracle holds them. */
  adaptive?: AdaptivePrior;
}

/**
 * What an adaptive update starts from: the oracle's view before it (`IRiskOracle.adaptivePrior`): the state, and
 * the pending outcome it processes (`marginS`, bar s = t - 12 - `lag`'s accepted MM, 0 for none).
 */
export interface AdaptivePrior extends PendingPrior {
  rule: AdaptiveRule;
  /** The state before the update. */
  state: AdaptiveState;
}

/** The adaptive part of an update: what it starts from, the outcome of bar s, and the state it proves. */
export interface AdaptiveTransition {
  before: AdaptiveState;
  /** Bar s's accepted MM in bps, 0 when no outcome is pending. */
  marginS: bigint;
  /** Bars of bar s before t - 12 (s = t - 12 - lag), in [0, 11]. */
  lag: number;
  /** null: no outcome (no margin at s, or a bar of s..s+12 missing); else whether bar s breached marginS. */
  outcome: boolean | null;
  after: AdaptiveState;
  /** The calibrationNum of this update's margins (`stateToNum(after.num)`). */
  calibrationNum: bigint;
}

/** The circuit input and everything the proof will state. */
export interface SignedUpdateInput {
  input: Record<string, SignalValue>;
  /** The public signals in UPDATE_SIGNALS order: the packed update (with the digest's low bits), statement key. */
  publicSignals: [bigint, bigint];
  /** The window's full digest (candles/digest.ts): what the publishers signed. */
  windowDigest: bigint;
  /** The integer features and the engine's trace. */
  trace: IntegerTrace;
  /** Open time of the window's last bar, seconds. */
  dataTimestamp: bigint;
  marketId: bigint;
  publisherSetCommitment: bigint;
  /** The state transition of an adaptive update (absent for a circuit without an adaptive rule). */
  adaptive?: AdaptiveTransition;
}

/**
 * Build the signed-update input.
 * @throws UsageError naming the window at fault: windows that disagree (first bar and field), a key not in
 *   the set, one publisher twice, a count other than the quorum, an end not on a whole second;
 *   InsufficientDataError / BoundsError from the features (no update for this window).
 */
export async function signedUpdateInput(
  model: QuantizedModel,
  mode: WeightMode,
  src: SignedUpdateSource,
): Promise<SignedUpdateInput> {
  const { windows, publishers } = src;
  const names = src.names ?? windows.map((_, i) => `window ${i}`);
  if (windows.length !== publishers.quorum) {
    throw new UsageError(
      `the publisher set needs ${publishers.quorum} signed window(s) (its quorum), got ${windows.length}`,
    );
  }
  const disagreement = firstDisagreement(windows, names);
  if (disagreement !== undefined) throw new UsageError(disagreement.message);
  const signers = windows.map((sw, i) => {
    const index = publishers.keys.findIndex((k) => comparePublicKeys(k, sw.publicKey) === 0);
    if (index < 0) {
      throw new UsageError(`${names[i]}: signed by a key that is not in the market's publisher set`);
    }
    return { index, sw, name: names[i] };
  });
  signers.sort((a, b) => a.index - b.index);
  for (let j = 1; j < signers.length; j++) {
    if (signers[j].index === signers[j - 1].index) {
      throw new UsageError(
        `${signers[j].name} and ${signers[j - 1].name}: signed by the same publisher (one signature each)`,
      );
    }
  }
  const window = windows[0].window;
  if (window.bars.length !== WINDOW_BARS || window.intervalMs !== FEATURE_INTERVAL_MS) {
    throw new UsageError(
      `${names[0]}: a window of ${window.bars.length} bars of ${window.intervalMs} ms; the features read ` +
        `${WINDOW_BARS} bars of ${FEATURE_INTERVAL_MS} ms`,
    );
  }
  if (window.endTime % 1000 !== 0) {
    throw new UsageError(`${names[0]}: endTime ${window.endTime} is not on a whole second`);
  }
  const features = windowFeatures(window);
  const plain = inferInteger(model, features);
  let transition: AdaptiveTransition | undefined;
  let trace = plain;
  if (src.adaptive !== undefined) {
    const { rule, state, marginS, lag } = src.adaptive;
    const step = adaptiveWindowUpdate(model.policy, plain.output, window.bars, { state, marginS, lag }, rule);
    transition = {
      before: state,
      marginS,
      lag,
      outcome: step.outcome,
      after: step.after,
      calibrationNum: step.calibrationNum,
    };
    // the network is the model's; the policy runs with the state's calibration
    trace = { ...plain, ...step.margins };
  }
  const dataTimestamp = BigInt(window.endTime / 1000);
  const digest = await windowDigest(window);
  const setCommitment = await publisherSetCommitment(publishers);
  const statement = await statementKey({
    marketId: window.marketId,
    modelCommitment: await modelCommitment(model),
    publisherSet: setCommitment,
    domain: src.domain,
  });
  const margins = { mm: trace.maintenanceMarginBps, im: trace.initialMarginBps, dataTimestamp };
  const update =
    transition === undefined
      ? packUpdate({ ...margins, digest: digestSignal(digest) })
      : packAdaptiveUpdate({
          ...margins,
          before: { num: transition.before.num, outcomes: BigInt(transition.before.outcomes) },
          marginS: transition.marginS,
          lag: BigInt(transition.lag),
          after: { num: transition.after.num, outcomes: BigInt(transition.after.outcomes) },
          digest: adaptiveDigestSignal(digest),
        });

  const s = (v: bigint) => toField(v).toString();
  const n = window.bars.length;
  // The range part (layout v3): the highs and lows of the last WINDOW_RANGE_BARS = 24 bars, all of them in the
  // digest; the circuit reads the last 12 for the features and the last 23 for the adaptive outcome.
  const rangePart = window.bars.slice(n - WINDOW_RANGE_BARS);
  const slots = publisherSetSlots(publishers);
  const input: Record<string, SignalValue> = {
    marketId: s(window.marketId),
    dataTimestamp: s(dataTimestamp),
    close: window.bars.map((b) => s(b.close)),
    volume: window.bars.map((b) => s(b.volume)),
    high: rangePart.map((b) => s(b.high)),
    low: rangePart.map((b) => s(b.low)),
    publisherCount: s(slots.n),
    publisherAx: slots.Ax.map(s),
    publisherAy: slots.Ay.map(s),
    signerIndex: signers.map((x) => s(BigInt(x.index))),
    signatureR8x: signers.map((x) => s(x.sw.signature.R8x)),
    signatureR8y: signers.map((x) => s(x.sw.signature.R8y)),
    signatureS: signers.map((x) => s(x.sw.signature.S)),
    domain: s(src.domain),
    ...weightInputs(model, mode),
    ...(transition === undefined
      ? {}
      : {
          stateNum: s(transition.before.num),
          stateOutcomes: s(BigInt(transition.before.outcomes)),
          marginS: s(transition.marginS),
          lag: s(BigInt(transition.lag)),
        }),
  };
  return {
    input,
    publicSignals: [update, statement],
    windowDigest: digest,
    trace,
    dataTimestamp,
    marketId: window.marketId,
    publisherSetCommitment: setCommitment,
    ...(transition === undefined ? {} : { adaptive: transition }),
  };
}
