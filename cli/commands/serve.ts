/** `zkrisk serve`: the prover service (scheduled proving and submission, HTTP API). */
import { UsageError } from "../../core/errors";
import { serve } from "../../service/run";
import { parseIntOption } from "../options";

/** The options of `zkrisk serve`, as commander gives them (cli/register/serve.ts). */
export interface ServeFlags {
  config: string;
  check?: boolean;
  queue?: string;
  logLevel: string;
  grace: string;
}

/** `zkrisk serve`: run the prover service. */
export async function serveAction(f: ServeFlags): Promise<void> {
  const levels = ["fatal", "error", "warn", "info", "debug", "trace"];
  if (f.queue !== undefined && !/^rediss?:\/\//.test(f.queue)) {
    throw new UsageError(`--queue: '${f.queue}' is not a redis:// or rediss:// URL`);
  }
  if (!levels.includes(f.logLevel)) {
    throw new UsageError(`--log-level: '${f.logLevel}' is not one of ${levels.join(", ")}`);
  }
  await serve({
    config: f.config,
    check: f.check,
    queue: f.queue,
    logLevel: f.logLevel,
    graceSeconds: parseIntOption("--grace", f.grace, 0, 3600),
  });
}
