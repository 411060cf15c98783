/**
 * The parts zkrisk's generated Groth16 verifiers share (signed-update-verifier.ts, signed-batch-verifier.ts): the
 * checked verification key, its Solidity constants, the four-pairing check and the `s * P + B` helper.
 *
 * Groth16 accepts a proof (A, B, C) for public signals s_1..s_n when
 *
 *   e(A, B) = e(alpha, beta) * e(X, gamma) * e(C, delta),   X = IC_0 + s_1 IC_1 + ... + s_n IC_n.
 *
 * The generated verifiers check it as one product of four pairings equal to 1, with beta, gamma and delta
 * negated here, at generation time (negating a G2 point negates its y), so A is passed as it is:
 *
 *   e(A, B) * e(alpha, -beta) * e(X, -gamma) * e(C, -delta) = 1,
 *
 * and split X into a BASE, IC_0 plus the signals that are constant per market or batch composition, which the
 * oracle computes once through the verifier and stores, and the varying signals' terms, which each proof pays.
 *
 * Input checks every generated verifier makes (the precompiles' own checks are listed so nothing is left to chance):
 * - every coordinate of A, B, C and of the base is below q (checked in the contract; the precompiles would refuse
 *   them too, but an explicit check does not depend on that and refuses them before any precompile runs);
 * - every scalar below r (checked in the contract: the multiplication precompile reduces scalars mod r, so s and
 *   s + r would otherwise both verify); the base's constants too (the base functions revert);
 * - A, C and the base on the curve, B on the twist and in the r-order subgroup: the pairing precompile (EIP-197)
 *   and the addition precompile (EIP-196) refuse anything else, which the verifier turns into `false`.
 */
import { createHash } from "node:crypto";
import { FIELD_MODULUS } from "../crypto/field";
import { ZkriskError } from "../core/errors";
import type { VerificationKey } from "../setup/snarkjs";

/** q, the BN254 base field modulus: every point coordinate is below it. */
export const BASE_FIELD_MODULUS =
  21888242871839275222246405745257275088696311157297823662689037894645226208583n;

/** The verification key cannot be turned into a zkrisk verifier. */
export class VerifierKeyError extends ZkriskError {
  constructor(message: string) {
    super("VERIFIER_KEY_INVALID", message);
  }
}

/** A G1 point as two coordinates. */
export type G1 = [bigint, bigint];
/** A G2 point as (x.re, x.im, y.re, y.im). */
export type G2 = [bigint, bigint, bigint, bigint];

const mod = (v: bigint) => ((v % BASE_FIELD_MODULUS) + BASE_FIELD_MODULUS) % BASE_FIELD_MODULUS;

function coordinate(where: string, v: unknown): bigint {
  if (typeof v !== "string" || !/^\d+$/.test(v))
    throw new VerifierKeyError(`${where}: '${String(v)}' is not a decimal`);
  const x = BigInt(v);
  if (x >= BASE_FIELD_MODULUS) throw new VerifierKeyError(`${where}: ${x} is not below q`);
  return x;
}

/** A G1 point of the key, in affine form (z = 1) and on y^2 = x^3 + 3. */
function g1(where: string, p: unknown): G1 {
  if (!Array.isArray(p) || p.length !== 3 || p[2] !== "1") {
    throw new VerifierKeyError(`${where}: not an affine G1 point [x, y, "1"]`);
  }
  const [x, y] = [coordinate(`${where}[0]`, p[0]), coordinate(`${where}[1]`, p[1])];
  if (mod(y * y - x * x * x - 3n) !== 0n)
    throw new VerifierKeyError(`${where}: (${x}, ${y}) is not on the curve`);
  return [x, y];
}

/**
 * A G2 point of the key, in affine form. Its curve membership is left to the pairing precompile, which refuses
 * a point off the twist or outside the subgroup at every call (so a bad key verifies nothing).
 */
function g2(where: string, p: unknown): G2 {
  const pair = (q: unknown, i: number): [bigint, bigint] => {
    if (!Array.isArray(q) || q.length !== 2) throw new VerifierKeyError(`${where}[${i}]: not a pair`);
    return [coordinate(`${where}[${i}][0]`, q[0]), coordinate(`${where}[${i}][1]`, q[1])];
  };
  if (!Array.isArray(p) || p.length !== 3) throw new VerifierKeyError(`${where}: not an affine G2 point`);
  const z = pair(p[2], 2);
  if (z[0] !== 1n || z[1] !== 0n) throw new VerifierKeyError(`${where}: not in affine form (z = 1)`);
  return [...pair(p[0], 0), ...pair(p[1], 1)];
}

/** -P for a G2 point: (x, -y), each Fq2 coordinate negated component-wise. */
function negate(p: G2): G2 {
  return [p[0], p[1], mod(-p[2]), mod(-p[3])];
}

/** The key's points, checked, with beta, gamma and delta negated. */
export interface VerifierConstants {
  alpha: G1;
  negBeta: G2;
  negGamma: G2;
  negDelta: G2;
  /** IC_0, then IC_j of public signal j - 1. */
  ic: G1[];
}

/**
 * Check a snarkjs verification key of a circuit with `signals` public signals and take its constants.
 * @param what the circuit and its signals, for the message of a key with another count
 * @throws VerifierKeyError naming the field at fault
 */
export function verifierConstants(vkey: VerificationKey, signals: number, what: string): VerifierConstants {
  if (vkey.protocol !== "groth16" || vkey.curve !== "bn128") {
    throw new VerifierKeyError(`protocol/curve: ${vkey.protocol}/${vkey.curve}, expected groth16/bn128`);
  }
  if (vkey.nPublic !== signals || !Array.isArray(vkey.IC) || vkey.IC.length !== signals + 1) {
    throw new VerifierKeyError(
      `nPublic: ${vkey.nPublic} public signals (${vkey.IC?.length} IC points); ${what} has ${signals}`,
    );
  }
  return {
    alpha: g1("vk_alpha_1", vkey.vk_alpha_1),
    negBeta: negate(g2("vk_beta_2", vkey.vk_beta_2)),
    negGamma: negate(g2("vk_gamma_2", vkey.vk_gamma_2)),
    negDelta: negate(g2("vk_delta_2", vkey.vk_delta_2)),
    ic: vkey.IC.map((p, j) => g1(`IC[${j}]`, p)),
  };
}

/** Solidity constant declarations of a G1 point. */
export function g1Constants(name: string, p: G1): string[] {
  return [
    `    uint256 private constant ${name}_X = ${p[0]};`,
    `    uint256 private constant ${name}_Y = ${p[1]};`,
  ];
}

/** Solidity constant declarations of a G2 point, in the precompile's order (imaginary part first). */
function g2Constants(name: string, p: G2): string[] {
  return [
    `    uint256 private constant ${name}_X_IM = ${p[1]};`,
    `    uint256 private constant ${name}_X_RE = ${p[0]};`,
    `    uint256 private constant ${name}_Y_IM = ${p[3]};`,
    `    uint256 private constant ${name}_Y_RE = ${p[2]};`,
  ];
}

/** The header of a generated verifier's source: license, pragma, the GENERATED line with the key's sha256. */
export function verifierHeader(generator: string, vkey: VerificationKey, imports: string[]): string[] {
  const keyHash = createHash("sha256").update(JSON.stringify(vkey)).digest("hex");
  return [
    "// SPDX-License-Identifier: MIT",
    "pragma solidity ^0.8.28;",
    "",
    `// GENERATED by zkrisk (${generator}) from a verification key with sha256 of its`,
    `// JSON ${keyHash}. Do not edit: regenerate it.`,
    "",
    ...imports,
    "",
  ];
}

/**
 * The contract's constants: Q, R, the key's ALPHA and negated BETA, GAMMA, DELTA, then `IC<j>` of the listed
 * points (each with a comment line before it).
 */
export function verifierKeyConstants(k: VerifierConstants, ic: { j: number; comment: string }[]): string[] {
  return [
    "    /// @dev q, the base field modulus: every coordinate is below it.",
    `    uint256 private constant Q = ${BASE_FIELD_MODULUS};`,
    "    /// @dev r, the scalar field modulus: every public signal is below it.",
    `    uint256 private constant R = ${FIELD_MODULUS};`,
    "",
    "    // The verification key. BETA, GAMMA and DELTA are stored negated (y -> Q - y), so A enters the pairing",
    "    // as given. G2 coordinates are in the precompile's order: imaginary part, then real part.",
    ...g1Constants("ALPHA", k.alpha),
    ...g2Constants("NEG_BETA", k.negBeta),
    ...g2Constants("NEG_GAMMA", k.negGamma),
    ...g2Constants("NEG_DELTA", k.negDelta),
    ...ic.flatMap(({ j, comment }) => [`    // ${comment}`, ...g1Constants(`IC${j}`, k.ic[j])]),
  ];
}

/** The coordinate checks of a proof and a base (`baseX`, `baseY`): `return false` for any not below q. */
export const PROOF_COORDINATE_CHECKS = [
  "        // Coordinates below q: the canonical encoding only, so one point has one encoding.",
  "        if (pA[0] >= Q || pA[1] >= Q || pC[0] >= Q || pC[1] >= Q || baseX >= Q || baseY >= Q) return false;",
  "        if (pB[0][0] >= Q || pB[0][1] >= Q || pB[1][0] >= Q || pB[1][1] >= Q) return false;",
];

/** The pairing check of the proof with X = (x, y), returning its outcome (`ok` is declared before). */
export const PAIRING_CHECK = [
  "        // The pairing precompile refuses A or C off the curve and B off the twist or outside the subgroup.",
  "        uint256[24] memory pairs = [",
  "            pA[0],",
  "            pA[1],",
  "            pB[0][0],",
  "            pB[0][1],",
  "            pB[1][0],",
  "            pB[1][1],",
  "            ALPHA_X,",
  "            ALPHA_Y,",
  "            NEG_BETA_X_IM,",
  "            NEG_BETA_X_RE,",
  "            NEG_BETA_Y_IM,",
  "            NEG_BETA_Y_RE,",
  "            x,",
  "            y,",
  "            NEG_GAMMA_X_IM,",
  "            NEG_GAMMA_X_RE,",
  "            NEG_GAMMA_Y_IM,",
  "            NEG_GAMMA_Y_RE,",
  "            pC[0],",
  "            pC[1],",
  "            NEG_DELTA_X_IM,",
  "            NEG_DELTA_X_RE,",
  "            NEG_DELTA_Y_IM,",
  "            NEG_DELTA_Y_RE",
  "        ];",
  "        uint256[1] memory result;",
  '        assembly ("memory-safe") {',
  "            // 4 pairs of 192 bytes in, one word out: 1 when the product of the pairings is 1.",
  "            ok := staticcall(gas(), 0x08, pairs, 768, result, 32)",
  "        }",
  "        return ok && result[0] == 1;",
];

/** `_mulAdd(px, py, s, bx, by)`: s * P + B for G1 points with the precompiles; ok false when one refuses. */
export const MUL_ADD_FUNCTION = [
  "    /// @dev s * P + B for G1 points P, B and a scalar s < R; ok is false when a precompile refuses its input.",
  "    function _mulAdd(",
  "        uint256 px,",
  "        uint256 py,",
  "        uint256 s,",
  "        uint256 bx,",
  "        uint256 by",
  "    ) private view returns (bool ok, uint256 x, uint256 y) {",
  "        uint256[4] memory buffer = [px, py, s, 0];",
  '        assembly ("memory-safe") {',
  "            // buffer[0..1] = s * P (0x07 takes x, y, s)",
  "            ok := staticcall(gas(), 0x07, buffer, 96, buffer, 64)",
  "        }",
  "        buffer[2] = bx;",
  "        buffer[3] = by;",
  '        assembly ("memory-safe") {',
  "            // buffer[0..1] = s * P + B (0x06 takes x1, y1, x2, y2)",
  "            ok := and(ok, staticcall(gas(), 0x06, buffer, 128, buffer, 64))",
  "        }",
  "        return (ok, buffer[0], buffer[1]);",
  "    }",
];

/** The NatSpec lines on the precompiles every generated verifier's contract comment carries. */
export const PRECOMPILE_NOTES = [
  "/// @dev Precompiles (EIP-196, EIP-197): 0x06 adds two G1 points, 0x07 multiplies one by a scalar, 0x08 checks",
  "///      that a product of pairings is 1. Each refuses (the call fails) a coordinate >= Q or a point off the",
  "///      curve, and 0x08 a G2 point outside the subgroup; the explicit checks here come first anyway.",
];
