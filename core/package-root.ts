/**
 * Where zkrisk's own files are: the package root, found from this file's location. Sources run from the
 * repository (`core/`) and the build runs from `dist/core/`, one level deeper; both find the same root, the
 * nearest directory above that holds zkrisk's package.json. Shipped data (models, candles, circuit templates,
 * contract ABIs) is read from there; the cache of generated artifacts lives under it too unless
 * ZKRISK_CACHE_DIR says otherwise (an installed package may sit in a read-only node_modules).
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

/** The name in the package.json that marks the root. */
const PACKAGE_NAME = "zkrisk";

function findPackageRoot(start: string): string {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest)) {
      const { name } = JSON.parse(readFileSync(manifest, "utf8")) as { name?: unknown };
      if (name === PACKAGE_NAME) return dir;
    }
    if (dirname(dir) === dir)
      throw new Error(`zkrisk: no package.json named "${PACKAGE_NAME}" above ${start}`);
  }
}

/** The package root: the repository in development, `node_modules/zkrisk` when installed. */
export const PACKAGE_ROOT = findPackageRoot(__dirname);

/** A path inside the package, from a root-relative one (`models/data/btcusdt-2h.csv`). */
export function packagePath(relative: string): string {
  return join(PACKAGE_ROOT, relative);
}

/** The cache of generated artifacts (compiled circuits, keys, Solidity builds): ZKRISK_CACHE_DIR or
 * `<package root>/.zkrisk-cache`. */
export function cacheDir(...parts: string[]): string {
  return join(process.env.ZKRISK_CACHE_DIR ?? join(PACKAGE_ROOT, ".zkrisk-cache"), ...parts);
}
