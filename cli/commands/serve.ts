/** `zkrisk serve`: the prover service (scheduled proving and submission, HTTP API). */
import type { Command } from "commander";
import { UsageError } from "../../models/errors";
import { serve } from "../../prover/service/run";
import { parseIntOption } from "../options";

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description(
      "run the prover service: prove and submit every new closed bar of each configured market, " +
        "and answer the HTTP API (see README: Prover service)",
    )
    .requiredOption("--config <file>", "service config (JSON): markets, chain, schedule, listen, auth")
    .option("--check", "validate the config, print it without secrets, and exit")
    .option(
      "--queue <redis-url>",
      "share jobs with other `zkrisk serve` processes over BullMQ on Redis (redis://host:port[/db]); " +
        "default: the embedded SQLite store of the config",
    )
    .option("--log-level <level>", "pino log level: fatal, error, warn, info, debug, trace", "info")
    .option(
      "--grace <seconds>",
      "on SIGTERM, time to let in-flight jobs finish before re-queueing them",
      "30",
    )
    .action(
      async (f: { config: string; check?: boolean; queue?: string; logLevel: string; grace: string }) => {
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
      },
    );
}
