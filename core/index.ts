/**
 * Shared core: small helpers every folder on the data path may import (it imports from none of them): time as
 * text, URL redaction, durable atomic file writes, where the package's own files are, and the fastify setup of
 * the HTTP APIs (json-api.ts, imported directly: the root entry does not load fastify). The error types and
 * JSON/IO helpers of models/ may move here later.
 */
export * from "./atomic-file";
export * from "./time";
export * from "./url";
export * from "./package-root";
