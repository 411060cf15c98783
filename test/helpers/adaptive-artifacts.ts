/**
 * Artifacts of the REAL signed-update circuit with the adaptive rule (circuits/generate-update-circuit.ts,
 * `adaptive`), quorum 1, constant weights of the shipped model, for the tests: compiled and set up with the direct
 * development setup (INSECURE keys) once per generated source, cached under `.zkrisk-cache/demo` like the stand-in
 * (test/helpers/signed-update-stand-in.ts). The CLI's `compile` does not make adaptive circuits yet.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { compileCircom } from "../../circuits/circom";
import { generateUpdateCircuit } from "../../circuits/generate-update-circuit";
import type { AdaptiveRule } from "../../models/adaptive";
import { sha256Hex } from "../../core/io";
import type { QuantizedModel } from "../../models/quantized-model";
import { loadArtifacts } from "../../setup/artifacts";
import { devSetupCircuit, silentLog, type SetupLog } from "../../setup";
import { DEMO_CACHE } from "../../setup/cached-artifacts";

/** Name of the adaptive circuit (the stem of its artifact files). */
export const ADAPTIVE_NAME = "signed_update_adaptive";

/** The artifact directory (`{ADAPTIVE_NAME}.wasm`, `.zkey`, `verification_key.json`, `artifacts.json`). */
export async function adaptiveArtifacts(
  model: QuantizedModel,
  rule: AdaptiveRule,
  log: SetupLog = silentLog,
): Promise<string> {
  const { source } = await generateUpdateCircuit(model, "constant", 1, undefined, { adaptive: rule });
  const dir = join(DEMO_CACHE, `${sha256Hex(source).slice(0, 16)}-signed-adaptive-k1-constant`);
  const sourcePath = join(dir, `${ADAPTIVE_NAME}.circom`);
  if (existsSync(join(dir, "artifacts.json"))) {
    try {
      loadArtifacts(dir, { modelPath: sourcePath });
      return dir;
    } catch (err) {
      log.warn(`cached adaptive artifacts in ${dir} are unusable (${(err as Error).message}); rebuilding`);
    }
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(sourcePath, source);
  const compiled = await compileCircom(sourcePath, join(dir, "build"));
  // The source stands where a model file would: the manifest hashes it.
  await devSetupCircuit({
    name: ADAPTIVE_NAME,
    r1csPath: compiled.r1csPath,
    wasmPath: compiled.wasmPath,
    modelPath: sourcePath,
    outDir: dir,
    log,
  });
  return dir;
}
