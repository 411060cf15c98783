/**
 * Artifacts of the REAL signed-update circuit (circuits/generate-update-circuit.ts) for the tests and
 * `npm run bench`: compiled (`compileSignedUpdateModel`) and set up with the direct development setup (INSECURE
 * keys, development ptau) once per generated source, cached under `.zkrisk-cache/demo/<source sha256[0:16]>-
 * signed-k<K>-<mode>` like the demo's circuits, reused while they match their manifest.
 */
import type { WeightMode } from "../circuits/generate-circuit";
import { silentLog, type SetupLog } from "../prover/setup";
import { signedProvingArtifacts } from "./demo";

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
 * compiled and set up (development setup) now (the demo's cache: scripts/demo.ts `signedProvingArtifacts`).
 */
export async function signedUpdateArtifacts(
  modelPath: string,
  mode: WeightMode,
  quorum: number,
  log: SetupLog = silentLog,
): Promise<SignedUpdateArtifacts> {
  const r = await signedProvingArtifacts({ model: modelPath, mode, log }, quorum);
  return { dir: r.dir, mode, quorum, reused: r.reused, setupMs: r.ms };
}
