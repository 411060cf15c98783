/**
 * The optional native multi-exponentiation (prover/native/msm.c, an N-API addon built by
 * tools/build-native.mjs into build/native/msm.node at `npm ci`): BN254 G1 and G2, Pippenger with signed
 * digits and batch-affine bucket additions, on libuv's thread pool and POSIX threads; and the FFTs that give
 * the H multi-exponentiation its scalars (prover/native/quotient.h). Its points and results are in ffjavascript's layout
 * (Montgomery form; affine bases, Jacobian results) and its scalars are 32-byte little-endian standard form,
 * as ffjavascript's `multiExpAffine` takes them, so the prover can use either.
 *
 * The addon is loaded at most once per process. It is absent when no C compiler was found at install, when the
 * build failed, or when `ZKRISK_NATIVE=0` is set (which also stops loading a built one); the prover then keeps
 * ffjavascript's WebAssembly multi-exponentiations.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

/** Bases copied into native memory once (an opaque handle; freed when garbage-collected). */
export type NativeBases = { readonly __nativeBases: unique symbol };

/** The addon's functions. */
export interface NativeMsm {
  /** Copy affine G1 bases (64 bytes each, ffjavascript's Montgomery layout; zero bytes = infinity). */
  prepareG1(bases: Uint8Array): NativeBases;
  /** Copy affine G2 bases (128 bytes each: x.c0, x.c1, y.c0, y.c1). */
  prepareG2(bases: Uint8Array): NativeBases;
  /**
   * sum scalars[i] * bases[i] over the first scalars.length / 32 bases, on `threads` threads: the Jacobian
   * result (96 bytes for G1, 192 for G2, ffjavascript's layout).
   */
  msm(bases: NativeBases, scalars: Uint8Array, threads: number): Promise<Uint8Array>;
  /**
   * The H multi-exponentiation's scalars: A, B, C (`abc`, n Montgomery values each on the domain of the
   * primitive n-th root `w`) moved to the coset `g`<w> (inverse FFT, times g^j, FFT, one thread each) and
   * joined as A B - C, out of Montgomery form (n values, 32 bytes little-endian).
   */
  quotient(abc: Uint8Array, w: Uint8Array, g: Uint8Array): Promise<Uint8Array>;
}

/** The addon, or why it is not there. */
export type NativeMsmStatus =
  { loaded: true; addon: NativeMsm; path: string } | { loaded: false; reason: string };

/** Where the build puts the addon, from this file in the sources (prover/) or in the package (dist/prover/). */
const CANDIDATES = [
  join(__dirname, "..", "build", "native", "msm.node"),
  join(__dirname, "..", "..", "build", "native", "msm.node"),
];

let status: NativeMsmStatus | undefined;

/** Load the addon once (later calls return the first answer). */
export function nativeMsm(): NativeMsmStatus {
  if (status) return status;
  if (process.env.ZKRISK_NATIVE === "0") return (status = { loaded: false, reason: "ZKRISK_NATIVE=0" });
  const path = CANDIDATES.find((p) => existsSync(p));
  if (!path) {
    return (status = {
      loaded: false,
      reason:
        "build/native/msm.node is not built (no C compiler at install? run `node tools/build-native.mjs`)",
    });
  }
  try {
    const addon = createRequire(__filename)(path) as NativeMsm;
    return (status = { loaded: true, addon, path });
  } catch (error) {
    return (status = { loaded: false, reason: `${path} did not load: ${(error as Error).message}` });
  }
}
