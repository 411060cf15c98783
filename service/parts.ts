/**
 * What the parts of a running service share (scheduler.ts, job-runner.ts, requests.ts), wired together by
 * service.ts.
 */
import type { Logger } from "pino";
import type { ChainView } from "./chain-view";
import type { Dispatcher } from "./dispatcher";
import type { JobStore } from "./jobs";
import type { MarketRuntime } from "./markets";
import type { ServiceMetrics } from "./metrics";

/** The markets, the store, the dispatcher, the chain, the metrics and the log of a running service. */
export interface ServiceParts {
  markets: ReadonlyMap<string, MarketRuntime>;
  store: JobStore;
  /** How jobs reach the job runner (told of new and retried jobs). */
  dispatcher: Dispatcher;
  chain: ChainView;
  metrics: ServiceMetrics;
  log: Logger;
}
