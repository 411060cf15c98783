/**
 * The tasks of a checking thread (check-threads.ts): a signed window or batch document checked as in the main
 * thread (document-checks.ts), its lookup sent back (bigints and all, by the structured clone).
 */
import {
  checkBatchDocument,
  checkWindowDocument,
  type BatchLookup,
  type WindowLookup,
} from "./document-checks";

/** What a checking thread is given: a parsed JSON document and where it came from. */
export interface CheckTask {
  value: unknown;
  name: string;
}

/** A document that claims to be a signed window, checked. */
export function window({ value, name }: CheckTask): Promise<WindowLookup> {
  return checkWindowDocument(value, name);
}

/** A document that claims to be a signed batch, checked. */
export function batch({ value, name }: CheckTask): Promise<BatchLookup> {
  return checkBatchDocument(value, name);
}
