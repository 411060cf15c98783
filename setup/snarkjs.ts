/**
 * Typed access to the parts of snarkjs 0.7 that zkrisk uses (snarkjs ships no type declarations).
 *
 * Load snarkjs only through this module: snarkjs keeps its bn128 curve (wasm plus one worker thread per core) in
 * `globalThis.curve_bn128`, and a second copy of snarkjs/ffjavascript (ESM next to CJS) would reset that global
 * and leak the first copy's workers. Call {@link releaseCurves} when done, or the process never exits.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { SnarkjsLogger } from "./log";

/** A curve group of ffjavascript (only what zkrisk calls). */
export interface CurveGroup {
  /** Write point `a` (affine, little-endian Montgomery, as stored in zkey files) as big-endian uncompressed bytes. */
  toRprUncompressed(out: Uint8Array, offset: number, a: Uint8Array): void;
}

/** A pairing-friendly curve built by ffjavascript (only what zkrisk calls). */
export interface Curve {
  G1: CurveGroup;
  G2: CurveGroup;
  /** Stop the curve's worker threads (takes about 200 ms). */
  terminate(): Promise<void>;
}

/** A Groth16 proof as snarkjs prints it: coordinates as decimal strings. */
export interface Groth16Proof {
  pi_a: string[];
  pi_b: string[][];
  pi_c: string[];
  protocol: string;
  curve: string;
}

/** A Groth16 verification key as exported by snarkjs (`verification_key.json`); points as decimal strings. */
export interface VerificationKey {
  protocol: string;
  curve: string;
  /** Number of public signals (outputs first, then public inputs). */
  nPublic: number;
  vk_alpha_1: string[];
  vk_beta_2: string[][];
  vk_gamma_2: string[][];
  vk_delta_2: string[][];
  vk_alphabeta_12: string[][][];
  IC: string[][];
}

/** The snarkjs 0.7 API used by zkrisk. Failures are often signalled by `false`/`-1` plus an error log line. */
export interface Snarkjs {
  curves: { getCurveFromName(name: string): Promise<Curve> };
  powersOfTau: {
    newAccumulator(curve: Curve, power: number, file: string, logger?: SnarkjsLogger): Promise<Uint8Array>;
    contribute(
      ptauIn: string,
      ptauOut: string,
      name: string,
      entropy: string,
      logger?: SnarkjsLogger,
    ): Promise<Uint8Array>;
    beacon(
      ptauIn: string,
      ptauOut: string,
      name: string,
      beaconHashHex: string,
      numIterationsExp: number,
      logger?: SnarkjsLogger,
    ): Promise<Uint8Array | false>;
    preparePhase2(ptauIn: string, ptauOut: string, logger?: SnarkjsLogger): Promise<void>;
    verify(ptau: string, logger?: SnarkjsLogger): Promise<boolean>;
  };
  zKey: {
    newZKey(r1cs: string, ptau: string, zkey: string, logger?: SnarkjsLogger): Promise<Uint8Array | -1>;
    contribute(
      zkeyIn: string,
      zkeyOut: string,
      name: string,
      entropy: string,
      logger?: SnarkjsLogger,
    ): Promise<Uint8Array>;
    beacon(
      zkeyIn: string,
      zkeyOut: string,
      name: string,
      beaconHashHex: string,
      numIterationsExp: number,
      logger?: SnarkjsLogger,
    ): Promise<Uint8Array | false>;
    verifyFromR1cs(r1cs: string, ptau: string, zkey: string, logger?: SnarkjsLogger): Promise<boolean>;
    exportVerificationKey(zkey: string, logger?: SnarkjsLogger): Promise<VerificationKey>;
    exportSolidityVerifier(
      zkey: string,
      templates: { groth16: string },
      logger?: SnarkjsLogger,
    ): Promise<string>;
  };
  groth16: {
    fullProve(
      input: Record<string, unknown>,
      wasm: string,
      zkey: string,
      logger?: SnarkjsLogger,
    ): Promise<{ proof: Groth16Proof; publicSignals: string[] }>;
    verify(
      vkey: VerificationKey,
      publicSignals: string[],
      proof: Groth16Proof,
      logger?: SnarkjsLogger,
    ): Promise<boolean>;
  };
}

const requireHere = createRequire(__filename);

/** The snarkjs module (its CommonJS build). */
export const snarkjs = requireHere("snarkjs") as Snarkjs;

/** Path of snarkjs's Groth16 Solidity verifier template (`templates/verifier_groth16.sol.ejs` in the package). */
export const GROTH16_SOLIDITY_TEMPLATE = join(
  dirname(dirname(requireHere.resolve("snarkjs"))),
  "templates",
  "verifier_groth16.sol.ejs",
);

/**
 * Stop the worker threads of the shared bn128 curve that snarkjs builds on first use (ffjavascript keeps it in
 * `globalThis.curve_bn128`; `curve.terminate()` clears the global). Safe to call when no curve exists and more than
 * once; the next snarkjs call builds a fresh curve. Call it at the end of a CLI command and in test `afterAll`.
 */
export async function releaseCurves(): Promise<void> {
  const holder = globalThis as { curve_bn128?: Curve | null };
  const curve = holder.curve_bn128;
  if (curve) await curve.terminate();
}
