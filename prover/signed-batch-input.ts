/**
 * The input of the signed batch circuit (circuits/generate-signed-batch-circuit.ts) from k publishers'
 * signed batches, and the public signals the proof must then carry, computed in TypeScript by the integer
 * engine.
 *
 * The batches must hold identical candles (otherwise the first differing market, bar and field are named),
 * be signed by k distinct keys of the publisher set (k = the set's quorum), hold exactly the circuit's N
 * markets, and every window must end at the same whole second and read the features' 85 bars of 2 h.
 */
import { WINDOW_RANGE_BARS } from "../candles/window";
import { toField } from "../crypto/field";
import type { WeightMode } from "../circuits/generate-circuit";
import { modelCommitment } from "../circuits/commitments";
import { batchDigestSignal, packBatchUpdate } from "../circuits/batch-statement";
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
}

/** One market of a built batch: what the proof states for it. */
export interface SignedBatchMarket {
  market: string;
  marketId: bigint;
  /** Open time of the window's last bar, seconds (the batch's one end). */
  dataTimestamp: bigint;
  windowDigest: bigint;
  trace: IntegerTrace;
}

/** The circuit input and everything the proof will state. */
export interface SignedBatchInput {
  input: Record<string, SignalValue>;
  /**
   * The V + N + 3 public signals (`batchSignalNames`): the varying signals, model, set, market ids, domain.
   */
  publicSignals: bigint[];
  markets: SignedBatchMarket[];
  /** Open time of every window's last bar, seconds. */
  dataTimestamp: bigint;
  batchDigest: bigint;
  modelCommitment: bigint;
  publisherSetCommitment: bigint;
}

/**
 * Build the signed batch input for a circuit of `batchSize` markets.
 * @throws UsageError naming the batch at fault: batches that disagree (first market, bar and field), a key
 *   not in the set, one publisher twice, a count other than the quorum, a market count other than N, a
 *   window the features do not read or not on a whole second, windows with different ends;
 *   InsufficientDataError / BoundsError from the features (no update for that window).
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
    return {
      market: m.market,
      marketId: w.marketId,
      dataTimestamp: BigInt(w.endTime / 1000),
      windowDigest: m.digest,
      trace: inferInteger(model, windowFeatures(w)),
    };
  });
  const commitment = await modelCommitment(model);
  const setCommitment = await publisherSetCommitment(publishers);
  const dataTimestamp = markets[0].dataTimestamp;
  const publicSignals = [
    ...packBatchUpdate({
      dataTimestamp,
      digest: batchDigestSignal(reference.digest),
      markets: markets.map((m) => ({ mm: m.trace.maintenanceMarginBps, im: m.trace.initialMarginBps })),
    }),
    commitment,
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
  return {
    input,
    publicSignals,
    markets,
    dataTimestamp,
    batchDigest: reference.digest,
    modelCommitment: commitment,
    publisherSetCommitment: setCommitment,
  };
}
