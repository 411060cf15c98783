/**
 * What the parts of a running service share (scheduler.ts, job-runner.ts, requests.ts), wired together by
 * service.ts.
 */
import type { Logger } from "pino";
import type { BatchRuntime } from "./batches";
import type { ChainView } from "./chain-view";
import type { Dispatcher } from "./dispatcher";
import type { JobStore } from "./jobs";
import type { MarketRuntime } from "./markets";
import type { ServiceMetrics } from "./metrics";

/** The markets, the batches, the store, the dispatcher, the chain, the metrics and the log of a running service. */
export interface ServiceParts {
  /** Markets proved one by one, by label. */
  markets: ReadonlyMap<string, MarketRuntime>;
  /** Markets proved together, by batch label. */
  batches: ReadonlyMap<string, BatchRuntime>;
  store: JobStore;
  /** How jobs reach the job runner (told of new and retried jobs). */
  dispatcher: Dispatcher;
  chain: ChainView;
  metrics: ServiceMetrics;
  log: Logger;
}
