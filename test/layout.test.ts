/**
 * The folder layout (README, Architecture): the source folders in the order of the data path, and no file
 * importing from a folder later on it. The order is written out here once; a new folder must be placed in it.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(__dirname, "..");

/** The source folders, earliest first: a file may import from its own folder and from earlier ones. */
const DATA_PATH = [
  "core",
  "crypto",
  "candles",
  "feeds",
  "publisher",
  "features",
  "models",
  "circuits",
  "setup",
  "prover",
  "onchain",
  "service",
  "audit",
  "bench",
  "demo",
  "scripts",
  "cli",
];

/** Top-level folders that are not source folders on the data path. */
const OTHER_FOLDERS = [
  "test",
  "docs",
  "tools",
  "contracts",
  "deploy",
  "bin",
  "node_modules",
  "dist",
  // tools/build.mjs builds here, then renames it to dist (the pack test may be building while this runs)
  "dist.tmp",
  "artifacts",
  "cache",
  "build",
];

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return /\.(ts|cjs)$/.test(e.name) ? [path] : [];
  });
}

/** Every relative import in `text` (the source of `file`), resolved to a path from the root. */
function relativeImports(file: string, text = readFileSync(join(ROOT, file), "utf8")): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/(?:from|import\(|import|require\()\s*["'](\.{1,2}\/[^"']+)["']/g)) {
    found.push(normalize(join(dirname(file), m[1])));
  }
  return found;
}

describe("folder layout", () => {
  it("every top-level folder holding TypeScript is on the data path or named as another kind", () => {
    const folders = readdirSync(ROOT, { withFileTypes: true })
      .filter((e) => e.isDirectory() && !e.name.startsWith("."))
      .map((e) => e.name);
    const unplaced = folders.filter(
      (f) =>
        !DATA_PATH.includes(f) &&
        !OTHER_FOLDERS.includes(f) &&
        sourceFiles(f).some((p) => statSync(join(ROOT, p)).isFile()),
    );
    expect(unplaced).toEqual([]);
    for (const f of DATA_PATH) expect(sourceFiles(f).length, f).toBeGreaterThan(0);
  });

  it("no source file imports from a folder later on the data path, or from outside the source folders", () => {
    const offending: string[] = [];
    for (const [i, folder] of DATA_PATH.entries()) {
      for (const file of sourceFiles(folder)) {
        for (const target of relativeImports(file)) {
          const top = relative(ROOT, join(ROOT, target)).split("/")[0];
          const at = DATA_PATH.indexOf(top);
          if (at < 0 || at > i) offending.push(`${file} -> ${target}`);
        }
      }
    }
    expect(offending).toEqual([]);
  });

  it("the scan finds static, dynamic and require imports, so an empty list above means something", () => {
    const text = [
      'import { a } from "../core/errors";',
      'export * from "./window";',
      'const m = lazyModule<typeof import("../setup/snarkjs")>(x);',
      'const t = require("../onchain/oracle");',
      'import "../service/side-effect";',
      'import { readFileSync } from "node:fs";',
    ].join("\n");
    expect(relativeImports("candles/x.ts", text)).toEqual([
      "core/errors",
      "candles/window",
      "setup/snarkjs",
      "onchain/oracle",
      "service/side-effect",
    ]);
  });
});
