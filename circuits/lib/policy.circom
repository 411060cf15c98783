pragma circom 2.1.0;

// The margin policy on the network output: the circuit side of models/integer-engine.ts
// `integerPolicy`. Every parameter is read or derived from the quantised model file
// (models/*.quantized.json, `policy` and `layers`), see MarginPolicy's @param list.

include "range.circom";
include "fixed-point.circom";
include "clamp.circom";

/// @title twoAdicity
/// @notice Compile-time helper: the exponent of the largest power of two dividing k (0 for k = 0).
function twoAdicity(k) {
    var v = 0;
    var r = k;
    if (r > 0) {
        while (r % 2 == 0) {
            r = r \ 2;
            v++;
        }
    }
    return v;
}

/// @title MarginPolicy
/// @notice Maintenance and initial margin (bps) from the network output y, exactly as integerPolicy():
///           mmNumerator = y * K
///           mmRaw       = ceil(mmNumerator / 2^MM_SHIFT)
///           MM          = clamp(mmRaw, MM_MIN, MM_MAX)
///           imNumerator = MM * IM_NUM
///           imRaw       = ceil(imNumerator / 2^IM_SHIFT)
///           IM          = clamp(imRaw, IM_MIN, IM_MAX)
/// @param Y_BITS a signed width that y is GUARANTEED to fit: policy.intervals.output.bits when y is the
///          last layer's accumulator (see @input y). Used only to prove that y * K cannot wrap.
/// @param K policy.calibrationNum * (10000 + policy.bufferBps), K >= 1
/// @param MM_SHIFT policy.mmShift
/// @param MM_RAW_MIN policy.intervals.mmRaw.min
/// @param MM_RAW_BITS fewest bits with mmRaw.max - mmRaw.min < 2^MM_RAW_BITS (any larger value is
///          also sound and complete, but widens the window and may switch on a clamp side)
/// @param MM_MIN, MM_MAX policy.mmMinBps, policy.mmMaxBps
/// @param IM_NUM policy.imRatioNum (>= 0)
/// @param IM_SHIFT policy.imRatioShift
/// @param IM_RAW_MIN policy.intervals.imRaw.min
/// @param IM_RAW_BITS fewest bits with imRaw.max - imRaw.min < 2^IM_RAW_BITS
/// @param IM_MIN, IM_MAX policy.imMinBps, policy.imMaxBps
///        (circuits/policy-params.ts `marginPolicyParams` derives this list.)
/// @input y the network output at scale 2^policy.outputScaleBits. PRECONDITION: the caller pins y to
///        ONE integer of [-2^(Y_BITS-1), 2^(Y_BITS-1)): either by a decomposition (FloorShift), or
///        because y = b + sum_j w_j h_j with pinned coefficients (compiled-in constants, or private
///        weights bound by the public model commitment) over activations h_j that are themselves pinned
///        functions of range-checked features; the interval analysis then puts y in
///        policy.intervals.output. A FREE y is forgeable: y = c / K mod p (a huge field element)
///        makes y * K any small c the attacker likes (test/circuits/templates-policy.test.ts shows it).
/// @output mmNumerator, mmRaw, maintenanceMarginBps, imNumerator, imRaw, initialMarginBps
///         (the IntegerTrace fields of the same names)
// cost: with v = twoAdicity(K) capped at MM_SHIFT and w = twoAdicity(IM_NUM) capped at IM_SHIFT,
//         CeilShiftToRange(MM_SHIFT - v, MM_RAW_MIN, MM_RAW_BITS)    MM_SHIFT - v + MM_RAW_BITS
//       + ClampRange(MM_RAW_MIN, MM_RAW_MIN + 2^MM_RAW_BITS - 1, MM_MIN, MM_MAX)
//       + CeilShiftToRange(IM_SHIFT - w, IM_RAW_MIN, IM_RAW_BITS)    IM_SHIFT - w + IM_RAW_BITS
//       + ClampRange(IM_RAW_MIN, IM_RAW_MIN + 2^IM_RAW_BITS - 1, IM_MIN, IM_MAX)
//       constraints at --O2 (numerators are linear: free). Example, the 8-neuron model shipped before the
//       window features: (85 - 4) + 19 = 100, clamp
//       20 + 20 + 2 = 42, 1 + 13 = 14, clamp 14 + 1 (IM_MAX = 10000 >= 8266, no upper side) = 15:
//       171 in total (168 for today's shipped model, pinned in test/circuits/templates-policy.test.ts).
// sound: mmRaw: ceil(y K / 2^MM_SHIFT) = ceil(y (K / 2^v) / 2^(MM_SHIFT - v)) exactly, and
//        CeilShiftToRange pins its input's small-integer value (see fixed-point.circom). That value is
//        y K itself because |y K| < 2^(Y_BITS - 1 + widthOf(K)) <= 2^250 (asserted) and the window of
//        accepted values lies in (-2^251, 2^251): two integers of (-p/2, p/2) equal mod p are equal.
//        MM is pinned by ClampRange (whose [LO, HI] is exactly what the decomposition enforced), MM in
//        [MM_MIN, MM_MAX], so imNumerator = MM * IM_NUM is a small integer (asserted) and the IM side
//        follows the same argument. A y outside the declared mmRaw interval (hence not produced by
//        in-bounds features) may still be accepted with correct outputs, or has no witness; it never
//        gets a wrong one.
template MarginPolicy(
    Y_BITS, K, MM_SHIFT, MM_RAW_MIN, MM_RAW_BITS, MM_MIN, MM_MAX,
    IM_NUM, IM_SHIFT, IM_RAW_MIN, IM_RAW_BITS, IM_MIN, IM_MAX
) {
    assert(Y_BITS >= 1 && K >= 1 && IM_NUM >= 0);
    assert(MM_SHIFT >= 0 && IM_SHIFT >= 0);
    // |y * K| < 2^(Y_BITS - 1) * 2^widthOf(K) <= 2^250: y * K never wraps.
    assert(Y_BITS - 1 + widthOf(K) <= 250);

    signal input y;
    signal output mmNumerator;
    signal output mmRaw;
    signal output maintenanceMarginBps;
    signal output imNumerator;
    signal output imRaw;
    signal output initialMarginBps;

    // Strip the power of two shared by K and 2^MM_SHIFT: ceil(y K / 2^S) = ceil(y K' / 2^(S - v)).
    var V = twoAdicity(K);
    if (V > MM_SHIFT) {
        V = MM_SHIFT;
    }
    mmNumerator <== y * K;
    component tail = MarginFromNumerator(
        MM_SHIFT - V, MM_RAW_MIN, MM_RAW_BITS, MM_MIN, MM_MAX, IM_NUM, IM_SHIFT, IM_RAW_MIN, IM_RAW_BITS, IM_MIN, IM_MAX
    );
    tail.numerator <== y * (K \ (1 << V));
    mmRaw <== tail.mmRaw;
    maintenanceMarginBps <== tail.maintenanceMarginBps;
    imNumerator <== tail.imNumerator;
    imRaw <== tail.imRaw;
    initialMarginBps <== tail.initialMarginBps;
}

/// @title MarginPolicyPrivateK
/// @notice MarginPolicy with K = calibrationNum * (10000 + bufferBps) a signal instead of a constant, so
///         one committed-weights circuit serves every model of an architecture (whose calibrations
///         differ). y and k are range-checked here, which is what the no-wrap argument needs.
/// @param Y_BITS signed width enforced on y (SignedRangeCheck)
/// @param K_BITS width enforced on k: 1 <= k <= 2^K_BITS (RangeCheck of k - 1)
/// @param MM_SHIFT, MM_RAW_MIN, MM_RAW_BITS, MM_MIN, MM_MAX, IM_NUM, IM_SHIFT, IM_RAW_MIN, IM_RAW_BITS,
///        IM_MIN, IM_MAX as for MarginPolicy (the raw intervals from the architecture's budget analysis)
/// @input y the network output; k the policy multiplier (bound by the model commitment)
/// @output as MarginPolicy
// cost: Y_BITS (y range) + K_BITS (k range) + 1 (y * k) + MarginFromNumerator(MM_SHIFT, ...).
// sound: y in [-2^(Y_BITS-1), 2^(Y_BITS-1)) and k in [1, 2^K_BITS] are pinned to small integers, so the
//        field product y k equals the integer product, |y k| <= 2^(Y_BITS - 1 + K_BITS) <= 2^250
//        (asserted); from there the argument of MarginPolicy applies unchanged.
template MarginPolicyPrivateK(
    Y_BITS, K_BITS, MM_SHIFT, MM_RAW_MIN, MM_RAW_BITS, MM_MIN, MM_MAX,
    IM_NUM, IM_SHIFT, IM_RAW_MIN, IM_RAW_BITS, IM_MIN, IM_MAX
) {
    assert(Y_BITS >= 1 && K_BITS >= 1 && Y_BITS - 1 + K_BITS <= 250);
    signal input y;
    signal input k;
    signal output mmNumerator;
    signal output mmRaw;
    signal output maintenanceMarginBps;
    signal output imNumerator;
    signal output imRaw;
    signal output initialMarginBps;

    component yRange = SignedRangeCheck(Y_BITS);
    yRange.in <== y;
    component kRange = RangeCheck(K_BITS);
    kRange.in <== k - 1;
    mmNumerator <== y * k;
    component tail = MarginFromNumerator(
        MM_SHIFT, MM_RAW_MIN, MM_RAW_BITS, MM_MIN, MM_MAX, IM_NUM, IM_SHIFT, IM_RAW_MIN, IM_RAW_BITS, IM_MIN, IM_MAX
    );
    tail.numerator <== mmNumerator;
    mmRaw <== tail.mmRaw;
    maintenanceMarginBps <== tail.maintenanceMarginBps;
    imNumerator <== tail.imNumerator;
    imRaw <== tail.imRaw;
    initialMarginBps <== tail.initialMarginBps;
}

/// @title MarginFromNumerator
/// @notice The part of the policy after the MM numerator: ceil-shift, clamp, IM ratio, ceil-shift,
///         clamp. Shared by MarginPolicy and MarginPolicyPrivateK.
/// @param SHIFT the (possibly reduced) MM shift applied to `numerator`
/// @param MM_RAW_MIN, MM_RAW_BITS, MM_MIN, MM_MAX, IM_NUM, IM_SHIFT, IM_RAW_MIN, IM_RAW_BITS, IM_MIN, IM_MAX
///        as for MarginPolicy
/// @input numerator a value the caller has pinned to a small integer (|numerator| < 2^250)
/// @output mmRaw, maintenanceMarginBps, imNumerator, imRaw, initialMarginBps
// cost: CeilShiftToRange(SHIFT, MM_RAW_MIN, MM_RAW_BITS) + ClampRange(MM) + CeilShiftToRange(IM_SHIFT - w,
//       IM_RAW_MIN, IM_RAW_BITS) + ClampRange(IM), w = twoAdicity(IM_NUM) capped at IM_SHIFT.
// sound: see MarginPolicy.
template MarginFromNumerator(
    SHIFT, MM_RAW_MIN, MM_RAW_BITS, MM_MIN, MM_MAX, IM_NUM, IM_SHIFT, IM_RAW_MIN, IM_RAW_BITS, IM_MIN, IM_MAX
) {
    assert(SHIFT >= 0 && IM_SHIFT >= 0 && IM_NUM >= 0);
    assert(MM_MIN <= MM_MAX && IM_MIN <= IM_MAX);
    // |MM * IM_NUM| < 2^250: imNumerator never wraps.
    assert(widthOf(absOf(MM_MIN)) + widthOf(IM_NUM) <= 250);
    assert(widthOf(absOf(MM_MAX)) + widthOf(IM_NUM) <= 250);
    signal input numerator;
    signal output mmRaw;
    signal output maintenanceMarginBps;
    signal output imNumerator;
    signal output imRaw;
    signal output initialMarginBps;

    component mmCeil = CeilShiftToRange(SHIFT, MM_RAW_MIN, MM_RAW_BITS);
    mmCeil.in <== numerator;
    mmRaw <== mmCeil.out;

    component mmClamp = ClampRange(MM_RAW_MIN, MM_RAW_MIN + (1 << MM_RAW_BITS) - 1, MM_MIN, MM_MAX);
    mmClamp.in <== mmRaw;
    maintenanceMarginBps <== mmClamp.out;

    var W = twoAdicity(IM_NUM);
    if (W > IM_SHIFT) {
        W = IM_SHIFT;
    }
    imNumerator <== maintenanceMarginBps * IM_NUM;
    component imCeil = CeilShiftToRange(IM_SHIFT - W, IM_RAW_MIN, IM_RAW_BITS);
    imCeil.in <== maintenanceMarginBps * (IM_NUM \ (1 << W));
    imRaw <== imCeil.out;

    component imClamp = ClampRange(IM_RAW_MIN, IM_RAW_MIN + (1 << IM_RAW_BITS) - 1, IM_MIN, IM_MAX);
    imClamp.in <== imRaw;
    initialMarginBps <== imClamp.out;
}
