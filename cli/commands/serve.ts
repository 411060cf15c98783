/** `zkrisk serve`: the prover service (scheduled proving and submission, HTTP API). */
import { UsageError } from "../../core/errors";
import { loadServiceConfig } from "../../service/config";
import { checkedConfig, serve } from "../../service/run";
import { output, parseIntOption } from "../options";

/** The options of `zkrisk serve`, as commander gives them (cli/register/serve.ts). */
export interface ServeFlags {
  config: string;
  check?: boolean;
  queue?: string;
  logLevel: string;
  grace: string;
  /** Print the result (the checked config) as one JSON object; errors as JSON on stderr. */
  json?: boolean;
}

/** What `serve` ends with: the checked config (redacted), or a service that a signal stopped. */
export type ServeResult = { checked: true; config: Record<string, unknown> } | { checked: false };

/** The accepted `--log-level` values. */
const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace"];

/**
 * Check the config, or run the prover service until SIGTERM or SIGINT (logs on stderr).
 * @throws UsageError for a bad --queue, --log-level or --grace; ConfigError for the config.
 */
export async function runServe(f: ServeFlags): Promise<ServeResult> {
  if (f.queue !== undefined && !/^rediss?:\/\//.test(f.queue)) {
    throw new UsageError(`--queue: '${f.queue}' is not a redis:// or rediss:// URL`);
  }
  if (!LOG_LEVELS.includes(f.logLevel)) {
    throw new UsageError(`--log-level: '${f.logLevel}' is not one of ${LOG_LEVELS.join(", ")}`);
  }
  const graceSeconds = parseIntOption("--grace", f.grace, 0, 3600);
  if (f.check) return { checked: true, config: await checkedConfig(loadServiceConfig(f.config)) };
  await serve({ config: f.config, queue: f.queue, logLevel: f.logLevel, graceSeconds });
  return { checked: false };
}

/** The text output of `zkrisk serve`: the checked config as JSON; nothing after a run. */
export function formatServe(r: ServeResult): string {
  return r.checked ? JSON.stringify(r.config, null, 2) + "\n" : "";
}

/**
 * `zkrisk serve`: run the prover service (or with --check, print its config without secrets). With --json, as
 * `publisher serve`: the result as one JSON object (`{"checked": true, "config": ...}` for --check), errors as JSON;
 * the logs are JSON lines on stderr either way.
 */
export async function serveAction(f: ServeFlags): Promise<void> {
  output(await runServe(f), f.json, formatServe);
}
