/**
 * One Groth16 proof as the signed provers make it: the witness and proof from the loaded wasm and zkey, the
 * proof verified with the verification key, and every public signal compared with what the integer engine
 * computed for the same input. A mismatch is a bug (artifacts out of step, or circuit and engine apart), never a
 * result, so it throws instead of returning a proof.
 */
import { ZkriskError } from "../core/errors";
import { toField } from "../crypto/field";
import type { Groth16Result } from "./groth16-prover";
import { snarkjs, type Groth16Proof, type VerificationKey } from "../setup/snarkjs";

/** A proof failed, or the circuit disagreed with the integer engine (a bug, never an input error). */
export class ProofError extends ZkriskError {
  constructor(message: string) {
    super("PROOF_FAILED", message);
  }
}

/** What a prover keeps loaded: its circuit's Groth16 prover (prover/groth16-prover.ts) and verification key. */
export interface ProvingKit {
  prover: { prove(input: Record<string, unknown>): Promise<Groth16Result> };
  vkey: VerificationKey;
}

/**
 * Prove `input`, verify the proof, and check its public signals (named `names`, in order) against `engine`.
 * @returns the proof, its public signals and the wall-clock proving time (witness + proof), ms
 */
export async function proveChecked(
  kit: ProvingKit,
  input: unknown,
  names: readonly string[],
  engine: readonly bigint[],
): Promise<{ proof: Groth16Proof; publicSignals: string[]; provingMs: number }> {
  const t0 = performance.now();
  const { proof, publicSignals } = await kit.prover.prove(input as Record<string, unknown>);
  const provingMs = performance.now() - t0;
  if (!(await snarkjs.groth16.verify(kit.vkey, publicSignals, proof))) {
    throw new ProofError("the proof does not verify with the verification key (artifacts out of step?)");
  }
  // The circuit must agree with the integer engine bit for bit; anything else is a bug, not a result.
  names.forEach((name, i) => {
    if (BigInt(publicSignals[i]) !== toField(engine[i])) {
      throw new ProofError(
        `circuit and integer engine disagree on ${name}: ${publicSignals[i]} vs ${engine[i]}`,
      );
    }
  });
  return { proof, publicSignals, provingMs };
}
