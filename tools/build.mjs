// Builds the package's JavaScript (`npm run build`): the TypeScript sources compiled by tsc to `dist/` with
// declarations (tsconfig.build.json), then the CommonJS worker entries (`*.cjs`: a proving thread, a fixed-base
// multiplier) copied beside their compiled neighbours, which they load from there. Other shipped files (circuit
// templates, Lua scripts, models, candles, contract ABIs) are read from the package root and are not copied.
// The build is written to `dist.tmp/` and renamed into place, so a failed build leaves the previous one whole.
import { spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "dist");
const staging = join(root, "dist.tmp");
const { include } = JSON.parse(readFileSync(join(root, "tsconfig.build.json"), "utf8"));

rmSync(staging, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const compiled = spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json", "--outDir", staging], {
  cwd: root,
  stdio: "inherit",
});
if (compiled.status !== 0) {
  rmSync(staging, { recursive: true, force: true });
  process.stderr.write("build: tsc failed; dist/ is unchanged\n");
  process.exit(compiled.status ?? 1);
}

/** Every `.cjs` file under `dir`. */
function workerEntries(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return workerEntries(path);
    return entry.name.endsWith(".cjs") ? [path] : [];
  });
}
let copied = 0;
for (const folder of include.filter((entry) => statSync(join(root, entry)).isDirectory())) {
  for (const file of workerEntries(join(root, folder))) {
    const target = join(staging, relative(root, file));
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(file, target);
    copied += 1;
  }
}
if (existsSync(out)) rmSync(out, { recursive: true });
renameSync(staging, out);
process.stderr.write(`build: dist/ written (${copied} worker entries copied)\n`);
