/**
 * The prover service (`zkrisk serve`): for every market of its config, at every bar close (by the chain's
 * clock), it fetches the bar's signed windows from the market's publishers, needs k of them (k = the
 * publisher set's quorum) by distinct registered keys holding identical candles, computes the integer
 * engine's margins, checks that the oracle would accept them, proves the signed update in proving threads,
 * submits it (`submitSignedUpdate`) and confirms it on chain. A batch of markets (batches.ts) goes the same way
 * with the publishers' signed batches, one proof and one `submitSignedBatch` for all its markets. Jobs live in a
 * persistent store, so a crash (even `kill -9`) loses none; the chain decides what was applied, and a proof
 * is never applied twice because the oracle accepts each market's data timestamps only in increasing order.
 *
 * This class wires the parts and runs their life: the chain (chain-view.ts), the markets (markets.ts) and
 * batches (batches.ts), the
 * scheduler (scheduler.ts), the job runner (job-runner.ts), the dispatcher that hands jobs to the runner
 * (dispatcher.ts: local or Redis mode), and what the HTTP API asks (requests.ts; the API is api.ts).
 */
import { Wallet } from "ethers";
import { join } from "node:path";
import { Piscina } from "piscina";
import type { Logger } from "pino";
import { ChainView } from "./chain-view";
import type { ServiceConfig } from "./config";
import { loadSignerKey } from "./secrets";
import type { Dispatcher } from "./dispatcher";
import { JobRunner, settledWithinGrace } from "./job-runner";
import type { JobRecord, JobStore } from "./jobs";
import { loadMarkets, type MarketRuntime } from "./markets";
import { loadBatches, type BatchRuntime } from "./batches";
import { ServiceMetrics } from "./metrics";
import { RequestRefusedError } from "./request-errors";
import { ProofRequests, type MarketView } from "./requests";
import { Scheduler } from "./scheduler";
import { Submitter } from "./submitter";
import { redactUrl } from "../core/url";
import { redactedErrorMessage } from "./redaction";

/** The job id the readiness probe reads: none has it (ids are 20 hex digits), so the read is the cheapest. */
const STORE_PROBE_JOB_ID = "readiness-probe";

/** How often the job store is rid of the jobs that ended more than `schedule.keepJobsDays` ago, ms: hourly. */
export const PRUNE_INTERVAL_MS = 3_600_000;

/** Wait for `p` (if any), for `ms` at most. */
async function waitAtMost(p: Promise<unknown> | undefined, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise((done) => (timer = setTimeout(done, ms)))]);
  clearTimeout(timer);
}

/** Options of a service instance. */
export interface ServiceOptions {
  config: ServiceConfig;
  store: JobStore;
  /** How jobs reach this process: `LocalDispatcher` (embedded) or `RedisDispatcher` (shared queue). */
  dispatcher: Dispatcher;
  /** This start of this process (`host:pid:start-id`), recorded as the holder of the jobs it claims. */
  holder: string;
  log: Logger;
  /** How long to wait for a transaction's receipt before retrying (ms). */
  settleTimeoutMs?: number;
}

/** The running service: its parts, wired (the HTTP API is built on top, see api.ts). */
export class ProverService {
  readonly metrics: ServiceMetrics;
  readonly markets = new Map<string, MarketRuntime>();
  readonly batches = new Map<string, BatchRuntime>();
  private chain: ChainView | undefined;
  private scheduler: Scheduler | undefined;
  private runner: JobRunner | undefined;
  private requests: ProofRequests | undefined;
  private stopping = false;
  private started = false;
  /** The readiness probe's read of the store under way: what is wrong with the store, or nothing. */
  private storeProbe: Promise<string | undefined> | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private pruning: Promise<void> | undefined;

  constructor(private readonly opts: ServiceOptions) {
    this.metrics = new ServiceMetrics(() => opts.store.counts());
  }

  get config(): ServiceConfig {
    return this.opts.config;
  }

  get store(): JobStore {
    return this.opts.store;
  }

  /** This start of this process (`host:pid:start-id`). */
  get holder(): string {
    return this.opts.holder;
  }

  /**
   * Connect, load every market (refusing one whose publisher set on chain is not the configured one), settle
   * what a previous run left in flight, then schedule and run jobs.
   */
  async start(): Promise<void> {
    const { config: cfg, store, dispatcher, log } = this.opts;
    const key = await loadSignerKey(cfg.chain);
    const chain = (this.chain = await ChainView.connect(cfg.chain, { file: cfg.file }));
    const submitter = new Submitter(chain.provider, new Wallet(key, chain.provider), chain.oracle, {
      gasPriceCeilingWei: cfg.chain.gasPriceCeilingWei,
      confirmations: cfg.chain.confirmations,
      trackNonces: !dispatcher.sharesSigner,
    });
    for (const [id, market] of await loadMarkets(cfg, chain, store, this.metrics, log)) {
      this.markets.set(id, market);
    }
    for (const [id, batch] of await loadBatches(cfg, chain, store, this.metrics, log)) {
      this.batches.set(id, batch);
    }
    // Updates confirmed by any process sharing the store count as this one's (Redis mode).
    this.metrics.acceptedFrom(() => this.confirmedInStore());
    const pool = new Piscina({
      filename: join(__dirname, "prove-thread.cjs"),
      name: "prove",
      minThreads: cfg.concurrency,
      maxThreads: cfg.concurrency,
      idleTimeout: Number.MAX_SAFE_INTEGER,
    });
    const parts = {
      markets: this.markets,
      batches: this.batches,
      store,
      dispatcher,
      chain,
      metrics: this.metrics,
      log,
    };
    this.runner = new JobRunner({
      ...parts,
      config: cfg,
      submitter,
      pool,
      holder: this.holder,
      settleTimeoutMs: this.opts.settleTimeoutMs ?? 120_000,
    });
    this.scheduler = new Scheduler(parts);
    this.requests = new ProofRequests({ ...parts, api: cfg.api, stopping: () => this.stopping });

    await dispatcher.start(this.runner.run);
    this.started = true;
    await this.scheduler.start(cfg.schedule.pollSeconds * 1000);
    // Every process prunes (a job's test and deletion are one atomic step, so processes sharing a store agree).
    void this.prune();
    this.pruneTimer = setInterval(() => void this.prune(), PRUNE_INTERVAL_MS);
    this.pruneTimer.unref();
  }

  /**
   * Delete the jobs that ended more than `schedule.keepJobsDays` ago, so that a store does not grow for as long as
   * the service runs (a job is a few kB; 8 markets make about 35,000 a year). The chain, not the store, is the
   * record of what was accepted, and the scheduler resumes from the newest bar either way. A failure is logged
   * and the next hour tries again.
   */
  prune(now = Date.now()): Promise<void> {
    const before = now - this.config.schedule.keepJobsDays * 86_400_000;
    this.pruning ??= this.store
      .prune(before)
      .then(
        (removed) => {
          if (removed > 0)
            this.opts.log.info({ removed, before: new Date(before).toISOString() }, "old jobs pruned");
        },
        (err: unknown) => this.opts.log.warn({ err: redactedErrorMessage(err) }, "pruning old jobs failed"),
      )
      .finally(() => (this.pruning = undefined));
    return this.pruning;
  }

  /**
   * Whether the service takes work: started, not stopping, the chain reachable at the last look and on the
   * chain the service started on, and the job store answering a read now (within `STORE_READ_TIMEOUT_MS`).
   */
  async readiness(): Promise<{ ready: boolean; reason?: string }> {
    if (!this.started) return { ready: false, reason: "starting" };
    if (this.stopping) return { ready: false, reason: "shutting down" };
    const chain = this.chain!;
    if (chain.wrongChain !== undefined) return { ready: false, reason: chain.wrongChain };
    if (!chain.reachable)
      return { ready: false, reason: `chain ${redactUrl(this.config.chain.rpc)} unreachable` };
    // Probes that arrive while one read is under way share it.
    this.storeProbe ??= this.metrics
      .storeRead(() => this.store.get(STORE_PROBE_JOB_ID))
      .then(
        () => undefined,
        (err: unknown) => `job store unreadable: ${redactedErrorMessage(err)}`,
      )
      .finally(() => (this.storeProbe = undefined));
    const storeProblem = await this.storeProbe;
    return storeProblem === undefined ? { ready: true } : { ready: false, reason: storeProblem };
  }

  /**
   * Ask for the proof of a market's bar (idempotent: the same market and bar give the same job).
   * @throws RequestRefusedError (request-errors.ts).
   */
  request(
    market: string,
    dataTimestamp: number,
    submit: boolean,
  ): Promise<{ job: JobRecord; created: boolean }> {
    return this.started ? this.requests!.request(market, dataTimestamp, submit) : this.notStarted(market);
  }

  /**
   * A market's parameters on chain and its latest proof made here.
   * @throws RequestRefusedError (request-errors.ts).
   */
  marketView(market: string): Promise<MarketView> {
    return this.started ? this.requests!.marketView(market) : this.notStarted(market);
  }

  /**
   * Stop taking work, let the scheduling pass under way and the in-flight jobs finish for up to `graceMs` in
   * all, then put what is left back in the queue (a sent transaction stays recorded, and its job is due to
   * settle it) and release everything.
   */
  async stop(graceMs = 30_000): Promise<{ finished: number; requeued: number }> {
    const deadline = Date.now() + graceMs;
    this.stopping = true;
    clearInterval(this.pruneTimer);
    this.opts.dispatcher.pause();
    // A scheduling pass may be waiting on a node or a store that does not answer: it gets the grace, no more.
    // Once stopped it takes up no other market, and a bar it was still writing when the store closed is
    // scheduled again at the next start.
    await waitAtMost(this.scheduler?.stop(), graceMs);
    // A shared queue stops delivering first (and waits, within the grace, for the jobs it delivered).
    const dispatcherStopped = this.opts.dispatcher.stop();
    const result = (await this.runner?.stop(Math.max(0, deadline - Date.now()))) ?? {
      finished: 0,
      requeued: 0,
    };
    await settledWithinGrace(dispatcherStopped);
    await waitAtMost(this.pruning, Math.max(0, deadline - Date.now()));
    this.chain?.destroy();
    await this.store.close();
    return result;
  }

  /** Each market's newest data timestamp (s) among the confirmed jobs in the store (a batch's for its markets). */
  private async confirmedInStore(): Promise<Map<string, number>> {
    const latest = new Map<string, number>();
    for (const id of this.markets.keys()) {
      const job = await this.store.latest(id, ["confirmed"]);
      if (job) latest.set(id, job.dataTimestamp);
    }
    for (const b of this.batches.values()) {
      const job = await this.store.latest(b.id, ["confirmed"]);
      if (job) for (const m of b.markets) latest.set(m.id, job.dataTimestamp);
    }
    return latest;
  }

  /** Before the markets are loaded, no market is served (as the API says while `/readyz` answers 503). */
  private async notStarted(market: string): Promise<never> {
    throw new RequestRefusedError("UNKNOWN_MARKET", `market '${market}' is not served here`);
  }
}
