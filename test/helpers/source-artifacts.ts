/**
 * Artifacts of a generated circuit source for the tests (INSECURE direct development setup), cached under
 * `.zkrisk-cache/demo` by the sha256 of the source like the demo's circuits, and compiled and set up when
 * absent or stale. The source stands where a model file would: the manifest hashes it.
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { compileCircom } from "../../circuits/circom";
import { CIRCUIT_INFO_FILE } from "../../circuits/compile-model";
import { sha256Hex } from "../../core/io";
import { devSetupCircuit, silentLog, type SetupLog } from "../../setup";
import { loadArtifacts } from "../../setup/artifacts";
import { buildCacheEntry } from "../../core/atomic-file";
import { DEMO_CACHE, usableArtifacts } from "../../setup/cached-artifacts";

/**
 * @param source the Circom source of the main circuit
 * @param name the stem of the artifact files (`{name}.wasm`, `.zkey`, ...)
 * @param suffix the cache directory's name after the source's hash, e.g. `signed-stand-in`
 * @param circuitInfo facts to write as the directory's circuit.json before setup (e.g. the `adaptive` rule, which
 *   setup then records in the manifest), part of the cache key; none by default
 * @returns the artifact directory (`{name}.wasm`, `.zkey`, `verification_key.json`, `artifacts.json`)
 */
export async function sourceArtifacts(
  source: string,
  name: string,
  suffix: string,
  log: SetupLog = silentLog,
  circuitInfo?: object,
): Promise<string> {
  const key = circuitInfo === undefined ? source : `${source}\n${JSON.stringify(circuitInfo)}`;
  const dir = join(DEMO_CACHE, `${sha256Hex(key).slice(0, 16)}-${suffix}`);
  const sourcePath = join(dir, `${name}.circom`);
  if (existsSync(join(dir, "artifacts.json"))) {
    try {
      loadArtifacts(dir, { modelPath: sourcePath });
      return dir;
    } catch (err) {
      log.warn(`cached ${suffix} artifacts in ${dir} are unusable (${(err as Error).message}); rebuilding`);
    }
  }
  await buildCacheEntry(
    dir,
    (d) => usableArtifacts(d, join(d, `${name}.circom`)),
    async (into) => {
      const sourceIn = join(into, `${name}.circom`);
      writeFileSync(sourceIn, source);
      if (circuitInfo !== undefined)
        writeFileSync(join(into, CIRCUIT_INFO_FILE), JSON.stringify(circuitInfo, null, 2));
      const compiled = await compileCircom(sourceIn, join(into, "build"));
      await devSetupCircuit({
        name,
        r1csPath: compiled.r1csPath,
        wasmPath: compiled.wasmPath,
        modelPath: sourceIn,
        outDir: into,
        log,
      });
    },
  );
  return dir;
}
