/**
 * Shared core: small helpers every folder on the data path may import (it imports from none of them): time as
 * text, URL redaction, durable atomic file writes and where the package's own files are. The error types and
 * JSON/IO helpers of models/ may move here later.
 */
export * from "./atomic-file";
export * from "./time";
export * from "./url";
export * from "./package-root";
