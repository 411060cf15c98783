/**
 * The circuit stage: commitments, the public signals and the statement a signed update proves, the compilation
 * of a model into its circuits (circom2), and the headers of the iden3 binary files (r1cs, ptau).
 */
export * from "./commitments";
export * from "./public-signals";
export * from "./statement";
export * from "./compile-model";
export { CircomError } from "./circom";
export type { WeightMode } from "./generate-circuit";
export * from "./binfile";
