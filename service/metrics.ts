/**
 * Prometheus metrics of the prover service (`GET /metrics`). One registry per service instance, so two
 * services in one process (tests) never share counters.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { JOB_STATUSES, type JobStatus } from "./job-states";

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

  constructor(counts: () => Promise<Record<JobStatus, number>>) {
    // The process's own: CPU, resident memory, heap, event-loop lag, open handles (prom-client's defaults).
    collectDefaultMetrics({ register: this.registry });
    let latest: Promise<Record<JobStatus, number>> | undefined;
    // Both gauges are read at scrape time from one count of the store.
    const read = () => (latest ??= counts().finally(() => setTimeout(() => (latest = undefined), 0)));
    this.queueDepth = new Gauge({
      name: "zkrisk_queue_depth",
      help: "Jobs waiting to be proved or in flight: queued, proving, submitting.",
      registers: [this.registry],
      async collect() {
        const c = await read();
        this.set(c.queued + c.proving + c.submitting);
      },
    });
    const seen = this.seenAccepted;
    const inStore = () => this.acceptedInStore?.() ?? Promise.resolve(new Map<string, number>());
    this.lastAccepted = new Gauge({
      name: "zkrisk_last_accepted_data_timestamp_seconds",
      help: "Data timestamp of the market's last update accepted on chain, seconds since the epoch.",
      labelNames: ["market"] as const,
      registers: [this.registry],
      async collect() {
        for (const [market, ts] of await inStore()) {
          if (ts > (seen.get(market) ?? 0)) seen.set(market, ts);
        }
        for (const [market, ts] of seen) this.set({ market }, ts);
      },
    });
    this.jobs = new Gauge({
      name: "zkrisk_jobs",
      help: "Jobs by status.",
      labelNames: ["status"] as const,
      registers: [this.registry],
      async collect() {
        const c = await read();
        for (const s of JOB_STATUSES) this.set({ status: s }, c[s]);
      },
    });
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
