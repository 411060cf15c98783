/** Data publishers: EdDSA-Poseidon keys and signatures, publisher sets, keystores, signed windows and batches. */
export * from "./errors";
export * from "./file-kind";
export * from "./babyjubjub";
export * from "./eddsa";
export * from "./publisher-set";
export * from "./keystore";
export * from "./signed-window";
export * from "./publisher-set-file";
export * from "./window-sources";
export * from "./document-checks";
export * from "./check-threads";
export * from "./signed-batch";
