/**
 * Prometheus metrics of the publisher (`GET /metrics`). As in the prover service (service/metrics.ts),
 * one registry per publisher instance, so two publishers in one process (tests) never share counters.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { LogDestination } from "../../core/log-destination";

/** The publisher's metrics. */
export class PublisherMetrics {
  readonly registry = new Registry();
  /** Polls of a market that failed past its source (a window not archived, an archived window unreadable). */
  readonly pollFailures = new Counter({
    name: "zkrisk_publisher_poll_failures_total",
    help: "Polls of a market that failed after reading its source (the archive could not be written or read), by market.",
    labelNames: ["market"] as const,
    registers: [this.registry],
  });
  /** Batch signings that failed (the batch could not be archived, an archived window unreadable). */
  readonly batchFailures = new Counter({
    name: "zkrisk_publisher_batch_failures_total",
    help: "Batch signings that failed (the archive could not be written or read), by batch.",
    labelNames: ["batch"] as const,
    registers: [this.registry],
  });
  /** Windows signed and archived, by market. */
  readonly signed = new Counter({
    name: "zkrisk_publisher_windows_signed_total",
    help: "Windows signed and archived, by market.",
    labelNames: ["market"] as const,
    registers: [this.registry],
  });
  /** Digest, signature and durable write of one window, seconds. */
  readonly signingSeconds = new Histogram({
    name: "zkrisk_publisher_signing_seconds",
    help: "Time to sign and archive one window (digest, signature, durable write), seconds.",
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4],
    registers: [this.registry],
  });
  /** Open time of the last bar of the newest window signed, per market (seconds). */
  readonly lastSigned = new Gauge({
    name: "zkrisk_publisher_last_signed_bar_seconds",
    help: "Open time of the last bar of the newest signed window, seconds since the epoch, by market.",
    labelNames: ["market"] as const,
    registers: [this.registry],
  });
  /** Times the source gave other candles for an archived window, by market and candle field. */
  readonly disagreements = new Counter({
    name: "zkrisk_publisher_source_disagreements_total",
    help:
      "Archived windows whose candles the source now gives differently (the archived window is kept), by " +
      "market and first differing field (open, high, low, close, volume, missing, or a window field).",
    labelNames: ["market", "field"] as const,
    registers: [this.registry],
  });
  /** Open time of the bar of the latest disagreement, per market (seconds). */
  readonly lastDisagreementBar = new Gauge({
    name: "zkrisk_publisher_last_disagreement_bar_seconds",
    help: "Open time of the first differing bar of the latest disagreement, seconds since the epoch, by market.",
    labelNames: ["market"] as const,
    registers: [this.registry],
  });
  /** 1 while a market's signing is held (a window due would sign another value for a signed bar), else 0. */
  readonly held = new Gauge({
    name: "zkrisk_publisher_signing_held",
    help:
      "1 while a market's signing is held because the source now gives another value for a bar already " +
      "signed (the windows holding it are not signed), else 0, by market.",
    labelNames: ["market"] as const,
    registers: [this.registry],
  });
  /** Windows not signed because they would sign another value for a signed bar, each counted once. */
  readonly windowsHeld = new Counter({
    name: "zkrisk_publisher_windows_held_total",
    help:
      "Windows held (not signed) because the source gives another value for a bar an archived window signed, " +
      "by market; each window counted once.",
    labelNames: ["market"] as const,
    registers: [this.registry],
  });
  /** Reads of a source that failed (unreachable, malformed, wrong bar interval), by market. */
  readonly sourceErrors = new Counter({
    name: "zkrisk_publisher_source_errors_total",
    help: "Reads of a candle source that failed or gave unusable data, by market.",
    labelNames: ["market"] as const,
    registers: [this.registry],
  });
  /** Closed bars not signed, by market and reason (history, data). */
  readonly skipped = new Counter({
    name: "zkrisk_publisher_bars_skipped_total",
    help: "Closed bars whose window was not signed, by market and reason (history, data).",
    labelNames: ["market", "reason"] as const,
    registers: [this.registry],
  });
  /** Window requests answered, by HTTP status. */
  readonly requests = new Counter({
    name: "zkrisk_publisher_window_requests_total",
    help: "GET /v1/windows requests answered, by HTTP status.",
    labelNames: ["status"] as const,
    registers: [this.registry],
  });
  /** Batches signed and archived, by batch label. */
  readonly batchesSigned = new Counter({
    name: "zkrisk_publisher_batches_signed_total",
    help: "Batches signed and archived, by batch.",
    labelNames: ["batch"] as const,
    registers: [this.registry],
  });
  /** Open time of the last bar of the newest batch signed, per batch (seconds). */
  readonly lastSignedBatch = new Gauge({
    name: "zkrisk_publisher_last_signed_batch_bar_seconds",
    help: "Open time of the last bar of the newest signed batch, seconds since the epoch, by batch.",
    labelNames: ["batch"] as const,
    registers: [this.registry],
  });
  /** Batch requests answered, by HTTP status. */
  readonly batchRequests = new Counter({
    name: "zkrisk_publisher_batch_requests_total",
    help: "GET /v1/batches requests answered, by HTTP status.",
    labelNames: ["status"] as const,
    registers: [this.registry],
  });
  /**
   * 1 from the moment the API listens until the start's archive check is over (the windows, the batches and
   * /health answer 503 meanwhile), then 0.
   */
  readonly starting = new Gauge({
    name: "zkrisk_publisher_starting",
    help:
      "1 while the publisher checks its archive at start (window, batch and /health requests answer 503, " +
      "nothing is signed), 0 once the check passed.",
    registers: [this.registry],
  });
  /** Windows in the archive, per market. */
  readonly archived: Gauge<"market">;
  /** Batches in the archive, per batch. */
  readonly archivedBatches: Gauge<"batch">;
  /** Archive files verified (digests and signature) since the start, by kind. */
  readonly verified: Counter<"kind">;
  /** Log lines dropped because they could not be written (stderr on a full disk). */
  readonly logLinesDropped: Counter;

  /** @param archive what the archive holds and has verified, read at scrape time. */
  constructor(archive: ArchiveCounts) {
    // The process's own: CPU, resident memory, heap, event-loop lag, open handles (prom-client's defaults).
    collectDefaultMetrics({ register: this.registry });
    this.archived = new Gauge({
      name: "zkrisk_publisher_archived_windows",
      help: "Signed windows in the archive, by market.",
      labelNames: ["market"] as const,
      registers: [this.registry],
      collect() {
        for (const [market, n] of Object.entries(archive.windows())) this.set({ market }, n);
      },
    });
    this.archivedBatches = new Gauge({
      name: "zkrisk_publisher_archived_batches",
      help: "Signed batches in the archive, by batch.",
      labelNames: ["batch"] as const,
      registers: [this.registry],
      collect() {
        for (const [batch, n] of Object.entries(archive.batches())) this.set({ batch }, n);
      },
    });
    this.verified = new Counter({
      name: "zkrisk_publisher_archive_verifications_total",
      help:
        "Archive files verified (digests and signature) since the start, by kind (window, batch): each file " +
        "once, and again only when its text changed on disk.",
      labelNames: ["kind"] as const,
      registers: [this.registry],
      collect() {
        // The archives count; the counter shows their counts as they are at the scrape.
        this.reset();
        for (const [kind, n] of Object.entries(archive.verifications())) this.inc({ kind }, n);
      },
    });
    this.logLinesDropped = new Counter({
      name: "zkrisk_publisher_log_lines_dropped_total",
      help:
        "Log lines dropped because they could not be written (stderr on a full disk): the publisher signs on " +
        "without them.",
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(LogDestination.droppedInProcess);
      },
    });
  }
}

/** What the metrics read from the archive at each scrape. */
export interface ArchiveCounts {
  /** Archived windows per market. */
  windows(): Record<string, number>;
  /** Archived batches per batch. */
  batches(): Record<string, number>;
  /** Files verified since the start, per kind (`window`, `batch`). */
  verifications(): Record<string, number>;
}
