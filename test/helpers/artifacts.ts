/**
 * Proving artifacts for the shipped model in constant-weights mode: compile and a development trusted setup
 * into a temporary directory (the dev ptau is cached outside the repo, so this takes seconds after the first
 * run). Shared by the prover, contract, audit and end-to-end suites.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileModel } from "../../circuits/compile-model";
import { setupCompiledDir, silentLog } from "../../prover/setup";

/** The shipped quantised model. */
export const MODEL = join(__dirname, "../..", "models/btc-usdt-2h.quantized.json");

/** Compile the shipped model's circuit (constant weights) and run a development trusted setup into a temp dir. */
export async function buildProvingArtifacts(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "zkrisk-contracts-"));
  await compileModel(MODEL, dir, "constant");
  await setupCompiledDir(dir, MODEL, silentLog);
  return dir;
}
