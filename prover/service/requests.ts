/**
 * What the service answers the HTTP API: proofs asked for a market's bar (idempotent: the same market and
 * bar give the same job, checked against the candles and the chain's time before a job is made), and a
 * market's parameters on chain with the latest proof made here. Refusals are `RequestRefusedError`s.
 */
import { ZkriskError } from "../../models/errors";
import { latestClosedBar } from "../../feeds";
import { barProblem } from "./candles";
import { readMarketState, type OracleMarketState } from "./guards";
import { jobIdOf, type JobRecord } from "./jobs";
import { isoFromSeconds } from "../../core/time";
import { barIndexOf, type MarketRuntime } from "./markets";
import type { ServiceParts } from "./parts";
import { RequestRefusedError } from "./request-errors";

/** What the request handler works with. */
export interface ProofRequestsOptions extends ServiceParts {
  /** Whether the service is stopping (it then takes no new work). */
  stopping: () => boolean;
}

/** Proof requests and market views for the HTTP API. */
export class ProofRequests {
  constructor(private readonly o: ProofRequestsOptions) {}

  /**
   * Ask for the proof of a market's bar (idempotent: the same market and bar give the same job).
   * @throws RequestRefusedError SHUTTING_DOWN, UNKNOWN_MARKET, DATA_UNAVAILABLE, NO_SUCH_BAR, BAR_NOT_CLOSED
   *   or BAD_DATA.
   */
  async request(
    market: string,
    dataTimestamp: number,
    submit: boolean,
  ): Promise<{ job: JobRecord; created: boolean }> {
    const { store, log } = this.o;
    if (this.o.stopping()) throw new RequestRefusedError("SHUTTING_DOWN", "the service is shutting down");
    const m = this.market(market);
    const existing = await store.get(jobIdOf(market, dataTimestamp));
    if (!existing || (submit && !existing.submit)) {
      const series = await m.source.read().catch((err: Error) => {
        throw new RequestRefusedError("DATA_UNAVAILABLE", `candles of ${market}: ${err.message}`);
      });
      const index = barIndexOf(series, dataTimestamp * 1000);
      if (index < 0) {
        throw new RequestRefusedError(
          "NO_SUCH_BAR",
          `timestamp: no candle of ${market} opens at ${dataTimestamp} (${isoFromSeconds(dataTimestamp)}) in ${m.source.label}`,
        );
      }
      const now = await this.o.chain.now().catch(() => Math.floor(Date.now() / 1000));
      const closed = latestClosedBar(series, now * 1000);
      if (closed === undefined || closed < index) {
        throw new RequestRefusedError(
          "BAR_NOT_CLOSED",
          `timestamp: the bar at ${isoFromSeconds(dataTimestamp)} has not closed`,
        );
      }
      const problem = barProblem(series, index, m.model.barIntervalMs);
      if (problem) throw new RequestRefusedError("BAD_DATA", `timestamp: ${problem}`);
    }
    const r = await store.enqueue({ market, dataTimestamp, submit }, Date.now());
    if (r.created)
      log.info({ job: r.job.id, market, bar: isoFromSeconds(dataTimestamp), submit }, "job requested");
    if (r.created || (submit && !existing?.submit)) await this.o.dispatcher.notify(r.job);
    return r;
  }

  /**
   * A market's parameters on chain and its latest proof made here.
   * @throws RequestRefusedError UNKNOWN_MARKET or CHAIN_UNREACHABLE.
   */
  async marketView(market: string): Promise<{ state: OracleMarketState; latest: JobRecord | undefined }> {
    const { chain } = this.o;
    const m = this.market(market);
    let state: OracleMarketState;
    try {
      state = await readMarketState(chain.oracle, m.marketId);
      chain.reachable = true;
    } catch (err) {
      if (err instanceof ZkriskError) throw err;
      chain.reachable = false;
      throw new RequestRefusedError(
        "CHAIN_UNREACHABLE",
        `the node did not answer: ${(err as Error).message}`,
      );
    }
    if (state.last) this.o.metrics.lastAccepted.set({ market }, state.last.dataTimestamp);
    return { state, latest: await this.o.store.latest(market, ["proved", "submitting", "confirmed"]) };
  }

  private market(market: string): MarketRuntime {
    const m = this.o.markets.get(market);
    if (!m) throw new RequestRefusedError("UNKNOWN_MARKET", `market '${market}' is not served here`);
    return m;
  }
}
