/**
 * Witness forgeries: start from an honest witness, edit hints (and the outputs that depend on them)
 * consistently, and see which constraints reject the result. A forgery is meaningful when it violates
 * exactly ONE constraint, the one that pins the hint: without that constraint the forgery would pass,
 * so the test proves the constraint is necessary, and the rejection proves it is present.
 */
import type { TestCircuit } from "./circuit";
import type { CircuitInput } from "./witness";

/** A forged witness, described by the honest input it starts from and the signal edits. */
export interface Forgery {
  /** What is forged, e.g. "quotient + 1 with a negative remainder digit". */
  name: string;
  /** The honest input whose witness is edited. */
  from: CircuitInput;
  /** The edits, computed from the honest --O1 witness (`read` returns a signal's value by name). */
  edits(read: (name: string) => bigint): Record<string, bigint>;
  /** The signals of the single --O1 constraint that must reject the forgery (any order). */
  rejectedBy: readonly string[];
}

/** What a forgery did against the --O1 (readable) and --O2 (production) constraint systems. */
export interface ForgeryOutcome {
  /** Violations of the honest --O1 and --O2 witnesses (both must be empty). */
  honestViolations: number[];
  /** Signals of each --O1 constraint the forgery violates, each list sorted. */
  o1Violated: string[][];
  /** The --O2 constraints the same forgery (eliminated signals skipped) violates. */
  o2Violated: number[];
}

/**
 * Apply `f` to the --O1 circuit, then replay the same edits on the --O2 build of the same source
 * (signals the optimiser eliminated are skipped: they are affine in the remaining ones).
 */
export async function runForgery(o1: TestCircuit, o2: TestCircuit, f: Forgery): Promise<ForgeryOutcome> {
  const w1 = await o1.witness(f.from);
  const w2 = await o2.witness(f.from);
  const edits = f.edits((name) => o1.read(w1, name));
  const forged1 = o1.edit(w1, edits);
  const forged2 = o2.edit(w2, edits, { skipEliminated: true });
  return {
    honestViolations: [...o1.violated(w1), ...o2.violated(w2)],
    o1Violated: o1.violatedSignals(forged1).map((s) => [...s].sort()),
    o2Violated: o2.violated(forged2),
  };
}

/** `["<prefix>[from]", ..., "<prefix>[to - 1]"]`. */
export function signalRange(prefix: string, from: number, to: number): string[] {
  return Array.from({ length: to - from }, (_, i) => `${prefix}[${from + i}]`);
}
