/**
 * How zkrisk talks HTTP to a JSON-RPC node: an ethers `FetchRequest` whose transport fixes two faults of ethers'
 * own in Node (6.17).
 *
 * - **A reused socket reset by the node.** Node keeps sockets alive between requests, and a node (or the proxy in
 *   front of it) closes idle ones after a few seconds. A request written to a socket the other end is closing at
 *   that moment fails with ECONNRESET before the node ever reads it. Node's documentation names the case
 *   (`request.reusedSocket`) and its remedy: send it again on another connection. This transport does so (up to
 *   three times, once per idle connection the node closed), for every method but the ones that send a
 *   transaction (their errors are for the caller to judge: the transaction may have reached the pool).
 * - **A request that times out stays open.** ethers rejects at its timeout but leaves the request, and with it the
 *   socket, open until the node closes it (its abort signal is given to Node under the wrong option name). Here a
 *   timeout or a cancellation destroys the request, so the socket closes at once. The timeout bounds the whole
 *   request, from sending to the last byte of the answer.
 */
import http from "node:http";
import https from "node:https";
import { gunzipSync } from "node:zlib";
import { FetchRequest, makeError, type FetchCancelSignal, type GetUrlResponse } from "ethers";

/** JSON-RPC methods whose request is never sent again by this transport. */
const SENDING_METHODS: ReadonlySet<string> = new Set(["eth_sendRawTransaction", "eth_sendTransaction"]);

/**
 * A request for the node at `url` that goes through {@link nodeGetUrl}; `timeoutMs` (when given) replaces ethers'
 * default of 300 s.
 */
export function rpcRequest(url: string, { timeoutMs }: { timeoutMs?: number } = {}): FetchRequest {
  const request = new FetchRequest(url);
  if (timeoutMs !== undefined) request.timeout = timeoutMs;
  request.getUrlFunc = nodeGetUrl;
  return request;
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
