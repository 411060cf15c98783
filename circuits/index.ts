/**
 * The circuit stage: field and Poseidon arithmetic as the circuits compute it, commitments, the public signals
 * and the statement a signed update proves, and the compilation of a model into its circuits (circom2).
 */
export * from "./field";
export * from "./poseidon";
export * from "./poseidon-sponge";
export * from "./commitments";
export * from "./public-signals";
export * from "./statement";
export * from "./compile-model";
