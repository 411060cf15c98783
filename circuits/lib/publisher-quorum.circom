pragma circom 2.1.0;

// The publisher quorum: K EdDSA-Poseidon signatures of one digest by K distinct keys of a committed
// publisher set. The set commitment is the twin of publisher/publisher-set.ts `publisherSetCommitment`
// (layout v2: a sponge over 19 elements, 8 key slots); the signature scheme is circomlib's
// EdDSAPoseidonVerifier, which publisher/eddsa.ts signs for (circomlibjs `signPoseidon`).

include "babyjub.circom";
include "eddsaposeidon.circom";
include "commitment.circom";
include "range.circom";

/// @title publisherSetMaxKeys
/// @notice Compile-time constant: the key slots of a publisher set (publisher/publisher-set.ts
///         PUBLISHER_SET_MAX_KEYS). Slot indices have publisherSetIndexBits() = 3 bits.
function publisherSetMaxKeys() {
    return 8;
}

/// @title publisherSetIndexBits
/// @notice Compile-time constant: bits of a slot index, 2^3 = publisherSetMaxKeys().
function publisherSetIndexBits() {
    return 3;
}

/// @title publisherSetTag
/// @notice Compile-time constant: the domain tag of the commitment, packAscii("zkrisk.publishers.v2")
///         (publisher/publisher-set.ts PUBLISHER_SET_TAG: the 20 ASCII bytes, big-endian).
function publisherSetTag() {
    return 698893020460413683179097508080263850000292673074;
}

/// @title SelectKey
/// @notice (x, y) = (Ax[index], Ay[index]) for index in [0, 2^B): a binary multiplexer tree on the bits of
///         index. The "one-hot selector" of this template is the bit decomposition of index.
/// @param B bits of index, 1 <= B <= 8
/// @input index the slot to select; an index outside [0, 2^B) has no witness
/// @input Ax[2^B], Ay[2^B] the points to select from
/// @output x, y the coordinates of slot index
// cost: B + 2 (2^B - 1) constraints at --O2: RangeCheck(B) of index (B), then one product per tree node and
//       coordinate, 2^B - 1 nodes (2^(B-1) + ... + 1). B = 3: 3 + 14 = 17 (pinned in
//       test/circuits/templates-publisher-quorum.test.ts).
// sound: no hints of its own; the bits are RangeCheck's, pinned there to the binary digits of index (and
//        index to [0, 2^B)). A node is lo + b (hi - lo), a constraint, with b = 0 or 1, so it equals exactly
//        lo or hi: node i of level 1 holds slot 2i + b_0, node i of level l holds slot
//        2^l i + (index mod 2^l) by induction, and the root (level B, i = 0) holds slot index. Nothing the
//        prover chooses besides index changes (x, y).
template SelectKey(B) {
    assert(B >= 1 && B <= 8);
    var N = 1 << B;
    signal input index;
    signal input Ax[N];
    signal input Ay[N];
    signal output x;
    signal output y;

    component digits = RangeCheck(B);
    digits.in <== index;

    // Tree nodes, level by level: level 1 (N / 2 nodes) first, the root (node N - 2) last.
    signal nx[N - 1];
    signal ny[N - 1];
    var start = 0;
    var width = N \ 2;
    for (var l = 0; l < B; l++) {
        for (var i = 0; i < width; i++) {
            if (l == 0) {
                nx[start + i] <== Ax[2 * i] + digits.bits[0] * (Ax[2 * i + 1] - Ax[2 * i]);
                ny[start + i] <== Ay[2 * i] + digits.bits[0] * (Ay[2 * i + 1] - Ay[2 * i]);
            } else {
                var c = start - 2 * width;
                nx[start + i] <== nx[c + 2 * i] + digits.bits[l] * (nx[c + 2 * i + 1] - nx[c + 2 * i]);
                ny[start + i] <== ny[c + 2 * i] + digits.bits[l] * (ny[c + 2 * i + 1] - ny[c + 2 * i]);
            }
        }
        start += width;
        width = width \ 2;
    }
    x <== nx[N - 2];
    y <== ny[N - 2];
}

/// @title PublisherSetCommitment
/// @notice The commitment to a publisher set of n <= 8 keys with quorum K (publisher/publisher-set.ts
///         layout v2): out = PoseidonSponge(19)([TAG, K, n, Ax[0], Ay[0], ..., Ax[7], Ay[7]]).
/// @param K the quorum, 1 <= K <= 8, compiled in as a constant
/// @input n number of keys; outside [1, 8] there is no witness
/// @input Ax[8], Ay[8] the key slots, canonical order, (0, 0) past n (publisherSetSlots)
/// @output out the commitment
// cost: 924 constraints at --O2: RangeCheck(3) of n - 1 (3) and PoseidonSponge(19) (921): a Poseidon(16)
//       over [19, TAG, K, n, Ax[0], Ay[0], ..., Ax[5], Ay[5]] (609) then a Poseidon(5) over
//       [h, Ax[6], Ay[6], Ax[7], Ay[7]] (321), minus 3 for each of the three compile-time constants 19, TAG
//       and K, whose first S-box (x^2, x^4, x^5) is folded.
// sound: RangeCheck pins n to [1, 8]. No other hints (circomlib Poseidon is fully constrained), so out
//        is a function of (K, n, the 16 coordinates) and equals a registered commitment only for that set
//        (Poseidon collision resistance). Slots past n are hashed as given, not forced to (0, 0): a witness
//        with anything else there commits to a set that publisherSetCommitment never produced. The keys
//        are NOT checked here: that they are valid, prime-subgroup and distinct (strictly sorted) points
//        is established when the set is built (makePublisherSet), before its commitment is registered
//        (PublisherSignature checks that a key a signature uses is on the curve).
template PublisherSetCommitment(K) {
    var MAX = publisherSetMaxKeys();
    assert(K >= 1 && K <= MAX);
    signal input n;
    signal input Ax[MAX];
    signal input Ay[MAX];
    signal output out;

    component nRange = RangeCheck(publisherSetIndexBits());
    nRange.in <== n - 1;

    component sponge = PoseidonSponge(3 + 2 * MAX);
    sponge.in[0] <== publisherSetTag();
    sponge.in[1] <== K;
    sponge.in[2] <== n;
    for (var j = 0; j < MAX; j++) {
        sponge.in[3 + 2 * j] <== Ax[j];
        sponge.in[4 + 2 * j] <== Ay[j];
    }
    out <== sponge.out;
}

/// @title PublisherSignature
/// @notice An EdDSA-Poseidon signature (R8, S) of M by the key A, exactly as publisher/eddsa.ts
///         `verifySignature` accepts it for a registered key: circomlib's EdDSAPoseidonVerifier with
///         enabled = 1, plus the two curve checks that template leaves out.
/// @input M the signed message (a digest; any field element)
/// @input Ax, Ay the public key, a registered key (see "sound")
/// @input R8x, R8y, S the signature; S outside [0, l) or R8 off the curve has no witness
// cost: 4213 constraints at --O2: BabyCheck of R8 and of A (3 each: x^2, y^2, the curve equation) and
//       EdDSAPoseidonVerifier with enabled = 1 (4207).
// sound: circomlib's EdDSAPoseidonVerifier (enabled = 1, a constant, so it can never be switched off)
//        CHECKS:
//          * S < l (l = subgroup order): Num2Bits(253) of S (2^253 < p: unique bits, so S < 2^253) and
//            CompConstant(l - 1) on them, with out * enabled === 0. S + l, which satisfies the curve
//            equation too (B8 has order l), is refused;
//          * h = Poseidon(R8x, R8y, Ax, Ay, M), as 254 Num2Bits_strict bits (one representative);
//          * 8A is not the identity: it doubles A three times and tests IsZero on x of dbl3's INPUT, i.e.
//            x(4A); x(4A) = 0 iff 4A is (0, 1) or (0, -1) iff 8A is the identity, so it is the intended test;
//          * S * B8 = R8 + h * (8A), both coordinates (EscalarMulFix, EscalarMulAny, BabyAdd).
//        It does NOT check, and this template adds or relies on:
//          * R8 on the curve: not checked there. circomlibjs's verifyPoseidon refuses an R8 off the curve,
//            and EdDSA's unforgeability is a statement about curve points, so BabyCheck(R8) is ADDED. On
//            the curve, the equation puts R8 = S B8 - 8hA in the prime subgroup;
//          * A on the curve: not checked there, though EscalarMulAny assumes its point is in the prime
//            subgroup and not the identity (its header), and 8A is in the subgroup only when A is on the
//            curve (cofactor 8). BabyCheck(A) is ADDED, so that precondition holds by constraint (with the
//            not-identity test above), not only because registration checked the key;
//          * A in the prime subgroup: NOT checked (it costs a scalar multiplication by l). The equation is
//            cofactored, so A and A + T (T of small order) accept the same signatures. Registered keys
//            are prime-subgroup points (makePublisherSet refuses others: eddsa.ts `publicKeyViolation`),
//            so no registered set holds two such keys and distinct keys are distinct signers;
//          * M: any field element is a message.
//        No hints here. circomlib's own hints (bits, BabyAdd quotients, Montgomery slopes, IsZero inverse)
//        are pinned inside it; the cases where one could go free do not arise: a BabyAdd denominator
//        1 +- d x1 x2 y1 y2 with a zero numerator needs d or a d to be a square in F_p (neither is), and
//        EscalarMulAny's Montgomery additions would need the accumulator (an odd multiple c < 2^149 of
//        the point, within a 148-bit segment) to equal +-2^(i+1) times the point modulo l, impossible for
//        a point of prime order l > 2^250. Signatures are malleable only in ways that do not matter to the
//        quorum: votes are counted by key slot (PublisherQuorum), not by signature.
template PublisherSignature() {
    signal input M;
    signal input Ax;
    signal input Ay;
    signal input R8x;
    signal input R8y;
    signal input S;

    component r8OnCurve = BabyCheck();
    r8OnCurve.x <== R8x;
    r8OnCurve.y <== R8y;
    component keyOnCurve = BabyCheck();
    keyOnCurve.x <== Ax;
    keyOnCurve.y <== Ay;

    component verify = EdDSAPoseidonVerifier();
    verify.enabled <== 1;
    verify.Ax <== Ax;
    verify.Ay <== Ay;
    verify.S <== S;
    verify.R8x <== R8x;
    verify.R8y <== R8y;
    verify.M <== M;
}

/// @title PublisherQuorum
/// @notice K EdDSA-Poseidon signatures of `digest` by K distinct keys of a publisher set of n <= 8 keys,
///         and the commitment to that set with quorum K (PublisherSetCommitment(K)). K is compiled in, so
///         a set registered with quorum k is proven by the circuit with K = k and by no other: a proof
///         with K signatures for a set registered with another quorum outputs a commitment nobody
///         registered.
/// @param K signatures (the quorum), 1 <= K <= 8
/// @input digest the signed field element (a window digest)
/// @input n private: number of keys in the set, 1 <= n <= 8
/// @input Ax[8], Ay[8] private: the key slots in canonical order, (0, 0) past n (publisherSetSlots)
/// @input index[K] private: the slot of each signature's key, strictly increasing, all below n
/// @input R8x[K], R8y[K], S[K] private: the signatures (publisher/eddsa.ts `Signature`)
/// @output setCommitment the publisher-set commitment, to compare with the market's registered one
// cost: 924 + 4233 K constraints at --O2 (measured, pinned in
//       test/circuits/templates-publisher-quorum.test.ts):
//         commitment  924       PublisherSetCommitment(K)
//         selection   20 per signature: SelectKey(3) (17) and one gap RangeCheck(3) (3)
//         signature   4213 per signature: PublisherSignature()
//       K = 1: 5157, K = 2: 9390, K = 3: 13623 (the issue's budget: 30,000 at K = 1 with everything
//       else, 4,300 per further signature).
// sound: SelectKey pins signature i's key to slot index[i] (no hint of its own). The K gap checks,
//        RangeCheck(3) of index[i + 1] - index[i] - 1 and of n - index[K - 1] - 1, give
//          index[0] < index[1] < ... < index[K - 1] < n:
//        every difference is a small integer (indices in [0, 8) by SelectKey, n in [1, 8] by the
//        commitment's range check), and a negative one is a field element near p, which has no 3-bit
//        decomposition. So the K keys are K distinct slots among the first n, hence K distinct keys of the
//        set (a registered set is strictly sorted): a signature cannot be counted twice (the same index
//        twice fails its gap check), nor under another slot's index (the key in that slot is not its
//        signer), nor from an empty slot (index >= n). PublisherSignature makes each signature valid for
//        its key, by the rules of publisher/eddsa.ts `verifySignature`. So a witness exists iff K
//        signatures of digest verify for K distinct keys of the set that setCommitment commits to.
template PublisherQuorum(K) {
    var MAX = publisherSetMaxKeys();
    var B = publisherSetIndexBits();
    assert(1 << B == MAX);
    assert(K >= 1 && K <= MAX);

    signal input digest;
    signal input n;
    signal input Ax[MAX];
    signal input Ay[MAX];
    signal input index[K];
    signal input R8x[K];
    signal input R8y[K];
    signal input S[K];
    signal output setCommitment;

    component set = PublisherSetCommitment(K);
    set.n <== n;
    set.Ax <== Ax;
    set.Ay <== Ay;
    setCommitment <== set.out;

    component key[K];
    component gap[K];
    component signature[K];
    for (var i = 0; i < K; i++) {
        key[i] = SelectKey(B);
        key[i].index <== index[i];
        key[i].Ax <== Ax;
        key[i].Ay <== Ay;

        // index[i] < index[i + 1], and the last index < n: the gap minus 1 is in [0, 2^B).
        gap[i] = RangeCheck(B);
        if (i + 1 < K) {
            gap[i].in <== index[i + 1] - index[i] - 1;
        } else {
            gap[i].in <== n - index[i] - 1;
        }

        signature[i] = PublisherSignature();
        signature[i].M <== digest;
        signature[i].Ax <== key[i].x;
        signature[i].Ay <== key[i].y;
        signature[i].R8x <== R8x[i];
        signature[i].R8y <== R8y[i];
        signature[i].S <== S[i];
    }
}
