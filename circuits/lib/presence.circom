pragma circom 2.1.0;

// Presence flags: whether a signed value is nonzero. A window marks a missing bar by a close of 0
// (candles/window.ts), so "present" is exactly "close != 0", which these templates read.

include "comparators.circom";

/// @title Presence
/// @notice out = [in != 0]: 1 for a present bar (close > 0), 0 for a missing one (close = 0).
/// @input in any field element
/// @output out 1 when in != 0, else 0
// cost: 2 constraints (circomlib IsZero: out = 1 - in * inv, in * out = 0); the negation is linear.
// sound: with z = IsZero.out, the constraints are z = 1 - in * inv and in * z = 0. If in != 0, in is
//        invertible, so in * z = 0 forces z = 0 and then 1 - in * inv = 0 pins the hint inv to 1 / in.
//        If in = 0, z = 1 - 0 * inv = 1 for every inv (the hint is free but changes nothing). So out
//        = 1 - z has one value for each in, boolean.
template Presence() {
    signal input in;
    signal output out;

    component z = IsZero();
    z.in <== in;
    out <== 1 - z.out;
}

/// @title NonZero
/// @notice Enforces in != 0 (a bar that must be present), for one constraint instead of Presence's two.
/// @input in any field element; 0 has no witness
// cost: 1 constraint (in * inv = 1).
// sound: in * inv = 1 has a solution exactly when in is invertible, i.e. in != 0; the hint inv is then
//        pinned to 1 / in (the inverse is unique), and for in = 0 no value of inv satisfies it.
template NonZero() {
    signal input in;

    signal inv;
    // hint: 1 / in, pinned by in * inv === 1 (no witness when in = 0).
    inv <-- in != 0 ? 1 / in : 0;
    in * inv === 1;
}
