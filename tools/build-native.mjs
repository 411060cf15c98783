// Builds the optional native multi-exponentiation (prover/native/msm.c, an N-API addon) into
// build/native/msm.node with the system's C compiler: `cc -O3 -shared -fPIC -pthread`, no node-gyp, no
// download, no Node headers (msm.c declares the N-API functions it calls). Run by `postinstall`, so `npm ci`
// builds it, and by hand (`node tools/build-native.mjs`) after editing the C. It never fails an install:
// without a compiler, on an unsupported platform, or when the compiler fails, it prints one line and exits 0,
// and the prover keeps ffjavascript's WebAssembly multi-exponentiations. ZKRISK_NATIVE=0 skips the build.
import { spawnSync } from "node:child_process";
import { mkdirSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const source = join(root, "prover", "native", "msm.c");
const outDir = join(root, "build", "native");
const out = join(outDir, "msm.node");
const staging = `${out}.tmp`;

const skip = (why) => {
  process.stdout.write(`zkrisk: native multi-exponentiation not built (${why}); proving uses WebAssembly\n`);
  process.exit(0);
};

if (process.env.ZKRISK_NATIVE === "0") skip("ZKRISK_NATIVE=0");
if (process.platform === "win32") skip("no plain C build on Windows");
const cc = process.env.CC || "cc";
const flags = ["-O3", "-shared", "-fPIC", "-pthread", "-std=gnu11", "-fvisibility=hidden", "-Wall"];
if (process.platform === "darwin") flags.push("-undefined", "dynamic_lookup");
mkdirSync(outDir, { recursive: true });
const built = spawnSync(cc, [...flags, "-o", staging, source], { cwd: root, encoding: "utf8" });
// A failed build leaves no addon behind: an older one would not match the sources.
if (built.error || built.status !== 0) rmSync(out, { force: true });
if (built.error) skip(`${cc}: ${built.error.code === "ENOENT" ? "no C compiler" : built.error.message}`);
if (built.status !== 0) {
  rmSync(staging, { force: true });
  const first = (built.stderr || "").split("\n").find((l) => l.includes("error")) ?? `exit ${built.status}`;
  skip(`${cc} failed: ${first.trim()}`);
}
renameSync(staging, out);
process.stdout.write(`zkrisk: native multi-exponentiation built (${out})\n`);
