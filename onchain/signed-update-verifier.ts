/**
 * zkrisk's own Groth16 verifier for the signed-update circuit: Solidity generated from the circuit's
 * verification key (snarkjs's `verification_key.json`), written for this circuit's two public signals
 * (`UPDATE_SIGNALS`: the packed update, then the statement key) instead of snarkjs's template.
 *
 * Groth16 accepts a proof (A, B, C) for public signals s_1..s_n when
 *
 *   e(A, B) = e(alpha, beta) * e(X, gamma) * e(C, delta),   X = IC_0 + s_1 IC_1 + ... + s_n IC_n.
 *
 * The statement key s_2 is constant per market, so the oracle asks the verifier once for the market's
 * statement base `IC_0 + s_2 IC_2` (`statementBase`) and stores it; each update then costs one scalar
 * multiplication and one addition (X = base + s_1 IC_1) instead of two of each, and the pairing check of four
 * pairs. The equation is checked as one product of four pairings equal to 1, with beta, gamma and delta
 * negated here, at generation time (negating a G2 point negates its y), so A is passed as it is:
 *
 *   e(A, B) * e(alpha, -beta) * e(X, -gamma) * e(C, -delta) = 1.
 *
 * Input checks (the precompiles' own checks are listed so nothing is left to chance):
 * - every coordinate of A, B, C and of the base is below q (checked in the contract; the precompiles would refuse
 *   them too, but an explicit check does not depend on that and refuses them before any precompile runs);
 * - the update is below r (checked in the contract: the multiplication precompile reduces scalars mod r, so
 *   s and s + r would otherwise both verify), and so is the statement key (`statementBase` reverts);
 * - A, C and the base on the curve, B on the twist and in the r-order subgroup: the pairing precompile (EIP-197)
 *   and the addition precompile (EIP-196) refuse anything else, which the verifier turns into `false`.
 */
import { createHash } from "node:crypto";
import { UPDATE_SIGNALS } from "../circuits/public-signals";
import { FIELD_MODULUS } from "../crypto/field";
import { ZkriskError } from "../core/errors";
import type { VerificationKey } from "../setup/snarkjs";

/** q, the BN254 base field modulus: every point coordinate is below it. */
export const BASE_FIELD_MODULUS =
  21888242871839275222246405745257275088696311157297823662689037894645226208583n;

/** The generated contract's name. */
export const SIGNED_UPDATE_VERIFIER_CONTRACT = "SignedUpdateVerifier";

/** The verification key cannot be turned into a signed-update verifier. */
export class VerifierKeyError extends ZkriskError {
  constructor(message: string) {
    super("VERIFIER_KEY_INVALID", message);
  }
}

/** A G1 point as two coordinates. */
type G1 = [bigint, bigint];
/** A G2 point as (x.re, x.im, y.re, y.im). */
type G2 = [bigint, bigint, bigint, bigint];

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
interface VerifierConstants {
  alpha: G1;
  negBeta: G2;
  negGamma: G2;
  negDelta: G2;
  /** IC_0, IC_1 (the update), IC_2 (the statement key). */
  ic: [G1, G1, G1];
}

/**
 * Check a snarkjs verification key for the signed-update circuit and take its constants.
 * @throws VerifierKeyError naming the field at fault
 */
export function verifierConstants(vkey: VerificationKey): VerifierConstants {
  if (vkey.protocol !== "groth16" || vkey.curve !== "bn128") {
    throw new VerifierKeyError(`protocol/curve: ${vkey.protocol}/${vkey.curve}, expected groth16/bn128`);
  }
  const n = UPDATE_SIGNALS.length;
  if (vkey.nPublic !== n || !Array.isArray(vkey.IC) || vkey.IC.length !== n + 1) {
    throw new VerifierKeyError(
      `nPublic: ${vkey.nPublic} public signals (${vkey.IC?.length} IC points); a signed update has ${n} ` +
        `(${UPDATE_SIGNALS.join(", ")})`,
    );
  }
  return {
    alpha: g1("vk_alpha_1", vkey.vk_alpha_1),
    negBeta: negate(g2("vk_beta_2", vkey.vk_beta_2)),
    negGamma: negate(g2("vk_gamma_2", vkey.vk_gamma_2)),
    negDelta: negate(g2("vk_delta_2", vkey.vk_delta_2)),
    ic: [g1("IC[0]", vkey.IC[0]), g1("IC[1]", vkey.IC[1]), g1("IC[2]", vkey.IC[2])],
  };
}

/** Solidity constant declarations of a G1 point. */
function g1Constants(name: string, p: G1): string[] {
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

/**
 * The Solidity source of the signed-update verifier for `vkey` (contract {@link SIGNED_UPDATE_VERIFIER_CONTRACT},
 * implementing contracts/interfaces/ISignedUpdateVerifier.sol). Deterministic: the same key gives the same bytes.
 * @throws VerifierKeyError for a key that is not a Groth16 BN254 key of two public signals with valid G1 points
 */
export function generateSignedUpdateVerifier(vkey: VerificationKey): string {
  const k = verifierConstants(vkey);
  const keyHash = createHash("sha256").update(JSON.stringify(vkey)).digest("hex");
  const lines = [
    "// SPDX-License-Identifier: MIT",
    "pragma solidity ^0.8.28;",
    "",
    "// GENERATED by zkrisk (onchain/signed-update-verifier.ts) from a verification key with sha256 of its",
    `// JSON ${keyHash}. Do not edit: regenerate it.`,
    "",
    'import {ISignedUpdateVerifier} from "contracts/interfaces/ISignedUpdateVerifier.sol";',
    "",
    `/// @title ${SIGNED_UPDATE_VERIFIER_CONTRACT}`,
    "/// @notice Groth16 verifier (BN254) of one signed-update circuit, its verification key in the constants below.",
    "///         A proof (A, B, C) of the packed update s1 for the statement whose base is P = IC0 + key * IC2 is valid",
    "///         when e(A, B) * e(ALPHA, -BETA) * e(P + s1 * IC1, -GAMMA) * e(C, -DELTA) = 1.",
    "/// @dev Precompiles (EIP-196, EIP-197): 0x06 adds two G1 points, 0x07 multiplies one by a scalar, 0x08 checks",
    "///      that a product of pairings is 1. Each refuses (the call fails) a coordinate >= Q or a point off the",
    "///      curve, and 0x08 a G2 point outside the subgroup; the explicit checks here come first anyway.",
    `contract ${SIGNED_UPDATE_VERIFIER_CONTRACT} is ISignedUpdateVerifier {`,
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
    "    // IC0, then IC1 of public signal 0 (the packed update) and IC2 of public signal 1 (the statement key).",
    ...g1Constants("IC0", k.ic[0]),
    ...g1Constants("IC1", k.ic[1]),
    ...g1Constants("IC2", k.ic[2]),
    "",
    "    /// @inheritdoc ISignedUpdateVerifier",
    "    function statementBase(uint256 statementKey) external view returns (uint256 x, uint256 y) {",
    "        if (statementKey >= R) revert VerifierScalarNotInField(statementKey);",
    "        bool ok;",
    "        (ok, x, y) = _mulAdd(IC2_X, IC2_Y, statementKey, IC0_X, IC0_Y);",
    "        // The constants are valid points, so the precompiles fail here only by running out of gas.",
    "        if (!ok) revert VerifierPrecompileFailed();",
    "    }",
    "",
    "    /// @inheritdoc ISignedUpdateVerifier",
    "    function verifyProof(",
    "        uint256[2] calldata pA,",
    "        uint256[2][2] calldata pB,",
    "        uint256[2] calldata pC,",
    "        uint256 update,",
    "        uint256 baseX,",
    "        uint256 baseY",
    "    ) external view returns (bool valid) {",
    "        // Scalars below r: the multiplication precompile would read update + r as update.",
    "        if (update >= R) return false;",
    "        // Coordinates below q: the canonical encoding only, so one point has one encoding.",
    "        if (pA[0] >= Q || pA[1] >= Q || pC[0] >= Q || pC[1] >= Q || baseX >= Q || baseY >= Q) return false;",
    "        if (pB[0][0] >= Q || pB[0][1] >= Q || pB[1][0] >= Q || pB[1][1] >= Q) return false;",
    "        // X = base + update * IC1; the addition precompile refuses a base off the curve.",
    "        (bool ok, uint256 x, uint256 y) = _mulAdd(IC1_X, IC1_Y, update, baseX, baseY);",
    "        if (!ok) return false;",
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
    "    }",
    "",
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
    "}",
    "",
  ];
  return lines.join("\n");
}
