/** `zkrisk calibrate`: its flags and description; cli/commands/calibrate.ts does the work. */
import type { Command } from "commander";
import { join } from "node:path";
import { DEFAULT_CALIBRATIONS, DEFAULT_MODEL, PROJECT_ROOT } from "../paths";
import { lazyModule } from "../lazy";
import type { CalibrateFlags } from "../commands/calibrate";
import type { MarketModelFlags } from "../commands/market-model";

const commands = lazyModule<typeof import("../commands/calibrate")>(
  join(__dirname, "../commands/calibrate.ts"),
);
const marketModelCommands = lazyModule<typeof import("../commands/market-model")>(
  join(__dirname, "../commands/market-model.ts"),
);

/** The eight markets whose calibrations are shipped. */
export const CALIBRATION_MARKETS = ["btc", "eth", "sol", "xrp", "bnb", "ada", "link", "ltc"].map((m) =>
  join(PROJECT_ROOT, `models/data/${m}usdt-2h.csv`),
);

/** Register `zkrisk calibrate` and `zkrisk market-model`. */
export function registerCalibrate(program: Command): void {
  program
    .command("calibrate")
    .description(
      "fit each market's calibration of the quantised model on its own validation split and write the calibrations file",
    )
    .option("--model <file>", "quantised model file", DEFAULT_MODEL)
    .option("--data <files...>", "candles CSV files named <market>usdt-2h.csv", CALIBRATION_MARKETS)
    .requiredOption(
      "--out <file>",
      "calibrations file to write (the shipped one, models/calibrations.json, is rewritten by `npm run train`)",
    )
    .option("--json", "print the calibrations as one JSON object")
    .action(async (f: CalibrateFlags) => (await commands()).calibrateAction(f));

  program
    .command("market-model")
    .description(
      "write a market's own model file: the quantised model with that market's calibration from the calibrations " +
        "file (or the new-market rule's), for the committed-weights circuit; register the market with it",
    )
    .requiredOption("--market <label>", "market label as in the calibrations file, e.g. ETH-USDT")
    .option("--model <file>", "quantised model the calibrations belong to", DEFAULT_MODEL)
    .option("--calibrations <file>", "calibrations file (`zkrisk calibrate`)", DEFAULT_CALIBRATIONS)
    .requiredOption("--out <file>", "model file to write (e.g. eth-usdt-2h.quantized.json)")
    .option(
      "--architecture <circuit.json>",
      "the committed-weights circuit the model must fit (default: the committed circuit of --model)",
    )
    .option("--json", "print the result as one JSON object")
    .action(async (f: MarketModelFlags) => (await marketModelCommands()).marketModelAction(f));
}
