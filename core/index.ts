/**
 * Shared core: small helpers every folder on the data path may import (it imports from none of them).
 * Today time formatting and durable file writes; the error types and JSON/IO helpers of models/ may move here later.
 */
export * from "./time";
export * from "./url";
