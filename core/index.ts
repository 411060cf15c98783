/**
 * Shared core: small helpers every folder on the data path may import (it imports from none of them): time as
 * text, URL and field redaction, capped reads of HTTP answers, durable atomic file writes, where the package's own
 * files are, and, imported directly so that the root entry loads neither fastify nor TypeBox, the fastify setup of
 * the HTTP APIs (json-api.ts) and schema-checked JSON documents (json-schema.ts); the error family, JSON files and
 * strict JSON readers.
 */
export * from "./atomic-file";
export * from "./time";
export * from "./url";
export * from "./http-body";
export * from "./redact";
export * from "./package-root";
export * from "./errors";
export * from "./io";
export * from "./json-text";
export * from "./validate";
export * from "./pid";
