/** `zkrisk calibrate`: per-market calibrations of the quantised model (models/market-calibrations.ts), and the rules. */
import { basename } from "node:path";
import { balancedUpNum } from "../../models/adaptive";
import {
  CALIBRATIONS_FORMAT,
  fitMarketCalibration,
  marketOfDataFile,
  MIN_CALIBRATION_BARS,
  parseCalibrations,
  type Calibrations,
  type MarketCalibration,
} from "../../models/market-calibrations";
import { progressBar, type Progress } from "../progress";
import { UsageError } from "../../core/errors";
import { sha256File, writeJsonAtomic } from "../../core/io";
import { loadCandles } from "../../candles/load-data";
import { checkBarInterval, checkWindowModel } from "../../models/predict";
import { loadQuantizedModel } from "../../models/quantized-model";
import {
  fileOptions,
  outFileOption,
  output,
  refuseOverwrites,
  refuseRepeatedMarkets,
  table,
} from "../options";

/** The options of `zkrisk calibrate`, as commander gives them (cli/register/calibrate.ts). */
export interface CalibrateFlags {
  model: string;
  data: string[];
  out: string;
  json?: boolean;
}

/**
 * Adaptive rule (models/adaptive.ts), chosen on validation (docs/model-results.md): down 2^-10 (0.098 %) per covered outcome
 * for the first 500 outcomes after deployment, then 2^-11, 2^-12 and from 1,500 outcomes on 2^-13 (0.012 %);
 * each stage's up step balances 99 down steps (+10.2 %, +5.0 %, +2.4 %, +1.2 % per breach).
 */
export const ADAPTIVE_DOWN_SHIFT_START = 10;
export const ADAPTIVE_DOWN_SHIFT = 13;
export const ADAPTIVE_OUTCOMES_PER_SHIFT = 500;
export const ADAPTIVE_UP_SHIFT = 16;

/** The calibrations of a quantised model on the given market files. */
export function buildCalibrations(
  modelFile: string,
  files: readonly string[],
  progress: Progress = progressBar(false),
): Calibrations {
  const model = loadQuantizedModel(modelFile);
  checkWindowModel(model, modelFile);
  const shift = model.policy.calibrationShift;
  const markets: MarketCalibration[] = [];
  const rows: string[] = [];
  // Every file's market first, so a bad or repeated name is refused before any fitting.
  const named = files.map((file) => marketOfDataFile("--data", file));
  refuseRepeatedMarkets(files, named);
  progress.start(files.length, "calibrating");
  for (const [i, file] of files.entries()) {
    const market = named[i];
    progress.update(i, market);
    const series = loadCandles(file);
    checkBarInterval(series, model.barIntervalMs);
    const c = fitMarketCalibration(model, market, series, { file: basename(file), sha256: sha256File(file) });
    if (c === undefined) rows.push(market);
    else markets.push(c);
  }
  progress.update(files.length);
  progress.stop();
  if (markets.length === 0) {
    const v = model.training.splits.validation;
    throw new UsageError(
      `--data: no market has ${MIN_CALIBRATION_BARS} usable bars in the model's validation split ` +
        `(${v.from.slice(0, 10)} .. ${v.to.slice(0, 10)}): ${rows.join(", ")}. A market without them runs on the ` +
        "new-market rule of a calibrations file fitted on markets that have them (e.g. the shipped one)",
    );
  }
  const newMarketNum = Math.max(...markets.map((m) => m.num));
  const doc: Calibrations = {
    format: CALIBRATIONS_FORMAT,
    model: { file: basename(modelFile), sha256: sha256File(modelFile) },
    calibrationShift: shift,
    method:
      `per market: smallest num (scale num / 2^${shift}) whose integer-engine maintenance margin breaches on at most ` +
      `1 % of the market's own validation bars (${model.training.splits.validation.from.slice(0, 10)} .. ` +
      `${model.training.splits.test.from.slice(0, 10)}, purged)`,
    minValidationBars: MIN_CALIBRATION_BARS,
    newMarketNum,
    newMarketRule:
      `a market without ${MIN_CALIBRATION_BARS} usable validation bars of its own (180 days) gets the largest ` +
      `fitted scale of the shipped markets (never BTC's by default); the adaptive rule then moves it`,
    adaptive: {
      downShiftStart: ADAPTIVE_DOWN_SHIFT_START,
      downShift: ADAPTIVE_DOWN_SHIFT,
      outcomesPerShift: ADAPTIVE_OUTCOMES_PER_SHIFT,
      upNums: Array.from({ length: ADAPTIVE_DOWN_SHIFT - ADAPTIVE_DOWN_SHIFT_START + 1 }, (_, k) =>
        balancedUpNum(ADAPTIVE_DOWN_SHIFT_START + k, ADAPTIVE_UP_SHIFT),
      ),
      upShift: ADAPTIVE_UP_SHIFT,
      minNum: 2 ** (shift - 2),
      maxNum: 2 ** (shift + 2),
    },
    markets,
  };
  // The file is read back through its own validator: what is written is what a reader accepts.
  return parseCalibrations(JSON.parse(JSON.stringify(doc)), "(calibrations being written)");
}

/**
 * What `zkrisk calibrate` wrote: the file (`out`) and its calibrations (also the `--json` document), and the
 * markets of `--data` that were not fitted (too few validation bars: they run on the file's new-market rule).
 */
export type CalibrateResult = { out: string; notFitted: string[] } & Calibrations;

/** Fit the calibrations of `--model` on the `--data` files and write them to `--out`. */
export async function runCalibrate(f: CalibrateFlags): Promise<CalibrateResult> {
  outFileOption("--out", f.out);
  refuseOverwrites({
    reads: [...fileOptions("--model", f.model), ...fileOptions("--data", f.data)],
    writes: fileOptions("--out", f.out),
  });
  const c = buildCalibrations(f.model, f.data, progressBar(f.json !== true));
  writeJsonAtomic(f.out, c);
  const fitted = new Set(c.markets.map((m) => m.market));
  const notFitted = f.data.map((file) => marketOfDataFile("--data", file)).filter((m) => !fitted.has(m));
  return { out: f.out, notFitted, ...c };
}

/** The text output of `zkrisk calibrate`: the file written and each market's scale and validation figures. */
export function formatCalibrate(c: CalibrateResult): string {
  return (
    `wrote ${c.out}\n` +
    table([
      ["market", "scale", "validation bars", "breach rate", "avg MM bps"],
      ...c.markets.map((m) => [
        m.market,
        (m.num / 2 ** c.calibrationShift).toFixed(4),
        String(m.validation.rows),
        `${(m.validationBreachRate * 100).toFixed(2)} %`,
        m.validationAvgMaintenanceMarginBps.toFixed(1),
      ]),
      ...c.notFitted.map((m) => [`${m} (not fitted)`, "new-market rule", "too few", "", ""]),
      ["(new market)", (c.newMarketNum / 2 ** c.calibrationShift).toFixed(4), "", "", ""],
    ]) +
    `\nthe new-market scale is the largest fitted here, of ${c.markets.map((m) => m.market).join(", ")}` +
    (c.markets.length === 1 ? `: ${c.markets[0].market}'s own scale` : "") +
    (c.notFitted.length > 0
      ? `; not fitted (fewer than ${c.minValidationBars} usable validation bars): ${c.notFitted.join(", ")}`
      : "") +
    "\n"
  );
}

/** `zkrisk calibrate`: write the calibrations file. */
export async function calibrateAction(f: CalibrateFlags): Promise<void> {
  output(await runCalibrate(f), f.json, formatCalibrate);
}
