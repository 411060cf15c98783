/** The prover service (`zkrisk serve`) as a library: its configuration and its start. */
export * from "./config";
export * from "./config-schema";
export * from "./redaction";
export * from "./retry";
export * from "./secrets";
export * from "./run";
