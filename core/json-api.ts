/**
 * Shared core: the fastify setup of the project's two HTTP APIs, the prover service's (service/api.ts)
 * and the publisher's (publisher/serve/http.ts). One owner for what they do alike: requests logged at debug
 * level only (a busy API would drown the logs), schemas validated without coercion, and one error shape,
 * `{ "error": CODE, "message": "..." }`, for unknown routes, validation failures, other 4xx and 500s. Each API
 * maps its own domain errors first, then hands the rest to `replyWithError`.
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
import type { Logger } from "pino";
import { packagePath } from "./package-root";

/** Options of `createJsonApi`. */
export interface JsonApiOptions {
  log: Logger;
  /** Largest accepted request body, bytes (fastify's default when absent). */
  bodyLimit?: number;
}

/**
 * A fastify instance (not yet listening) with the request log at debug level (warn when debug is off,
 * silent when warn is), schema validation without coercion or removal, and a 404 `NOT_FOUND` naming the
 * route for unknown routes.
 */
export function createJsonApi(o: JsonApiOptions): FastifyInstance {
  const level = o.log.isLevelEnabled("debug") ? "debug" : o.log.isLevelEnabled("warn") ? "warn" : "silent";
  const app: FastifyInstance = Fastify({
    loggerInstance: o.log.child({ component: "http" }, { level }) as FastifyBaseLogger,
    ...(o.bodyLimit === undefined ? {} : { bodyLimit: o.bodyLimit }),
    ajv: { customOptions: { allErrors: false, coerceTypes: false, removeAdditional: false } },
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
      .send({ error: "NOT_FOUND", message: `no route ${req.method} ${req.url.split("?")[0]}` }),
  );
  return app;
}

/**
 * The answer to an error an API did not map itself: a failed schema validation is 400 `BAD_REQUEST` naming
 * where (`body/timestamp must be integer`, `body: unknown key "bogus"`; `validationMessage` may say it
 * otherwise), another 4xx keeps its
 * status and code, anything else is logged and answered 500 with the error's own code (a domain error's
 * stable code) or `INTERNAL`.
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
        ? `${where}${err.validation[0].instancePath}: unknown key ${JSON.stringify(extra)}`
        : `${where}${err.message.replace(/^[a-z]+/, "")}`);
    return reply.status(400).send({ error: "BAD_REQUEST", message });
  }
  if (err.statusCode && err.statusCode < 500) {
    return reply.status(err.statusCode).send({ error: err.code ?? "BAD_REQUEST", message: err.message });
  }
  req.log.error({ err: err.message }, "request failed");
  const code = typeof err.code === "string" && /^[A-Z][A-Z0-9_]*$/.test(err.code) ? err.code : "INTERNAL";
  return reply.status(500).send({ error: code, message: err.message });
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
