/** `zkrisk demo` (npm run demo): its flags and description; cli/commands/demo.ts does the work. */
import type { Command } from "commander";
import { join } from "node:path";
import { DEFAULT_DATA, DEFAULT_MODEL } from "../paths";
import { lazyModule } from "../lazy";
import type { DemoFlags } from "../commands/demo";

const commands = lazyModule<typeof import("../commands/demo")>(join(__dirname, "../commands/demo.ts"));

/** Register `zkrisk demo`. */
export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description(
      "the main job, signed: an INSECURE development publisher key (cached) signs the latest bar's window -> " +
        "signed-update circuit (cached) -> deploy verifier and oracle -> register the market and its publisher " +
        "set -> prove -> submitSignedUpdate -> read back through a consumer",
    )
    .option("--model <file>", "quantised model file", DEFAULT_MODEL)
    .option("--data <file>", "candles CSV", DEFAULT_DATA)
    .option("--market <id>", "market label", "BTC-USDT")
    .option(
      "--weights <mode>",
      "weight mode of the signed-update circuit: constant (22,766 constraints) or committed",
      "constant",
    )
    .option("--rpc <url>", "JSON-RPC node (e.g. `npx hardhat node`); default: the in-process Hardhat network")
    .option("--key <key>", "signing key for --rpc: 0x-hex or env:NAME (default env:ZKRISK_PRIVATE_KEY)")
    .option(
      "--artifacts <dir>",
      "proving artifacts to use or create (default: a cache under .zkrisk-cache/demo)",
    )
    .option(
      "--allow-insecure-setup",
      "with --rpc: deploy the demo's INSECURE development setup and register its INSECURE development " +
        "publisher key on a chain other than the local 31337",
    )
    .option("--json", "print the result as one JSON object")
    .action(async (f: DemoFlags) => (await commands()).demoAction(f));
}
