// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
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
    /// @notice Oldest data accepted: block time minus the parameters' data timestamp (s), which is the open time of
    ///         the window's last bar, so this must exceed the bar interval. A paused market's parameters still
    ///         apply until they are this old (`IRiskOracle.parameters`).
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
    ///         collateral >= notional * IM / 10000, compared exactly (no rounding), for every uint256 input.
    /// @param notional position notional
    /// @param collateral collateral posted, same unit as `notional`
    /// @return ok whether the position may be opened
    function canOpen(uint256 notional, uint256 collateral) external view returns (bool ok) {
        (, uint16 im) = _freshParameters();
        return collateral >= _required(notional, im);
    }

    /// @notice Whether a position of `notional` with `collateral` is below maintenance:
    ///         collateral < notional * MM / 10000, compared exactly (no rounding), for every uint256 input.
    /// @param notional position notional
    /// @param collateral collateral, same unit as `notional`
    /// @return liquidatable whether the position may be liquidated
    function isLiquidatable(uint256 notional, uint256 collateral) external view returns (bool liquidatable) {
        (uint16 mm, ) = _freshParameters();
        return collateral < _required(notional, mm);
    }

    /// @dev ceil(notional * marginBps / 10000), the least collateral that covers the margin: for an integer c,
    ///      c * 10000 >= notional * marginBps iff c >= this, and c * 10000 < notional * marginBps iff c < this.
    ///      Computed in 512 bits (`Math.mulDiv`), so it never overflows: with marginBps <= 10000, which the oracle's
    ///      bounds guarantee, it is at most `notional`. (`collateral * 10000` and `notional * marginBps` overflow,
    ///      and a liquidation check that reverts for a large position is worse than none.)
    function _required(uint256 notional, uint16 marginBps) private pure returns (uint256) {
        return Math.mulDiv(notional, marginBps, BPS, Math.Rounding.Ceil);
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
