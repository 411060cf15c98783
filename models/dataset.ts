/**
 * Training rows (feature vector, target) and the chronological split into train / validation / test.
 * A row whose 24 h target window reaches past its split's end is dropped (purged), so no split sees the
 * prices of the next one.
 */
import { featureFloats, type WindowFeatureMatrix } from "../features/window-features";
import { targetObservedAt } from "./target";
import type { CandleSeries } from "../candles/types";

/** Rows with both features and target, in time order. */
export interface Dataset {
  /** Bar index in the series of each row. */
  index: number[];
  /** Open time (ms) of each row's bar. */
  time: number[];
  /** The integer window features of each row, at scale 2^32: what the integer engine and the circuit take. */
  xInt: bigint[][];
  /** Their exact float twins (`featureFloats`): what the float model takes. */
  x: number[][];
  /** The 24 h adverse move of each row, a fraction of the close. */
  y: number[];
}

/** Where the validation and test splits start (open time, ms); train is everything before. */
export interface SplitDates {
  validationFrom: number;
  testFrom: number;
}

/** Default split of the BTC-USDT history: train to 2021, validate on 2022, test on 2023 onwards. */
export const DEFAULT_SPLIT_DATES: SplitDates = {
  validationFrom: Date.UTC(2022, 0, 1),
  testFrom: Date.UTC(2023, 0, 1),
};

/** Rows of the series where both the window features (`seriesWindowFeatures`) and the target are defined. */
export function buildDataset(
  features: WindowFeatureMatrix,
  targets: (number | null)[],
  series: CandleSeries,
): Dataset {
  const ds: Dataset = { index: [], time: [], xInt: [], x: [], y: [] };
  features.rows.forEach((row, t) => {
    const y = targets[t];
    if (row === null || y === null) return;
    ds.index.push(t);
    ds.time.push(series.candles[t].time);
    ds.xInt.push(row);
    ds.x.push(featureFloats(row));
    ds.y.push(y);
  });
  return ds;
}

function subset(ds: Dataset, keep: (i: number) => boolean): Dataset {
  const out: Dataset = { index: [], time: [], xInt: [], x: [], y: [] };
  for (let i = 0; i < ds.y.length; i++) {
    if (!keep(i)) continue;
    out.index.push(ds.index[i]);
    out.time.push(ds.time[i]);
    out.xInt.push(ds.xInt[i]);
    out.x.push(ds.x[i]);
    out.y.push(ds.y[i]);
  }
  return out;
}

/** Chronological split with purging at each boundary. */
export function splitDataset(
  ds: Dataset,
  dates: SplitDates,
  intervalMs: number,
): { train: Dataset; validation: Dataset; test: Dataset } {
  const known = (i: number) => targetObservedAt(ds.time[i], intervalMs);
  return {
    train: subset(ds, (i) => ds.time[i] < dates.validationFrom && known(i) <= dates.validationFrom),
    validation: subset(
      ds,
      (i) => ds.time[i] >= dates.validationFrom && ds.time[i] < dates.testFrom && known(i) <= dates.testFrom,
    ),
    test: subset(ds, (i) => ds.time[i] >= dates.testFrom),
  };
}

/** The rows whose open time lies in [fromMs, toMs] (both inclusive). */
export function rowsInRange(ds: Dataset, fromMs: number, toMs: number): Dataset {
  return subset(ds, (i) => ds.time[i] >= fromMs && ds.time[i] <= toMs);
}
