// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IRiskOracle} from "../interfaces/IRiskOracle.sol";

/// @title PerpMarginCheck
/// @notice Example consumer of the risk oracle: the margin checks of a perpetual-futures market, which refuse to
///         work from stale parameters. Notional and collateral are in the same unit (e.g. USDC, 6 decimals).
/// @dev An example, not a perp engine: no positions, prices or funding.
contract PerpMarginCheck {
    /// @notice The oracle's parameters for the market are older than this consumer accepts.
    error PerpStaleParameters(uint256 marketId, uint64 dataTimestamp, uint64 maxParameterAge);

    uint256 private constant BPS = 10_000;

    /// @notice Oracle read from.
    IRiskOracle public immutable oracle;
    /// @notice Market whose parameters apply.
    uint256 public immutable marketId;
    /// @notice Oldest data accepted: block time minus the parameters' data timestamp (s).
    uint64 public immutable maxParameterAge;

    /// @notice Check margins of `marketId_` against `oracle_`, accepting data at most `maxParameterAge_` old.
    /// @param oracle_ risk oracle
    /// @param marketId_ market registered in the oracle
    /// @param maxParameterAge_ oldest data accepted (s)
    constructor(IRiskOracle oracle_, uint256 marketId_, uint64 maxParameterAge_) {
        oracle = oracle_;
        marketId = marketId_;
        maxParameterAge = maxParameterAge_;
    }

    /// @notice Whether `collateral` covers the initial margin of a position of `notional`:
    ///         collateral >= notional * IM / 10000, compared exactly (no rounding).
    /// @param notional position notional
    /// @param collateral collateral posted, same unit as `notional`
    /// @return ok whether the position may be opened
    function canOpen(uint256 notional, uint256 collateral) external view returns (bool ok) {
        (, uint16 im) = _freshParameters();
        return collateral * BPS >= notional * im;
    }

    /// @notice Whether a position of `notional` with `collateral` is below maintenance:
    ///         collateral < notional * MM / 10000, compared exactly (no rounding).
    /// @param notional position notional
    /// @param collateral collateral, same unit as `notional`
    /// @return liquidatable whether the position may be liquidated
    function isLiquidatable(uint256 notional, uint256 collateral) external view returns (bool liquidatable) {
        (uint16 mm, ) = _freshParameters();
        return collateral * BPS < notional * mm;
    }

    /// @dev The oracle's margins, or revert if their data is older than `maxParameterAge`. The oracle itself reverts
    ///      for an unknown market or one without parameters.
    function _freshParameters() private view returns (uint16 mm, uint16 im) {
        uint64 dataTimestamp;
        (mm, im, dataTimestamp, ) = oracle.parameters(marketId);
        if (block.timestamp > uint256(dataTimestamp) + maxParameterAge) {
            revert PerpStaleParameters(marketId, dataTimestamp, maxParameterAge);
        }
    }
}
