/**
 * Shared core: the answers of HTTP servers the project does not run (publishers, candle feeds), read so that a broken
 * or hostile one costs bounded memory, and its own words made safe to quote. The one owner of both, used by the
 * prover service's publisher client (service/publisher-windows.ts), the audit's (publisher/window-sources.ts) and
 * the candle feeds (feeds/sources.ts).
 */

/** What reading an answer's body gave. */
export type CappedBody =
  /** The whole body, as text (UTF-8, as `Response.text()` decodes it). */
  | { kind: "read"; text: string }
  /** A body longer than the cap: the rest was cancelled, never downloaded. */
  | { kind: "over" }
  /** The connection failed or the time ran out mid-body (`reason` says which). */
  | { kind: "failed"; reason: string };

/**
 * The body of `response` as text, read as a stream up to `maxBytes`, counted after decompression (fetch unpacks gzip
 * as it arrives, so a gzip bomb stops at the cap too): `over` when it is longer (the rest cancelled), `failed` with
 * the error when the connection fails or the time runs out mid-body. Never throws.
 */
export async function readCappedBody(response: Response, maxBytes: number): Promise<CappedBody> {
  if (response.body === null) return { kind: "read", text: "" };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      size += chunk.value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => undefined);
        return { kind: "over" };
      }
      chunks.push(chunk.value);
    }
  } catch (err) {
    return { kind: "failed", reason: `the answer was cut off: ${(err as Error).message}` };
  }
  // as response.text() decodes: UTF-8, a byte order mark dropped
  return { kind: "read", text: new TextDecoder().decode(Buffer.concat(chunks)) };
}

/** The most characters of a server's own words (an error answer's `message`) a report or a log line quotes. */
export const QUOTE_CHARS = 200;

/**
 * A server's words (or any text holding them) as a report may quote them: on one line, every run of control
 * characters and line or paragraph separators shown as one space (so they cannot add lines to a log or a report),
 * and cut to `maxChars` characters (`…` marks the cut).
 */
export function quoted(text: string, maxChars = QUOTE_CHARS): string {
  // cut before the replace, so a megabyte of text costs no copy of it
  const cut = text.length > maxChars;
  const line = (cut ? text.slice(0, maxChars) : text).replace(/[\p{Cc}\p{Zl}\p{Zp}]+/gu, " ");
  return cut ? `${line}…` : line;
}
