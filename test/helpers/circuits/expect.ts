/** vitest assertions shared by the circuit template tests. */
import { expect } from "vitest";
import type { TestCircuit } from "./circuit";
import { runForgery, type Forgery } from "./forgery";
import type { CircuitInput } from "./witness";
import { witnessFailure } from "./testing";

/**
 * The forgery passes every constraint but one, that one mentions exactly `f.rejectedBy`, and the
 * production (--O2) system rejects the same edits. Honest witnesses pass both systems.
 */
export async function expectForgeryRejected(o1: TestCircuit, o2: TestCircuit, f: Forgery): Promise<void> {
  const r = await runForgery(o1, o2, f);
  expect(r.honestViolations, "honest witnesses must satisfy both builds").toEqual([]);
  expect(r.o1Violated, `${f.name}: violated --O1 constraints`).toEqual([[...f.rejectedBy].sort()]);
  expect(r.o2Violated.length, `${f.name}: --O2 must reject`).toBeGreaterThan(0);
}

/** The witness generator refuses `input` on a failed constraint (circom `Assert Failed`). */
export async function expectNoWitness(c: TestCircuit, input: CircuitInput, template?: string): Promise<void> {
  const msg = await witnessFailure(c, input);
  expect(
    msg,
    `witness generation for ${JSON.stringify(input, (_k, v) => (typeof v === "bigint" ? v.toString() : v))}`,
  ).toMatch(/Assert Failed/);
  if (template) expect(msg).toContain(template);
}
