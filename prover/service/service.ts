/**
 * The prover service (`zkrisk serve`): for every market of its config it watches the candle source, and on
 * every new closed bar computes the features and the integer engine's margins, checks that the oracle would
 * accept them, proves them in a worker pool, submits the proof and confirms it on chain. Jobs live in a
 * persistent store, so a crash (even `kill -9`) loses none; the chain decides what was applied, and a proof
 * is never applied twice because the oracle accepts each market's data timestamps only in increasing order.
 *
 * Time is the chain's: a bar is closed, and data is fresh or stale, as the oracle will judge it, by the
 * latest block's timestamp.
 */
import { Contract, JsonRpcProvider, Wallet } from "ethers";
import { hostname } from "node:os";
import { join } from "node:path";
import { Piscina } from "piscina";
import type { Logger } from "pino";
import { DataError, InsufficientDataError, ZkriskError } from "../../models/errors";
import { inferBar } from "../../models/predict";
import { loadQuantizedModel, type QuantizedModel } from "../../models/quantized-model";
import type { CandleSeries } from "../../models/types";
import { modelCommitment } from "../../circuits/commitments";
import { loadArtifacts } from "../artifacts";
import { oracleDomain } from "../domain";
import { oracleInterface, OracleError } from "../onchain/oracle";
import { ProofError, type ProvedUpdate } from "../prove-update";
import { barProblem, candleSourceOf, latestClosedBar, sharedSource, type CandleSource } from "./candles";
import { loadSignerKey, retryDelayMs, type ServiceConfig } from "./config";
import { precheck, readMarketState, type OracleMarketState } from "./guards";
import { isDue, isFinal, SET_BACKS, setBackOf } from "./job-states";
import { jobIdOf, transition, type JobRecord, type JobStore } from "./jobs";
import { ServiceMetrics } from "./metrics";
import type { Dispatcher } from "./redis-queue";
import type { ProveTask } from "./prove-task";
import { Submitter, TransientError } from "./submitter";

/** A market the service proves for, with its model and data loaded. */
export interface MarketRuntime {
  id: string;
  marketId: bigint;
  modelPath: string;
  artifactsDir: string;
  model: QuantizedModel;
  modelCommitment: bigint;
  source: CandleSource;
  /** Newest bar scheduled so far (seconds); bars at or before it are not scheduled again. */
  lastScheduled: number;
  /** Newest bar for which the source was reported late (one warning per bar). */
  lateReported?: number;
}

/** A request the API could not take, with its HTTP status. */
export class RequestError extends ZkriskError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
  ) {
    super(code, message);
  }
}

/** Options of a service instance. */
export interface ServiceOptions {
  config: ServiceConfig;
  store: JobStore;
  log: Logger;
  /** How long to wait for a transaction's receipt before retrying (ms). */
  settleTimeoutMs?: number;
  /**
   * How jobs reach this process when several share a queue (Redis mode). Without one, this process claims
   * jobs from its own store, and recovers what a previous run left in flight.
   */
  dispatcher?: Dispatcher;
}

/** Index of the candle opening at `timeMs`, or -1. */
export function barIndexOf(series: CandleSeries, timeMs: number): number {
  let lo = 0;
  let hi = series.candles.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const t = series.candles[mid].time;
    if (t === timeMs) return mid;
    if (t < timeMs) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** How long one read of a candle source serves the API and the scheduler, ms. */
export const SOURCE_MAX_AGE_MS = 1_000;

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

/** The running service: scheduler, job runner and proving pool (the HTTP API is built on top, see api.ts). */
export class ProverService {
  readonly metrics: ServiceMetrics;
  readonly markets = new Map<string, MarketRuntime>();
  readonly worker = `${hostname()}:${process.pid}`;
  private provider!: JsonRpcProvider;
  private oracle!: Contract;
  private submitter!: Submitter;
  private pool!: Piscina;
  private domain = 0n;
  private chainId = 0n;
  private inFlight = new Map<string, Promise<void>>();
  private timers: NodeJS.Timeout[] = [];
  private ticking: Promise<void> | undefined;
  private claiming = false;
  private draining = false;
  private started = false;
  private chainReachable = false;
  private readonly settleTimeoutMs: number;

  constructor(private readonly opts: ServiceOptions) {
    this.metrics = new ServiceMetrics(() => opts.store.counts());
    this.settleTimeoutMs = opts.settleTimeoutMs ?? 120_000;
  }

  get config(): ServiceConfig {
    return this.opts.config;
  }

  get store(): JobStore {
    return this.opts.store;
  }

  private get log(): Logger {
    return this.opts.log;
  }

  /** Connect, load every market, settle what a previous run left in flight, then schedule and run jobs. */
  async start(): Promise<void> {
    const cfg = this.config;
    const key = await loadSignerKey(cfg.chain);
    this.provider = new JsonRpcProvider(cfg.chain.rpc, undefined, { staticNetwork: false, cacheTimeout: -1 });
    try {
      this.chainId = (await this.provider.getNetwork()).chainId;
    } catch (err) {
      this.provider.destroy();
      throw new ZkriskError(
        "CHAIN_UNREACHABLE",
        `chain.rpc: cannot reach ${cfg.chain.rpc}: ${(err as Error).message}`,
      );
    }
    this.chainReachable = true;
    const wallet = new Wallet(key, this.provider);
    this.oracle = new Contract(cfg.chain.oracle, oracleInterface(), this.provider);
    if ((await this.provider.getCode(cfg.chain.oracle)) === "0x") {
      throw new ZkriskError(
        "CONFIG_INVALID",
        `chain.oracle: no contract at ${cfg.chain.oracle} on ${cfg.chain.rpc}`,
      );
    }
    this.domain = oracleDomain(this.chainId, cfg.chain.oracle);
    this.submitter = new Submitter(this.provider, wallet, this.oracle, {
      gasPriceCeilingWei: cfg.chain.gasPriceCeilingWei,
      confirmations: cfg.chain.confirmations,
      // Processes sharing a queue share the key too: none of them can count its nonces alone.
      trackNonces: !this.opts.dispatcher,
    });

    for (const m of cfg.markets) {
      const model = loadQuantizedModel(m.model);
      if (model.funding) {
        throw new ZkriskError(
          "CONFIG_INVALID",
          `markets: ${m.id}: the model ${m.model} uses funding-rate features, which the service has no source for`,
        );
      }
      loadArtifacts(m.artifacts, { modelPath: m.model }); // every file against its manifest, now, not mid-proof
      const runtime: MarketRuntime = {
        id: m.id,
        marketId: m.marketId,
        modelPath: m.model,
        artifactsDir: m.artifacts,
        model,
        modelCommitment: await modelCommitment(model),
        source: sharedSource(candleSourceOf(m.candles), SOURCE_MAX_AGE_MS),
        lastScheduled: 0,
      };
      const state = await readMarketState(this.oracle, runtime.marketId);
      if (state.modelCommitment !== runtime.modelCommitment) {
        this.log.warn(
          {
            market: m.id,
            registered: state.modelCommitment.toString(),
            ours: runtime.modelCommitment.toString(),
          },
          "the oracle expects another model for this market: its updates will be skipped",
        );
      }
      const onChain = state.last?.dataTimestamp ?? 0;
      if (onChain) this.metrics.lastAccepted.set({ market: m.id }, onChain);
      runtime.lastScheduled = Math.max(onChain, await this.store.maxDataTimestamp(m.id));
      this.markets.set(m.id, runtime);
      this.log.info(
        {
          market: m.id,
          lastOnChain: onChain ? iso(onChain) : null,
          lastScheduled: iso(runtime.lastScheduled),
        },
        "market loaded",
      );
    }

    this.pool = new Piscina({
      filename: join(__dirname, "prove-worker.cjs"),
      name: "prove",
      minThreads: cfg.concurrency,
      maxThreads: cfg.concurrency,
      idleTimeout: Number.MAX_SAFE_INTEGER,
    });

    const dispatcher = this.opts.dispatcher;
    if (dispatcher) {
      // Shared queue: a job whose worker died is delivered again by the queue, to whichever worker is free.
      await dispatcher.start(async (job) => {
        if (job.status === "submitting" && job.tx) {
          this.log.info({ job: job.id, tx: job.tx.hash }, "settling a transaction sent before a restart");
        }
        this.track(job);
        await this.inFlight.get(job.id);
      });
    } else {
      // What the last run left in flight: proofs go back to the queue; sent transactions are settled first.
      const recovered = await this.store.recoverInFlight(Date.now());
      for (const job of recovered) {
        this.log.info({ job: job.id, tx: job.tx?.hash }, "settling a transaction sent before a restart");
        this.track(job);
      }
      this.timers.push(setInterval(() => void this.claim(), 250));
    }
    this.started = true;
    this.timers.push(setInterval(() => void this.tick(), cfg.schedule.pollSeconds * 1000));
    await this.tick();
    void this.claim();
  }

  /** Whether the service takes work: started, not draining, chain reachable at the last look. */
  readiness(): { ready: boolean; reason?: string } {
    if (!this.started) return { ready: false, reason: "starting" };
    if (this.draining) return { ready: false, reason: "shutting down" };
    if (!this.chainReachable) return { ready: false, reason: `chain ${this.config.chain.rpc} unreachable` };
    return { ready: true };
  }

  /** Latest block time (s); also records whether the chain answers. */
  private async chainNow(): Promise<number> {
    try {
      const block = await this.provider.getBlock("latest");
      this.chainReachable = true;
      return block!.timestamp;
    } catch (err) {
      this.chainReachable = false;
      throw new TransientError(`the node did not answer: ${(err as Error).message}`);
    }
  }

  /** One scheduling pass over every market (never two at once). */
  tick(): Promise<void> {
    if (this.draining) return Promise.resolve();
    this.ticking ??= this.schedule().finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  private async schedule(): Promise<void> {
    if (this.opts.dispatcher && !this.opts.dispatcher.isLeader()) return;
    let now: number;
    try {
      now = await this.chainNow();
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, "scheduling skipped: chain unreachable");
      return;
    }
    for (const m of this.markets.values()) {
      if (this.draining) return;
      let series: CandleSeries;
      try {
        series = await m.source.read();
      } catch (err) {
        this.metrics.skipped.inc({ market: m.id, reason: "data" });
        this.log.warn(
          { market: m.id, reason: (err as Error).message },
          "no update: candle source unreadable",
        );
        continue;
      }
      const index = latestClosedBar(series, now * 1000);
      if (index === undefined) continue;
      const ts = series.candles[index].time / 1000;
      // The bar after it should have closed by now: the feed is late (the update waits for it).
      const lateBy = now - (ts + (2 * series.intervalMs) / 1000);
      if (lateBy > 0 && m.lateReported !== ts) {
        m.lateReported = ts;
        this.metrics.skipped.inc({ market: m.id, reason: "late" });
        this.log.warn(
          { market: m.id, lastBar: iso(ts), lateSeconds: lateBy, source: m.source.label },
          "candle source is late: no newer closed bar",
        );
      }
      if (ts <= m.lastScheduled) continue;
      try {
        const { job, created } = await this.store.enqueue(
          { market: m.id, dataTimestamp: ts, submit: true },
          Date.now(),
        );
        if (created) this.log.info({ job: job.id, market: m.id, bar: iso(ts) }, "new closed bar: job queued");
        await this.dispatch(job);
        m.lastScheduled = ts;
      } catch (err) {
        // The store or the queue did not answer: the bar is scheduled again at the next pass.
        this.log.error({ market: m.id, bar: iso(ts), err: (err as Error).message }, "scheduling failed");
      }
    }
  }

  /** Hand a job that is due (new, upgraded or set back for a retry) to whoever runs jobs. */
  private async dispatch(job: JobRecord): Promise<void> {
    if (!this.opts.dispatcher) {
      void this.claim();
      return;
    }
    if (isDue(job)) await this.opts.dispatcher.notify(job);
  }

  /** Take due jobs while there is room (never two claim loops at once). */
  async claim(): Promise<void> {
    if (this.opts.dispatcher || this.claiming || this.draining || !this.started) return;
    this.claiming = true;
    try {
      while (!this.draining && this.inFlight.size < this.config.concurrency) {
        const job = await this.store.claimNext(this.worker, Date.now());
        if (!job) break;
        this.track(job);
      }
    } catch (err) {
      this.log.error({ err: (err as Error).message }, "claiming jobs failed");
    } finally {
      this.claiming = false;
    }
  }

  private track(job: JobRecord): void {
    const run = this.run(job)
      // A step's failure is recorded by `run`; this is the store or queue failing while recording it.
      .catch((err: Error) => this.log.error({ job: job.id, err: err.message }, "job bookkeeping failed"))
      .finally(() => {
        this.inFlight.delete(job.id);
        void this.claim();
      });
    this.inFlight.set(job.id, run);
  }

  /** Carry a claimed job as far as it goes: prove, then (if asked) submit and confirm. */
  private async run(claimed: JobRecord): Promise<void> {
    const log = this.log.child({ job: claimed.id, market: claimed.market, bar: iso(claimed.dataTimestamp) });
    try {
      if (claimed.attempts >= this.config.chain.maxAttempts) {
        // Only crashes get a job here with its attempts spent (a failed step ends it in `fail`).
        const reason = `gave up after ${claimed.attempts} attempts, the last ones cut short by the process stopping`;
        log.error({ reason }, "job failed");
        await transition(this.store, claimed.id, "failed", { reason }, Date.now());
        return;
      }
      let job: JobRecord | undefined = claimed;
      if (job.status === "proving") job = await this.prove(job, log);
      if (job?.status === "proved" && job.submit) {
        job = await transition(this.store, job.id, "submitting", {}, Date.now(), ["proved"]);
      }
      if (job?.status === "submitting") await this.submit(job, log);
    } catch (err) {
      await this.fail(claimed.id, err, log);
    }
  }

  private async skip(job: JobRecord, reason: string, kind: string, log: Logger): Promise<undefined> {
    this.metrics.skipped.inc({ market: job.market, reason: kind });
    log.warn({ reason }, "update skipped");
    await transition(this.store, job.id, "skipped", { reason }, Date.now());
    return undefined;
  }

  private async prove(job: JobRecord, log: Logger): Promise<JobRecord | undefined> {
    const m = this.markets.get(job.market);
    if (!m) return this.skip(job, `market ${job.market} is not in this service's config`, "config", log);
    const series = await m.source.read();
    const index = barIndexOf(series, job.dataTimestamp * 1000);
    if (index < 0) {
      return this.skip(
        job,
        `no candle opening at ${iso(job.dataTimestamp)} in ${m.source.label}`,
        "data",
        log,
      );
    }
    const problem = barProblem(series, index, m.model.barIntervalMs);
    if (problem) return this.skip(job, problem, "data", log);
    const bar = inferBar(m.model, series, undefined, index);
    if (job.submit) {
      const refusal = precheck(
        await readMarketState(this.oracle, m.marketId),
        {
          modelCommitment: m.modelCommitment,
          dataTimestamp: job.dataTimestamp,
          maintenanceMarginBps: Number(bar.trace.maintenanceMarginBps),
          initialMarginBps: Number(bar.trace.initialMarginBps),
        },
        (await this.chainNow()) + 1,
      );
      if (refusal) return this.skip(job, `the oracle would refuse it: ${refusal.reason}`, refusal.error, log);
    }
    log.info("proving");
    const task: ProveTask = {
      artifactsDir: m.artifactsDir,
      modelPath: m.modelPath,
      market: m.id,
      featuresInt: bar.featuresInt.map(String),
      features: bar.features,
      marketId: m.marketId.toString(),
      dataTimestamp: job.dataTimestamp,
      domain: this.domain.toString(),
    };
    const t0 = performance.now();
    let update: ProvedUpdate;
    try {
      update = (await this.pool.run(task)) as ProvedUpdate;
    } catch (err) {
      this.metrics.proofs.inc({ market: m.id, outcome: "failed" });
      throw err;
    }
    const seconds = (performance.now() - t0) / 1000;
    this.metrics.proofs.inc({ market: m.id, outcome: "proved" });
    this.metrics.provingSeconds.observe({ market: m.id }, seconds);
    log.info(
      {
        ms: Math.round(seconds * 1000),
        mm: update.parameters.maintenanceMarginBps,
        im: update.parameters.initialMarginBps,
      },
      "proved",
    );
    return transition(
      this.store,
      job.id,
      "proved",
      { update, holder: this.worker, reason: null },
      Date.now(),
      ["proving"],
    );
  }

  private async submit(job: JobRecord, log: Logger): Promise<void> {
    let tx = job.tx;
    if (!tx) {
      tx = await this.submitter.sign(job.update!);
      // Recorded before it is sent: after a crash the same transaction is looked up, never a second one made.
      await this.store.update(job.id, { tx }, Date.now(), ["submitting"]);
      log.info({ tx: tx.hash, nonce: tx.nonce }, "transaction signed");
    }
    if (!(await this.submitter.broadcast(tx))) {
      await transition(this.store, job.id, "proved", { tx: null }, Date.now(), ["submitting"]);
      throw new TransientError(`transaction ${tx.hash} was dropped (nonce ${tx.nonce} taken); signing again`);
    }
    log.info({ tx: tx.hash }, "submitted");
    const s = await this.submitter.settle(tx, this.settleTimeoutMs);
    switch (s.status) {
      case "confirmed": {
        await transition(this.store, job.id, "confirmed", { block: s.block, reason: null }, Date.now());
        this.metrics.accepted.inc({ market: job.market });
        this.metrics.lastAccepted.set({ market: job.market }, job.dataTimestamp);
        log.info({ tx: tx.hash, block: s.block }, "update accepted on chain");
        return;
      }
      case "reverted":
        throw new OracleError("reverted", `transaction ${tx.hash} reverted in block ${s.block}: ${s.reason}`);
      case "dropped":
        await transition(this.store, job.id, "proved", { tx: null }, Date.now(), ["submitting"]);
        throw new TransientError(
          `transaction ${tx.hash} was dropped (nonce ${tx.nonce} taken); signing again`,
        );
      case "pending":
        // Still in the node's pool: waiting for it is not a failed attempt (the same transaction is settled later).
        throw new TransientError(`transaction ${tx.hash} not mined within ${this.settleTimeoutMs} ms`, false);
    }
  }

  /** Record a failed step: refusals and bad data end the job; other failures retry with backoff. */
  private async fail(id: string, err: unknown, log: Logger): Promise<void> {
    const job = await this.store.get(id);
    if (!job || isFinal(job)) return;
    const message = (err as Error).message ?? String(err);
    const now = Date.now();
    if (err instanceof OracleError && err.reason !== "unknown") {
      this.metrics.submitFailures.inc({ market: job.market, reason: err.reason });
      log.error({ reason: message }, "update refused by the oracle");
      await transition(this.store, id, "rejected", { reason: message }, now);
      return;
    }
    if (err instanceof DataError || err instanceof InsufficientDataError) {
      await this.skip(job, message, "data", log);
      return;
    }
    const counts = !(err instanceof TransientError) || err.countsAsAttempt;
    const attempts = job.attempts + (counts ? 1 : 0);
    if (job.status === "submitting" || job.status === "proved") {
      this.metrics.submitFailures.inc({ market: job.market, reason: "transient" });
    }
    if (err instanceof ProofError || attempts >= this.config.chain.maxAttempts) {
      log.error({ reason: message, attempts }, "job failed");
      await transition(this.store, id, "failed", { reason: message, attempts }, now);
      return;
    }
    const delay = retryDelayMs(this.config.chain.retryBaseMs, Math.max(1, attempts));
    log.warn({ reason: message, attempts, retryInMs: delay }, "step failed; will retry");
    // Set back from where it failed: a proof is made again, a proved update submitted again.
    const retry = await transition(
      this.store,
      id,
      setBackOf(job.status),
      { reason: message, attempts, notBefore: now + delay },
      now,
    );
    if (retry) await this.dispatch(retry);
  }

  // ------------------------------------------------------------------------------ for the HTTP API

  /** Ask for the proof of a market's bar (idempotent: the same market and bar give the same job). */
  async request(
    market: string,
    dataTimestamp: number,
    submit: boolean,
  ): Promise<{ job: JobRecord; created: boolean }> {
    if (this.draining) throw new RequestError(503, "SHUTTING_DOWN", "the service is shutting down");
    const m = this.markets.get(market);
    if (!m) throw new RequestError(404, "UNKNOWN_MARKET", `market '${market}' is not served here`);
    const existing = await this.store.get(jobIdOf(market, dataTimestamp));
    if (!existing || (submit && !existing.submit)) {
      const series = await m.source.read().catch((err: Error) => {
        throw new RequestError(503, "DATA_UNAVAILABLE", `candles of ${market}: ${err.message}`);
      });
      const index = barIndexOf(series, dataTimestamp * 1000);
      if (index < 0) {
        throw new RequestError(
          422,
          "NO_SUCH_BAR",
          `timestamp: no candle of ${market} opens at ${dataTimestamp} (${iso(dataTimestamp)}) in ${m.source.label}`,
        );
      }
      const now = await this.chainNow().catch(() => Math.floor(Date.now() / 1000));
      if (latestClosedBar(series, now * 1000) === undefined || latestClosedBar(series, now * 1000)! < index) {
        throw new RequestError(
          422,
          "BAR_NOT_CLOSED",
          `timestamp: the bar at ${iso(dataTimestamp)} has not closed`,
        );
      }
      const problem = barProblem(series, index, m.model.barIntervalMs);
      if (problem) throw new RequestError(422, "BAD_DATA", `timestamp: ${problem}`);
    }
    const r = await this.store.enqueue({ market, dataTimestamp, submit }, Date.now());
    if (r.created) this.log.info({ job: r.job.id, market, bar: iso(dataTimestamp), submit }, "job requested");
    if (r.created || (submit && !existing?.submit)) await this.dispatch(r.job);
    return r;
  }

  /** A market's parameters on chain and its latest proof made here. */
  async marketView(market: string): Promise<{ state: OracleMarketState; latest: JobRecord | undefined }> {
    const m = this.markets.get(market);
    if (!m) throw new RequestError(404, "UNKNOWN_MARKET", `market '${market}' is not served here`);
    let state: OracleMarketState;
    try {
      state = await readMarketState(this.oracle, m.marketId);
      this.chainReachable = true;
    } catch (err) {
      if (err instanceof ZkriskError) throw err;
      this.chainReachable = false;
      throw new RequestError(503, "CHAIN_UNREACHABLE", `the node did not answer: ${(err as Error).message}`);
    }
    if (state.last) this.metrics.lastAccepted.set({ market }, state.last.dataTimestamp);
    return { state, latest: await this.store.latest(market, ["proved", "submitting", "confirmed"]) };
  }

  /**
   * Stop taking work, let in-flight jobs finish for up to `graceMs`, then put what is left back in the queue
   * (a sent transaction stays recorded and is settled at the next start) and release everything.
   */
  async stop(graceMs = 30_000): Promise<{ finished: number; requeued: number }> {
    this.draining = true;
    for (const t of this.timers) clearInterval(t);
    await this.ticking;
    // A shared queue stops delivering first (and waits, within the grace, for the jobs it delivered).
    const dispatcherStopped = this.opts.dispatcher?.stop();
    const pending = [...this.inFlight.keys()];
    const all = Promise.allSettled([...this.inFlight.values()]);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      all.then(() => false),
      new Promise<boolean>((done) => (timer = setTimeout(() => done(true), graceMs))),
    ]);
    clearTimeout(timer);
    let requeued = 0;
    // After the grace, proofs are cut short; a job still waiting on the chain gets a few seconds more.
    const settled = (p: Promise<unknown> | undefined) =>
      Promise.race([p, new Promise((done) => setTimeout(done, 5_000).unref())]);
    if (timedOut) {
      await this.pool?.destroy();
      await settled(all);
      for (const id of pending) {
        const now = Date.now();
        const job = await this.store.get(id);
        const rule = SET_BACKS.find((s) => s.from === job?.status);
        if (job && rule && !(rule.unlessSent && job.tx)) {
          await transition(this.store, id, rule.to, {}, now, [rule.from]);
        }
        // Back in the queue, or (a sent transaction) to be settled at the next start.
        const after = await this.store.get(id);
        if (after && !isFinal(after)) requeued++;
      }
    } else {
      await this.pool?.destroy();
    }
    await settled(dispatcherStopped);
    this.provider?.destroy();
    await this.store.close();
    return { finished: pending.length - requeued, requeued };
  }
}
