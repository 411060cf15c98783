/**
 * Jobs of the prover service: one job proves (and, for scheduled jobs, submits) the update of one market at
 * one bar, or the signed batch of one configured batch of markets at one bar close (its `market` is then the
 * batch's label). A job's id is derived from its market (or batch) and data timestamp, so asking twice for the
 * same bar, from the API or the scheduler, on one machine or several, names the same job.
 *
 * Its statuses and the transitions between them are defined in `job-states.ts`.
 */
import { createHash } from "node:crypto";
import { ZkriskError } from "../core/errors";
import type { ProvedSignedUpdate } from "../prover/prove-signed-update";
import type { ProvedSignedBatch } from "../prover/prove-signed-batch";
import { allowedFrom, type JobStatus } from "./job-states";

/** A job store cannot be opened or used: unreadable, not a job store, of a newer schema, or unreachable. */
export class JobStoreError extends ZkriskError {
  constructor(message: string, cause?: unknown) {
    super("JOB_STORE", message);
    if (cause !== undefined) this.cause = cause;
  }
}

/** What a job proves: a market's signed update, or a batch's signed batch. */
export type ProvedJob = ProvedSignedUpdate | ProvedSignedBatch;

/** Whether a job's proof is a signed batch's (of any format: a job stored by an older version is one too). */
export function isBatchProof(p: ProvedJob): p is ProvedSignedBatch {
  return p.format.startsWith("zkrisk-signed-batch-proof/");
}

/**
 * A signed transaction, recorded before it is broadcast so a restart can find or re-send it. Stored as JSON in
 * both stores; the optional fields are absent in records written before fee bumping, which read as a transaction
 * with no others, signed at an unknown time.
 */
export interface SentTransaction {
  hash: string;
  /** The signed transaction (hex), re-broadcast as is after a crash: same nonce, same hash. */
  raw: string;
  nonce: number;
  /** When it was signed (and then recorded), ms since the Unix epoch. */
  signedAt?: number;
  /**
   * The job's other transactions of this nonce, oldest first: while it waits, the ones it replaced with higher fees
   * (each recorded before it was sent); once one of them is mined and the job settled, this is the one mined and
   * these the others. Any of them may be the one mined, so all are settled by their receipts. Absent: none.
   */
  others?: { hash: string; raw: string }[];
}

/** What an entry of a job's history records (a stable code). */
export type JobEventKind =
  /** An adaptive update's dry run was refused for its prior (it moved since the proof): proved again. */
  | "reproved-before-send"
  /** An adaptive update's transaction reverted for its prior (another update landed first): proved again and resent. */
  | "reproved-after-revert"
  /** A transaction still pending after `chain.replaceAfterSeconds` was replaced by one with higher fees. */
  | "replaced"
  /** The node refused the transaction as invalid and none of the job's was mined: cleared, to be signed again. */
  | "refused-by-node";

/** One entry of a job's history: a step an operator should see besides the job's status and reason. */
export interface JobEvent {
  /** When, ms since the Unix epoch. */
  at: number;
  event: JobEventKind;
  /** What happened, in words: e.g. the reverted transaction, the stale prior and the oracle's prior proved from. */
  message: string;
}

/** One job, as stored. Times are milliseconds since the Unix epoch unless named otherwise. */
export interface JobRecord {
  /** `jobIdOf(market, dataTimestamp)`. */
  id: string;
  /** Market label from the service config (e.g. "BTC-USDT"), or the batch's label for a batch's job. */
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
  /**
   * Why the job was skipped, rejected or failed, the last transient error of a retried one, or, while it waits for
   * late publishers, until when and what each publisher answered.
   */
  reason: string | null;
  /**
   * The proved update (proof, public signals, calldata, parameters, features), or a batch's proved batch (proof,
   * public signals, calldata, each market's margins), once proved.
   */
  update: ProvedJob | null;
  /** The submitted transaction, once signed. */
  tx: SentTransaction | null;
  /** Block of the accepted update, once confirmed. */
  block: number | null;
  /** The service process that last claimed it (`host:pid:start-id`). */
  holder: string | null;
  /** Steps worth an operator's eye, oldest first (e.g. a proof made again because the adaptive prior moved). */
  history: JobEvent[];
  createdAt: number;
  updatedAt: number;
}

/** Fields an update may change. */
export type JobPatch = Partial<
  Pick<
    JobRecord,
    "status" | "attempts" | "notBefore" | "reason" | "update" | "tx" | "block" | "holder" | "history"
  >
>;

/** Fields a transition may change besides the status. */
export type JobFieldPatch = Omit<JobPatch, "status">;

/**
 * `enqueue` with a cap refused to create a job: its market (or batch) already has `pending` jobs whose proof is
 * still to be made (`PENDING_STATUSES`), counted in the store, so over every process that shares it.
 */
export class PendingCapError extends ZkriskError {
  constructor(
    readonly market: string,
    readonly pending: number,
    readonly cap: number,
  ) {
    super(
      "PENDING_CAP",
      `market '${market}' has ${pending} jobs waiting to be proved or being proved, the most a new job is made at (${cap})`,
    );
  }
}

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
   *
   * With `maxPending`, a job that does not exist yet is created only while its market has fewer than that many jobs
   * waiting to be proved or being proved (`PENDING_STATUSES`), all counted and the job created in one atomic step,
   * whichever process asks; otherwise `PendingCapError`, and nothing is written. A job that exists is answered (and
   * upgraded) whatever the count.
   */
  enqueue(spec: JobSpec, now: number, maxPending?: number): Promise<{ job: JobRecord; created: boolean }>;
  get(id: string): Promise<JobRecord | undefined>;
  /**
   * Write fields of a job as given, without consulting the state machine. With `expect`, only if its status
   * is one of them (compare-and-set); returns undefined when the job is missing or in another status. The
   * service changes statuses with `transition` (below); this is for other fields, repairs and test fixtures.
   */
  update(
    id: string,
    patch: JobPatch,
    now: number,
    expect?: readonly JobStatus[],
  ): Promise<JobRecord | undefined>;
  /**
   * Take the next due job for `holder` (`host:pid:start-id`) by the claim rules (`CLAIMS` in job-states.ts): the
   * oldest queued job (-> proving), or the oldest proved job that is to be submitted (-> submitting), whose
   * `notBefore` has passed.
   */
  claimNext(holder: string, now: number): Promise<JobRecord | undefined>;
  /**
   * The jobs waiting to be claimed by the claim rules (queued; proved and to be submitted), whatever their
   * `notBefore`, in claim order, at most `limit`; nothing is claimed. Redis mode hands them to its queue again,
   * so that a job recorded but never handed over (a process killed in between) is not left behind.
   */
  due(limit: number): Promise<JobRecord[]>;
  /**
   * After a crash, by the set-back rules (`SET_BACKS` in job-states.ts): `proving` jobs go back to `queued`
   * and `submitting` jobs with no transaction go back to `proved`, each with one more attempt (the one the crash cut short, so a job that brings its process down
   * every time is not retried forever). Returns the `submitting` jobs that have a transaction: the caller
   * settles them against the chain.
   */
  recoverInFlight(now: number): Promise<JobRecord[]>;
  /** The job with the greatest data timestamp of a market among `statuses`. */
  latest(market: string, statuses: readonly JobStatus[]): Promise<JobRecord | undefined>;
  /**
   * The greatest data timestamp of a market's jobs that submit (seconds), or 0. Proof-only jobs (`submit`
   * false, made through the API) do not count: the scheduler resumes after this bar at a restart, and a bar whose
   * only job is proof-only must still be scheduled (its enqueue upgrades the job to submit).
   */
  maxSubmitTimestamp(market: string): Promise<number>;
  /** Number of jobs per status. */
  counts(): Promise<Record<JobStatus, number>>;
  /**
   * Delete the jobs that have ended (`isFinal`: confirmed, skipped, rejected, failed, and proved proof-only ones)
   * and were last changed before `before` (ms since the Unix epoch); returns how many. A job that may still move is
   * kept whatever its age, and a job changed meanwhile is kept (the test and the deletion are one atomic step).
   */
  prune(before: number): Promise<number>;
  close(): Promise<void>;
}

/**
 * Move a job to status `to` with `patch`, only if `TRANSITIONS` (job-states.ts) allows it from its current
 * status, and with `only`, only from one of those: one compare-and-set `update` of the store. Returns
 * undefined when the job is missing or the transition is refused.
 */
export function transition(
  store: JobStore,
  id: string,
  to: JobStatus,
  patch: JobFieldPatch,
  now: number,
  only?: readonly JobStatus[],
): Promise<JobRecord | undefined> {
  return store.update(id, { ...patch, status: to }, now, allowedFrom(to, only));
}

/** The id of the job for a market and bar: 20 hex digits of sha256("market@timestamp"). */
export function jobIdOf(market: string, dataTimestamp: number): string {
  return createHash("sha256").update(`${market}@${dataTimestamp}`).digest("hex").slice(0, 20);
}
