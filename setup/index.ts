/**
 * The Groth16 trusted setup: phase 1 (ptau), phase 2 (zkey ceremony), the direct development setup (ptau and zkey
 * computed from known secrets), exports and command entry points.
 */
export { SetupError } from "../core/errors";
export * from "./log";
export * from "./snarkjs";
export * from "./ptau";
export * from "./ceremony";
export * from "./phase2";
export * from "./run";
export * from "./direct-ptau";
export * from "./direct-zkey";
export * from "./fixed-base";
export * from "./artifacts";
