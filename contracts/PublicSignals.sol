// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title PublicSignals
/// @notice Indexes and packing of the public signals of a zkrisk proof: a signed update (two signals) and a signed
///         batch, plain or adaptive (V varying signals and 2n + 2 constants). This mirrors
///         `circuits/public-signals.ts` and `circuits/batch-statement.ts`, the one definition of the order and
///         packing; the end-to-end tests submit real proofs, so a mismatch here fails them.
library PublicSignals {
    // Signed batches (`submitSignedBatch`: one proof, one publisher set, n markets, each with its own model
    // commitment). The constants (the n market ids, the n model commitments, the publisher set, the domain, in that
    // order: `batchConstantIndexes`) are passed to the verifier once per batch composition
    // (`ISignedBatchVerifier.batchBase`); each batch passes V varying signals:
    //   update[0] = dataTimestamp + digestBits * 2^40 + sum_{i < min(n, 4)} (mm_i + im_i * 2^14) * 2^(131 + 28 i)
    //   update[k] = sum_{j < 9} (mm_m + im_m * 2^14) * 2^(28 j), m = 4 + 9 (k - 1) + j < n
    // (dataTimestamp < 2^40, the batch digest's low 91 bits, mm and im < 2^14, each range-checked by the batch
    // circuit), so V = 1 for n <= 4 and 1 + ceil((n - 4) / 9) above.
    //
    // Adaptive signed batches (`submitAdaptiveBatch`: every market adaptive, n in [2, 32]) have the same 2n + 2
    // constants and V = n varying signals, update[i] market i's adaptive update in the layout of a single one
    // (ADAPTIVE_* below: margins, data timestamp, prior, new state, digest bits), whose data timestamp is the
    // batch's bar and whose digest bits are the batch digest's low 87 bits, the same for every market (the adaptive
    // batch circuit binds both): `batchSignalNames(n, true)` in circuits/public-signals.ts.

    /// @notice Largest number of markets in one batch.
    uint256 internal constant BATCH_MAX_MARKETS = 32;
    /// @notice Bits of the batch's data timestamp, at bit 0 of update[0].
    uint256 internal constant BATCH_TIMESTAMP_BITS = 40;
    /// @notice Bit offset of the batch digest's low bits in update[0].
    uint256 internal constant BATCH_DIGEST_SHIFT = 40;
    /// @notice Bits of the batch digest update[0] carries (`batchDigestSignal` in circuits/batch-statement.ts).
    uint256 internal constant BATCH_DIGEST_BITS = 91;
    /// @notice Bit offset of market 0's margins in update[0].
    uint256 internal constant BATCH_MARKETS_SHIFT = 131;
    /// @notice Bits of one margin (MM or IM) in a batch.
    uint256 internal constant BATCH_MARGIN_BITS = 14;
    /// @notice Bits of one market's margins (mm + im * 2^14) in a batch.
    uint256 internal constant BATCH_MARKET_BITS = 28;
    /// @notice Markets in update[0].
    uint256 internal constant BATCH_FIRST_SIGNAL_MARKETS = 4;
    /// @notice Markets in each further varying signal.
    uint256 internal constant BATCH_SIGNAL_MARKETS = 9;

    // Signed updates (`submitSignedUpdate`): two public signals, both circuit outputs (`UPDATE_SIGNALS` in
    // circuits/public-signals.ts; circuits/statement.ts defines what they pack and hash). The update packs
    // `mm + im * 2^16 + dataTimestamp * 2^32 + digest * 2^72` with the shifts above (mm, im < 2^16, dataTimestamp
    // < 2^40, digest = windowDigest mod 2^180), so a well-formed update is below 2^UPDATE_BITS < r. The statement
    // key is not passed to the verifier: the oracle stores its part of the check per market (`statementBase`).

    /// @notice Bit offset of the initial margin in a packed update (the maintenance margin is at bit 0).
    uint256 internal constant PACKED_INITIAL_MARGIN_SHIFT = 16;
    /// @notice Bit offset of the data timestamp in a packed update.
    uint256 internal constant PACKED_DATA_TIMESTAMP_SHIFT = 32;
    /// @notice Number of public signals of a signed update.
    uint256 internal constant UPDATE_COUNT = 2;
    /// @notice The packed update: margins, data timestamp (the window's last bar) and the window digest's low bits.
    uint256 internal constant UPDATE_PACKED = 0;
    /// @notice The statement key: Poseidon over the market id, model commitment, publisher set and domain.
    uint256 internal constant UPDATE_STATEMENT = 1;
    /// @notice Bits of the data timestamp in a packed update.
    uint256 internal constant UPDATE_TIMESTAMP_BITS = 40;
    /// @notice Bit offset of the window digest's low bits in a packed update.
    uint256 internal constant UPDATE_DIGEST_SHIFT = 72;
    /// @notice Bits of the window digest a packed update carries (`digestSignal` in circuits/statement.ts).
    uint256 internal constant UPDATE_DIGEST_BITS = 180;
    /// @notice Bits of a well-formed packed update: 16 + 16 + 40 + 180.
    uint256 internal constant UPDATE_BITS = 252;

    // Adaptive markets' signed updates (`setAdaptiveCalibration`): the same two signals, but the update packs, above
    // the 72 bits of margins and data timestamp, the state the oracle holds before the update (num, outcomes, the
    // accepted MM of the outcome's bar s = t - 12 - lag, the oldest accepted bar whose outcome is still pending, 0
    // for none, and lag: ADAPTIVE_PRIOR_BITS bits at ADAPTIVE_PRIOR_SHIFT, which the oracle builds from its storage
    // and compares), the proven state after it, and the window digest's low 87 bits (`ADAPTIVE_UPDATE_PACKING` in
    // circuits/statement.ts): below 2^ADAPTIVE_UPDATE_BITS < r.

    /// @notice Bits of a well-formed adaptive update: 72 + 27 + 11 + 14 + 4 + 27 + 11 + 87.
    uint256 internal constant ADAPTIVE_UPDATE_BITS = 253;
    /// @notice Bit offset of the prior (num, outcomes, bar s's MM, lag) in an adaptive update.
    uint256 internal constant ADAPTIVE_PRIOR_SHIFT = 72;
    /// @notice Bits of the prior: num (27), outcomes (11), bar s's MM (14), lag (4), in that order from bit 0.
    uint256 internal constant ADAPTIVE_PRIOR_BITS = 56;
    /// @notice Bit offset of the new num in an adaptive update (the new outcomes follow it).
    uint256 internal constant ADAPTIVE_NEW_NUM_SHIFT = 128;
    /// @notice Bit offset of the window digest's low 87 bits in an adaptive update.
    uint256 internal constant ADAPTIVE_DIGEST_SHIFT = 166;
    /// @notice Bits of the state's num (calibrationNum * 2^8).
    uint256 internal constant ADAPTIVE_NUM_BITS = 27;
    /// @notice Bits of the state's outcome count.
    uint256 internal constant ADAPTIVE_OUTCOMES_BITS = 11;
    /// @notice Bits of bar s's maintenance margin in the prior (at most 10000 bps).
    uint256 internal constant ADAPTIVE_MARGIN_BITS = 14;
    /// @notice Bars from the outcome's bar s to the end of its move (the target horizon).
    uint256 internal constant ADAPTIVE_HORIZON_BARS = 12;
    /// @notice Largest lag of a processed outcome: bar s = t - 12 - lag, lag <= 11 (the signed window holds it).
    uint256 internal constant ADAPTIVE_MAX_LAG = 11;
    /// @notice Bars of the oracle's ring of pending margins (`RiskOracle`): the last accepted bar and the 23 before
    ///         it, so every bar an update for bar t may process (t - 23 .. t - 12) and every later one.
    uint256 internal constant ADAPTIVE_RING_BARS = 24;
    /// @notice Length of a bar of the signed-update circuit (s); adaptive updates' data timestamps are multiples.
    uint256 internal constant ADAPTIVE_BAR_SECONDS = 7200;
}
