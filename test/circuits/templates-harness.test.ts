/**
 * test/helpers/circuits: the compile cache, the independent R1CS evaluator (cross-checked against
 * snarkjs.wtns.check and circom's own constraint count), signal lookup and witness editing.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checkConstraints,
  CircuitCompileError,
  compileCircuit,
  constraintCount,
  editWitness,
  FIELD_MODULUS as P,
  loadCircuit,
  signalIndex,
  snarkjsCheckWitness,
  terminateSnarkjsCurve,
  unaryWrapper,
  violatedConstraints,
  WitnessFormatError,
  type TestCircuit,
} from "../helpers/circuits";

const RELU = unaryWrapper(["fixed-point.circom"], "RescaleRelu(8, 3)");
const CLAMP = unaryWrapper(["clamp.circom"], "Clamp(8, -5, 10)");

/** circom's printed constraint count (non-linear + linear) from the compile log. */
function circomCount(dir: string): number {
  // eslint-disable-next-line no-control-regex
  const log = fs.readFileSync(path.join(dir, "compile.log"), "utf8").replace(/\x1b\[[0-9;]*m/g, "");
  const num = (label: string) => Number(new RegExp(`^${label}:\\s*(\\d+)`, "m").exec(log)?.[1]);
  return num("non-linear constraints") + num("linear constraints");
}

describe("test harness", () => {
  let relu: TestCircuit;
  let reluO1: TestCircuit;
  let clamp: TestCircuit;

  beforeAll(async () => {
    [relu, reluO1, clamp] = await Promise.all([
      loadCircuit(RELU, "RescaleRelu8"),
      loadCircuit(RELU, "RescaleRelu8", { O: 1 }),
      loadCircuit(CLAMP, "Clamp8"),
    ]);
  });

  afterAll(terminateSnarkjsCurve);

  it("reuses a cached compile for the same source and options", async () => {
    const again = await compileCircuit(RELU, "RescaleRelu8");
    expect(again.dir).toBe(relu.dir);
    const mtime = fs.statSync(again.r1csPath).mtimeMs;
    expect(fs.statSync((await compileCircuit(RELU, "RescaleRelu8")).r1csPath).mtimeMs).toBe(mtime);
    // Another optimisation level is another cache entry.
    expect(reluO1.dir).not.toBe(relu.dir);
  });

  it("reports compile errors with circom's message", async () => {
    const bad = "pragma circom 2.1.0;\ntemplate T() { signal input a; b <== a; }\ncomponent main = T();\n";
    await expect(compileCircuit(bad, "Broken")).rejects.toBeInstanceOf(CircuitCompileError);
    await expect(compileCircuit(bad, "Broken")).rejects.toThrow(/undeclared|not declared|Undeclared/i);
    expect(() => compileCircuit(RELU, "not a name")).toThrow(/identifier/);
  });

  it("counts constraints as circom reports them", () => {
    for (const c of [relu, reluO1, clamp]) {
      expect(constraintCount(c.r1csPath)).toBe(circomCount(c.dir));
    }
  });

  it("agrees with snarkjs.wtns.check on honest and edited witnesses", async () => {
    for (const c of [relu, reluO1, clamp]) {
      for (const v of [-100n, -1n, 0n, 7n, 100n]) {
        const w = await c.witness({ in: v });
        expect(await checkConstraints(c.r1csPath, w)).toBe(true);
        expect(await snarkjsCheckWitness(c.r1csPath, w)).toBe(true);
        const forged = c.edit(w, { "main.out": w[c.index("main.out") ?? 0] + 1n });
        expect(await checkConstraints(c.r1csPath, forged)).toBe(false);
        expect(await snarkjsCheckWitness(c.r1csPath, forged)).toBe(false);
        // A single non-boolean bit that keeps every linear relation: both must reject it too.
        const sneaky = [...w];
        const last = sneaky.length - 1;
        sneaky[last] = (sneaky[last] + 1n) % P;
        expect(await checkConstraints(c.r1csPath, sneaky)).toBe(
          await snarkjsCheckWitness(c.r1csPath, sneaky),
        );
      }
    }
  });

  it("looks signals up in the .sym file: index, -1 when eliminated, undefined when unknown", async () => {
    expect(signalIndex(relu.symPath, "main.out")).toBe(1);
    expect(signalIndex(relu.symPath, "main.in")).toBe(2);
    // --O2 substitutes the sign bit away (the decomposition's sum is solved for it); --O1 keeps it.
    expect(signalIndex(relu.symPath, "main.t.d.bits[7]")).toBe(-1);
    expect(signalIndex(reluO1.symPath, "main.t.d.bits[7]")).toBeGreaterThan(0);
    expect(signalIndex(relu.symPath, "main.nope")).toBeUndefined();
  });

  it("edits witnesses by name, mod p, refusing eliminated and unknown signals", async () => {
    const w = await relu.witness({ in: 5n });
    const e = editWitness(relu.symPath, w, { "main.out": -1n });
    expect(e[1]).toBe(P - 1n);
    expect(w[1]).toBe(0n); // the original is untouched
    expect(() => editWitness(relu.symPath, w, { "main.t.d.bits[7]": 1n })).toThrow(/eliminated/);
    expect(editWitness(relu.symPath, w, { "main.t.d.bits[7]": 1n }, { skipEliminated: true })).toEqual(w);
    expect(() => editWitness(relu.symPath, w, { "main.nope": 1n })).toThrow(/no signal/);
  });

  it("refuses malformed witnesses instead of evaluating them", async () => {
    const w = await relu.witness({ in: 5n });
    expect(() => violatedConstraints(relu.r1csPath, w.slice(1))).toThrow(WitnessFormatError);
    expect(() => violatedConstraints(relu.r1csPath, [2n, ...w.slice(1)])).toThrow(/witness\[0\]/);
    expect(() => violatedConstraints(relu.r1csPath, [...w.slice(0, -1), P])).toThrow(/not in \[0, p\)/);
  });
});
