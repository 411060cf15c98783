/**
 * zkrisk's own Groth16 verifier for the signed-update circuit: Solidity generated from the circuit's
 * verification key (snarkjs's `verification_key.json`), written for this circuit's two public signals
 * (`UPDATE_SIGNALS`: the packed update, then the statement key) instead of snarkjs's template.
 *
 * The statement key s_2 is constant per market, so the oracle asks the verifier once for the market's
 * statement base `IC_0 + s_2 IC_2` (`statementBase`) and stores it; each update then costs one scalar
 * multiplication and one addition (X = base + s_1 IC_1) instead of two of each, and the pairing check of four
 * pairs. The Groth16 equation, the input checks and the Solidity they share with the batch verifier are in
 * groth16-verifier-source.ts: every coordinate below q, the update below r (`verifyProof` returns false) and
 * the statement key too (`statementBase` reverts), precompile refusals read as `false`.
 */
import { UPDATE_SIGNALS } from "../circuits/public-signals";
import { ADAPTIVE_UPDATE_PACKING } from "../circuits/statement";
import type { VerificationKey } from "../setup/snarkjs";
import {
  MUL_ADD_FUNCTION,
  PAIRING_CHECK,
  PRECOMPILE_NOTES,
  PROOF_COORDINATE_CHECKS,
  verifierConstants,
  verifierHeader,
  verifierKeyConstants,
} from "./groth16-verifier-source";

export { BASE_FIELD_MODULUS, VerifierKeyError } from "./groth16-verifier-source";

/** The generated contract's name. */
export const SIGNED_UPDATE_VERIFIER_CONTRACT = "SignedUpdateVerifier";

/** The clamp of the adaptive rule's state num (calibrationNum * 2^8) that an adaptive circuit proves. */
export interface AdaptiveNumBounds {
  minNum: bigint;
  maxNum: bigint;
}

/**
 * The Solidity source of the signed-update verifier for `vkey` (contract {@link SIGNED_UPDATE_VERIFIER_CONTRACT},
 * implementing contracts/interfaces/ISignedUpdateVerifier.sol). Deterministic: the same key and bounds give the
 * same bytes. `adaptive`: the circuit proves the adaptive rule (its manifest records it, `isAdaptiveCircuit`) with
 * this clamp of the state's num, so its `adaptiveLayout()` is true (the oracle takes its proofs for adaptive markets
 * only) and `adaptiveNumBounds()` gives the clamp (the oracle holds no num outside it); a plain verifier answers
 * false and (0, 0). (Their selectors, 0xaf99042a and 0xa3f3249f, sort after `verifyProof`'s, 0xa007a060, so the
 * dispatch of `verifyProof` costs what it did.)
 * @throws VerifierKeyError for a key that is not a Groth16 BN254 key of two public signals with valid G1 points
 * @throws RangeError for bounds that are not 1 <= minNum <= maxNum < 2^27 (the oracle's num width)
 */
export function generateSignedUpdateVerifier(vkey: VerificationKey, adaptive?: AdaptiveNumBounds): string {
  const k = verifierConstants(vkey, UPDATE_SIGNALS.length, `a signed update (${UPDATE_SIGNALS.join(", ")})`);
  if (adaptive !== undefined) checkNumBounds(adaptive);
  const [minNum, maxNum] = adaptive === undefined ? [0n, 0n] : [adaptive.minNum, adaptive.maxNum];
  const lines = [
    ...verifierHeader("onchain/signed-update-verifier.ts", vkey, [
      'import {ISignedUpdateVerifier} from "contracts/interfaces/ISignedUpdateVerifier.sol";',
    ]),
    `/// @title ${SIGNED_UPDATE_VERIFIER_CONTRACT}`,
    "/// @notice Groth16 verifier (BN254) of one signed-update circuit, its verification key in the constants below.",
    "///         A proof (A, B, C) of the packed update s1 for the statement whose base is P = IC0 + key * IC2 is valid",
    "///         when e(A, B) * e(ALPHA, -BETA) * e(P + s1 * IC1, -GAMMA) * e(C, -DELTA) = 1.",
    ...PRECOMPILE_NOTES,
    `contract ${SIGNED_UPDATE_VERIFIER_CONTRACT} is ISignedUpdateVerifier {`,
    ...verifierKeyConstants(k, [
      {
        j: 0,
        comment:
          "IC0, then IC1 of public signal 0 (the packed update) and IC2 of public signal 1 (the statement key).",
      },
      { j: 1, comment: "IC1" },
      { j: 2, comment: "IC2" },
    ]),
    "",
    "    /// @inheritdoc ISignedUpdateVerifier",
    "    function adaptiveLayout() external pure returns (bool adaptive) {",
    `        return ${adaptive !== undefined};`,
    "    }",
    "",
    "    /// @inheritdoc ISignedUpdateVerifier",
    "    function adaptiveNumBounds() external pure returns (uint256 minNum, uint256 maxNum) {",
    `        return (${minNum}, ${maxNum});`,
    "    }",
    "",
    "    /// @inheritdoc ISignedUpdateVerifier",
    "    function statementBase(uint256 statementKey) external view returns (uint256 x, uint256 y) {",
    "        if (statementKey >= R) revert VerifierScalarNotInField(statementKey);",
    "        bool ok;",
    "        (ok, x, y) = _mulAdd(IC2_X, IC2_Y, statementKey, IC0_X, IC0_Y);",
    "        // The constants are valid points, so the precompiles fail here only by running out of gas.",
    "        if (!ok) revert VerifierPrecompileFailed();",
    "    }",
    "",
    "    /// @inheritdoc ISignedUpdateVerifier",
    "    function verifyProof(",
    "        uint256[2] calldata pA,",
    "        uint256[2][2] calldata pB,",
    "        uint256[2] calldata pC,",
    "        uint256 update,",
    "        uint256 baseX,",
    "        uint256 baseY",
    "    ) external view returns (bool valid) {",
    "        // Scalars below r: the multiplication precompile would read update + r as update.",
    "        if (update >= R) return false;",
    ...PROOF_COORDINATE_CHECKS,
    "        // X = base + update * IC1; the addition precompile refuses a base off the curve.",
    "        (bool ok, uint256 x, uint256 y) = _mulAdd(IC1_X, IC1_Y, update, baseX, baseY);",
    "        if (!ok) return false;",
    ...PAIRING_CHECK,
    "    }",
    "",
    ...MUL_ADD_FUNCTION,
    "}",
    "",
  ];
  return lines.join("\n");
}

/** The state's num width in the packed update and the oracle's storage. */
const NUM_BITS = ADAPTIVE_UPDATE_PACKING.numBits;

function checkNumBounds(b: AdaptiveNumBounds): void {
  const { minNum, maxNum } = b;
  if (!(1n <= minNum && minNum <= maxNum && maxNum < 1n << BigInt(NUM_BITS))) {
    throw new RangeError(
      `adaptive num bounds [${minNum}, ${maxNum}]: need 1 <= minNum <= maxNum < 2^${NUM_BITS}`,
    );
  }
}
