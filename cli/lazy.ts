/**
 * A command's implementation, loaded when the command runs: `zkrisk --help` and `--version` then load
 * commander and the registrations only, not tfjs, snarkjs, ethers, fastify, BullMQ or SQLite.
 */
import { createRequire } from "node:module";

const nodeRequire = createRequire(__filename);

/** This module runs from the build (`dist/`, JavaScript), not from the TypeScript sources. */
const COMPILED = __filename.endsWith(".js");

/**
 * A loader of the TypeScript module `file` (an absolute path to its `.ts` source), which loads it once, on its
 * first call. Three runtimes load it differently:
 * - the build (`dist/`): `require` of the compiled `.js` beside this module's own;
 * - the `zkrisk` binary on the sources: tsx's CommonJS hook, which compiles what `require` loads but not what
 *   `import()` loads, so `require`;
 * - vitest, the other way round: `import()`.
 */
export function lazyModule<T>(file: string): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () => {
    if (COMPILED) loaded ??= Promise.resolve(nodeRequire(file.replace(/\.ts$/, ".js")) as T);
    else if (nodeRequire.extensions[".ts"] !== undefined) loaded ??= Promise.resolve(nodeRequire(file) as T);
    else loaded ??= import(file) as Promise<T>;
    return loaded;
  };
}
