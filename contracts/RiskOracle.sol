// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ISignedUpdateVerifier} from "./interfaces/ISignedUpdateVerifier.sol";
import {IRiskOracle} from "./interfaces/IRiskOracle.sol";
import {PublicSignals} from "./PublicSignals.sol";

/// @title RiskOracle
/// @notice Guarded risk-parameter oracle: anyone may submit a market's maintenance and initial margin with a Groth16
///         proof that the market's registered model computed them from a candle window signed by a quorum of the
///         market's registered data publishers (`submitSignedUpdate`); the update is accepted only if the proof
///         verifies for the market's statement and the governance guards (bounds, rate of change, data age, update
///         interval) hold. A signed batch (`submitSignedBatch`) carries one proof for several markets under one model
///         and one publisher set, whose quorum signed all their windows at once; every market passes the same guards,
///         and the batch is all or nothing. Governance (`GOVERNOR_ROLE`) registers markets with their publisher set,
///         rotates the set or the model (`setPublisherSet`) and changes guards and guardian; a market's guardian can
///         pause it. Nothing a submitter says is trusted beyond what the proof binds.
/// @dev One market's configuration and state take eight storage slots, laid out so that an update reads four, each
///      market of a batch four, and each writes one (see `Market`). The guards live in `_checkUpdate`, shared by
///      both update paths.
contract RiskOracle is IRiskOracle, AccessControl {
    /// @notice Role that registers markets and changes their model, guards and guardian.
    bytes32 public constant GOVERNOR_ROLE = keccak256("GOVERNOR_ROLE");

    /// @notice p, the scalar field modulus of BN254: every public signal is below it.
    uint256 public constant SNARK_SCALAR_FIELD =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;

    /// @notice Margins are in basis points of notional; 10000 is 100 %.
    uint16 public constant BPS = 10_000;

    /// @dev A market, flattened so the fields an update needs share slots. `verifier == 0` means "not registered";
    ///      `updatedAt == 0` means "no accepted update yet". An update reads slots 0, 2, 4, 5 and each market of a
    ///      batch slots 0, 1, 2, 6; both write slot 2.
    struct Market {
        // slot 0: read by every update. `verifier` is zkrisk's `ISignedUpdateVerifier` (two signals).
        address verifier;
        uint16 minMaintenanceMarginBps;
        uint16 maxMaintenanceMarginBps;
        uint16 minInitialMarginBps;
        uint16 maxInitialMarginBps;
        uint16 maxIncreaseBps;
        uint16 maxDecreaseBps;
        // slot 1: read by every market of a batch
        uint256 modelCommitment;
        // slot 2: read and written by every update (30 bytes)
        uint32 minUpdateInterval;
        uint32 maxDataAge;
        uint16 maintenanceMarginBps;
        uint16 initialMarginBps;
        uint64 dataTimestamp;
        uint64 updatedAt;
        bool paused;
        bool adaptive;
        // slot 3: read only by governance, pause and unpause (21 bytes)
        address guardian;
        uint8 quorum;
        // slots 4, 5: read by every single-market update. The statement base IC0 + statementKey * IC2 of the verifier's
        // key (`ISignedUpdateVerifier.statementBase`): the statement's part of every proof check, computed once.
        uint256 statementBaseX;
        uint256 statementBaseY;
        // slot 6: read by governance, views and every market of a batch
        uint256 publisherSet;
        // slot 7: read only by governance and views
        uint256 statementKey;
        // slot 8: an adaptive market's state, read and written by its updates (`_ADAPTIVE_*` below): the ring of the
        // maintenance margins accepted for the last 12 bars (entry b mod 12 holds bar b's, 0 for a bar without an
        // accepted update; b = data timestamp / 7200), then num (27 bits) and outcomes (11 bits).
        uint256 adaptiveState;
    }

    /// @dev A batch verifier and the selector of its `verifyProof`, which depends on the batch size (one slot).
    struct BatchVerifier {
        address verifier;
        bytes4 selector;
    }

    /// @dev The adaptive state's layout in `Market.adaptiveState`: the ring at bit 0, num, then outcomes.
    uint256 private constant _ADAPTIVE_RING_BITS = 168;
    uint256 private constant _ADAPTIVE_OUTCOMES_SHIFT = 195;
    uint256 private constant _MARGIN_MASK = (1 << PublicSignals.ADAPTIVE_MARGIN_BITS) - 1;
    uint256 private constant _NUM_MASK = (1 << PublicSignals.ADAPTIVE_NUM_BITS) - 1;
    uint256 private constant _OUTCOMES_MASK = (1 << PublicSignals.ADAPTIVE_OUTCOMES_BITS) - 1;

    mapping(uint256 marketId => Market) private _markets;
    mapping(uint256 modelCommitment => mapping(uint256 n => BatchVerifier)) private _batchVerifiers;

    /// @notice Deploy with `governor` holding both the admin role and `GOVERNOR_ROLE`.
    /// @param governor governance account (e.g. a timelock)
    constructor(address governor) {
        if (governor == address(0)) revert OracleInvalidGovernor();
        _grantRole(DEFAULT_ADMIN_ROLE, governor);
        _grantRole(GOVERNOR_ROLE, governor);
    }

    // ------------------------------------------------------------------------------------------- governance

    /// @inheritdoc IRiskOracle
    function registerMarket(uint256 marketId, MarketConfig calldata config) external onlyRole(GOVERNOR_ROLE) {
        if (marketId == 0 || marketId >= SNARK_SCALAR_FIELD) revert OracleInvalidMarketId(marketId);
        Market storage m = _markets[marketId];
        if (address(m.verifier) != address(0)) revert OracleMarketExists(marketId);
        _checkLimits(config.limits);
        emit MarketRegistered(marketId, config.guardian, config.limits);
        m.guardian = config.guardian;
        _writeLimits(m, config.limits);
        _writePublisherSet(m, marketId, config.publishers);
    }

    /// @inheritdoc IRiskOracle
    function setLimits(uint256 marketId, MarketLimits calldata limits) external onlyRole(GOVERNOR_ROLE) {
        Market storage m = _market(marketId);
        _checkLimits(limits);
        _writeLimits(m, limits);
        emit LimitsChanged(marketId, limits);
    }

    /// @inheritdoc IRiskOracle
    function setGuardian(uint256 marketId, address guardian) external onlyRole(GOVERNOR_ROLE) {
        Market storage m = _market(marketId);
        emit GuardianChanged(marketId, m.guardian, guardian);
        m.guardian = guardian;
    }

    /// @inheritdoc IRiskOracle
    function setBatchVerifier(uint256 modelCommitment, uint256 n, address verifier) external onlyRole(GOVERNOR_ROLE) {
        if (n == 0 || n > PublicSignals.BATCH_MAX_MARKETS) revert OracleInvalidBatchSize(n);
        _checkModelCommitment(modelCommitment);
        if (verifier == address(0)) {
            delete _batchVerifiers[modelCommitment][n];
        } else {
            if (verifier.code.length == 0) revert OracleInvalidVerifier(verifier);
            _batchVerifiers[modelCommitment][n] = BatchVerifier(verifier, _batchSelector(n));
        }
        emit BatchVerifierSet(modelCommitment, n, verifier);
    }

    /// @inheritdoc IRiskOracle
    function setPublisherSet(uint256 marketId, PublisherSetConfig calldata config) external onlyRole(GOVERNOR_ROLE) {
        _writePublisherSet(_market(marketId), marketId, config);
    }

    /// @dev Check and store a market's publisher set and statement (registration and rotation alike), announcing the
    ///      change from the previous one (all zero at registration).
    function _writePublisherSet(Market storage m, uint256 marketId, PublisherSetConfig calldata config) private {
        _checkModel(address(config.verifier), config.modelCommitment);
        if (config.publisherSet == 0 || config.publisherSet >= SNARK_SCALAR_FIELD) {
            revert OracleInvalidPublisherSet(config.publisherSet);
        }
        if (config.quorum == 0) revert OracleInvalidQuorum(config.quorum);
        if (config.statementKey == 0 || config.statementKey >= SNARK_SCALAR_FIELD) {
            revert OracleInvalidStatementKey(config.statementKey);
        }
        // The statement's part of every proof check of this market, from the verifier that will check them.
        try config.verifier.statementBase(config.statementKey) returns (uint256 x, uint256 y) {
            m.statementBaseX = x;
            m.statementBaseY = y;
        } catch {
            revert OracleInvalidVerifier(address(config.verifier));
        }
        emit PublisherSetChanged(marketId, _publisherSetOf(m), config);
        m.verifier = address(config.verifier);
        m.modelCommitment = config.modelCommitment;
        m.publisherSet = config.publisherSet;
        m.quorum = config.quorum;
        m.statementKey = config.statementKey;
    }

    /// @inheritdoc IRiskOracle
    function setAdaptiveCalibration(uint256 marketId, uint32 num) external onlyRole(GOVERNOR_ROLE) {
        Market storage m = _market(marketId);
        if (num > _NUM_MASK) revert OracleInvalidAdaptiveNum(num);
        m.adaptive = num != 0;
        m.adaptiveState = uint256(num) << _ADAPTIVE_RING_BITS;
        emit AdaptiveCalibrationSet(marketId, num);
    }

    /// @inheritdoc IRiskOracle
    function pauseMarket(uint256 marketId) external {
        Market storage m = _guardedMarket(marketId);
        if (m.paused) revert OracleMarketPaused(marketId);
        m.paused = true;
        emit MarketPaused(marketId, msg.sender);
    }

    /// @inheritdoc IRiskOracle
    function unpauseMarket(uint256 marketId) external {
        Market storage m = _guardedMarket(marketId);
        if (!m.paused) revert OracleMarketNotPaused(marketId);
        m.paused = false;
        emit MarketUnpaused(marketId, msg.sender);
    }

    // ---------------------------------------------------------------------------------------------- updates

    /// @inheritdoc IRiskOracle
    function submitSignedUpdate(
        uint256 marketId,
        uint256[2] calldata pA,
        uint256[2][2] calldata pB,
        uint256[2] calldata pC,
        uint256 update
    ) external {
        Market storage m = _market(marketId);
        if (m.paused) revert OracleMarketPaused(marketId);
        if (m.adaptive) return _submitAdaptive(m, marketId, pA, pB, pC, update);
        // Below 2^252 (so below r), and then the unpacking is exact: timestamp < 2^40, digest bits < 2^180.
        if (update >> PublicSignals.UPDATE_BITS != 0) revert OracleMalformedUpdate(update);
        (uint64 dataTimestamp, uint16 mm, uint16 im) = _checkUpdate(
            m,
            marketId,
            (update >> PublicSignals.PACKED_DATA_TIMESTAMP_SHIFT) & type(uint40).max,
            update & type(uint16).max,
            (update >> PublicSignals.PACKED_INITIAL_MARGIN_SHIFT) & type(uint16).max
        );
        // Last: the pairing check costs most. The statement base binds the proof to this market's statement key.
        // A staticcall (view), so the verifier cannot re-enter.
        if (!ISignedUpdateVerifier(m.verifier).verifyProof(pA, pB, pC, update, m.statementBaseX, m.statementBaseY)) {
            revert OracleInvalidProof(marketId);
        }
        _store(m, mm, im, dataTimestamp);
        emit SignedParametersUpdated(marketId, mm, im, dataTimestamp, update >> PublicSignals.UPDATE_DIGEST_SHIFT);
    }

    /// @dev `submitSignedUpdate` for an adaptive market: the same guards, then the prior the proof must start from,
    ///      built from storage (`_checkAdaptive`), the proof, and the new state (`_nextAdaptiveState`).
    function _submitAdaptive(
        Market storage m,
        uint256 marketId,
        uint256[2] calldata pA,
        uint256[2][2] calldata pB,
        uint256[2] calldata pC,
        uint256 update
    ) private {
        (uint64 dataTimestamp, uint16 mm, uint16 im) = _checkAdaptive(m, marketId, update);
        _verifySigned(m, marketId, pA, pB, pC, update);
        // before _store: the state is computed from the last accepted bar
        m.adaptiveState = _nextAdaptiveState(m, dataTimestamp, mm, update);
        _store(m, mm, im, dataTimestamp);
        emit AdaptiveParametersUpdated(marketId, update);
    }

    /// @dev The checks of an adaptive update before its proof: well formed (below 2^253, so below r, and every part
    ///      unpacks exactly), a bar's open time, the guards of every update, then its prior (num, outcomes, bar s's
    ///      MM) equal to the one built from storage. Returns the values to store.
    function _checkAdaptive(
        Market storage m,
        uint256 marketId,
        uint256 update
    ) private view returns (uint64 dataTimestamp, uint16 mm, uint16 im) {
        if (update >> PublicSignals.ADAPTIVE_UPDATE_BITS != 0) revert OracleMalformedUpdate(update);
        uint256 provenTimestamp = (update >> PublicSignals.PACKED_DATA_TIMESTAMP_SHIFT) & type(uint40).max;
        if (provenTimestamp % PublicSignals.ADAPTIVE_BAR_SECONDS != 0) revert OracleUnalignedBar(provenTimestamp);
        uint256 lastBar = m.dataTimestamp / PublicSignals.ADAPTIVE_BAR_SECONDS;
        (dataTimestamp, mm, im) = _checkUpdate(
            m,
            marketId,
            provenTimestamp,
            update & type(uint16).max,
            (update >> PublicSignals.PACKED_INITIAL_MARGIN_SHIFT) & type(uint16).max
        );
        // bar > lastBar: the timestamp is newer than the last one and a multiple of the bar
        uint256 prior = _adaptivePrior(m.adaptiveState, dataTimestamp / PublicSignals.ADAPTIVE_BAR_SECONDS, lastBar);
        uint256 proven = (update >> PublicSignals.ADAPTIVE_PRIOR_SHIFT) &
            ((1 << PublicSignals.ADAPTIVE_PRIOR_BITS) - 1);
        if (proven != prior) revert OracleAdaptiveStateMismatch(marketId, prior, proven);
    }

    /// @dev The state after an accepted adaptive update for the bar opening at `dataTimestamp` (called before the
    ///      update is stored): the proven num and outcomes, and the ring with the bars skipped since the last accepted
    ///      one cleared (all of them after 12 or more) and the new bar's MM set.
    function _nextAdaptiveState(
        Market storage m,
        uint64 dataTimestamp,
        uint16 mm,
        uint256 update
    ) private view returns (uint256) {
        uint256 lastBar = m.dataTimestamp / PublicSignals.ADAPTIVE_BAR_SECONDS;
        uint256 bar = dataTimestamp / PublicSignals.ADAPTIVE_BAR_SECONDS;
        uint256 ring = m.adaptiveState & ((1 << _ADAPTIVE_RING_BITS) - 1);
        if (bar - lastBar >= PublicSignals.ADAPTIVE_HORIZON_BARS) {
            ring = 0;
        } else {
            for (uint256 b = lastBar + 1; b < bar; ++b) ring &= ~(_MARGIN_MASK << _ringShift(b));
        }
        uint256 at = _ringShift(bar);
        ring = (ring & ~(_MARGIN_MASK << at)) | (uint256(mm) << at);
        uint256 next = update >> PublicSignals.ADAPTIVE_NEW_NUM_SHIFT;
        return
            ring |
            ((next & _NUM_MASK) << _ADAPTIVE_RING_BITS) |
            (((next >> PublicSignals.ADAPTIVE_NUM_BITS) & _OUTCOMES_MASK) << _ADAPTIVE_OUTCOMES_SHIFT);
    }

    /// @dev The proof of a signed update against the market's statement base, or revert. A staticcall (view), so the
    ///      verifier cannot re-enter.
    function _verifySigned(
        Market storage m,
        uint256 marketId,
        uint256[2] calldata pA,
        uint256[2][2] calldata pB,
        uint256[2] calldata pC,
        uint256 update
    ) private view {
        if (!ISignedUpdateVerifier(m.verifier).verifyProof(pA, pB, pC, update, m.statementBaseX, m.statementBaseY)) {
            revert OracleInvalidProof(marketId);
        }
    }

    /// @inheritdoc IRiskOracle
    function submitSignedBatch(
        uint256[2] calldata pA,
        uint256[2][2] calldata pB,
        uint256[2] calldata pC,
        uint256[] calldata pubSignals
    ) external {
        uint256 count = pubSignals.length;
        if (
            count <= PublicSignals.BATCH_TRAILING_COUNT ||
            count > PublicSignals.BATCH_MAX_MARKETS + PublicSignals.BATCH_TRAILING_COUNT
        ) revert OracleInvalidBatchSignalCount(count);
        uint256 n = count - PublicSignals.BATCH_TRAILING_COUNT;
        for (uint256 i = 0; i < count; ++i) {
            if (pubSignals[i] >= SNARK_SCALAR_FIELD) revert OracleSignalNotInField(i, pubSignals[i]);
        }
        _checkDomain(pubSignals[n + PublicSignals.BATCH_DOMAIN]);
        uint256 modelCommitment = pubSignals[n + PublicSignals.BATCH_MODEL_COMMITMENT];
        BatchVerifier memory batch = _batchVerifiers[modelCommitment][n];
        if (batch.verifier == address(0)) revert OracleNoBatchVerifier(modelCommitment, n);
        uint256 provenSet = pubSignals[n + PublicSignals.BATCH_PUBLISHER_SET];

        // Every market's guards before the one proof check; nothing is written until all have passed.
        uint256 previousMarketId = 0;
        for (uint256 i = 0; i < n; ++i) {
            previousMarketId = _checkBatchMarket(pubSignals[i], i, previousMarketId, modelCommitment, provenSet);
        }
        // Last: the pairing check costs most. A staticcall, so the verifier cannot re-enter.
        if (!_verifyBatch(batch, pA, pB, pC, pubSignals)) revert OracleInvalidBatchProof(modelCommitment, n);
        uint256 batchDigest = pubSignals[n + PublicSignals.BATCH_DIGEST];
        for (uint256 i = 0; i < n; ++i) {
            // Already checked above; the masks make the narrowing exact, and i < n <= 32 fits uint8.
            (uint256 marketId, uint256 dataTimestamp, uint256 mm, uint256 im) = _unpack(pubSignals[i]);
            _store(_markets[marketId], uint16(mm), uint16(im), uint64(dataTimestamp));
            emit SignedBatchParametersUpdated(
                marketId,
                uint16(mm),
                uint16(im),
                uint64(dataTimestamp),
                batchDigest,
                uint8(i)
            );
        }
    }

    // ------------------------------------------------------------------------------------------------ reads

    /// @inheritdoc IRiskOracle
    function parameters(
        uint256 marketId
    )
        external
        view
        returns (uint16 maintenanceMarginBps, uint16 initialMarginBps, uint64 dataTimestamp, uint64 updatedAt)
    {
        Market storage m = _market(marketId);
        if (m.updatedAt == 0) revert OracleNoParameters(marketId);
        return (m.maintenanceMarginBps, m.initialMarginBps, m.dataTimestamp, m.updatedAt);
    }

    /// @inheritdoc IRiskOracle
    function isFresh(uint256 marketId, uint64 maxAge) external view returns (bool fresh) {
        Market storage m = _markets[marketId];
        return m.updatedAt != 0 && block.timestamp <= uint256(m.dataTimestamp) + maxAge;
    }

    /// @inheritdoc IRiskOracle
    function marketConfig(uint256 marketId) external view returns (MarketConfig memory config) {
        Market storage m = _market(marketId);
        config.publishers = _publisherSetOf(m);
        config.guardian = m.guardian;
        config.limits = MarketLimits({
            minMaintenanceMarginBps: m.minMaintenanceMarginBps,
            maxMaintenanceMarginBps: m.maxMaintenanceMarginBps,
            minInitialMarginBps: m.minInitialMarginBps,
            maxInitialMarginBps: m.maxInitialMarginBps,
            maxIncreaseBps: m.maxIncreaseBps,
            maxDecreaseBps: m.maxDecreaseBps,
            minUpdateInterval: m.minUpdateInterval,
            maxDataAge: m.maxDataAge
        });
    }

    /// @inheritdoc IRiskOracle
    function isPaused(uint256 marketId) external view returns (bool paused) {
        return _market(marketId).paused;
    }

    /// @inheritdoc IRiskOracle
    function publisherSet(uint256 marketId) external view returns (PublisherSetConfig memory config) {
        return _publisherSetOf(_market(marketId));
    }

    /// @inheritdoc IRiskOracle
    function batchVerifier(uint256 modelCommitment, uint256 n) external view returns (address verifier) {
        return _batchVerifiers[modelCommitment][n].verifier;
    }

    /// @inheritdoc IRiskOracle
    function adaptiveState(uint256 marketId) external view returns (uint32 num, uint16 outcomes, uint256 ring) {
        uint256 state = _market(marketId).adaptiveState;
        num = uint32((state >> _ADAPTIVE_RING_BITS) & _NUM_MASK);
        outcomes = uint16((state >> _ADAPTIVE_OUTCOMES_SHIFT) & _OUTCOMES_MASK);
        ring = state & ((1 << _ADAPTIVE_RING_BITS) - 1);
    }

    /// @inheritdoc IRiskOracle
    function adaptivePrior(
        uint256 marketId,
        uint64 dataTimestamp
    ) external view returns (uint32 num, uint16 outcomes, uint16 marginS) {
        Market storage m = _market(marketId);
        uint256 bar = dataTimestamp / PublicSignals.ADAPTIVE_BAR_SECONDS;
        uint256 lastBar = m.dataTimestamp / PublicSignals.ADAPTIVE_BAR_SECONDS;
        if (bar <= lastBar) revert OracleNotNewer(marketId, dataTimestamp, m.dataTimestamp);
        uint256 prior = _adaptivePrior(m.adaptiveState, bar, lastBar);
        num = uint32(prior & _NUM_MASK);
        outcomes = uint16((prior >> PublicSignals.ADAPTIVE_NUM_BITS) & _OUTCOMES_MASK);
        marginS = uint16(prior >> (PublicSignals.ADAPTIVE_NUM_BITS + PublicSignals.ADAPTIVE_OUTCOMES_BITS));
    }

    /// @inheritdoc IRiskOracle
    function domain() public view returns (uint256 value) {
        // Computed per call, not cached: after a chain split the fork's chain id differs, and so does the domain.
        return uint256(keccak256(abi.encode(block.chainid, address(this)))) % SNARK_SCALAR_FIELD;
    }

    // ------------------------------------------------------------------------------------------- internals

    /// @dev The registered market `marketId`, or revert.
    function _market(uint256 marketId) private view returns (Market storage m) {
        m = _markets[marketId];
        if (address(m.verifier) == address(0)) revert OracleUnknownMarket(marketId);
    }

    /// @dev The registered market `marketId` if the caller is its guardian or governance, or revert.
    function _guardedMarket(uint256 marketId) private view returns (Market storage m) {
        m = _market(marketId);
        if (msg.sender != m.guardian && !hasRole(GOVERNOR_ROLE, msg.sender)) {
            revert OracleNotGuardian(marketId, msg.sender);
        }
    }

    function _checkModel(address verifier, uint256 modelCommitment) private view {
        if (verifier.code.length == 0) revert OracleInvalidVerifier(verifier);
        _checkModelCommitment(modelCommitment);
    }

    function _checkModelCommitment(uint256 modelCommitment) private pure {
        if (modelCommitment == 0 || modelCommitment >= SNARK_SCALAR_FIELD) {
            revert OracleInvalidModelCommitment(modelCommitment);
        }
    }

    function _checkLimits(MarketLimits calldata limits) private pure {
        (uint16 minMm, uint16 maxMm) = (limits.minMaintenanceMarginBps, limits.maxMaintenanceMarginBps);
        if (minMm > maxMm || maxMm > BPS) revert OracleInvalidBounds(Margin.Maintenance, minMm, maxMm);
        (uint16 minIm, uint16 maxIm) = (limits.minInitialMarginBps, limits.maxInitialMarginBps);
        if (minIm > maxIm || maxIm > BPS) revert OracleInvalidBounds(Margin.Initial, minIm, maxIm);
        if (limits.maxDataAge == 0) revert OracleInvalidMaxDataAge();
    }

    function _writeLimits(Market storage m, MarketLimits calldata limits) private {
        m.minMaintenanceMarginBps = limits.minMaintenanceMarginBps;
        m.maxMaintenanceMarginBps = limits.maxMaintenanceMarginBps;
        m.minInitialMarginBps = limits.minInitialMarginBps;
        m.maxInitialMarginBps = limits.maxInitialMarginBps;
        m.maxIncreaseBps = limits.maxIncreaseBps;
        m.maxDecreaseBps = limits.maxDecreaseBps;
        m.minUpdateInterval = limits.minUpdateInterval;
        m.maxDataAge = limits.maxDataAge;
    }

    function _checkDomain(uint256 provenDomain) private view {
        uint256 expectedDomain = domain();
        if (provenDomain != expectedDomain) revert OracleDomainMismatch(expectedDomain, provenDomain);
    }

    /// @dev The timing and margin guards of every update, the one owner of these rules for single and batched
    ///      updates. Returns the values to store, narrowed.
    function _checkUpdate(
        Market storage m,
        uint256 marketId,
        uint256 provenTimestamp,
        uint256 provenMm,
        uint256 provenIm
    ) private view returns (uint64 dataTimestamp, uint16 mm, uint16 im) {
        dataTimestamp = _checkTiming(m, marketId, provenTimestamp);
        (mm, im) = _checkMargins(m, provenMm, provenIm);
    }

    /// @dev Store an accepted update (one slot written).
    function _store(Market storage m, uint16 mm, uint16 im, uint64 dataTimestamp) private {
        m.maintenanceMarginBps = mm;
        m.initialMarginBps = im;
        m.dataTimestamp = dataTimestamp;
        m.updatedAt = uint64(block.timestamp);
    }

    /// @dev The prior of an adaptive update for `bar` after `lastBar` (< bar), packed as the proof carries it: num,
    ///      outcomes, and bar s = bar - 12's accepted MM. The ring's entry for bar mod 12 is bar s's when s >= lastBar
    ///      - 11 (no later bar has written it: the bars after lastBar were cleared at the next update); older, bar s
    ///      is before the ring's window and had no accepted update the ring remembers: 0.
    function _adaptivePrior(uint256 state, uint256 bar, uint256 lastBar) private pure returns (uint256 prior) {
        uint256 marginS = bar - lastBar <= PublicSignals.ADAPTIVE_HORIZON_BARS
            ? (state >> _ringShift(bar)) & _MARGIN_MASK
            : 0;
        prior =
            ((state >> _ADAPTIVE_RING_BITS) & _NUM_MASK) |
            (((state >> _ADAPTIVE_OUTCOMES_SHIFT) & _OUTCOMES_MASK) << PublicSignals.ADAPTIVE_NUM_BITS) |
            (marginS << (PublicSignals.ADAPTIVE_NUM_BITS + PublicSignals.ADAPTIVE_OUTCOMES_BITS));
    }

    /// @dev Bit offset of bar `bar`'s entry in the ring.
    function _ringShift(uint256 bar) private pure returns (uint256) {
        return (bar % PublicSignals.ADAPTIVE_HORIZON_BARS) * PublicSignals.ADAPTIVE_MARGIN_BITS;
    }

    /// @dev A market's publisher set and statement as `publisherSet` returns them.
    function _publisherSetOf(Market storage m) private view returns (PublisherSetConfig memory config) {
        config.verifier = ISignedUpdateVerifier(m.verifier);
        config.modelCommitment = m.modelCommitment;
        config.publisherSet = m.publisherSet;
        config.quorum = m.quorum;
        config.statementKey = m.statementKey;
    }

    /// @dev The selector of a batch verifier's `verifyProof`: snarkjs declares the public signals as a fixed-size
    ///      array, so the signature names their count, n + 4 (at most 36: two decimal digits).
    function _batchSelector(uint256 n) private pure returns (bytes4 selector) {
        uint256 count = n + PublicSignals.BATCH_TRAILING_COUNT;
        bytes memory decimal = count < 10
            ? abi.encodePacked(bytes1(uint8(0x30 + count)))
            : abi.encodePacked(bytes1(uint8(0x30 + count / 10)), bytes1(uint8(0x30 + (count % 10))));
        return
            bytes4(
                keccak256(
                    abi.encodePacked("verifyProof(uint256[2],", "uint256[2][2],uint256[2],", "uint256[", decimal, "])")
                )
            );
    }

    /// @dev Market `i` of a batch, from its packed signal. The market id is not masked: the unpacking is the exact
    ///      inverse of the packing, so two different signals never read as the same market and values.
    function _unpack(
        uint256 packed
    ) private pure returns (uint256 marketId, uint256 dataTimestamp, uint256 mm, uint256 im) {
        mm = packed & type(uint16).max;
        im = (packed >> PublicSignals.PACKED_INITIAL_MARGIN_SHIFT) & type(uint16).max;
        dataTimestamp = (packed >> PublicSignals.PACKED_DATA_TIMESTAMP_SHIFT) & type(uint40).max;
        marketId = packed >> PublicSignals.PACKED_MARKET_ID_SHIFT;
    }

    /// @dev The guards of market `i` of a signed batch, from its packed signal: id above the previous market's
    ///      (strictly increasing, so distinct markets, each checked against its own last state), market known,
    ///      not paused, its registered model and publisher set the proof's, then timing and margins.
    ///      Returns the market id.
    function _checkBatchMarket(
        uint256 packed,
        uint256 i,
        uint256 previousMarketId,
        uint256 provenModel,
        uint256 provenSet
    ) private view returns (uint256 marketId) {
        uint256 provenTimestamp;
        uint256 provenMm;
        uint256 provenIm;
        (marketId, provenTimestamp, provenMm, provenIm) = _unpack(packed);
        if (i != 0 && marketId <= previousMarketId) revert OracleBatchNotSorted(i, previousMarketId, marketId);
        Market storage m = _market(marketId);
        if (m.paused) revert OracleMarketPaused(marketId);
        if (m.adaptive) revert OracleAdaptiveMarket(marketId);
        if (m.modelCommitment != provenModel) {
            revert OracleModelCommitmentMismatch(marketId, m.modelCommitment, provenModel);
        }
        if (m.publisherSet != provenSet) revert OracleBatchPublisherSetMismatch(marketId, m.publisherSet, provenSet);
        _checkUpdate(m, marketId, provenTimestamp, provenMm, provenIm);
    }

    /// @dev One call of the batch verifier. Its public-signal array has a size fixed at generation, so the call is
    ///      encoded here: selector, then the eight proof words and the n + 4 signals inline (static arrays). A
    ///      failed call, a malformed return or false all read as "invalid".
    function _verifyBatch(
        BatchVerifier memory batch,
        uint256[2] calldata pA,
        uint256[2][2] calldata pB,
        uint256[2] calldata pC,
        uint256[] calldata pubSignals
    ) private view returns (bool valid) {
        // solhint-disable-next-line avoid-low-level-calls
        (bool ok, bytes memory result) = batch.verifier.staticcall(
            abi.encodePacked(batch.selector, pA, pB[0], pB[1], pC, pubSignals)
        );
        return ok && result.length == 32 && abi.decode(result, (uint256)) == 1;
    }

    /// @dev Replay protection keys on the data timestamp (strictly increasing), never on proof bytes: Groth16 proofs
    ///      are malleable and re-proving gives new bytes for the same statement.
    function _checkTiming(
        Market storage m,
        uint256 marketId,
        uint256 provenTimestamp
    ) private view returns (uint64 dataTimestamp) {
        uint64 last = m.dataTimestamp;
        // Compared as uint256 before any narrowing: the signal may be any field element.
        if (provenTimestamp <= last) revert OracleNotNewer(marketId, uint64(provenTimestamp), last);
        if (provenTimestamp > block.timestamp) revert OracleFutureData(provenTimestamp, uint64(block.timestamp));
        dataTimestamp = uint64(provenTimestamp); // <= block.timestamp < 2^64
        if (block.timestamp - dataTimestamp > m.maxDataAge) {
            revert OracleStaleData(dataTimestamp, uint64(block.timestamp), m.maxDataAge);
        }
        uint64 updatedAt = m.updatedAt;
        if (updatedAt != 0) {
            uint64 earliest = updatedAt + m.minUpdateInterval;
            if (block.timestamp < earliest) revert OracleUpdateTooSoon(marketId, updatedAt, earliest);
        }
    }

    /// @dev Bounds, IM >= MM, then the rate of change from the previous update (none for the first update).
    function _checkMargins(
        Market storage m,
        uint256 provenMm,
        uint256 provenIm
    ) private view returns (uint16 mm, uint16 im) {
        if (provenMm < m.minMaintenanceMarginBps || provenMm > m.maxMaintenanceMarginBps) {
            revert OracleMarginOutOfBounds(
                Margin.Maintenance,
                provenMm,
                m.minMaintenanceMarginBps,
                m.maxMaintenanceMarginBps
            );
        }
        if (provenIm < m.minInitialMarginBps || provenIm > m.maxInitialMarginBps) {
            revert OracleMarginOutOfBounds(Margin.Initial, provenIm, m.minInitialMarginBps, m.maxInitialMarginBps);
        }
        if (provenIm < provenMm) revert OracleInitialBelowMaintenance(provenIm, provenMm);
        // Both are within bounds, and bounds are at most BPS, so they fit in 16 bits.
        mm = uint16(provenMm);
        im = uint16(provenIm);
        if (m.updatedAt != 0) {
            _checkChange(Margin.Maintenance, m.maintenanceMarginBps, mm, m.maxIncreaseBps, m.maxDecreaseBps);
            _checkChange(Margin.Initial, m.initialMarginBps, im, m.maxIncreaseBps, m.maxDecreaseBps);
        }
    }

    function _checkChange(
        Margin margin,
        uint16 previous,
        uint16 next,
        uint16 maxIncrease,
        uint16 maxDecrease
    ) private pure {
        if (next > previous && next - previous > maxIncrease) {
            revert OracleMarginIncreaseTooLarge(margin, previous, next, maxIncrease);
        }
        if (next < previous && previous - next > maxDecrease) {
            revert OracleMarginDecreaseTooLarge(margin, previous, next, maxDecrease);
        }
    }
}
