/**
 * Shared core: a document made safe to show (logs, `--check`, `--json`), by a deny-list of secret fields. Every
 * field not on the list is shown as it is, so a new setting appears without a change here; bigints become
 * decimal strings, so the result is JSON-safe.
 */
import { redactUrl } from "./url";

/**
 * How a secret field is shown: `url` with its user, password and query values masked (`redactUrl`), `hash`
 * shortened to its first 8 characters, `hidden` replaced by `***`.
 */
export type Redaction = "url" | "hash" | "hidden";

/**
 * Secret fields by path from the document's root: keys joined by `.`, `[]` for every element of an array
 * (`markets[].publishers.urls[]`).
 */
export type DenyList = Readonly<Record<string, Redaction>>;

const SHOW: Record<Redaction, (value: unknown) => string> = {
  url: (value) => redactUrl(String(value)),
  hash: (value) => `${String(value).slice(0, 8)}...`,
  hidden: () => "***",
};

/** `value` as JSON-safe data with every field on `secrets` redacted. */
export function redactFields(value: unknown, secrets: DenyList, path = ""): unknown {
  const rule = secrets[path];
  if (rule !== undefined) return SHOW[rule](value);
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) return value.map((item) => redactFields(item, secrets, `${path}[]`));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [
        key,
        redactFields(item, secrets, path === "" ? key : `${path}.${key}`),
      ]),
    );
  }
  return value;
}
