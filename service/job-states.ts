/**
 * The job state machine, defined once: the statuses a job goes through, the transitions allowed between
 * them, how a due job is claimed, and how a job cut short in flight is set back. Both job stores (SQLite and
 * Redis) build their queries and scripts from these tables, the service moves jobs only along them, and the
 * store contract suite (test/helpers/job-store-contract.ts) checks every store against `TRANSITIONS`.
 *
 *   queued -> proving -> proved                                   (proof only: `submit` false, done)
 *   queued -> proving -> proved -> submitting -> confirmed        (submitted and accepted on chain)
 *   ...    -> skipped                                             (bad data, or the oracle would refuse it)
 *   ...    -> rejected                                            (the oracle refused the transaction)
 *   ...    -> failed                                              (retries exhausted)
 *   proving -> queued, submitting -> proved                       (set back: a retry, a crash, a stop; and
 *                                                                  proving -> queued: a wait for late publishers)
 *
 * `proving` and `submitting` are in flight: a job is in them only while a process (its holder) works on it.
 */

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

/** The status of a new job. */
export const INITIAL_STATUS: JobStatus = "queued";

/** The ways a job that has not ended ends: skipped (bad data or a refusal foreseen), rejected, failed. */
const ENDINGS: readonly JobStatus[] = ["skipped", "rejected", "failed"];

/**
 * The statuses each status may move to. A status listed as its own successor may be written again: a job
 * set back for a retry that already was (`queued`, `proved`), or an in-flight job whose holder died, claimed
 * by another process (`proving`, `submitting`). `confirmed`, `skipped`, `rejected` and `failed` are final.
 */
export const TRANSITIONS: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  queued: ["queued", "proving", ...ENDINGS],
  proving: ["proving", "queued", "proved", ...ENDINGS],
  proved: ["proved", "submitting", ...ENDINGS],
  submitting: ["submitting", "proved", "confirmed", ...ENDINGS],
  confirmed: [],
  skipped: [],
  rejected: [],
  failed: [],
};

/** Whether a job in status `from` may move to `to`. */
export function canTransition(from: JobStatus, to: JobStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/**
 * The statuses a job may be in to move to `to`, narrowed to `only` when given (compare-and-set): the
 * `expect` list with which a store makes the transition.
 */
export function allowedFrom(to: JobStatus, only?: readonly JobStatus[]): JobStatus[] {
  return JOB_STATUSES.filter(
    (from) => canTransition(from, to) && (only === undefined || only.includes(from)),
  );
}

/** How a due job is claimed: from which status, into which, and whether only jobs to submit are due in it. */
export interface ClaimRule {
  from: JobStatus;
  to: JobStatus;
  onlyToSubmit: boolean;
}

/** A queued job is claimed to prove it; a proved job to submit it, if it is to be submitted. */
export const CLAIMS: readonly ClaimRule[] = [
  { from: "queued", to: "proving", onlyToSubmit: false },
  { from: "proved", to: "submitting", onlyToSubmit: true },
];

/** How an in-flight job is set back when its run was cut short (a crash, a stop, a failed step). */
export interface SetBackRule {
  from: JobStatus;
  to: JobStatus;
  /** A job with a sent transaction is not set back: the transaction is settled against the chain. */
  unlessSent: boolean;
}

/** `proving` goes back to `queued` (proved again); `submitting` to `proved` (signed again), unless sent. */
export const SET_BACKS: readonly SetBackRule[] = [
  { from: "proving", to: "queued", unlessSent: false },
  { from: "submitting", to: "proved", unlessSent: true },
];

/**
 * Statuses in which a proof-only job asked for again with `submit` becomes a submitting one: those from
 * which it can still reach `proved` (a skipped, rejected or failed job stays as it is).
 */
export const SUBMIT_UPGRADE_FROM: readonly JobStatus[] = ["queued", "proving", "proved"];

/**
 * Of those, the statuses in which a job is due only when it is to be submitted (`proved`). Asked for with submit
 * there, a job becomes due again after its work was done: it gets a new due time, later than its last, so that a
 * delivery made for the last one (Redis mode: one whose worker died after proving, made again) is stale and cannot
 * claim the job a live process now submits.
 */
export const DUE_AGAIN_BY_SUBMIT: readonly JobStatus[] = SUBMIT_UPGRADE_FROM.filter(
  (status) =>
    CLAIMS.some((c) => c.from === status && c.onlyToSubmit) &&
    !CLAIMS.some((c) => c.from === status && !c.onlyToSubmit),
);

/** The claim rule that takes a job in `status`, if any. */
export function claimRuleOf(job: { status: JobStatus; submit: boolean }): ClaimRule | undefined {
  return CLAIMS.find((c) => c.from === job.status && (!c.onlyToSubmit || job.submit));
}

/** Whether a job waits to be claimed (once its `notBefore` has passed). */
export function isDue(job: { status: JobStatus; submit: boolean }): boolean {
  return claimRuleOf(job) !== undefined;
}

/** The status a job in `status` is set back to when its run is cut short; itself when not in flight. */
export function setBackOf(status: JobStatus): JobStatus {
  return SET_BACKS.find((s) => s.from === status)?.to ?? status;
}

/**
 * The statuses of a job whose proof is still to be made: waiting for a prover or being proved. They are the work
 * a market has in hand; `enqueue` with a cap (jobs.ts) counts them.
 */
export const PENDING_STATUSES: readonly JobStatus[] = ["queued", "proving"];

/** The statuses in which every job has ended: none moves on from them. */
export const ENDED_STATUSES: readonly JobStatus[] = JOB_STATUSES.filter((s) => TRANSITIONS[s].length === 0);

/** The statuses in which a proof-only job (`submit` false) has ended, besides `ENDED_STATUSES`. */
export const ENDED_PROOF_ONLY_STATUSES: readonly JobStatus[] = ["proved"];

/** Whether a job never changes again. `proved` is final only for proof-only jobs. */
export function isFinal(job: { status: JobStatus; submit: boolean }): boolean {
  return TRANSITIONS[job.status].length === 0 || (job.status === "proved" && !job.submit);
}
