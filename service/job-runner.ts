/**
 * The job runner: carries a claimed job as far as it goes (collect the bar's signed windows from the market's
 * publishers, or a batch's signed batches, prove the signed update or batch in a proving thread, then, if
 * asked, submit and confirm), records each step in the store along the transitions of job-states.ts, and
 * classifies failures: refusals and bad data end the job, other failures are retried with backoff until the
 * attempts are spent. A bar whose quorum late publishers could still make up is no failure: the job waits for
 * them, spending no attempt, until its deadline (`waitForPublishers`). Nor is a wait on the chain (a node that does
 * not answer, a gas price above the ceiling, an earlier transaction of the market not settled: `waitOnChain`), and
 * a market has one unsettled transaction at a time, its newest bar's (`supersededOrWaiting`). A sent transaction
 * left pending, or lost by the node and refused as underpriced, is replaced with higher fees (`replaceIfDue`), and
 * one the node refuses as invalid is signed again once (`clearRefused`); a transaction cleared to be signed again
 * starts the count of attempts again (`clearToSignAgain`). On stop it lets the runs in flight finish within a
 * grace, then cuts proofs short and sets back what was left in flight.
 */
import type { Piscina } from "piscina";
import type { Logger } from "pino";
import { windowFeatures } from "../features/window-features";
import { BoundsError, DataError, InsufficientDataError } from "../core/errors";
import { inferInteger, type IntegerTrace } from "../models/integer-engine";
import { adaptiveWindowUpdate } from "../models/adaptive";
import { OracleError, readAdaptivePrior, type AdaptivePriorView } from "../onchain/oracle";
import type { AdaptivePriorState, ProvedSignedUpdate } from "../prover/prove-signed-update";
import { ProofError } from "../prover/checked-proof";
import type { ServiceConfig } from "./config";
import { CHAIN_WAIT_LOG_EVERY_MS, chainWaitDelayMs, publisherPollDelayMs, retryDelayMs } from "./retry";
import { dataTimeRefusal, precheck, readMarketState } from "./guards";
import { isFinal, SET_BACKS, setBackOf } from "./job-states";
import {
  isBatchProof,
  jobIdOf,
  transition,
  type JobEvent,
  type JobFieldPatch,
  type JobRecord,
  type ProvedJob,
  type SentTransaction,
} from "./jobs";
import { isoFromSeconds, isoFromSecondsCompact } from "../core/time";
import type { ServiceParts } from "./parts";
import type { BatchProveTask, ProveTask } from "./prove-task";
import { QuorumError } from "./publisher-windows";
import type { ProvedSignedBatch } from "../prover/prove-signed-batch";
import type { BatchRuntime } from "./batches";
import {
  formatGwei,
  hashesOf,
  NodeRefusalError,
  TransientError,
  UnderpricedError,
  waitReasonOf,
  type Submitter,
  type WaitReason,
} from "./submitter";
import type { MarketRuntime } from "./markets";

/**
 * An adaptive prior for the log: `num N, outcomes O, MM_s M, lag L` (MM_s: the accepted MM of the outcome's bar
 * s = t - 12 - L, 0 when no outcome is pending).
 */
function priorText(p: AdaptivePriorState): string {
  return `num ${p.state.num}, outcomes ${p.state.outcomes}, MM_s ${p.marginS}, lag ${p.lag}`;
}

/** The prior the oracle reports (`readAdaptivePrior`) as a proof starts from it. */
function priorOf(view: AdaptivePriorView): AdaptivePriorState {
  return { state: { num: view.num, outcomes: view.outcomes }, marginS: view.marginS, lag: view.lag };
}

/**
 * The prior a proved adaptive update was proved from, as `priorText` writes it; an adaptive batch's, each
 * market's, named.
 */
function provedPriorText(update: ProvedJob): string {
  // (a proof file written before outcomes could lag carries no lag)
  const text = (p: { num: string; outcomes: number; marginS: number; lag?: number }) =>
    `num ${p.num}, outcomes ${p.outcomes}, MM_s ${p.marginS}${p.lag === undefined ? "" : `, lag ${p.lag}`}`;
  if (isBatchProof(update))
    return update.markets.map((m) => `${m.market}: ${text(m.adaptive!.prior)}`).join("; ");
  return text((update as ProvedSignedUpdate).adaptive!.prior);
}

/**
 * How many times an adaptive update whose transaction reverted with `OracleAdaptiveStateMismatch` (another
 * update landed first, in an earlier block or earlier in the same one) is proved again from the oracle's new
 * prior and resent; a further such revert ends the job as `rejected`.
 */
export const ADAPTIVE_RESENDS = 1;

/**
 * How many times a job whose transaction the node refused as invalid (none of its transactions mined) is signed
 * again; a further such refusal ends the job as `failed`.
 */
export const NODE_REFUSAL_RESIGNS = 1;

/**
 * How far back, in bars, a job about to sign looks for an earlier bar's job of its market whose transaction is not
 * settled (`unsettledBefore`): 4 days of 2-hour bars. A transaction older than that still blocks the key's later
 * ones by its nonce, but is no longer looked for; the job then signs as it would with none.
 */
export const EARLIER_BARS_LOOKED_AT = 48;

/** What a job waiting on the chain waits for, in words: the end of its reason, and its log lines. */
const WAITING_FOR: Record<WaitReason, string> = {
  gas_price: "waiting for a gas price under the ceiling",
  node_unreachable: "waiting for the node to answer",
  earlier_transaction: "waiting for the market's earlier transaction to settle",
};

/**
 * The reason of a job waiting on the chain: the step's `message`, then what it waits for and since when (`since`,
 * ms). The wait's start is kept in the job's record, so that whichever process looks next (Redis mode), or this one
 * after a restart, backs off by the whole time waited (`waitIn`).
 */
export function waitingReason(message: string, what: WaitReason, since: number): string {
  return `${message} (${WAITING_FOR[what]} since ${new Date(since).toISOString()})`;
}

/** What a job's reason (`waitingReason`) says it waits for on the chain, and since when (ms); or undefined. */
export function waitIn(reason: string | null): { what: WaitReason; since: number } | undefined {
  const m = / \((waiting for [^()]*) since (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)\)$/.exec(reason ?? "");
  if (m === null) return undefined;
  const what = (Object.keys(WAITING_FOR) as WaitReason[]).find((w) => WAITING_FOR[w] === m[1]);
  return what === undefined ? undefined : { what, since: Date.parse(m[2]) };
}

/**
 * What making a proof came to: the proved update, why there is none (the job is skipped), or a quorum that late
 * publishers could still make up (the job waits for them).
 */
type Made = { update: ProvedJob } | { skip: string; kind: string } | { wait: QuorumError };

/**
 * The bar's quorum of signed windows or batches, or why there is none: a shortfall that publishers yet to answer
 * could still make up is a wait (`waitForPublishers`), a final one skips the job.
 */
async function quorumOf<Q extends object>(
  collect: () => Promise<Q>,
): Promise<Q | { skip: string; kind: string } | { wait: QuorumError }> {
  try {
    return await collect();
  } catch (err) {
    if (!(err instanceof QuorumError)) throw err;
    if (err.transient) return { wait: err };
    return { skip: err.message, kind: "quorum" };
  }
}

/** What the job runner works with. */
export interface JobRunnerOptions extends ServiceParts {
  config: ServiceConfig;
  submitter: Submitter;
  /** The proving threads (piscina), running prove-task.ts. */
  pool: Piscina;
  /** This start of this process (`host:pid:start-id`), recorded on the jobs it proves. */
  holder: string;
  /** How long to wait for a transaction's receipt before retrying, ms. */
  settleTimeoutMs: number;
}

/** How long runs cut short after the grace, and the dispatcher, are given to settle, ms. */
export const SETTLE_AFTER_GRACE_MS = 5_000;

/** Wait for `p`, but not longer than `SETTLE_AFTER_GRACE_MS`. */
export function settledWithinGrace(p: Promise<unknown> | undefined): Promise<unknown> {
  return Promise.race([p, new Promise((done) => setTimeout(done, SETTLE_AFTER_GRACE_MS).unref())]);
}

/** Runs claimed jobs: prove, submit, confirm; records every step and failure. */
export class JobRunner {
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Set when a stop's grace has ended: what fails from then on was cut short, and is set back by `stop`. */
  private cutShort = false;
  /**
   * Per job in flight, the hash (lower case) of its recorded transaction that this run found mined and reverted: it
   * is settled, so it no longer keeps the job from `chain.maxAttempts` (`fail`).
   */
  private readonly reverted = new Map<string, string>();

  constructor(private readonly o: JobRunnerOptions) {}

  /** Run a claimed job; resolves (never rejects) when its run has ended. */
  readonly run = (job: JobRecord): Promise<void> => {
    const run = this.carry(job)
      // A step's failure is recorded by `carry`; this is the store or queue failing while recording it.
      .catch((err: Error) => this.o.log.error({ job: job.id, err: err.message }, "job bookkeeping failed"))
      .finally(() => this.inFlight.delete(job.id));
    this.inFlight.set(job.id, run);
    return run;
  };

  /**
   * Let the runs in flight finish for up to `graceMs`; after that, cut proofs short, give the runs a few
   * seconds to settle, and set back what is still in flight (a sent transaction stays recorded, and the job is
   * due to settle it). Closes the proving threads. Returns how many runs finished and how many
   * jobs went back to the queue.
   */
  async stop(graceMs: number): Promise<{ finished: number; requeued: number }> {
    const { store, pool } = this.o;
    const pending = [...this.inFlight.keys()];
    const all = Promise.allSettled([...this.inFlight.values()]);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      all.then(() => false),
      new Promise<boolean>((done) => (timer = setTimeout(() => done(true), graceMs))),
    ]);
    clearTimeout(timer);
    this.cutShort = timedOut;
    await pool.destroy();
    if (!timedOut) return { finished: pending.length, requeued: 0 };
    await settledWithinGrace(all);
    let requeued = 0;
    for (const id of pending) {
      const job = await store.get(id);
      const rule = SET_BACKS.find((s) => s.from === job?.status);
      if (job && rule) {
        // Due again from now: a new due time, so that a shared queue takes it as a new delivery (redis-queue.ts). A
        // sent transaction stays recorded, to be settled by whichever process takes the job (its delivery in a
        // shared queue is done: left in flight, the job would wait for ever).
        await transition(store, id, rule.to, { notBefore: Date.now() }, Date.now(), [rule.from]);
      }
      // Back in the queue (a sent transaction to be settled).
      const after = await store.get(id);
      if (after && !isFinal(after)) requeued++;
    }
    return { finished: pending.length - requeued, requeued };
  }

  /** Carry a claimed job as far as it goes: prove, then (if asked) submit and confirm. */
  private async carry(claimed: JobRecord): Promise<void> {
    const { store, config } = this.o;
    const log = this.o.log.child({
      job: claimed.id,
      market: claimed.market,
      bar: isoFromSeconds(claimed.dataTimestamp),
    });
    try {
      if (claimed.attempts >= config.chain.maxAttempts && claimed.tx === null) {
        // Only crashes get a job here with its attempts spent (a failed step ends it in `fail`); a job with a
        // sent transaction is settled against the chain, however many attempts that takes (see `fail`).
        const reason = `gave up after ${claimed.attempts} attempts, the last ones cut short by the process stopping`;
        log.error({ reason }, "job failed");
        await transition(store, claimed.id, "failed", { reason }, Date.now());
        return;
      }
      let job: JobRecord | undefined = claimed;
      if (job.status === "proving") job = await this.prove(job, log);
      if (job?.status === "proved" && job.submit) {
        job = await transition(store, job.id, "submitting", {}, Date.now(), ["proved"]);
      }
      if (job?.status === "submitting") await this.submit(job, log);
      this.waitOver(claimed, waitIn(claimed.reason), log);
    } catch (err) {
      if (this.cutShort) {
        // Cut short by a stop (its proof cancelled): `stop` sets it back, as it was; no attempt is spent.
        log.info({ reason: (err as Error).message }, "run cut short by the stop");
        return;
      }
      await this.fail(claimed.id, err, log);
    } finally {
      this.reverted.delete(claimed.id);
    }
  }

  /**
   * A bar's quorum short of k while publishers that have not signed the bar or did not answer could still make it
   * up (`short`): the job goes back to the queue to ask them again, with no attempt spent and no failure counted,
   * after `publisherPollDelayMs` (a quarter of the time waited since the bar's close, from `chain.retryBaseMs` up to
   * 30 s). It waits until its deadline, `publishers.waitSeconds` after the bar's close by the chain's clock; then it
   * is skipped (`quorum_deadline`) with every publisher's last answer. A job that submits is skipped sooner when the
   * oracle would refuse the bar for its time whatever its margins: a newer update was accepted (a newer bar's job
   * got its quorum first: `OracleNotNewer`), or the data is older than the market's maximum age (`OracleStaleData`).
   */
  private async waitForPublishers(job: JobRecord, short: QuorumError, log: Logger): Promise<undefined> {
    const { chain, config, metrics, store } = this.o;
    const m = this.o.markets.get(job.market);
    const b = this.o.batches.get(job.market);
    const entry = [...config.markets, ...config.batches].find((e) => e.id === job.market)!;
    const waitSeconds = entry.publishers.waitSeconds;
    const close = job.dataTimestamp + (m ?? b)!.model.barIntervalMs / 1000;
    const deadline = close + waitSeconds;
    const now = await chain.now();
    const bound = `publishers.waitSeconds ${waitSeconds} after the bar's close at ${isoFromSeconds(close)}`;
    if (job.submit) {
      const refused = await this.refusedForTime(job, now);
      if (refused !== undefined) {
        return this.skip(
          job,
          `${refused.skip}; no longer waiting for publishers: ${short.message}`,
          refused.kind,
          log,
        );
      }
    }
    if (now >= deadline) {
      const reason =
        `no quorum by the deadline ${isoFromSeconds(deadline)} (${bound}; chain time ${isoFromSeconds(now)}): ` +
        short.message;
      return this.skip(job, reason, "quorum_deadline", log);
    }
    const delay = publisherPollDelayMs(config.chain.retryBaseMs, now - close);
    const waitingFor = short.reports
      .filter((r) => r.outcome === "not_signed" || r.outcome === "unreachable")
      .map((r) => r.publisher);
    metrics.publisherWaits.inc({ market: job.market });
    log.info({ waitingFor, deadline: isoFromSeconds(deadline), retryInMs: delay }, "waiting for publishers");
    const at = Date.now();
    const back = await transition(
      store,
      job.id,
      "queued",
      {
        reason: `waiting for publishers until ${isoFromSeconds(deadline)} (${bound}): ${short.message}`,
        notBefore: at + delay,
      },
      at,
      ["proving"],
    );
    if (back) await this.o.dispatcher.notify(back);
    return undefined;
  }

  /**
   * Why the oracle would refuse the job's bar for its time alone, whatever its margins, at chain time `now` (s):
   * `dataTimeRefusal` for its market, or for each market of its batch (named); undefined when it would not (data from
   * the future is only early).
   */
  private async refusedForTime(
    job: JobRecord,
    now: number,
  ): Promise<{ skip: string; kind: string } | undefined> {
    const { chain } = this.o;
    const m = this.o.markets.get(job.market);
    const members = m ? [{ id: m.id, marketId: m.marketId }] : this.o.batches.get(job.market)!.markets;
    for (const member of members) {
      const state = await readMarketState(chain.oracle, member.marketId);
      const refusal = dataTimeRefusal(state, job.dataTimestamp, now + 1);
      if (refusal === undefined || refusal.error === "OracleFutureData") continue;
      const skip = m
        ? `the oracle would refuse it: ${refusal.reason}`
        : `the oracle would refuse the batch: market ${member.id}: ${refusal.reason}`;
      return { skip, kind: refusal.error };
    }
    return undefined;
  }

  private async skip(job: JobRecord, reason: string, kind: string, log: Logger): Promise<undefined> {
    this.o.metrics.skipped.inc({ market: job.market, reason: kind });
    log.warn({ reason }, "update skipped");
    await transition(this.o.store, job.id, "skipped", { reason }, Date.now());
    return undefined;
  }

  private async prove(job: JobRecord, log: Logger): Promise<JobRecord | undefined> {
    const m = this.o.markets.get(job.market);
    const b = this.o.batches.get(job.market);
    if (!m && !b) {
      return this.skip(job, `market or batch ${job.market} is not in this service's config`, "config", log);
    }
    const made = m ? await this.makeProof(job, m, log) : await this.makeBatchProof(job, b!, log);
    if ("wait" in made) return this.waitForPublishers(job, made.wait, log);
    if ("skip" in made) return this.skip(job, made.skip, made.kind, log);
    return transition(
      this.o.store,
      job.id,
      "proved",
      { update: made.update, holder: this.o.holder, reason: null },
      Date.now(),
      ["proving"],
    );
  }

  /**
   * The bar's quorum of signed windows, the guards' precheck (when the job submits), and the proof in a proving
   * thread. An adaptive market's proof starts from the prior the oracle reports now (`readAdaptivePrior`), and
   * its precheck uses the margins at the state that prior steps to. Returns why there is no update instead, for
   * bad data or a refusal foreseen, or the shortfall of a quorum that late publishers could still make up. `again`
   * (a proof made again): the bar's quorum this process found before, when it holds one (`collect`).
   */
  private async makeProof(job: JobRecord, m: MarketRuntime, log: Logger, again = false): Promise<Made> {
    const { metrics, chain } = this.o;
    const quorum = await quorumOf(() => m.windows.collect(job.dataTimestamp * 1000, again));
    if ("skip" in quorum || "wait" in quorum) return quorum;
    const window = quorum.windows[0].window;
    let plain: IntegerTrace;
    try {
      plain = inferInteger(m.model, windowFeatures(window));
    } catch (err) {
      // A window missing too many bars, or features outside their bounds: no update for this bar.
      if (err instanceof InsufficientDataError || err instanceof BoundsError) {
        return { skip: `${quorum.names[0]}: ${err.message}`, kind: "data" };
      }
      throw err;
    }
    let trace: Pick<IntegerTrace, "maintenanceMarginBps" | "initialMarginBps"> = plain;
    let prior: AdaptivePriorState | undefined;
    if (m.adaptiveRule !== undefined) {
      let view: AdaptivePriorView;
      try {
        view = await readAdaptivePrior(chain.oracle, m.marketId, BigInt(job.dataTimestamp));
      } catch (err) {
        if (err instanceof OracleError && err.reason === "OracleNotNewer") {
          return { skip: `the oracle would refuse it: ${err.message}`, kind: err.reason };
        }
        throw err;
      }
      if (view.num === 0n) {
        // governance made the market plain since the service started: its artifacts no longer fit
        return { skip: `market ${m.id} is no longer adaptive on the oracle (num 0)`, kind: "config" };
      }
      prior = priorOf(view);
      trace = adaptiveWindowUpdate(m.model.policy, plain.output, window.bars, prior, m.adaptiveRule).margins;
    }
    if (job.submit) {
      const refusal = precheck(
        await readMarketState(chain.oracle, m.marketId),
        {
          modelCommitment: m.modelCommitment,
          dataTimestamp: job.dataTimestamp,
          maintenanceMarginBps: Number(trace.maintenanceMarginBps),
          initialMarginBps: Number(trace.initialMarginBps),
        },
        (await chain.now()) + 1,
      );
      if (refusal) return { skip: `the oracle would refuse it: ${refusal.reason}`, kind: refusal.error };
    }
    log.info({ publishers: quorum.names, ...(prior && { prior: priorText(prior) }) }, "proving");
    const task: ProveTask = {
      artifactsDir: m.artifactsDir,
      modelPath: m.modelPath,
      mode: m.mode,
      quorum: m.publishers.quorum,
      market: m.id,
      windows: quorum.windows,
      names: quorum.names,
      publishers: m.publishers,
      domain: chain.domain.toString(),
      ...(prior && { prior }),
    };
    const t0 = performance.now();
    let update: ProvedSignedUpdate;
    try {
      update = (await this.o.pool.run(task)) as ProvedSignedUpdate;
    } catch (err) {
      if (!this.cutShort) metrics.proofs.inc({ market: m.id, outcome: "failed" });
      throw err;
    }
    const seconds = (performance.now() - t0) / 1000;
    metrics.proofs.inc({ market: m.id, outcome: "proved" });
    metrics.provingSeconds.observe({ market: m.id }, seconds);
    log.info(
      {
        ms: Math.round(seconds * 1000),
        mm: update.parameters.maintenanceMarginBps,
        im: update.parameters.initialMarginBps,
      },
      "proved",
    );
    return { update };
  }

  /**
   * A batch's proof: the bar close's quorum of signed batches, every market's margins from the integer engine and
   * the guards' precheck of each (when the job submits: the oracle takes all markets or none, so one refusal
   * skips the batch, naming the market), then the proof in a proving thread. Returns why there is no update
   * instead, for bad data or a refusal foreseen, or the shortfall of a quorum that late publishers could still
   * make up. `again` as for `makeProof`.
   */
  private async makeBatchProof(job: JobRecord, b: BatchRuntime, log: Logger, again = false): Promise<Made> {
    const { metrics, chain } = this.o;
    const quorum = await quorumOf(() => b.batches.collect(job.dataTimestamp * 1000, again));
    if ("skip" in quorum || "wait" in quorum) return quorum;
    const now = (await chain.now()) + 1;
    const priors = new Map<string, AdaptivePriorState>();
    for (const { market, window } of quorum.batches[0].markets) {
      // The publishers' batch holds the configured markets (PublisherBatches checks it), each with its model.
      const member = b.markets.find((m) => m.marketId === window.marketId);
      if (member === undefined)
        throw new Error(`${quorum.names[0]}: market ${market} is not in batch ${b.id}`);
      let trace: IntegerTrace;
      try {
        trace = inferInteger(member.model, windowFeatures(window));
      } catch (err) {
        // A window missing too many bars, or features outside their bounds: no batch for this bar.
        if (err instanceof InsufficientDataError || err instanceof BoundsError) {
          return { skip: `${quorum.names[0]}: market ${market}: ${err.message}`, kind: "data" };
        }
        throw err;
      }
      if (b.adaptiveRule !== undefined) {
        // An adaptive batch: each market from the prior the oracle reports now, its margins at the new state.
        const view = await readAdaptivePrior(chain.oracle, member.marketId, BigInt(job.dataTimestamp));
        if (view.num === 0n) {
          return {
            skip: `market ${market} of batch ${b.id} is no longer adaptive on the oracle (num 0)`,
            kind: "config",
          };
        }
        const prior = priorOf(view);
        priors.set(market, prior);
        const step = adaptiveWindowUpdate(
          member.model.policy,
          trace.output,
          window.bars,
          prior,
          b.adaptiveRule,
        );
        trace = { ...trace, ...step.margins };
      }
      if (!job.submit) continue;
      const refusal = precheck(
        await readMarketState(chain.oracle, window.marketId),
        {
          modelCommitment: member.modelCommitment,
          dataTimestamp: job.dataTimestamp,
          maintenanceMarginBps: Number(trace.maintenanceMarginBps),
          initialMarginBps: Number(trace.initialMarginBps),
        },
        now,
      );
      if (refusal) {
        return {
          skip: `the oracle would refuse the batch: market ${market}: ${refusal.reason}`,
          kind: refusal.error,
        };
      }
    }
    log.info(
      {
        publishers: quorum.names,
        markets: b.markets.map((m) => m.id),
        ...(priors.size > 0 && { priors: [...priors].map(([m, p]) => `${m}: ${priorText(p)}`) }),
      },
      "proving the batch",
    );
    const task: BatchProveTask = {
      artifactsDir: b.artifactsDir,
      modelPath: b.modelPath,
      marketModels: Object.fromEntries(
        b.markets.filter((m) => m.modelPath !== b.modelPath).map((m) => [m.id, m.modelPath]),
      ),
      ...(b.adaptiveRule !== undefined && { priors: Object.fromEntries(priors) }),
      mode: b.mode,
      batchSize: b.markets.length,
      quorum: b.publishers.quorum,
      batches: quorum.batches,
      names: quorum.names,
      publishers: b.publishers,
      domain: chain.domain.toString(),
    };
    const t0 = performance.now();
    let update: ProvedSignedBatch;
    try {
      update = (await this.o.pool.run(task, { name: "proveBatch" })) as ProvedSignedBatch;
    } catch (err) {
      if (!this.cutShort) metrics.proofs.inc({ market: b.id, outcome: "failed" });
      throw err;
    }
    const seconds = (performance.now() - t0) / 1000;
    metrics.proofs.inc({ market: b.id, outcome: "proved" });
    metrics.provingSeconds.observe({ market: b.id }, seconds);
    log.info(
      {
        ms: Math.round(seconds * 1000),
        margins: update.markets.map((m) => `${m.market} ${m.maintenanceMarginBps}/${m.initialMarginBps}`),
      },
      "proved",
    );
    return { update };
  }

  /**
   * Dry-run and sign the job's update. An adaptive market's update refused for its prior
   * (`OracleAdaptiveStateMismatch`: another update was accepted since the proof, so the oracle's state moved) is
   * proved once more from the oracle's new prior and recorded; a second refusal ends the job as any refusal does.
   */
  private async signOrReprove(job: JobRecord, log: Logger): Promise<SentTransaction> {
    const { store, submitter } = this.o;
    try {
      return await submitter.sign(job.update!);
    } catch (err) {
      const stale = err instanceof OracleError && err.reason === "OracleAdaptiveStateMismatch";
      if (!stale || !this.isAdaptive(job)) throw err;
      log.warn({ reason: err.message }, "the adaptive prior moved since the proof; proving again once");
      const made = await this.proveAgain(job, err.message, log);
      if ("skip" in made) {
        // A newer bar's update moved the state: the oracle now refuses this bar whatever its prior.
        const reason = made.kind === "OracleNotNewer" ? made.kind : err.reason;
        throw new OracleError(reason, `${err.message}; proving again: ${made.skip}`);
      }
      const event: JobEvent = {
        at: Date.now(),
        event: "reproved-before-send",
        message:
          `dry run refused: ${err.message}; the proof's prior (${provedPriorText(job.update!)}) is stale: ` +
          `proved again from the oracle's prior (${provedPriorText(made.update)})`,
      };
      const history = [...((await store.get(job.id))?.history ?? job.history), event];
      await store.update(job.id, { update: made.update, history }, event.at, ["submitting"]);
      return submitter.sign(made.update);
    }
  }

  /**
   * An adaptive update whose transaction reverted for its prior (`OracleAdaptiveStateMismatch`: another update
   * landed first): prove the bar again from the oracle's prior now and record the new proof, with no
   * transaction and an entry in the job's history naming the reverted transaction and the stale and new priors,
   * in one write (a crash before it settles the reverted transaction again, a crash after it signs the new
   * proof). At most `ADAPTIVE_RESENDS` times per job, counted in its history; then, or when the bar can no
   * longer be proved (e.g. the other update was this bar's), the revert ends the job as `rejected`.
   * @returns the job to submit again
   */
  private async reproveAfterRevert(job: JobRecord, refused: string, log: Logger): Promise<JobRecord> {
    const { store } = this.o;
    const current = (await store.get(job.id)) ?? job;
    const update = current.update;
    const proved = update !== null && (isBatchProof(update) ? update.markets[0].adaptive : update.adaptive);
    if (!this.isAdaptive(job) || !proved) throw new OracleError("reverted", refused);
    const done = current.history.filter((e) => e.event === "reproved-after-revert").length;
    if (done >= ADAPTIVE_RESENDS) {
      throw new OracleError(
        "reverted",
        `${refused}; not proved again: already proved again and resent ${done} time(s) after such a revert`,
      );
    }
    const stale = provedPriorText(update);
    log.warn(
      { reason: refused, prior: stale, resend: done + 1, of: ADAPTIVE_RESENDS },
      "the transaction reverted for its adaptive prior (another update landed first); proving again",
    );
    const made = await this.proveAgain(current, refused, log);
    if ("skip" in made) throw new OracleError("reverted", `${refused}; proving again: ${made.skip}`);
    const event: JobEvent = {
      at: Date.now(),
      event: "reproved-after-revert",
      message:
        `${refused}; the proof's prior (${stale}) is stale: proved again from the oracle's prior ` +
        `(${provedPriorText(made.update)}) and resent (${done + 1} of ${ADAPTIVE_RESENDS})`,
    };
    // The new proof is to be signed: as for any transaction cleared to be signed again (`clearToSignAgain`), the
    // attempts spent settling the reverted one are not its signing's, and the count starts again.
    const again = await store.update(
      job.id,
      { update: made.update, tx: null, attempts: 0, history: [...current.history, event] },
      event.at,
      ["submitting"],
    );
    if (!again) throw new Error(`job ${job.id} left submitting while it was proved again`);
    return again;
  }

  /** Whether the job is an adaptive market's update or an adaptive batch's (its proof steps oracle state). */
  private isAdaptive(job: JobRecord): boolean {
    const m = this.o.markets.get(job.market);
    if (m !== undefined) return m.adaptiveRule !== undefined;
    return this.o.batches.get(job.market)?.adaptiveRule !== undefined;
  }

  /**
   * Prove the job's bar again (an adaptive market or batch, from the oracle's prior now), from the signed windows
   * of its first proof, which this process holds: no publisher is asked. Only a process that did not find them
   * (restarted since the first proof) asks the publishers; then a publisher missing is a failed step, retried as
   * any (a TransientError, `why` it is proved again and the shortfall), not a wait: the quorum was there for the
   * first proof. A bar the oracle now refuses for its time (`refusedForTime`: a newer update accepted, or data too
   * old) is skipped first, before any publisher is asked: no answer could make it acceptable again.
   */
  private async proveAgain(
    job: JobRecord,
    why: string,
    log: Logger,
  ): Promise<{ update: ProvedJob } | { skip: string; kind: string }> {
    const refused = await this.refusedForTime(job, await this.o.chain.now());
    if (refused !== undefined) return refused;
    const m = this.o.markets.get(job.market);
    const made =
      m !== undefined
        ? await this.makeProof(job, m, log, true)
        : await this.makeBatchProof(job, this.o.batches.get(job.market)!, log, true);
    if ("wait" in made) throw new TransientError(`${why}; proving again: ${made.wait.message}`);
    return made;
  }

  private async submit(job: JobRecord, log: Logger): Promise<void> {
    const { store, submitter, metrics, settleTimeoutMs } = this.o;
    let tx = job.tx;
    if (!tx) {
      if (await this.supersededOrWaiting(job, log)) return;
      try {
        tx = await this.signOrReprove(job, log);
      } catch (err) {
        if (err instanceof OracleError && err.reason === "OracleStaleData") {
          // A proof that waited (for the node, the gas price, an earlier transaction) past the oracle's maximum age:
          // nothing was sent, and the bar is skipped as the precheck would skip it now.
          const reason =
            "the dry run was refused, nothing sent (the bar grew too old while it waited): " + err.message;
          await this.skip(job, reason, err.reason, log);
          return;
        }
        if (!(err instanceof OracleError && err.reason === "OracleNotNewer")) throw err;
        // This update may be the one the oracle holds: this job's transaction landed though it was taken for
        // dropped (a node that did not serve its receipt yet), or it was sent twice.
        const applied = await this.appliedOnChain(job);
        if (applied !== undefined) return this.confirmApplied(job, applied, log);
        // Otherwise an update of a newer bar (or another of this bar) was accepted since the precheck, e.g. a
        // newer bar's job that got its quorum first: nothing was sent, and the bar is skipped as the precheck
        // would skip it now.
        const reason =
          "the dry run was refused, nothing sent (an update of this bar or a newer one was accepted since the " +
          `precheck): ${err.message}`;
        await this.skip(job, reason, err.reason, log);
        return;
      }
      // Recorded before it is sent: after a crash the same transaction is looked up, never a second one made.
      // One that is not recorded is never sent, and its nonce is handed out again.
      const signed = tx;
      const recorded = await store
        .update(job.id, { tx: signed }, Date.now(), ["submitting"])
        .catch(async (err: unknown) => {
          await submitter.unsent(signed);
          throw err;
        });
      if (recorded === undefined) {
        await submitter.unsent(signed);
        throw new Error(`job ${job.id} left submitting before its transaction was recorded; not sent`);
      }
      log.info({ tx: tx.hash, nonce: tx.nonce }, "transaction signed");
    }
    const sent = await this.send(job, tx, log);
    if (sent === false) {
      return this.clearToSignAgain(
        job,
        `transaction ${tx.hash} cannot be mined with nonce ${tx.nonce} (taken by another transaction, or ` +
          "beyond the account's next one); signing again",
      );
    }
    if (sent === true) log.info({ tx: tx.hash }, "submitted");
    // Refused as underpriced, it is not in the node's pool, and waiting for its receipt is waiting for nothing: it
    // is looked at once (one of the job's transactions of its nonce may be mined), then replaced when due.
    let underpriced = sent === "underpriced";
    let s = await submitter.settle(tx, underpriced ? 0 : settleTimeoutMs);
    let notReplaced = "";
    // A transaction with a receipt is mined, only short of its confirmations: it is waited for, never replaced.
    if (s.status === "pending" && s.block === undefined) {
      const replaced = await this.replaceIfDue(job, tx, log);
      if (typeof replaced === "string") notReplaced = `; ${replaced}`;
      else if (replaced !== undefined) {
        tx = replaced;
        underpriced = false;
        s = await submitter.settle(tx, settleTimeoutMs);
      }
    }
    switch (s.status) {
      case "confirmed": {
        const landed = this.landed(tx, s.hash);
        await transition(
          store,
          job.id,
          "confirmed",
          { block: s.block, reason: null, ...(landed !== tx && { tx: landed }) },
          Date.now(),
        );
        // each market of a batch was updated on chain
        const proved = job.update!;
        const markets = isBatchProof(proved) ? proved.markets.map((m) => m.market) : [job.market];
        for (const market of markets) {
          metrics.accepted.inc({ market });
          metrics.sawAccepted(market, job.dataTimestamp);
        }
        log.info(
          { tx: s.hash, block: s.block, ...(landed !== tx && { newest: tx.hash }) },
          "update accepted on chain",
        );
        return;
      }
      case "reverted": {
        const landed = this.landed(tx, s.hash);
        if (landed !== tx) await store.update(job.id, { tx: landed }, Date.now(), ["submitting"]);
        const refused = `transaction ${s.hash} reverted in block ${s.block}: ${s.reason}`;
        if (s.error === "OracleNotNewer") {
          const applied = await this.appliedOnChain(job);
          if (applied !== undefined) return this.confirmApplied(job, `${refused}; ${applied}`, log);
        }
        if (s.error !== "OracleAdaptiveStateMismatch") throw new OracleError("reverted", refused);
        // Mined, it is settled: a failure to prove the bar again spends an attempt, up to `chain.maxAttempts`
        // (`fail`), instead of keeping the job settling it (sending it again, asking the publishers again) for ever.
        this.reverted.set(job.id, s.hash.toLowerCase());
        return this.submit(await this.reproveAfterRevert(job, refused, log), log);
      }
      case "dropped": {
        const n = (tx.others ?? []).length;
        const what =
          n > 0 ? `transaction ${tx.hash} and the ${n} it replaced were` : `transaction ${tx.hash} was`;
        return this.clearToSignAgain(job, `${what} dropped (nonce ${tx.nonce} taken); signing again`);
      }
      case "pending":
        if (underpriced && s.block === undefined) {
          // Fees rose above the transaction's, and it is too young to be replaced, or the ceiling leaves no room
          // for a replacement: a wait for fees (`waitOnChain`), sent again and replaced when due at each look.
          throw new TransientError(
            `the node refused transaction ${tx.hash} as underpriced and does not hold it; it is replaced once ` +
              `${this.o.config.chain.replaceAfterSeconds} s old${notReplaced}`,
            false,
            "transient",
            "gas_price",
          );
        }
        // Still in the node's pool, or mined and short of its confirmations: waiting for it is not a failed attempt
        // (the same transaction is settled later).
        throw new TransientError(
          s.block === undefined
            ? `transaction ${tx.hash} not mined within ${settleTimeoutMs} ms${notReplaced}`
            : `transaction ${s.hash} mined in block ${s.block}, waiting for ${this.o.config.chain.confirmations} ` +
                `confirmations (not reached within ${settleTimeoutMs} ms)`,
          false,
        );
    }
  }

  /**
   * Broadcast the job's newest transaction (`Submitter.broadcast`). A refusal as invalid ends here when none of the
   * job's transactions of that nonce was mined and none can still be (it replaced none): the transaction is
   * cleared to be signed again, or, after `NODE_REFUSAL_RESIGNS` such refusals, the job fails. Otherwise (one may
   * be mined, or was) the job settles them by their receipts. A refusal as underpriced (the node lost it while
   * fees rose) is no failure: the job settles and replaces it (`submit`).
   * @returns whether the transactions are to be settled (false: the nonce cannot be used, sign again), or
   *   "underpriced" when the node refused it as too cheap
   */
  private async send(job: JobRecord, tx: SentTransaction, log: Logger): Promise<boolean | "underpriced"> {
    const { submitter } = this.o;
    try {
      return await submitter.broadcast(tx);
    } catch (err) {
      if (err instanceof UnderpricedError) {
        log.info({ tx: tx.hash, nonce: tx.nonce, reason: err.message }, "the node refused the transaction");
        return "underpriced";
      }
      if (!(err instanceof NodeRefusalError)) throw err;
      const earlier = (tx.others ?? []).length;
      if (earlier === 0 && (await submitter.neverMined(tx))) return this.clearRefused(job, tx, err, log);
      log.warn(
        { tx: tx.hash, nonce: tx.nonce, earlier, reason: err.message },
        "the node refused the transaction; settling the job's transactions of its nonce by their receipts",
      );
      return true;
    }
  }

  /**
   * A transaction the node refused as invalid, none of the job's mined: clear it (the job back to `proved`, an
   * entry in its history) and sign again, or fail the job once it was signed again `NODE_REFUSAL_RESIGNS` times.
   */
  private async clearRefused(
    job: JobRecord,
    tx: SentTransaction,
    err: NodeRefusalError,
    log: Logger,
  ): Promise<never> {
    const { store, metrics } = this.o;
    const history = (await store.get(job.id))?.history ?? job.history;
    const done = history.filter((e) => e.event === "refused-by-node").length;
    const why = `${err.message}; none of the job's transactions was mined (no receipt, nonce ${tx.nonce} unused)`;
    if (done >= NODE_REFUSAL_RESIGNS) {
      const reason = `${why}; already signed again ${done} time(s) after such a refusal: giving up`;
      metrics.submitFailures.inc({ market: job.market, reason: "node_refused" });
      log.error({ tx: tx.hash, reason }, "job failed");
      await transition(store, job.id, "failed", { reason, tx: null }, Date.now(), ["submitting"]);
      throw new Error(reason); // the job has ended: `fail` leaves a final job as it is
    }
    const event: JobEvent = {
      at: Date.now(),
      event: "refused-by-node",
      message: `${why}: cleared, signing again`,
    };
    log.warn({ tx: tx.hash, reason: event.message }, "transaction refused by the node; signing again");
    return this.clearToSignAgain(job, event.message, { history: [...history, event] });
  }

  /**
   * Clear the job's transaction (back to `proved`, `patch` written with it) so that it is signed again, and throw
   * `message`: the transaction was found dropped, cannot be mined with its nonce, or was refused by the node. The
   * attempts spent settling it (past `chain.maxAttempts` while the account lacked funds or the node was down:
   * `fail`) were not spent signing, so the count starts again and the clearing spends none: a job cleared to be
   * signed again is signed again. Counted in `zkrisk_submit_failures_total` (`transient`) as before. Clearings need
   * no bound of their own: a drop, or a nonce taken, is another of the key's transactions mined at that nonce; a
   * nonce too high makes the next signing take the node's count; a refusal as invalid is signed again
   * `NODE_REFUSAL_RESIGNS` times at most (`clearRefused`).
   */
  private async clearToSignAgain(job: JobRecord, message: string, patch: JobFieldPatch = {}): Promise<never> {
    const { store, metrics } = this.o;
    await transition(store, job.id, "proved", { ...patch, tx: null, attempts: 0 }, Date.now(), [
      "submitting",
    ]);
    metrics.submitFailures.inc({ market: job.market, reason: "transient" });
    throw new TransientError(message, false);
  }

  /**
   * When the job's newest transaction has been pending for `chain.replaceAfterSeconds`, replace it
   * (`Submitter.replace`: same nonce, both fees raised), record the replacement (with the replaced one in its
   * `others` and an entry in the job's history, one write) and only then send it.
   * @returns the replacement, recorded and sent; why there is none, when the ceiling leaves no room for one;
   *   undefined when it is not due
   */
  private async replaceIfDue(
    job: JobRecord,
    tx: SentTransaction,
    log: Logger,
  ): Promise<SentTransaction | string | undefined> {
    const { store, submitter, config, metrics } = this.o;
    // A record written before fee bumping has no `signedAt`: it has waited long enough.
    const waited = Date.now() - (tx.signedAt ?? 0);
    if (waited < config.chain.replaceAfterSeconds * 1000) return undefined;
    const r = await submitter.replace(tx);
    if ("ceiling" in r) {
      log.warn({ tx: tx.hash, nonce: tx.nonce, reason: r.ceiling }, "pending transaction not replaced");
      return `not replaced: ${r.ceiling}`;
    }
    const fees = (f: { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }) =>
      `max fee ${formatGwei(f.maxFeePerGas)} gwei, tip ${formatGwei(f.maxPriorityFeePerGas)} gwei`;
    const event: JobEvent = {
      at: Date.now(),
      event: "replaced",
      message:
        `transaction ${tx.hash} (${fees(r.from)}) pending for ${Math.round(waited / 1000)} s: replaced by ` +
        `${r.tx.hash} (${fees(r.to)}), nonce ${tx.nonce}`,
    };
    const history = [...((await store.get(job.id))?.history ?? job.history), event];
    const recorded = await store.update(job.id, { tx: r.tx, history }, event.at, ["submitting"]);
    if (recorded === undefined) {
      throw new Error(
        `job ${job.id} left submitting before its replacement transaction was recorded; not sent`,
      );
    }
    metrics.replaced.inc({ market: job.market });
    log.info(
      {
        tx: r.tx.hash,
        replaces: tx.hash,
        nonce: tx.nonce,
        maxFeeGwei: [formatGwei(r.from.maxFeePerGas), formatGwei(r.to.maxFeePerGas)],
        tipGwei: [formatGwei(r.from.maxPriorityFeePerGas), formatGwei(r.to.maxPriorityFeePerGas)],
      },
      "pending transaction replaced with higher fees",
    );
    if ((await this.send(job, r.tx, log)) === true) log.info({ tx: r.tx.hash }, "submitted");
    return r.tx;
  }

  /**
   * The job's transaction `hash` (the newest, `tx`, or one it replaced) as the one recorded once it is mined: with
   * the others of its nonce in `others`. `tx` itself when it is the newest.
   */
  private landed(tx: SentTransaction, hash: string): SentTransaction {
    if (hash.toLowerCase() === tx.hash.toLowerCase()) return tx;
    const all = [...(tx.others ?? []), { hash: tx.hash, raw: tx.raw }];
    const mined = all.find((t) => t.hash.toLowerCase() === hash.toLowerCase());
    if (mined === undefined) return tx;
    return { hash: mined.hash, raw: mined.raw, nonce: tx.nonce, others: all.filter((t) => t !== mined) };
  }

  /**
   * Whether the oracle already holds the job's update: for each market it proves, the last accepted update is of
   * this bar, with this proof's margins. Returns it in words (for the job's reason), or undefined.
   */
  private async appliedOnChain(job: JobRecord): Promise<string | undefined> {
    const update = job.update!;
    const proved = isBatchProof(update)
      ? update.markets.map((m) => ({ ...m, marketId: BigInt(m.marketId) }))
      : [{ ...update.parameters, market: job.market, marketId: BigInt(update.parameters.marketId) }];
    const held: string[] = [];
    for (const p of proved) {
      const { last } = await readMarketState(this.o.chain.oracle, p.marketId);
      if (
        last === null ||
        last.dataTimestamp !== job.dataTimestamp ||
        last.maintenanceMarginBps !== p.maintenanceMarginBps ||
        last.initialMarginBps !== p.initialMarginBps
      ) {
        return undefined;
      }
      held.push(
        `the oracle's last update of ${p.market} is this bar's (${isoFromSecondsCompact(job.dataTimestamp)}), ` +
          `with this proof's margins (MM ${p.maintenanceMarginBps} bps, IM ${p.initialMarginBps} bps), ` +
          `accepted at ${isoFromSecondsCompact(last.updatedAt)}`,
      );
    }
    return `already applied on chain: ${held.join("; ")}`;
  }

  /**
   * End a job whose update the oracle already holds (`appliedOnChain`) as `confirmed`, with no transaction of its
   * own (the one that landed is not known here) and the reason saying so.
   */
  private async confirmApplied(job: JobRecord, reason: string, log: Logger): Promise<void> {
    const { store, metrics } = this.o;
    await transition(store, job.id, "confirmed", { tx: null, block: null, reason }, Date.now(), [
      "submitting",
    ]);
    const proved = job.update!;
    for (const market of isBatchProof(proved) ? proved.markets.map((m) => m.market) : [job.market]) {
      metrics.accepted.inc({ market });
      metrics.sawAccepted(market, job.dataTimestamp);
    }
    log.info({ reason }, "update already applied on chain");
  }

  /**
   * Before a job signs: at most one unsettled transaction per market (a batch's label, whose markets are in no
   * other job: config.ts) from this service, by the store, so over every process that shares it. A job whose
   * market has the update of a newer bar proved or accepted (a job that submits) is skipped as superseded, its
   * proof unsent: of a backlog (after a gas spike, a node down), only the newest bar is sent, instead of each
   * paying for a transaction that the one mined before it makes revert. A job whose market has an earlier bar's
   * transaction sent and not settled waits for it (no attempt spent): signed now, its transaction would be mined
   * after that one, and revert if that one lands.
   * @returns whether the job was skipped
   * @throws TransientError (a wait for `earlier_transaction`) while the earlier transaction is not settled
   */
  private async supersededOrWaiting(job: JobRecord, log: Logger): Promise<boolean> {
    const newest = await this.o.store.latest(job.market, ["proved", "submitting", "confirmed"]);
    if (newest !== undefined && newest.submit && newest.dataTimestamp > job.dataTimestamp) {
      const state = newest.status === "confirmed" ? "was accepted on chain" : "is proved, to be sent instead";
      const reason =
        `superseded: the update of the newer bar ${isoFromSeconds(newest.dataTimestamp)} of ${job.market} ` +
        `(job ${newest.id}) ${state}; nothing sent for this bar`;
      await this.skip(job, reason, "superseded", log);
      return true;
    }
    const earlier = await this.unsettledBefore(job);
    if (earlier === undefined) return false;
    throw new TransientError(
      `transaction ${earlier.tx!.hash} of the earlier bar ${isoFromSeconds(earlier.dataTimestamp)} of ` +
        `${job.market} (job ${earlier.id}) is not settled; no other is signed for the market until it is`,
      false,
      "transient",
      "earlier_transaction",
    );
  }

  /**
   * The job of an earlier bar of the job's market, among the last `EARLIER_BARS_LOOKED_AT` bars after the newest
   * confirmed one in the store (an older bar can no longer be accepted), that has a transaction sent and not
   * settled (not final); undefined when there is none. Read from the store: another process may hold it.
   */
  private async unsettledBefore(job: JobRecord): Promise<JobRecord | undefined> {
    const { store } = this.o;
    const runtime = this.o.markets.get(job.market) ?? this.o.batches.get(job.market);
    if (runtime === undefined) return undefined;
    const interval = runtime.model.barIntervalMs / 1000;
    const confirmed = (await store.latest(job.market, ["confirmed"]))?.dataTimestamp ?? 0;
    const ids: string[] = [];
    for (let k = 1; k <= EARLIER_BARS_LOOKED_AT; k++) {
      const ts = job.dataTimestamp - k * interval;
      if (ts <= confirmed) break;
      ids.push(jobIdOf(job.market, ts));
    }
    const earlier = await Promise.all(ids.map((id) => store.get(id)));
    return earlier.find((j) => j !== undefined && j.tx !== null && !isFinal(j));
  }

  /**
   * A step that waits on the chain (`what`: a gas price above the ceiling, a node that does not answer, an earlier
   * transaction of the market not settled) is no failed attempt: the job goes back to the queue, its proof and any
   * sent transaction kept, and looks again after `chainWaitDelayMs` (a quarter of the time waited since the wait
   * began, `since`, from `chain.retryBaseMs` up to 60 s), for as long as the wait lasts; then the step goes on as
   * usual (a bar grown too old for the oracle is skipped, a sent transaction settled). Counted at each look in
   * `zkrisk_submit_waits_total`; logged when the wait begins and about every `CHAIN_WAIT_LOG_EVERY_MS` while it
   * lasts, not at each look; its end is logged by `waitOver`.
   */
  private async waitOnChain(
    job: JobRecord,
    what: WaitReason,
    message: string,
    since: number | undefined,
    log: Logger,
  ): Promise<void> {
    const { store, config, metrics } = this.o;
    const now = Date.now();
    const waited = since === undefined ? 0 : now - since;
    const delay = chainWaitDelayMs(config.chain.retryBaseMs, waited);
    metrics.submitWaits.inc({ market: job.market, reason: what });
    const fields = { reason: message, retryInMs: delay, ...(job.tx !== null && { tx: job.tx.hash }) };
    if (since === undefined) {
      log.warn(fields, `${WAITING_FOR[what]} (no attempt spent)`);
    } else if (
      Math.floor(waited / CHAIN_WAIT_LOG_EVERY_MS) < Math.floor((waited + delay) / CHAIN_WAIT_LOG_EVERY_MS)
    ) {
      // Once per period, at the look whose next one falls in the next period (looks are a minute apart at most).
      log.warn({ ...fields, waitedSeconds: Math.round(waited / 1000) }, `still ${WAITING_FOR[what]}`);
    }
    const back = await transition(
      store,
      job.id,
      setBackOf(job.status),
      { reason: waitingReason(message, what, since ?? now), notBefore: now + delay },
      now,
    );
    if (back) await this.o.dispatcher.notify(back);
  }

  /** Log the end of a job's wait on the chain (`waitIn` its reason when it was claimed), if it was waiting. */
  private waitOver(job: JobRecord, wait: { what: WaitReason; since: number } | undefined, log: Logger): void {
    if (wait === undefined) return;
    const waitedSeconds = Math.round((Date.now() - wait.since) / 1000);
    log.info({ waitedSeconds }, `no longer ${WAITING_FOR[wait.what]}`);
  }

  /** Record a failed step: refusals and bad data end the job; other failures retry with backoff. */
  private async fail(id: string, err: unknown, log: Logger): Promise<void> {
    const { store, config, metrics } = this.o;
    const job = await store.get(id);
    if (!job || isFinal(job)) return;
    const message = (err as Error).message ?? String(err);
    const now = Date.now();
    const what = waitReasonOf(err);
    const before = waitIn(job.reason);
    if (before !== undefined && before.what !== what) this.waitOver(job, before, log);
    if (what !== undefined) {
      return this.waitOnChain(job, what, message, before?.what === what ? before.since : undefined, log);
    }
    if (err instanceof OracleError && err.reason !== "unknown") {
      metrics.submitFailures.inc({ market: job.market, reason: err.reason });
      log.error({ reason: message }, "update refused by the oracle");
      await transition(store, id, "rejected", { reason: message }, now);
      return;
    }
    if (err instanceof DataError || err instanceof InsufficientDataError) {
      await this.skip(job, message, "data", log);
      return;
    }
    const counts = !(err instanceof TransientError) || err.countsAsAttempt;
    const attempts = job.attempts + (counts ? 1 : 0);
    // A wait (a gas price above the ceiling, a transaction not mined yet) is no failed submission.
    const funds = err instanceof TransientError && err.metricReason === "insufficient_funds";
    if (counts && (job.status === "submitting" || job.status === "proved")) {
      metrics.submitFailures.inc({
        market: job.market,
        reason: err instanceof TransientError ? err.metricReason : "transient",
      });
    }
    // A sent transaction may land (or have landed) whatever happened since: the job is not given up while it is
    // recorded, but settled once the node answers (with the capped backoff); a transaction found dropped, or refused
    // by the node as invalid with none of the job's mined, is cleared first (`clearToSignAgain`), and the attempts
    // count again from 0. An account short of funds keeps its transaction: it is retried until an operator tops it
    // up. One found mined and reverted (`reverted`) is settled: what fails after it spends attempts as any step.
    // (the one mined may be a transaction the newest replaced)
    const reverted = this.reverted.get(id);
    const settling = job.tx !== null && !hashesOf(job.tx).some((h) => h.toLowerCase() === reverted);
    if (err instanceof ProofError || (attempts >= config.chain.maxAttempts && !settling)) {
      log.error({ reason: message, attempts }, "job failed");
      await transition(store, id, "failed", { reason: message, attempts }, now);
      return;
    }
    const delay = retryDelayMs(config.chain.retryBaseMs, Math.max(1, attempts));
    log[funds ? "error" : "warn"](
      { reason: message, attempts, retryInMs: delay, ...(settling && { tx: job.tx!.hash }) },
      funds
        ? "the submitting account needs funds; will retry"
        : settling
          ? "settling the sent transaction failed; will retry"
          : "step failed; will retry",
    );
    // Set back from where it failed: a proof is made again, a proved update submitted again.
    const retry = await transition(
      store,
      id,
      setBackOf(job.status),
      { reason: message, attempts, notBefore: now + delay },
      now,
    );
    if (retry) await this.o.dispatcher.notify(retry);
  }
}
