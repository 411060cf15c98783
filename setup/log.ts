/** Logging for the trusted setup: the caller decides where messages go; library code never prints. */

/** Where setup code reports progress and warnings. `debug` receives snarkjs's chatty internals, if given. */
export interface SetupLog {
  info(message: string): void;
  warn(message: string): void;
  debug?(message: string): void;
}

/** A log that drops everything. */
export const silentLog: SetupLog = { info() {}, warn() {} };

/** The logger shape snarkjs expects (its functions call all four methods). */
export interface SnarkjsLogger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/**
 * A snarkjs logger feeding `log`, which also keeps snarkjs's error lines: several snarkjs functions report a failure
 * by logging an error and returning `false` or `-1`, so the caller needs those lines to explain what went wrong.
 */
export function snarkjsLogger(log: SetupLog): SnarkjsLogger & { readonly errors: string[] } {
  const errors: string[] = [];
  return {
    errors,
    debug: (m) => log.debug?.(m),
    // snarkjs's info lines are detail (hashes, section names); keep them at debug level.
    info: (m) => log.debug?.(m),
    warn: (m) => log.warn(m),
    error: (m) => {
      errors.push(m);
      log.debug?.(`snarkjs error: ${m}`);
    },
  };
}

/** A setup log on stderr; info lines only when not in --json mode. */
export function stderrLog(json: boolean): SetupLog {
  return {
    info: (m) => {
      if (!json) process.stderr.write(`${m}\n`);
    },
    warn: (m) => process.stderr.write(`WARNING: ${m}\n`),
  };
}
