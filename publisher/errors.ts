/**
 * Error families of the data publishers (keys, publisher sets, keystores, signed windows). Each has a stable
 * `code`; the message names the file, field or key at fault, and never holds a private key.
 */
import { ZkriskError } from "../core/errors";

/**
 * A publisher file (keystore, signed window) is malformed, cannot be read, or cannot be decrypted; the
 * message reads `file: field: reason`. Code `FILE_INVALID`, like every bad input file (CLI exit code 2).
 */
export class PublisherFileError extends ZkriskError {
  constructor(
    readonly file: string,
    readonly field: string,
    readonly reason: string,
  ) {
    super("FILE_INVALID", `${file}: ${field}: ${reason}`);
  }
}

/**
 * A signed file (window or batch) of a version this reader does not read, e.g. a version 2 window (digest layout
 * v2); its field is `version` and its reason says which versions and what changed. Code `FILE_INVALID`, as every
 * bad file; a subclass so that an auditor can tell "not readable here" from "does not check"
 * (window-sources.ts).
 */
export class UnsupportedVersionError extends PublisherFileError {
  constructor(
    file: string,
    readonly version: number,
    reason: string,
  ) {
    super(file, "version", reason);
  }
}

/**
 * A file that is recognisably another zkrisk file than the one its reader reads (a publisher set file given as a
 * keystore); its field is `(root)`, but the message reads `file is KIND, not EXPECTED`. Code `FILE_INVALID`, as
 * every bad file; a subclass, so that what catches a bad publisher file catches this one too.
 */
export class PublisherFileKindError extends PublisherFileError {
  constructor(
    file: string,
    readonly kind: string,
    readonly expected: string,
  ) {
    super(file, "(root)", `${kind}, not ${expected}`);
    this.message = `${file} is ${kind}, not ${expected}`;
  }
}

/**
 * A signature does not verify against its public key and digest, or a public key is not a valid
 * BabyJubJub point. Code `DATA_SIGNATURE_INVALID` (signed data that cannot be trusted: CLI exit code 2).
 */
export class SignatureError extends ZkriskError {
  constructor(message: string) {
    super("DATA_SIGNATURE_INVALID", message);
  }
}

/**
 * A publisher set is malformed (no keys or more than 8, quorum 0 or above n, a duplicate or invalid key).
 * Code `PUBLISHER_SET_INVALID`.
 */
export class PublisherSetError extends ZkriskError {
  constructor(message: string) {
    super("PUBLISHER_SET_INVALID", message);
  }
}
