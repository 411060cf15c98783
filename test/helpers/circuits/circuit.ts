/**
 * A compiled test circuit with its helpers bound: compute, read, edit and check witnesses by signal
 * name, and count constraints.
 */
import { compileCircuit, type CompileOptions, type CompiledCircuit } from "./compile";
import { constraintCount, constraintSignals, describeConstraint, violatedConstraints } from "./r1cs";
import { signalIndex } from "./symbols";
import { calculateWitness, editWitness, readSignal, type CircuitInput, type EditOptions } from "./witness";

/** A compiled circuit and the witness operations tests need. */
export interface TestCircuit extends CompiledCircuit {
  /** Constraints in the r1cs. */
  constraints: number;
  /** Run the witness generator (throws when it fails, e.g. `Assert Failed`). */
  witness(input: CircuitInput): Promise<bigint[]>;
  /** Value of a signal by full name, e.g. `main.out` or `main.r.d.bits[0]`. */
  read(witness: readonly bigint[], name: string): bigint;
  /** Witness index of a signal: -1 eliminated, undefined unknown. */
  index(name: string): number | undefined;
  /** A copy of `witness` with the named signals set. */
  edit(witness: readonly bigint[], edits: Readonly<Record<string, bigint>>, opts?: EditOptions): bigint[];
  /** Indices of the constraints that `witness` violates. */
  violated(witness: readonly bigint[]): number[];
  /** Signal names mentioned by each violated constraint (one array per violated constraint). */
  violatedSignals(witness: readonly bigint[]): string[][];
  /** Readable form of constraint `i`. */
  describe(i: number): string;
}

/** Compile (or reuse) `source` as `name` and bind the helpers. */
export async function loadCircuit(source: string, name: string, opts?: CompileOptions): Promise<TestCircuit> {
  const c = await compileCircuit(source, name, opts);
  return {
    ...c,
    constraints: constraintCount(c.r1csPath),
    witness: (input) => calculateWitness(c.wasmPath, input),
    read: (w, n) => readSignal(c.symPath, w, n),
    index: (n) => signalIndex(c.symPath, n),
    edit: (w, edits, o) => editWitness(c.symPath, w, edits, o),
    violated: (w) => violatedConstraints(c.r1csPath, w),
    violatedSignals: (w) =>
      violatedConstraints(c.r1csPath, w).map((i) => constraintSignals(c.r1csPath, c.symPath, i)),
    describe: (i) => describeConstraint(c.r1csPath, c.symPath, i),
  };
}
