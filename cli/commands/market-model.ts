/**
 * `zkrisk market-model --market ID --out FILE`: write a market's own model file, the quantised model with that
 * market's calibration from the calibrations file (its fitted scale, or the new-market rule's), checked to fit
 * the committed-weights circuit, so one committed circuit and one setup prove every market's model.
 */
import { basename } from "node:path";
import { architectureOf, checkFitsArchitecture } from "../../circuits/architecture";
import { modelCommitment } from "../../circuits/commitments";
import { marketIdOf } from "../../candles/market-id";
import { sha256File, writeJsonAtomic } from "../../core/io";
import { loadMarketModel, type CalibrationSource } from "../../models/market-model";
import { loadQuantizedModel, quantizedModelToJson } from "../../models/quantized-model";
import { fileOptions, outFileOption, output, refuseOverwrites } from "../options";
import { readArchitecture } from "./quantize";

/** The options of `zkrisk market-model`, as commander gives them (cli/register/calibrate.ts). */
export interface MarketModelFlags {
  market: string;
  model: string;
  calibrations: string;
  out: string;
  /** A committed circuit's circuit.json the model must fit (default: the base model's own architecture). */
  architecture?: string;
  json?: boolean;
}

/** What `zkrisk market-model` wrote. */
export interface MarketModelResult {
  out: string;
  market: string;
  /** Scale = calibrationNum / 2^calibrationShift. */
  calibrationNum: number;
  calibrationShift: number;
  source: CalibrationSource;
  /** The model commitment to register for the market (decimal). */
  modelCommitment: string;
  /** sha256 of the file written. */
  sha256: string;
  /** What the model was checked to fit: a circuit.json, or the base model's committed architecture. */
  fits: string;
}

/** Build, check and write the market's model; nothing is written when a check fails. */
export async function runMarketModel(f: MarketModelFlags): Promise<MarketModelResult> {
  outFileOption("--out", f.out);
  refuseOverwrites({
    reads: [
      ...fileOptions("--model", f.model),
      ...fileOptions("--calibrations", f.calibrations),
      ...fileOptions("--architecture", f.architecture),
    ],
    writes: fileOptions("--out", f.out),
  });
  marketIdOf(f.market); // a label the oracle can key, or a UsageError naming it
  const built = loadMarketModel(f.model, f.calibrations, f.market);
  const base = loadQuantizedModel(f.model);
  const arch = f.architecture === undefined ? architectureOf(base) : readArchitecture(f.architecture);
  checkFitsArchitecture(
    built.model,
    arch,
    `the model of ${f.market} (calibrationNum ${built.calibrationNum} from ${f.calibrations})`,
    f.architecture,
  );
  // The file says where its calibration came from (the commitment binds the scale, not this), unless it is the
  // base model itself (BTC's own file is the shipped model byte for byte, which constant-weights artifacts take).
  const own =
    base.calibration === undefined &&
    built.market === base.market &&
    built.calibrationNum === base.policy.calibrationNum;
  const calibration = {
    source: built.source,
    calibrations: { file: basename(f.calibrations), sha256: sha256File(f.calibrations) },
  };
  writeJsonAtomic(f.out, quantizedModelToJson(own ? built.model : { ...built.model, calibration }));
  return {
    out: f.out,
    market: built.market,
    calibrationNum: built.calibrationNum,
    calibrationShift: built.calibrationShift,
    source: built.source,
    modelCommitment: (await modelCommitment(built.model)).toString(),
    sha256: sha256File(f.out),
    fits: f.architecture ?? `the committed circuit of ${f.model}`,
  };
}

/** Text form of a {@link MarketModelResult}. */
export function formatMarketModel(r: MarketModelResult): string {
  const scale = (r.calibrationNum / 2 ** r.calibrationShift).toFixed(4);
  return (
    `wrote ${r.out}: ${r.market}, calibration ${r.calibrationNum} / 2^${r.calibrationShift} = ${scale} ` +
    `(${r.source === "fitted" ? "fitted on its own validation split" : "the new-market rule: no fitted scale"})\n` +
    `fits ${r.fits}\n` +
    `model commitment ${r.modelCommitment} (register the market with --model ${r.out})\n`
  );
}

/** `zkrisk market-model`. */
export async function marketModelAction(f: MarketModelFlags): Promise<void> {
  output(await runMarketModel(f), f.json, formatMarketModel);
}
