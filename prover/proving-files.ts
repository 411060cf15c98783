/**
 * Reading the witness generator (wasm) and the proving key (zkey) of an artifact directory, with a check that
 * each is well formed. The manifest's hashes say a file is the one setup wrote; they say nothing when the file
 * was cut short and the manifest re-hashed, and snarkjs would then fail deep inside with "Reading out of
 * bounds" or a WebAssembly CompileError. Here such a file is an ARTIFACTS_INVALID error naming it.
 */
import { readFileSync } from "node:fs";
import { ZkriskError } from "../core/errors";
import type { LoadedArtifacts } from "../setup/artifacts";

/** The one WebAssembly call used here (the project's TypeScript lib has no DOM or WebAssembly types). */
const wasmApi = (globalThis as unknown as { WebAssembly: { validate(bytes: Uint8Array): boolean } })
  .WebAssembly;

/** A proving artifact is malformed although its manifest hash matches; the message names the file. */
export class ArtifactsError extends ZkriskError {
  constructor(file: string, reason: string) {
    super("ARTIFACTS_INVALID", `${file}: ${reason} (re-run \`zkrisk setup\`, or restore the file)`);
  }
}

/**
 * Check the container of a snarkjs binary file (`zkey`, `r1cs`, `wtns`): the 4-byte magic, a u32 version, a
 * u32 section count, then sections of (u32 type, u64 size, data) that must end exactly at the end of the file.
 */
export function checkBinFile(file: string, bytes: Uint8Array, magic: string): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = bytes.byteLength;
  if (length < 12 || String.fromCharCode(...bytes.subarray(0, 4)) !== magic) {
    throw new ArtifactsError(file, `not a ${magic} file (no '${magic}' header)`);
  }
  const sections = view.getUint32(8, true);
  let pos = 12;
  for (let i = 1; i <= sections; i++) {
    if (pos + 12 > length) {
      throw new ArtifactsError(
        file,
        `truncated: section ${i} of ${sections} starts past the end (${length} bytes)`,
      );
    }
    const end = pos + 12 + Number(view.getBigUint64(pos + 4, true));
    if (end > length) {
      throw new ArtifactsError(
        file,
        `truncated: section ${i} of ${sections} ends at byte ${end}, the file has ${length}`,
      );
    }
    pos = end;
  }
  if (pos !== length) throw new ArtifactsError(file, `${length - pos} bytes after the last section`);
}

/** The wasm and zkey of a loaded artifact directory, each checked to be well formed. */
export function readProvingFiles(artifacts: Pick<LoadedArtifacts, "paths">): {
  wasm: Uint8Array;
  zkey: Uint8Array;
} {
  const { wasm: wasmPath, zkey: zkeyPath } = artifacts.paths;
  const wasm = readFileSync(wasmPath);
  if (!wasmApi.validate(wasm)) throw new ArtifactsError(wasmPath, "not a valid WebAssembly module");
  const zkey = readFileSync(zkeyPath);
  checkBinFile(zkeyPath, zkey, "zkey");
  return { wasm, zkey };
}
