/** `zkrisk read`: its flags and description; cli/commands/read.ts does the work. */
import type { Command } from "commander";
import { join } from "node:path";
import { DEFAULT_LIMITS } from "../../onchain/limits";
import { lazyModule } from "../lazy";
import type { ReadFlags } from "../commands/read";
import { DEFAULT_RPC } from "./chain";

const commands = lazyModule<typeof import("../commands/read")>(join(__dirname, "../commands/read.ts"));

/** Collect a repeatable option as given. */
const repeat = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Register `zkrisk read`. */
export function registerRead(program: Command): void {
  program
    .command("read")
    .description(
      "read markets' proven parameters from a RiskOracle as a protocol does (read only, no key): the last " +
        "accepted MM and IM, their data time and age, and whether they are fresh, stale or paused, in one " +
        "`readings` call at the latest block; an adaptive market's calibration scale",
    )
    .requiredOption("--oracle <address>", "address of the RiskOracle")
    .requiredOption("--market <label>", "market label or id, e.g. BTC-USDT (repeatable)", repeat)
    .option(
      "--max-age <seconds>",
      "data older than this reads as stale (the protocol's own maximum age)",
      String(DEFAULT_LIMITS.maxDataAge),
    )
    .option("--rpc <url>", "JSON-RPC node", DEFAULT_RPC)
    .option("--json", "print the result as one JSON object")
    .action(async (f: ReadFlags) => (await commands()).readAction(f));
}
