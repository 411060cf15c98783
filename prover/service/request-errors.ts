/**
 * Why the service refused a request (`ProverService.request`, `ProverService.marketView`). Domain errors with
 * a stable code; the HTTP layer (api.ts) maps each code to a status.
 */
import { ZkriskError } from "../../models/errors";

/** The refusals, by code. */
export type RequestRefusal =
  /** The service is stopping and takes no new work. */
  | "SHUTTING_DOWN"
  /** The market is not in this service's config. */
  | "UNKNOWN_MARKET"
  /** The market's candle source could not be read. */
  | "DATA_UNAVAILABLE"
  /** No candle of the market opens at the timestamp asked for. */
  | "NO_SUCH_BAR"
  /** The bar asked for has not closed yet (by the chain's time). */
  | "BAR_NOT_CLOSED"
  /** The data around the bar cannot be proved on (a gap, too little history, the wrong interval). */
  | "BAD_DATA"
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
