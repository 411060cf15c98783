/**
 * Why the service refused a request (`ProverService.request`, `ProverService.marketView`). Domain errors with
 * a stable code; the HTTP layer (api.ts) maps each code to a status.
 */
import { ZkriskError } from "../core/errors";

/** The refusals, by code. */
export type RequestRefusal =
  /** The service is stopping and takes no new work. */
  | "SHUTTING_DOWN"
  /** The market is not in this service's config. */
  | "UNKNOWN_MARKET"
  /** No bar of the market opens at the timestamp asked for (not a multiple of the bar interval). */
  | "NO_SUCH_BAR"
  /** The bar asked for has not closed yet (by the chain's time). */
  | "BAR_NOT_CLOSED"
  /**
   * The bar asked for is older than a proof of it can be of use: for a job that submits, the oracle's maximum
   * data age for the market; for a proof-only job, `api.maxBarAgeSeconds`.
   */
  | "BAR_TOO_OLD"
  /**
   * A new job, while the market (or batch) has `api.maxPendingJobsPerMarket` jobs waiting to be proved or being
   * proved.
   */
  | "TOO_MANY_JOBS"
  /** The node did not answer. */
  | "CHAIN_UNREACHABLE";

/** A request the service refused; `message` names the field and the value. */
export class RequestRefusedError extends ZkriskError {
  constructor(
    override readonly code: RequestRefusal,
    message: string,
  ) {
    super(code, message);
  }
}
