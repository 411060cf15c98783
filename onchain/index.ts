/**
 * The on-chain client: deploying and driving the oracle (markets, publisher sets, proven updates), reading its
 * events in chunks, and the contracts' shipped ABIs and bytecode.
 */
export * from "./oracle";
export * from "./chain";
export * from "./get-logs";
export * from "./contract-files";
