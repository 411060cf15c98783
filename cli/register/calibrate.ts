/** `zkrisk calibrate`: its flags and description; cli/commands/calibrate.ts does the work. */
import type { Command } from "commander";
import { join } from "node:path";
import { DEFAULT_CALIBRATIONS, DEFAULT_MODEL, PROJECT_ROOT } from "../paths";
import { lazyModule } from "../lazy";
import type { CalibrateFlags } from "../commands/calibrate";

const commands = lazyModule<typeof import("../commands/calibrate")>(
  join(__dirname, "../commands/calibrate.ts"),
);

/** The eight markets whose calibrations are shipped. */
export const CALIBRATION_MARKETS = ["btc", "eth", "sol", "xrp", "bnb", "ada", "link", "ltc"].map((m) =>
  join(PROJECT_ROOT, `models/data/${m}usdt-2h.csv`),
);

/** Register `zkrisk calibrate`. */
export function registerCalibrate(program: Command): void {
  program
    .command("calibrate")
    .description(
      "fit each market's calibration of the quantised model on its own validation split and write the calibrations file",
    )
    .option("--model <file>", "quantised model file", DEFAULT_MODEL)
    .option("--data <files...>", "candles CSV files named <market>usdt-2h.csv", CALIBRATION_MARKETS)
    .option("--out <file>", "calibrations file to write", DEFAULT_CALIBRATIONS)
    .option("--json", "print the calibrations as one JSON object")
    .action(async (f: CalibrateFlags) => (await commands()).calibrateAction(f));
}
