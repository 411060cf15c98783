/**
 * Shared core: small helpers every folder on the data path may import (it imports from none of them): time as
 * text, URL redaction, durable atomic file writes and the fastify setup of the HTTP APIs. The error types and JSON/IO helpers of models/ may move here
 * later.
 */
export * from "./atomic-file";
export * from "./json-api";
export * from "./time";
export * from "./url";
