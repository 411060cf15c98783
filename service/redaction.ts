/**
 * The service config as it may be shown (the start-up log, `zkrisk serve --check`): everything but the fields
 * on `SECRET_FIELDS`, which are masked. The config file holds no private key, password or token (it names the
 * environment variables and files that do, and those names are shown); what it may hold are URLs with
 * credentials or API keys in them, and token hashes.
 */
import { redactFields, type DenyList } from "../core/redact";
import type { ServiceConfig } from "./config";

/**
 * The secret fields of a `ServiceConfig` and how each is shown. A new field that may hold a credential
 * belongs here; test/service/config-schema.test.ts fails for a URL field of the schema that is missing.
 */
export const SECRET_FIELDS: DenyList = {
  "chain.rpc": "url",
  "markets[].publishers.urls[]": "url",
  "batches[].publishers.urls[]": "url",
  "auth.tokens[].sha256": "hash",
};

/**
 * The config as a JSON-safe object for logs and `--json`: bigints as decimal strings, credentials and query
 * values in URLs masked, token hashes shortened; every other field as it is.
 */
export function redactedConfig(cfg: ServiceConfig): Record<string, unknown> {
  return redactFields(cfg, SECRET_FIELDS) as Record<string, unknown>;
}
