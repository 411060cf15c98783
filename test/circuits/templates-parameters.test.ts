/**
 * The templates' parameter bounds. An `assert` over template parameters alone involves no signal, so it
 * cannot be a constraint: circom evaluates it while it compiles and refuses a circuit that breaks it. These
 * bounds keep the field arithmetic from wrapping (FloorDiv: q * den + r below 2^250; FieldLowBits: the low
 * part below r) and the templates well formed (Maximum: at least two inputs). Each is checked here by
 * compiling an instance just outside it; the instances just inside compile in the templates' own suites.
 */
import { describe, expect, it } from "vitest";
import { CircuitCompileError, compileCircuit } from "../helpers/circuits";

/** A circuit whose main component is `call`, from the library file `include`. */
function instance(include: string, call: string): string {
  return `pragma circom 2.1.0;\ninclude "${include}";\ncomponent main = ${call};\n`;
}

describe("template parameter bounds are enforced when circom compiles", () => {
  const outside: [string, string, string][] = [
    ["field-bits.circom", "FieldLowBits(3)", "FieldLowBits3"],
    ["field-bits.circom", "FieldLowBits(251)", "FieldLowBits251"],
    ["maximum.circom", "Maximum(1, 8)", "Maximum1"],
    ["maximum.circom", "Maximum(3, 251)", "Maximum3x251"],
    ["division.circom", "FloorDiv(0, 8)", "FloorDivQ0"],
    ["division.circom", "FloorDiv(200, 50)", "FloorDiv200x50"],
  ];
  for (const [include, call, name] of outside) {
    it(`refuses ${call}`, async () => {
      const err = await compileCircuit(instance(include, call), name).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CircuitCompileError);
      expect(String((err as Error).message)).toMatch(/assert/i);
    });
  }

  it("compiles the instances at the bounds (FieldLowBits(250), Maximum(2, 250), FloorDiv(200, 49))", async () => {
    for (const [include, call, name] of [
      ["field-bits.circom", "FieldLowBits(250)", "FieldLowBits250"],
      ["maximum.circom", "Maximum(2, 250)", "Maximum2x250"],
      ["division.circom", "FloorDiv(200, 49)", "FloorDiv200x49"],
    ]) {
      await expect(compileCircuit(instance(include, call), name)).resolves.toBeDefined();
    }
  }, 120_000);
});
