/** `zkrisk quantize`: its flags and description; cli/commands/quantize.ts does the work. */
import type { Command } from "commander";
import { join } from "node:path";
import { DEFAULT_DATA, DEFAULT_FLOAT_MODEL } from "../paths";
import { lazyModule } from "../lazy";
import type { QuantizeFlags } from "../commands/quantize";

const commands = lazyModule<typeof import("../commands/quantize")>(
  join(__dirname, "../commands/quantize.ts"),
);

/** Register `zkrisk quantize`. */
export function registerQuantize(program: Command): void {
  program
    .command("quantize")
    .description(
      "quantise a float model to the bit-exact integer model and report float-vs-integer differences",
    )
    .option("--model <file>", "float model file", DEFAULT_FLOAT_MODEL)
    .option("--data <file>", "candles CSV the model was trained on (for the test-split report)", DEFAULT_DATA)
    .requiredOption(
      "--out <file>",
      "quantised model file to write (name it *.quantized.json; the shipped one is rewritten by `npm run train`)",
    )
    .option("--weight-bits <n>", "each layer's largest |weight| is scaled to about 2^n", "32")
    .option("--activation-bits <n>", "hidden activations are integers at scale 2^n", "32")
    .option(
      "--architecture <circuit.json>",
      "fit an existing committed-weights circuit: use its weight scales and check the budgets (no new setup)",
    )
    .option("--json", "print the result as one JSON object")
    .action(async (f: QuantizeFlags) => (await commands()).quantizeAction(f));
}
