/**
 * A command's implementation, loaded when the command runs: `zkrisk --help` and `--version` then load
 * commander and the registrations only, not tfjs, snarkjs, ethers, fastify, BullMQ or SQLite.
 */
import { createRequire } from "node:module";

const nodeRequire = createRequire(__filename);

/**
 * A loader of the TypeScript module `file` (an absolute path), which loads it once, on its first call.
 * The `zkrisk` binary runs under tsx's CommonJS hook, which compiles what `require` loads but not what
 * `import()` loads; vitest is the other way round. So `require` where that hook is installed, else `import()`.
 */
export function lazyModule<T>(file: string): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () => {
    loaded ??=
      nodeRequire.extensions[".ts"] !== undefined
        ? Promise.resolve(nodeRequire(file) as T)
        : (import(file) as Promise<T>);
    return loaded;
  };
}
