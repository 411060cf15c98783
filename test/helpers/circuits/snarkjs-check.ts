/**
 * snarkjs's own witness check (`snarkjs.wtns.check`), used to cross-check the independent evaluator in
 * r1cs.ts. snarkjs ships no type declarations; the one function used is typed here.
 */
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { writeWitnessFile } from "./witness";

interface SnarkjsWtns {
  wtns: { check(r1csFile: string, wtnsFile: string, logger?: unknown): Promise<boolean> };
}
interface Terminable {
  terminate(): Promise<void> | void;
}

const loadModule = createRequire(__filename);
const silent = { debug() {}, info() {}, warn() {}, error() {} };

/** Write `witness` to a temporary .wtns file and run `snarkjs.wtns.check` on it. */
export async function snarkjsCheckWitness(r1csPath: string, witness: readonly bigint[]): Promise<boolean> {
  const snarkjs = loadModule("snarkjs") as SnarkjsWtns;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "zkrisk-wtns-"));
  try {
    const file = path.join(dir, "witness.wtns");
    writeWitnessFile(file, witness);
    return await snarkjs.wtns.check(r1csPath, file, silent);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Stop the bn128 worker threads that snarkjs (ffjavascript) caches on globalThis, if any. */
export async function terminateSnarkjsCurve(): Promise<void> {
  const g = globalThis as { curve_bn128?: Terminable };
  if (g.curve_bn128) {
    await g.curve_bn128.terminate();
    delete g.curve_bn128;
  }
}
