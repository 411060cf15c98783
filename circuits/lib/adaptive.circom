pragma circom 2.1.0;

// The adaptive calibration (issue 12, part 3): the circuit side of models/adaptive.ts `adaptiveUpdate`.
// At an update for bar t, the state (num, outcomes) held by the oracle moves by one outcome of bar
// s = t - H (its realised H-bar move against its accepted maintenance margin mmS), when bar s had an
// accepted update (mmS != 0) and every bar s..t is present in the signed window; otherwise it stays.

include "range.circom";
include "presence.circom";
include "maximum.circom";
include "fixed-point.circom";
include "clamp.circom";

/// @title AdaptiveCalibration
/// @notice One step of the annealed adaptive rule (models/adaptive.ts `adaptiveStep`, applied as
///         `adaptiveUpdate` does):
///           processed = [mmS != 0] * prod_{i=0..H} [close of bar s + i != 0]
///           breach    = [10000 * max_j max(closeS - low_j, high_j - closeS) > mmS * closeS]
///           k         = min(STAGES - 1, floor(outcomes / PER_STAGE))
///           step      = floor(num * c / 2^UP_SHIFT), c = UP[k] on a breach, 2^(UP_SHIFT - DOWN_START - k)
///                       when covered (floor(num * 2^(UP_SHIFT - DOWN_START - k) / 2^UP_SHIFT) is
///                       floor(num / 2^(DOWN_START + k)))
///           newNum    = processed ? clamp(num +- step, NUM_MIN, NUM_MAX) : num
///           newOutcomes = processed ? min(outcomes + 1, CAP) : outcomes, CAP = (STAGES - 1) * PER_STAGE
///           calibrationNum = ceil(newNum / 2^EXTRA_BITS)
/// @param H bars from s to t (the target horizon, 12); the window's last H + 1 closes are bars s..t
/// @param PRICE_BITS bits of a price (64: candles/integer-candle.ts)
/// @param MM_BITS bits of a maintenance margin in bps (14: margins are at most 10000)
/// @param STAGES annealing stages (the length of UP), STAGES >= 2
/// @param PER_STAGE outcomes per stage, PER_STAGE >= 1
/// @param DOWN_START the first stage's down shift; UP_SHIFT >= DOWN_START + STAGES - 1
/// @param UP[STAGES] the up numerators at 2^UP_SHIFT, each in [1, 2^UP_SHIFT)
/// @param UP_SHIFT the up step's shift
/// @param NUM_MIN, NUM_MAX the state's clamp (minNum, maxNum times 2^EXTRA_BITS), 1 <= NUM_MIN <= NUM_MAX
/// @param EXTRA_BITS the state's extra bits over calibrationNum (STATE_EXTRA_BITS, 8)
/// @input num the state before the update, in [NUM_MIN, NUM_MAX] (else no witness)
/// @input outcomes outcomes processed before the update, in [0, CAP] (else no witness)
/// @input mmS bar s's accepted maintenance margin, 0 for "no accepted update", below 2^MM_BITS
/// @input closeS the close of bar s; close[H] the closes of bars s+1..t (presence only)
/// @input high[H], low[H] the highs and lows of bars s+1..t
/// @output processed 1 when the outcome of bar s moved the state
/// @output breach 1 when the move of bar s exceeded mmS (meaningful only when processed)
/// @output newNum, newOutcomes the state after the update
/// @output calibrationNum ceil(newNum / 2^EXTRA_BITS), the calibration of this update's margins
// cost (H = 12, PRICE_BITS = 64, MM_BITS = 14, STAGES = 4, PER_STAGE = 500, the shipped rule; measured and
//       pinned in test/circuits/templates-adaptive.test.ts): 1,962 at --O2 =
//         Maximum(2H, PRICE_BITS + 1) of the 2H shifted moves: 2H (PRICE_BITS + 1) + 2H - 1        1,583
//         breach: SignedRangeCheck(PRICE_BITS + MM_BITS + 2) + the product mmS * closeS                 81
//         processed: Presence of mmS and of the H + 1 closes (2 each) + H + 1 products                  41
//         range checks: mmS (14), num - NUM_MIN and NUM_MAX - num (26 each), outcomes and
//           CAP - outcomes (11 each)                                                                   88
//         stage flags: STAGES - 1 SignedRangeCheck(OUT_BITS + 1)                                         36
//         step: c, num * c, FloorShiftToRange(UP_SHIFT, 0, STEP_BITS = 24), breach * step                43
//         ClampRange(0, 2^(NUM_BITS + 1) - 1, NUM_MIN, NUM_MAX): two 29-bit sides and their products     60
//         newNum and newOutcomes (one product each)                                                       2
//         CeilShiftToRange(EXTRA_BITS, 0, NUM_BITS - EXTRA_BITS + 1)                                    28
// sound: no hint of its own; every hint is inside a library template that pins it (RangeCheck bits,
//        Maximum's hinted maximum, IsZero's inverse). In order:
//          * num, outcomes and mmS are range-checked, so they are small integers;
//          * the 2H values closeS - low_j + 2^PRICE_BITS and high_j - closeS + 2^PRICE_BITS have ONE
//            Maximum (a witness exists only when they are less than 2^(PRICE_BITS+1) apart, which holds
//            for the prices below 2^PRICE_BITS that the publishers sign), so move = max - 2^PRICE_BITS is
//            pinned;
//          * d = 10000 move - mmS closeS - 1 lies in (-2^(W-1), 2^(W-1)), W = PRICE_BITS + MM_BITS + 2,
//            for signed prices below 2^PRICE_BITS (10000 < 2^14 <= 2^MM_BITS), and SignedRangeCheck(W)
//            pins its sign bit: breach = [d >= 0] = [10000 move > mmS closeS] exactly;
//          * the stage flags ge_i = [outcomes >= i PER_STAGE] are sign bits of small differences; they are
//            non-increasing in i, so e_k = ge_k - ge_{k+1} is the one-hot stage and c is a linear choice;
//          * num c < 2^(NUM_BITS + C_BITS) <= 2^250, so FloorShiftToRange is the exact floor;
//          * next = num - step + 2 breach step lies in [0, 2^(NUM_BITS + 1)) (step <= num c / 2^UP_SHIFT,
//            c < 2^UP_SHIFT), ClampRange checks both of its sides, and the selections by processed (a
//            product of booleans) are constraints.
template AdaptiveCalibration(
    H, PRICE_BITS, MM_BITS, STAGES, PER_STAGE, DOWN_START, UP, UP_SHIFT, NUM_MIN, NUM_MAX, EXTRA_BITS
) {
    assert(H >= 1 && STAGES >= 2 && PER_STAGE >= 1);
    assert(MM_BITS >= 14 && PRICE_BITS >= 1 && PRICE_BITS + MM_BITS + 2 <= 250);
    assert(UP_SHIFT >= DOWN_START + STAGES - 1 && DOWN_START >= 0);
    assert(1 <= NUM_MIN && NUM_MIN <= NUM_MAX);
    var CAP = (STAGES - 1) * PER_STAGE;
    var OUT_BITS = widthOf(CAP);
    var NUM_BITS = widthOf(NUM_MAX);
    var NUM_SPAN = widthOf(NUM_MAX - NUM_MIN);
    var C_MAX = 1 << (UP_SHIFT - DOWN_START);
    for (var k = 0; k < STAGES; k++) {
        assert(UP[k] >= 1 && UP[k] < (1 << UP_SHIFT));
        if (UP[k] > C_MAX) {
            C_MAX = UP[k];
        }
    }
    var C_BITS = widthOf(C_MAX);
    assert(NUM_BITS + C_BITS <= 250);
    // step = floor(num * c / 2^UP_SHIFT) < 2^STEP_BITS
    var STEP_BITS = NUM_BITS + C_BITS - UP_SHIFT;
    if (STEP_BITS < 1) {
        STEP_BITS = 1;
    }

    signal input num;
    signal input outcomes;
    signal input mmS;
    signal input closeS;
    signal input close[H];
    signal input high[H];
    signal input low[H];
    signal output processed;
    signal output breach;
    signal output newNum;
    signal output newOutcomes;
    signal output calibrationNum;

    // The state and mmS are small integers (they are also packed into the public update signal).
    component mmRange = RangeCheck(MM_BITS);
    mmRange.in <== mmS;
    component numAbove = RangeCheck(NUM_SPAN);
    numAbove.in <== num - NUM_MIN;
    component numBelow = RangeCheck(NUM_SPAN);
    numBelow.in <== NUM_MAX - num;
    component outcomesRange = RangeCheck(OUT_BITS);
    outcomesRange.in <== outcomes;
    component outcomesBelowCap = RangeCheck(OUT_BITS);
    outcomesBelowCap.in <== CAP - outcomes;

    // processed: bar s had an accepted update and bars s..t are all present (none missing in between:
    // the backtest's "exactly H bars back").
    component hasOutcome = Presence();
    hasOutcome.in <== mmS;
    component present[H + 1];
    signal allPresent[H + 1];
    present[0] = Presence();
    present[0].in <== closeS;
    allPresent[0] <== hasOutcome.out * present[0].out;
    for (var i = 0; i < H; i++) {
        present[i + 1] = Presence();
        present[i + 1].in <== close[i];
        allPresent[i + 1] <== allPresent[i] * present[i + 1].out;
    }
    processed <== allPresent[H];

    // breach: the largest of the 2H moves (shifted to be nonnegative), then one signed comparison.
    var SHIFT = 1 << PRICE_BITS;
    component largest = Maximum(2 * H, PRICE_BITS + 1);
    for (var j = 0; j < H; j++) {
        largest.in[2 * j] <== closeS - low[j] + SHIFT;
        largest.in[2 * j + 1] <== high[j] - closeS + SHIFT;
    }
    signal threshold;
    threshold <== mmS * closeS;
    var W = PRICE_BITS + MM_BITS + 2;
    component exceeds = SignedRangeCheck(W);
    exceeds.in <== 10000 * (largest.out - SHIFT) - threshold - 1;
    // the sign bit of 10000 move - mmS closeS - 1: 1 exactly when 10000 move > mmS closeS
    breach <== exceeds.bits[W - 1];

    // The annealing stage: ge[i].bits[OUT_BITS] = [outcomes >= (i + 1) PER_STAGE] for i < STAGES - 1
    // (the sign bit of outcomes - (i + 1) PER_STAGE, which lies in (-2^OUT_BITS, 2^OUT_BITS)).
    component ge[STAGES - 1];
    for (var i = 0; i < STAGES - 1; i++) {
        ge[i] = SignedRangeCheck(OUT_BITS + 1);
        ge[i].in <== outcomes - (i + 1) * PER_STAGE;
    }
    var stageUp = 0;
    var stageDown = 0;
    for (var k = 0; k < STAGES; k++) {
        // the one-hot stage e_k = [outcomes >= k PER_STAGE] - [outcomes >= (k + 1) PER_STAGE]
        var geK = 1;
        if (k > 0) {
            geK = ge[k - 1].bits[OUT_BITS];
        }
        var geNext = 0;
        if (k + 1 < STAGES) {
            geNext = ge[k].bits[OUT_BITS];
        }
        stageUp += (geK - geNext) * UP[k];
        stageDown += (geK - geNext) * (1 << (UP_SHIFT - DOWN_START - k));
    }

    // step = floor(num * c / 2^UP_SHIFT), next = num + step on a breach, num - step when covered.
    signal c;
    c <== stageDown + breach * (stageUp - stageDown);
    signal scaled;
    scaled <== num * c;
    component step = FloorShiftToRange(UP_SHIFT, 0, STEP_BITS);
    step.in <== scaled;
    signal signedStep;
    signedStep <== breach * step.out;
    component clamp = ClampRange(0, (1 << (NUM_BITS + 1)) - 1, NUM_MIN, NUM_MAX);
    clamp.in <== num - step.out + 2 * signedStep;

    newNum <== num + processed * (clamp.out - num);
    newOutcomes <== outcomes + processed * (1 - ge[STAGES - 2].bits[OUT_BITS]);

    component ceil = CeilShiftToRange(EXTRA_BITS, 0, NUM_BITS - EXTRA_BITS + 1);
    ceil.in <== newNum;
    calibrationNum <== ceil.out;
}
