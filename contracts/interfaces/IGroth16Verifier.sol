// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IGroth16Verifier
/// @notice The call the oracle makes into a snarkjs-generated Groth16 verifier (`zkrisk setup` writes it as
///         `Groth16Verifier.sol`). One verifier per circuit: its verification key is baked into its bytecode, so
///         a new circuit (another model shape or weight mode) means a new verifier contract.
/// @dev The generated contract does not inherit this interface; it matches it by signature. Its `verifyProof`
///      returns false (it never reverts) for a wrong proof, a point off the curve or a public signal >= p.
interface IGroth16Verifier {
    /// @notice Check a Groth16 proof against the seven public signals of a zkrisk update.
    /// @param pA proof point A (G1)
    /// @param pB proof point B (G2, each coordinate pair as (imaginary, real), as the pairing precompile takes it)
    /// @param pC proof point C (G1)
    /// @param pubSignals public signals in the order of `circuits/public-signals.ts`
    /// @return valid whether the proof verifies
    function verifyProof(
        uint256[2] calldata pA,
        uint256[2][2] calldata pB,
        uint256[2] calldata pC,
        uint256[7] calldata pubSignals
    ) external view returns (bool valid);
}
