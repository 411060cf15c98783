// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ISignedBatchVerifier} from "./interfaces/ISignedBatchVerifier.sol";
import {ISignedUpdateVerifier} from "./interfaces/ISignedUpdateVerifier.sol";
import {IRiskOracle} from "./interfaces/IRiskOracle.sol";
import {PublicSignals} from "./PublicSignals.sol";

/// @title RiskOracle
/// @notice Guarded risk-parameter oracle: anyone may submit a market's maintenance and initial margin with a Groth16
///         proof that the market's registered model computed them from a candle window signed by a quorum of the
///         market's registered data publishers (`submitSignedUpdate`); the update is accepted only if the proof
///         verifies for the market's statement and the governance guards (bounds, rate of change, data age, update
///         interval) hold. A signed batch (`submitSignedBatch`) carries one proof for several markets under one
///         publisher set, whose quorum signed all their windows at once, each market under its own model (one batch
///         circuit, so one verifier, serves the models governance approved it for: same weights, per-market
///         calibration); every market passes the same guards, and the batch is all or nothing. An adaptive signed
///         batch (`submitAdaptiveBatch`) does the same for adaptive markets, each carrying its own adaptive update
///         (state before and after), through verifiers of a registry of their own. Governance
///         (`GOVERNOR_ROLE`) registers markets with their publisher set, rotates the set or the model
///         (`setPublisherSet`) and changes guards and guardian; a market's guardian can pause it. Nothing a submitter
///         says is trusted beyond what the proof binds.
/// @dev One market's configuration and state take eight storage slots (ten for an adaptive market), laid out so
///      that an update reads four (five for an adaptive market), each market of a batch two (of an adaptive batch
///      three), and each writes one (see `Market`); an adaptive market's update also reads and writes slot 9 while
///      an outcome waits past its bar s + 12. The update paths read slots 0 and 2 once each as words
///      (`_word`) and hand the guards those words, never the storage; the guards live in `_checkUpdate`, shared by
///      all update paths.
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
    ///      batch slots 0 and 2 (slots 1 and 6 only to name a mismatch); both write slot 2. An adaptive market's
    ///      update, and each market of an adaptive batch, also reads slot 8 (the latter not slots 4 and 5) and
    ///      writes slot 8 instead of slot 2: its last accepted update lives there with its state (`_HOT_*`), and
    ///      slot 2's MM, IM, data timestamp and acceptance time hold it only while slot 8's bar is 0
    ///      (`_adaptiveLive`). Slot 9 holds the older half of its ring of pending margins; an update reads it only
    ///      while slot 8 says it holds one (`_HOT_OLDER`), and writes it only when its pending margins change and
    ///      some remain (emptied, only slot 8's flag is cleared). The `_S0_*` and
    ///      `_S2_*` offsets below are the bit offsets of slots 0 and 2's fields in this packing.
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
        // slot 2: read and written by every update
        uint32 minUpdateInterval;
        uint32 maxDataAge;
        uint16 maintenanceMarginBps;
        uint16 initialMarginBps;
        uint64 dataTimestamp;
        uint64 updatedAt;
        bool paused;
        // bit 0 (`_ADAPTIVE_MARKET`): the market is adaptive (`setAdaptiveCalibration`); bit 1
        // (`_ADAPTIVE_VERIFIER`): its verifier's `adaptiveLayout()` (`setPublisherSet`). A signed update is taken
        // only where both bits agree.
        uint8 adaptiveFlags;
        // the batch group of the market's (model commitment, publisher set): `_batchGroupOf`
        uint16 batchGroup;
        // slot 3: read by governance, pause and unpause, and by a single-market update only on a chain other than
        // the one the oracle was deployed on (29 bytes)
        address guardian;
        uint8 quorum;
        // the chain id the statement key was registered on (`_verifySigned`)
        uint64 statementChainId;
        // slots 4, 5: read by every single-market update. The statement base IC0 + statementKey * IC2 of the verifier's
        // key (`ISignedUpdateVerifier.statementBase`): the statement's part of every proof check, computed once.
        uint256 statementBaseX;
        uint256 statementBaseY;
        // slot 6: read by governance, views and every market of a batch
        uint256 publisherSet;
        // slot 7: read only by governance and views
        uint256 statementKey;
        // slot 8: an adaptive market's state and last accepted update, read and written by its updates (`_HOT_*`
        // below): the ring of pending margins' positions 0 to 11 (position p holds the maintenance margin accepted
        // for the bar p bars before the last accepted one while its outcome is pending, else 0; a bar is a data
        // timestamp / 7200) and the last IM, as 13 digits in base 10001, then num (27 bits), outcomes (11 bits), the
        // last accepted bar (27 bits), the acceptance time after the bar's open time (17 bits) and whether slot 9
        // holds a pending margin (1 bit).
        uint256 adaptiveState;
        // slot 9: the ring's positions 12 to 23 as 12 digits in base 10001, and `_OLDER_IN_USE`. Read by an adaptive
        // update only while it holds a pending margin (after an outcome stayed pending past its bar s + 12, which
        // got no accepted update), and written only when its pending margins change and some remain.
        uint256 adaptiveOlder;
    }

    /// @dev A batch composition's base point, `IC0 + sum of constant_j * IC_j` of its verifier's key
    ///      (`ISignedBatchVerifier.batchBase`); (0, 0) when not computed yet.
    struct BatchBase {
        uint256 x;
        uint256 y;
    }

    /// @dev Bit offsets of slot 0's fields (`Market`): the verifier at bit 0, then the six limits of 16 bits.
    uint256 private constant _S0_MIN_MM = 160;
    uint256 private constant _S0_MAX_MM = 176;
    uint256 private constant _S0_MIN_IM = 192;
    uint256 private constant _S0_MAX_IM = 208;
    uint256 private constant _S0_MAX_INCREASE = 224;
    uint256 private constant _S0_MAX_DECREASE = 240;
    /// @dev Bit offsets of slot 2's fields (`Market`): min update interval at bit 0, max data age, MM, IM, data
    ///      timestamp, acceptance time, then paused (a bool is a byte; true is 1) and the adaptive flags' byte.
    uint256 private constant _S2_MAX_DATA_AGE = 32;
    uint256 private constant _S2_MM = 64;
    uint256 private constant _S2_IM = 80;
    uint256 private constant _S2_DATA_TIMESTAMP = 96;
    uint256 private constant _S2_UPDATED_AT = 160;
    uint256 private constant _S2_PAUSED = 1 << 224;
    uint256 private constant _S2_ADAPTIVE = 1 << 232;
    uint256 private constant _S2_ADAPTIVE_VERIFIER = 1 << 233;
    /// @dev Both adaptive flags: a market takes signed updates when slot 2 has both or neither.
    uint256 private constant _S2_ADAPTIVE_FLAGS = _S2_ADAPTIVE | _S2_ADAPTIVE_VERIFIER;
    /// @dev `Market.adaptiveFlags`' bits: the market is adaptive; its verifier has the adaptive layout.
    uint8 private constant _ADAPTIVE_MARKET = 1;
    uint8 private constant _ADAPTIVE_VERIFIER = 2;
    uint256 private constant _S2_BATCH_GROUP = 240;
    /// @dev Slot 2's last accepted update (MM, IM, data timestamp, acceptance time: bits 64 to 223).
    uint256 private constant _S2_LAST_MASK = ((1 << 224) - 1) ^ ((1 << 64) - 1);

    /// @dev An adaptive market's pending margins (models/adaptive.ts `PendingOutcomes`) are a ring of 24 positions
    ///      by age: position p holds the maintenance margin accepted for bar lastBar - p (lastBar: the last accepted
    ///      bar) while its outcome is pending, else 0. An update for bar t = lastBar + gap processes the oldest
    ///      pending bar s of t - 23 .. t - 12, positions 12 - gap .. 23 - gap, clears it, moves every entry gap
    ///      positions on, which drops the ones past position 23 (bars before t - 23), and puts bar t's margin at
    ///      position 0 (`_ringStep`): no entry is ever cleared by bar number. Positions 0 to 11 are slot 8's digits:
    ///      every pending margin of a market updated at every bar (bars t - 12 .. t - 1 at the update for t), and
    ///      position 0 is the last accepted MM. Positions 12 to 23 are slot 9's, in use only while an outcome waits
    ///      past its bar s + 12 (a lag above 0).
    ///      Slot 8 (`Market.adaptiveState`), 256 bits: bits 0-172 hold 13 digits in base 10001 (a margin is at most
    ///      10000 bps), digit i < 12 the ring's position i, digit 12 the last accepted IM; then num, outcomes, the
    ///      last accepted bar (0: the last accepted update is slot 2's), the acceptance time minus the bar's open
    ///      time, and at bit 255 whether slot 9 holds a pending margin. 10001^13 < 2^173; a bar at or above 2^27 (a
    ///      data timestamp after the year 32,600) is not held in slot 8 but in slot 2, as a late update is.
    ///      Literals, not expressions: a constant's expression is evaluated at each use.
    uint256 private constant _RADIX = 10_001;
    /// @dev 10001^12, the IM digit's weight.
    uint256 private constant _HOT_IM_WEIGHT = 1001200660220049507920924079204950220006600120001;
    uint256 private constant _HOT_DIGITS_MASK = (1 << 173) - 1;
    uint256 private constant _HOT_NUM_SHIFT = 173;
    uint256 private constant _HOT_OUTCOMES_SHIFT = 200;
    uint256 private constant _HOT_BAR_SHIFT = 211;
    uint256 private constant _HOT_BAR_MASK = (1 << 27) - 1;
    uint256 private constant _HOT_DELAY_SHIFT = 238;
    /// @dev Largest acceptance delay (block time minus data timestamp, s) slot 8 holds: 2^17 - 1, 36.4 hours. An
    ///      update accepted later stores its last update in slot 2 (one more slot written, `_nextAdaptiveState`).
    uint256 private constant _HOT_MAX_DELAY = (1 << 17) - 1;
    /// @dev Slot 8's bit 255: slot 9's digits are not all 0.
    uint256 private constant _HOT_OLDER = 1 << 255;
    /// @dev Slot 9's bit 255, set by `setAdaptiveCalibration` and kept by every write: the slot is never 0 for an
    ///      adaptive market, so an update that fills it pays a change (2,900 gas), not a new slot (20,000).
    uint256 private constant _OLDER_IN_USE = 1 << 255;
    uint256 private constant _NUM_MASK = (1 << PublicSignals.ADAPTIVE_NUM_BITS) - 1;
    /// @dev Masks of a batch's data timestamp, digest bits and margins (`PublicSignals.sol`).
    uint256 private constant _BATCH_TIMESTAMP_MASK = (1 << PublicSignals.BATCH_TIMESTAMP_BITS) - 1;
    uint256 private constant _BATCH_DIGEST_MASK = (1 << PublicSignals.BATCH_DIGEST_BITS) - 1;
    uint256 private constant _BATCH_MARGIN_MASK = (1 << PublicSignals.BATCH_MARGIN_BITS) - 1;
    uint256 private constant _OUTCOMES_MASK = (1 << PublicSignals.ADAPTIVE_OUTCOMES_BITS) - 1;

    mapping(uint256 marketId => Market) private _markets;
    mapping(uint256 modelCommitment => mapping(uint256 n => address verifier)) private _batchVerifiers;
    /// @dev Batch groups: each (model commitment, publisher set) pair a market was ever registered with has one id,
    ///      from 1, given in the order of first use (`_batchGroup`), keyed by `keccak256(abi.encode(model, set))`. A
    ///      market stores its pair's id in slot 2, so a batch checks each market's model and publisher set with one
    ///      field of the slot it reads anyway, against the proven pair's id read once per batch.
    mapping(bytes32 pair => uint16 group) private _batchGroupOf;
    uint16 private _batchGroupCount;
    /// @dev Batch bases, keyed by `keccak256(abi.encodePacked(verifier, n, marketIds, models, set, domain))` (the n
    ///      market ids, then their n models: both have n words, so the packing is unambiguous): stored by the first
    ///      batch of each composition (`_batchBase`), read by the later ones.
    mapping(bytes32 composition => BatchBase) private _batchBases;
    /// @dev Verifiers of adaptive batches (`setAdaptiveBatchVerifier`), apart from `_batchVerifiers`: the two
    ///      circuits' varying signals mean different things, so neither path may reach the other's verifiers. Last,
    ///      so the slots before it keep their places.
    mapping(uint256 modelCommitment => mapping(uint256 n => address verifier)) private _adaptiveBatchVerifiers;
    /// @dev The market each statement key was first registered for (`_writePublisherSet`): a key hashes its market id,
    ///      so no other market may hold it (its proofs would verify against that market's base). After the other
    ///      mappings, so their slots keep their places.
    mapping(uint256 statementKey => uint256 marketId) private _statementKeyMarkets;

    /// @dev The chain id at deployment. A statement key hashes the domain, and with it the chain id of its
    ///      registration; on another chain (a fork after a split) a market takes single-market updates only once its
    ///      key is registered there again (`_verifySigned`). On this chain the check costs no storage read.
    uint256 private immutable _deploymentChainId = block.chainid;

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
        _checkBatchVerifier(modelCommitment, n, verifier);
        _batchVerifiers[modelCommitment][n] = verifier;
        emit BatchVerifierSet(modelCommitment, n, verifier);
    }

    /// @inheritdoc IRiskOracle
    function setAdaptiveBatchVerifier(
        uint256 modelCommitment,
        uint256 n,
        address verifier
    ) external onlyRole(GOVERNOR_ROLE) {
        // Not 1: there a plain batch verifier has as many varying signals as an adaptive one (IRiskOracle).
        if (n < 2 || n > PublicSignals.BATCH_MAX_MARKETS) revert OracleInvalidBatchSize(n);
        _checkBatchVerifier(modelCommitment, n, verifier);
        _adaptiveBatchVerifiers[modelCommitment][n] = verifier;
        emit AdaptiveBatchVerifierSet(modelCommitment, n, verifier);
    }

    /// @dev A batch verifier entry governance may set: a model commitment below p, and a verifier that is the zero
    ///      address (removal) or a contract whose `batchSize()` is `n`.
    function _checkBatchVerifier(uint256 modelCommitment, uint256 n, address verifier) private view {
        _checkModelCommitment(modelCommitment);
        if (verifier != address(0)) {
            if (verifier.code.length == 0) revert OracleInvalidVerifier(verifier);
            bytes memory size = _verifierView(verifier, abi.encodeCall(ISignedBatchVerifier.batchSize, ()), 1);
            if (abi.decode(size, (uint256)) != n) revert OracleInvalidVerifier(verifier);
        }
    }

    /// @inheritdoc IRiskOracle
    function setPublisherSet(uint256 marketId, PublisherSetConfig calldata config) external onlyRole(GOVERNOR_ROLE) {
        _writePublisherSet(_market(marketId), marketId, config);
    }

    /// @dev Check and store a market's publisher set and statement (registration and rotation alike), announcing the
    ///      change from the previous one (all zero at registration).
    function _writePublisherSet(Market storage m, uint256 marketId, PublisherSetConfig calldata config) private {
        _checkModel(address(config.verifier), config.modelCommitment);
        // An adaptive market's state (num, outcomes, pending margins) was earned under its model: another model
        // starts from its own num, after the market was made plain (`setAdaptiveCalibration`). None at registration.
        if (m.adaptiveFlags & _ADAPTIVE_MARKET != 0 && config.modelCommitment != m.modelCommitment) {
            revert OracleAdaptiveModelChange(marketId, m.modelCommitment, config.modelCommitment);
        }
        if (config.publisherSet == 0 || config.publisherSet >= SNARK_SCALAR_FIELD) {
            revert OracleInvalidPublisherSet(config.publisherSet);
        }
        if (config.quorum == 0) revert OracleInvalidQuorum(config.quorum);
        if (config.statementKey == 0 || config.statementKey >= SNARK_SCALAR_FIELD) {
            revert OracleInvalidStatementKey(config.statementKey);
        }
        // The oracle cannot check that the key hashes this market's id, but it can refuse another market's key.
        uint256 keyMarket = _statementKeyMarkets[config.statementKey];
        if (keyMarket == 0) {
            _statementKeyMarkets[config.statementKey] = marketId;
        } else if (keyMarket != marketId) {
            revert OracleStatementKeyInUse(config.statementKey, keyMarket);
        }
        address verifier = address(config.verifier);
        // The statement's part of every proof check of this market, from the verifier that will check them.
        (m.statementBaseX, m.statementBaseY) = abi.decode(
            _verifierView(verifier, abi.encodeCall(ISignedUpdateVerifier.statementBase, (config.statementKey)), 2),
            (uint256, uint256)
        );
        // The layout of the verifier's updates, which a signed update's path must match (`submitSignedUpdate`): a
        // bool, so 0 or 1.
        uint8 flags = m.adaptiveFlags & _ADAPTIVE_MARKET;
        uint256 layout = abi.decode(
            _verifierView(verifier, abi.encodeCall(ISignedUpdateVerifier.adaptiveLayout, ()), 1),
            (uint256)
        );
        if (layout > 1) revert OracleInvalidVerifier(verifier);
        if (layout == 1) flags |= _ADAPTIVE_VERIFIER;
        m.adaptiveFlags = flags;
        if (flags == _ADAPTIVE_MARKET | _ADAPTIVE_VERIFIER) {
            _checkAdaptiveNum(config.verifier, marketId, (m.adaptiveState >> _HOT_NUM_SHIFT) & _NUM_MASK);
        }
        emit PublisherSetChanged(marketId, _publisherSetOf(m), config);
        m.batchGroup = _batchGroup(config.modelCommitment, config.publisherSet);
        m.verifier = verifier;
        m.modelCommitment = config.modelCommitment;
        m.publisherSet = config.publisherSet;
        m.quorum = config.quorum;
        m.statementKey = config.statementKey;
        // Chain ids are below 2^63 (EIP-2294), so the cast keeps them.
        m.statementChainId = uint64(block.chainid);
    }

    /// @dev Refuse an adaptive market's num outside its adaptive verifier's clamp: the circuit has no witness for a
    ///      prior there, so the market could never be updated (until governance set it again).
    function _checkAdaptiveNum(ISignedUpdateVerifier verifier, uint256 marketId, uint256 num) private view {
        (uint256 minNum, uint256 maxNum) = abi.decode(
            _verifierView(address(verifier), abi.encodeCall(ISignedUpdateVerifier.adaptiveNumBounds, ()), 2),
            (uint256, uint256)
        );
        if (num < minNum || num > maxNum) revert OracleAdaptiveNumOutOfRange(marketId, num, minNum, maxNum);
    }

    /// @dev A verifier's answer to a view call governance's checks make (`data`: selector and arguments), at least
    ///      `words` 32-byte words, else `OracleInvalidVerifier`: a call that fails, and an answer too short to decode,
    ///      which `try ... returns` would not catch (its decoding reverts in the caller, without reason data).
    function _verifierView(
        address verifier,
        bytes memory data,
        uint256 words
    ) private view returns (bytes memory answer) {
        bool ok;
        // solhint-disable-next-line avoid-low-level-calls
        (ok, answer) = verifier.staticcall(data);
        if (!ok || answer.length < 32 * words) revert OracleInvalidVerifier(verifier);
    }

    /// @dev The batch group of a (model commitment, publisher set) pair, a new one for a pair not seen before.
    function _batchGroup(uint256 modelCommitment, uint256 set) private returns (uint16 group) {
        bytes32 pair = keccak256(abi.encode(modelCommitment, set));
        group = _batchGroupOf[pair];
        if (group == 0) {
            if (_batchGroupCount == type(uint16).max) revert OracleTooManyBatchGroups();
            group = ++_batchGroupCount;
            _batchGroupOf[pair] = group;
        }
    }

    /// @inheritdoc IRiskOracle
    function setAdaptiveCalibration(uint256 marketId, uint32 num) external onlyRole(GOVERNOR_ROLE) {
        Market storage m = _market(marketId);
        if (num > _NUM_MASK) revert OracleInvalidAdaptiveNum(num);
        if (num != 0 && m.adaptiveFlags & _ADAPTIVE_VERIFIER != 0) {
            _checkAdaptiveNum(ISignedUpdateVerifier(m.verifier), marketId, num);
        }
        // An adaptive market's last update moves to slot 2 before its state is reset: the guards carry over.
        uint8 flags = m.adaptiveFlags;
        if (flags & _ADAPTIVE_MARKET != 0) _setWord(m, 2, _adaptiveLive(_word(m, 2), m.adaptiveState));
        flags &= ~_ADAPTIVE_MARKET;
        if (num != 0) flags |= _ADAPTIVE_MARKET;
        m.adaptiveFlags = flags;
        // No outcome pending: both halves of the ring empty.
        m.adaptiveState = uint256(num) << _HOT_NUM_SHIFT;
        m.adaptiveOlder = num != 0 ? _OLDER_IN_USE : 0;
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
        Market storage m = _markets[marketId];
        uint256 head = _word(m, 0);
        if (uint160(head) == 0) revert OracleUnknownMarket(marketId);
        uint256 live = _word(m, 2);
        if (live & _S2_PAUSED != 0) revert OracleMarketPaused(marketId);
        if (live & _S2_ADAPTIVE_FLAGS != 0) {
            // Both flags, or the proof's layout is not the market's: a plain market must not read an adaptive proof
            // (its prior would never be compared), nor an adaptive market a plain one.
            if (live & _S2_ADAPTIVE_FLAGS != _S2_ADAPTIVE_FLAGS) {
                revert OracleAdaptiveLayoutMismatch(
                    marketId,
                    live & _S2_ADAPTIVE != 0,
                    live & _S2_ADAPTIVE_VERIFIER != 0
                );
            }
            return _submitAdaptive(m, marketId, head, live, pA, pB, pC, update);
        }
        // Below 2^252 (so below r), and then the unpacking is exact: timestamp < 2^40, digest bits < 2^180.
        if (update >> PublicSignals.UPDATE_BITS != 0) revert OracleMalformedUpdate(update);
        (uint64 dataTimestamp, uint16 mm, uint16 im) = _checkUpdate(
            head,
            live,
            marketId,
            (update >> PublicSignals.PACKED_DATA_TIMESTAMP_SHIFT) & type(uint40).max,
            update & type(uint16).max,
            (update >> PublicSignals.PACKED_INITIAL_MARGIN_SHIFT) & type(uint16).max
        );
        // Last: the pairing check costs most. The statement base binds the proof to this market's statement key.
        _verifySigned(m, head, marketId, pA, pB, pC, update);
        _setWord(m, 2, _withLast(live, mm, im, dataTimestamp, block.timestamp));
        emit SignedParametersUpdated(marketId, mm, im, dataTimestamp, update >> PublicSignals.UPDATE_DIGEST_SHIFT);
    }

    /// @dev `submitSignedUpdate` for an adaptive market: well formed (below 2^253, so below r, and every part
    ///      unpacks exactly), a bar's open time, the guards of every update against the last accepted update
    ///      (`_adaptiveLive`), then its prior (num, outcomes, the oldest pending bar s's MM and its lag) equal to the
    ///      one built from storage (`_checkAdaptive`, `_checkPrior`), the proof, and the new state with the update
    ///      in slot 8 (`_nextAdaptiveState`), slot 9 where the ring's older half changed.
    function _submitAdaptive(
        Market storage m,
        uint256 marketId,
        uint256 head,
        uint256 cfg,
        uint256[2] calldata pA,
        uint256[2][2] calldata pB,
        uint256[2] calldata pC,
        uint256 update
    ) private {
        if (update >> PublicSignals.ADAPTIVE_UPDATE_BITS != 0) revert OracleMalformedUpdate(update);
        uint256 state = m.adaptiveState;
        (uint256 accepted, uint256 gap) = _checkAdaptive(head, cfg, state, marketId, update);
        // Slot 9 read only where slot 8 says it holds a pending margin (`_olderOf`, inline: a call costs 40 gas).
        (uint256 ring, uint256 olderWord) = _checkPrior(
            state,
            state & _HOT_OLDER == 0 ? 0 : m.adaptiveOlder & _HOT_DIGITS_MASK,
            gap,
            marketId,
            update
        );
        _verifySigned(m, head, marketId, pA, pB, pC, update);
        (uint256 next, bool spill) = _nextAdaptiveState(ring, accepted, update);
        m.adaptiveState = next;
        if (olderWord != 0) m.adaptiveOlder = olderWord;
        if (spill) _setWord(m, 2, accepted);
        emit AdaptiveParametersUpdated(marketId, update);
    }

    /// @dev The checks of a well-formed adaptive update before its prior's: a bar's open time and the guards of
    ///      every update. Returns slot 2 (`cfg`) with the update as its last one, and the bars from the last
    ///      accepted update's to the update's (>= 1).
    function _checkAdaptive(
        uint256 head,
        uint256 cfg,
        uint256 state,
        uint256 marketId,
        uint256 update
    ) private view returns (uint256 accepted, uint256 gap) {
        uint256 provenTimestamp = (update >> PublicSignals.PACKED_DATA_TIMESTAMP_SHIFT) & type(uint40).max;
        if (provenTimestamp % PublicSignals.ADAPTIVE_BAR_SECONDS != 0) revert OracleUnalignedBar(provenTimestamp);
        uint256 live = _adaptiveLive(cfg, state);
        (uint64 dataTimestamp, uint16 mm, uint16 im) = _checkUpdate(
            head,
            live,
            marketId,
            provenTimestamp,
            update & type(uint16).max,
            (update >> PublicSignals.PACKED_INITIAL_MARGIN_SHIFT) & type(uint16).max
        );
        // Unchecked: the timestamp is newer than the last one and a multiple of the bar, so its bar is later.
        unchecked {
            gap =
                dataTimestamp /
                PublicSignals.ADAPTIVE_BAR_SECONDS -
                uint64(live >> _S2_DATA_TIMESTAMP) /
                PublicSignals.ADAPTIVE_BAR_SECONDS;
        }
        accepted = _withLast(cfg, mm, im, dataTimestamp, block.timestamp);
    }

    /// @dev An adaptive update's prior, `gap` bars after the last accepted one, equal to the one built from storage
    ///      (slot 8 `state`, slot 9's digits `older`), else revert; then the ring after the update (`_ringStep`, the
    ///      update's MM at position 0). Returns slot 8's ring digits with `_HOT_OLDER`, and slot 9's next word where
    ///      it holds a pending margin and differs from `older` (0: not to be written, as when the older half empties:
    ///      `_HOT_OLDER` then says so and slot 9 is not read; a written word has `_OLDER_IN_USE`).
    function _checkPrior(
        uint256 state,
        uint256 older,
        uint256 gap,
        uint256 marketId,
        uint256 update
    ) private pure returns (uint256 ring, uint256 olderWord) {
        (uint256 marginS, uint256 lag, uint256 recent, uint256 nextOlder) = _ringStep(
            (state & _HOT_DIGITS_MASK) % _HOT_IM_WEIGHT,
            older,
            gap,
            update & type(uint16).max
        );
        uint256 expected = _adaptivePrior(state, marginS, lag);
        uint256 proven = (update >> PublicSignals.ADAPTIVE_PRIOR_SHIFT) &
            ((1 << PublicSignals.ADAPTIVE_PRIOR_BITS) - 1);
        if (proven != expected) revert OracleAdaptiveStateMismatch(marketId, expected, proven);
        ring = nextOlder != 0 ? recent | _HOT_OLDER : recent;
        if (nextOlder != 0 && nextOlder != older) olderWord = nextOlder | _OLDER_IN_USE;
    }

    /// @dev Slot 8 after an accepted adaptive update (`accepted`, slot 2 with it as the last update): the ring's
    ///      recent half and slot 9's flag (`ring`, from `_checkPrior`), the new IM, the proven num and outcomes, the
    ///      bar and the acceptance delay. `spill` when the delay does not fit (over 36.4 hours) or the bar does not
    ///      (2^27 or more): slot 8's bar is then 0 and the caller writes `accepted` to slot 2.
    function _nextAdaptiveState(
        uint256 ring,
        uint256 accepted,
        uint256 update
    ) private view returns (uint256 next, bool spill) {
        // Unchecked: the ring's digits are below 10001^12, the IM at most 10000, and the data is not in the future.
        unchecked {
            uint256 dataTimestamp = uint64(accepted >> _S2_DATA_TIMESTAMP);
            uint256 bar = dataTimestamp / PublicSignals.ADAPTIVE_BAR_SECONDS;
            uint256 proven = update >> PublicSignals.ADAPTIVE_NEW_NUM_SHIFT;
            next =
                (ring + uint256(uint16(accepted >> _S2_IM)) * _HOT_IM_WEIGHT) |
                ((proven & _NUM_MASK) << _HOT_NUM_SHIFT) |
                (((proven >> PublicSignals.ADAPTIVE_NUM_BITS) & _OUTCOMES_MASK) << _HOT_OUTCOMES_SHIFT);
            uint256 delay = block.timestamp - dataTimestamp; // <= maxDataAge: _checkTiming
            spill = delay > _HOT_MAX_DELAY || bar > _HOT_BAR_MASK;
            if (!spill) next |= (bar << _HOT_BAR_SHIFT) | (delay << _HOT_DELAY_SHIFT);
        }
    }

    /// @dev The ring step of an adaptive update for bar t, `gap` (>= 1) bars after the last accepted bar (`recent`:
    ///      the ring's positions 0 to 11 from slot 8, `older`: 12 to 23 from slot 9, each as 12 digits). The outcome
    ///      it processes is the oldest pending margin of bars t - 23 .. t - 12, the positions 12 - gap .. 23 - gap:
    ///      returns that margin and its lag, t - 12 - s = its position + gap - 12 (0 to 11), or (0, 0) when none is
    ///      pending there. And the ring after the update: that entry cleared, every entry moved `gap` positions on
    ///      (those past position 23, bars before t - 23, dropped: their outcomes are lost) and `mm` at position 0.
    function _ringStep(
        uint256 recent,
        uint256 older,
        uint256 gap,
        uint256 mm
    ) private pure returns (uint256 marginS, uint256 lag, uint256 nextRecent, uint256 nextOlder) {
        // Unchecked: every exponent is below 13 (`**` is then the EXP opcode, not a checked loop), each digit is at
        // most 10000, a cleared digit is taken out of the number it was read from, and the digits moved keep both
        // halves below 10001^12.
        unchecked {
            uint256 weight;
            if (gap < PublicSignals.ADAPTIVE_HORIZON_BARS) {
                uint256 split = _RADIX ** (PublicSignals.ADAPTIVE_HORIZON_BARS - gap);
                // positions 12 .. 23 - gap: slot 9's digits 0 .. 11 - gap (those above are before t - 23)
                uint256 oldest = older % split;
                // positions 12 - gap .. 11: slot 8's top gap digits, which move to slot 9
                uint256 moving = recent / split;
                if (oldest != 0) {
                    (marginS, weight, lag) = _topDigit(oldest);
                    oldest -= marginS * weight;
                    lag += gap; // position 12 + index
                } else if (moving != 0) {
                    (marginS, weight, lag) = _topDigit(moving); // position 12 - gap + index: lag index
                    moving -= marginS * weight;
                }
                uint256 up = _RADIX ** gap;
                nextOlder = oldest * up + moving;
                nextRecent = (recent % split) * up + mm;
            } else {
                if (gap < PublicSignals.ADAPTIVE_RING_BARS) {
                    // positions 0 .. 23 - gap, all in slot 8 (slot 9's are all before t - 23): to slot 9
                    uint256 moving = recent % _RADIX ** (PublicSignals.ADAPTIVE_RING_BARS - gap);
                    if (moving != 0) {
                        (marginS, weight, lag) = _topDigit(moving);
                        moving -= marginS * weight;
                        lag += gap - PublicSignals.ADAPTIVE_HORIZON_BARS; // position index
                    }
                    nextOlder = moving * _RADIX ** (gap - PublicSignals.ADAPTIVE_HORIZON_BARS);
                }
                nextRecent = mm;
            }
        }
    }

    /// @dev The most significant nonzero base-10001 digit of `x` (0 < x < 10001^12), its weight and its index.
    function _topDigit(uint256 x) private pure returns (uint256 digit, uint256 weight, uint256 index) {
        // Unchecked: weight * 10001 <= 10001^12 < 2^160.
        unchecked {
            weight = 1;
            while (weight * _RADIX <= x) {
                weight *= _RADIX;
                ++index;
            }
            digit = x / weight;
        }
    }

    /// @dev Slot 9's digits where slot 8 (`state`) says they hold a pending margin, else 0 without reading it.
    function _olderOf(Market storage m, uint256 state) private view returns (uint256) {
        return state & _HOT_OLDER == 0 ? 0 : m.adaptiveOlder & _HOT_DIGITS_MASK;
    }

    /// @dev The proof of a signed update against the market's statement base, or revert. A staticcall (view), so the
    ///      verifier cannot re-enter. Off the deployment chain, the statement key must have been registered on this
    ///      chain: a key registered before a chain split binds the original chain's domain, so the proofs it verifies
    ///      are the original chain's, which must not move the fork's margins.
    function _verifySigned(
        Market storage m,
        uint256 head,
        uint256 marketId,
        uint256[2] calldata pA,
        uint256[2][2] calldata pB,
        uint256[2] calldata pC,
        uint256 update
    ) private view {
        if (block.chainid != _deploymentChainId && block.chainid != m.statementChainId) {
            revert OracleStatementOfAnotherChain(marketId, m.statementChainId, block.chainid);
        }
        ISignedUpdateVerifier verifier = ISignedUpdateVerifier(address(uint160(head)));
        if (!verifier.verifyProof(pA, pB, pC, update, m.statementBaseX, m.statementBaseY)) {
            revert OracleInvalidProof(marketId);
        }
    }

    /// @inheritdoc IRiskOracle
    function submitSignedBatch(
        uint256[2] calldata pA,
        uint256[2][2] calldata pB,
        uint256[2] calldata pC,
        uint256[] calldata marketIds,
        uint256[] calldata modelCommitments,
        uint256 publisherSet,
        uint256[] calldata update
    ) external {
        uint256 n = marketIds.length;
        if (n == 0 || n > PublicSignals.BATCH_MAX_MARKETS) revert OracleInvalidBatchSize(n);
        if (modelCommitments.length != n) revert OracleBatchModelCount(n, modelCommitments.length);
        if (update.length != _varyingCount(n)) revert OracleInvalidBatchSignalCount(n, update.length);
        for (uint256 k = 0; k < update.length; ++k) {
            if (update[k] >= SNARK_SCALAR_FIELD) revert OracleSignalNotInField(k, update[k]);
        }
        // Every market's guards (and every model's verifier) before the one proof check; nothing is written until
        // all have passed (but the base).
        address verifier = _checkBatchMarkets(marketIds, modelCommitments, publisherSet, update);
        (uint256 baseX, uint256 baseY) = _batchBase(verifier, marketIds, modelCommitments, publisherSet);
        // Last: the pairing check costs most. A staticcall (view), so the verifier cannot re-enter.
        if (!ISignedBatchVerifier(verifier).verifyProof(pA, pB, pC, update, baseX, baseY)) {
            revert OracleInvalidBatchProof(verifier, n);
        }
        _writeBatch(marketIds, update);
    }

    /// @dev Store every market of an accepted batch (its margins, the batch's data timestamp, the acceptance time) and
    ///      emit its `SignedBatchParametersUpdated`.
    function _writeBatch(uint256[] calldata marketIds, uint256[] calldata update) private {
        uint256 head = update[0];
        uint64 dataTimestamp = uint64(head & _BATCH_TIMESTAMP_MASK);
        uint256 digestBits = (head >> PublicSignals.BATCH_DIGEST_SHIFT) & _BATCH_DIGEST_MASK;
        for (uint256 i = 0; i < marketIds.length; ++i) {
            // Checked: within the bounds (at most 10000), so the narrowing is exact; i < n <= 32 fits uint8.
            uint256 margins = _batchMargins(update, i);
            (uint16 mm, uint16 im) = (uint16(margins), uint16(margins >> 16));
            uint256 marketId = marketIds[i];
            Market storage m = _markets[marketId];
            _setWord(m, 2, _withLast(_word(m, 2), mm, im, dataTimestamp, block.timestamp));
            emit SignedBatchParametersUpdated(marketId, mm, im, dataTimestamp, digestBits, uint8(i));
        }
    }

    /// @inheritdoc IRiskOracle
    function submitAdaptiveBatch(
        uint256[2] calldata pA,
        uint256[2][2] calldata pB,
        uint256[2] calldata pC,
        uint256[] calldata marketIds,
        uint256[] calldata modelCommitments,
        uint256 publisherSet,
        uint256[] calldata update
    ) external {
        // n in a block of its own: the proof check below needs every stack slot but one (no via-IR here).
        {
            uint256 n = marketIds.length;
            if (n < 2 || n > PublicSignals.BATCH_MAX_MARKETS) revert OracleInvalidBatchSize(n);
            if (modelCommitments.length != n) revert OracleBatchModelCount(n, modelCommitments.length);
            if (update.length != n) revert OracleInvalidBatchSignalCount(n, update.length);
            for (uint256 i = 0; i < n; ++i) {
                // Below 2^253 (so below r, as the verifier needs), and then every part unpacks exactly.
                if (update[i] >> PublicSignals.ADAPTIVE_UPDATE_BITS != 0) revert OracleMalformedUpdate(update[i]);
            }
        }
        // Every market's checks before the one proof check; nothing is written until all have passed (but the
        // base). Each market's next slot 8 (and slot 2 when it spills) is computed here, where its state is read.
        (address verifier, uint256[] memory next) = _checkAdaptiveBatchMarkets(
            marketIds,
            modelCommitments,
            publisherSet,
            update
        );
        (uint256 baseX, uint256 baseY) = _batchBase(verifier, marketIds, modelCommitments, publisherSet);
        // Last: the pairing check costs most. A staticcall (view), so the verifier cannot re-enter.
        if (!ISignedBatchVerifier(verifier).verifyProof(pA, pB, pC, update, baseX, baseY)) {
            revert OracleInvalidBatchProof(verifier, update.length);
        }
        _writeAdaptiveBatch(marketIds, update, next);
    }

    /// @dev `_checkBatchMarkets` for an adaptive batch: ids strictly increasing, the verifier of the first model in
    ///      the adaptive registry and every further model's the same (`_adaptiveBatchModel`), then each market's
    ///      `_checkAdaptiveBatchMarket` on its own update. Returns the batch's verifier and, per market i, its next
    ///      slot 8 at `next[3 i]`, its next slot 9 at `next[3 i + 1]` where it changes, else 0 (a written slot 9
    ///      has `_OLDER_IN_USE`), and at `next[3 i + 2]` slot 2 with its update when the update spills there
    ///      (`_nextAdaptiveState`), else 0 (slot 2 is never 0: its max data age is not). Interleaved, not in
    ///      thirds: `marketIds.length` is too deep in the stack at the assignment (no via-IR here).
    function _checkAdaptiveBatchMarkets(
        uint256[] calldata marketIds,
        uint256[] calldata provenModels,
        uint256 provenSet,
        uint256[] calldata update
    ) private view returns (address verifier, uint256[] memory next) {
        uint256 provenModel = provenModels[0];
        verifier = _adaptiveBatchVerifiers[provenModel][marketIds.length];
        if (verifier == address(0)) revert OracleNoAdaptiveBatchVerifier(provenModel, marketIds.length);
        uint256 provenGroup = _batchGroupOf[keccak256(abi.encode(provenModel, provenSet))];
        next = new uint256[](3 * marketIds.length);
        uint256 previousMarketId = 0;
        for (uint256 i = 0; i < marketIds.length; ++i) {
            uint256 marketId = marketIds[i];
            if (i != 0 && marketId <= previousMarketId) revert OracleBatchNotSorted(i, previousMarketId, marketId);
            if (provenModels[i] != provenModel) {
                provenModel = provenModels[i];
                provenGroup = _adaptiveBatchModel(marketIds.length, provenModel, provenSet, verifier);
            }
            (next[3 * i], next[3 * i + 1], next[3 * i + 2]) = _checkAdaptiveBatchMarket(
                provenModel,
                provenSet,
                provenGroup,
                marketId,
                update[i]
            );
            previousMarketId = marketId;
        }
    }

    /// @dev `_batchModel` in the adaptive registry: governance approved the adaptive batch circuit of the batch's
    ///      verifier for this model too (`setAdaptiveBatchVerifier(model, n, verifier)`).
    function _adaptiveBatchModel(
        uint256 n,
        uint256 model,
        uint256 set,
        address verifier
    ) private view returns (uint256 group) {
        address approved = _adaptiveBatchVerifiers[model][n];
        if (approved != verifier) {
            if (approved == address(0)) revert OracleNoAdaptiveBatchVerifier(model, n);
            revert OracleAdaptiveBatchVerifierMismatch(model, n, verifier, approved);
        }
        return _batchGroupOf[keccak256(abi.encode(model, set))];
    }

    /// @dev One market of an adaptive batch: known, not paused, adaptive, its model and publisher set the proof's
    ///      (its batch group), then the checks of an adaptive single update on its own update (`_checkAdaptive`:
    ///      bar, guards; `_checkPrior`: prior). Returns its next slot 8, its next slot 9 where it changes (else 0)
    ///      and, when the update spills, slot 2 with it (else 0). The proven pair comes first: it is used first, and
    ///      `_checkAdaptive` reaches the market and its update only from the top of the stack (no via-IR here).
    function _checkAdaptiveBatchMarket(
        uint256 provenModel,
        uint256 provenSet,
        uint256 provenGroup,
        uint256 marketId,
        uint256 update
    ) private view returns (uint256 next, uint256 olderWord, uint256 spilled) {
        Market storage m = _markets[marketId];
        uint256 head = _word(m, 0);
        if (uint160(head) == 0) revert OracleUnknownMarket(marketId);
        uint256 cfg = _word(m, 2);
        if (cfg & _S2_PAUSED != 0) revert OracleMarketPaused(marketId);
        if (cfg & _S2_ADAPTIVE == 0) revert OracleNotAdaptiveMarket(marketId);
        // As in `_checkBatchMarket`: the market's batch group is its proven pair's exactly when both are its own.
        if (uint16(cfg >> _S2_BATCH_GROUP) != provenGroup) _revertBatchPair(m, marketId, provenModel, provenSet);
        uint256 state = m.adaptiveState;
        (uint256 accepted, uint256 gap) = _checkAdaptive(head, cfg, state, marketId, update);
        uint256 ring;
        // Slot 9 read only where slot 8 says it holds a pending margin (`_olderOf`, inline as in `_submitAdaptive`).
        (ring, olderWord) = _checkPrior(
            state,
            state & _HOT_OLDER == 0 ? 0 : m.adaptiveOlder & _HOT_DIGITS_MASK,
            gap,
            marketId,
            update
        );
        bool spill;
        (next, spill) = _nextAdaptiveState(ring, accepted, update);
        if (spill) spilled = accepted;
    }

    /// @dev Store every market of an accepted adaptive batch as `_submitAdaptive` stores one (slot 8, slot 9 where it
    ///      changes, and slot 2 when the update spills: `next` from `_checkAdaptiveBatchMarkets`) and emit its
    ///      `AdaptiveBatchParametersUpdated`.
    function _writeAdaptiveBatch(
        uint256[] calldata marketIds,
        uint256[] calldata update,
        uint256[] memory next
    ) private {
        for (uint256 i = 0; i < marketIds.length; ++i) {
            uint256 marketId = marketIds[i];
            Market storage m = _markets[marketId];
            m.adaptiveState = next[3 * i];
            uint256 olderWord = next[3 * i + 1];
            if (olderWord != 0) m.adaptiveOlder = olderWord;
            uint256 spilled = next[3 * i + 2];
            if (spilled != 0) _setWord(m, 2, spilled);
            // Checked: i < n <= 32 fits uint8.
            emit AdaptiveBatchParametersUpdated(marketId, update[i], uint8(i));
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
        uint256 live = _lastOf(_market(marketId));
        updatedAt = uint64(live >> _S2_UPDATED_AT);
        if (updatedAt == 0) revert OracleNoParameters(marketId);
        return (uint16(live >> _S2_MM), uint16(live >> _S2_IM), uint64(live >> _S2_DATA_TIMESTAMP), updatedAt);
    }

    /// @inheritdoc IRiskOracle
    function isFresh(uint256 marketId, uint64 maxAge) external view returns (bool fresh) {
        uint256 live = _lastOf(_markets[marketId]);
        uint256 dataTimestamp = uint64(live >> _S2_DATA_TIMESTAMP);
        return uint64(live >> _S2_UPDATED_AT) != 0 && block.timestamp <= dataTimestamp + maxAge;
    }

    /// @inheritdoc IRiskOracle
    function readings(
        uint256[] calldata marketIds,
        uint64 maxAge
    ) external view returns (Reading[] memory values) {
        values = new Reading[](marketIds.length);
        for (uint256 i = 0; i < marketIds.length; ++i) {
            uint256 live = _lastOf(_markets[marketIds[i]]);
            Reading memory r = values[i];
            // A registered market's maximum data age is above 0 (`_checkLimits`), so slot 2 alone tells an unknown id.
            if (uint32(live >> _S2_MAX_DATA_AGE) == 0) continue; // r.status: UnknownMarket
            r.updatedAt = uint64(live >> _S2_UPDATED_AT);
            if (r.updatedAt == 0) {
                r.status = ReadingStatus.NoParameters;
                continue;
            }
            r.maintenanceMarginBps = uint16(live >> _S2_MM);
            r.initialMarginBps = uint16(live >> _S2_IM);
            r.dataTimestamp = uint64(live >> _S2_DATA_TIMESTAMP);
            if (live & _S2_PAUSED != 0) r.status = ReadingStatus.Paused;
            else if (block.timestamp > uint256(r.dataTimestamp) + maxAge) r.status = ReadingStatus.Stale;
            else r.status = ReadingStatus.Fresh;
        }
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
        return _batchVerifiers[modelCommitment][n];
    }

    /// @inheritdoc IRiskOracle
    function adaptiveBatchVerifier(uint256 modelCommitment, uint256 n) external view returns (address verifier) {
        return _adaptiveBatchVerifiers[modelCommitment][n];
    }

    /// @inheritdoc IRiskOracle
    function adaptiveState(
        uint256 marketId
    ) external view returns (uint32 num, uint16 outcomes, uint16[24] memory ring) {
        Market storage m = _market(marketId);
        uint256 state = m.adaptiveState;
        num = uint32((state >> _HOT_NUM_SHIFT) & _NUM_MASK);
        outcomes = uint16((state >> _HOT_OUTCOMES_SHIFT) & _OUTCOMES_MASK);
        // position p holds bar lastBar - p's margin: entry (lastBar - p) mod 24 of the view
        uint256 lastBar = uint64(_lastOf(m) >> _S2_DATA_TIMESTAMP) / PublicSignals.ADAPTIVE_BAR_SECONDS;
        uint256 recent = (state & _HOT_DIGITS_MASK) % _HOT_IM_WEIGHT;
        uint256 older = _olderOf(m, state);
        for (uint256 p = 0; p < PublicSignals.ADAPTIVE_HORIZON_BARS; ++p) {
            ring[(lastBar + PublicSignals.ADAPTIVE_RING_BARS - p) % PublicSignals.ADAPTIVE_RING_BARS] = uint16(
                recent % _RADIX
            );
            ring[(lastBar + PublicSignals.ADAPTIVE_HORIZON_BARS - p) % PublicSignals.ADAPTIVE_RING_BARS] = uint16(
                older % _RADIX
            );
            recent /= _RADIX;
            older /= _RADIX;
        }
    }

    /// @inheritdoc IRiskOracle
    function adaptivePrior(
        uint256 marketId,
        uint64 dataTimestamp
    ) external view returns (uint32 num, uint16 outcomes, uint16 marginS, uint8 lag) {
        Market storage m = _market(marketId);
        uint64 last = uint64(_lastOf(m) >> _S2_DATA_TIMESTAMP);
        uint256 bar = dataTimestamp / PublicSignals.ADAPTIVE_BAR_SECONDS;
        uint256 lastBar = last / PublicSignals.ADAPTIVE_BAR_SECONDS;
        if (bar <= lastBar) revert OracleNotNewer(marketId, dataTimestamp, last);
        uint256 state = m.adaptiveState;
        // the ring step a submit for this bar takes (its MM does not change the outcome it processes)
        (uint256 margin, uint256 pendingLag, , ) = _ringStep(
            (state & _HOT_DIGITS_MASK) % _HOT_IM_WEIGHT,
            _olderOf(m, state),
            bar - lastBar,
            0
        );
        num = uint32((state >> _HOT_NUM_SHIFT) & _NUM_MASK);
        outcomes = uint16((state >> _HOT_OUTCOMES_SHIFT) & _OUTCOMES_MASK);
        // Both fit: a margin is at most 10000, a lag at most 11.
        (marginS, lag) = (uint16(margin), uint8(pendingLag));
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
        // Every update needs IM >= MM: some (MM, IM) meets all bounds, (minMm, max(minIm, minMm)), exactly when
        // maxIm >= minMm.
        if (maxIm < minMm) revert OracleInitialBoundBelowMaintenance(maxIm, minMm);
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

    /// @dev The timing and margin guards of every update, the one owner of these rules for single and batched
    ///      updates, from slot 0 (`head`: the limits) and slot 2 with the last accepted update (`live`). Returns the
    ///      values to store, narrowed.
    function _checkUpdate(
        uint256 head,
        uint256 live,
        uint256 marketId,
        uint256 provenTimestamp,
        uint256 provenMm,
        uint256 provenIm
    ) private view returns (uint64 dataTimestamp, uint16 mm, uint16 im) {
        dataTimestamp = _checkTiming(live, marketId, provenTimestamp);
        (mm, im) = _checkMargins(head, live, provenMm, provenIm);
    }

    /// @dev Storage slot `offset` of a market as one word (slots 0 and 2 hold the fields the updates read).
    function _word(Market storage m, uint256 offset) private view returns (uint256 value) {
        // solhint-disable-next-line no-inline-assembly
        assembly {
            value := sload(add(m.slot, offset))
        }
    }

    /// @dev Write storage slot `offset` of a market as one word.
    function _setWord(Market storage m, uint256 offset, uint256 value) private {
        // solhint-disable-next-line no-inline-assembly
        assembly {
            sstore(add(m.slot, offset), value)
        }
    }

    /// @dev Slot 2 (`cfg`) with an accepted update as its last one: margins, data timestamp, acceptance time.
    function _withLast(
        uint256 cfg,
        uint16 mm,
        uint16 im,
        uint64 dataTimestamp,
        uint256 updatedAt
    ) private pure returns (uint256) {
        return
            (cfg & ~_S2_LAST_MASK) |
            (uint256(mm) << _S2_MM) |
            (uint256(im) << _S2_IM) |
            (uint256(dataTimestamp) << _S2_DATA_TIMESTAMP) |
            (uint256(uint64(updatedAt)) << _S2_UPDATED_AT);
    }

    /// @dev Slot 2 of an adaptive market (`cfg`) with its last accepted update from slot 8 (`state`): its MM is the
    ///      ring's position 0, its IM digit 12, the data timestamp bar * 7200 and the acceptance time that plus the
    ///      stored delay. Slot 8's bar 0 (no adaptive update since `setAdaptiveCalibration`, or one accepted too late
    ///      for slot 8): slot 2 holds it already.
    function _adaptiveLive(uint256 cfg, uint256 state) private pure returns (uint256) {
        uint256 bar = (state >> _HOT_BAR_SHIFT) & _HOT_BAR_MASK;
        if (bar == 0) return cfg;
        uint256 digits = state & _HOT_DIGITS_MASK;
        // Unchecked: bar < 2^27 and the delay < 2^17, so the times stay below 2^40.
        unchecked {
            uint256 dataTimestamp = bar * PublicSignals.ADAPTIVE_BAR_SECONDS;
            return
                _withLast(
                    cfg,
                    uint16(digits % _RADIX),
                    uint16(digits / _HOT_IM_WEIGHT),
                    uint64(dataTimestamp),
                    dataTimestamp + ((state >> _HOT_DELAY_SHIFT) & _HOT_MAX_DELAY)
                );
        }
    }

    /// @dev Slot 2 of a market with its last accepted update, wherever it is stored.
    function _lastOf(Market storage m) private view returns (uint256 live) {
        live = _word(m, 2);
        if (live & _S2_ADAPTIVE != 0) live = _adaptiveLive(live, m.adaptiveState);
    }

    /// @dev The prior of an adaptive update packed as the proof carries it (`PublicSignals.ADAPTIVE_PRIOR_*`): slot
    ///      8's num and outcomes, and the outcome it processes, bar s's margin and lag (`_ringStep`).
    function _adaptivePrior(uint256 state, uint256 marginS, uint256 lag) private pure returns (uint256) {
        return
            ((state >> _HOT_NUM_SHIFT) & _NUM_MASK) |
            (((state >> _HOT_OUTCOMES_SHIFT) & _OUTCOMES_MASK) << PublicSignals.ADAPTIVE_NUM_BITS) |
            (marginS << (PublicSignals.ADAPTIVE_NUM_BITS + PublicSignals.ADAPTIVE_OUTCOMES_BITS)) |
            (lag <<
                (PublicSignals.ADAPTIVE_NUM_BITS +
                    PublicSignals.ADAPTIVE_OUTCOMES_BITS +
                    PublicSignals.ADAPTIVE_MARGIN_BITS));
    }

    /// @dev A market's publisher set and statement as `publisherSet` returns them.
    function _publisherSetOf(Market storage m) private view returns (PublisherSetConfig memory config) {
        config.verifier = ISignedUpdateVerifier(m.verifier);
        config.modelCommitment = m.modelCommitment;
        config.publisherSet = m.publisherSet;
        config.quorum = m.quorum;
        config.statementKey = m.statementKey;
    }

    /// @dev The number of varying signals of a batch of `n` (>= 1) markets: 1 for n <= 4, one more per 9 markets.
    function _varyingCount(uint256 n) private pure returns (uint256) {
        if (n <= PublicSignals.BATCH_FIRST_SIGNAL_MARKETS) return 1;
        // Unchecked: n > 4.
        unchecked {
            return
                1 +
                (n - PublicSignals.BATCH_FIRST_SIGNAL_MARKETS + PublicSignals.BATCH_SIGNAL_MARKETS - 1) /
                PublicSignals.BATCH_SIGNAL_MARKETS;
        }
    }

    /// @dev Market `i`'s MM and IM from a batch's varying signals (`PublicSignals.sol`), each below 2^14, as one word
    ///      (`margins` = mm + im * 2^16: one stack slot, where the batch loop has none to spare).
    function _batchMargins(uint256[] calldata update, uint256 i) private pure returns (uint256 margins) {
        uint256 packed;
        // Unchecked: i < n <= 32, so the shifts are below 256 and the index is in the array (its length is checked).
        unchecked {
            if (i < PublicSignals.BATCH_FIRST_SIGNAL_MARKETS) {
                packed = update[0] >> (PublicSignals.BATCH_MARKETS_SHIFT + PublicSignals.BATCH_MARKET_BITS * i);
            } else {
                uint256 j = i - PublicSignals.BATCH_FIRST_SIGNAL_MARKETS;
                packed =
                    update[1 + j / PublicSignals.BATCH_SIGNAL_MARKETS] >>
                    (PublicSignals.BATCH_MARKET_BITS * (j % PublicSignals.BATCH_SIGNAL_MARKETS));
            }
        }
        margins =
            (packed & _BATCH_MARGIN_MASK) |
            (((packed >> PublicSignals.BATCH_MARGIN_BITS) & _BATCH_MARGIN_MASK) << 16);
    }

    /// @dev The guards of every market of a signed batch, in order: ids strictly increasing (so distinct markets, each
    ///      checked against its own last state), then `_checkBatchMarket` with the batch's data timestamp, the
    ///      market's margins and its proven model's batch group. Returns the batch's verifier: the one registered for
    ///      the first market's model and n, which every other model of the batch must have registered for n too
    ///      (`_batchModel`). A model's verifier and (model, set) group are looked up only where it differs from the
    ///      previous market's, so a batch of one model reads them once, as a batch of one model always did. A group
    ///      is 0 when no market was ever registered with the pair, and then no market's group matches.
    function _checkBatchMarkets(
        uint256[] calldata marketIds,
        uint256[] calldata provenModels,
        uint256 provenSet,
        uint256[] calldata update
    ) private view returns (address verifier) {
        uint256 provenModel = provenModels[0];
        verifier = _batchVerifiers[provenModel][marketIds.length];
        if (verifier == address(0)) revert OracleNoBatchVerifier(provenModel, marketIds.length);
        uint256 provenGroup = _batchGroupOf[keccak256(abi.encode(provenModel, provenSet))];
        uint256 provenTimestamp = update[0] & _BATCH_TIMESTAMP_MASK;
        uint256 previousMarketId = 0;
        for (uint256 i = 0; i < marketIds.length; ++i) {
            uint256 marketId = marketIds[i];
            if (i != 0 && marketId <= previousMarketId) revert OracleBatchNotSorted(i, previousMarketId, marketId);
            if (provenModels[i] != provenModel) {
                provenModel = provenModels[i];
                provenGroup = _batchModel(marketIds.length, provenModel, provenSet, verifier);
            }
            uint256 margins = _batchMargins(update, i);
            _checkBatchMarket(marketId, provenTimestamp, margins, provenModel, provenSet, provenGroup);
            previousMarketId = marketId;
        }
    }

    /// @dev The (model, set) batch group of a further model of a batch of `n` markets whose verifier is `verifier`,
    ///      after checking that governance approved that verifier for the model (`setBatchVerifier(model, n,
    ///      verifier)`): a proof of the batch circuit binds each market's model, but only governance says the circuit
    ///      computes that model's weights. `n` comes first because the caller reads it (`marketIds.length`) from its
    ///      deepest stack slot, reachable only before the other arguments are pushed (no via-IR here).
    function _batchModel(
        uint256 n,
        uint256 model,
        uint256 set,
        address verifier
    ) private view returns (uint256 group) {
        address approved = _batchVerifiers[model][n];
        if (approved != verifier) {
            if (approved == address(0)) revert OracleNoBatchVerifier(model, n);
            revert OracleBatchVerifierMismatch(model, n, verifier, approved);
        }
        return _batchGroupOf[keccak256(abi.encode(model, set))];
    }

    /// @dev The guards of one market of a signed batch: market known, not paused, not adaptive, its registered model
    ///      and publisher set the ones the proof gives it (its batch group that of its proven model and the batch's
    ///      set; slots 1 and 6 are read only to name which differs), then timing and margins (`margins` = mm + im *
    ///      2^16).
    function _checkBatchMarket(
        uint256 marketId,
        uint256 provenTimestamp,
        uint256 margins,
        uint256 provenModel,
        uint256 provenSet,
        uint256 provenGroup
    ) private view {
        Market storage m = _markets[marketId];
        uint256 head = _word(m, 0);
        if (uint160(head) == 0) revert OracleUnknownMarket(marketId);
        uint256 live = _word(m, 2);
        if (live & _S2_PAUSED != 0) revert OracleMarketPaused(marketId);
        if (live & _S2_ADAPTIVE != 0) revert OracleAdaptiveMarket(marketId);
        // The groups are equal exactly when the market's pair is the proven one (one id per pair, and a market's id
        // is its current pair's); otherwise at least one of the two differs.
        if (uint16(live >> _S2_BATCH_GROUP) != provenGroup) _revertBatchPair(m, marketId, provenModel, provenSet);
        _checkUpdate(head, live, marketId, provenTimestamp, uint16(margins), margins >> 16);
    }

    /// @dev Revert for a batch market whose batch group is not its proven pair's, naming which of its registered
    ///      model and publisher set differs (slots 1 and 6, read only here). Called only on that failure: the
    ///      group comparison stays inline in the batch loops, where a call would cost about 30 gas a market.
    function _revertBatchPair(
        Market storage m,
        uint256 marketId,
        uint256 provenModel,
        uint256 provenSet
    ) private view {
        if (m.modelCommitment != provenModel) {
            revert OracleModelCommitmentMismatch(marketId, m.modelCommitment, provenModel);
        }
        revert OracleBatchPublisherSetMismatch(marketId, m.publisherSet, provenSet);
    }

    /// @dev The batch base of (verifier, ids, models, set, this oracle's domain): stored, or asked of the verifier
    ///      and stored (the first batch of a composition). Every constant is below p here: the ids are registered
    ///      markets, each model has a batch verifier (plain or adaptive) and the set passed every market's group
    ///      check. A verifier that cannot give a base is refused (`OracleInvalidVerifier`).
    function _batchBase(
        address verifier,
        uint256[] calldata marketIds,
        uint256[] calldata modelCommitments,
        uint256 publisherSet
    ) private returns (uint256 x, uint256 y) {
        uint256 n = marketIds.length;
        uint256 domainValue = domain();
        BatchBase storage base = _batchBases[
            _compositionKey(verifier, marketIds, modelCommitments, publisherSet, domainValue)
        ];
        (x, y) = (base.x, base.y);
        if (x == 0 && y == 0) {
            // In the order the verifier takes them: ids, models, set, domain (`batchConstantIndexes`).
            uint256[] memory constants = new uint256[](2 * n + 2);
            for (uint256 i = 0; i < n; ++i) (constants[i], constants[n + i]) = (marketIds[i], modelCommitments[i]);
            (constants[2 * n], constants[2 * n + 1]) = (publisherSet, domainValue);
            try ISignedBatchVerifier(verifier).batchBase(constants) returns (uint256 bx, uint256 by) {
                (x, y) = (bx, by);
            } catch {
                revert OracleInvalidVerifier(verifier);
            }
            (base.x, base.y) = (x, y);
        }
    }

    /// @dev A batch composition's key in `_batchBases`: `keccak256(abi.encodePacked(verifier, n, marketIds,
    ///      modelCommitments, publisherSet, domainValue))` (the address packed in 20 bytes, every other value in 32),
    ///      built with two `calldatacopy`s: `abi.encodePacked` copies a calldata array word by word, about 45 gas a
    ///      word more, and a batch hashes 2n of them (a test compared the two over the whole batch suite).
    function _compositionKey(
        address verifier,
        uint256[] calldata marketIds,
        uint256[] calldata modelCommitments,
        uint256 publisherSet,
        uint256 domainValue
    ) private pure returns (bytes32 key) {
        // Scratch memory past the free memory pointer, not allocated: nothing is read from it after the hash.
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            let n := marketIds.length
            let words := shl(5, n)
            let start := mload(0x40)
            mstore(start, shl(96, verifier))
            mstore(add(start, 20), n)
            let ids := add(start, 52)
            calldatacopy(ids, marketIds.offset, words)
            calldatacopy(add(ids, words), modelCommitments.offset, words) // as many as ids: both batch paths check
            let tail := add(ids, shl(1, words))
            mstore(tail, publisherSet)
            mstore(add(tail, 32), domainValue)
            key := keccak256(start, sub(add(tail, 64), start))
        }
    }

    /// @dev Replay protection keys on the data timestamp (strictly increasing), never on proof bytes: Groth16 proofs
    ///      are malleable and re-proving gives new bytes for the same statement.
    function _checkTiming(
        uint256 live,
        uint256 marketId,
        uint256 provenTimestamp
    ) private view returns (uint64 dataTimestamp) {
        uint64 last = uint64(live >> _S2_DATA_TIMESTAMP);
        // Compared as uint256 before any narrowing: the signal may be any field element.
        if (provenTimestamp <= last) revert OracleNotNewer(marketId, uint64(provenTimestamp), last);
        if (provenTimestamp > block.timestamp) revert OracleFutureData(provenTimestamp, uint64(block.timestamp));
        dataTimestamp = uint64(provenTimestamp); // <= block.timestamp < 2^64
        uint32 maxDataAge = uint32(live >> _S2_MAX_DATA_AGE);
        if (block.timestamp - dataTimestamp > maxDataAge) {
            revert OracleStaleData(dataTimestamp, uint64(block.timestamp), maxDataAge);
        }
        // Too soon: less than the interval after the last update by block time, and data less than the interval
        // newer. Data at least the interval newer is never too soon, so a submitter who sends an older, still fresh
        // window first cannot hold the newest one back for the interval.
        uint64 updatedAt = uint64(live >> _S2_UPDATED_AT);
        if (updatedAt != 0) {
            uint64 earliest = updatedAt + uint32(live);
            if (block.timestamp < earliest && dataTimestamp - last < uint32(live)) {
                revert OracleUpdateTooSoon(marketId, updatedAt, earliest);
            }
        }
    }

    /// @dev Bounds, IM >= MM, then the rate of change from the previous update (none for the first update), each
    ///      previous margin taken inside the market's bounds now: after `setLimits` moves a bound past it, the
    ///      next update is measured from that bound, so no pair of bounds and rate limits freezes the market.
    function _checkMargins(
        uint256 head,
        uint256 live,
        uint256 provenMm,
        uint256 provenIm
    ) private pure returns (uint16 mm, uint16 im) {
        (uint16 minMm, uint16 maxMm) = (uint16(head >> _S0_MIN_MM), uint16(head >> _S0_MAX_MM));
        if (provenMm < minMm || provenMm > maxMm) {
            revert OracleMarginOutOfBounds(Margin.Maintenance, provenMm, minMm, maxMm);
        }
        (uint16 minIm, uint16 maxIm) = (uint16(head >> _S0_MIN_IM), uint16(head >> _S0_MAX_IM));
        if (provenIm < minIm || provenIm > maxIm) {
            revert OracleMarginOutOfBounds(Margin.Initial, provenIm, minIm, maxIm);
        }
        if (provenIm < provenMm) revert OracleInitialBelowMaintenance(provenIm, provenMm);
        // Both are within bounds, and bounds are at most BPS, so they fit in 16 bits.
        mm = uint16(provenMm);
        im = uint16(provenIm);
        if (uint64(live >> _S2_UPDATED_AT) != 0) {
            (uint16 up, uint16 down) = (uint16(head >> _S0_MAX_INCREASE), uint16(head >> _S0_MAX_DECREASE));
            _checkChange(Margin.Maintenance, uint16(live >> _S2_MM), mm, up, down, minMm, maxMm);
            _checkChange(Margin.Initial, uint16(live >> _S2_IM), im, up, down, minIm, maxIm);
        }
    }

    /// @dev The change from `previous` moved into [lo, hi] (the bounds in force, which hold `next`) to `next`. Tested
    ///      against `previous` itself first, so an update within the limits pays nothing for the bounds: a rise past
    ///      the limit from a `previous` below `lo` may still be within it from `lo` (one above `hi` cannot be a rise),
    ///      and a fall past it from a `previous` above `hi` may be within it from `hi`.
    function _checkChange(
        Margin margin,
        uint16 previous,
        uint16 next,
        uint16 maxIncrease,
        uint16 maxDecrease,
        uint16 lo,
        uint16 hi
    ) private pure {
        if (next > previous && next - previous > maxIncrease) {
            if (previous < lo) previous = lo;
            if (next - previous > maxIncrease) revert OracleMarginIncreaseTooLarge(margin, previous, next, maxIncrease);
        }
        if (next < previous && previous - next > maxDecrease) {
            if (previous > hi) previous = hi;
            if (previous - next > maxDecrease) revert OracleMarginDecreaseTooLarge(margin, previous, next, maxDecrease);
        }
    }
}
