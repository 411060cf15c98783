pragma circom 2.1.0;

// Fixed-point rescaling: the circuit side of models/fixed-point.ts (`floorShift`, `ceilShift`, `relu`).
// Every template here proves its result from ONE bit decomposition, so the division by 2^S is exact
// integer division with the remainder forced into [0, 2^S): there is no separate quotient hint to forge.

include "range.circom";

/// @title FloorShift
/// @notice out = floor(in / 2^S), rounding towards -infinity for negative in (bigint `>>`).
/// @param N width of in: in must lie in [-2^(N-1), 2^(N-1)) (the interval analysis' signed bits);
///          1 <= N <= 250
/// @param S shift, 0 <= S <= N - 1
/// @input in the value to rescale (a signed integer as a field element); a value outside the N-bit
///        range has no witness, so the template also ENFORCES the range
/// @output out floor(in / 2^S), in [-2^(N-1-S), 2^(N-1-S))
// cost: N + 1 constraints (SignedRangeCheck(N)); out is a linear combination of the bits, so no
//       constraint of its own; N at --O2 (the sum folds).
// sound: with X = in + 2^(N-1) = sum_i b_i 2^i pinned to one integer of [0, 2^N) (RangeCheck), and
//        2^(N-1) a multiple of 2^S (S <= N - 1):
//          floor(in / 2^S) = floor(X / 2^S) - 2^(N-1-S) = sum_{i>=S} b_i 2^(i-S) - 2^(N-1-S),
//        the low S bits being the remainder, which the decomposition keeps in [0, 2^S).
template FloorShift(N, S) {
    assert(N >= 1 && N <= 250);
    assert(S >= 0 && S <= N - 1);
    signal input in;
    signal output out;

    component d = SignedRangeCheck(N);
    d.in <== in;
    var q = 0;
    for (var i = S; i < N; i++) {
        q += d.bits[i] * (1 << (i - S));
    }
    out <== q - (1 << (N - 1 - S));
}

/// @title CeilShift
/// @notice out = ceil(in / 2^S) = floor((in + 2^S - 1) / 2^S) (models/fixed-point.ts `ceilShift`).
/// @param N width of in + 2^S - 1: the caller takes N = signedBits([min + 2^S - 1, max + 2^S - 1])
///          from in's interval [min, max], so in itself must lie in
///          [-2^(N-1) - 2^S + 1, 2^(N-1) - 2^S]; 1 <= N <= 250
/// @param S shift, 0 <= S <= N - 1
/// @input in the value to rescale; a value outside the range above has no witness
/// @output out ceil(in / 2^S)
// cost: N + 1 constraints (FloorShift(N, S) of in + 2^S - 1); N at --O2.
// sound: FloorShift is exact floor on in + 2^S - 1, and ceil(a / 2^S) = floor((a + 2^S - 1) / 2^S)
//        for every integer a.
template CeilShift(N, S) {
    assert(N >= 1 && N <= 250);
    assert(S >= 0 && S <= N - 1);
    signal input in;
    signal output out;

    component f = FloorShift(N, S);
    f.in <== in + (1 << S) - 1;
    out <== f.out;
}

/// @title RescaleRelu
/// @notice out = max(0, floor(in / 2^S)): a hidden neuron's rescale and ReLU from one decomposition.
/// @param N width of in: in must lie in [-2^(N-1), 2^(N-1)); 1 <= N <= 250
/// @param S shift, 0 <= S <= N - 1
/// @input in the accumulator (a signed integer as a field element); outside the N-bit range there is
///        no witness
/// @output out max(0, floor(in / 2^S)), in [0, 2^(N-1-S))
// cost: N + 2 constraints (SignedRangeCheck(N): N booleanity + 1 sum; 1 product sign * t);
//       N + 1 at --O2 (the sum folds). Minimal for this shape: N bits are needed to pin the sign and
//       the quotient of an N-bit value, and selecting on a witness bit is one product.
// sound: X = in + 2^(N-1) = sum_i b_i 2^i is pinned to one integer of [0, 2^N) (RangeCheck), so the
//        top bit b_{N-1} is 1 exactly when X >= 2^(N-1), i.e. when in >= 0. Then:
//          in >= 0: the low N-1 bits are the binary digits of in itself, and
//                   t = sum_{i=S}^{N-2} b_i 2^(i-S) = floor(in / 2^S) >= 0, out = 1 * t;
//          in < 0 : floor(in / 2^S) <= -1 < 0, and out = 0 * t = 0.
//        out = b_{N-1} * t is a constraint (not a hint), so neither case leaves a free value.
template RescaleRelu(N, S) {
    assert(N >= 1 && N <= 250);
    assert(S >= 0 && S <= N - 1);
    signal input in;
    signal output out;

    component d = SignedRangeCheck(N);
    d.in <== in;
    var t = 0;
    for (var i = S; i < N - 1; i++) {
        t += d.bits[i] * (1 << (i - S));
    }
    out <== d.bits[N - 1] * t;
}

/// @title FloorShiftToRange
/// @notice out = floor(in / 2^S) where the quotient is declared to lie in [Q_MIN, Q_MIN + 2^Q_BITS):
///         S bits of remainder plus Q_BITS bits of quotient, fewer than FloorShift's signed width
///         when the quotient interval is narrow or far from 0.
/// @param S shift, S >= 0
/// @param Q_MIN smallest quotient accepted (a signed integer: the quotient interval's min)
/// @param Q_BITS quotient span bits, Q_BITS >= 1 and S + Q_BITS <= 250; the caller takes the fewest
///          bits with max - min < 2^Q_BITS for the quotient interval [min, max]
/// @input in the value to divide (any field element; see "sound")
/// @output out floor(in / 2^S), in [Q_MIN, Q_MIN + 2^Q_BITS)
// cost: S + Q_BITS + 1 constraints (RangeCheck(S + Q_BITS) of in - Q_MIN * 2^S); S + Q_BITS at --O2.
// sound: the bits pin X = in - Q_MIN 2^S to one integer of [0, 2^(S+Q_BITS)), hence in to the integer
//        I = X + Q_MIN 2^S in [Q_MIN 2^S, (Q_MIN + 2^Q_BITS) 2^S), an interval inside (-2^251, 2^251)
//        (asserted) so I is THE small-integer value of in; and
//          floor(I / 2^S) = Q_MIN + floor(X / 2^S) = Q_MIN + sum_{i>=S} b_i 2^(i-S) = out.
//        Equivalently in = q 2^S + r with r = low S bits in [0, 2^S) and q = out in its declared range:
//        q and r are unique (Euclidean division) and q 2^S + r < 2^251 < p cannot wrap.
//        An in whose quotient leaves [Q_MIN, Q_MIN + 2^Q_BITS) has no witness.
template FloorShiftToRange(S, Q_MIN, Q_BITS) {
    assert(S >= 0 && Q_BITS >= 1 && S + Q_BITS <= 250);
    assert(widthOf(absOf(Q_MIN)) + S <= 250);
    signal input in;
    signal output out;

    component d = RangeCheck(S + Q_BITS);
    d.in <== in - Q_MIN * (1 << S);
    var q = 0;
    for (var i = S; i < S + Q_BITS; i++) {
        q += d.bits[i] * (1 << (i - S));
    }
    out <== Q_MIN + q;
}

/// @title CeilShiftToRange
/// @notice out = ceil(in / 2^S) where the quotient is declared to lie in [Q_MIN, Q_MIN + 2^Q_BITS):
///         in + 2^S - 1 = q 2^S + r with r in [0, 2^S) (S bits) and q - Q_MIN in [0, 2^Q_BITS).
/// @param S shift, S >= 0
/// @param Q_MIN smallest quotient accepted (the ceil interval's min, e.g. policy.intervals.mmRaw.min)
/// @param Q_BITS quotient span bits (fewest bits with max - min < 2^Q_BITS), S + Q_BITS <= 250
/// @input in the value to divide (any field element; see FloorShiftToRange)
/// @output out ceil(in / 2^S), in [Q_MIN, Q_MIN + 2^Q_BITS)
// cost: S + Q_BITS + 1 constraints (FloorShiftToRange of in + 2^S - 1); S + Q_BITS at --O2.
// sound: FloorShiftToRange is exact floor on in + 2^S - 1 and ceil(a / 2^S) = floor((a + 2^S - 1) / 2^S).
template CeilShiftToRange(S, Q_MIN, Q_BITS) {
    assert(S >= 0 && Q_BITS >= 1 && S + Q_BITS <= 250);
    signal input in;
    signal output out;

    component f = FloorShiftToRange(S, Q_MIN, Q_BITS);
    f.in <== in + (1 << S) - 1;
    out <== f.out;
}
