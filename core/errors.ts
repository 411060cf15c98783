/**
 * Error families of zkrisk. Each family has one class and a stable `code` that scripts can match on;
 * the message names the file, line, parameter or value at fault.
 */

/** Base class of every error zkrisk raises on purpose. */
export class ZkriskError extends Error {
  constructor(
    /** Stable, machine-readable identifier of the failure family (e.g. `DATA_INVALID`). */
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A data file (candles) is malformed; the message starts with `file:line:`. */
export class DataError extends ZkriskError {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly reason: string,
  ) {
    super("DATA_INVALID", `${line === undefined ? file : `${file}:${line}`}: ${reason}`);
  }
}

/** Not enough history (or no bar) to compute what was asked for. */
export class InsufficientDataError extends ZkriskError {
  constructor(message: string) {
    super("DATA_INSUFFICIENT", message);
  }
}

/** A model file (float or quantised) is malformed or inconsistent. */
export class ModelError extends ZkriskError {
  constructor(message: string) {
    super("MODEL_INVALID", message);
  }
}

/** A value is outside the bounds declared by the quantised model (never wrapped, never clipped). */
export class BoundsError extends ZkriskError {
  constructor(message: string) {
    super("OUT_OF_BOUNDS", message);
  }
}

/** A command-line argument is missing or invalid; the message names the option and the value. */
export class UsageError extends ZkriskError {
  constructor(message: string) {
    super("USAGE", message);
  }
}

/**
 * A config file (the prover service's, the publisher's) is malformed or names something that does not
 * exist; the message reads `file: field: reason` and names the bad value. Code `CONFIG_INVALID` (exit 2).
 */
export class ConfigError extends ZkriskError {
  constructor(message: string) {
    super("CONFIG_INVALID", message);
  }
}

/**
 * A trusted-setup input or artifact is unusable: a ptau too small or not prepared for phase 2, a zkey that does not
 * verify against its r1cs and ptau, or an artifact whose sha256 differs from its manifest. Code `SETUP_INVALID`;
 * the message names the file and, for hash mismatches, both hashes.
 */
export class SetupError extends ZkriskError {
  constructor(message: string) {
    super("SETUP_INVALID", message);
  }
}
