pragma circom 2.1.0;

// The maximum of a few values by a hinted maximum: the circuit side of the 7-day high of
// features/window-features.ts (drawdown_7d).

include "range.circom";

/// @title Maximum
/// @notice out = max(in[0], ..., in[K-1]) for integers in [0, 2^N).
/// @param K number of values, K >= 2
/// @param N bits of each value, 1 <= N <= 250
/// @input in[K] the values (any field elements; see "sound")
/// @output out the largest of them
// cost: K N + K - 1 constraints at --O2: RangeCheck(N) of each out - in[i] (out >= every value) and
//       the product chain (out - in[0]) ... (out - in[K-1]) = 0 (out is one of them), K - 1 products.
// sound: the hint out is pinned, for ANY field elements in[i]: the product is 0 in the field only if a
//        factor is (no zero divisors), so out = in[k] for some k; and out - in[i] in [0, 2^N) for every
//        i. Two witnesses out = in[k], out' = in[k'] would give out' - out = out' - in[k] and
//        out - out' = out - in[k'] both in [0, 2^N), so out' - out and its negation are both below
//        2^N < p / 2: out' = out. For integer inputs of [0, 2^N), out = in[k] >= in[i] in the integers
//        (a difference of two such integers is in [0, 2^N) as a field element only when it is >= 0):
//        out is their maximum. Inputs more than 2^N - 1 apart have no witness.
template Maximum(K, N) {
    assert(K >= 2);
    assert(N >= 1 && N <= 250);
    signal input in[K];
    signal output out;

    var largest = in[0];
    for (var i = 1; i < K; i++) {
        if (in[i] > largest) {
            largest = in[i];
        }
    }
    // hint: the largest value; pinned by the range checks (>= each) and the product (one of them).
    out <-- largest;

    component atLeast[K];
    for (var i = 0; i < K; i++) {
        atLeast[i] = RangeCheck(N);
        atLeast[i].in <== out - in[i];
    }
    // chain[i] = (out - in[0]) ... (out - in[i+1])
    signal chain[K - 1];
    chain[0] <== (out - in[0]) * (out - in[1]);
    for (var i = 1; i < K - 1; i++) {
        chain[i] <== chain[i - 1] * (out - in[i + 1]);
    }
    chain[K - 2] === 0;
}
