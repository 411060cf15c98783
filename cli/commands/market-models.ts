/**
 * `--market-model LABEL=FILE ...` of `zkrisk prove --batch` and `zkrisk verify`: the batch markets' own model
 * files (each market's registered model, e.g. its calibration from `zkrisk market-model`).
 */
import { marketIdOf } from "../../candles/market-id";
import { UsageError, ZkriskError } from "../../core/errors";
import { loadQuantizedModel, type QuantizedModel } from "../../models/quantized-model";

/**
 * The markets' own model files of `--market-model LABEL=FILE ...`, by label (absent: none).
 * @throws UsageError naming the value: not LABEL=FILE, a label that is not a market label, one label twice, or a
 *   file that is not a valid model (its own error, naming the file and the field)
 */
export function readMarketModels(specs: readonly string[] | undefined): Map<string, QuantizedModel> {
  const models = new Map<string, QuantizedModel>();
  for (const spec of specs ?? []) {
    const at = spec.indexOf("=");
    const label = spec.slice(0, at).trim();
    const file = spec.slice(at + 1).trim();
    if (at < 0 || label === "" || file === "") {
      throw new UsageError(`--market-model: '${spec}' is not LABEL=FILE (e.g. ETH-USDT=eth-usdt.json)`);
    }
    try {
      marketIdOf(label);
    } catch (err) {
      throw new UsageError(`--market-model: '${label}' is not a market label: ${(err as Error).message}`);
    }
    if (models.has(label)) throw new UsageError(`--market-model: ${label} is given twice`);
    try {
      models.set(label, loadQuantizedModel(file));
    } catch (err) {
      if (err instanceof ZkriskError) throw new UsageError(`--market-model ${label}: ${err.message}`);
      throw err;
    }
  }
  return models;
}
