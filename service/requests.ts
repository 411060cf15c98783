/**
 * What the service answers the HTTP API: proofs asked for a market's bar or a batch's bar close (idempotent:
 * the same market or batch and bar give the same job; the bar must be one of the model's interval and closed
 * by the chain's time before a job is made; the job then asks the publishers for its signed windows or
 * batches), and a market's parameters on chain with the latest proof made here. Refusals are
 * `RequestRefusedError`s.
 */
import { ZkriskError } from "../core/errors";
import { OracleError } from "../onchain/oracle";
import { readMarketState, type OracleMarketState } from "./guards";
import { jobIdOf, type JobRecord } from "./jobs";
import { isoFromSeconds } from "../core/time";
import type { ServiceParts } from "./parts";
import { redactedErrorMessage } from "./redaction";
import { RequestRefusedError } from "./request-errors";
import { latestClosedBarTime } from "./scheduler";

/** What the request handler works with. */
export interface ProofRequestsOptions extends ServiceParts {
  /** Whether the service is stopping (it then takes no new work). */
  stopping: () => boolean;
}

/** Proof requests and market views for the HTTP API. */
export class ProofRequests {
  constructor(private readonly o: ProofRequestsOptions) {}

  /**
   * Ask for the proof of a market's bar, or of a batch's bar close (idempotent: the same market or batch and
   * bar give the same job).
   * @throws RequestRefusedError SHUTTING_DOWN, UNKNOWN_MARKET, NO_SUCH_BAR or BAR_NOT_CLOSED.
   */
  async request(
    market: string,
    dataTimestamp: number,
    submit: boolean,
  ): Promise<{ job: JobRecord; created: boolean }> {
    const { store, log } = this.o;
    if (this.o.stopping()) throw new RequestRefusedError("SHUTTING_DOWN", "the service is shutting down");
    const m = this.o.markets.get(market) ?? this.o.batches.get(market);
    if (!m) {
      const batch = [...this.o.batches.values()].find((b) => b.markets.some((x) => x.id === market));
      if (batch === undefined) throw unknown(market);
      throw new RequestRefusedError(
        "UNKNOWN_MARKET",
        `market '${market}' is proved here in batch '${batch.id}', with the batch's other markets: ` +
          `ask for the batch's proof (market '${batch.id}')`,
      );
    }
    const existing = await store.get(jobIdOf(market, dataTimestamp));
    if (!existing || (submit && !existing.submit)) {
      const interval = m.model.barIntervalMs / 1000;
      if (dataTimestamp % interval !== 0) {
        throw new RequestRefusedError(
          "NO_SUCH_BAR",
          `timestamp: ${dataTimestamp} (${isoFromSeconds(dataTimestamp)}) is not the open time of a bar of ` +
            `${market} (bars of ${interval} s from the Unix epoch)`,
        );
      }
      const now = await this.o.chain.now().catch(() => Math.floor(Date.now() / 1000));
      if (dataTimestamp > latestClosedBarTime(now, m.model.barIntervalMs)) {
        throw new RequestRefusedError(
          "BAR_NOT_CLOSED",
          `timestamp: the bar at ${isoFromSeconds(dataTimestamp)} has not closed`,
        );
      }
    }
    const r = await store.enqueue({ market, dataTimestamp, submit }, Date.now());
    if (r.created)
      log.info({ job: r.job.id, market, bar: isoFromSeconds(dataTimestamp), submit }, "job requested");
    if (r.created || (submit && !existing?.submit)) await this.o.dispatcher.notify(r.job);
    return r;
  }

  /**
   * A market's parameters on chain and its latest proof made here (for a market of a batch, the batch's).
   * @throws RequestRefusedError UNKNOWN_MARKET or CHAIN_UNREACHABLE.
   */
  async marketView(market: string): Promise<MarketView> {
    const { chain } = this.o;
    const m = this.market(market);
    let state: OracleMarketState;
    try {
      state = await readMarketState(chain.oracle, m.marketId);
      chain.reachable = true;
    } catch (err) {
      // A read the node failed (no revert of the oracle's to decode) is the chain unreachable, not a refusal.
      const failedRead = err instanceof OracleError && err.reason === "unknown";
      if (err instanceof ZkriskError && !failedRead) throw err;
      chain.reachable = false;
      throw new RequestRefusedError(
        "CHAIN_UNREACHABLE",
        `the node did not answer: ${redactedErrorMessage(err)}`,
      );
    }
    if (state.last) this.o.metrics.sawAccepted(market, state.last.dataTimestamp);
    const jobs = m.batch ?? market;
    return {
      market: m,
      state,
      latest: await this.o.store.latest(jobs, ["proved", "submitting", "confirmed"]),
    };
  }

  /** A market served here, alone or in a batch. */
  private market(market: string): MarketView["market"] {
    const m = this.o.markets.get(market);
    if (m) return { id: m.id, marketId: m.marketId, modelCommitment: m.modelCommitment };
    for (const b of this.o.batches.values()) {
      const member = b.markets.find((x) => x.id === market);
      if (member) {
        return {
          id: member.id,
          marketId: member.marketId,
          modelCommitment: member.modelCommitment,
          batch: b.id,
        };
      }
    }
    throw unknown(market);
  }
}

/** What `marketView` tells of a market. */
export interface MarketView {
  market: {
    id: string;
    marketId: bigint;
    modelCommitment: bigint;
    /** The batch that proves it, if any. */
    batch?: string;
  };
  state: OracleMarketState;
  latest: JobRecord | undefined;
}

function unknown(market: string): RequestRefusedError {
  return new RequestRefusedError("UNKNOWN_MARKET", `market '${market}' is not served here`);
}
