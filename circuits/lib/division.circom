pragma circom 2.1.0;

// Floor division by a signal: the circuit side of bigint `/` on nonnegative operands (the divisions
// of features/window-features.ts). The quotient and the remainder are hints, pinned by one product
// and three range checks; a quotient at or above its declared range has no witness, which is how a
// feature over its declared bound is refused.

include "range.circom";
include "comparators.circom";

/// @title FloorDiv
/// @notice q = floor(num / den) and r = num - q * den, for 1 <= den <= 2^D_BITS and q < 2^Q_BITS.
/// @param Q_BITS quotient bits, Q_BITS >= 1: a quotient >= 2^Q_BITS has no witness
/// @param D_BITS divisor bits, D_BITS >= 1: every den in [1, 2^D_BITS] is accepted;
///        Q_BITS + D_BITS + 1 <= 250 (asserted: q * den + r cannot wrap the field)
/// @input num the dividend (any field element; see "sound")
/// @input den the divisor (any field element; see "sound")
/// @output q floor(num / den), in [0, 2^Q_BITS)
/// @output r num mod den, in [0, den)
// cost: Q_BITS + 2 D_BITS + 1 constraints at --O2 (RangeCheck(Q_BITS) of q, RangeCheck(D_BITS) of r
//       and of den - 1 - r, each N at --O2, and the product num = q * den + r); + 3 at --O1 (the sums).
// sound: the hints q and r are pinned by the constraints, for ANY field elements num and den:
//          r in [0, 2^D_BITS) and t = den - 1 - r in [0, 2^D_BITS) make den = 1 + r + t an integer of
//          [1, 2^(D_BITS+1)), with r <= den - 1;
//          q in [0, 2^Q_BITS), so q * den + r < 2^(Q_BITS + D_BITS + 1) <= 2^250 < p: the field equation
//          num = q * den + r holds in the integers for the representative of num in [0, p).
//        That is Euclidean division of num by den with 0 <= r < den, whose (q, r) is unique. A num
//        whose quotient is 2^Q_BITS or more, a den of 0 or of 2^(D_BITS+1) or more, has no witness; a
//        den in (2^D_BITS, 2^(D_BITS+1)) has one only when r and den - 1 - r are both below 2^D_BITS,
//        and it is then the right one: a witness is never wrong.
template FloorDiv(Q_BITS, D_BITS) {
    assert(Q_BITS >= 1 && D_BITS >= 1);
    assert(Q_BITS + D_BITS + 1 <= 250);
    signal input num;
    signal input den;
    signal output q;
    signal output r;

    // hints: Euclidean division; pinned by num === q * den + r and the three range checks below.
    q <-- den != 0 ? num \ den : 0;
    r <-- den != 0 ? num % den : 0;

    component qRange = RangeCheck(Q_BITS);
    qRange.in <== q;
    component rRange = RangeCheck(D_BITS);
    rRange.in <== r;
    component rBelowDen = RangeCheck(D_BITS);
    rBelowDen.in <== den - 1 - r;
    num === q * den + r;
}

/// @title FloorDivOrZero
/// @notice FloorDiv that also takes den = 0, with q = r = 0 then (the engine's "0 when V = 0").
/// @param Q_BITS, D_BITS as FloorDiv: every den in [0, 2^D_BITS] is accepted
/// @input num the dividend (any field element)
/// @input den the divisor (any field element)
/// @output q floor(num / den) for den != 0, 0 for den = 0
/// @output r num mod den for den != 0, 0 for den = 0
// cost: FloorDiv(Q_BITS, D_BITS) + 3: Q_BITS + 2 D_BITS + 4 at --O2 (IsZero's 2, and the product
//       num * (1 - z) that drops num when den = 0).
// sound: z = [den = 0] is pinned by IsZero (see presence.circom). For den != 0, FloorDiv divides num by
//        den + 0 = den; for den = 0 it divides num * 0 = 0 by 0 + 1 = 1, and its unique result is
//        q = r = 0.
template FloorDivOrZero(Q_BITS, D_BITS) {
    signal input num;
    signal input den;
    signal output q;
    signal output r;

    component isZero = IsZero();
    isZero.in <== den;
    signal kept;
    kept <== num * (1 - isZero.out);

    component div = FloorDiv(Q_BITS, D_BITS);
    div.num <== kept;
    div.den <== den + isZero.out;
    q <== div.q;
    r <== div.r;
}
