/**
 * Compile a small circom source written by a test (r1cs and wasm) with the circom2 package, as the setup suites
 * need a circuit of their own shape.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { expect } from "vitest";

const CIRCOM2 = join(__dirname, "../../node_modules/.bin/circom2");

/**
 * Write `source` to `dir/name.circom` and compile it into `dir/build`: returns the paths of `name.r1cs` and
 * `name_js/name.wasm` there. Fails the test with circom's output when it does not compile.
 */
export function compileCircomSource(
  dir: string,
  name: string,
  source: string,
): { r1cs: string; wasm: string } {
  const build = join(dir, "build");
  mkdirSync(build, { recursive: true });
  writeFileSync(join(dir, `${name}.circom`), source);
  // circom2 runs in a WASI sandbox whose preopens are cwd and its parents: run it from "/" with relative paths.
  const compiled = spawnSync(
    process.execPath,
    [
      CIRCOM2,
      relative("/", join(dir, `${name}.circom`)),
      "--r1cs",
      "--wasm",
      "--O2",
      "-o",
      relative("/", build),
    ],
    { cwd: "/", encoding: "utf8" },
  );
  expect(compiled.status, compiled.stderr + compiled.stdout).toBe(0);
  return { r1cs: join(build, `${name}.r1cs`), wasm: join(build, `${name}_js/${name}.wasm`) };
}
