/**
 * The input of the signed batch circuit (circuits/generate-signed-batch-circuit.ts) from k publishers'
 * signed batches, and the public signals the proof must then carry, computed in TypeScript by the integer
 * engine.
 *
 * The batches must hold identical candles (otherwise the first differing market, bar and field are named),
 * be signed by k distinct keys of the publisher set (k = the set's quorum), hold exactly the circuit's N
 * markets, and every window must end at the same whole second and read the features' 85 bars of 2 h.
 *
 * Each market is proved with its own model file (`models`, e.g. its own calibration from `zkrisk market-model`)
 * or the prover's. The circuit holds one network, so every market's model must be the prover's model but for
 * its calibration; with constant weights the model is compiled in, so every market's must be exactly it.
 *
 * An ADAPTIVE batch (`adaptive`: the circuit's rule and every market's prior as the oracle holds it) steps each
 * market's state by the outcome of its bar s in its own window, as a single adaptive update does
 * (`adaptiveWindowUpdate`), and each market's varying signal is its adaptive update (`packAdaptiveUpdate`) with
 * the batch digest's low 87 bits.
 */
import { WINDOW_RANGE_BARS } from "../candles/window";
import { toField } from "../crypto/field";
import type { WeightMode } from "../circuits/generate-circuit";
import { modelCommitment, modelCommitmentLayout } from "../circuits/commitments";
import { batchDigestSignal, packBatchUpdate } from "../circuits/batch-statement";
import { adaptiveDigestSignal, packAdaptiveUpdate } from "../circuits/statement";
import {
  adaptiveWindowUpdate,
  type AdaptiveRule,
  type AdaptiveState,
  type PendingPrior,
} from "../models/adaptive";
import type { AdaptiveTransition } from "./update-input";
import { FEATURE_INTERVAL_MS, windowFeatures } from "../features/window-features";
import { WINDOW_BARS } from "../candles/window";
import { inferInteger, type IntegerTrace } from "../models/integer-engine";
import type { QuantizedModel } from "../models/quantized-model";
import { comparePublicKeys } from "../publisher/eddsa";
import { publisherSetCommitment, publisherSetSlots, type PublisherSet } from "../publisher/publisher-set";
import { firstBatchDisagreement, type SignedBatch } from "../publisher/signed-batch";
import { UsageError } from "../core/errors";
import { weightInputs } from "./circuit-input";

type SignalValue = string | SignalValue[];

/** What a signed batch needs besides the model. */
export interface SignedBatchSource {
  /** The quorum's signed batches of one bar close (any order; one per publisher). */
  batches: readonly SignedBatch[];
  /** Names of the batches for messages (e.g. their files). */
  names?: readonly string[];
  /** The publisher set every market of the batch registered. */
  publishers: PublisherSet;
  /** The oracle's domain (prover/domain.ts), 0 for an offline proof. */
  domain: bigint;
  /**
   * Markets' own model files by label (a market's registered model, e.g. its calibration); the others are
   * proved with the prover's model.
   */
  models?: ReadonlyMap<string, QuantizedModel>;
  /** For an adaptive batch circuit: its rule and every market's prior (state, bar s's MM and lag), by label. */
  adaptive?: AdaptiveBatchPriors;
}

/** What an adaptive batch starts from: the circuit's rule and each market's prior as the oracle holds it. */
export interface AdaptiveBatchPriors {
  rule: AdaptiveRule;
  priors: ReadonlyMap<string, { state: AdaptiveState } & PendingPrior>;
}

/** One market of a built batch: what the proof states for it. */
export interface SignedBatchMarket {
  market: string;
  marketId: bigint;
  /** Open time of the window's last bar, seconds (the batch's one end). */
  dataTimestamp: bigint;
  windowDigest: bigint;
  /** The commitment of the model the market is proved with. */
  modelCommitment: bigint;
  trace: IntegerTrace;
  /** An adaptive batch's state transition of this market. */
  adaptive?: AdaptiveTransition;
}

/** The circuit input and everything the proof will state. */
export interface SignedBatchInput {
  input: Record<string, SignalValue>;
  /**
   * The V + 2N + 2 public signals (`batchSignalNames`): the varying signals, each market's model, the set, the
   * market ids, the domain.
   */
  publicSignals: bigint[];
  markets: SignedBatchMarket[];
  /** Open time of every window's last bar, seconds. */
  dataTimestamp: bigint;
  batchDigest: bigint;
  publisherSetCommitment: bigint;
}

/**
 * Build the signed batch input for a circuit of `batchSize` markets.
 * @throws UsageError naming the batch at fault: batches that disagree (first market, bar and field), a key
 *   not in the set, one publisher twice, a count other than the quorum, a market count other than N, a
 *   window the features do not read or not on a whole second, windows with different ends;
 *   InsufficientDataError / BoundsError from the features (no update for that window); a market's model that
 *   is not `model` but for its calibration (any difference with constant weights), a model for a market the
 *   batch does not hold.
 */
export async function signedBatchInput(
  model: QuantizedModel,
  mode: WeightMode,
  batchSize: number,
  src: SignedBatchSource,
): Promise<SignedBatchInput> {
  const { batches, publishers } = src;
  const names = src.names ?? batches.map((_, i) => `batch ${i}`);
  if (batches.length !== publishers.quorum) {
    throw new UsageError(
      `the publisher set needs ${publishers.quorum} signed batch(es) (its quorum), got ${batches.length}`,
    );
  }
  const disagreement = firstBatchDisagreement(batches, names);
  if (disagreement !== undefined) throw new UsageError(disagreement.message);
  const signers = batches.map((sb, i) => {
    const index = publishers.keys.findIndex((k) => comparePublicKeys(k, sb.publicKey) === 0);
    if (index < 0) {
      throw new UsageError(`${names[i]}: signed by a key that is not in the publisher set`);
    }
    return { index, sb, name: names[i] };
  });
  signers.sort((a, b) => a.index - b.index);
  for (let j = 1; j < signers.length; j++) {
    if (signers[j].index === signers[j - 1].index) {
      throw new UsageError(
        `${signers[j].name} and ${signers[j - 1].name}: signed by the same publisher (one signature each)`,
      );
    }
  }
  const reference = batches[0];
  if (reference.markets.length !== batchSize) {
    throw new UsageError(
      `${names[0]}: ${reference.markets.length} market(s); the circuit proves batches of ${batchSize}`,
    );
  }
  const modelOf = await batchModels(model, mode, reference, src.models, names[0]);
  const markets: SignedBatchMarket[] = reference.markets.map((m, i) => {
    const w = m.window;
    const where = `${names[0]}: markets[${i}] (${m.market})`;
    if (w.bars.length !== WINDOW_BARS || w.intervalMs !== FEATURE_INTERVAL_MS) {
      throw new UsageError(
        `${where}: a window of ${w.bars.length} bars of ${w.intervalMs} ms; the features read ` +
          `${WINDOW_BARS} bars of ${FEATURE_INTERVAL_MS} ms`,
      );
    }
    if (w.endTime % 1000 !== 0)
      throw new UsageError(`${where}: endTime ${w.endTime} is not on a whole second`);
    if (w.endTime !== reference.markets[0].window.endTime) {
      throw new UsageError(
        `${where}: endTime ${w.endTime}, but markets[0] ends at ${reference.markets[0].window.endTime}: the ` +
          "windows of a batch end at one bar close",
      );
    }
    const own = modelOf[i].model;
    const plain = inferInteger(own, windowFeatures(w));
    const market = {
      market: m.market,
      marketId: w.marketId,
      dataTimestamp: BigInt(w.endTime / 1000),
      windowDigest: m.digest,
      modelCommitment: modelOf[i].commitment,
      trace: plain,
    };
    if (src.adaptive === undefined) return market;
    const prior = src.adaptive.priors.get(m.market);
    if (prior === undefined) {
      throw new UsageError(
        `${where}: no adaptive prior for ${m.market} (an adaptive batch steps every market)`,
      );
    }
    const step = adaptiveWindowUpdate(own.policy, plain.output, w.bars, prior, src.adaptive.rule);
    return {
      ...market,
      // the network is the model's; the policy runs with the state's calibration
      trace: { ...plain, ...step.margins },
      adaptive: {
        before: prior.state,
        marginS: prior.marginS,
        lag: prior.lag,
        outcome: step.outcome,
        after: step.after,
        calibrationNum: step.calibrationNum,
      },
    };
  });
  for (const label of src.adaptive?.priors.keys() ?? []) {
    if (!markets.some((m) => m.market === label)) {
      throw new UsageError(`an adaptive prior is given for ${label}, which is not a market of ${names[0]}`);
    }
  }
  const setCommitment = await publisherSetCommitment(publishers);
  const dataTimestamp = markets[0].dataTimestamp;
  // the batch digest's low bits: BATCH_PACKING's 91 in a plain batch, ADAPTIVE_UPDATE_PACKING's 87 in each
  // market's adaptive update
  const digestBits =
    src.adaptive === undefined ? batchDigestSignal(reference.digest) : adaptiveDigestSignal(reference.digest);
  const varying =
    src.adaptive === undefined
      ? packBatchUpdate({
          dataTimestamp,
          digest: digestBits,
          markets: markets.map((m) => ({ mm: m.trace.maintenanceMarginBps, im: m.trace.initialMarginBps })),
        })
      : markets.map((m) => {
          const t = m.adaptive as AdaptiveTransition;
          return packAdaptiveUpdate({
            mm: m.trace.maintenanceMarginBps,
            im: m.trace.initialMarginBps,
            dataTimestamp,
            before: { num: t.before.num, outcomes: BigInt(t.before.outcomes) },
            marginS: t.marginS,
            lag: BigInt(t.lag),
            after: { num: t.after.num, outcomes: BigInt(t.after.outcomes) },
            digest: digestBits,
          });
        });
  const publicSignals = [
    ...varying,
    ...markets.map((m) => m.modelCommitment),
    setCommitment,
    ...markets.map((m) => m.marketId),
    toField(src.domain),
  ];

  const s = (v: bigint) => toField(v).toString();
  const windows = reference.markets.map((m) => m.window);
  const slots = publisherSetSlots(publishers);
  const input: Record<string, SignalValue> = {
    domain: s(src.domain),
    marketId: windows.map((w) => s(w.marketId)),
    dataTimestamp: s(dataTimestamp),
    close: windows.map((w) => w.bars.map((b) => s(b.close))),
    volume: windows.map((w) => w.bars.map((b) => s(b.volume))),
    // each window's range part (layout v3: the last WINDOW_RANGE_BARS = 24 bars), as the digest signs it
    high: windows.map((w) => w.bars.slice(w.bars.length - WINDOW_RANGE_BARS).map((b) => s(b.high))),
    low: windows.map((w) => w.bars.slice(w.bars.length - WINDOW_RANGE_BARS).map((b) => s(b.low))),
    publisherCount: s(slots.n),
    publisherAx: slots.Ax.map(s),
    publisherAy: slots.Ay.map(s),
    signerIndex: signers.map((x) => s(BigInt(x.index))),
    signatureR8x: signers.map((x) => s(x.sb.signature.R8x)),
    signatureR8y: signers.map((x) => s(x.sb.signature.R8y)),
    signatureS: signers.map((x) => s(x.sb.signature.S)),
    ...weightInputs(model, mode),
  };
  if (mode === "committed") input.calibration = modelOf.map((m) => s(BigInt(m.model.policy.calibrationNum)));
  if (src.adaptive !== undefined) {
    const transitions = markets.map((m) => m.adaptive as AdaptiveTransition);
    input.stateNum = transitions.map((t) => s(t.before.num));
    input.stateOutcomes = transitions.map((t) => s(BigInt(t.before.outcomes)));
    input.marginS = transitions.map((t) => s(t.marginS));
    input.lag = transitions.map((t) => s(BigInt(t.lag)));
  }
  return {
    input,
    publicSignals,
    markets,
    dataTimestamp,
    batchDigest: reference.digest,
    publisherSetCommitment: setCommitment,
  };
}

/**
 * Each market's model and its commitment, in the batch's order: its own from `models`, or `model`. A market's
 * own model must be `model` but for the calibration (the circuit holds one network; compared value by value in
 * the model commitment's layout), and with constant weights exactly `model`.
 */
async function batchModels(
  model: QuantizedModel,
  mode: WeightMode,
  batch: SignedBatch,
  models: ReadonlyMap<string, QuantizedModel> | undefined,
  name: string,
): Promise<{ model: QuantizedModel; commitment: bigint }[]> {
  const labels = batch.markets.map((m) => m.market);
  for (const label of models?.keys() ?? []) {
    if (!labels.includes(label)) {
      throw new UsageError(
        `a model is given for ${label}, which is not a market of ${name} (${labels.join(", ")})`,
      );
    }
  }
  const baseCommitment = await modelCommitment(model);
  const out: { model: QuantizedModel; commitment: bigint }[] = [];
  for (const label of labels) {
    const own = models?.get(label);
    if (own === undefined || own === model) {
      out.push({ model, commitment: baseCommitment });
      continue;
    }
    const commitment = await modelCommitment(own);
    if (mode !== "committed" && commitment !== baseCommitment) {
      throw new UsageError(
        `${label}: its model (commitment ${commitment}) is not the circuit's compiled-in model ` +
          `(${baseCommitment}); a constant-weights batch proves that model only: compile with ` +
          "`--weights committed` to prove markets with their own calibrations",
      );
    }
    const differs = networkDifference(model, own);
    if (differs !== undefined) throw new UsageError(`${label}: ${differs}`);
    out.push({ model: own, commitment });
  }
  return out;
}

/**
 * Why `own` cannot share a batch circuit with `model` (the circuit holds one network): the first value of the
 * model commitment's layout, other than the calibration, where they differ; undefined when they share it.
 */
export function networkDifference(model: QuantizedModel, own: QuantizedModel): string | undefined {
  const base = modelCommitmentLayout(model);
  const layout = modelCommitmentLayout(own);
  const differs =
    layout.values.length !== base.values.length
      ? -1
      : layout.values.findIndex((v, k) => k !== base.calibrationIndex && v !== base.values[k]);
  if (layout.values.length === base.values.length && differs < 0) return undefined;
  return (
    "its model differs from the batch's model in more than the calibration " +
    `(${differs < 0 ? "another shape" : `value ${differs} of the model commitment's layout`}); the markets of a ` +
    "batch share one network, each with its own calibration"
  );
}
