pragma circom 2.1.0;

// The low bits of a whole field element, read as its canonical integer in [0, p). A plain bit decomposition
// of a full-width value is ambiguous: for x < 2^254 - p, both x and x + p are below 2^254, so "sum of 254
// bits === x" has two solutions and the prover picks the low bits of either. FieldLowBits adds the
// canonicity check that leaves one.

include "range.circom";
include "comparators.circom";

/// @title FieldLowBits
/// @notice out = in mod 2^L, where in is taken as its canonical integer in [0, p): the low L bits of a hash.
/// @param L number of low bits kept, 254 - 250 <= L <= 250 (both parts fit RangeCheck)
/// @input in any field element
/// @output out the integer in mod 2^L, in [0, 2^L)
// cost: 2L + 2(254 - L) + 3 constraints at --O2: RangeCheck(L) on out and on the top slack, RangeCheck(254 - L)
//       on high and on P_HI - high (L or 254 - L each), IsEqual (2) and the slack product (1). L = 180: 511.
// sound: in = out + high * 2^L with out < 2^L and high < 2^(254 - L) pins the pair to ONE integer of [0, 2^254)
//        congruent to in. Two exist when in < 2^254 - p (in and in + p); the canonicity check refuses the larger:
//        high <= P_HI (RangeCheck of P_HI - high: a larger high wraps to about p) and, when high = P_HI,
//        out <= P_LO (RangeCheck of P_LO - out), where (P_HI, P_LO) are the two parts of p - 1. So
//        out + high * 2^L <= p - 1: the pair is in's canonical integer, and out its low L bits.
template FieldLowBits(L) {
    assert(L >= 4 && L <= 250);
    var H = 254 - L;
    // The two parts of p - 1 (-1 is p - 1 here): p - 1 = P_HI * 2^L + P_LO.
    var P_HI = (-1) >> L;
    var P_LO = (-1) & ((1 << L) - 1);
    signal input in;
    signal output out;
    signal high;

    // hints: the two parts of in's canonical integer; pinned by the recomposition, the two range checks and
    // the canonicity check below.
    out <-- in & ((1 << L) - 1);
    high <-- in >> L;
    component lowRange = RangeCheck(L);
    lowRange.in <== out;
    component highRange = RangeCheck(H);
    highRange.in <== high;
    in === out + high * (1 << L);

    // Canonicity: (high, out) <= (P_HI, P_LO) lexicographically, i.e. out + high * 2^L <= p - 1.
    component highMax = RangeCheck(H);
    highMax.in <== P_HI - high;
    component atTop = IsEqual();
    atTop.in[0] <== high;
    atTop.in[1] <== P_HI;
    signal topSlack;
    topSlack <== atTop.out * (P_LO - out);
    component lowMax = RangeCheck(L);
    lowMax.in <== topSlack;
}
