/**
 * A job runner with only what the submission path uses: a store, a submitter, metrics and a log, and stand-ins for
 * the rest (no proving pool, no chain view, a dispatcher that drops notifications). For tests of how a job submits,
 * waits and settles, the submitter real or a stand-in.
 */
import type { Piscina } from "piscina";
import pino, { type Logger } from "pino";
import type { BatchRuntime } from "../../service/batches";
import type { ChainView } from "../../service/chain-view";
import type { ServiceConfig } from "../../service/config";
import type { Dispatcher } from "../../service/dispatcher";
import { JobRunner } from "../../service/job-runner";
import type { JobStore } from "../../service/jobs";
import type { MarketRuntime } from "../../service/markets";
import type { ServiceMetrics } from "../../service/metrics";
import type { Submitter } from "../../service/submitter";

/** What `bareJobRunner` takes; `chain` is `config.chain`'s submission settings. */
export interface BareJobRunnerParts {
  store: JobStore;
  submitter: Submitter;
  metrics: ServiceMetrics;
  holder: string;
  chain?: { maxAttempts?: number; retryBaseMs?: number; replaceAfterSeconds?: number };
  log?: Logger;
  markets?: Map<string, MarketRuntime>;
  batches?: Map<string, BatchRuntime>;
}

export function bareJobRunner(p: BareJobRunnerParts): JobRunner {
  return new JobRunner({
    markets: p.markets ?? new Map(),
    batches: p.batches ?? new Map(),
    store: p.store,
    dispatcher: { notify: async () => undefined } as unknown as Dispatcher,
    chain: {} as ChainView,
    metrics: p.metrics,
    log: p.log ?? pino({ level: "silent" }),
    config: {
      chain: { maxAttempts: 5, retryBaseMs: 1_000, replaceAfterSeconds: 180, confirmations: 1, ...p.chain },
      markets: [],
      batches: [],
    } as unknown as ServiceConfig,
    submitter: p.submitter,
    pool: { destroy: async () => undefined } as unknown as Piscina,
    holder: p.holder,
    settleTimeoutMs: 10,
  });
}
