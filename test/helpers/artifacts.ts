/** Paths the service suites share. */
import { join } from "node:path";

/** The shipped quantised model. */
export const MODEL = join(__dirname, "../..", "models/btc-usdt-2h.quantized.json");
