/**
 * The prover: artifact directories (manifest, keys, verifier), the witness input of a signed update from signed
 * windows, Groth16 proving and verification with snarkjs, proof files, and the verifier's calldata.
 */
export * from "./update-input";
export * from "./prove-signed-update";
export * from "./proof-file";
export * from "./calldata";
export * from "./domain";
