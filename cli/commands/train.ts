/** `zkrisk train`: fit the float model on a candle file and write it. */
import { loadCandles } from "../../candles/load-data";
import { marketIdOf } from "../../candles/market-id";
import { UsageError } from "../../core/errors";
import { sha256File, writeJsonAtomic } from "../../core/io";
import type { FloatModel } from "../../models/float-model";
import { DEFAULT_TRAIN_OPTIONS, trainModel } from "../../models/train";
import {
  parseDateOption,
  parseFloatOption,
  parseIntListOption,
  fileOptions,
  outFileOption,
  output,
  refuseOverwrites,
  parseIntOption,
  table,
} from "../options";
import { progressBar } from "../progress";

/** The options of `zkrisk train`, as commander gives them (cli/register/train.ts). */
export interface TrainFlags {
  data: string;
  out: string;
  seed: string;
  epochs: string;
  hidden: string;
  market: string;
  batchSize: string;
  learningRate: string;
  patience: string;
  validationFrom?: string;
  testFrom?: string;
  json?: boolean;
}

/** What `zkrisk train` wrote: the file and the model's calibration, training and metrics (the `--json` document). */
export type TrainResult = { out: string } & Pick<FloatModel, "calibration" | "training" | "metrics">;

/** Fit the float model on `--data` (progress bar on stderr, none with --json) and write it to `--out`. */
export async function runTrain(f: TrainFlags): Promise<TrainResult> {
  outFileOption("--out", f.out);
  refuseOverwrites({ reads: fileOptions("--data", f.data), writes: fileOptions("--out", f.out) });
  marketIdOf(f.market); // the label the model records: one the oracle can key, or a UsageError naming it
  const d = DEFAULT_TRAIN_OPTIONS;
  const validationFrom = f.validationFrom ?? "2022-01-01";
  const testFrom = f.testFrom ?? "2023-01-01";
  const splits = {
    validationFrom: parseDateOption("--validation-from", validationFrom),
    testFrom: parseDateOption("--test-from", testFrom),
  };
  // The validation split runs from --validation-from up to --test-from: in the other order it is empty, which
  // training would only find after reading the candles ("validation split has 0 usable bars").
  if (splits.testFrom <= splits.validationFrom) {
    throw new UsageError(
      `--test-from ${testFrom} is not after --validation-from ${validationFrom}: the validation split runs from ` +
        "--validation-from up to --test-from, so it would be empty",
    );
  }
  const series = loadCandles(f.data);
  const epochs = parseIntOption("--epochs", f.epochs, 1, 100000);
  const bar = progressBar(!f.json);
  bar.start(epochs, "training");
  const model = await trainModel(series, {
    ...d,
    market: f.market,
    seed: parseIntOption("--seed", f.seed, 0, 2 ** 31 - 1),
    epochs,
    batchSize: parseIntOption("--batch-size", f.batchSize, 1, 1_000_000),
    learningRate: parseFloatOption("--learning-rate", f.learningRate, 1e-6, 1),
    patience: parseIntOption("--patience", f.patience, 1, 100000),
    hidden: parseIntListOption("--hidden", f.hidden, 1, 256),
    splits,
    dataFile: { file: f.data, sha256: sha256File(f.data) },
    onEpoch: (e, tl, vl) => bar.update(e, `train ${tl.toFixed(4)} val ${vl.toFixed(4)}`),
  });
  bar.stop();
  writeJsonAtomic(f.out, model);
  return {
    out: f.out,
    calibration: model.calibration,
    training: model.training,
    metrics: model.metrics,
  };
}

/** The text output of `zkrisk train`: the file written, its best epoch and scale, each split's figures. */
export function formatTrain(r: TrainResult): string {
  const m = r.metrics;
  return (
    `wrote ${r.out} (best epoch ${r.training.bestEpoch} of ${r.training.epochs}, ` +
    `calibration scale ${(r.calibration.num / 2 ** r.calibration.shift).toFixed(4)})\n\n` +
    table([
      ["split", "bars", "pinball", "breach rate", "Kupiec p", "avg MM bps", "avg IM bps"],
      ...(["train", "validation", "test"] as const).map((s) => [
        s,
        String(m[s].rows),
        m[s].pinballLoss.toFixed(5),
        `${(m[s].breachRate * 100).toFixed(2)} %`,
        m[s].kupiecP.toFixed(3),
        m[s].avgMaintenanceMarginBps.toFixed(1),
        m[s].avgInitialMarginBps.toFixed(1),
      ]),
    ]) +
    "\n"
  );
}

/** `zkrisk train`: fit the float model and write it. */
export async function trainAction(f: TrainFlags): Promise<void> {
  output(await runTrain(f), f.json, formatTrain);
}
