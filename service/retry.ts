/**
 * The service's retry policy: how long a job waits between two failed attempts. The number of attempts and
 * the first delay are settings of the config file (`chain.maxAttempts`, `chain.retryBaseMs`).
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
