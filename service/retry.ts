/**
 * The service's retry policy: how long a job waits between two failed attempts (the number of attempts and
 * the first delay are settings of the config file: `chain.maxAttempts`, `chain.retryBaseMs`), and how often a
 * job waiting for late publishers asks them again (no attempt spent; until `publishers.waitSeconds`).
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
