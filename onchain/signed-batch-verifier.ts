/**
 * zkrisk's own Groth16 verifier for a signed batch circuit of N markets: Solidity generated from the circuit's
 * verification key (snarkjs's `verification_key.json`), implementing contracts/interfaces/ISignedBatchVerifier.sol.
 *
 * The batch's public signals (`batchSignalNames` in circuits/public-signals.ts) are V varying signals and 2N + 2
 * constants (the N market ids, the N model commitments, the publisher set, the domain: `batchConstantIndexes`).
 * An adaptive batch's (every market adaptive, `RiskOracle.submitAdaptiveBatch`) has the same constants and V = N,
 * one adaptive update per market; its verifier is the same contract with that V (`adaptive`).
 * The constants' part of X = IC_0 + sum s_j IC_j depends only on the key and the constants, so
 * `batchBase(constants)` computes it, the oracle stores it per batch composition, and `verifyProof` adds the V
 * varying terms to it: V scalar multiplications and additions per batch instead of V + 2N + 2. The Groth16
 * equation, the input checks and the Solidity shared with the signed-update verifier are in
 * groth16-verifier-source.ts: every coordinate below q and every varying signal below r (`verifyProof` returns
 * false), every constant below r and exactly 2N + 2 of them (`batchBase` reverts), precompile refusals read as
 * `false`.
 */
import { MAX_BATCH_MARKETS } from "../candles/batch-digest";
import { batchConstantIndexes, batchSignalLayout, batchSignalNames } from "../circuits/public-signals";
import type { VerificationKey } from "../setup/snarkjs";
import {
  MUL_ADD_FUNCTION,
  PAIRING_CHECK,
  PRECOMPILE_NOTES,
  PROOF_COORDINATE_CHECKS,
  VerifierKeyError,
  verifierConstants,
  verifierHeader,
  verifierKeyConstants,
} from "./groth16-verifier-source";

/** The generated contract's name. */
export const SIGNED_BATCH_VERIFIER_CONTRACT = "SignedBatchVerifier";

/**
 * The Solidity source of the signed batch verifier of `n` markets for `vkey` (contract
 * {@link SIGNED_BATCH_VERIFIER_CONTRACT}). Deterministic: the same key gives the same bytes.
 * @param adaptive the key is an adaptive batch circuit's (one varying signal per market: `batchSignalLayout`)
 * @throws VerifierKeyError for a key that is not a Groth16 BN254 key of a batch of `n` markets with valid G1 points
 */
export function generateSignedBatchVerifier(vkey: VerificationKey, n: number, adaptive = false): string {
  const layout = batchSignalLayout(n, adaptive);
  const names = batchSignalNames(n, adaptive);
  const kind = adaptive ? "an adaptive signed batch" : "a signed batch";
  const k = verifierConstants(vkey, layout.count, `${kind} of ${n} market(s) (${names.join(", ")})`);
  const constants = batchConstantIndexes(n, adaptive);
  // IC_(j + 1) belongs to public signal j.
  const ic = names.map((name, j) => ({ j: j + 1, comment: `IC${j + 1}: public signal ${j}, ${name}` }));
  const lines = [
    ...verifierHeader("onchain/signed-batch-verifier.ts", vkey, [
      'import {ISignedBatchVerifier} from "contracts/interfaces/ISignedBatchVerifier.sol";',
    ]),
    `/// @title ${SIGNED_BATCH_VERIFIER_CONTRACT}`,
    `/// @notice Groth16 verifier (BN254) of one ${adaptive ? "adaptive " : ""}signed batch circuit of ${n} market(s), its verification key in the`,
    "///         constants below. A proof (A, B, C) of the varying signals u_k for the batch composition whose base is",
    "///         P = IC0 + sum of constant_j * IC_j is valid when",
    "///         e(A, B) * e(ALPHA, -BETA) * e(P + sum of u_k * IC_(k+1), -GAMMA) * e(C, -DELTA) = 1.",
    ...PRECOMPILE_NOTES,
    `contract ${SIGNED_BATCH_VERIFIER_CONTRACT} is ISignedBatchVerifier {`,
    ...verifierKeyConstants(k, [{ j: 0, comment: "IC0" }, ...ic]),
    `    /// @dev Markets per batch, and the number of varying signals and of constants.`,
    `    uint256 private constant N = ${n};`,
    `    uint256 private constant VARYING = ${layout.varying};`,
    `    uint256 private constant CONSTANTS = ${constants.length};`,
    "",
    "    /// @inheritdoc ISignedBatchVerifier",
    "    function batchSize() external pure returns (uint256 n) {",
    "        return N;",
    "    }",
    "",
    "    /// @inheritdoc ISignedBatchVerifier",
    "    function batchBase(uint256[] calldata constants) external view returns (uint256 x, uint256 y) {",
    "        if (constants.length != CONSTANTS) revert VerifierConstantCount(constants.length, CONSTANTS);",
    "        for (uint256 j = 0; j < CONSTANTS; ++j) {",
    "            if (constants[j] >= R) revert VerifierScalarNotInField(constants[j]);",
    "        }",
    "        bool ok = true;",
    "        bool step;",
    "        (x, y) = (IC0_X, IC0_Y);",
    ...constants.flatMap((signal, j) => [
      `        // ${names[signal]}`,
      `        (step, x, y) = _mulAdd(IC${signal + 1}_X, IC${signal + 1}_Y, constants[${j}], x, y);`,
      "        ok = ok && step;",
    ]),
    "        // The constants are valid points, so the precompiles fail here only by running out of gas.",
    "        if (!ok) revert VerifierPrecompileFailed();",
    "    }",
    "",
    "    /// @inheritdoc ISignedBatchVerifier",
    "    function verifyProof(",
    "        uint256[2] calldata pA,",
    "        uint256[2][2] calldata pB,",
    "        uint256[2] calldata pC,",
    "        uint256[] calldata update,",
    "        uint256 baseX,",
    "        uint256 baseY",
    "    ) external view returns (bool valid) {",
    "        if (update.length != VARYING) return false;",
    "        // Scalars below r: the multiplication precompile would read u + r as u.",
    ...Array.from({ length: layout.varying }, (_, j) => `        if (update[${j}] >= R) return false;`),
    ...PROOF_COORDINATE_CHECKS,
    "        // X = base + sum of update[k] * IC_(k+1); the addition precompile refuses a base off the curve.",
    "        (bool ok, uint256 x, uint256 y) = _mulAdd(IC1_X, IC1_Y, update[0], baseX, baseY);",
    "        if (!ok) return false;",
    ...Array.from({ length: layout.varying - 1 }, (_, j) => [
      `        (ok, x, y) = _mulAdd(IC${j + 2}_X, IC${j + 2}_Y, update[${j + 1}], x, y);`,
      "        if (!ok) return false;",
    ]).flat(),
    ...PAIRING_CHECK,
    "    }",
    "",
    ...MUL_ADD_FUNCTION,
    "}",
    "",
  ];
  return lines.join("\n");
}

/**
 * The batch size of a verification key's circuit: its public-signal count is V + 2N + 2 for one N (V does not fall
 * as N grows, so the counts are distinct; adaptive: V = N, 3N + 2).
 * @param adaptive the key is an adaptive batch circuit's
 * @throws VerifierKeyError when no batch size has that count
 */
export function batchSizeOfKey(vkey: VerificationKey, adaptive = false): number {
  for (let n = 1; n <= MAX_BATCH_MARKETS; n++) {
    if (batchSignalLayout(n, adaptive).count === vkey.nPublic) return n;
  }
  const shape = adaptive ? "an adaptive signed batch's (3N + 2)" : "a signed batch's (V + 2N + 2)";
  throw new VerifierKeyError(`nPublic: ${vkey.nPublic} public signals is not ${shape}`);
}
