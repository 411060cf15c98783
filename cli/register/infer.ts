/** `zkrisk infer`: its flags and description; cli/commands/infer.ts does the work. */
import type { Command } from "commander";
import { join } from "node:path";
import { DEFAULT_DATA, DEFAULT_MODEL } from "../paths";
import { lazyModule } from "../lazy";
import type { InferFlags } from "../commands/infer";

const commands = lazyModule<typeof import("../commands/infer")>(join(__dirname, "../commands/infer.ts"));

/** Register `zkrisk infer`. */
export function registerInfer(program: Command): void {
  program
    .command("infer")
    .description("compute features and the quantised model's margins for one bar")
    .option("--model <file>", "quantised model file", DEFAULT_MODEL)
    .option("--data <file>", "candles CSV", DEFAULT_DATA)
    .option("--at <timestamp>", "open time of the bar (UTC); default: the latest bar")
    .option("--json", "print the result as one JSON object")
    .action(async (f: InferFlags) => (await commands()).inferAction(f));
}
