/** `zkrisk audit`: its flags and description; cli/commands/audit.ts does the work. */
import type { Command } from "commander";
import { join } from "node:path";
import { lazyModule } from "../lazy";
import type { AuditFlags } from "../commands/audit";

const commands = lazyModule<typeof import("../commands/audit")>(join(__dirname, "../commands/audit.ts"));

/** Collect a repeatable option as given (no splitting: a URL may hold a comma). */
const repeat = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Register `zkrisk audit`. */
export function registerAudit(program: Command): void {
  program
    .command("audit")
    .description(
      "audit every update a RiskOracle accepted: the proof, the public signals, the features' commitment and, " +
        "with --model and --data, the model and the features recomputed from candles; signed updates from the " +
        "publishers' windows (--publisher, --windows) against the publisher sets in force (--publishers): digest, " +
        "signatures, statement key, features, margins and, with --data, the signed candles (read only, no key)",
    )
    .requiredOption("--rpc <url>", "JSON-RPC endpoint of the chain (http or https)")
    .requiredOption("--oracle <address>", "address of the RiskOracle")
    .option(
      "--artifacts <dir>",
      "artifact directory made by `zkrisk setup` (verification key of unsigned updates, manifest-checked)",
    )
    .option("--vkey <file>", "verification key file (instead of --artifacts)")
    .option(
      "--signed-artifacts <dir>",
      "artifact directory of the signed-update circuit, to verify signed updates' proofs again (optional: their " +
        "margins are recomputed from the signed windows either way)",
    )
    .option("--model <file>", "quantised model the updates should have been made with")
    .option(
      "--data <file>",
      "candles CSV to recompute each update's features from, and to compare signed candles with (needs --model)",
    )
    .option(
      "--publisher <url>",
      "base URL of a publisher's archive (`zkrisk publisher serve`) to fetch signed windows from (repeatable)",
      repeat,
    )
    .option(
      "--windows <dir>",
      "directory of signed window files (or a copy of a publisher's archive), read recursively (repeatable)",
      repeat,
    )
    .option(
      "--publishers <file>",
      "publisher set file (`zkrisk publisher set`), one per set in force over the audited signed updates " +
        "(repeatable); each must be the set in force for some audited signed update",
      repeat,
    )
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
