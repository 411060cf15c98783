/**
 * Artifacts of the REAL signed-update circuit with the adaptive rule (circuits/generate-update-circuit.ts,
 * `adaptive`), quorum 1, constant weights of the shipped model, for the tests: compiled and set up with the direct
 * development setup (INSECURE keys) once per generated source, cached under `.zkrisk-cache/demo` like the stand-in
 * (test/helpers/signed-update-stand-in.ts). `compiledAdaptiveArtifacts` is the same circuit as `zkrisk compile
 * --adaptive` makes it, with circuit.json and the rule in its manifest.
 */
import { sourceArtifacts } from "./source-artifacts";
import { sha256Hex } from "../../core/io";
import type { QuantizedModel } from "../../models/quantized-model";
import { adaptiveUpdateArtifacts } from "../../setup/cached-artifacts";
import { generateUpdateCircuit } from "../../circuits/generate-update-circuit";
import type { AdaptiveRule } from "../../models/adaptive";
import { silentLog, type SetupLog } from "../../setup";

/** Name of the adaptive circuit (the stem of its artifact files). */
export const ADAPTIVE_NAME = "signed_update_adaptive";

/**
 * The artifact directory (`{ADAPTIVE_NAME}.wasm`, `.zkey`, `verification_key.json`, `artifacts.json`). Its
 * circuit.json records the rule, as `zkrisk compile --adaptive` does (the "calibrations file" named there is the
 * rule itself, hashed), so the manifest does and `deployVerifier` deploys the verifier of the adaptive layout.
 */
export async function adaptiveArtifacts(
  model: QuantizedModel,
  rule: AdaptiveRule,
  log: SetupLog = silentLog,
): Promise<string> {
  const { source } = await generateUpdateCircuit(model, "constant", 1, undefined, { adaptive: rule });
  const circuitInfo = {
    adaptive: { rule, calibrations: { file: "test rule", sha256: sha256Hex(JSON.stringify(rule)) } },
  };
  return sourceArtifacts(source, ADAPTIVE_NAME, "signed-adaptive-k1-constant", log, circuitInfo);
}

/**
 * The same circuit compiled as `zkrisk compile --adaptive --weights constant` does it (setup/cached-artifacts.ts
 * `adaptiveUpdateArtifacts`, so circuit.json and the manifest record the rule of `calibrationsPath`), set up with
 * the direct development setup once and cached like the demo's artifacts: the directory `SignedUpdateProver` and
 * the CLI take.
 */
export async function compiledAdaptiveArtifacts(
  modelPath: string,
  calibrationsPath: string,
  log: SetupLog = silentLog,
): Promise<string> {
  return (await adaptiveUpdateArtifacts(modelPath, calibrationsPath, 1, log)).dir;
}
