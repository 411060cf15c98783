pragma circom 2.1.0;

// Commitments: a length-prefixed chained Poseidon over any number of field elements. Its TypeScript
// twin is crypto/poseidon-sponge.ts `poseidonSponge`, which must produce the same value.

include "poseidon.circom";

/// @title PoseidonSponge
/// @notice out = h_C where h_0 = N and h_{c+1} = Poseidon(1 + |chunk_c|)([h_c, ...chunk_c]) over the
///         chunks of up to 15 consecutive inputs (the last chunk may be shorter). Prefixing the length
///         keeps inputs of different lengths apart (no [a] vs [a, 0] collision by padding).
/// @param N number of inputs, N >= 1
/// @input in[N] the values to commit to (signed values as v mod p)
/// @output out the commitment
// cost: C = ceil(N / 15) circomlib Poseidon permutations, minus 3: at --O2 Poseidon(16) (a full chunk)
//       is 609 and Poseidon(2) 240, and the first permutation's constant input N has its first S-box
//       (x^2, x^4, x^5) computed at compile time. N = 1: 237; N = 15: 606; N = 16: 606 + 240 = 846
//       (measured, pinned in test/circuits/templates-commitment.test.ts).
// sound: no hints here; every state is the output of a circomlib Poseidon component (fully constrained),
//        and the length N is a compile-time constant, so out is a deterministic function of in.
template PoseidonSponge(N) {
    assert(N >= 1);
    signal input in[N];
    signal output out;

    component chain = PoseidonChain(N, N);
    chain.in <== in;
    out <== chain.out;
}

/// @title PoseidonChain
/// @notice The sponge's chain from a given starting state: out = h_C with h_0 = H0 and
///         h_{c+1} = Poseidon(1 + |chunk_c|)([h_c, ...chunk_c]). PoseidonSponge(N) is PoseidonChain(N, N);
///         a sponge whose leading chunks are compile-time constants starts here from the state after
///         them (computed by the generator), so constant chunks cost no constraint.
/// @param N number of inputs, N >= 1
/// @param H0 starting state (a field element)
/// @input in[N] the values absorbed after the starting state
/// @output out the final state
// cost: ceil(N / 15) Poseidon permutations, minus 3 for the constant H0 (see PoseidonSponge).
// sound: no hints; every state is a fully constrained circomlib Poseidon output.
template PoseidonChain(N, H0) {
    assert(N >= 1);
    signal input in[N];
    signal output out;

    var CHUNKS = (N + 14) \ 15;
    component h[CHUNKS];
    for (var c = 0; c < CHUNKS; c++) {
        var len = N - 15 * c;
        if (len > 15) {
            len = 15;
        }
        h[c] = Poseidon(1 + len);
        if (c == 0) {
            h[c].inputs[0] <== H0;
        } else {
            h[c].inputs[0] <== h[c - 1].out;
        }
        for (var i = 0; i < len; i++) {
            h[c].inputs[1 + i] <== in[15 * c + i];
        }
    }
    out <== h[CHUNKS - 1].out;
}
