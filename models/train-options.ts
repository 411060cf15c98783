/** The options of a training run and their defaults, apart from the trainer (which loads tfjs) so `zkrisk train --help` is instant. */
import { DEFAULT_SPLIT_DATES, type SplitDates } from "./dataset";
import { DEFAULT_POLICY, type MarginPolicy } from "./policy";

/** Options of a training run; every field has a default that reproduces the shipped model. */
export interface TrainOptions {
  market: string;
  seed: number;
  hidden: number[];
  epochs: number;
  batchSize: number;
  learningRate: number;
  patience: number;
  quantileLevel: number;
  splits: SplitDates;
  policy: MarginPolicy;
  /** Shift of the dyadic calibration scale (resolution 2^-shift). */
  calibrationShift: number;
  /** Provenance of the data (path as given and sha256), recorded in the model file. */
  dataFile: { file: string; sha256: string };
  /** Called after each epoch (for progress bars). */
  onEpoch?: (epoch: number, trainLoss: number, validationLoss: number) => void;
}

/** The options of the shipped model (seed, widths, epochs, splits, policy...). */
export const DEFAULT_TRAIN_OPTIONS: Omit<TrainOptions, "dataFile"> = {
  market: "BTC-USDT",
  seed: 20240630,
  hidden: [6],
  epochs: 300,
  batchSize: 256,
  learningRate: 0.003,
  patience: 30,
  quantileLevel: 0.99,
  splits: DEFAULT_SPLIT_DATES,
  policy: DEFAULT_POLICY,
  calibrationShift: 16,
};
