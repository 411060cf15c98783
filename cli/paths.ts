/** Default file locations, resolved from the package root so `npx zkrisk` works from any directory. */
import { join } from "node:path";
import { PACKAGE_ROOT } from "../core/package-root";

export const PROJECT_ROOT = PACKAGE_ROOT;
export const DEFAULT_DATA = join(PROJECT_ROOT, "models/data/btcusdt-2h.csv");
export const DEFAULT_FLOAT_MODEL = join(PROJECT_ROOT, "models/btc-usdt-2h.float.json");
export const DEFAULT_MODEL = join(PROJECT_ROOT, "models/btc-usdt-2h.quantized.json");
export const DEFAULT_CALIBRATIONS = join(PROJECT_ROOT, "models/calibrations.json");
