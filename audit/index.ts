/**
 * Anyone's audit of the oracle's history: every accepted update's event and call read back, its proof verified
 * again (snarkjs's check, prover/groth16-verifier.ts), its publishers' signatures checked, its features recomputed
 * from the signed candles and its model re-run with the integer engine.
 */
export * from "./audit";
export type { AuditPublisherSet, SignedEvidence, SignedUpdateDetail } from "./audit-signed";
export type { SignedBatchDetail } from "./audit-signed-batch";
