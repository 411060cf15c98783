/**
 * Artifacts of the REAL signed-update circuit (circuits/generate-update-circuit.ts) for the tests and
 * `npm run bench`: compiled (`compileSignedUpdateModel`) and set up with the direct development setup (INSECURE
 * keys, development ptau) once per generated source, cached under `.zkrisk-cache/demo/<source sha256[0:16]>-
 * signed-k<K>-<mode>` like the demo's circuits, reused while they match their manifest.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { compileSignedUpdateModel } from "../circuits/compile-model";
import type { WeightMode } from "../circuits/generate-circuit";
import { generateUpdateCircuit } from "../circuits/generate-update-circuit";
import { sha256Hex } from "../models/io";
import { loadQuantizedModel } from "../models/quantized-model";
import { loadArtifacts } from "../prover/artifacts";
import { setupCompiledDir, silentLog, type SetupLog } from "../prover/setup";
import { DEMO_CACHE } from "./demo";

/** Where the artifacts are, whether they came from the cache, and the compile + setup time of this call. */
export interface SignedUpdateArtifacts {
  dir: string;
  mode: WeightMode;
  quorum: number;
  reused: boolean;
  /** Wall clock of compile and setup in this call (0 when reused), ms. */
  setupMs: number;
}

/**
 * The signed-update circuit of `modelPath` for quorum `quorum` and weight mode `mode`: a verified cache, else
 * compiled and set up (development setup) now.
 */
export async function signedUpdateArtifacts(
  modelPath: string,
  mode: WeightMode,
  quorum: number,
  log: SetupLog = silentLog,
): Promise<SignedUpdateArtifacts> {
  const source = (await generateUpdateCircuit(loadQuantizedModel(modelPath), mode, quorum)).source;
  const dir = join(DEMO_CACHE, `${sha256Hex(source).slice(0, 16)}-signed-k${quorum}-${mode}`);
  if (existsSync(join(dir, "artifacts.json"))) {
    try {
      loadArtifacts(dir, { modelPath });
      return { dir, mode, quorum, reused: true, setupMs: 0 };
    } catch (err) {
      log.warn(
        `cached signed-update artifacts in ${dir} are unusable (${(err as Error).message}); rebuilding`,
      );
    }
  }
  const t0 = performance.now();
  log.info(
    `compiling the signed-update circuit (k = ${quorum}, ${mode} weights) and a development setup (once)`,
  );
  await compileSignedUpdateModel(modelPath, dir, mode, quorum);
  await setupCompiledDir(dir, modelPath, log);
  return { dir, mode, quorum, reused: false, setupMs: performance.now() - t0 };
}
