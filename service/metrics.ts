/**
 * Prometheus metrics of the prover service (`GET /metrics`). One registry per service instance, so two
 * services in one process (tests) never share counters.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { LogDestination } from "../core/log-destination";
import { JOB_STATUSES, type JobStatus } from "./job-states";

/**
 * How long a scrape or a readiness probe waits for the job store, ms. A Redis that does not answer fails a
 * call only after ioredis's retries (about 10 s), longer than a scrape's timeout: a scrape waiting that long
 * would lose every metric, the process's and the chain's included.
 */
export const STORE_READ_TIMEOUT_MS = 2_000;

/**
 * `promise`, or an Error saying that `what` did not answer once `ms` have passed (what the promise does after
 * that is ignored).
 */
export function withinMs<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** The service's metrics. */
export class ServiceMetrics {
  readonly registry = new Registry();
  /** Proofs made or failed, by market. */
  readonly proofs = new Counter({
    name: "zkrisk_proofs_total",
    help: "Proofs attempted, by market and outcome (proved, failed).",
    labelNames: ["market", "outcome"] as const,
    registers: [this.registry],
  });
  /** Witness + Groth16 proof + local verification, seconds. */
  readonly provingSeconds = new Histogram({
    name: "zkrisk_proving_seconds",
    help: "Time to prove one update (witness, proof, local verification), seconds.",
    labelNames: ["market"] as const,
    buckets: [0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32],
    registers: [this.registry],
  });
  /**
   * Submissions that did not land, by market and reason: the oracle's error, `transient` (a transport failure),
   * `insufficient_funds` (the account cannot pay: alert `ZkriskProverOutOfFunds`) or `node_refused` (refused as
   * invalid again after signing again).
   */
  readonly submitFailures = new Counter({
    name: "zkrisk_submit_failures_total",
    help: "Submissions that failed or were refused, by market and reason.",
    labelNames: ["market", "reason"] as const,
    registers: [this.registry],
  });
  /**
   * Waits on the chain, no attempt spent (job-runner.ts): the gas price above the ceiling (`gas_price`), the
   * node not answering (`node_unreachable`), or an earlier transaction of the market not settled yet
   * (`earlier_transaction`). Counted at each look.
   */
  readonly submitWaits = new Counter({
    name: "zkrisk_submit_waits_total",
    help: "Times a job waited on the chain instead of spending an attempt, by market and reason.",
    labelNames: ["market", "reason"] as const,
    registers: [this.registry],
  });
  /** Pending transactions replaced by one of the same nonce with higher fees. */
  readonly replaced = new Counter({
    name: "zkrisk_transactions_replaced_total",
    help: "Pending transactions replaced by one of the same nonce with higher fees, by market.",
    labelNames: ["market"] as const,
    registers: [this.registry],
  });
  /** Updates accepted on chain. */
  readonly accepted = new Counter({
    name: "zkrisk_updates_accepted_total",
    help: "Updates accepted by the oracle, by market.",
    labelNames: ["market"] as const,
    registers: [this.registry],
  });
  /** Updates not sent, by market and reason class. */
  readonly skipped = new Counter({
    name: "zkrisk_updates_skipped_total",
    help:
      "Updates skipped, with no transaction sent (no quorum of agreeing publishers, none by the deadline, bad " +
      "data, or the oracle would refuse), by market and reason.",
    labelNames: ["market", "reason"] as const,
    registers: [this.registry],
  });
  /** Each publisher's answer for each bar, by market, publisher URL and outcome (publisher-windows.ts). */
  readonly publisherFetches = new Counter({
    name: "zkrisk_publisher_fetches_total",
    help:
      "Signed windows asked of the publishers, by market, publisher and outcome (ok, disagree, bad_signature, " +
      "unregistered, invalid, not_signed, unreachable).",
    labelNames: ["market", "publisher", "outcome"] as const,
    registers: [this.registry],
  });
  /**
   * Waits for late publishers (publisher-windows.ts): a bar's job found fewer than k agreeing while publishers that
   * had not signed the bar or did not answer could still make up k, and asks again later; no failed attempt.
   */
  readonly publisherWaits = new Counter({
    name: "zkrisk_publisher_waits_total",
    help:
      "Times a bar's job found no quorum yet and waited for publishers that had not signed the bar or did not " +
      "answer (not a failed attempt), by market (a batch's jobs by the batch's id).",
    labelNames: ["market"] as const,
    registers: [this.registry],
  });
  /**
   * The oracle's data timestamp per market (seconds): the newest of what this process saw on chain
   * (`sawAccepted`) and, at scrape time, of the confirmed jobs in the store (`acceptedFrom`), which in Redis mode
   * holds those the other processes confirmed.
   */
  readonly lastAccepted: Gauge<"market">;
  private readonly seenAccepted = new Map<string, number>();
  private acceptedInStore: (() => Promise<Map<string, number>>) | undefined;
  /** Jobs waiting to be proved or in flight (queued, proving, submitting). */
  readonly queueDepth: Gauge;
  /** Jobs by status. */
  readonly jobs: Gauge<"status">;
  /**
   * 1 when the last read of the job store (a scrape's, a readiness probe's) answered within
   * `STORE_READ_TIMEOUT_MS`, else 0: alert `ZkriskJobStoreDown`.
   */
  readonly storeUp: Gauge;
  /** Log lines dropped because they could not be written (stderr on a full disk: core/log-destination.ts). */
  readonly logLinesDropped: Counter;
  private readonly storeTimeoutMs: number;

  /**
   * `counts` reads the job store at scrape time. `storeTimeoutMs` (default `STORE_READ_TIMEOUT_MS`) bounds
   * every read of the store made here; tests pass a shorter one.
   */
  constructor(
    counts: () => Promise<Record<JobStatus, number>>,
    { storeTimeoutMs = STORE_READ_TIMEOUT_MS }: { storeTimeoutMs?: number } = {},
  ) {
    this.storeTimeoutMs = storeTimeoutMs;
    // The process's own: CPU, resident memory, heap, event-loop lag, open handles (prom-client's defaults).
    collectDefaultMetrics({ register: this.registry });
    const seen = this.seenAccepted;
    let lastCounts: Record<JobStatus, number> | undefined;
    const inStore = () => this.acceptedInStore?.() ?? Promise.resolve(new Map<string, number>());
    // The store gauges are read at scrape time from one read of the store, which never fails the scrape: a
    // store that fails or does not answer in time leaves the last values it gave (and `zkrisk_store_up` 0). A
    // scrape calls every gauge's collect at once, before that read can settle, so they all share it and the
    // next scrape reads anew.
    let scrape: Promise<void> | undefined;
    const readStore = () =>
      (scrape ??= (async () => {
        const [c, accepted] = await Promise.allSettled([this.bounded(counts), this.bounded(inStore)]);
        if (c.status === "fulfilled") lastCounts = c.value;
        if (accepted.status === "fulfilled") {
          for (const [market, ts] of accepted.value) {
            if (ts > (seen.get(market) ?? 0)) seen.set(market, ts);
          }
        }
        this.storeUp.set(c.status === "fulfilled" && accepted.status === "fulfilled" ? 1 : 0);
      })().finally(() => (scrape = undefined)));
    this.logLinesDropped = new Counter({
      name: "zkrisk_log_lines_dropped_total",
      help: "Log lines dropped because they could not be written (stderr on a full disk): the service proves on without them.",
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(LogDestination.droppedInProcess);
      },
    });
    this.storeUp = new Gauge({
      name: "zkrisk_store_up",
      help: `Whether the last read of the job store answered within ${storeTimeoutMs} ms (1) or not (0).`,
      registers: [this.registry],
      // Set by the reads of the scrape under way, so it says whether the values shown are current.
      collect: () => readStore(),
    });
    this.storeUp.set(1);
    this.queueDepth = new Gauge({
      name: "zkrisk_queue_depth",
      help: "Jobs waiting to be proved or in flight: queued, proving, submitting.",
      registers: [this.registry],
      async collect() {
        await readStore();
        if (lastCounts) this.set(lastCounts.queued + lastCounts.proving + lastCounts.submitting);
      },
    });
    this.lastAccepted = new Gauge({
      name: "zkrisk_last_accepted_data_timestamp_seconds",
      help: "Data timestamp of the market's last update accepted on chain, seconds since the epoch.",
      labelNames: ["market"] as const,
      registers: [this.registry],
      async collect() {
        await readStore();
        for (const [market, ts] of seen) this.set({ market }, ts);
      },
    });
    this.jobs = new Gauge({
      name: "zkrisk_jobs",
      help: "Jobs by status.",
      labelNames: ["status"] as const,
      registers: [this.registry],
      async collect() {
        await readStore();
        if (lastCounts) for (const s of JOB_STATUSES) this.set({ status: s }, lastCounts[s]);
      },
    });
  }

  /**
   * Run `read` of the job store within the store timeout, and record in `zkrisk_store_up` whether it
   * answered.
   * @throws what `read` threw, or an Error when it did not answer in time
   */
  async storeRead<T>(read: () => Promise<T>): Promise<T> {
    try {
      const value = await this.bounded(read);
      this.storeUp.set(1);
      return value;
    } catch (err) {
      this.storeUp.set(0);
      throw err;
    }
  }

  /** `read` within the store timeout (a synchronous throw of it as a rejection). */
  private bounded<T>(read: () => Promise<T>): Promise<T> {
    return withinMs(Promise.resolve().then(read), this.storeTimeoutMs, "the job store");
  }

  /** A market's data timestamp (s) seen accepted on chain; an older one than already seen changes nothing. */
  sawAccepted(market: string, dataTimestamp: number): void {
    if (dataTimestamp > (this.seenAccepted.get(market) ?? 0)) this.seenAccepted.set(market, dataTimestamp);
    this.lastAccepted.set({ market }, this.seenAccepted.get(market)!);
  }

  /** Where the confirmed jobs' data timestamps per market are read at scrape time (the service's store). */
  acceptedFrom(read: () => Promise<Map<string, number>>): void {
    this.acceptedInStore = read;
  }
}
