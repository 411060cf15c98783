pragma circom 2.1.0;

// Clamping to [MIN, MAX]: the circuit side of models/fixed-point.ts `clampBig`.

include "range.circom";

/// @title ClampRange
/// @notice out = min(max(in, MIN), MAX) for an in known to lie in [LO, HI].
/// @param LO, HI the interval of in, GUARANTEED BY THE CALLER (for example in is the output of a
///        decomposition upstream: FloorShiftToRange/CeilShiftToRange enforce [Q_MIN, Q_MIN + 2^Q_BITS));
///        LO <= HI
/// @param MIN, MAX the clamp bounds, MIN <= MAX
/// @input in the value to clamp (a signed integer as a field element, in [LO, HI])
/// @output out min(max(in, MIN), MAX)
// cost: (W1 + 2) + (W2 + 2) constraints, W1 + 1 + W2 + 1 at --O2 (the two sums fold), where
//         lower side, only when MIN > LO (else max(in, MIN) = in on [LO, HI] and costs nothing):
//           d1 = in - MIN in [LO - MIN, HI - MIN], W1 = signedWidth(LO - MIN, HI - MIN) bits,
//           1 product u = MIN + ge * d1;
//         upper side, only when MAX < U_HI = max(HI, MIN) (else min(u, MAX) = u):
//           d2 = MAX - u in [MAX - U_HI, MAX - U_LO], U_LO = max(LO, MIN),
//           W2 = signedWidth(MAX - U_HI, MAX - U_LO) bits, 1 product out = MAX - le * d2.
//       Example (the MM clamp of the model shipped before the window features): [LO, HI] =
//       [-150502, 373785], [MIN, MAX] = [50, 5000]:
//         W1 = W2 = 20, 42 constraints at --O2.
// sound: SignedRangeCheck(W1) pins d1 = in - MIN to ONE integer of [-2^(W1-1), 2^(W1-1)) (W1 <= 250,
//        no wrap) and its top bit ge to [d1 >= 0]; u = MIN + ge * d1 is then exactly max(in, MIN).
//        Likewise le = [MAX - u >= 0] and out = MAX - le * (MAX - u) = min(u, MAX). Each side with a
//        decomposition checks its own operand, for any field element in (values outside the width have
//        no witness). A side whose decomposition is skipped relies on the caller's [LO, HI]: use
//        ClampStrict when in is not already range-constrained.
template ClampRange(LO, HI, MIN, MAX) {
    assert(LO <= HI);
    assert(MIN <= MAX);
    assert(widthOf(absOf(LO)) <= 248 && widthOf(absOf(HI)) <= 248);
    assert(widthOf(absOf(MIN)) <= 248 && widthOf(absOf(MAX)) <= 248);
    signal input in;
    signal output out;

    // u = max(in, MIN), u in [U_LO, U_HI]
    signal u;
    var U_LO = LO;
    var U_HI = HI;
    if (MIN > LO) {
        var W1 = signedWidth(LO - MIN, HI - MIN);
        component lower = SignedRangeCheck(W1);
        lower.in <== in - MIN;
        // lower.bits[W1 - 1] = [in - MIN >= 0] (the sign bit of the decomposition)
        u <== MIN + lower.bits[W1 - 1] * (in - MIN);
        U_LO = MIN;
        if (HI < MIN) {
            U_HI = MIN;
        }
    } else {
        u <== in;
    }

    if (MAX < U_HI) {
        var W2 = signedWidth(MAX - U_HI, MAX - U_LO);
        component upper = SignedRangeCheck(W2);
        upper.in <== MAX - u;
        // upper.bits[W2 - 1] = [MAX - u >= 0]
        out <== MAX - upper.bits[W2 - 1] * (MAX - u);
    } else {
        out <== u;
    }
}

/// @title Clamp
/// @notice out = min(max(in, MIN), MAX) for in in [-2^(N-1), 2^(N-1)).
/// @param N width of in. PRECONDITION: in lies in [-2^(N-1), 2^(N-1)) because the caller enforces it
///          (typically in is a linear function of the bits of an N-bit decomposition upstream). If the
///          caller cannot guarantee it, use ClampStrict, which checks it.
/// @param MIN, MAX the clamp bounds, MIN <= MAX
/// @input in the value to clamp
/// @output out min(max(in, MIN), MAX)
// cost: ClampRange(-2^(N-1), 2^(N-1) - 1, MIN, MAX); with both sides active and |MIN|, |MAX| < 2^(N-1):
//       W1, W2 <= N + 1, so at most 2N + 4 at --O2 (Clamp(8, -5, 10): 9 + 8 + 2 = 19).
// sound: see ClampRange. When both MIN > -2^(N-1) and MAX < 2^(N-1) - 1, both sides are decomposed and
//        the template is sound for ANY field element in (it then accepts exactly the integers for
//        which both differences fit their widths, an interval containing [-2^(N-1), 2^(N-1))).
template Clamp(N, MIN, MAX) {
    assert(N >= 1 && N <= 248);
    assert(MIN <= MAX);
    signal input in;
    signal output out;

    component c = ClampRange(-(1 << (N - 1)), (1 << (N - 1)) - 1, MIN, MAX);
    c.in <== in;
    out <== c.out;
}

/// @title ClampStrict
/// @notice Clamp that also ENFORCES its input range: in in [-2^(N-1), 2^(N-1)), else no witness.
/// @param N width of in, 1 <= N <= 248
/// @param MIN, MAX the clamp bounds, MIN <= MAX
/// @input in the value to check and clamp
/// @output out min(max(in, MIN), MAX)
// cost: N + 1 (SignedRangeCheck(N)) + Clamp(N, MIN, MAX); Clamp's cost + N at --O2.
// sound: SignedRangeCheck establishes Clamp's precondition.
template ClampStrict(N, MIN, MAX) {
    assert(N >= 1 && N <= 248);
    assert(MIN <= MAX);
    signal input in;
    signal output out;

    component range = SignedRangeCheck(N);
    range.in <== in;
    component c = Clamp(N, MIN, MAX);
    c.in <== in;
    out <== c.out;
}
