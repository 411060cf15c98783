// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISignedUpdateVerifier} from "./ISignedUpdateVerifier.sol";

/// @title IRiskOracle
/// @notice A risk-parameter oracle that accepts a market's maintenance and initial margin only with a Groth16 proof
///         that the registered model computed them from a candle window signed by a quorum of the market's
///         registered data publishers, within guards set by governance.
/// @dev Units: margins in basis points of notional (10000 = 100 %), times in seconds since the Unix epoch,
///      durations in seconds. The public signals of a proof are listed in `PublicSignals.sol`.
interface IRiskOracle {
    // ------------------------------------------------------------------------------------------------ types

    /// @notice Which of the two margins an error is about.
    enum Margin {
        Maintenance,
        Initial
    }

    /// @notice The guards every update of a market must pass.
    /// @param minMaintenanceMarginBps lowest accepted maintenance margin (bps)
    /// @param maxMaintenanceMarginBps highest accepted maintenance margin (bps, at most 10000)
    /// @param minInitialMarginBps lowest accepted initial margin (bps)
    /// @param maxInitialMarginBps highest accepted initial margin (bps, at most 10000)
    /// @param maxIncreaseBps largest rise of either margin from one accepted update to the next (bps); the previous
    ///        margin is taken inside the bounds in force, so after bounds move past it the next update starts
    ///        from the nearer bound (a change of bounds never freezes a market)
    /// @param maxDecreaseBps largest fall of either margin from one accepted update to the next (bps), the same way
    /// @param minUpdateInterval shortest time between two accepted updates, by block time, unless the later one's data
    ///        is at least this much newer (s)
    /// @param maxDataAge oldest data an update may carry: block time minus data timestamp (s, > 0)
    struct MarketLimits {
        uint16 minMaintenanceMarginBps;
        uint16 maxMaintenanceMarginBps;
        uint16 minInitialMarginBps;
        uint16 maxInitialMarginBps;
        uint16 maxIncreaseBps;
        uint16 maxDecreaseBps;
        uint32 minUpdateInterval;
        uint32 maxDataAge;
    }

    /// @notice What a signed update of a market must prove, set by governance with `setPublisherSet`. The circuit
    ///         recomputes `statementKey` as the Poseidon sponge over (STATEMENT_TAG, marketId, modelCommitment,
    ///         publisherSet, domain) (circuits/statement.ts); the oracle cannot recompute Poseidon, so it asks the
    ///         verifier once for the key's statement base and checks every update's proof against that base (a proof
    ///         for another key fails), and an auditor recomputes the key from the parts in `PublisherSetChanged`.
    /// @param verifier zkrisk's verifier of the signed-update circuit (two public signals, a statement base per key)
    /// @param modelCommitment Poseidon commitment to the model (weights, scales and policy) the key binds
    /// @param publisherSet commitment to the market's n publisher keys and the quorum k (publisher/publisher-set.ts)
    /// @param quorum k, the distinct publisher signatures an update needs (bound by `publisherSet`; stored for reads)
    /// @param statementKey the key every signed update of the market must carry as its statement signal
    struct PublisherSetConfig {
        ISignedUpdateVerifier verifier;
        uint256 modelCommitment;
        uint256 publisherSet;
        uint8 quorum;
        uint256 statementKey;
    }

    /// @notice Everything governance sets for one market.
    /// @param publishers the market's publisher set, model and statement (`setPublisherSet` rotates them)
    /// @param guardian account that may pause and unpause the market (besides governance); zero for none
    /// @param limits guards on every update
    struct MarketConfig {
        PublisherSetConfig publishers;
        address guardian;
        MarketLimits limits;
    }

    /// @notice What `readings` says of one market, in the order a consumer checks: only `Fresh` parameters are
    ///         current; `Stale` and `Paused` ones are the last accepted values, returned for the consumer to judge.
    /// @dev UnknownMarket: no market has this id (all values 0). NoParameters: registered, no update accepted yet
    ///      (all values 0). Paused: its guardian or governance paused it (whatever the data's age). Stale: data
    ///      older than the `maxAge` asked. Fresh: neither paused nor stale, as `isFresh`.
    enum ReadingStatus {
        UnknownMarket,
        NoParameters,
        Paused,
        Stale,
        Fresh
    }

    /// @notice One market's last accepted parameters as `readings` returns them (`parameters`' four values).
    /// @param maintenanceMarginBps maintenance margin (bps)
    /// @param initialMarginBps initial margin (bps)
    /// @param dataTimestamp open time of the last bar the update used (s)
    /// @param updatedAt block time the update was accepted (s); 0 for an unknown market or one without parameters
    /// @param status whether the values may be used (`ReadingStatus`)
    struct Reading {
        uint16 maintenanceMarginBps;
        uint16 initialMarginBps;
        uint64 dataTimestamp;
        uint64 updatedAt;
        ReadingStatus status;
    }

    // ----------------------------------------------------------------------------------------------- events

    /// @notice Governance registered a market. Its publisher set, model and statement follow in the same transaction's
    ///         `PublisherSetChanged` (with an all-zero previous configuration).
    /// @param marketId market
    /// @param guardian account that may pause the market (zero for none)
    /// @param limits its guards
    event MarketRegistered(uint256 indexed marketId, address guardian, MarketLimits limits);

    /// @notice Governance changed the guards of a market.
    /// @param marketId market
    /// @param limits the new guards
    event LimitsChanged(uint256 indexed marketId, MarketLimits limits);

    /// @notice Governance changed the guardian of a market.
    /// @param marketId market
    /// @param previousGuardian guardian before the change
    /// @param guardian guardian after the change (zero for none)
    event GuardianChanged(uint256 indexed marketId, address indexed previousGuardian, address indexed guardian);

    /// @notice The guardian or governance paused a market's updates.
    /// @param marketId market
    /// @param account who paused it
    event MarketPaused(uint256 indexed marketId, address indexed account);

    /// @notice The guardian or governance resumed a market's updates.
    /// @param marketId market
    /// @param account who unpaused it
    event MarketUnpaused(uint256 indexed marketId, address indexed account);

    /// @notice Governance registered (`registerMarket`) or rotated (`setPublisherSet`) a market's publisher set,
    ///         model and verifier, and with them the statement its updates prove. An auditor recomputes
    ///         `config.statementKey` from `marketId`, `config.modelCommitment`, `config.publisherSet` and `domain()`.
    /// @param marketId market
    /// @param previous the configuration before (all zero at registration)
    /// @param config the configuration after
    event PublisherSetChanged(uint256 indexed marketId, PublisherSetConfig previous, PublisherSetConfig config);

    // solhint-disable gas-indexed-events
    /// @notice A signed update was accepted: the registered model's margins on a window of candles signed by a quorum
    ///         of the market's publishers. The submitter is the transaction's sender. Only the market is indexed:
    ///         each further topic costs 119 gas more per update than the same word in the data.
    /// @param marketId market
    /// @param maintenanceMarginBps new maintenance margin (bps)
    /// @param initialMarginBps new initial margin (bps)
    /// @param dataTimestamp open time of the signed window's last bar (s)
    /// @param windowDigest the low 180 bits of the signed window's digest (candles/digest.ts; `digestSignal` in
    ///        circuits/statement.ts): an auditor fetches the window from the publishers' archives, checks its digest's
    ///        low 180 bits against this value and recomputes the margins
    event SignedParametersUpdated(
        uint256 indexed marketId,
        uint16 maintenanceMarginBps,
        uint16 initialMarginBps,
        uint64 dataTimestamp,
        uint256 windowDigest
    );
    /// @notice One market of a signed batch was accepted: the registered model's margins on that market's window of
    ///         candles, one of the windows a quorum of its publishers signed together under one batch digest. The
    ///         submitter is the transaction's sender. Only the market is indexed (as `SignedParametersUpdated`).
    /// @param marketId market
    /// @param maintenanceMarginBps new maintenance margin (bps)
    /// @param initialMarginBps new initial margin (bps)
    /// @param dataTimestamp open time of the last bar of every window of the batch (s)
    /// @param batchDigestBits the low 91 bits of the batch digest the publishers signed (candles/batch-digest.ts,
    ///        `batchDigestSignal` in circuits/batch-statement.ts; the proof checked their signatures over the full
    ///        digest): an auditor finds the signed batch in the publishers' archives by them, checks its full digest
    ///        against them, and finds the market's window at `index`
    /// @param index the market's position in the batch (ids strictly increasing)
    event SignedBatchParametersUpdated(
        uint256 indexed marketId,
        uint16 maintenanceMarginBps,
        uint16 initialMarginBps,
        uint64 dataTimestamp,
        uint256 batchDigestBits,
        uint8 index
    );
    /// @notice A signed update of an adaptive market was accepted (instead of `SignedParametersUpdated`): its packed
    ///         update holds the margins, the data timestamp, the state before (with the outcome it processed, bar
    ///         s's MM and lag) and after, and the window digest's low 87 bits (`unpackAdaptiveUpdate` in
    ///         circuits/statement.ts). One word, so the event costs what
    ///         `SignedParametersUpdated` does.
    /// @param marketId market
    /// @param update the accepted packed update (`PublicSignals.ADAPTIVE_*`)
    event AdaptiveParametersUpdated(uint256 indexed marketId, uint256 update);
    /// @notice One adaptive market of an adaptive signed batch was accepted (`submitAdaptiveBatch`): its packed
    ///         update in the layout of `AdaptiveParametersUpdated`, but its digest bits are the low 87 bits of the
    ///         BATCH digest the publishers signed (candles/batch-digest.ts; the same for every market of the batch),
    ///         and its data timestamp the batch's one bar. An auditor finds the signed batch in the publishers'
    ///         archives by those bits, checks its full digest against them, finds the market's window at `index`
    ///         and recomputes the margins and the state's step. Only the market is indexed (as
    ///         `SignedParametersUpdated`).
    /// @param marketId market
    /// @param update the accepted packed update (`PublicSignals.ADAPTIVE_*`), the batch's varying signal `index`
    /// @param index the market's position in the batch (ids strictly increasing)
    event AdaptiveBatchParametersUpdated(uint256 indexed marketId, uint256 update, uint8 index);
    // solhint-enable gas-indexed-events

    /// @notice Governance made a market adaptive with an initial state (num = calibrationNum * 2^8 of its registered
    ///         model file, no outcomes, no accepted margins), or plain again (num 0).
    /// @param marketId market
    /// @param num the initial state's num, 0 for "not adaptive"
    event AdaptiveCalibrationSet(uint256 indexed marketId, uint32 num); // solhint-disable-line gas-indexed-events

    /// @notice Governance set (or, with the zero address, removed) the verifier of signed batches of `n` markets
    ///         for a model.
    /// @param modelCommitment model the batch circuit computes for a market registered with it
    /// @param n number of markets one batch proof covers
    /// @param verifier the batch verifier; zero when removed
    event BatchVerifierSet(uint256 indexed modelCommitment, uint256 indexed n, address indexed verifier);

    /// @notice Governance set (or, with the zero address, removed) the verifier of ADAPTIVE signed batches of `n`
    ///         markets for a model (`setAdaptiveBatchVerifier`; a registry apart from `BatchVerifierSet`'s).
    /// @param modelCommitment model the adaptive batch circuit computes for a market registered with it
    /// @param n number of markets one batch proof covers (at least 2)
    /// @param verifier the adaptive batch verifier; zero when removed
    event AdaptiveBatchVerifierSet(uint256 indexed modelCommitment, uint256 indexed n, address indexed verifier);

    // ----------------------------------------------------------------------------------------------- errors

    /// @notice The governor given to the constructor is the zero address.
    error OracleInvalidGovernor();
    /// @notice No market is registered under `marketId`.
    error OracleUnknownMarket(uint256 marketId);
    /// @notice A market is already registered under `marketId`.
    error OracleMarketExists(uint256 marketId);
    /// @notice `marketId` is zero or not a field element, so no proof could ever carry it.
    error OracleInvalidMarketId(uint256 marketId);
    /// @notice `verifier` has no code.
    error OracleInvalidVerifier(address verifier);
    /// @notice `modelCommitment` is zero or not a field element.
    error OracleInvalidModelCommitment(uint256 modelCommitment);
    /// @notice Bounds with `minBps > maxBps` or `maxBps > 10000`.
    error OracleInvalidBounds(Margin margin, uint16 minBps, uint16 maxBps);
    /// @notice Bounds no update can meet: the highest initial margin is below the lowest maintenance margin, and
    ///         every update needs IM >= MM.
    error OracleInitialBoundBelowMaintenance(uint16 maxInitialMarginBps, uint16 minMaintenanceMarginBps);
    /// @notice A maximum data age of zero would refuse every update.
    error OracleInvalidMaxDataAge();
    /// @notice `account` is neither the market's guardian nor governance.
    error OracleNotGuardian(uint256 marketId, address account);
    /// @notice The market's updates are paused.
    error OracleMarketPaused(uint256 marketId);
    /// @notice The market's updates are not paused.
    error OracleMarketNotPaused(uint256 marketId);
    /// @notice The market has no accepted update yet.
    error OracleNoParameters(uint256 marketId);
    /// @notice Varying signal `index` of a batch is not below the scalar field modulus (an aliased value).
    error OracleSignalNotInField(uint256 index, uint256 value);
    /// @notice The batch proof gives the market another model than the one registered for it.
    error OracleModelCommitmentMismatch(uint256 marketId, uint256 registered, uint256 proven);
    /// @notice The data is not newer than the last accepted update's (a replay, or data out of order).
    error OracleNotNewer(uint256 marketId, uint64 dataTimestamp, uint64 lastDataTimestamp);
    /// @notice The data timestamp is after the block time.
    error OracleFutureData(uint256 dataTimestamp, uint64 blockTimestamp);
    /// @notice The data is older than the market's maximum data age.
    error OracleStaleData(uint64 dataTimestamp, uint64 blockTimestamp, uint32 maxDataAge);
    /// @notice The previous update was accepted less than the minimum interval ago, and this update's data is less
    ///         than the minimum interval newer than its data.
    error OracleUpdateTooSoon(uint256 marketId, uint64 lastUpdatedAt, uint64 earliestNextUpdate);
    /// @notice A margin is outside the market's bounds.
    error OracleMarginOutOfBounds(Margin margin, uint256 valueBps, uint16 minBps, uint16 maxBps);
    /// @notice The initial margin is below the maintenance margin.
    error OracleInitialBelowMaintenance(uint256 initialMarginBps, uint256 maintenanceMarginBps);
    /// @notice A margin rises by more than the market allows in one update. `previousBps` is the last accepted
    ///         margin taken inside the market's bounds (`MarketLimits`), the value the change is measured from.
    error OracleMarginIncreaseTooLarge(Margin margin, uint16 previousBps, uint16 newBps, uint16 maxIncreaseBps);
    /// @notice A margin falls by more than the market allows in one update (`previousBps` as above).
    error OracleMarginDecreaseTooLarge(Margin margin, uint16 previousBps, uint16 newBps, uint16 maxDecreaseBps);
    /// @notice The verifier rejected the proof.
    error OracleInvalidProof(uint256 marketId);
    /// @notice A single-market update on a chain other than the oracle's deployment chain, for a market whose statement
    ///         key was registered on chain `statementChainId` (before a chain split): that key binds the other
    ///         chain's domain, so its proofs are that chain's. Governance registers the key for this chain again
    ///         (`setPublisherSet`) to take this chain's proofs.
    error OracleStatementOfAnotherChain(uint256 marketId, uint64 statementChainId, uint256 chainId);
    /// @notice A batch size outside [1, 32] was given to `setBatchVerifier`, or a batch carries that many markets;
    ///         for adaptive batches (`setAdaptiveBatchVerifier`, `submitAdaptiveBatch`) outside [2, 32].
    error OracleInvalidBatchSize(uint256 n);
    /// @notice A batch of `n` markets carries `count` varying signals; it has 1 for n <= 4, 1 + ceil((n - 4) / 9)
    ///         above (`PublicSignals.sol`), an adaptive batch n (one adaptive update per market).
    error OracleInvalidBatchSignalCount(uint256 n, uint256 count);
    /// @notice No adaptive batch verifier is registered (`setAdaptiveBatchVerifier`) for a model of the adaptive
    ///         batch and the batch size; a verifier of plain batches (`setBatchVerifier`) does not count.
    error OracleNoAdaptiveBatchVerifier(uint256 modelCommitment, uint256 n);
    /// @notice A model of the adaptive batch has another adaptive batch verifier registered for `n` markets
    ///         (`registered`) than the batch's, `verifier`, registered for its first market's model.
    error OracleAdaptiveBatchVerifierMismatch(
        uint256 modelCommitment,
        uint256 n,
        address verifier,
        address registered
    );
    /// @notice An adaptive batch carries a market that is not adaptive (plain markets go in `submitSignedBatch`).
    error OracleNotAdaptiveMarket(uint256 marketId);
    /// @notice No batch verifier is registered for a model of the batch and the batch size.
    error OracleNoBatchVerifier(uint256 modelCommitment, uint256 n);
    /// @notice A batch of `n` markets carries `count` model commitments; it has one per market.
    error OracleBatchModelCount(uint256 n, uint256 count);
    /// @notice A model of the batch has another batch verifier registered for `n` markets (`registered`) than the
    ///         batch's, `verifier`, registered for its first market's model: governance did not approve the batch's
    ///         circuit for that model.
    error OracleBatchVerifierMismatch(uint256 modelCommitment, uint256 n, address verifier, address registered);
    /// @notice The market ids of a batch are not strictly increasing (so possibly not distinct) at `index`.
    error OracleBatchNotSorted(uint256 index, uint256 previousMarketId, uint256 marketId);
    /// @notice The batch was signed by another publisher set (or quorum) than the one registered for the market.
    error OracleBatchPublisherSetMismatch(uint256 marketId, uint256 registered, uint256 proven);
    /// @notice The batch's verifier (that of its models for `n` markets) rejected the proof (returned false, or the
    ///         call failed).
    error OracleInvalidBatchProof(address verifier, uint256 n);
    /// @notice `publisherSet` is zero or not a field element.
    error OracleInvalidPublisherSet(uint256 publisherSet);
    /// @notice A quorum of zero signatures.
    error OracleInvalidQuorum(uint8 quorum);
    /// @notice `statementKey` is zero or not a field element.
    error OracleInvalidStatementKey(uint256 statementKey);
    /// @notice The statement key is registered for another market already: a key hashes its market's id, so a second
    ///         market holding it would take the first market's proofs.
    error OracleStatementKeyInUse(uint256 statementKey, uint256 marketId);
    /// @notice The packed update signal has bits at or above bit 252 (bit 253 for an adaptive market's update, and
    ///         for each update of an adaptive batch), so it packs no (MM, IM, data timestamp, digest), nor for an
    ///         adaptive update its state.
    error OracleMalformedUpdate(uint256 packed);
    /// @notice An adaptive update's data timestamp is not the open time of a bar (a multiple of 7200 s).
    error OracleUnalignedBar(uint256 dataTimestamp);
    /// @notice An adaptive update does not start from the state the oracle holds: `expected` and `proven` pack
    ///         num, outcomes, the accepted MM of the bar s whose outcome it processes (the oldest pending one of
    ///         t - 23 .. t - 12, 0 for none) and its lag t - 12 - s (0 for none) as `PublicSignals.ADAPTIVE_PRIOR_*`
    ///         (`adaptivePrior`).
    error OracleAdaptiveStateMismatch(uint256 marketId, uint256 expected, uint256 proven);
    /// @notice A plain signed batch carries an adaptive market (its packing has no adaptive state: adaptive markets
    ///         go in `submitAdaptiveBatch`).
    error OracleAdaptiveMarket(uint256 marketId);
    /// @notice An initial adaptive num that does not fit the state (27 bits).
    error OracleInvalidAdaptiveNum(uint256 num);
    /// @notice An adaptive market's num outside the clamp its adaptive verifier proves
    ///         (`ISignedUpdateVerifier.adaptiveNumBounds`): no update could be proved from it.
    error OracleAdaptiveNumOutOfRange(uint256 marketId, uint256 num, uint256 minNum, uint256 maxNum);
    /// @notice A signed update of a market whose mode (adaptive or plain, `setAdaptiveCalibration`) is not its
    ///         verifier's layout (`ISignedUpdateVerifier.adaptiveLayout`, `setPublisherSet`): governance has switched
    ///         one and not yet the other. Updates resume once both agree.
    error OracleAdaptiveLayoutMismatch(uint256 marketId, bool marketAdaptive, bool verifierAdaptive);
    /// @notice A rotation (`setPublisherSet`) would give an adaptive market another model than its `registered` one,
    ///         while its state (num, outcomes, pending margins) was earned under that model. Make the market plain
    ///         first (`setAdaptiveCalibration(marketId, 0)`), rotate, then set the new model's initial num.
    error OracleAdaptiveModelChange(uint256 marketId, uint256 registered, uint256 modelCommitment);
    /// @notice 65,535 (model commitment, publisher set) pairs are registered already: a new pair has no batch group.
    error OracleTooManyBatchGroups();

    // ------------------------------------------------------------------------------------------- governance

    /// @notice Register a market with its publisher set, model and statement (checked as `setPublisherSet` checks
    ///         them), guardian and guards. Governance only. Emits `MarketRegistered`, then `PublisherSetChanged`.
    /// @param marketId market identifier as the circuit takes it (e.g. "BTC-USDT" packed as ASCII, big-endian:
    ///        `uint256(uint64(bytes8("BTC-USDT")))`); nonzero, < p
    /// @param config publisher set (with verifier, model commitment and statement key), guardian and guards
    function registerMarket(uint256 marketId, MarketConfig calldata config) external;

    /// @notice Change the guards of a market. Governance only.
    /// @dev Checked as at registration: each margin's bounds min <= max <= 10000 (`OracleInvalidBounds`), the highest
    ///      initial margin at least the lowest maintenance margin (`OracleInitialBoundBelowMaintenance`: else no
    ///      update could meet IM >= MM), and a maximum data age above 0 (`OracleInvalidMaxDataAge`).
    /// @param marketId registered market
    /// @param limits new guards
    function setLimits(uint256 marketId, MarketLimits calldata limits) external;

    /// @notice Change the guardian of a market. Governance only.
    /// @param marketId registered market
    /// @param guardian new guardian; zero for none
    function setGuardian(uint256 marketId, address guardian) external;

    /// @notice Register, replace or remove the verifier of signed batches of `n` markets for a model: one proof that
    ///         each market's model computed its margins from windows a publisher quorum signed together. The batch
    ///         circuit proves one model commitment per market (same weights, each market's own calibration), so one
    ///         verifier serves several models: setting it for `modelCommitment` approves it for batches containing
    ///         markets of that model, and a batch is accepted only if every model it carries has this same verifier
    ///         for n (`OracleNoBatchVerifier`, `OracleBatchVerifierMismatch`). Governance only. A batch is accepted
    ///         for a market only if the model the proof gives it is its registered model commitment and its
    ///         registered publisher set is the batch's. The circuit's quorum is bound by the publisher-set
    ///         commitment, so one entry serves the sets of that circuit's quorum.
    /// @param modelCommitment model the batch circuit computes for a market registered with it (nonzero, < p)
    /// @param n number of markets per proof, in [1, 32]
    /// @param verifier zkrisk's verifier of the signed batch circuit of n markets (`ISignedBatchVerifier`, its
    ///        `batchSize()` n, else `OracleInvalidVerifier`); the zero address removes the entry
    function setBatchVerifier(uint256 modelCommitment, uint256 n, address verifier) external;

    /// @notice Register, replace or remove the verifier of ADAPTIVE signed batches of `n` markets for a model
    ///         (`submitAdaptiveBatch`), as `setBatchVerifier` does for plain batches, in a registry of its own: one
    ///         verifier serves the models governance sets it for, and an adaptive batch is accepted only if every
    ///         model it carries has this same verifier for n (`OracleNoAdaptiveBatchVerifier`,
    ///         `OracleAdaptiveBatchVerifierMismatch`). Governance only.
    /// @dev Why n >= 2: a plain batch of 1 market and an adaptive batch of 1 both have one varying signal, with
    ///      different meanings, so a verifier of either would accept the other's proof if governance set it in the
    ///      wrong registry. From 2 markets on, a plain batch has fewer varying signals than markets (1 up to 4) and
    ///      an adaptive batch one per market, so each verifier refuses the other path's signals by their count.
    /// @param modelCommitment model the adaptive batch circuit computes for a market registered with it (nonzero,
    ///        < p)
    /// @param n number of markets per proof, in [2, 32] (`OracleInvalidBatchSize`)
    /// @param verifier zkrisk's verifier of the adaptive batch circuit of n markets (`ISignedBatchVerifier`, its
    ///        `batchSize()` n, else `OracleInvalidVerifier`); the zero address removes the entry
    function setAdaptiveBatchVerifier(uint256 modelCommitment, uint256 n, address verifier) external;

    /// @notice Rotate the publisher set of a market, or its model or verifier, with the statement key its updates
    ///         must carry. Governance only. From then on proofs for the previous key are refused. Replay protection
    ///         and the rate-of-change guards carry over.
    /// @dev The oracle cannot check that `statementKey` hashes the other fields (that needs Poseidon): governance
    ///      computes it (onchain/oracle.ts `setPublisherSet`), and `PublisherSetChanged` lets anyone check it. A key
    ///      registered for another market before is refused (`OracleStatementKeyInUse`): it would take that market's
    ///      proofs. The oracle stores the key's statement base (`ISignedUpdateVerifier.statementBase`), which every
    ///      update's proof is checked against; a verifier that cannot give one is refused (`OracleInvalidVerifier`),
    ///      as is one without `adaptiveLayout()`, whose answer the oracle keeps: signed updates are taken only where
    ///      it agrees with the market's mode (`setAdaptiveCalibration`, `OracleAdaptiveLayoutMismatch`). An adaptive
    ///      market's num must lie in an adaptive verifier's clamp (`adaptiveNumBounds`, `OracleAdaptiveNumOutOfRange`),
    ///      and its model cannot change (`OracleAdaptiveModelChange`): its state was earned under the registered
    ///      model. A new publisher set or verifier with the same model is taken. To change an adaptive market's
    ///      model, governance makes it plain (`setAdaptiveCalibration(marketId, 0)`; with its adaptive verifier it
    ///      then takes no update, `OracleAdaptiveLayoutMismatch`), rotates, and makes it adaptive again from the new
    ///      model's num. It also
    ///      gives the (model commitment, publisher set) pair a batch group on its first use, the id signed batches
    ///      compare; after 65,535 distinct pairs a new one is refused (`OracleTooManyBatchGroups`).
    /// @param marketId registered market
    /// @param config verifier (with code), model commitment, publisher-set commitment and statement key (each
    ///        nonzero, < p), and a quorum >= 1
    function setPublisherSet(uint256 marketId, PublisherSetConfig calldata config) external;

    /// @notice Make a market adaptive (issue 12, part 3) with its initial state, or plain again with num 0. Its
    ///         updates must then come from the signed-update circuit with the adaptive rule (its verifier, registered
    ///         with `setPublisherSet`), which proves the state's step from the one the oracle holds; the model
    ///         commitment keeps the model file's own calibration, and `num` must be that calibrationNum * 2^8 (an
    ///         auditor checks it). Until the market's mode and its verifier's `adaptiveLayout()` agree, its signed
    ///         updates revert `OracleAdaptiveLayoutMismatch`, so governance may switch either first. Where the
    ///         market's verifier is adaptive already, `num` must lie in its clamp (`adaptiveNumBounds`, else
    ///         `OracleAdaptiveNumOutOfRange`: no update could be proved from it); a later `setPublisherSet` to an
    ///         adaptive verifier checks the num held the same way. Resets the outcome count and drops every pending
    ///         outcome (`adaptiveState`'s ring); the last accepted update (margins, data timestamp, acceptance time)
    ///         stays, so replay protection, the interval and the rate of change carry over, as they do when the
    ///         market becomes plain again.
    /// @dev Emits `AdaptiveCalibrationSet`. Plain signed batches refuse adaptive markets (`OracleAdaptiveMarket`);
    ///      adaptive batches (`submitAdaptiveBatch`) take only adaptive ones (`OracleNotAdaptiveMarket`).
    /// @param marketId registered market
    /// @param num the initial num (calibrationNum * 2^8, below 2^27), 0 to make the market plain
    function setAdaptiveCalibration(uint256 marketId, uint32 num) external;

    /// @notice Stop accepting updates for a market. The market's guardian or governance.
    /// @dev Reading the last parameters is not affected; they age out by `isFresh`.
    /// @param marketId registered, unpaused market
    function pauseMarket(uint256 marketId) external;

    /// @notice Accept updates for a paused market again. The market's guardian or governance.
    /// @dev Whoever paused it: the guardian may unpause a market governance paused (to retire a market, governance
    ///      also sets its guardian to zero).
    /// @param marketId registered, paused market
    function unpauseMarket(uint256 marketId) external;

    // ---------------------------------------------------------------------------------------------- updates

    /// @notice Submit a signed update of a market's margins: a proof that the market's model, on a window of candles
    ///         signed by a quorum of its registered publishers, gives these margins. Anyone may submit; nothing but
    ///         the proof and its packed update is taken from the submitter: the proof's other public signal, the
    ///         statement key, is the market's, through the statement base the oracle stored (`setPublisherSet`).
    /// @dev Checks, in order: market known and not paused; its mode (plain or adaptive) its verifier's layout
    ///      (`OracleAdaptiveLayoutMismatch`); packed update below 2^252; then the guards
    ///      shared with the other paths: data timestamp (from the packed signal, the open time of the window's last
    ///      bar) newer than the last accepted one, not in the future, not older than the maximum data age; minimum
    ///      interval; bounds, IM >= MM and rate of change; last, the proof verifies for the update and the market's
    ///      statement base (a proof for another market, model, publisher set, oracle or chain fails here).
    ///      Replays and re-randomised proofs of an applied update fail "newer than". For an adaptive market
    ///      (`setAdaptiveCalibration`) the update has the adaptive layout (`PublicSignals.ADAPTIVE_*`, below
    ///      2^253): its data timestamp must be a bar's open time (`OracleUnalignedBar`) and its prior the one the
    ///      oracle builds from storage (`OracleAdaptiveStateMismatch`, checked before the proof: the state and the
    ///      oldest pending outcome of bars t - 23 .. t - 12 with its lag, `adaptivePrior`); the proven new state is
    ///      stored, that outcome is no longer pending, those before t - 23 are dropped, bar t's becomes pending, and
    ///      `AdaptiveParametersUpdated` is emitted instead of `SignedParametersUpdated`.
    /// @param marketId registered market with a publisher set
    /// @param pA proof point A
    /// @param pB proof point B (coordinate pairs as (imaginary, real))
    /// @param pC proof point C
    /// @param update the packed update, public signal 0 (`PublicSignals.sol`): MM, IM, data timestamp and the window
    ///        digest's low 180 bits
    function submitSignedUpdate(
        uint256 marketId,
        uint256[2] calldata pA,
        uint256[2][2] calldata pB,
        uint256[2] calldata pC,
        uint256 update
    ) external;

    /// @notice Submit one proof of the margins of n markets (one publisher set, each market under its own model, one
    ///         batch circuit): each market's margins are its registered model's output on its window of candles, and
    ///         a quorum of the publishers signed all n windows together (one signature each over the batch digest),
    ///         every window ending at one bar close. Anyone may submit; nothing but the proof and its public signals
    ///         is taken from the submitter. All or nothing: if any check fails for any market, or the proof does not
    ///         verify, the whole batch reverts and no market is updated.
    /// @dev The proof's constants are `marketIds`, `modelCommitments` (market i's at index i), `publisherSet` and
    ///      the oracle's own domain; its varying signals `update` pack the data timestamp, the batch digest's low 91
    ///      bits and every market's MM and IM (`PublicSignals.sol`). Checks, in order: n in [1, 32]; n model
    ///      commitments; the varying signal count for n; every varying signal < p (the constants are: a registered
    ///      market id, a model with a batch verifier and a publisher set some market registered are all < p, and an
    ///      unregistered one fails its check); a batch verifier registered for (first market's model, n), the
    ///      batch's; then for each market in order: ids strictly increasing, where its model differs from the
    ///      previous market's the same verifier registered for (that model, n), market known and not paused, its
    ///      registered model commitment the one the proof gives it and its registered publisher set the proof's,
    ///      and the same timing and margin guards as `submitSignedUpdate`; then the proof is verified once, against
    ///      the batch base of (verifier, ids, models, set, domain). The first batch of a composition asks the
    ///      verifier for that base (`ISignedBatchVerifier.batchBase`) and stores it (a deterministic function of the
    ///      verifier's key and the constants, so nothing is trusted and anyone may pay for it); later batches read
    ///      it. Each market then emits `SignedBatchParametersUpdated` with the batch digest's low bits and its index.
    ///      Replays fail "newer than", as for single updates.
    /// @param pA proof point A
    /// @param pB proof point B (coordinate pairs as (imaginary, real))
    /// @param pC proof point C
    /// @param marketIds the n markets, ids strictly increasing (the batch digest's order)
    /// @param modelCommitments each market's registered model, in the order of `marketIds`
    /// @param publisherSet the publisher-set commitment every market registered (binds the quorum)
    /// @param update the varying signals: 1 for n <= 4, 1 + ceil((n - 4) / 9) above
    function submitSignedBatch(
        uint256[2] calldata pA,
        uint256[2][2] calldata pB,
        uint256[2] calldata pC,
        uint256[] calldata marketIds,
        uint256[] calldata modelCommitments,
        uint256 publisherSet,
        uint256[] calldata update
    ) external;

    /// @notice Submit one proof of the updates of n ADAPTIVE markets at one bar close (one publisher set, each market
    ///         under its own model, one adaptive batch circuit): each market's margins and state step are its
    ///         registered model's and the adaptive rule's on its window of candles, starting from the state the
    ///         oracle holds for it, and a quorum of the publishers signed all n windows together (one signature each
    ///         over the batch digest). Anyone may submit. All or nothing, as `submitSignedBatch`.
    /// @dev The proof's constants are those of a plain batch (`marketIds`, `modelCommitments`, `publisherSet`, the
    ///      oracle's domain); its varying signals are one per market, `update[i]` market i's adaptive update in the
    ///      layout of a single adaptive update (`PublicSignals.ADAPTIVE_*`), whose digest part is the batch
    ///      digest's low 87 bits and whose data timestamp is the batch's bar (the circuit makes both the same for
    ///      every market). Checks, in order: n in [2, 32] (`OracleInvalidBatchSize`); n model commitments
    ///      (`OracleBatchModelCount`); n varying signals (`OracleInvalidBatchSignalCount`), each below 2^253
    ///      (`OracleMalformedUpdate`, so below r); an adaptive batch verifier registered for (first market's model,
    ///      n) (`setAdaptiveBatchVerifier`; `OracleNoAdaptiveBatchVerifier`), the batch's; then for each market in
    ///      order: ids strictly increasing, where its model differs from the previous market's the same verifier
    ///      registered for (that model, n) (`OracleAdaptiveBatchVerifierMismatch`), market known, not paused and
    ///      adaptive (`OracleNotAdaptiveMarket`), its registered model and publisher set the proof's (as in
    ///      `submitSignedBatch`), then the checks of an adaptive `submitSignedUpdate` on its own update: a bar's
    ///      open time, the timing and margin guards against its last accepted update, its prior equal to the one
    ///      built from its storage (`OracleAdaptiveStateMismatch` naming it); then the batch base of (verifier, ids,
    ///      models, set, domain), stored per composition as for plain batches (keyed by the verifier, so apart from
    ///      theirs); last, the proof (`OracleInvalidBatchProof`). Each market then stores its proven state and
    ///      last update as an adaptive `submitSignedUpdate` would, and emits `AdaptiveBatchParametersUpdated`.
    /// @param pA proof point A
    /// @param pB proof point B (coordinate pairs as (imaginary, real))
    /// @param pC proof point C
    /// @param marketIds the n adaptive markets, ids strictly increasing (the batch digest's order)
    /// @param modelCommitments each market's registered model, in the order of `marketIds`
    /// @param publisherSet the publisher-set commitment every market registered (binds the quorum)
    /// @param update the varying signals: market i's packed adaptive update at index i
    function submitAdaptiveBatch(
        uint256[2] calldata pA,
        uint256[2][2] calldata pB,
        uint256[2] calldata pC,
        uint256[] calldata marketIds,
        uint256[] calldata modelCommitments,
        uint256 publisherSet,
        uint256[] calldata update
    ) external;

    // ------------------------------------------------------------------------------------------------ reads

    /// @notice The last accepted parameters of a market.
    /// @dev Reverts for an unknown market (`OracleUnknownMarket`) and for a market without an accepted update
    ///      (`OracleNoParameters`); `isFresh` tells both apart from usable parameters without reverting. Check
    ///      freshness too: nothing here ages. For consumers:
    ///      - Values: 0 <= MM <= IM <= 10000, inside the market's bounds in force when the update was accepted. A
    ///        later `setLimits` does not re-check them, so they may lie outside `marketConfig`'s bounds until the
    ///        next update; and MM or IM is 0 where governance set a lower bound of 0. Floor them if that matters.
    ///      - Time: `dataTimestamp` is the OPEN time of the window's last bar, so the data runs to one bar
    ///        interval later (not stored on chain: 7200 s for 2-hour bars); it is above 0 and strictly increases
    ///        from one update to the next. Measure staleness from it, as `isFresh` does.
    ///      - Changes: only an accepted update changes these values, and each emits exactly one of
    ///        `SignedParametersUpdated`, `SignedBatchParametersUpdated`, `AdaptiveParametersUpdated` or
    ///        `AdaptiveBatchParametersUpdated` (the adaptive ones pack MM, IM and the data timestamp in the low 72
    ///        bits of `update`, as `PublicSignals.PACKED_*`); `updatedAt` is that transaction's block time. No
    ///        governance call changes them: `setLimits`, `setPublisherSet` (the values computed under the previous
    ///        model and publisher set stay until the next update), `setAdaptiveCalibration` and `pauseMarket`
    ///        keep them as they are.
    ///      - Pause: a paused market's parameters still read here and age out; call `isPaused` to treat a paused
    ///        market differently. A market id names one market for the oracle's lifetime: there is no removal or
    ///        re-registration (`OracleMarketExists`); governance retires a market by pausing it and removing its
    ///        guardian (`setGuardian(marketId, 0)`), who could otherwise unpause it.
    ///      - Many markets: `readings` reads them in one call and never reverts. One `parameters` read in a
    ///        transaction costs about 8,300 gas from a contract (the cold call and two cold slots), 10,900 for an
    ///        adaptive market (a third slot); `isFresh` first skips unknown, unset and stale ones without a revert.
    /// @param marketId registered market: for a label, its ASCII bytes as a big-endian integer (e.g.
    ///        `uint256(uint64(bytes8("BTC-USDT")))`, not `uint256(bytes32("BTC-USDT"))`; `marketIdOf` in
    ///        candles/market-id.ts)
    /// @return maintenanceMarginBps maintenance margin (bps)
    /// @return initialMarginBps initial margin (bps)
    /// @return dataTimestamp open time of the last bar the update used (s)
    /// @return updatedAt block time the update was accepted (s), never 0
    function parameters(
        uint256 marketId
    )
        external
        view
        returns (uint16 maintenanceMarginBps, uint16 initialMarginBps, uint64 dataTimestamp, uint64 updatedAt);

    /// @notice The last accepted parameters of many markets in one call, each with its status; never reverts.
    /// @dev The values are `parameters`' (the same promises hold), the status `isFresh`'s test plus a pause. Read a
    ///      market's values only when its status is `Fresh`, or judge `Paused` and `Stale` ones yourself: both keep
    ///      the last accepted values. Gas from a contract, the first read in a transaction: about 8,500 for one
    ///      market, then about 3,700 for each further one (6,500 for an adaptive market: a second cold slot), against
    ///      8,300 and 10,900 for a `parameters` call each (test/contracts/integrator.test.ts).
    /// @param marketIds markets, any order, repeats and unknown ids allowed
    /// @param maxAge largest acceptable block time minus data timestamp (s), as `isFresh`
    /// @return values one `Reading` per id, in the order given
    function readings(
        uint256[] calldata marketIds,
        uint64 maxAge
    ) external view returns (Reading[] memory values);

    /// @notice Whether the market has accepted parameters whose data is at most `maxAge` seconds old:
    ///         `block.timestamp <= dataTimestamp + maxAge`, so fresh at exactly `maxAge`. Never reverts.
    /// @dev The age is measured from the open time of the window's last bar (`parameters`), so a maxAge below the
    ///      bar interval has passed by the time the bar closes. A paused market's parameters are fresh by this test
    ///      (`isPaused`).
    /// @param marketId market (an unknown one, or one without an accepted update, is not fresh)
    /// @param maxAge largest acceptable block time minus data timestamp (s)
    /// @return fresh whether the parameters may be used
    function isFresh(uint256 marketId, uint64 maxAge) external view returns (bool fresh);

    /// @notice A market's configuration. Reverts for an unknown market.
    /// @param marketId registered market
    /// @return config publisher set (verifier, model commitment, set, quorum, statement key), guardian and guards
    function marketConfig(uint256 marketId) external view returns (MarketConfig memory config);

    /// @notice Whether a market's updates are paused. Reverts for an unknown market.
    /// @param marketId registered market
    /// @return paused whether updates are refused
    function isPaused(uint256 marketId) external view returns (bool paused);

    /// @notice A market's publisher set and statement (the `publishers` part of `marketConfig`). Reverts for an
    ///         unknown market.
    /// @param marketId registered market
    /// @return config verifier, model commitment, publisher set, quorum and statement key
    function publisherSet(uint256 marketId) external view returns (PublisherSetConfig memory config);

    /// @notice The verifier of signed batches of `n` markets for a model; zero if none.
    /// @param modelCommitment model commitment
    /// @param n markets per proof
    /// @return verifier the registered batch verifier, or the zero address
    function batchVerifier(uint256 modelCommitment, uint256 n) external view returns (address verifier);

    /// @notice The verifier of adaptive signed batches of `n` markets for a model (`setAdaptiveBatchVerifier`); zero
    ///         if none.
    /// @param modelCommitment model commitment
    /// @param n markets per proof
    /// @return verifier the registered adaptive batch verifier, or the zero address
    function adaptiveBatchVerifier(uint256 modelCommitment, uint256 n) external view returns (address verifier);

    /// @notice An adaptive market's state: num (calibrationNum * 2^8), the outcomes processed, and its pending
    ///         outcomes: the maintenance margins accepted for the 24 bars up to the last accepted one whose outcomes
    ///         have been neither processed nor dropped (models/adaptive.ts `PendingOutcomes`).
    /// @param marketId registered market
    /// @return num 0 when the market is not adaptive
    /// @return outcomes outcomes processed since `setAdaptiveCalibration`
    /// @return ring entry b mod 24 holds bar b's accepted MM (bps) while its outcome is pending, for the bars b from
    ///         the last accepted one back 23 bars (b = data timestamp / 7200); 0 for a bar without an accepted update
    ///         or whose outcome was processed or dropped
    function adaptiveState(
        uint256 marketId
    ) external view returns (uint32 num, uint16 outcomes, uint16[24] memory ring);

    /// @notice What an adaptive update for the bar t opening at `dataTimestamp` must start from, as the oracle will
    ///         build it: the state now and the outcome it processes, the oldest pending bar s of t - 23 .. t - 12
    ///         (`adaptiveState`'s ring). The prover's input.
    /// @param marketId registered adaptive market
    /// @param dataTimestamp the update's data timestamp (a bar's open time, after the last accepted one)
    /// @return num the state's num
    /// @return outcomes the state's outcome count
    /// @return marginS bar s's accepted maintenance margin (bps), 0 when no outcome is pending there
    /// @return lag t - 12 - s, in [0, 11] (0 when marginS is 0)
    function adaptivePrior(
        uint256 marketId,
        uint64 dataTimestamp
    ) external view returns (uint32 num, uint16 outcomes, uint16 marginS, uint8 lag);

    /// @notice The domain every proof for this oracle must carry:
    ///         `uint256(keccak256(abi.encode(block.chainid, address(this)))) % SNARK_SCALAR_FIELD`.
    /// @return value the domain on the current chain
    function domain() external view returns (uint256 value);
}
