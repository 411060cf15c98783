/**
 * `zkrisk publisher serve --config publisher.json [--check] [--log-level info] [--json]`: the long-running
 * signer (publisher/serve/): signs each new window of every configured market once, archives it, and serves
 * the signed windows over HTTP until SIGINT or SIGTERM. `--check` checks what a start would (the config, the
 * keystore unlocked with the password, the file sources read) and prints the config without secrets, with the
 * keystore's public key, and exits.
 */
import { UsageError } from "../../core/errors";
import type { PublicKey } from "../../publisher";
import { checkPublisher, servePublisher, type PublisherRun } from "../../publisher/serve";
import { progressLine } from "../progress";

/** The options of `zkrisk publisher serve`, as commander gives them. */
export interface PublisherServeFlags {
  /** Publisher config file (JSON). */
  config: string;
  /** Validate and print the config, then exit. */
  check?: boolean;
  /** pino log level. */
  logLevel: string;
  json?: boolean;
}

/** What `serve` ends with: the checked config, or the run that a signal stopped. */
export type PublisherServeResult =
  | { checked: true; config: Record<string, unknown>; publicKey: PublicKey }
  | ({ checked: false } & PublisherRun);

/** The accepted `--log-level` values. */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace"] as const;

/**
 * Checks the config, or runs the publisher until SIGINT or SIGTERM.
 * @throws UsageError for a bad --log-level or an unset ZKRISK_PUBLISHER_PASSWORD; ConfigError for the
 *   config; PublisherFileError for the keystore (or a wrong password).
 */
export async function runPublisherServe(
  f: PublisherServeFlags,
  env: NodeJS.ProcessEnv = process.env,
): Promise<PublisherServeResult> {
  if (!(LOG_LEVELS as readonly string[]).includes(f.logLevel)) {
    throw new UsageError(`--log-level: '${f.logLevel}' is not one of ${LOG_LEVELS.join(", ")}`);
  }
  if (f.check) {
    const check = await checkPublisher(f.config, env, () =>
      progressLine("checking: unlocking the publisher keystore (scrypt, a few seconds)", f.json),
    );
    return { checked: true, ...check };
  }
  return { checked: false, ...(await servePublisher({ config: f.config, logLevel: f.logLevel, env })) };
}

/** The text report: the config checked, or what the run did. */
export function formatPublisherServe(r: PublisherServeResult): string {
  if (r.checked) {
    return (
      `${JSON.stringify(r.config, null, 2)}\n` +
      `public key Ax ${r.publicKey.Ax}\n           Ay ${r.publicKey.Ay}\n`
    );
  }
  return (
    `publisher stopped (${r.signal}) after ${r.polls} polls: ${r.signed} windows signed, ` +
    `${r.batches} batches signed, ${r.disagreements} source disagreements\n`
  );
}
