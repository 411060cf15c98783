pragma circom 2.1.0;

// The adaptive calibration (issue 12, part 3): the circuit side of models/adaptive.ts `adaptiveUpdate`.
// At an update for bar t, the state (num, outcomes) held by the oracle moves by one outcome: that of bar
// s = t - H - lag, the oldest accepted bar whose outcome is still pending (models/adaptive.ts
// `PendingOutcomes`; the oracle gives mmS and lag), against its accepted maintenance margin mmS, when bar s had
// an accepted update (mmS != 0) and every bar s..s+H is present in the signed window; otherwise it stays.

include "range.circom";
include "presence.circom";
include "maximum.circom";
include "fixed-point.circom";
include "clamp.circom";

/// @title AdaptiveCalibration
/// @notice One step of the annealed adaptive rule (models/adaptive.ts `adaptiveStep`, applied as
///         `adaptiveUpdate` does to `windowOutcome(bars, mmS, lag)`), on the last H + MAX_LAG + 1 bars of the
///         window, bars t - H - MAX_LAG .. t:
///           s         = t - H - lag, selected by the one-hot e_j = [lag = j], j = 0..MAX_LAG
///           processed = [mmS != 0] * prod_{i=0..H} [close of bar s + i != 0]
///           breach    = [10000 * max_{i=1..H} max(closeS - low_{s+i}, high_{s+i} - closeS) > mmS * closeS]
///           k         = min(STAGES - 1, floor(outcomes / PER_STAGE))
///           step      = floor(num * c / 2^UP_SHIFT), c = UP[k] on a breach, 2^(UP_SHIFT - DOWN_START - k)
///                       when covered (floor(num * 2^(UP_SHIFT - DOWN_START - k) / 2^UP_SHIFT) is
///                       floor(num / 2^(DOWN_START + k)))
///           newNum    = processed ? clamp(num +- step, NUM_MIN, NUM_MAX) : num
///           newOutcomes = processed ? min(outcomes + 1, CAP) : outcomes, CAP = (STAGES - 1) * PER_STAGE
///           calibrationNum = ceil(newNum / 2^EXTRA_BITS)
/// @param H bars from s to the end of its move (the target horizon, 12)
/// @param MAX_LAG the largest lag (models/target.ts MAX_OUTCOME_LAG, 11); lag in [0, MAX_LAG]
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
/// @input mmS bar s's accepted maintenance margin, 0 for "no pending outcome", below 2^MM_BITS
/// @input lag bars of s before t - H, in [0, MAX_LAG] (else no witness: the one-hot has none)
/// @input close[H + MAX_LAG + 1] the closes of bars t - H - MAX_LAG .. t (close[MAX_LAG - lag] is bar s's)
/// @input high[H + MAX_LAG], low[H + MAX_LAG] the highs and lows of bars t - H - MAX_LAG + 1 .. t (bar s has
///        none: only its close is read)
/// @output processed 1 when the outcome of bar s moved the state
/// @output breach 1 when the move of bar s exceeded mmS (meaningful only when processed)
/// @output newNum, newOutcomes the state after the update
/// @output calibrationNum ceil(newNum / 2^EXTRA_BITS), the calibration of this update's margins
// cost (H = 12, MAX_LAG = 11, PRICE_BITS = 64, MM_BITS = 14, STAGES = 4, PER_STAGE = 500, the shipped rule;
//       measured and pinned in test/circuits/templates-adaptive.test.ts): 2,298 at --O2 =
//         lag's one-hot: MAX_LAG + 1 booleanities (its two sums are linear)                            12
//         selection: e_j times close of bar s, and times high and low of bars s+1..s+H, for each of
//           the MAX_LAG + 1 lags: (MAX_LAG + 1)(2H + 1)                                               300
//         Maximum(2H, PRICE_BITS + 1) of the 2H shifted moves: 2H (PRICE_BITS + 1) + 2H - 1        1,583
//         breach: SignedRangeCheck(PRICE_BITS + MM_BITS + 2) + the product mmS * closeS                 81
//         processed: Presence of mmS and of the H + MAX_LAG + 1 closes (2 each), the selected count
//           of missing bars (MAX_LAG + 1 products), its IsZero (2), processed (1)                      65
//         range checks: mmS (14), num - NUM_MIN and NUM_MAX - num (26 each), outcomes and
//           CAP - outcomes (11 each)                                                                   88
//         stage flags: STAGES - 1 SignedRangeCheck(OUT_BITS + 1)                                         36
//         step: c, num * c, FloorShiftToRange(UP_SHIFT, 0, STEP_BITS = 24), breach * step                43
//         ClampRange(0, 2^(NUM_BITS + 1) - 1, NUM_MIN, NUM_MAX): two 29-bit sides and their products     60
//         newNum and newOutcomes (one product each)                                                       2
//         CeilShiftToRange(EXTRA_BITS, 0, NUM_BITS - EXTRA_BITS + 1)                                    28
// sound: one hint of its own, the one-hot e of lag, pinned as below; every other hint is inside a library
//        template that pins it (RangeCheck bits, Maximum's hinted maximum, IsZero's inverse). In order:
//          * num, outcomes and mmS are range-checked, so they are small integers;
//          * e: each e_j is boolean (e_j (e_j - 1) = 0), sum_j e_j = 1, so exactly one e_m is 1 and the
//            others 0; then sum_j j e_j = m, and sum_j j e_j = lag makes lag the integer m in [0, MAX_LAG]
//            and e the one-hot of lag: one witness for each lag in range, none for any other field
//            element (which also bounds lag below 2^4 for the packed update);
//          * so the selected closeS = sum_j e_j close[MAX_LAG - j] is bar s's close, and the selected
//            high_i, low_i (i = 1..H) are those of bar s + i, exactly (products of e_j with signals);
//          * the 2H values closeS - low_i + 2^PRICE_BITS and high_i - closeS + 2^PRICE_BITS have ONE
//            Maximum (a witness exists only when they are less than 2^(PRICE_BITS+1) apart, which holds
//            for the prices below 2^PRICE_BITS that the publishers sign), so move = max - 2^PRICE_BITS is
//            pinned;
//          * d = 10000 move - mmS closeS - 1 lies in (-2^(W-1), 2^(W-1)), W = PRICE_BITS + MM_BITS + 2,
//            for signed prices below 2^PRICE_BITS (10000 < 2^14 <= 2^MM_BITS), and SignedRangeCheck(W)
//            pins its sign bit: breach = [d >= 0] = [10000 move > mmS closeS] exactly;
//          * each bar's presence flag is Presence's pinned boolean; the count of missing bars of s..s+H is
//            sum_j e_j (the missing bars among close[MAX_LAG - j .. MAX_LAG - j + H]), an integer in
//            [0, H + 1] (no wrap), so [count = 0] (IsZero) is "all H + 1 bars present" exactly;
//          * the stage flags ge_i = [outcomes >= i PER_STAGE] are sign bits of small differences; they are
//            non-increasing in i, so e_k = ge_k - ge_{k+1} is the one-hot stage and c is a linear choice;
//          * num c < 2^(NUM_BITS + C_BITS) <= 2^250, so FloorShiftToRange is the exact floor;
//          * next = num - step + 2 breach step lies in [0, 2^(NUM_BITS + 1)) (step <= num c / 2^UP_SHIFT,
//            c < 2^UP_SHIFT), ClampRange checks both of its sides, and the selections by processed (a
//            product of booleans) are constraints.
template AdaptiveCalibration(
    H, MAX_LAG, PRICE_BITS, MM_BITS, STAGES, PER_STAGE, DOWN_START, UP, UP_SHIFT, NUM_MIN, NUM_MAX, EXTRA_BITS
) {
    assert(H >= 1 && MAX_LAG >= 0 && STAGES >= 2 && PER_STAGE >= 1);
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
    var LAGS = MAX_LAG + 1;
    var BARS = H + LAGS;

    signal input num;
    signal input outcomes;
    signal input mmS;
    signal input lag;
    signal input close[BARS];
    signal input high[BARS - 1];
    signal input low[BARS - 1];
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

    // The one-hot of lag: e[j] = [lag = j]. Bar s is close[MAX_LAG - j] for the j with e[j] = 1.
    signal e[LAGS];
    var ones = 0;
    var weighted = 0;
    for (var j = 0; j < LAGS; j++) {
        // hint: [lag = j]; pinned by the booleanity, sum e = 1 and sum j e = lag below (no witness for a
        // lag outside [0, MAX_LAG])
        e[j] <-- lag == j ? 1 : 0;
        e[j] * (e[j] - 1) === 0;
        ones += e[j];
        weighted += j * e[j];
    }
    ones === 1;
    weighted === lag;

    // The selected bars: closeS = close of bar s, high and low of bars s+1..s+H (products with e[j]).
    signal closePart[LAGS];
    signal highPart[H][LAGS];
    signal lowPart[H][LAGS];
    var closeS = 0;
    var highSel[H];
    var lowSel[H];
    for (var i = 0; i < H; i++) {
        highSel[i] = 0;
        lowSel[i] = 0;
    }
    for (var j = 0; j < LAGS; j++) {
        closePart[j] <== e[j] * close[MAX_LAG - j];
        closeS += closePart[j];
        for (var i = 0; i < H; i++) {
            // bar s + 1 + i = t - H - j + 1 + i is high[MAX_LAG - j + i]
            highPart[i][j] <== e[j] * high[MAX_LAG - j + i];
            lowPart[i][j] <== e[j] * low[MAX_LAG - j + i];
            highSel[i] += highPart[i][j];
            lowSel[i] += lowPart[i][j];
        }
    }

    // processed: a pending outcome (mmS != 0) and bars s..s+H all present (the backtest's "bars s..s+H all
    // in the series"). missingBefore counts the missing bars among close[0..b-1].
    component hasOutcome = Presence();
    hasOutcome.in <== mmS;
    component present[BARS];
    var missingBefore[BARS + 1];
    missingBefore[0] = 0;
    for (var b = 0; b < BARS; b++) {
        present[b] = Presence();
        present[b].in <== close[b];
        missingBefore[b + 1] = missingBefore[b] + 1 - present[b].out;
    }
    // the missing bars of s..s+H = close[MAX_LAG - j .. MAX_LAG - j + H] for the selected j
    signal missingPart[LAGS];
    var missing = 0;
    for (var j = 0; j < LAGS; j++) {
        missingPart[j] <== e[j] * (missingBefore[MAX_LAG - j + H + 1] - missingBefore[MAX_LAG - j]);
        missing += missingPart[j];
    }
    component allPresent = IsZero();
    allPresent.in <== missing;
    processed <== hasOutcome.out * allPresent.out;

    // breach: the largest of the 2H moves (shifted to be nonnegative), then one signed comparison.
    var SHIFT = 1 << PRICE_BITS;
    component largest = Maximum(2 * H, PRICE_BITS + 1);
    for (var i = 0; i < H; i++) {
        largest.in[2 * i] <== closeS - lowSel[i] + SHIFT;
        largest.in[2 * i + 1] <== highSel[i] - closeS + SHIFT;
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
