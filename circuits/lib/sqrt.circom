pragma circom 2.1.0;

// Integer square roots by a hinted root: the circuit side of features/window-features.ts `isqrt`. The
// root is a hint pinned by two range checks around it, s^2 <= x < (s+1)^2; a root at or above its
// declared range has no witness, which is how a feature over its declared bound is refused.

include "range.circom";

/// @title rootOfRatio
/// @notice Compile-time and witness helper: the largest s < 2^S_BITS with s^2 y <= x (bit by bit from
///         the top), i.e. floor(sqrt(x / y)) when that is below 2^S_BITS. Used only to compute hints.
function rootOfRatio(x, y, S_BITS) {
    var s = 0;
    for (var b = S_BITS - 1; b >= 0; b--) {
        var c = s + (1 << b);
        if (c * c * y <= x) {
            s = c;
        }
    }
    return s;
}

/// @title IntegerSqrt
/// @notice out = isqrt(in) = floor(sqrt(in)) for 0 <= in < 2^(2 S_BITS).
/// @param S_BITS root bits, 1 <= S_BITS <= 124: an in of 2^(2 S_BITS) or more has no witness
/// @input in the radicand (any field element; see "sound")
/// @output out floor(sqrt(in)), in [0, 2^S_BITS)
// cost: 3 S_BITS + 3 constraints at --O2: RangeCheck(S_BITS) of the root, RangeCheck(S_BITS + 1) of
//       the residue e = in - s^2 and of 2s - e = (s+1)^2 - 1 - in, and the product s * s.
// sound: the hint s is pinned: s in [0, 2^S_BITS) and e in [0, 2^(S_BITS+1)), so s^2 + e <
//        2^(2 S_BITS) + 2^(S_BITS+1) < 2^250 < p and the field equation in = s^2 + e holds in the
//        integers for the representative of in in [0, p); 2s - e in [0, 2^(S_BITS+1)) is then the
//        integer inequality e <= 2s. So s^2 <= in <= s^2 + 2s < (s+1)^2: s = isqrt(in), the one integer
//        with that property. For s + 1 the residue is negative, for s - 1 it exceeds 2(s - 1).
template IntegerSqrt(S_BITS) {
    assert(S_BITS >= 1 && 2 * S_BITS + 2 <= 250);
    signal input in;
    signal output out;

    // hint: the root; pinned by the residue range checks below.
    out <-- rootOfRatio(in, 1, S_BITS);
    component rootRange = RangeCheck(S_BITS);
    rootRange.in <== out;

    signal square;
    square <== out * out;
    component residue = RangeCheck(S_BITS + 1);
    residue.in <== in - square;
    component belowNext = RangeCheck(S_BITS + 1);
    belowNext.in <== 2 * out - (in - square);
}

/// @title SqrtOfRatio
/// @notice out = floor(sqrt(x / y)) = isqrt(floor(x / y)) for an integer y >= 1, in one step: the root
///         s with s^2 y <= x < (s+1)^2 y. Cheaper than FloorDiv then IntegerSqrt: no range check on the
///         intermediate quotient, and one residue per side instead of a remainder pair and a residue pair.
/// @param S_BITS root bits, S_BITS >= 1: a root of 2^S_BITS or more has no witness
/// @param Y_BITS divisor bits: every y in [1, 2^Y_BITS) is accepted; S_BITS + Y_BITS + 1 <= 250 and
///          2 S_BITS + Y_BITS <= 251 (asserted)
/// @input x the dividend (any field element; see "sound")
/// @input y the divisor. PRECONDITION: the caller pins y to an integer of [0, 2^(251 - 2 S_BITS)) (for
///        example a product of range-checked values); y = 0 has no witness
/// @output out floor(sqrt(x / y)), in [0, 2^S_BITS)
// cost: S_BITS + 2 K + 2 constraints at --O2, K = S_BITS + 1 + Y_BITS: RangeCheck(S_BITS) of the root,
//       RangeCheck(K) of each residue, and the products t = (s+1) y and u = (s+1) t = (s+1)^2 y
//       (s^2 y = u - 2t + y is linear in them).
// sound: the hint s is pinned: s in [0, 2^S_BITS), y in [0, 2^(251 - 2 S_BITS)) (precondition), so
//        s^2 y, (s+1)^2 y <= 2^251. The residue e1 = x - s^2 y in [0, 2^K) gives x = s^2 y + e1 < 2^252
//        for the representative of x in [0, p), in the integers; then e2 = (s+1)^2 y - 1 - x is an
//        integer of (-2^253, 2^251], and its range check in [0, 2^K) holds only when it is >= 0 (a
//        negative one is a field element above p - 2^253 > 2^K). So s^2 y <= x < (s+1)^2 y, which
//        forces y >= 1 and s = floor(sqrt(x / y)), unique. And isqrt(floor(z)) = floor(sqrt(z)) for
//        real z >= 0 (k = floor(sqrt(z)) has k^2 <= floor(z) <= z < (k+1)^2), so s is also the engine's
//        isqrt(x / y) with bigint division.
template SqrtOfRatio(S_BITS, Y_BITS) {
    assert(S_BITS >= 1 && Y_BITS >= 1);
    assert(S_BITS + Y_BITS + 1 <= 250 && 2 * S_BITS + Y_BITS <= 251);
    var K = S_BITS + 1 + Y_BITS;
    signal input x;
    signal input y;
    signal output out;

    // hint: the root; pinned by the two residue range checks below.
    out <-- rootOfRatio(x, y, S_BITS);
    component rootRange = RangeCheck(S_BITS);
    rootRange.in <== out;

    signal t;
    t <== (out + 1) * y;
    signal u;
    u <== (out + 1) * t;
    // x - s^2 y >= 0, with s^2 y = (s+1)^2 y - 2 (s+1) y + y
    component atLeast = RangeCheck(K);
    atLeast.in <== x - (u - 2 * t + y);
    // (s+1)^2 y - 1 - x >= 0
    component below = RangeCheck(K);
    below.in <== u - 1 - x;
}
