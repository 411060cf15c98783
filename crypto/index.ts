/**
 * The BN254 scalar field every circuit signal lives in, circomlib's Poseidon hash over it, and the project's
 * length-prefixed Poseidon sponge: the arithmetic the candles' digests, the publisher sets, the statement and
 * the model commitment are all built from.
 */
export * from "./field";
export * from "./poseidon";
export * from "./poseidon-sponge";
