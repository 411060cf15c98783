/**
 * The prover: artifact directories (manifest, keys, verifier), the witness input of a signed update from signed
 * windows, Groth16 proving and verification with snarkjs, proof files, and the verifier's calldata.
 */
export * from "./update-input";
export * from "./prove-signed-update";
export * from "./prove-signed-batch";
export { ProofError } from "./checked-proof";
export { ArtifactsError } from "./proving-files";
export { Groth16ProverError, type Groth16ProverOptions } from "./groth16-prover";
export { ProofFileError, groth16ProofOf, verifierCalldataOf, snarkjsProofFiles } from "./proof-file";
export * from "./signed-proof-file";
export * from "./signed-batch-proof-file";
export * from "./calldata";
export * from "./domain";
