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
      "audit every update a RiskOracle accepted (read only, no key): signed updates from the publishers' windows " +
        "(--publisher, --windows) and the markets of signed batches from batch files (--windows), against the " +
        "publisher sets in force (--publishers): digest, signatures, the call's public signals, features, " +
        "margins with --model and, with --data, the signed candles against independent ones; adaptive markets' " +
        "state replayed with the adaptive rule, and the outcomes no update counted (dropped after a day " +
        "without updates, or with a bar missing from the signed window)",
    )
    .requiredOption("--rpc <url>", "JSON-RPC endpoint of the chain (http or https)")
    .requiredOption("--oracle <address>", "address of the RiskOracle")
    .option(
      "--chain-id <n>",
      "chain id the oracle lives on: a --rpc serving another chain is refused (a contract may have the same " +
        "address on several chains; default: not checked)",
    )
    .option(
      "--signed-artifacts <dir>",
      "artifact directory of the signed-update circuit, to verify signed updates' proofs again (optional: their " +
        "margins are recomputed from the signed windows either way)",
    )
    .option(
      "--batch-artifacts <dir>",
      "artifact directory of a signed batch circuit, to verify the proofs of batches of its size again " +
        "(repeatable, one per batch size; optional as --signed-artifacts)",
      repeat,
    )
    .option(
      "--adaptive-artifacts <dir>",
      "artifact directory of the adaptive signed-update circuit (`zkrisk compile --adaptive`): adaptive markets' " +
        "updates are replayed with the rule its manifest records and their proofs verified again",
    )
    .option(
      "--calibrations <file>",
      "calibrations file whose `adaptive` block is the rule adaptive markets run (without --adaptive-artifacts; " +
        "default: the shipped models/calibrations.json)",
    )
    .option(
      "--model <file>",
      "quantised model file, to recompute the margins from the signed candles (repeatable: each update is " +
        "recomputed with the model that commits to its market's registered model, e.g. the shipped model and " +
        "the market model files of markets registered with their own)",
      repeat,
    )
    .option(
      "--data <file>",
      "independent candles CSV of one market, named for it (e.g. ethusdt-2h.csv: ETH-USDT): that market's signed " +
        "candles are compared with it (the first differing bar and field is named)",
    )
    .option(
      "--publisher <url>",
      "base URL of a publisher's archive (`zkrisk publisher serve`) to fetch signed windows from (repeatable; " +
        "it serves single windows, not batches)",
      repeat,
    )
    .option(
      "--windows <dir>",
      "directory of signed window files and signed batch files (or a copy of a publisher's archive), read " +
        "recursively (repeatable)",
      repeat,
    )
    .option(
      "--publishers <file>",
      "publisher set file (`zkrisk publisher set`), one per set in force over the audited updates " +
        "(repeatable); each must be the set in force for some audited update",
      repeat,
    )
    .option("--from-block <n>", "first block to search (default 0)")
    .option("--to-block <n>", "last block to search (default: the latest)")
    .option(
      "--log-chunk <blocks>",
      "blocks per eth_getLogs query; halved while the node refuses a range as too large (default 5000)",
    )
    .option(
      "--threads <n>",
      "threads that check signed windows and batches (digests, signatures) at once; 1 checks them in the " +
        "main thread (default: the cores available)",
    )
    .option("--json", "print the report as one JSON object (bigints as strings)")
    .addHelpText(
      "after",
      "\nExit codes:\n" +
        "  0  every update in the range is OK (or there is none)\n" +
        "  1  some update is FAIL or UNVERIFIABLE (the report says which and why; --json: status, reasons,\n" +
        "     missing), or an adaptive market is SUSPICIOUS: the outcomes no update counted are breaches\n" +
        "     far beyond chance (--json: lostOutcomes, suspicious)\n" +
        "  2  bad usage or input: an option, a file, an --rpc that cannot be reached or serves another chain\n" +
        "  3  the audit could not run to a report (the node failed mid-way: the error on stderr, no report)",
    )
    .action(async (f: AuditFlags) => {
      const code = await (await commands()).runAudit(f);
      if (code !== 0) process.exitCode = code;
    });
}
