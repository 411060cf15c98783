/** `zkrisk bench-service` (npm run bench:service): its flags and description; cli/commands/bench-service.ts does the work. */
import type { Command } from "commander";
import { join } from "node:path";
import { DEFAULT_MODEL } from "../paths";
import { lazyModule } from "../lazy";
import type { BenchServiceFlags } from "../commands/bench-service";

const commands = lazyModule<typeof import("../commands/bench-service")>(
  join(__dirname, "../commands/bench-service.ts"),
);

/** Register `zkrisk bench-service`. */
export function registerBenchService(program: Command): void {
  program
    .command("bench-service")
    .description(
      "measure the prover service on signed windows: bar close to update on chain, proofs per minute and " +
        "request-to-proof latency under load",
    )
    .option("--model <file>", "quantised model", DEFAULT_MODEL)
    .option(
      "--concurrency <list>",
      "proving threads to measure, comma-separated (one service run each)",
      "1,2",
    )
    .option("--requests <n>", "POST /v1/proofs requests per run", "20")
    .option("--parallel <n>", "requests in flight at once", "10")
    .option("--bars <n>", "distinct bars asked for (each asked requests/bars times)", "10")
    .option("--json", "print the report as JSON")
    .option("--out <file>", "also write the JSON report to this file")
    .action(async (f: BenchServiceFlags) => (await commands()).benchServiceAction(f));
}
