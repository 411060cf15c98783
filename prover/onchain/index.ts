/**
 * The on-chain client: deploying and driving the oracle (markets, publisher sets, proven updates), reading its
 * events in chunks, auditing its history, and the contracts' shipped ABIs and bytecode.
 */
export * from "./oracle";
export * from "./chain";
export * from "./get-logs";
export * from "./audit";
export * from "./contract-files";
