/**
 * Jobs of the prover service: one job proves (and, for scheduled jobs, submits) the update of one market at
 * one bar. A job's id is derived from its market and data timestamp, so asking twice for the same bar, from
 * the API or the scheduler, on one machine or several, names the same job.
 *
 * Life of a job:
 *   queued -> proving -> proved                                   (proof only: `submit` false, done)
 *   queued -> proving -> proved -> submitting -> confirmed        (submitted and accepted on chain)
 *   queued -> skipped                                             (bad data, or the oracle would refuse it)
 *   ...    -> rejected                                            (the oracle refused the transaction)
 *   ...    -> failed                                              (retries exhausted)
 * `proving` and `submitting` are in flight; after a crash they are recovered (see `JobStore.recoverInFlight`).
 */
import { createHash } from "node:crypto";
import { ZkriskError } from "../../models/errors";
import type { ProvedUpdate } from "../prove-update";

/** A job store cannot be opened or used: unreadable, not a job store, of a newer schema, or unreachable. */
export class JobStoreError extends ZkriskError {
  constructor(message: string, cause?: unknown) {
    super("JOB_STORE", message);
    if (cause !== undefined) this.cause = cause;
  }
}

/** Where a job is in its life. */
export type JobStatus =
  "queued" | "proving" | "proved" | "submitting" | "confirmed" | "skipped" | "rejected" | "failed";

/** Every status, in life order (for metrics and listings). */
export const JOB_STATUSES: readonly JobStatus[] = [
  "queued",
  "proving",
  "proved",
  "submitting",
  "confirmed",
  "skipped",
  "rejected",
  "failed",
];

/** Statuses a job never leaves. `proved` is final only for proof-only jobs. */
export function isFinal(job: Pick<JobRecord, "status" | "submit">): boolean {
  return (
    job.status === "confirmed" ||
    job.status === "skipped" ||
    job.status === "rejected" ||
    job.status === "failed" ||
    (job.status === "proved" && !job.submit)
  );
}

/** A signed transaction, recorded before it is broadcast so a restart can find or re-send it. */
export interface SentTransaction {
  hash: string;
  /** The signed transaction (hex), re-broadcast as is after a crash: same nonce, same hash. */
  raw: string;
  nonce: number;
}

/** One job, as stored. Times are milliseconds since the Unix epoch unless named otherwise. */
export interface JobRecord {
  /** `jobIdOf(market, dataTimestamp)`. */
  id: string;
  /** Market label from the service config (e.g. "BTC-USDT"). */
  market: string;
  /** Open time of the bar proved, seconds since the Unix epoch (the proof's `dataTimestamp`). */
  dataTimestamp: number;
  /** Submit the proof to the oracle once proved (scheduled jobs; API jobs on request). */
  submit: boolean;
  status: JobStatus;
  /** Attempts made so far (a failed attempt is retried with backoff until the configured maximum). */
  attempts: number;
  /** A retried job waits until this time. */
  notBefore: number;
  /** Why the job was skipped, rejected or failed, or the last transient error of a retried one. */
  reason: string | null;
  /** The proof and everything needed to submit or audit it, once proved. */
  proof: ProvedUpdate | null;
  /** The submitted transaction, once signed. */
  tx: SentTransaction | null;
  /** Block of the accepted update, once confirmed. */
  block: number | null;
  /** The worker that last claimed it (`host:pid`). */
  worker: string | null;
  createdAt: number;
  updatedAt: number;
}

/** Fields a transition may change. */
export type JobPatch = Partial<
  Pick<JobRecord, "status" | "attempts" | "notBefore" | "reason" | "proof" | "tx" | "block" | "worker">
>;

/** What to enqueue. */
export interface JobSpec {
  market: string;
  dataTimestamp: number;
  submit: boolean;
}

/**
 * Persistent job records. Implemented on SQLite (the default, embedded) and on Redis (several machines).
 * Every method is atomic on its own.
 */
export interface JobStore {
  /**
   * Create the job for (market, dataTimestamp) unless it exists. An existing proof-only job asked for again
   * with `submit` becomes a submitting one (a proof already made is reused). Returns the job and whether it
   * was created.
   */
  enqueue(spec: JobSpec, now: number): Promise<{ job: JobRecord; created: boolean }>;
  get(id: string): Promise<JobRecord | undefined>;
  /**
   * Change a job. With `expect`, only if its status is one of them (compare-and-set); returns undefined when
   * the job is missing or in another status.
   */
  update(
    id: string,
    patch: JobPatch,
    now: number,
    expect?: readonly JobStatus[],
  ): Promise<JobRecord | undefined>;
  /**
   * Take the next due job for `worker`: the oldest queued job (-> proving), or the oldest proved job that is
   * to be submitted (-> submitting), whose `notBefore` has passed.
   */
  claimNext(worker: string, now: number): Promise<JobRecord | undefined>;
  /**
   * After a crash: `proving` jobs go back to `queued` and `submitting` jobs with no transaction go back to
   * `proved`, each with one more attempt (the one the crash cut short, so a job that brings its process down
   * every time is not retried forever). Returns the `submitting` jobs that have a transaction: the caller
   * settles them against the chain.
   */
  recoverInFlight(now: number): Promise<JobRecord[]>;
  /** The job with the greatest data timestamp of a market among `statuses`. */
  latest(market: string, statuses: readonly JobStatus[]): Promise<JobRecord | undefined>;
  /** The greatest data timestamp of any job of a market (seconds), or 0. */
  maxDataTimestamp(market: string): Promise<number>;
  /** Number of jobs per status. */
  counts(): Promise<Record<JobStatus, number>>;
  close(): Promise<void>;
}

/** The id of the job for a market and bar: 20 hex digits of sha256("market@timestamp"). */
export function jobIdOf(market: string, dataTimestamp: number): string {
  return createHash("sha256").update(`${market}@${dataTimestamp}`).digest("hex").slice(0, 20);
}
