/**
 * Proving artifacts of the shipped model's batch circuit for `n` markets (constant weights): compile and a
 * development trusted setup into a temporary directory. Shared by the batch prover and contract suites.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileBatchModel } from "../../circuits/compile-model";
import { setupCompiledDir, silentLog } from "../../prover/setup";
import { MODEL } from "./artifacts";

export async function buildBatchArtifacts(n: number): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), `zkrisk-batch${n}-`));
  await compileBatchModel(MODEL, dir, n);
  await setupCompiledDir(dir, MODEL, silentLog);
  return dir;
}
