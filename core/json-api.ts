/**
 * Shared core: the fastify setup of the project's two HTTP APIs, the prover service's (service/api.ts)
 * and the publisher's (publisher/serve/http.ts). One owner for what they do alike: requests logged at debug
 * level only (a busy API would drown the logs), schemas validated without coercion, one error shape,
 * `{ "error": CODE, "message": "..." }`, for unknown routes, validation failures, malformed URLs, requests
 * and bodies and other 4xx (quoting at most a short preview of what the client sent), and 500s (a code and
 * "internal error" only, the error itself logged in full: `replyWithError`), how connections are
 * treated (`HttpLimits`: a cap on open connections, timeouts for slow clients, and a close that waits for the
 * requests being answered but not for idle or slow clients), and listening (`listenJsonApi`: a bad
 * `listen.host` or a port in use is a ConfigError naming it). Each API maps its own domain errors first, then
 * hands the rest to `replyWithError`.
 */
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifySchema,
} from "fastify";
import { readFileSync } from "node:fs";
import { STATUS_CODES, type ServerResponse } from "node:http";
import { createServer, type Socket } from "node:net";
import type { Logger } from "pino";
import { ConfigError } from "./errors";
import { packagePath } from "./package-root";

/**
 * How an API's HTTP server treats connections. The defaults (`HTTP_LIMITS`) keep a flood of slow or idle
 * clients from using up the process's open files or holding up its shutdown; tests pass smaller ones.
 */
export interface HttpLimits {
  /** Connections open at once; one more is closed as soon as it is accepted. */
  maxConnections: number;
  /** Time a client has to send a request's headers, ms (then answered 408 `REQUEST_TIMEOUT` and closed). */
  headersTimeoutMs: number;
  /** Time a client has to send a whole request, ms (then answered 408 `REQUEST_TIMEOUT` and closed). */
  requestTimeoutMs: number;
  /** Time an idle keep-alive connection stays open, ms. */
  keepAliveTimeoutMs: number;
  /** How often the two request timeouts are checked, ms (Node.js checks every 30 s by default). */
  timeoutCheckMs: number;
  /**
   * On close, how long the requests being answered may take before every connection is closed, ms. Idle
   * connections, and those still sending a request, are closed at once.
   */
  closeDrainMs: number;
}

/**
 * The limits of both APIs: at most 1,000 open connections (well below the open files a Node.js process may
 * have: Node.js raises its soft limit to the hard one, commonly 65,536 or more; so a flood of connections
 * cannot stop the publisher reading its sources or writing its archive), 10 s to send the headers, 30 s to
 * send a request, 72 s of keep-alive (fastify's default: well beyond what HTTP clients keep an idle connection,
 * so a client never reuses one the server is closing; Node.js's 5 s raced undici's 4 s, reset mid-request), and on
 * close 5 s for the requests being answered. Not configurable: a constant, as each server's config has no place
 * for it yet.
 */
export const HTTP_LIMITS: Readonly<HttpLimits> = {
  maxConnections: 1_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 72_000,
  timeoutCheckMs: 1_000,
  closeDrainMs: 5_000,
};

/** Options of `createJsonApi`. */
export interface JsonApiOptions {
  log: Logger;
  /** Largest accepted request body, bytes (fastify's default when absent). */
  bodyLimit?: number;
  /** Limits other than `HTTP_LIMITS` (tests pass small ones; `setHttpLimits` may change them later). */
  limits?: Partial<HttpLimits>;
}

/** Longest path parameter the router takes, characters (a longer one is answered 400 `BAD_REQUEST`). */
const MAX_PARAM_LENGTH = 100;

/** The message of every 500: what went wrong is in the server's log, not in the answer (`replyWithError`). */
export const INTERNAL_ERROR_MESSAGE = "internal error";

/** Longest part of client input an error message quotes, characters. */
const PREVIEW_LENGTH = 64;

/**
 * `text` quoted (JSON) for an error message, cut to its first `max` characters (saying how long it was), so
 * that an answer never echoes more than a bounded part of what a client sent.
 */
export function preview(text: string, max = PREVIEW_LENGTH): string {
  if (text.length <= max) return JSON.stringify(text);
  return `${JSON.stringify(text.slice(0, max))}... (${text.length} characters)`;
}

/** A URL path for an error message, unquoted (as sent), cut as `preview` cuts. */
function cutPath(path: string): string {
  return path.length <= PREVIEW_LENGTH
    ? path
    : `${path.slice(0, PREVIEW_LENGTH)}... (${path.length} characters)`;
}

/** A request refused before a route sees it (a body that is not JSON): its status, code and message. */
class RequestRefusal extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Where in `value` a key could set an object's prototype once copied into another object (`__proto__`, or
 * `constructor` holding `prototype`), as `[path of its object, key]`; walked without recursion, so a deeply
 * nested body cannot overflow the stack.
 */
function forbiddenKey(value: unknown): [string, string] | undefined {
  const stack: [unknown, string][] = [[value, ""]];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [node, path] = next;
    if (typeof node !== "object" || node === null) continue;
    for (const [key, child] of Object.entries(node)) {
      if (key === "__proto__") return [path, key];
      if (
        key === "constructor" &&
        typeof child === "object" &&
        child !== null &&
        Object.hasOwn(child, "prototype")
      )
        return [`${path}/constructor`, "prototype"];
      stack.push([child, `${path}/${key}`]);
    }
  }
  return undefined;
}

/**
 * The JSON body parser: 400 `BAD_REQUEST` for an empty body, a body that is not JSON (saying where it stops
 * being JSON, never quoting it), and a key `__proto__` or `constructor.prototype` at any depth.
 */
function parseJsonBody(
  _req: FastifyRequest,
  body: string,
  done: (err: Error | null, value?: unknown) => void,
): void {
  const refuse = (message: string) => done(new RequestRefusal(400, "BAD_REQUEST", message));
  if (body.length === 0) return refuse("body: empty, but the Content-Type is application/json");
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (err) {
    const at = /position (\d+)/.exec((err as Error).message)?.[1];
    return refuse(`body: not valid JSON${at === undefined ? "" : ` (at character ${at})`}`);
  }
  const forbidden = forbiddenKey(value);
  if (forbidden !== undefined) {
    const [path, key] = forbidden;
    const where = path === "" ? "" : path.length > PREVIEW_LENGTH ? ` at ${preview(path)}` : path;
    return refuse(`body${where}: key "${key}" is not accepted (it could set an object's prototype)`);
  }
  done(null, value);
}

/** The answer to a refusal fastify raised itself (`FST_ERR_*`): a stable code, a bounded message. */
function frameworkRefusal(
  err: FastifyError,
  req: FastifyRequest,
): { status: number; error: string; message: string } {
  const path = preview((req.raw.url ?? "").split("?")[0]);
  switch (err.code) {
    case "FST_ERR_BAD_URL":
      return {
        status: 400,
        error: "BAD_REQUEST",
        message: `path ${path} is not a valid URL (bad %-encoding)`,
      };
    case "FST_ERR_MAX_PARAM_LENGTH":
      return {
        status: 400,
        error: "BAD_REQUEST",
        message: `path ${path}: a path parameter is longer than ${MAX_PARAM_LENGTH} characters`,
      };
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return {
        status: 413,
        error: "BODY_TOO_LARGE",
        message: `request body exceeds the limit of ${req.routeOptions.bodyLimit} bytes`,
      };
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return {
        status: 415,
        error: "UNSUPPORTED_MEDIA_TYPE",
        message: `Content-Type ${preview(req.headers["content-type"] ?? "")} is not accepted: send application/json`,
      };
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return { status: 400, error: "BAD_REQUEST", message: "body: its length is not the Content-Length" };
  }
  const status = err.statusCode !== undefined && err.statusCode < 500 ? err.statusCode : 500;
  if (status === 500) return { status, error: "INTERNAL", message: INTERNAL_ERROR_MESSAGE };
  // The name of the status as a code (405 METHOD_NOT_ALLOWED); fastify's message is cut, not echoed whole.
  const error = (STATUS_CODES[status] ?? "Bad Request").toUpperCase().replace(/[^A-Z0-9]+/g, "_");
  return {
    status,
    error,
    message: err.message.length > 200 ? `${err.message.slice(0, 200)}...` : err.message,
  };
}

/**
 * The answer to a request Node.js could not read: 408 `REQUEST_TIMEOUT` (headers or body not received within
 * the limits), 431 `HEADERS_TOO_LARGE`, else 400 `BAD_REQUEST`; then the connection is closed. Nothing is
 * written once a response was begun on the connection.
 */
function answerClientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  const [status, error, message] =
    err.code === "ERR_HTTP_REQUEST_TIMEOUT"
      ? [408, "REQUEST_TIMEOUT", "the request was not received in time"]
      : err.code === "HPE_HEADER_OVERFLOW"
        ? [431, "HEADERS_TOO_LARGE", "the request headers are too large"]
        : [400, "BAD_REQUEST", "not a valid HTTP request"];
  if (socket.writable && socket.bytesWritten === 0) {
    const body = JSON.stringify({ error, message });
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/** What `createJsonApi` keeps per API: its log, its limits and the responses under way. */
interface ConnectionState {
  /** The server's logger (at its own level, not the request log's): where a 500's error is logged in full. */
  log: Logger;
  limits: HttpLimits;
  answering: Set<ServerResponse>;
  /** Called when the last response under way ends. */
  onAnswered?: () => void;
}

const CONNECTIONS = new WeakMap<FastifyInstance, ConnectionState>();

/** Connections refused at the cap are logged at most once a minute (with how many), not one line each. */
const DROP_LOG_INTERVAL_MS = 60_000;

/**
 * A fastify instance (not yet listening) with the request log at debug level (warn when debug is off,
 * silent when warn is), schema validation without coercion or removal, a 404 `NOT_FOUND` naming the
 * route for unknown routes, the project's error shape for what fastify and Node.js refuse themselves, and
 * `HTTP_LIMITS` (or `o.limits`). Closing it (`app.close()`) stops accepting connections, closes the idle ones
 * and those still sending a request at once, waits at most `closeDrainMs` for the requests being answered,
 * then closes every connection left.
 */
export function createJsonApi(o: JsonApiOptions): FastifyInstance {
  const level = o.log.isLevelEnabled("debug") ? "debug" : o.log.isLevelEnabled("warn") ? "warn" : "silent";
  const app: FastifyInstance = Fastify({
    loggerInstance: o.log.child({ component: "http" }, { level }) as FastifyBaseLogger,
    ...(o.bodyLimit === undefined ? {} : { bodyLimit: o.bodyLimit }),
    ajv: { customOptions: { allErrors: false, coerceTypes: false, removeAdditional: false } },
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Every connection is closed once the requests being answered are (see the preClose hook below).
    forceCloseConnections: true,
    // A URL that does not decode, a path parameter longer than the router takes.
    frameworkErrors: (err, req, reply) => {
      const { status, error, message } = frameworkRefusal(err, req as FastifyRequest);
      void (reply as FastifyReply).status(status).send({ error, message });
    },
    clientErrorHandler: answerClientError,
  });
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, parseJsonBody);

  const state: ConnectionState = {
    log: o.log.child({ component: "http" }),
    limits: { ...HTTP_LIMITS },
    answering: new Set(),
  };
  CONNECTIONS.set(app, state);
  setHttpLimits(app, o.limits ?? {});
  app.server.on("request", (_req, res: ServerResponse) => {
    state.answering.add(res);
    res.once("close", () => {
      state.answering.delete(res);
      if (state.answering.size === 0) state.onAnswered?.();
    });
  });
  let dropped = 0;
  let droppedLoggedAt = -Infinity;
  app.server.on("drop", () => {
    dropped++;
    if (Date.now() - droppedLoggedAt < DROP_LOG_INTERVAL_MS) return;
    droppedLoggedAt = Date.now();
    o.log.warn(
      { dropped, maxConnections: state.limits.maxConnections },
      "connections refused: as many are open as the API takes",
    );
    dropped = 0;
  });
  // fastify then closes every connection (forceCloseConnections) and stops listening.
  app.addHook("preClose", async () => {
    if (state.answering.size === 0) return;
    await new Promise<void>((done) => {
      const timer = setTimeout(done, state.limits.closeDrainMs);
      state.onAnswered = () => {
        clearTimeout(timer);
        done();
      };
    });
  });

  const routes: ApiRoute[] = [];
  ROUTES.set(app, routes);
  app.addHook("onRoute", (r) => {
    // fastify adds a HEAD route beside every GET; the document describes the GET.
    for (const method of [r.method].flat()) {
      if (method !== "HEAD") routes.push({ method, url: r.url, schema: r.schema });
    }
  });
  app.setNotFoundHandler((req, reply) =>
    reply
      .status(404)
      .send({ error: "NOT_FOUND", message: `no route ${req.method} ${cutPath(req.url.split("?")[0])}` }),
  );
  return app;
}

/**
 * Sets `limits` (the others stay as they are) on an API made by `createJsonApi`, before it listens (the
 * timeouts' check interval is read when it starts listening).
 */
export function setHttpLimits(app: FastifyInstance, limits: Partial<HttpLimits>): void {
  const state = CONNECTIONS.get(app);
  if (state === undefined) throw new Error("setHttpLimits: not an API made by createJsonApi");
  Object.assign(state.limits, limits);
  const l = state.limits;
  const server = app.server;
  server.maxConnections = l.maxConnections;
  server.headersTimeout = l.headersTimeoutMs;
  server.requestTimeout = l.requestTimeoutMs;
  server.keepAliveTimeout = l.keepAliveTimeoutMs;
  (server as { connectionsCheckingInterval?: number }).connectionsCheckingInterval = l.timeoutCheckMs;
}

/** Where an API listens, and the config file that says so (named by the errors). */
export interface ListenConfig {
  file: string;
  listen: { host: string; port: number };
}

/**
 * The ConfigError naming the config's `listen.host` or `listen.port` for a failure to listen there, or
 * undefined when `err` is not one (it is then thrown as it is).
 */
function listenError(err: unknown, cfg: ListenConfig): ConfigError | undefined {
  const { host, port } = cfg.listen;
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EAI_FAIL":
    case "EAI_NONAME":
      return new ConfigError(
        `${cfg.file}: listen.host: ${JSON.stringify(host)} does not resolve to an address (${code})`,
      );
    case "EADDRNOTAVAIL":
    case "EAFNOSUPPORT":
      return new ConfigError(
        `${cfg.file}: listen.host: ${JSON.stringify(host)} is not an address of this machine (${code})`,
      );
    case "EADDRINUSE":
      return new ConfigError(
        `${cfg.file}: listen.port: ${port} is in use on ${host} (EADDRINUSE): stop what listens there or choose ` +
          `another port`,
      );
    case "EACCES":
      return new ConfigError(
        `${cfg.file}: listen.port: ${port} on ${host} needs privileges this process lacks (EACCES)`,
      );
    default:
      return undefined;
  }
}

/**
 * Checks that the API could listen on the config's `listen.host` (and `listen.port` when `port` is set), by
 * listening there with a throwaway server closed again at once: a start calls it before doing anything that
 * would have to be undone, `--check` calls it without the port (a running instance may hold it).
 * @throws ConfigError naming `listen.host` or `listen.port` and the value.
 */
export async function checkListenAddress(cfg: ListenConfig, o: { port: boolean }): Promise<void> {
  const probe = createServer();
  try {
    await new Promise<void>((done, fail) => {
      probe.once("error", fail);
      probe.listen({ host: cfg.listen.host, port: o.port ? cfg.listen.port : 0 }, done);
    });
  } catch (err) {
    throw listenError(err, cfg) ?? err;
  } finally {
    await new Promise<void>((done) => (probe.listening ? probe.close(() => done()) : done()));
  }
}

/**
 * Has an API made by `createJsonApi` listen on the config's `listen.host` and `listen.port`.
 * @returns its base URL, `http://host:port`.
 * @throws ConfigError naming `listen.host` (not an address of this machine, or no such host) or
 *   `listen.port` (in use, or privileged), with the value.
 */
export async function listenJsonApi(app: FastifyInstance, cfg: ListenConfig): Promise<string> {
  const { host, port } = cfg.listen;
  try {
    await app.listen({ host, port });
  } catch (err) {
    throw listenError(err, cfg) ?? err;
  }
  const address = app.server.address();
  const shown = host.includes(":") ? `[${host}]` : host;
  return typeof address === "object" && address ? `http://${shown}:${address.port}` : String(address);
}

/**
 * The answer to an error an API did not map itself: a failed schema validation is 400 `BAD_REQUEST` naming
 * where (`body/timestamp must be integer`, `body: unknown key "bogus"`; `validationMessage` may say it
 * otherwise), a refusal of fastify's own (`FST_ERR_*`: a body that is not JSON, too large, of another media
 * type) gets a stable code and a bounded message, another 4xx keeps its status, code and message, anything else
 * is answered 500 with the error's own code (a domain error's stable code, a system error's such as `EACCES`) or
 * `INTERNAL`, and the message `INTERNAL_ERROR_MESSAGE` only: the error's own message may name paths on this
 * machine (an archived file, the job database) and reasons from inside, which are the operator's to read, not
 * every client's. The error is logged in full (message, code, stack) through the server's logger (at error
 * level, whatever the request log's level), with the request's method and path.
 */
export function replyWithError(
  err: FastifyError,
  req: FastifyRequest,
  reply: FastifyReply,
  validationMessage?: (err: FastifyError) => string | undefined,
): FastifyReply {
  if (err.validation) {
    const where = err.validationContext ?? "request";
    const extra = err.validation[0]?.params?.additionalProperty;
    const message =
      validationMessage?.(err) ??
      (typeof extra === "string"
        ? `${where}${err.validation[0].instancePath}: unknown key ${preview(extra)}`
        : `${where}${err.message.replace(/^[a-z]+/, "")}`);
    return reply.status(400).send({ error: "BAD_REQUEST", message });
  }
  if (err instanceof RequestRefusal)
    return reply.status(err.statusCode).send({ error: err.code, message: err.message });
  if (typeof err.code === "string" && err.code.startsWith("FST_") && (err.statusCode ?? 500) < 500) {
    const { status, error, message } = frameworkRefusal(err, req);
    return reply.status(status).send({ error, message });
  }
  if (err.statusCode && err.statusCode < 500) {
    return reply.status(err.statusCode).send({ error: err.code ?? "BAD_REQUEST", message: err.message });
  }
  const code = typeof err.code === "string" && /^[A-Z][A-Z0-9_]*$/.test(err.code) ? err.code : "INTERNAL";
  const log = CONNECTIONS.get(req.server)?.log ?? req.log;
  log.error(
    { err, status: 500, error: code, method: req.method, url: cutPath(req.raw.url ?? "") },
    "request failed",
  );
  return reply.status(500).send({ error: code, message: INTERNAL_ERROR_MESSAGE });
}

/** A route as registered on an API: what its OpenAPI document describes. */
export interface ApiRoute {
  method: string;
  url: string;
  schema?: FastifySchema;
}

/** The routes of each API made by `createJsonApi`, in registration order. */
const ROUTES = new WeakMap<FastifyInstance, ApiRoute[]>();

/** The routes registered on `app` so far (`createJsonApi` instances only). */
export function apiRoutes(app: FastifyInstance): readonly ApiRoute[] {
  const routes = ROUTES.get(app);
  if (routes === undefined) throw new Error("apiRoutes: not an API made by createJsonApi");
  return routes;
}

/** The error body every route may answer with. */
const ERROR_SCHEMA = {
  type: "object",
  required: ["error", "message"],
  properties: {
    error: { type: "string", description: "stable code, e.g. BAD_REQUEST, UNKNOWN_MARKET" },
    message: { type: "string", description: "what was wrong, naming the field or value" },
  },
} as const;

type JsonSchema = { properties?: Record<string, unknown>; required?: readonly string[] } & Record<
  string,
  unknown
>;

/** OpenAPI parameters from a route's params or querystring schema. */
function parameters(where: "path" | "query", schema: unknown): unknown[] {
  const s = schema as JsonSchema | undefined;
  return Object.entries(s?.properties ?? {}).map(([name, property]) => ({
    name,
    in: where,
    required: where === "path" || (s?.required ?? []).includes(name),
    schema: property,
  }));
}

/**
 * An OpenAPI 3.1 document of `app`'s routes, built from the JSON schemas the routes validate with (path and
 * query parameters, request bodies, declared responses), so it cannot drift from what the API accepts. Routes
 * without a declared response get a plain 200; every route may answer the common error body.
 */
export function openApiDocument(app: FastifyInstance, info: { title: string; description: string }): object {
  const { version } = JSON.parse(readFileSync(packagePath("package.json"), "utf8")) as { version: string };
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of apiRoutes(app)) {
    const path = route.url.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
    const schema = route.schema ?? {};
    const declared = Object.entries((schema.response ?? {}) as Record<string, unknown>);
    const responses: Record<string, unknown> = {};
    if (!declared.some(([status]) => status.startsWith("2"))) responses["200"] = { description: "OK" };
    for (const [status, body] of declared) {
      responses[status] = {
        description: status.startsWith("2") ? "OK" : "error",
        content: { "application/json": { schema: body === undefined ? ERROR_SCHEMA : body } },
      };
    }
    responses.default = {
      description: "error",
      content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
    };
    const operation: Record<string, unknown> = {
      parameters: [...parameters("path", schema.params), ...parameters("query", schema.querystring)],
      responses,
    };
    if (schema.body !== undefined) {
      operation.requestBody = { required: true, content: { "application/json": { schema: schema.body } } };
    }
    (paths[path] ??= {})[route.method.toLowerCase()] = operation;
  }
  return {
    openapi: "3.1.0",
    info: { title: info.title, description: info.description, version },
    paths,
    components: { schemas: { Error: ERROR_SCHEMA } },
  };
}
