pragma circom 2.1.0;

// Range checks by bit decomposition, and the compile-time width arithmetic the other templates share.
//
// Field facts every template in circuits/lib relies on (p is the BN254 scalar field, p > 2^253):
//   * a decomposition into N <= 250 boolean bits has an integer value in [0, 2^N) with 2^N < p, so
//     "sum_i b_i 2^i === x" pins x to ONE integer of that range (no second representative x + p fits);
//   * a signed integer v is carried as the field element v mod p; it is recovered uniquely as long as
//     every value that is compared lies in (-p/2, p/2), which the width asserts below guarantee.

/// @title widthOf
/// @notice Compile-time helper: the fewest bits n >= 1 with 0 <= v < 2^n (v >= 0).
function widthOf(v) {
    var n = 1;
    while ((1 << n) <= v) {
        n++;
    }
    return n;
}

/// @title signedWidth
/// @notice Compile-time helper: the fewest bits n >= 1 with [LO, HI] inside [-2^(n-1), 2^(n-1) - 1],
///         the two's-complement width (models/fixed-point.ts `signedBits`). Circom compares field
///         elements as signed integers in (-p/2, p/2), so negative bounds work as written.
function signedWidth(lo, hi) {
    var n = 1;
    while (lo < -(1 << (n - 1)) || hi > (1 << (n - 1)) - 1) {
        n++;
    }
    return n;
}

/// @title absOf
/// @notice Compile-time helper: |v| for a signed integer parameter.
function absOf(v) {
    var r = v;
    if (v < 0) {
        r = -v;
    }
    return r;
}

/// @title RangeCheck
/// @notice Enforces 0 <= in < 2^N and exposes the bits of in, least significant first.
/// @param N number of bits, 1 <= N <= 250 (so that 2^N < p: the decomposition cannot wrap)
/// @input in field element to check
/// @output bits[N] the binary digits of in: in = sum_i bits[i] * 2^i
// cost: N + 1 constraints (N booleanity b*(b-1) = 0, 1 linear sum); at --O2 the linear sum is used to
//       substitute one bit away, leaving N (measured: RangeCheck(8) = 8, RangeCheck(64) = 64).
// sound: each bits[i] is pinned to {0, 1} by its booleanity constraint and the sum pins the vector:
//        sum_i bits[i] 2^i lies in [0, 2^N) with 2^N <= 2^250 < p, so it equals in as an integer and
//        binary digits are unique. No value outside [0, 2^N) (for example p - 1, "-1") has a witness.
template RangeCheck(N) {
    assert(N >= 1 && N <= 250);
    signal input in;
    signal output bits[N];

    var sum = 0;
    for (var i = 0; i < N; i++) {
        // hint: the i-th binary digit; pinned by the booleanity below and by `sum === in`.
        bits[i] <-- (in >> i) & 1;
        bits[i] * (bits[i] - 1) === 0;
        sum += bits[i] * (1 << i);
    }
    sum === in;
}

/// @title BoundedInput
/// @notice Enforces MIN <= in <= MIN + 2^N - 1 (a declared feature bound; MIN may be negative).
/// @param MIN lower bound (a signed integer; the feature's `min` in the quantised model file)
/// @param N number of bits of in - MIN, 1 <= N <= 250 (the feature's `rangeBits`)
/// @input in the value to check (a signed integer as a field element)
/// @output bits[N] the binary digits of in - MIN
// cost: N + 1 constraints (RangeCheck(N) on in - MIN); N at --O2.
// sound: RangeCheck pins in - MIN to one integer of [0, 2^N); |MIN| + 2^N < 2^251 < p/2 (asserted),
//        so in is the field image of exactly one integer of [MIN, MIN + 2^N - 1].
template BoundedInput(MIN, N) {
    assert(N >= 1 && N <= 250);
    assert(widthOf(absOf(MIN)) <= 250);
    signal input in;
    signal output bits[N];

    component rc = RangeCheck(N);
    rc.in <== in - MIN;
    bits <== rc.bits;
}

/// @title SignedRangeCheck
/// @notice Enforces -2^(N-1) <= in < 2^(N-1): the N-bit two's-complement range.
/// @param N width, 1 <= N <= 250
/// @input in the value to check (a signed integer as a field element)
/// @output bits[N] the binary digits of in + 2^(N-1); bits[N-1] = 1 exactly when in >= 0
// cost: N + 1 constraints (RangeCheck(N) on in + 2^(N-1)); N at --O2.
// sound: as BoundedInput(-2^(N-1), N).
template SignedRangeCheck(N) {
    assert(N >= 1 && N <= 250);
    signal input in;
    signal output bits[N];

    component rc = RangeCheck(N);
    rc.in <== in + (1 << (N - 1));
    bits <== rc.bits;
}
