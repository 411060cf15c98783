/**
 * Test helpers for Circom circuits: compile with a cache, compute/edit/check witnesses, count constraints.
 * The vitest assertions live in ./expect (imported directly by tests, so this barrel stays usable
 * outside a vitest run).
 */
export {
  compileCircuit,
  CircuitCompileError,
  CIRCUIT_CACHE_DIR,
  CIRCUIT_LIB_DIR,
  PROJECT_ROOT,
} from "./compile";
export type { CompileOptions, CompiledCircuit } from "./compile";
export { loadCircuit } from "./circuit";
export type { TestCircuit } from "./circuit";
export { FIELD_MODULUS, fromField, toField } from "../../../crypto/field";
export { marginPolicyArgs, marginPolicyParams, spanBits } from "../../../circuits/policy-params";
export type { MarginPolicyParams } from "../../../circuits/policy-params";
export {
  checkConstraints,
  constraintCount,
  constraintSignals,
  constraintWires,
  describeConstraint,
  readR1cs,
  violatedConstraints,
  WitnessFormatError,
} from "./r1cs";
export type { Constraint, LinearCombination, R1cs } from "./r1cs";
export { snarkjsCheckWitness, terminateSnarkjsCurve } from "./snarkjs-check";
export { readSymbols, signalIndex } from "./symbols";
export type { SymbolTable } from "./symbols";
export { calculateWitness, editWitness, readSignal, writeWitnessFile } from "./witness";
export type { CircuitInput, EditOptions, SignalValue } from "./witness";
export { bigRandom, bitEdits, bitsOf, unaryWrapper, witnessFailure } from "./testing";
export type { BigRandom } from "./testing";
export { runForgery, signalRange } from "./forgery";
export type { Forgery, ForgeryOutcome } from "./forgery";
