/** `zkrisk train`: its flags and description; cli/commands/train.ts does the work. */
import type { Command } from "commander";
import { join } from "node:path";
import { DEFAULT_DATA } from "../paths";
import { DEFAULT_TRAIN_OPTIONS } from "../../models/train-options";
import { lazyModule } from "../lazy";
import type { TrainFlags } from "../commands/train";

const commands = lazyModule<typeof import("../commands/train")>(join(__dirname, "../commands/train.ts"));

/** Register `zkrisk train`. */
export function registerTrain(program: Command): void {
  const d = DEFAULT_TRAIN_OPTIONS;
  program
    .command("train")
    .description("train the float risk model (pinball loss at tau 0.99, early stopping, calibration)")
    .option("--data <file>", "candles CSV (timestamp,open,high,low,close,volume)", DEFAULT_DATA)
    .requiredOption(
      "--out <file>",
      "float model file to write (the shipped one, models/btc-usdt-2h.float.json, is rewritten by `npm run train`)",
    )
    .option("--seed <n>", "seed of initialisation and batch order", String(d.seed))
    .option("--epochs <n>", "maximum epochs (early stopping may end sooner)", String(d.epochs))
    .option("--hidden <widths>", "hidden layer widths, comma-separated", d.hidden.join(","))
    .option("--batch-size <n>", "rows per gradient step", String(d.batchSize))
    .option("--learning-rate <x>", "Adam learning rate", String(d.learningRate))
    .option("--patience <n>", "epochs without validation improvement before stopping", String(d.patience))
    .option("--market <id>", "market label recorded in the model", d.market)
    .option("--validation-from <date>", "first day of the validation split (UTC)", "2022-01-01")
    .option("--test-from <date>", "first day of the test split (UTC)", "2023-01-01")
    .option("--json", "print the result as one JSON object")
    .action(async (f: TrainFlags) => (await commands()).trainAction(f));
}
