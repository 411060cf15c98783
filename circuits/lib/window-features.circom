pragma circom 2.1.0;

// The eight features of one signed window, bit for bit as features/window-features.ts `windowFeatures`
// (read its header for the notation, which this file follows: c_i, v_i, h_i, l_i, p_i, ok_i, e_i, C, D,
// F, F2, S(W), n(W), W1, W35, W7, B_j). A well-formed window has no witness exactly when the engine
// refuses it: a coverage rule, or a feature at or above its declared bound.
//
// What the circuit takes from the publisher. The inputs are the signed window (candles/window.ts,
// digest.ts v3), of which range_1d reads the highs and lows of the last 12 bars (FEATURE_RANGE_BARS,
// features/window-features.ts; the window signs 24, the caller passes the last 12): it is well formed
// when closes and highs/lows are below 2^64 and volumes below 2^80, a missing bar has every field 0 and
// a present one a close >= 1, low <= close <= high, and the last bar is present. These per-bar bounds
// are NOT re-checked here: a range check of every value read costs about 13,800 constraints
// (85 x (64 + 80) + 24 x 64, the 24 being 12 highs and 12 lows), more than the features themselves, and the
// publishers sign only well-formed windows (windowViolation refuses the rest before the digest). What
// the circuit does guarantee for ANY input: every hint is pinned, so the features are a function of the
// signed values (the prover picks nothing), and on every well-formed window that function is the
// engine's. Of the well-formedness rules only "the last bar is present" is enforced (with bar 83, as
// the coverage rule "return 84 exists").

include "range.circom";
include "presence.circom";
include "division.circom";
include "sqrt.circom";
include "maximum.circom";

/// @title BarReturns
/// @notice The presence flags and squared price changes of the 85 bars of a window:
///           present[i] = p_i = [c_i != 0],  ok[i] = p_i p_{i-1},  sq[i] = e_i = ok_i (c_i - c_{i-1})^2,
///         with bars 83 and 84 required present (return 84 must exist; the window's last bar too).
/// @input close[85] the closes c_0 .. c_84 (0 for a missing bar)
/// @output present[85] p_i (present[83] = present[84] = 1)
/// @output ok[85] ok_i for i >= 1 (ok[0] = 0: return 0 does not exist; ok[84] = 1)
/// @output sq[85] e_i for i >= 1 (sq[0] = 0)
// cost: 2 x 83 (Presence of c_0 .. c_82) + 2 (NonZero of c_83, c_84) + 82 (ok_i = p_i p_{i-1},
//       i = 1 .. 82; ok_83 = p_82 and ok_84 = 1 are linear) + 83 (g_i = ok_i d_i, i = 1 .. 83; g_84 = d_84)
//       + 84 (e_i = g_i d_i) = 417 constraints at --O2: 5 per bar.
// sound: no hint of its own. Presence and NonZero pin p_i to [c_i != 0] (presence.circom), so ok_i,
//        g_i = ok_i d_i and e_i = g_i d_i = ok_i d_i^2 are products of pinned values.
template BarReturns() {
    var BARS = 85;
    var LAST = BARS - 1;
    signal input close[BARS];
    signal output present[BARS];
    signal output ok[BARS];
    signal output sq[BARS];

    component flag[LAST - 1];
    for (var i = 0; i < LAST - 1; i++) {
        flag[i] = Presence();
        flag[i].in <== close[i];
        present[i] <== flag[i].out;
    }
    // return 84 exists: bars 83 and 84 are present (84 is also the window's last bar)
    component lastPresent[2];
    for (var k = 0; k < 2; k++) {
        lastPresent[k] = NonZero();
        lastPresent[k].in <== close[LAST - 1 + k];
        present[LAST - 1 + k] <== 1;
    }

    signal g[BARS];
    ok[0] <== 0;
    g[0] <== 0;
    sq[0] <== 0;
    for (var i = 1; i < BARS; i++) {
        if (i < LAST - 1) {
            ok[i] <== present[i] * present[i - 1];
        } else {
            // present[i] = 1 for i = 83, 84: ok_83 = p_82, ok_84 = p_83 = 1
            ok[i] <== present[i - 1];
        }
        if (i < LAST) {
            g[i] <== ok[i] * (close[i] - close[i - 1]);
        } else {
            g[i] <== close[i] - close[i - 1];
        }
        sq[i] <== g[i] * (close[i] - close[i - 1]);
    }
}

/// @title RelativeRms
/// @notice out = isqrt(sum F2 / (count D)): the root mean square of `count` squared changes relative to
///         D = C^2, at scale F = 2^32 (rv_1d, rv_3d5, rv_7d, range_1d, abs_return), below 2^ROOT_BITS.
/// @param COUNT_MAX the largest count (12, 42, 84; 1 for abs_return, whose count is the constant 1)
/// @param ROOT_BITS bits of the feature: a value of 2^ROOT_BITS or more has no witness (the bound)
/// @input sum the sum of squared changes S (any field element)
/// @input count n, an integer of [0, COUNT_MAX] pinned by the caller (a sum of pinned booleans)
/// @input dd D = C^2 for a C the caller pins to (-2^65, 2^65) (see WindowFeatures)
/// @output out the feature
// cost: 1 product (count * dd; none when COUNT_MAX = 1, the caller passing count = 1) +
//       SqrtOfRatio(ROOT_BITS, Y_BITS) with Y_BITS = widthOf(COUNT_MAX (2^64 - 1)^2), the bound of
//       count D on a well-formed window: ROOT_BITS + 2 (ROOT_BITS + 1 + Y_BITS) + 2 at --O2.
// sound: SqrtOfRatio's precondition: y = count D < 2^7 2^130 = 2^137 <= 2^(251 - 2 ROOT_BITS) (asserted).
template RelativeRms(COUNT_MAX, ROOT_BITS) {
    var PRICE_MAX = (1 << 64) - 1;
    var Y_BITS = widthOf(COUNT_MAX * PRICE_MAX * PRICE_MAX);
    assert(COUNT_MAX >= 1 && COUNT_MAX < 128 && 137 <= 251 - 2 * ROOT_BITS);
    signal input sum;
    signal input count;
    signal input dd;
    signal output out;

    component root = SqrtOfRatio(ROOT_BITS, Y_BITS);
    root.x <== sum * (1 << 64);
    if (COUNT_MAX == 1) {
        root.y <== dd;
    } else {
        root.y <== count * dd;
    }
    out <== root.out;
}

/// @title WindowFeatures
/// @notice The features of a window of 85 bars, in WINDOW_FEATURES order, each at scale 2^32:
///           [rv_1d, rv_3d5, rv_7d, range_1d, abs_return, volume_ratio_7d, drawdown_7d, volvol_7d].
///         No witness when the engine refuses the window: bar 83 or 84 missing, n(W1) < 9,
///         n(W35) < 32, n(W7) < 63, a day B_j without a return, or a feature at or above its bound.
/// @input close[85], volume[85] c_i and v_i of bars 0 .. 84 (0 for a missing bar)
/// @input high[12], low[12] h_i and l_i of bars 73 .. 84 (high[k] is bar 73 + k): the last 12 of the
///        window's 24-bar range part (FEATURE_RANGE_BARS; the signed circuits wire high[12 + k] here)
/// @output features[8] the features (volume[0] is signed but no feature reads it)
// cost (--O2; measured, pinned in test/circuits/templates-window-features.test.ts):
//   presence and returns    BarReturns                                             417
//   coverage                n(W1) - 9, n(W35) - 32, n(W7) - 63: RangeCheck(2, 4, 5)  11
//   sums                    D = C^2 (1), bars 73..84 (h - l)^2 (12); S, n linear      13
//   rv_1d                   RelativeRms(12, 33): 1 + 33 + 2 (33 + 1 + 132) + 2      368
//   rv_3d5                  RelativeRms(42, 33): 1 + 33 + 2 (33 + 1 + 134) + 2      372
//   rv_7d                   RelativeRms(84, 33): 1 + 33 + 2 (33 + 1 + 135) + 2      374
//   range_1d                RelativeRms(12, 33)                                     368
//   abs_return              RelativeRms(1, 33): 33 + 2 (33 + 1 + 128) + 2           359
//   volume_ratio_7d         v_84 m7 (1) + FloorDivOrZero(39, 87): 39 + 174 + 4      218
//   drawdown_7d             Maximum(21, 64): 21 x 64 + 20                          1364
//                           FloorDiv(32, 64): 32 + 128 + 1                          161
//   volvol_7d               7 x (n_j D (1) + FloorDiv(73, 132): 73 + 264 + 1)      2373
//                           u_j^2 (7), U1^2 (1), IsZero(U1) (2),
//                           SqrtOfRatio(34, 152): 34 + 2 (34 + 1 + 152) + 2         420
//   total                                                                         6818
// Widths, each from a stated bound (window-features.ts header): closes < 2^64 so D < 2^128 and
// n D < 2^132, 2^134, 2^135 for n <= 12, 42, 84; volumes < 2^80 so V < 84 2^80 < 2^87; the
// bounds [0, 2) of the vols, range and return are roots below 2^33, [0, 128) is 2^39, [0, 1) is 2^32,
// [0, 4) is 2^34; u_j <= S(W7) F2 / D < n(W7) 2^66 <= 84 2^66 < 2^73 whenever rv_7d < 2 (otherwise the
// window is refused anyway), so U1 < 7 2^73 < 2^76 and U1^2 < 2^152.
// sound: every hint is in a generic template with its own argument (presence, division, sqrt,
//        maximum .circom); what this template adds is their preconditions. RelativeRms and the volvol
//        root need y pinned to a small integer: counts are sums of pinned booleans (<= 84); C is within
//        (-2^65, 2^65) because FloorDiv(32, 64) pins M = den to [1, 2^65) and Maximum pins M - C to
//        [0, 2^64); so D < 2^130 and n D < 2^137. U1 is a sum of 7 FloorDiv quotients < 2^73. The
//        coverage rules: RangeCheck(b) of n - min has a witness exactly when n >= min (n <= max is a
//        sum of booleans, max - min < 2^b); a day with n_j = 0 has den = 0 in its FloorDiv: no witness;
//        bars 83, 84 by NonZero. The bounds: each quotient or root range check (39, 32, 33, 34 bits) is
//        exactly "< hi 2^32" since every hi 2^32 is a power of two (asserted). The formulas equal the
//        engine's on a well-formed window: R = sum (h_i - l_i)^2 needs no p_i because a missing bar has
//        h = l = 0, V sums the volumes of missing bars too (they are 0), and V = 0 or U1 = 0 give 0
//        (for U1 = 0, every u_j is 0 so U2 = 0: x = 0 over y = 0 + 1).
template WindowFeatures() {
    var BARS = 85;
    var LAST = BARS - 1;
    var RANGE_BARS = 12; // FEATURE_RANGE_BARS (features/window-features.ts)
    var DAY = 12;
    var HALF_WEEK = 42;
    var WEEK = 84;
    var WEEK_DAYS = 7;
    var STRIDE = 4;
    var MIN_DAY = 9;
    var MIN_HALF_WEEK = 32;
    var MIN_WEEK = 63;
    var SCALE_BITS = 32;
    var PRICE_BITS = 64;
    var VOLUME_BITS = 80;
    var F = 1 << SCALE_BITS;
    var F2 = 1 << (2 * SCALE_BITS);
    var PRICE_MAX = (1 << PRICE_BITS) - 1;

    // bits of each feature: the declared bound hi (WINDOW_FEATURES) times F is 2^bits
    var RV_BITS = widthOf(2 * F - 1);
    var VOLUME_RATIO_BITS = widthOf(128 * F - 1);
    var DRAWDOWN_BITS = widthOf(1 * F - 1);
    var VOLVOL_BITS = widthOf(4 * F - 1);
    assert((1 << RV_BITS) == 2 * F && (1 << VOLUME_RATIO_BITS) == 128 * F);
    assert((1 << DRAWDOWN_BITS) == F && (1 << VOLVOL_BITS) == 4 * F);
    // u_j < n(W7) (2F)^2 <= 84 2^66 while rv_7d < 2
    var DAILY_BITS = widthOf(WEEK * (2 * F) * (2 * F) - 1);
    var DAILY_DEN_BITS = widthOf(DAY * PRICE_MAX * PRICE_MAX);
    var U1_MAX = WEEK_DAYS * ((1 << DAILY_BITS) - 1);
    var VOLVOL_DEN_BITS = widthOf(U1_MAX * U1_MAX);
    var VOLUME_SUM_BITS = widthOf(WEEK * ((1 << VOLUME_BITS) - 1));
    // bars 84, 80, ..., 4: the engine stops before bar 0
    var SAMPLES = WEEK \ STRIDE;

    signal input close[BARS];
    signal input volume[BARS];
    signal input high[RANGE_BARS];
    signal input low[RANGE_BARS];
    signal output features[8];

    component bars = BarReturns();
    bars.close <== close;

    // the window sums (linear in the pinned flags and squares)
    var s1 = 0;
    var n1 = 0;
    var s35 = 0;
    var n35 = 0;
    var s7 = 0;
    var n7 = 0;
    var m7 = 0;
    var volumeSum = 0;
    for (var i = 1; i < BARS; i++) {
        s7 += bars.sq[i];
        n7 += bars.ok[i];
        m7 += bars.present[i];
        volumeSum += volume[i];
        if (i > LAST - HALF_WEEK) {
            s35 += bars.sq[i];
            n35 += bars.ok[i];
        }
        if (i > LAST - DAY) {
            s1 += bars.sq[i];
            n1 += bars.ok[i];
        }
    }

    // coverage: at most a quarter of each window missing
    component coverDay = RangeCheck(widthOf(DAY - MIN_DAY));
    coverDay.in <== n1 - MIN_DAY;
    component coverHalfWeek = RangeCheck(widthOf(HALF_WEEK - MIN_HALF_WEEK));
    coverHalfWeek.in <== n35 - MIN_HALF_WEEK;
    component coverWeek = RangeCheck(widthOf(WEEK - MIN_WEEK));
    coverWeek.in <== n7 - MIN_WEEK;

    signal dd;
    dd <== close[LAST] * close[LAST];

    // rv_1d, rv_3d5, rv_7d
    component rv1 = RelativeRms(DAY, RV_BITS);
    rv1.sum <== s1;
    rv1.count <== n1;
    rv1.dd <== dd;
    component rv35 = RelativeRms(HALF_WEEK, RV_BITS);
    rv35.sum <== s35;
    rv35.count <== n35;
    rv35.dd <== dd;
    component rv7 = RelativeRms(WEEK, RV_BITS);
    rv7.sum <== s7;
    rv7.count <== n7;
    rv7.dd <== dd;

    // range_1d: R = sum (h_i - l_i)^2 over bars 73 .. 84, m = present bars there
    signal hl[RANGE_BARS];
    var rangeSum = 0;
    var m = 0;
    for (var k = 0; k < RANGE_BARS; k++) {
        hl[k] <== (high[k] - low[k]) * (high[k] - low[k]);
        rangeSum += hl[k];
        m += bars.present[BARS - RANGE_BARS + k];
    }
    component rangeRms = RelativeRms(RANGE_BARS, RV_BITS);
    rangeRms.sum <== rangeSum;
    rangeRms.count <== m;
    rangeRms.dd <== dd;

    // abs_return: e_84 over D
    component absReturn = RelativeRms(1, RV_BITS);
    absReturn.sum <== bars.sq[LAST];
    absReturn.count <== 1;
    absReturn.dd <== dd;

    // volume_ratio_7d = v_84 m7 F / V, 0 when V = 0
    signal lastVolumeCount;
    lastVolumeCount <== volume[LAST] * m7;
    component volumeRatio = FloorDivOrZero(VOLUME_RATIO_BITS, VOLUME_SUM_BITS);
    volumeRatio.num <== lastVolumeCount * F;
    volumeRatio.den <== volumeSum;

    // drawdown_7d = (M - C) F / M, M the highest close of bars 84, 80, ..., 4
    component high7 = Maximum(SAMPLES, PRICE_BITS);
    for (var k = 0; k < SAMPLES; k++) {
        high7.in[k] <== close[LAST - STRIDE * k];
    }
    component drawdown = FloorDiv(DRAWDOWN_BITS, PRICE_BITS);
    drawdown.num <== (high7.out - close[LAST]) * F;
    drawdown.den <== high7.out;

    // volvol_7d: u_j = S(B_j) F2 / (n(B_j) D), then isqrt((7 U2 - U1^2) F2 / U1^2), 0 when U1 = 0
    component daily[WEEK_DAYS];
    signal dayDen[WEEK_DAYS];
    signal dailySq[WEEK_DAYS];
    var u1 = 0;
    var u2 = 0;
    for (var j = 0; j < WEEK_DAYS; j++) {
        var sj = 0;
        var nj = 0;
        for (var i = 1 + DAY * j; i <= DAY * (j + 1); i++) {
            sj += bars.sq[i];
            nj += bars.ok[i];
        }
        dayDen[j] <== nj * dd;
        daily[j] = FloorDiv(DAILY_BITS, DAILY_DEN_BITS);
        daily[j].num <== sj * F2;
        daily[j].den <== dayDen[j];
        dailySq[j] <== daily[j].q * daily[j].q;
        u1 += daily[j].q;
        u2 += dailySq[j];
    }
    signal u1Sq;
    u1Sq <== u1 * u1;
    component flat = IsZero();
    flat.in <== u1;
    component volvol = SqrtOfRatio(VOLVOL_BITS, VOLVOL_DEN_BITS);
    volvol.x <== (WEEK_DAYS * u2 - u1Sq) * F2;
    volvol.y <== u1Sq + flat.out;

    features[0] <== rv1.out;
    features[1] <== rv35.out;
    features[2] <== rv7.out;
    features[3] <== rangeRms.out;
    features[4] <== absReturn.out;
    features[5] <== volumeRatio.q;
    features[6] <== drawdown.q;
    features[7] <== volvol.out;
}
