/**
 * Compile Circom sources with circom2 (circom 2.2.3 as WebAssembly) into a content-addressed cache, so a
 * test suite compiles each circuit once per source change and reuses it across runs and workers.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { CIRCOMLIB_DIR, CIRCUIT_LIB_DIR, compileCircom } from "../../../circuits/circom";
import { buildCacheEntry } from "../../../core/atomic-file";

export { CIRCOMLIB_DIR, CIRCUIT_LIB_DIR };

/** The project root (this file lives in test/helpers/circuits/). */
export const PROJECT_ROOT = path.resolve(__dirname, "../../..");
/** Where compiled circuits are cached (gitignored); `ZKRISK_CIRCUIT_CACHE` overrides it. */
export const CIRCUIT_CACHE_DIR =
  process.env.ZKRISK_CIRCUIT_CACHE ?? path.join(PROJECT_ROOT, ".zkrisk-cache", "circuits");

/** Compiler options. */
export interface CompileOptions {
  /** circom's simplification level: 0 none, 1 signal-to-signal only, 2 full linear elimination (production). */
  O?: 0 | 1 | 2;
}

/** The artifacts of one compile. */
export interface CompiledCircuit {
  /** The cache directory holding everything below. */
  dir: string;
  r1csPath: string;
  /** The witness generator; `witness_calculator.js` sits next to it. */
  wasmPath: string;
  symPath: string;
}

/** A circom compile that failed; `output` holds the compiler's messages. */
export class CircuitCompileError extends Error {
  readonly code = "CIRCUIT_COMPILE_FAILED";
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(`${message}\n${output}`);
    this.name = "CircuitCompileError";
  }
}

const inFlight = new Map<string, Promise<CompiledCircuit>>();

function libraryFingerprint(): string {
  // The cache key covers every file a source may include, so editing a template recompiles its users.
  const h = createHash("sha256");
  for (const dir of [CIRCUIT_LIB_DIR, CIRCOMLIB_DIR]) {
    for (const f of fs.readdirSync(dir).sort()) {
      if (!f.endsWith(".circom")) continue;
      h.update(`${dir}/${f}\0`);
      h.update(fs.readFileSync(path.join(dir, f)));
    }
  }
  h.update(fs.readFileSync(path.join(PROJECT_ROOT, "node_modules", "circom2", "package.json")));
  return h.digest("hex");
}

function artifacts(dir: string, name: string): CompiledCircuit {
  return {
    dir,
    r1csPath: path.join(dir, `${name}.r1cs`),
    wasmPath: path.join(dir, `${name}_js`, `${name}.wasm`),
    symPath: path.join(dir, `${name}.sym`),
  };
}

function complete(c: CompiledCircuit): boolean {
  return [c.r1csPath, c.wasmPath, c.symPath].every((f) => fs.existsSync(f));
}

async function compileInto(source: string, name: string, O: number, key: string): Promise<CompiledCircuit> {
  const dir = path.join(CIRCUIT_CACHE_DIR, key);
  const cached = artifacts(dir, name);
  if (complete(cached)) return cached;
  // Compiled beside its place and renamed into it, by one worker while the others wait for it (the entry's lock):
  // concurrent workers never see a half written cache entry.
  await buildCacheEntry(
    dir,
    () => complete(cached),
    async (into) => {
      const src = path.join(into, `${name}.circom`);
      fs.writeFileSync(src, source);
      let output: string;
      try {
        output = (await compileCircom(src, into, { O: O as 0 | 1 | 2 })).log;
      } catch (e) {
        throw new CircuitCompileError(
          `circom2 failed on ${name}`,
          e instanceof Error ? e.message : String(e),
        );
      }
      fs.writeFileSync(path.join(into, "compile.log"), output);
    },
  );
  return cached;
}

/**
 * Compile `source` (a complete circuit with a `component main`) as `name`, or reuse the cached result.
 * The cache key is the sha256 of the source, the name, the options, and every `.circom` file of
 * circuits/lib and circomlib (so a template edit invalidates its wrappers).
 */
export function compileCircuit(
  source: string,
  name: string,
  opts: CompileOptions = {},
): Promise<CompiledCircuit> {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new RangeError(`circuit name must be an identifier, got ${JSON.stringify(name)}`);
  }
  const O = opts.O ?? 2;
  const key = createHash("sha256")
    .update(JSON.stringify({ source, name, O, lib: libraryFingerprint() }))
    .digest("hex")
    .slice(0, 32);
  let job = inFlight.get(key);
  if (!job) {
    job = compileInto(source, name, O, key);
    inFlight.set(key, job);
    job.catch(() => inFlight.delete(key));
  }
  return job;
}
