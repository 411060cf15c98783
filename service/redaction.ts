/**
 * The service config as it may be shown (the start-up log, `zkrisk serve --check`): everything but the fields
 * on `SECRET_FIELDS`, which are masked. The config file holds no private key, password or token (it names the
 * environment variables and files that do, and those names are shown); what it may hold are URLs with
 * credentials or API keys in them, and token hashes. Messages that may quote such a URL (ethers' and fetch's
 * errors) are shown by `redactedText`, and the chain's errors are redacted where they arise (`redactError`).
 */
import { redactFields, type DenyList } from "../core/redact";
import { redactUrl, redactUrlsIn } from "../core/url";
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

/**
 * Details ethers v6 appends to a message (`(request={ }, response={ }, error=null, info={ "requestUrl": ... },
 * code=SERVER_ERROR, version=6.17.0)`) that hold the request, its URL or the HTTP answer; the others (`error=`,
 * `payload=`: the node's own words) stay.
 */
const ETHERS_REQUEST_DETAILS = /(\(|, )(?:request|response|info)=/;

/**
 * `text` (an error message, a log field, a job reason) safe to show: ethers' request details cut
 * (`ETHERS_REQUEST_DETAILS`) and every URL left in it redacted (`redactUrlsIn`: credentials, query values, keys in
 * the path).
 */
export function redactedText(text: string): string {
  let out = text;
  for (let m = ETHERS_REQUEST_DETAILS.exec(out); m !== null; m = ETHERS_REQUEST_DETAILS.exec(out)) {
    const start = m.index + m[1].length;
    let end = valueEnd(out, m.index + m[0].length);
    // `(key=value, next` loses `key=value, `; `, key=value` loses itself.
    if (m[1] === "(" && out.startsWith(", ", end)) end += 2;
    out = out.slice(0, m[1] === "(" ? start : m.index) + out.slice(end);
  }
  return redactUrlsIn(out);
}

/** The message of `err` (any thrown value) as `redactedText` shows it. */
export function redactedErrorMessage(err: unknown): string {
  return redactedText(err instanceof Error ? err.message : String(err));
}

/**
 * `err` made safe to pass on, in place (its class, `code` and the node's words stay for the callers that classify
 * it): its message and stack as `redactedText` shows them, and ethers' `info.requestUrl` redacted.
 * @returns `err`
 */
export function redactError<T>(err: T): T {
  if (!(err instanceof Error)) return err;
  err.message = redactedText(err.message);
  if (err.stack !== undefined) err.stack = redactedText(err.stack);
  const info = (err as { info?: { requestUrl?: unknown } }).info;
  if (typeof info?.requestUrl === "string") info.requestUrl = redactUrl(info.requestUrl);
  return err;
}

/**
 * Where the value of an ethers detail starting at `from` ends: a JSON-like object, array or string (brackets and
 * quotes balanced, escapes followed), or a bare word up to the next `,` or `)`.
 */
function valueEnd(text: string, from: number): number {
  let depth = 0;
  let quoted = false;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === "\\") i++;
      else if (c === '"') {
        quoted = false;
        if (depth === 0) return i + 1;
      }
    } else if (c === '"') quoted = true;
    else if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") {
      depth--;
      if (depth <= 0) return i + 1;
    } else if (depth === 0 && (c === "," || c === ")")) return i;
  }
  return text.length;
}
