/**
 * What the service answers the HTTP API: proofs asked for a market's bar or a batch's bar close (idempotent:
 * the same market or batch and bar give the same job; the bar must be one of the model's interval, closed by the
 * chain's time and recent enough for its proof to be of use before a job is made; the job then asks the
 * publishers for its signed windows or batches), and a market's parameters on chain with the latest proof made
 * here. Refusals are `RequestRefusedError`s.
 *
 * A token holder cannot queue unbounded work: a bar is refused when older than its proof can be of use (a job
 * that submits: older than the market's `maxDataAge` on the oracle, which would refuse it; a proof-only job: older
 * than `api.maxBarAgeSeconds`), and no new job is made for a market (or batch) that already has
 * `api.maxPendingJobsPerMarket` jobs waiting to be proved or being proved. Those are counted in the job store, by
 * the same atomic step that makes the job (`JobStore.enqueue` with a cap): whoever asked for them (the API or the
 * scheduler), and over every process that shares the store (Redis mode), so the bound holds for the whole service
 * and across restarts. The scheduler's own jobs (one per bar close) are never refused.
 */
import { ZkriskError } from "../core/errors";
import { OracleError } from "../onchain/oracle";
import { readMarketState, type OracleMarketState } from "./guards";
import { jobIdOf, PendingCapError, type JobRecord } from "./jobs";
import { isoFromSeconds } from "../core/time";
import type { BatchRuntime } from "./batches";
import type { ServiceConfig } from "./config";
import type { MarketRuntime } from "./markets";
import type { ServiceParts } from "./parts";
import { redactedErrorMessage } from "./redaction";
import { RequestRefusedError } from "./request-errors";
import { latestClosedBarTime } from "./scheduler";

/** What the request handler works with. */
export interface ProofRequestsOptions extends ServiceParts {
  /** The API's bounds on requested work (config `api`). */
  api: Pick<ServiceConfig["api"], "maxPendingJobsPerMarket" | "maxBarAgeSeconds">;
  /** Whether the service is stopping (it then takes no new work). */
  stopping: () => boolean;
}

/** The oldest a requested bar may be, seconds, and what sets it (for messages). */
interface AgeBound {
  seconds: number;
  what: string;
}

/** Proof requests and market views for the HTTP API. */
export class ProofRequests {
  constructor(private readonly o: ProofRequestsOptions) {}

  /**
   * Ask for the proof of a market's bar, or of a batch's bar close (idempotent: the same market or batch and
   * bar give the same job).
   * @throws RequestRefusedError SHUTTING_DOWN, UNKNOWN_MARKET, NO_SUCH_BAR, BAR_NOT_CLOSED, BAR_TOO_OLD or
   *   TOO_MANY_JOBS.
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
    const id = jobIdOf(market, dataTimestamp);
    const existing = await store.get(id);
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
      const bound = submit ? await this.dataAgeBound(m) : this.proofAgeBound();
      if (now - dataTimestamp > bound.seconds) throw tooOld(market, m, dataTimestamp, now, bound);
    }
    // A new job is made only under the market's cap; asking again for a job (or upgrading it to submit) is not
    // bounded by it.
    const cap = this.o.api.maxPendingJobsPerMarket;
    let r: { job: JobRecord; created: boolean };
    try {
      r = await store.enqueue({ market, dataTimestamp, submit }, Date.now(), cap);
    } catch (err) {
      if (!(err instanceof PendingCapError)) throw err;
      throw new RequestRefusedError(
        "TOO_MANY_JOBS",
        `market '${market}' has ${err.pending} jobs waiting to be proved or being proved, the most at which it ` +
          `takes a new one (api.maxPendingJobsPerMarket ${cap}): ask again once one is proved (GET /v1/proofs/:id)`,
      );
    }
    if (r.created)
      log.info({ job: r.job.id, market, bar: isoFromSeconds(dataTimestamp), submit }, "job requested");
    if (r.created || (submit && !existing?.submit)) await this.o.dispatcher.notify(r.job);
    return r;
  }

  /** The bound of a proof-only request: `api.maxBarAgeSeconds`. */
  private proofAgeBound(): AgeBound {
    return { seconds: this.o.api.maxBarAgeSeconds, what: "a proof-only request (api.maxBarAgeSeconds)" };
  }

  /**
   * The bound of a request to submit: the oracle's `maxDataAge` for the market, or the smallest of a batch's
   * markets' (the oracle takes the batch for all of them or none). When the oracle cannot be read, the bound of a
   * proof-only request: the job would wait for the chain anyway.
   */
  private async dataAgeBound(m: MarketRuntime | BatchRuntime): Promise<AgeBound> {
    const members = "markets" in m ? m.markets : [{ id: m.id, marketId: m.marketId }];
    let bound: AgeBound | undefined;
    for (const member of members) {
      let maxDataAge: number;
      try {
        maxDataAge = (await readMarketState(this.o.chain.oracle, member.marketId)).limits.maxDataAge;
      } catch (err) {
        this.o.log.warn(
          { market: member.id, err: redactedErrorMessage(err) },
          "the oracle's maxDataAge could not be read: a request to submit is bounded by api.maxBarAgeSeconds",
        );
        return this.proofAgeBound();
      }
      if (bound === undefined || maxDataAge < bound.seconds) {
        bound = { seconds: maxDataAge, what: `the oracle (maxDataAge of market ${member.id})` };
      }
    }
    return bound!;
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

/**
 * The refusal of bar `dataTimestamp` (s) of `market` (runtime `m`), `now - dataTimestamp` seconds old at chain time
 * `now`, older than `bound`: naming the field, the bound and the bars it takes.
 */
function tooOld(
  market: string,
  m: MarketRuntime | BatchRuntime,
  dataTimestamp: number,
  now: number,
  bound: AgeBound,
): RequestRefusedError {
  const interval = m.model.barIntervalMs / 1000;
  const oldest = Math.ceil((now - bound.seconds) / interval) * interval;
  const newest = latestClosedBarTime(now, m.model.barIntervalMs);
  const range =
    oldest <= newest
      ? `bars of ${market} from ${isoFromSeconds(oldest)} to ${isoFromSeconds(newest)} (the newest closed one)`
      : `no closed bar of ${market}`;
  return new RequestRefusedError(
    "BAR_TOO_OLD",
    `timestamp: ${dataTimestamp} (${isoFromSeconds(dataTimestamp)}) is ${now - dataTimestamp} s old by the ` +
      `chain's clock; ${bound.what} takes bars at most ${bound.seconds} s old: ${range}`,
  );
}

function unknown(market: string): RequestRefusedError {
  return new RequestRefusedError("UNKNOWN_MARKET", `market '${market}' is not served here`);
}
