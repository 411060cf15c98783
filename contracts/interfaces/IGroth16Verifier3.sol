// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IGroth16Verifier3
/// @notice The call the oracle makes into the snarkjs-generated verifier of a signed-update circuit: a Groth16
///         proof with three public signals (the packed update, the window digest and the statement key; see
///         `PublicSignals.sol`). One verifier per circuit, its verification key baked into its bytecode.
/// @dev The generated contract does not inherit this interface; it matches it by signature. Its `verifyProof`
///      returns false (it never reverts) for a wrong proof, a point off the curve or a public signal >= p.
interface IGroth16Verifier3 {
    /// @notice Check a Groth16 proof against the three public signals of a signed update.
    /// @param pA proof point A (G1)
    /// @param pB proof point B (G2, each coordinate pair as (imaginary, real), as the pairing precompile takes it)
    /// @param pC proof point C (G1)
    /// @param pubSignals public signals in the order of `UPDATE_SIGNALS` in `circuits/public-signals.ts`
    /// @return valid whether the proof verifies
    function verifyProof(
        uint256[2] calldata pA,
        uint256[2][2] calldata pB,
        uint256[2] calldata pC,
        uint256[3] calldata pubSignals
    ) external view returns (bool valid);
}
