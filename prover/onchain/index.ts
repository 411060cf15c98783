/**
 * The on-chain client: deploying and driving the oracle (markets, publisher sets, proven updates), reading its
 * events in chunks, auditing its history, and the contracts' shipped ABIs and bytecode.
 */
export * from "./oracle";
export * from "./chain";
export * from "./get-logs";
export * from "./audit";
export type { AuditPublisherSet, SignedEvidence, SignedUpdateDetail } from "./audit-signed";
export type { SignedBatchDetail } from "./audit-signed-batch";
export * from "./contract-files";
