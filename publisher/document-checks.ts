/**
 * Checking a document that claims to be a signed window or a signed batch (publisher/signed-window.ts
 * `parseSignedWindow`, signed-batch.ts `parseSignedBatch`: every field, the Poseidon digests of the bars, the
 * signature), with its outcome as an auditor's lookup reads it (window-sources.ts): found, invalid (evidence) or
 * absent (a file version this reader does not read: no evidence).
 *
 * The checks cost some 25 ms of CPU a window, most of it the digest. `DocumentChecks` says where they run: in this
 * thread (`IN_THREAD`), or in a pool of worker threads (check-threads.ts), so that the lookups an audit runs ahead
 * (audit/lookahead.ts) are checked on every core. The outcome is the same either way.
 */
import { ZkriskError } from "../core/errors";
import { UnsupportedVersionError } from "./errors";
import { parseSignedBatch, type SignedBatch } from "./signed-batch";
import { parseSignedWindow, type SignedWindow } from "./signed-window";

/** A lookup that found no document that checks: one that does not check (evidence), or none (no evidence). */
export type NotFound =
  { source: string; kind: "invalid"; reason: string } | { source: string; kind: "absent"; reason: string };

/** What one source holds for one (market, bar). */
export type WindowLookup = { source: string; kind: "found"; window: SignedWindow } | NotFound;

/** A signed batch one source holds for one (market, bar). */
export type BatchLookup = { source: string; kind: "found"; batch: SignedBatch } | NotFound;

/** Where the documents a source finds are checked. */
export interface DocumentChecks {
  /** A parsed JSON document (`value`, from `name`: a file or a URL) that claims to be a signed window. */
  window(value: unknown, name: string): Promise<WindowLookup>;
  /** A parsed JSON document that claims to be a signed batch. */
  batch(value: unknown, name: string): Promise<BatchLookup>;
}

/**
 * The outcome of a document that claims to be a signed window or batch: found (`found` makes the lookup of what
 * `parse` read), invalid with the reason, or absent when its version is one this reader does not read (its
 * digest cannot be recomputed here, so it is neither a document that checks nor one that fails to).
 */
async function checkedAs<T, L>(
  parse: (value: unknown, name: string) => Promise<T>,
  found: (source: string, doc: T) => L,
  value: unknown,
  name: string,
): Promise<L | NotFound> {
  try {
    return found(name, await parse(value, name));
  } catch (err) {
    if (!(err instanceof ZkriskError)) throw err;
    if (err instanceof UnsupportedVersionError) {
      return { source: name, kind: "absent", reason: err.message };
    }
    return { source: name, kind: "invalid", reason: err.message };
  }
}

/** A signed window document, checked in this thread. */
export function checkWindowDocument(value: unknown, name: string): Promise<WindowLookup> {
  return checkedAs(parseSignedWindow, (source, window) => ({ source, kind: "found", window }), value, name);
}

/** A signed batch document, checked in this thread. */
export function checkBatchDocument(value: unknown, name: string): Promise<BatchLookup> {
  return checkedAs(parseSignedBatch, (source, batch) => ({ source, kind: "found", batch }), value, name);
}

/** The checks run in this thread, one at a time. */
export const IN_THREAD: DocumentChecks = { window: checkWindowDocument, batch: checkBatchDocument };
