/**
 * Per-market calibrations (issue 12, part 2): one dyadic scale num / 2^shift per market, fitted on that
 * market's own validation split with the quantised model's integer outputs (what is proven), a conservative
 * rule for a market without enough history, and the constants of the adaptive rule (adaptive.ts).
 *
 * The file (models/calibrations.json, format zkrisk-calibrations/2) names the quantised model it belongs to by
 * sha256; readers reject another format, unknown keys, a model mismatch, and out-of-range numbers.
 * Format /2 changed the `adaptive` block to the annealed rule (downShiftStart, downShift, outcomesPerShift,
 * upNums, upShift, minNum, maxNum); /1 had one fixed step (downShift, upNum, upShift, minNum, maxNum).
 *
 * Not named calibrations.ts: beside calibrations.json, a `require` that tries `.json` before `.ts` (ts-node, which
 * Hardhat registers) would load the data file instead of this module.
 */
import { basename } from "node:path";
import { buildDataset, type Dataset } from "./dataset";
import { ModelError, UsageError } from "../core/errors";
import { inFileOption } from "../core/paths";
import { inferInteger, integerPolicy } from "./integer-engine";
import { readJsonFile } from "../core/io";
import type { QuantizedModel, QuantizedPolicy } from "./quantized-model";
import { adverseMoveTargets } from "./target";
import type { CandleSeries } from "../candles/types";
import type { AdaptiveRule } from "./adaptive";
import { JsonReader, readSha256 } from "../core/validate";
import { seriesWindowFeatures } from "../features/window-features";
import { isoFromMs } from "../core/time";

/** The format this reader reads and `zkrisk calibrate` writes. */
export const CALIBRATIONS_FORMAT = "zkrisk-calibrations/2";

/** Least number of usable validation bars (180 days of 2-hour bars) for a market's own calibration. */
export const MIN_CALIBRATION_BARS = 2160;

/** One market's fitted calibration. */
export interface MarketCalibration {
  market: string;
  data: { file: string; sha256: string };
  validation: { from: string; to: string; rows: number };
  /** Scale = num / 2^calibrationShift. */
  num: number;
  validationBreachRate: number;
  validationAvgMaintenanceMarginBps: number;
}

/** The shipped calibrations file. */
export interface Calibrations {
  format: typeof CALIBRATIONS_FORMAT;
  model: { file: string; sha256: string };
  calibrationShift: number;
  method: string;
  minValidationBars: number;
  /** The scale of a market with fewer than minValidationBars of its own validation history. */
  newMarketNum: number;
  newMarketRule: string;
  adaptive: AdaptiveRule;
  markets: MarketCalibration[];
}

/** The market id of a candle file named like `ethusdt-2h.csv` (ETH-USDT), or undefined. */
export function marketOfFile(file: string): string | undefined {
  const m = /^([a-z0-9]+?)(usdt|usdc|usd)-\d+h\.csv$/i.exec(basename(file));
  return m === null ? undefined : `${m[1].toUpperCase()}-${m[2].toUpperCase()}`;
}

/**
 * The market of the candle file given to `option` (as `marketOfFile` names it), refusing a path that is not a
 * file or whose name gives no market: such a file is refused rather than its market guessed.
 */
export function marketOfDataFile(option: string, file: string): string {
  inFileOption(option, file);
  const market = marketOfFile(file);
  if (market === undefined) {
    throw new UsageError(
      `${option}: ${file}: cannot tell its market from the name (expected e.g. ethusdt-2h.csv)`,
    );
  }
  return market;
}

/** A label's letters and digits, upper-cased: `btc-usdt`, `BTCUSDT` and `BTC-USDT` are one market. */
export function letters(label: string): string {
  return label.toUpperCase().replace(/[^A-Z0-9]/g, "");
}

/**
 * The market of a candle file among `known` ones (those with a fitted calibration):
 * - given `label` (`--market`), the known market it spells in any case or punctuation (`btcusdt` is BTC-USDT),
 *   else the label as given;
 * - else the known market whose letters begin the file's name (`btcusdt-2h-2025.csv`, `BTC_USDT.csv`; the
 *   longest if several do), else `marketOfFile`'s, else the file's name.
 */
export function resolveMarket(file: string, label: string | undefined, known: readonly string[]): string {
  if (label !== undefined) return known.find((k) => letters(k) === letters(label)) ?? label;
  const name = letters(basename(file));
  const match = known
    .filter((k) => letters(k) !== "" && name.startsWith(letters(k)))
    .sort((a, b) => letters(b).length - letters(a).length)[0];
  return match ?? marketOfFile(file) ?? basename(file);
}

/** The quantised network output per bar of a series (null where there are no window features). */
export function integerOutputs(model: QuantizedModel, series: CandleSeries): (bigint | null)[] {
  return seriesWindowFeatures(series).rows.map((x) => (x === null ? null : inferInteger(model, x).output));
}

/** Maintenance margin (bps) of output y under the policy with calibration `num`. */
export function mmWithNum(policy: QuantizedPolicy, y: bigint, num: number): number {
  return Number(integerPolicy({ ...policy, calibrationNum: num }, y).maintenanceMarginBps);
}

/**
 * Smallest num (at the policy's calibration shift) with at most floor(0.01 n) breaches on the rows, each row
 * given by its integer output and its realised move (a fraction).
 */
export function fitNum(policy: QuantizedPolicy, outputs: readonly bigint[], y: readonly number[]): number {
  const allowed = Math.floor(0.01 * y.length);
  const breaches = (num: number) => {
    let b = 0;
    for (let i = 0; i < y.length; i++) if (y[i] > mmWithNum(policy, outputs[i], num) / 10000) b++;
    return b;
  };
  let lo = 1;
  let hi = 2 ** policy.calibrationShift;
  while (breaches(hi) > allowed) {
    hi *= 2;
    if (hi > 2 ** (policy.calibrationShift + 12)) {
      throw new ModelError("calibration did not converge: margins at the upper clamp still breach");
    }
  }
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (breaches(mid) <= allowed) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** A market's validation rows: open time in [validationFrom, testFrom) and target observed before testFrom. */
export function validationRows(
  series: CandleSeries,
  validationFrom: number,
  testFrom: number,
  horizonBars: number,
): Dataset {
  const all = buildDataset(seriesWindowFeatures(series), adverseMoveTargets(series, horizonBars), series);
  const keep: number[] = [];
  all.time.forEach((t, i) => {
    if (t >= validationFrom && t < testFrom && t + (horizonBars + 1) * series.intervalMs <= testFrom)
      keep.push(i);
  });
  return {
    index: keep.map((i) => all.index[i]),
    time: keep.map((i) => all.time[i]),
    xInt: keep.map((i) => all.xInt[i]),
    x: keep.map((i) => all.x[i]),
    y: keep.map((i) => all.y[i]),
  };
}

/**
 * Fit one market's calibration on its validation split, or undefined when it has fewer than
 * MIN_CALIBRATION_BARS usable validation bars (the new-market rule applies).
 */
export function fitMarketCalibration(
  model: QuantizedModel,
  market: string,
  series: CandleSeries,
  data: { file: string; sha256: string },
): MarketCalibration | undefined {
  const v = model.training.splits.validation;
  const testFrom = Date.parse(model.training.splits.test.from);
  const rows = validationRows(series, Date.parse(v.from), testFrom, model.targetHorizonBars);
  if (rows.y.length < MIN_CALIBRATION_BARS) return undefined;
  const outputs = rows.xInt.map((x) => inferInteger(model, x).output);
  const num = fitNum(model.policy, outputs, rows.y);
  let breaches = 0;
  let mm = 0;
  outputs.forEach((o, i) => {
    const m = mmWithNum(model.policy, o, num);
    mm += m;
    if (rows.y[i] > m / 10000) breaches++;
  });
  return {
    market,
    data,
    validation: {
      from: isoFromMs(rows.time[0]),
      to: isoFromMs(rows.time[rows.time.length - 1]),
      rows: rows.y.length,
    },
    num,
    validationBreachRate: breaches / rows.y.length,
    validationAvgMaintenanceMarginBps: mm / rows.y.length,
  };
}

/** The calibration of `market`: its own (with the bars it was fitted on), or the new-market rule's. */
export function calibrationFor(c: Calibrations, market: string | undefined): MarketScale {
  const own = c.markets.find((m) => m.market === market);
  return own === undefined
    ? { num: c.newMarketNum, source: "new-market rule" }
    : { num: own.num, source: "fitted", fittedOn: { from: own.validation.from, to: own.validation.to } };
}

/** A market's calibration scale as a backtest runs it, and the bars it was fitted on (its validation split). */
export interface MarketScale {
  num: number;
  source: "fitted" | "new-market rule";
  /** Open times (ISO 8601) of the first and last bar the scale was fitted on; for `fitted` only. */
  fittedOn?: { from: string; to: string };
}

function fraction(r: JsonReader): number {
  const v = r.number();
  if (!(v >= 0 && v <= 1)) r.error(`expected a fraction in [0, 1], got ${v}`);
  return v;
}

/**
 * The constants of an adaptive rule (`Calibrations.adaptive`, and the rule an adaptive circuit's circuit.json and
 * manifest record), each checked for its range; errors name the field through the reader's error family.
 * @param a the reader at the rule's object
 * @param maxNum the largest calibrationNum allowed for the bounds (2^(calibrationShift + 8))
 */
export function parseAdaptiveRule(a: JsonReader, maxNum: number): AdaptiveRule {
  a.onlyKeys(["downShiftStart", "downShift", "outcomesPerShift", "upNums", "upShift", "minNum", "maxNum"]);
  const adaptive: AdaptiveRule = {
    downShiftStart: a.at("downShiftStart").integer(1, 32),
    downShift: a.at("downShift").integer(1, 32),
    outcomesPerShift: a.at("outcomesPerShift").integer(1, 2 ** 32),
    upNums: a
      .at("upNums")
      .array()
      .map((_, i) =>
        a
          .at("upNums")
          .at(i)
          .integer(1, 2 ** 32),
      ),
    upShift: a.at("upShift").integer(0, 32),
    minNum: a.at("minNum").integer(1, maxNum),
    maxNum: a.at("maxNum").integer(1, maxNum),
  };
  if (adaptive.minNum > adaptive.maxNum) a.at("minNum").error("must be <= maxNum");
  if (adaptive.downShiftStart > adaptive.downShift) a.at("downShiftStart").error("must be <= downShift");
  if (adaptive.upNums.length !== adaptive.downShift - adaptive.downShiftStart + 1) {
    a.at("upNums").error(
      `expected ${adaptive.downShift - adaptive.downShiftStart + 1} entries (one per down shift from ` +
        `downShiftStart to downShift), got ${adaptive.upNums.length}`,
    );
  }
  return adaptive;
}

/** Parse and check a calibrations file; `modelSha256`, when given, must be the file's model. */
export function parseCalibrations(doc: unknown, file: string, modelSha256?: string): Calibrations {
  const r = new JsonReader(file, doc);
  // The format first, so a file of another format is refused as such, not for a key it names differently.
  const format = r.at("format").string();
  if (format !== CALIBRATIONS_FORMAT) {
    r.at("format").error(
      `expected ${CALIBRATIONS_FORMAT}, got ${JSON.stringify(format)}` +
        (format === "zkrisk-calibrations/1"
          ? " (format /1 has the fixed-step adaptive rule; regenerate the file with `zkrisk calibrate`)"
          : ""),
    );
  }
  r.onlyKeys([
    "format",
    "model",
    "calibrationShift",
    "method",
    "minValidationBars",
    "newMarketNum",
    "newMarketRule",
    "adaptive",
    "markets",
  ]);
  const m = r.at("model").onlyKeys(["file", "sha256"]);
  const model = { file: m.at("file").string(), sha256: readSha256(m.at("sha256")) };
  if (modelSha256 !== undefined && model.sha256 !== modelSha256) {
    m.at("sha256").error(`the calibrations belong to another model (${model.file}), not this one`);
  }
  const shift = r.at("calibrationShift").integer(0, 62);
  const maxNum = 2 ** (shift + 8);
  const adaptive = parseAdaptiveRule(r.at("adaptive"), maxNum);
  const markets = r
    .at("markets")
    .array()
    .map((_, i): MarketCalibration => {
      const e = r
        .at("markets")
        .at(i)
        .onlyKeys([
          "market",
          "data",
          "validation",
          "num",
          "validationBreachRate",
          "validationAvgMaintenanceMarginBps",
        ]);
      const d = e.at("data").onlyKeys(["file", "sha256"]);
      const v = e.at("validation").onlyKeys(["from", "to", "rows"]);
      return {
        market: e.at("market").string(),
        data: { file: d.at("file").string(), sha256: d.at("sha256").string() },
        validation: { from: v.at("from").string(), to: v.at("to").string(), rows: v.at("rows").integer(1) },
        num: e.at("num").integer(1, maxNum),
        validationBreachRate: fraction(e.at("validationBreachRate")),
        validationAvgMaintenanceMarginBps: e.at("validationAvgMaintenanceMarginBps").number(),
      };
    });
  const seen = new Set<string>();
  markets.forEach((x, i) => {
    if (seen.has(x.market)) r.at("markets").at(i).at("market").error(`duplicate market ${x.market}`);
    seen.add(x.market);
  });
  return {
    format: CALIBRATIONS_FORMAT,
    model,
    calibrationShift: shift,
    method: r.at("method").string(),
    minValidationBars: r.at("minValidationBars").integer(1),
    newMarketNum: r.at("newMarketNum").integer(1, maxNum),
    newMarketRule: r.at("newMarketRule").string(),
    adaptive,
    markets,
  };
}

/** Read a calibrations file (ModelError naming the file and field on anything wrong). */
export function loadCalibrations(file: string, modelSha256?: string): Calibrations {
  return parseCalibrations(readJsonFile(file, "MODEL_INVALID"), file, modelSha256);
}
