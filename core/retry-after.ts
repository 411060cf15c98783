/** An HTTP `Retry-After` header read as a pause. */

/**
 * The pause (ms) a `Retry-After` value asks for: whole seconds, or an HTTP date (a date past gives 0), at most
 * `capMs`; undefined for no value or one that is neither.
 */
export function retryAfterMs(
  value: string | null | undefined,
  capMs: number,
  now: number = Date.now(),
): number | undefined {
  const text = value?.trim();
  if (text === undefined || text === "") return undefined;
  const ms = /^\d+$/.test(text) ? Number(text) * 1000 : Date.parse(text) - now;
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(Math.max(ms, 0), capMs);
}
