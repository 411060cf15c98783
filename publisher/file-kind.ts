/**
 * Which of zkrisk's publisher files a JSON document is, told by the keys only that kind holds: so that a reader
 * handed another zkrisk file (a publisher set as `--keystore`, a signed window as `--key`) says so, rather than
 * naming the first key it does not expect. The files carry a version, not their kind; each kind's keys are those of
 * its writer (keystore.ts, publisher-set-file.ts, signed-window.ts, signed-batch.ts).
 */
import { PublisherFileKindError } from "./errors";

/** A zkrisk publisher file kind, as messages name it. */
export type PublisherFileKind =
  | "a keystore"
  | "a public key file"
  | "a publisher set file"
  | "a signed window file"
  | "a signed batch file";

/**
 * The kind of `value` (a parsed JSON document), or another zkrisk file's `format` (`a zkrisk-calibrations/2 file`),
 * or undefined when it is none of them (a malformed file is then its reader's to describe). A file with a `format` is
 * not a publisher file; a keystore has `kdf` or `ciphertext`; a signed batch `markets`; a signed window `market` and
 * `bars`; a publisher set `quorum` and `keys`; a public key file `publicKey`, with `keystore` beside it at most.
 */
export function publisherFileKind(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const has = (key: string) => Object.prototype.hasOwnProperty.call(value, key);
  // the other zkrisk files (models, calibrations, proofs...) state their format; publisher files do not
  const format = (value as { format?: unknown }).format;
  if (typeof format === "string" && format.startsWith("zkrisk-")) return `a ${format} file`;
  if (has("kdf") || has("ciphertext")) return "a keystore";
  if (has("markets")) return "a signed batch file";
  if (has("market") && has("bars")) return "a signed window file";
  if (has("quorum") && has("keys")) return "a publisher set file";
  if (has("publicKey") && Object.keys(value).every((k) => k === "publicKey" || k === "keystore"))
    return "a public key file";
  return undefined;
}

/**
 * Refuses `value`, read from `file`, when it is recognisably another zkrisk file than `expected` (one kind, or
 * several a reader takes alike).
 * @throws PublisherFileKindError e.g. `set.json is a publisher set file, not a keystore or a public key file`
 */
export function refuseOtherPublisherFile(
  file: string,
  value: unknown,
  expected: readonly PublisherFileKind[],
): void {
  const kind = publisherFileKind(value);
  if (kind !== undefined && !(expected as readonly string[]).includes(kind))
    throw new PublisherFileKindError(file, kind, expected.join(" or "));
}
