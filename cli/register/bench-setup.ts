/** `zkrisk bench-setup` (npm run bench:setup): its flags; cli/commands/bench-setup.ts does the work. */
import type { Command } from "commander";
import { join } from "node:path";
import { DEFAULT_MODEL } from "../paths";
import { lazyModule } from "../lazy";
import type { BenchSetupFlags } from "../commands/bench-setup";

const commands = lazyModule<typeof import("../commands/bench-setup")>(
  join(__dirname, "../commands/bench-setup.ts"),
);

/** Register `zkrisk bench-setup`. */
export function registerBenchSetup(program: Command): void {
  program
    .command("bench-setup")
    .description(
      "measure the INSECURE development setup: the ptau per power and the setup of the shipped model's " +
        "signed-update circuit (quorum 1)",
    )
    .option("--powers <list>", "ptau powers to time, comma-separated ('' for none)", "11,13,15,16")
    .option(
      "--modes <list>",
      "weight modes of the signed-update circuit to set up: constant,committed ('' for none)",
      "constant,committed",
    )
    .option("--model <file>", "quantised model", DEFAULT_MODEL)
    .option("--json", "print the report as JSON")
    .option("--out <file>", "also write the JSON report to this file")
    .action(async (f: BenchSetupFlags) => (await commands()).benchSetupAction(f));
}
