// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title PublicSignals
/// @notice Indexes of the public signals of a zkrisk proof in the verifier's `pubSignals` array. This mirrors
///         `circuits/public-signals.ts`, the one definition of the order; the end-to-end tests submit real proofs,
///         so a mismatch here fails them.
library PublicSignals {
    /// @notice Number of public signals.
    uint256 internal constant COUNT = 7;
    /// @notice Maintenance margin, bps of notional (circuit output).
    uint256 internal constant MAINTENANCE_MARGIN_BPS = 0;
    /// @notice Initial margin, bps of notional (circuit output).
    uint256 internal constant INITIAL_MARGIN_BPS = 1;
    /// @notice Poseidon commitment to the model's parameters, scales and policy (circuit output).
    uint256 internal constant MODEL_COMMITMENT = 2;
    /// @notice Poseidon commitment to the quantised features (circuit output).
    uint256 internal constant INPUT_COMMITMENT = 3;
    /// @notice Market identifier (public input).
    uint256 internal constant MARKET_ID = 4;
    /// @notice Open time of the last bar used, seconds since the Unix epoch (public input).
    uint256 internal constant DATA_TIMESTAMP = 5;
    /// @notice `keccak256(abi.encode(chainid, oracle)) mod p`: binds the proof to one chain and one oracle
    ///         (public input).
    uint256 internal constant DOMAIN = 6;
}
