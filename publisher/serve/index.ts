/**
 * `zkrisk publisher serve`: the long-running signer of windows and batches, its archive, HTTP API, metrics and
 * config.
 */
export * from "./config";
export * from "./archive";
export * from "./metrics";
export * from "./signer";
export * from "./batch-signer";
export * from "./http";
export * from "./run";
