/**
 * Groth16 verification on bn128 for one verification key, as `snarkjs.groth16.verify` decides it, for callers that
 * verify many proofs with one key (`zkrisk audit`).
 *
 * The check is snarkjs's: every public signal in [0, r); the proof's points on their curves (A and C in G1, B in
 * G2; as snarkjs, G2 membership is not checked beyond the curve equation); then, with X = IC_0 + sum s_i IC_i,
 *
 *   e(-A, B) * e(X, gamma) * e(C, delta) = e(-alpha, beta)      (that is, e(A, B) = e(alpha, beta) e(X, gamma) e(C, delta))
 *
 * What differs is the work: snarkjs reads the key's points again for every proof, hands the multi-exponentiation
 * and each of its four Miller loops to the curve's worker threads, and computes e(alpha, beta) each time. Here
 * the key is read once, e(-alpha, beta) computed once, gamma and delta prepared for the Miller loop once (their
 * line coefficients), and the three Miller loops, X (a scalar multiplication per public signal) and the final
 * exponentiation run in this thread, with ffjavascript's own wasm arithmetic (the curve snarkjs shares:
 * setup/snarkjs.ts). test/prover/groth16-verifier.test.ts checks the verdicts against snarkjs's.
 */
import { snarkjs, type Groth16Proof, type VerificationKey } from "../setup/snarkjs";

/** A group of the curve as ffjavascript builds it (points as byte buffers). */
interface PointGroup {
  fromObject(a: readonly bigint[] | readonly (readonly bigint[])[]): Uint8Array;
  toJacobian(a: Uint8Array): Uint8Array;
  isValid(a: Uint8Array): boolean;
  neg(a: Uint8Array): Uint8Array;
  add(a: Uint8Array, b: Uint8Array): Uint8Array;
  timesScalar(a: Uint8Array, s: bigint): Uint8Array;
}

/** The bn128 curve of ffjavascript: the calls made here. */
interface PairingCurve {
  G1: PointGroup;
  G2: PointGroup;
  Gt: { mul(a: Uint8Array, b: Uint8Array): Uint8Array; eq(a: Uint8Array, b: Uint8Array): boolean };
  r: bigint;
  prepareG1(p: Uint8Array): Uint8Array;
  prepareG2(q: Uint8Array): Uint8Array;
  millerLoop(preP: Uint8Array, preQ: Uint8Array): Uint8Array;
  finalExponentiation(a: Uint8Array): Uint8Array;
}

/** The key's parts the check uses, read once (byte buffers, valid for every build of the curve). */
interface PreparedKey {
  ic: Uint8Array[];
  gamma: Uint8Array;
  delta: Uint8Array;
  /** e(-alpha, beta). */
  target: Uint8Array;
}

const big = (v: string | number | bigint): bigint => BigInt(v);

/** snarkjs's curve (built on first use, shared; released by `releaseCurves`). */
async function bn128(): Promise<PairingCurve> {
  return (await snarkjs.curves.getCurveFromName("bn128")) as unknown as PairingCurve;
}

/** Groth16 verification with one key (see the module's comment). */
export class Groth16Verifier {
  private prepared: PreparedKey | undefined;

  /** @param vkey a bn128 Groth16 key as snarkjs exports it. */
  constructor(readonly vkey: VerificationKey) {
    if (vkey.protocol !== "groth16" || vkey.curve !== "bn128") {
      throw new RangeError(`a ${vkey.protocol} key on ${vkey.curve}, not a Groth16 key on bn128`);
    }
  }

  private prepare(curve: PairingCurve): PreparedKey {
    const g1 = (p: readonly (string | number)[]) => curve.G1.fromObject(p.map(big));
    const g2 = (p: readonly (readonly (string | number)[])[]) =>
      curve.G2.fromObject(p.map((c) => c.map(big)));
    const alpha = curve.G1.toJacobian(curve.G1.neg(g1(this.vkey.vk_alpha_1)));
    const beta = curve.G2.toJacobian(g2(this.vkey.vk_beta_2));
    return {
      ic: this.vkey.IC.map(g1),
      gamma: curve.prepareG2(curve.G2.toJacobian(g2(this.vkey.vk_gamma_2))),
      delta: curve.prepareG2(curve.G2.toJacobian(g2(this.vkey.vk_delta_2))),
      target: curve.finalExponentiation(curve.millerLoop(curve.prepareG1(alpha), curve.prepareG2(beta))),
    };
  }

  /**
   * Whether `proof` verifies for `publicSignals` (decimal strings, as snarkjs takes them): false for a signal
   * outside [0, r), a point off its curve, or a failed pairing check, as snarkjs; false too for another number
   * of signals than the key's (snarkjs would take fewer as zeros).
   * @throws what reading a malformed proof throws (a coordinate that is not an integer), as snarkjs.
   */
  async verify(publicSignals: readonly string[], proof: Groth16Proof): Promise<boolean> {
    const curve = await bn128();
    const key = (this.prepared ??= this.prepare(curve));
    if (publicSignals.length !== this.vkey.nPublic) return false;
    const signals = publicSignals.map(big);
    if (signals.some((s) => s < 0n || s >= curve.r)) return false;
    const a = curve.G1.fromObject(proof.pi_a.map(big));
    const b = curve.G2.fromObject(proof.pi_b.map((c) => c.map(big)));
    const c = curve.G1.fromObject(proof.pi_c.map(big));
    if (!curve.G1.isValid(a) || !curve.G2.isValid(b) || !curve.G1.isValid(c)) return false;
    let x = key.ic[0];
    for (const [i, s] of signals.entries()) x = curve.G1.add(x, curve.G1.timesScalar(key.ic[i + 1], s));
    const loop = (p: Uint8Array, preparedQ: Uint8Array) =>
      curve.millerLoop(curve.prepareG1(curve.G1.toJacobian(p)), preparedQ);
    const product = curve.Gt.mul(
      curve.Gt.mul(loop(curve.G1.neg(a), curve.prepareG2(curve.G2.toJacobian(b))), loop(x, key.gamma)),
      loop(c, key.delta),
    );
    return curve.Gt.eq(curve.finalExponentiation(product), key.target);
  }
}
