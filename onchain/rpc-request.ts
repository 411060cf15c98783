/**
 * How zkrisk talks HTTP to a JSON-RPC node: an ethers `FetchRequest` whose transport fixes two faults of ethers'
 * own in Node (6.17), and can wait out a node's passing failures.
 *
 * - **A reused socket reset by the node.** Node keeps sockets alive between requests, and a node (or the proxy in
 *   front of it) closes idle ones after a few seconds. A request written to a socket the other end is closing at
 *   that moment fails with ECONNRESET before the node ever reads it. Node's documentation names the case
 *   (`request.reusedSocket`) and its remedy: send it again on another connection. This transport does so (up to
 *   three times, once per idle connection the node closed), for every method but the ones that send a
 *   transaction (their errors are for the caller to judge: the transaction may have reached the pool).
 * - **A request that times out stays open.** ethers rejects at its timeout but leaves the request, and with it the
 *   socket, open until the node closes it (its abort signal is given to Node under the wrong option name). Here a
 *   timeout or a cancellation destroys the request, so the socket closes at once. The timeout bounds each try,
 *   from sending to the last byte of the answer.
 * - **Passing failures** (`retryForMs`). A node that has answered once and then fails a read in a way that
 *   passes (HTTP 408, 429, 502, 503 or 504, a timeout, a refused, reset or unreachable connection) is asked again
 *   after a pause: the `Retry-After` it gives (seconds or a date; at most a minute), else 0.5 s doubling to 15 s,
 *   for as long as `retryForMs` allows since the first failure. ethers' own throttle is off: it reads
 *   `Retry-After: 1` as 1 ms and spends its 12 tries in about 80 ms. A node never reached fails at once (a wrong
 *   URL is not waited for), and a transaction is never sent twice.
 */
import http from "node:http";
import https from "node:https";
import { setTimeout as sleep } from "node:timers/promises";
import { gunzipSync } from "node:zlib";
import { FetchRequest, makeError, type FetchCancelSignal, type GetUrlResponse } from "ethers";
import { retryAfterMs } from "../core/retry-after";

/** JSON-RPC methods whose request is never sent again by this transport. */
const SENDING_METHODS: ReadonlySet<string> = new Set(["eth_sendRawTransaction", "eth_sendTransaction"]);

/** A read asked again after a passing failure: which try comes next, after what pause, and why. */
export interface RpcRetry {
  attempt: number;
  delayMs: number;
  reason: string;
}

export interface RpcRequestOptions {
  /** Bound of each try, ms (default ethers' 300 s). */
  timeoutMs?: number;
  /** How long a read is asked again after passing failures, from the first of them, ms (default 0: never). */
  retryForMs?: number;
  /** Told before each pause (e.g. to say on stderr why a command waits). */
  onRetry?: (retry: RpcRetry) => void;
}

/** HTTP statuses of a node, or the gateway in front of it, that pass: a read is asked again. */
const PASSING_STATUSES: ReadonlySet<number> = new Set([408, 429, 502, 503, 504]);

/** Error codes of a connection that failed in a way that may pass. */
const PASSING_CODES: ReadonlySet<string> = new Set([
  "TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ECONNABORTED",
]);

/** The first pause after a passing failure, and the longest pause without a `Retry-After`, ms. */
const FIRST_PAUSE_MS = 500;
const LONGEST_PAUSE_MS = 15_000;
/** The longest `Retry-After` honoured, ms: a longer one is waited for this long. */
const LONGEST_RETRY_AFTER_MS = 60_000;

/**
 * A request for the node at `url` that goes through this module's transport ({@link nodeGetUrl} with the
 * options' retries); see the module's comment.
 */
export function rpcRequest(url: string, options: RpcRequestOptions = {}): FetchRequest {
  const request = new FetchRequest(url);
  if (options.timeoutMs !== undefined) request.timeout = options.timeoutMs;
  // The transport retries (when asked to); ethers' throttle would only spend its tries at once.
  request.retryFunc = async () => false;
  const retryForMs = options.retryForMs ?? 0;
  if (retryForMs <= 0) {
    request.getUrlFunc = nodeGetUrl;
    return request;
  }
  // Shared by every request of the provider: passing failures are waited for once the node has answered.
  const node = { answered: false };
  request.getUrlFunc = (req, signal) => getWithRetries(req, signal, node, retryForMs, options.onRetry);
  return request;
}

/** Why `outcome` (an answer or a failure of one try) may pass, or undefined when it is final. */
function passingReason(outcome: GetUrlResponse | Error): string | undefined {
  if (!(outcome instanceof Error)) {
    return PASSING_STATUSES.has(outcome.statusCode)
      ? `HTTP ${outcome.statusCode}${outcome.statusMessage === "" ? "" : ` ${outcome.statusMessage}`}`
      : undefined;
  }
  const { code, shortMessage } = outcome as { code?: unknown; shortMessage?: unknown };
  if (typeof code !== "string" || !PASSING_CODES.has(code)) return undefined;
  return `${code}: ${typeof shortMessage === "string" ? shortMessage : outcome.message}`;
}

/**
 * `req` through {@link nodeGetUrl}, asked again after a passing failure (see the module's comment) while `node`
 * has answered before, the request is no transaction, and `retryForMs` since the first failure allows the pause.
 */
async function getWithRetries(
  req: FetchRequest,
  signal: FetchCancelSignal | undefined,
  node: { answered: boolean },
  retryForMs: number,
  onRetry: ((retry: RpcRetry) => void) | undefined,
): Promise<GetUrlResponse> {
  const mayRepeat = !sendsTransaction(req.body);
  let firstFailure: number | undefined;
  for (let attempt = 1; ; attempt++) {
    let outcome: GetUrlResponse | Error;
    try {
      outcome = await nodeGetUrl(req, signal);
    } catch (err) {
      outcome = err instanceof Error ? err : new Error(String(err));
    }
    const reason = node.answered && mayRepeat ? passingReason(outcome) : undefined;
    if (!(outcome instanceof Error) && outcome.statusCode < 500 && outcome.statusCode !== 429)
      node.answered = true;
    if (reason === undefined) {
      if (outcome instanceof Error) throw outcome;
      return outcome;
    }
    const now = Date.now();
    firstFailure ??= now;
    const asked =
      outcome instanceof Error
        ? undefined
        : retryAfterMs(outcome.headers["retry-after"], LONGEST_RETRY_AFTER_MS, now);
    const delayMs = asked ?? Math.min(FIRST_PAUSE_MS * 2 ** (attempt - 1), LONGEST_PAUSE_MS);
    if (now + delayMs - firstFailure > retryForMs || signal?.cancelled) {
      if (outcome instanceof Error) throw outcome;
      return outcome;
    }
    onRetry?.({ attempt: attempt + 1, delayMs, reason });
    await sleep(delayMs);
  }
}

/** Whether the JSON-RPC body (one call or a batch) sends a transaction. */
function sendsTransaction(body: Uint8Array | null): boolean {
  if (body === null) return false;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(body).toString("utf8"));
    const calls = Array.isArray(parsed) ? parsed : [parsed];
    return calls.some((c) => SENDING_METHODS.has((c as { method?: unknown })?.method as string));
  } catch {
    // Not JSON: nothing zkrisk sends, and nothing to judge safe to send again.
    return true;
  }
}

/**
 * How many times a request reset on a kept-alive connection is sent again: each time on another connection (the
 * reset one is closed), so more than once only when several idle connections were all closed by the node.
 */
const MAX_REPEATS = 3;

/** An ethers transport (`FetchRequest.getUrlFunc`) for Node: see the module's comment. */
export async function nodeGetUrl(req: FetchRequest, signal?: FetchCancelSignal): Promise<GetUrlResponse> {
  const mayRepeat = !sendsTransaction(req.body);
  const deadline = Date.now() + req.timeout;
  for (let repeats = 0; ; repeats++) {
    try {
      return await once(req, signal, deadline);
    } catch (err) {
      if (!(err instanceof ResetBeforeAnswer)) throw err;
      if (!mayRepeat || repeats === MAX_REPEATS) throw err.cause;
    }
  }
}

/** A reused socket reset before any answer came: the one failure {@link nodeGetUrl} sends again. */
class ResetBeforeAnswer extends Error {
  constructor(override readonly cause: Error) {
    super(cause.message);
  }
}

/**
 * One try of `req`: its answer, or its failure (a reset of a reused connection before any answer as
 * {@link ResetBeforeAnswer}); the request is destroyed on every failure, at `deadline` (ms) and at cancellation.
 */
function once(
  req: FetchRequest,
  signal: FetchCancelSignal | undefined,
  deadline: number,
): Promise<GetUrlResponse> {
  const protocol = req.url.split(":")[0].toLowerCase();
  if (protocol !== "http" && protocol !== "https") {
    return Promise.reject(
      makeError(`unsupported protocol ${protocol}`, "UNSUPPORTED_OPERATION", { operation: "request" }),
    );
  }
  if (protocol === "http" && req.credentials !== null && !req.allowInsecureAuthentication) {
    return Promise.reject(
      makeError("insecure authorized connections unsupported", "UNSUPPORTED_OPERATION", {
        operation: "request",
      }),
    );
  }
  if (signal?.cancelled) return Promise.reject(makeError("request cancelled before sending", "CANCELLED"));
  return new Promise<GetUrlResponse>((resolve, reject) => {
    const request = (protocol === "http" ? http : https).request(req.url, {
      method: req.method,
      headers: { ...req.headers },
    });
    let settled = false;
    let answered = false;
    const timer = setTimeout(
      () => settle(makeError("request timeout", "TIMEOUT")),
      Math.max(0, deadline - Date.now()),
    );
    const settle = (fail?: Error, response?: GetUrlResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (fail !== undefined) {
        // Destroying closes the socket: nothing is left open for the node to close some day.
        request.destroy();
        reject(fail);
      } else {
        resolve(response!);
      }
    };
    signal?.addListener(() => settle(makeError("request cancelled", "CANCELLED")));
    request.on("error", (err: NodeJS.ErrnoException) => {
      const reset = err.code === "ECONNRESET" && request.reusedSocket && !answered;
      settle(reset ? new ResetBeforeAnswer(err) : err);
    });
    request.once("response", (resp: http.IncomingMessage) => {
      answered = true;
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(resp.headers)) {
        headers[name] = Array.isArray(value) ? value.join(", ") : (value ?? "");
      }
      const chunks: Buffer[] = [];
      resp.on("data", (chunk: Buffer) => chunks.push(chunk));
      resp.on("error", (err) => settle(err));
      resp.on("end", () => {
        let body: Uint8Array | null = chunks.length === 0 ? null : Buffer.concat(chunks);
        try {
          if (headers["content-encoding"] === "gzip" && body !== null) body = gunzipSync(body);
        } catch (error) {
          settle(makeError("bad response data", "SERVER_ERROR", { request: req, info: { error } }));
          return;
        }
        settle(undefined, {
          statusCode: resp.statusCode ?? 0,
          statusMessage: resp.statusMessage ?? "",
          headers,
          body: body === null ? null : new Uint8Array(body),
        });
      });
    });
    if (req.body !== null) request.write(Buffer.from(req.body));
    request.end();
  });
}
