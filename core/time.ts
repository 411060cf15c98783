/**
 * Shared core: time as text. The one owner of ISO 8601 formatting for logs, messages and reports, used by every
 * folder along the data path (candles, models, prover, service). Pick the function for the unit you hold:
 * seconds since the Unix epoch (chain and service timestamps) or milliseconds (candle open times).
 */

/** `seconds` since the Unix epoch as an ISO 8601 UTC time with milliseconds, e.g. 2024-06-01T10:00:00.000Z. */
export function isoFromSeconds(seconds: number | bigint): string {
  return new Date(Number(seconds) * 1000).toISOString();
}

/**
 * `seconds` since the Unix epoch as an ISO 8601 UTC time without milliseconds, e.g. 2024-06-01T10:00:00Z; a value
 * outside what a Date can hold (or not finite) reads `<seconds> s since the epoch` instead of throwing, so it is
 * safe inside error messages about untrusted timestamps.
 */
export function isoFromSecondsCompact(seconds: number): string {
  const ms = seconds * 1000;
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return `${seconds} s since the epoch`;
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** `ms` since the Unix epoch as an ISO 8601 UTC time with milliseconds, e.g. 2024-06-01T10:00:00.000Z. */
export function isoFromMs(ms: number): string {
  return new Date(ms).toISOString();
}

/** `ms` since the Unix epoch as ISO 8601 (as `isoFromMs`), or `fallback` when `ms` is undefined (an open bound). */
export function isoFromMsOr(ms: number | undefined, fallback: string): string {
  return ms === undefined ? fallback : isoFromMs(ms);
}
