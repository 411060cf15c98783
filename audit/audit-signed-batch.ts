/**
 * Auditing the markets of signed batches: re-checking a `SignedBatchParametersUpdated` event (market, MM, IM, data
 * timestamp, the batch digest's low 91 bits, index; an adaptive batch's market: its low 87 bits) from the signed
 * batches that hold the market's window, since only those bits of the batch digest are on chain (the proof checked
 * the signatures over the full digest).
 *
 * Against the publisher set in force at its block (as for a signed update, audit-signed.ts):
 *  1. the registered quorum is the one the set file commits to;
 *  2. the signed batches with a window of the market ending at the event's bar are looked up in window
 *     directories (`--windows DIR`; a publisher's HTTP API serves single windows, not batches); each must check
 *     (every window digest, the batch digest, the signature) and its batch digest's low 91 bits must be the
 *     event's (`batchDigestSignal`);
 *  3. k distinct keys of the set in force signed that digest;
 *  4. the batch's market at the event's index is this market's window ending at the event's bar, and its
 *     features, the integer engine and the policy give the event's MM and IM;
 *  5. with an independent candle file of the market, the signed candles are the file's.
 * Checks 2 to 5 are the signed update's (`auditSignedDocuments`); the batch call's public signals are compared
 * with the event and the registered configuration in audit.ts.
 */
import { BATCH_PACKING, batchDigestSignal } from "../circuits/batch-statement";
import { ADAPTIVE_UPDATE_PACKING, adaptiveDigestSignal } from "../circuits/statement";
import type { Window } from "../candles/window";
import { isoFromMs, isoFromSeconds } from "../core/time";
import { firstBatchDisagreement, type SignedBatch } from "../publisher/signed-batch";
import type { PublisherSetConfig } from "../onchain/oracle";
import {
  auditSignedDocuments,
  checkQuorum,
  type DocumentLookup,
  type SignedAuditContext,
  type SignedEvidence,
  type SignedKind,
  type UpdateFacts,
} from "./audit-signed";

/** One market of a signed batch as its event gives it. */
export interface SignedBatchUpdateFacts extends UpdateFacts {
  /**
   * The low 91 bits of the batch digest the publishers signed (candles/batch-digest.ts, `batchDigestSignal`); of
   * an adaptive batch's market, the low 87 bits its packed update carries (`adaptiveDigestSignal`).
   */
  batchDigestBits: bigint;
  /** The market's position in the batch (its proof's public signals and the signed batch's markets). */
  index: number;
  /** One market of an adaptive batch: its margins are the policy's at this proven calibration. */
  adaptive?: { calibrationNum: bigint };
}

/** What was found for one market of a signed batch: its batch digest's low bits, its index and the evidence. */
export interface SignedBatchDetail extends SignedEvidence {
  batchDigestBits: bigint;
  index: number;
}

/** The verdict on one market of a signed batch: flags (evidence of a fault) and gaps (evidence missing). */
export interface SignedBatchUpdateAudit {
  flags: string[];
  gaps: string[];
  detail: SignedBatchDetail;
  /** The market's window in a found batch with the event's digest bits (the adaptive replay reads it). */
  window?: Window;
}

/**
 * How signed batches are compared with a batch market's update: by their batch digest's low 91 bits (a market of
 * an adaptive batch: the low 87 bits its packed update carries, `ADAPTIVE_UPDATE_PACKING.digestBits`).
 */
function batchKind(u: SignedBatchUpdateFacts): SignedKind<SignedBatch> {
  const adaptive = u.adaptive !== undefined;
  const bits = adaptive ? ADAPTIVE_UPDATE_PACKING.digestBits : BATCH_PACKING.digestBits;
  const low = adaptive ? adaptiveDigestSignal : batchDigestSignal;
  return {
    what: "signed batch",
    sourceOptions: "--windows DIR",
    digestName: `batch digest's low ${bits} bits`,
    eventDigest: String(u.batchDigestBits),
    matches: (sb) => low(sb.digest) === u.batchDigestBits,
    otherBar: (sb) => {
      const endMs = Number(u.dataTimestamp) * 1000;
      if (sb.markets.some((m) => m.window.marketId === u.marketId && m.window.endTime === endMs))
        return undefined;
      const [m] = sb.markets;
      return `a signed batch of ${sb.markets.map((x) => x.market).join(", ")} ending at ${m === undefined ? "no bar" : isoFromMs(m.window.endTime)}`;
    },
    showDigest: (sb) => String(low(sb.digest)),
    disagreement: (a, b, names) => firstBatchDisagreement([a, b], names)?.message,
    windowOf: (sb) => {
      const m = sb.markets[u.index];
      if (m === undefined || m.window.marketId !== u.marketId) {
        return (
          `the signed batch's market at index ${u.index} is ${m === undefined ? "none" : m.market}, the update ` +
          `is for ${u.market}`
        );
      }
      const endMs = Number(u.dataTimestamp) * 1000;
      if (m.window.endTime !== endMs) {
        return (
          `the signed batch's window of ${u.market} ends at ${isoFromMs(m.window.endTime)}, the update's bar is ` +
          isoFromSeconds(u.dataTimestamp)
        );
      }
      return m.window;
    },
  };
}

/**
 * Audit one market of a signed batch against the publisher set configuration in force at its block. Never
 * throws for what it finds (those are flags and gaps).
 */
export async function auditSignedBatchUpdate(
  ctx: SignedAuditContext,
  u: SignedBatchUpdateFacts,
  config: PublisherSetConfig,
): Promise<SignedBatchUpdateAudit> {
  const setFile = ctx.sets.get(config.publisherSet);
  const lookups: DocumentLookup<SignedBatch>[] = [];
  for (const source of ctx.batchSources ?? []) {
    for (const l of await source.lookupBatches(u.market, u.marketId, Number(u.dataTimestamp) * 1000)) {
      lookups.push(l.kind === "found" ? { source: l.source, kind: "found", doc: l.batch } : l);
    }
  }
  const audit = auditSignedDocuments(ctx, u, config, setFile, batchKind(u), lookups);
  return {
    flags: [...checkQuorum(config, setFile), ...audit.flags],
    gaps: audit.gaps,
    detail: { batchDigestBits: u.batchDigestBits, index: u.index, ...audit.evidence },
    ...(audit.window && { window: audit.window }),
  };
}
