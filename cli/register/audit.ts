/** `zkrisk audit`: its flags and description; cli/commands/audit.ts does the work. */
import type { Command } from "commander";
import { join } from "node:path";
import { lazyModule } from "../lazy";
import type { AuditFlags } from "../commands/audit";

const commands = lazyModule<typeof import("../commands/audit")>(join(__dirname, "../commands/audit.ts"));

/** Register `zkrisk audit`. */
export function registerAudit(program: Command): void {
  program
    .command("audit")
    .description(
      "audit every update a RiskOracle accepted: the proof, the public signals, the features' commitment and, " +
        "with --model and --data, the model and the features recomputed from candles (read only, no key)",
    )
    .requiredOption("--rpc <url>", "JSON-RPC endpoint of the chain (http or https)")
    .requiredOption("--oracle <address>", "address of the RiskOracle")
    .option(
      "--artifacts <dir>",
      "artifact directory made by `zkrisk setup` (verification key, manifest-checked)",
    )
    .option("--vkey <file>", "verification key file (instead of --artifacts)")
    .option("--model <file>", "quantised model the updates should have been made with")
    .option("--data <file>", "candles CSV to recompute each update's features from (needs --model)")
    .option("--from-block <n>", "first block to search (default 0)")
    .option("--to-block <n>", "last block to search (default: the latest)")
    .option(
      "--log-chunk <blocks>",
      "blocks per eth_getLogs query; halved while the node refuses a range as too large (default 5000)",
    )
    .option("--json", "print the report as one JSON object (bigints as strings)")
    .action(async (f: AuditFlags) => {
      const code = await (await commands()).runAudit(f);
      if (code !== 0) process.exitCode = code;
    });
}
