/**
 * The service's retry policy: how long a job waits between two failed attempts (the number of attempts and
 * the first delay are settings of the config file: `chain.maxAttempts`, `chain.retryBaseMs`), and how often a
 * job waiting for late publishers asks them again (no attempt spent; until `publishers.waitSeconds`), or waiting on
 * the chain looks again (no attempt spent; until the node answers, the gas price falls under the ceiling, or the
 * market's earlier transaction is settled).
 */

/** Longest wait between two attempts of a job, ms (10 minutes); also the largest `chain.retryBaseMs`. */
export const MAX_RETRY_DELAY_MS = 600_000;

/**
 * How long a job waits after its `attempt`-th failed attempt (1-based) before the next one, ms:
 * `retryBaseMs * 2^(attempt - 1)`, capped at `MAX_RETRY_DELAY_MS`.
 */
export function retryDelayMs(retryBaseMs: number, attempt: number): number {
  return Math.min(retryBaseMs * 2 ** Math.max(0, attempt - 1), MAX_RETRY_DELAY_MS);
}

/**
 * Whether a job set back until `notBefore` may be claimed at `now` (both ms on the wall clock): its due time has
 * passed, or it lies further ahead than any delay the service sets (`MAX_RETRY_DELAY_MS`, the longest of
 * them). Then the wall clock has stepped back since the delay was set (a correction by NTP, a virtual machine
 * restored from a snapshot), and the job is due now instead of waiting for the clock to catch up. So no job
 * waits more than `MAX_RETRY_DELAY_MS` from any moment, whatever the clock does; a job due within that wait
 * after a step back waits the step's length more, at most that long.
 */
export function isDueAt(notBefore: number, now: number): boolean {
  return notBefore <= now || notBefore > now + MAX_RETRY_DELAY_MS;
}

/**
 * Longest wait between two requests for a bar's signed windows (or batches) while the job waits for late
 * publishers, ms (30 s): a signature that comes late is picked up within this once the wait is long.
 */
export const MAX_PUBLISHER_POLL_MS = 30_000;

/**
 * How long a job waiting for late publishers waits before asking them again, ms: a quarter of the time waited
 * since the bar's close (`waitedSeconds`, by the chain's clock), at least `retryBaseMs` and at most
 * `MAX_PUBLISHER_POLL_MS`. So a signature `s` seconds late is picked up at most `max(retryBaseMs, s / 4)` later,
 * and never more than 30 s later.
 */
export function publisherPollDelayMs(retryBaseMs: number, waitedSeconds: number): number {
  return Math.min(Math.max(retryBaseMs, Math.round((waitedSeconds * 1000) / 4)), MAX_PUBLISHER_POLL_MS);
}

/** Longest wait between two looks while a job waits on the chain (the node, the gas price), ms (60 s). */
export const MAX_CHAIN_WAIT_MS = 60_000;

/**
 * How long a job waiting on the chain (a node that does not answer, a gas price above the ceiling, an earlier
 * transaction of its market not settled yet) waits before it looks again, ms: a quarter of the time it has waited
 * so far (`waitedMs`), at least `retryBaseMs` and at most `MAX_CHAIN_WAIT_MS`. The first looks come soon, so that
 * a short outage costs seconds; a long one is looked at once a minute.
 */
export function chainWaitDelayMs(retryBaseMs: number, waitedMs: number): number {
  return Math.min(Math.max(retryBaseMs, Math.round(waitedMs / 4)), MAX_CHAIN_WAIT_MS);
}

/** How often a job's wait on the chain is logged again while it lasts, ms (5 minutes). */
export const CHAIN_WAIT_LOG_EVERY_MS = 300_000;
