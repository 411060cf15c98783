/** `zkrisk quantize`: float model -> quantised model, with the float-vs-integer report on the test split. */
import { basename } from "node:path";
import { buildDataset, rowsInRange, type Dataset } from "../../models/dataset";
import type { CandleSeries } from "../../candles/types";
import { FEATURE_SCALE_BITS, seriesWindowFeatures } from "../../features/window-features";
import { loadFloatModel } from "../../models/float-model";
import { sha256File, writeJsonAtomic } from "../../core/io";
import { loadCandles } from "../../candles/load-data";
import { quantizationReport, quantizeModel } from "../../models/quantize";
import {
  quantizedModelToJson,
  type QuantizationReport,
  type QuantizedModel,
} from "../../models/quantized-model";
import { InsufficientDataError, UsageError } from "../../core/errors";
import { readJsonFile } from "../../core/io";
import { architectureFromJson, checkFitsArchitecture, type Architecture } from "../../circuits/architecture";
import { checkCircuitInfo } from "../../circuits/compile-model";
import { checkBarInterval, checkWindowModel } from "../../models/predict";
import { adverseMoveTargets } from "../../models/target";
import {
  fileOptions,
  inFileOption,
  outFileOption,
  output,
  parseIntOption,
  refuseOverwrites,
} from "../options";

/** The options of `zkrisk quantize`, as commander gives them (cli/register/quantize.ts). */
export interface QuantizeFlags {
  model: string;
  data: string;
  out: string;
  weightBits: string;
  activationBits: string;
  architecture?: string;
  json?: boolean;
}

/** What `zkrisk quantize` wrote (also the `--json` document). */
export interface QuantizeResult {
  /** The quantised model file written. */
  out: string;
  /** Float vs integer engine on the model's test split. */
  report: QuantizationReport;
  /** Each layer's widest accumulator, bits. */
  accumulatorBits: number[];
  /** Each feature's range, bits. */
  features: number[];
}

/** Quantise `--model` (checked to fit `--architecture` when given), report on the test split, write `--out`. */
export async function runQuantize(f: QuantizeFlags): Promise<QuantizeResult> {
  outFileOption("--out", f.out);
  refuseOverwrites({
    reads: [
      ...fileOptions("--model", f.model),
      ...fileOptions("--data", f.data),
      ...fileOptions("--architecture", f.architecture),
    ],
    writes: fileOptions("--out", f.out),
  });
  const arch = f.architecture === undefined ? undefined : readArchitecture(f.architecture);
  const floatModel = loadFloatModel(f.model);
  checkWindowModel(floatModel, f.model);
  const series = loadCandles(f.data);
  checkBarInterval(series, floatModel.barIntervalMs);
  const q = quantizeModel(
    floatModel,
    { file: basename(f.model), sha256: sha256File(f.model) },
    {
      featureScaleBits: FEATURE_SCALE_BITS,
      weightPrecisionBits: parseIntOption("--weight-bits", f.weightBits, 8, 48),
      activationScaleBits: parseIntOption("--activation-bits", f.activationBits, 8, 48),
    },
    arch?.layers.map((l) => l.weightScaleBits),
  );
  const test = testSplit(floatModel.training.splits.test, series);
  const report = quantizationReport(floatModel, q, test);
  const model: QuantizedModel = { ...q, quantization: { ...q.quantization, report } };
  if (arch) checkFitsArchitecture(model, arch, `the model quantised from ${f.model}`, f.architecture);
  writeJsonAtomic(f.out, quantizedModelToJson(model));
  return {
    out: f.out,
    report,
    accumulatorBits: model.layers.map((l) => Math.max(...l.accumulators.map((a) => a.bits))),
    features: model.features.map((x) => x.rangeBits),
  };
}

/** The text output of `zkrisk quantize`: the file written, its bit widths, float vs integer on the test split. */
export function formatQuantize(r: QuantizeResult): string {
  const report = r.report;
  return (
    `wrote ${r.out}\n` +
    `accumulator bits per layer: ${r.accumulatorBits.join(", ")}; feature range bits: ${r.features.join(", ")}\n` +
    `float vs integer on the test split (${report.bars} bars, ${report.from} .. ${report.to}):\n` +
    `  MM: max |diff| ${report.maxAbsDiffMaintenanceMarginBps} bps, mean ${report.meanAbsDiffMaintenanceMarginBps.toExponential(2)} bps` +
    ` (before rounding up: max ${report.maxAbsDiffMaintenanceMarginExactBps.toExponential(2)} bps)\n` +
    `  IM: max |diff| ${report.maxAbsDiffInitialMarginBps} bps, mean ${report.meanAbsDiffInitialMarginBps.toExponential(2)} bps\n`
  );
}

/** `zkrisk quantize`: write the quantised model and report its differences. */
export async function quantizeAction(f: QuantizeFlags): Promise<void> {
  output(await runQuantize(f), f.json, formatQuantize);
}

/**
 * The architecture recorded in a committed-weights circuit.json (`--architecture`), the whole file checked as
 * `setup` checks an artifact directory's (`checkCircuitInfo`); a file with no architecture (a constant-weights
 * circuit's, the likely mistake) is named as such first.
 */
export function readArchitecture(file: string): Architecture {
  const doc = readJsonFile(inFileOption("--architecture", file), "USAGE");
  if (typeof doc === "object" && doc !== null && !("architecture" in doc)) {
    throw new UsageError(`--architecture: ${file} has no architecture (compile with --weights committed)`);
  }
  return architectureFromJson(checkCircuitInfo(doc, file).architecture, file);
}

/** The rows of the test split recorded in the model, recomputed from the data file. */
function testSplit(range: { from: string; to: string }, series: CandleSeries): Dataset {
  const all = buildDataset(seriesWindowFeatures(series), adverseMoveTargets(series), series);
  const ds = rowsInRange(all, Date.parse(range.from), Date.parse(range.to));
  if (ds.y.length === 0) {
    throw new InsufficientDataError(
      `${series.source}: no bar of the model's test split (${range.from} .. ${range.to})`,
    );
  }
  return ds;
}
