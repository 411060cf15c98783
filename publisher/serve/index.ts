/** `zkrisk publisher serve`: the long-running signer, its archive, HTTP API, metrics and config. */
export * from "./config";
export * from "./archive";
export * from "./metrics";
export * from "./signer";
export * from "./http";
export * from "./run";
