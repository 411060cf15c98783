/** `zkrisk serve`: its flags and description; cli/commands/serve.ts does the work. */
import type { Command } from "commander";
import { join } from "node:path";
import { lazyModule } from "../lazy";
import type { ServeFlags } from "../commands/serve";

const commands = lazyModule<typeof import("../commands/serve")>(join(__dirname, "../commands/serve.ts"));

/** Register `zkrisk serve`. */
export function registerServe(program: Command): void {
  program
    .command("serve")
    .description(
      "run the prover service: prove and submit every new closed bar of each configured market (or batch " +
        "of markets, one proof for all), and answer the HTTP API (see docs/prover-service.md)",
    )
    .requiredOption(
      "--config <file>",
      "service config (JSON): markets, batches, chain, schedule, listen, auth",
    )
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
    .option(
      "--json",
      "print the result (the checked config, or that the service stopped) as one JSON object; errors as JSON",
    )
    .action(async (f: ServeFlags) => (await commands()).serveAction(f));
}
