/** The prover service (`zkrisk serve`) as a library: its configuration and its start. */
export * from "./config";
export * from "./run";
