/**
 * Groth16 proof -> the arguments of the snarkjs-generated Solidity verifier's `verifyProof(a, b, c, input)`.
 * The G2 point b is passed with each coordinate pair swapped (the EVM precompile takes (imaginary, real)).
 */

import type { Groth16Proof } from "../setup/snarkjs";

/** Verifier call arguments, as decimal strings (ethers accepts them for uint256). */
export interface VerifierCalldata {
  a: [string, string];
  b: [[string, string], [string, string]];
  c: [string, string];
  input: string[];
}

/** Build the verifier's arguments from a proof and its public signals. */
export function toVerifierCalldata(proof: Groth16Proof, publicSignals: readonly string[]): VerifierCalldata {
  return {
    a: [proof.pi_a[0], proof.pi_a[1]],
    b: [
      [proof.pi_b[0][1], proof.pi_b[0][0]],
      [proof.pi_b[1][1], proof.pi_b[1][0]],
    ],
    c: [proof.pi_c[0], proof.pi_c[1]],
    input: [...publicSignals],
  };
}
