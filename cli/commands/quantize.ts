/** `zkrisk quantize`: float model -> quantised model, with the float-vs-integer report on the test split. */
import type { Command } from "commander";
import { basename } from "node:path";
import { buildDataset, rowsInRange, type Dataset } from "../../models/dataset";
import type { CandleSeries, FundingSeries } from "../../models/types";
import { computeFeatures } from "../../models/features";
import { loadFloatModel } from "../../models/float-model";
import { sha256File, writeJsonAtomic } from "../../models/io";
import { loadCandles, loadFunding } from "../../models/load-data";
import { quantizationReport, quantizeModel } from "../../models/quantize";
import { quantizedModelToJson, type QuantizedModel } from "../../models/quantized-model";
import { InsufficientDataError, UsageError } from "../../models/errors";
import { readJsonFile } from "../../models/io";
import { architectureFromJson, checkFitsArchitecture, type Architecture } from "../../circuits/architecture";
import { adverseMoveTargets } from "../../models/target";
import { DEFAULT_DATA, DEFAULT_FLOAT_MODEL, DEFAULT_MODEL } from "../paths";
import { outFileOption, parseIntOption, printJson } from "../options";

interface QuantizeFlags {
  model: string;
  data: string;
  funding?: string;
  out: string;
  featureBits: string;
  weightBits: string;
  activationBits: string;
  architecture?: string;
  json?: boolean;
}

export function registerQuantize(program: Command): void {
  program
    .command("quantize")
    .description(
      "quantise a float model to the bit-exact integer model and report float-vs-integer differences",
    )
    .option("--model <file>", "float model file", DEFAULT_FLOAT_MODEL)
    .option("--data <file>", "candles CSV the model was trained on (for the test-split report)", DEFAULT_DATA)
    .option("--funding <file>", "funding-rate CSV, if the model uses funding features")
    .option("--out <file>", "quantised model file to write (name it *.quantized.json)", DEFAULT_MODEL)
    .option("--feature-bits <n>", "features are integers at scale 2^n", "32")
    .option("--weight-bits <n>", "each layer's largest |weight| is scaled to about 2^n", "32")
    .option("--activation-bits <n>", "hidden activations are integers at scale 2^n", "32")
    .option(
      "--architecture <circuit.json>",
      "fit an existing committed-weights circuit: use its weight scales and check the budgets (no new setup)",
    )
    .option("--json", "print the result as one JSON object")
    .action((f: QuantizeFlags) => {
      outFileOption("--out", f.out);
      const arch = f.architecture === undefined ? undefined : readArchitecture(f.architecture);
      const floatModel = loadFloatModel(f.model);
      const series = loadCandles(f.data);
      const funding = f.funding ? loadFunding(f.funding) : undefined;
      const q = quantizeModel(
        floatModel,
        { file: basename(f.model), sha256: sha256File(f.model) },
        {
          featureScaleBits: parseIntOption("--feature-bits", f.featureBits, 8, 48),
          weightPrecisionBits: parseIntOption("--weight-bits", f.weightBits, 8, 48),
          activationScaleBits: parseIntOption("--activation-bits", f.activationBits, 8, 48),
        },
        arch?.layers.map((l) => l.weightScaleBits),
      );
      const test = testSplit(floatModel.training.splits.test, series, funding, floatModel.funding);
      const report = quantizationReport(floatModel, q, test);
      const model: QuantizedModel = { ...q, quantization: { ...q.quantization, report } };
      if (arch) checkFitsArchitecture(model, arch, `the model quantised from ${f.model}`);
      writeJsonAtomic(f.out, quantizedModelToJson(model));
      const bits = model.layers.map((l) => Math.max(...l.accumulators.map((a) => a.bits)));
      if (f.json) {
        printJson({
          out: f.out,
          report,
          accumulatorBits: bits,
          features: model.features.map((x) => x.rangeBits),
        });
        return;
      }
      process.stdout.write(
        `wrote ${f.out}\n` +
          `accumulator bits per layer: ${bits.join(", ")}; feature range bits: ${model.features.map((x) => x.rangeBits).join(", ")}\n` +
          `float vs integer on the test split (${report.bars} bars, ${report.from} .. ${report.to}):\n` +
          `  MM: max |diff| ${report.maxAbsDiffMaintenanceMarginBps} bps, mean ${report.meanAbsDiffMaintenanceMarginBps.toExponential(2)} bps` +
          ` (before rounding up: max ${report.maxAbsDiffMaintenanceMarginExactBps.toExponential(2)} bps)\n` +
          `  IM: max |diff| ${report.maxAbsDiffInitialMarginBps} bps, mean ${report.meanAbsDiffInitialMarginBps.toExponential(2)} bps\n`,
      );
    });
}

/** The architecture recorded in a committed-weights circuit.json. */
function readArchitecture(file: string): Architecture {
  const doc = readJsonFile(file, "USAGE") as { architecture?: unknown };
  if (doc.architecture === undefined) {
    throw new UsageError(`--architecture: ${file} has no architecture (compile with --weights committed)`);
  }
  return architectureFromJson(doc.architecture, file);
}

/** The rows of the test split recorded in the model, recomputed from the data file. */
function testSplit(
  range: { from: string; to: string },
  series: CandleSeries,
  funding: FundingSeries | undefined,
  needsFunding: boolean,
): Dataset {
  const all = buildDataset(
    computeFeatures(series, needsFunding ? funding : undefined),
    adverseMoveTargets(series),
    series,
  );
  const ds = rowsInRange(all, Date.parse(range.from), Date.parse(range.to));
  if (ds.y.length === 0) {
    throw new InsufficientDataError(
      `${series.source}: no bar of the model's test split (${range.from} .. ${range.to})`,
    );
  }
  return ds;
}
