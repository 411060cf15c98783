/**
 * Shared core: the fastify setup of the project's two HTTP APIs, the prover service's (prover/service/api.ts)
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
} from "fastify";
import type { Logger } from "pino";

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
  app.setNotFoundHandler((req, reply) =>
    reply
      .status(404)
      .send({ error: "NOT_FOUND", message: `no route ${req.method} ${req.url.split("?")[0]}` }),
  );
  return app;
}

/**
 * The answer to an error an API did not map itself: a failed schema validation is 400 `BAD_REQUEST` naming
 * where (`body/timestamp must be integer`; `validationMessage` may say it otherwise), another 4xx keeps its
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
    const message = validationMessage?.(err) ?? `${where}${err.message.replace(/^[a-z]+/, "")}`;
    return reply.status(400).send({ error: "BAD_REQUEST", message });
  }
  if (err.statusCode && err.statusCode < 500) {
    return reply.status(err.statusCode).send({ error: err.code ?? "BAD_REQUEST", message: err.message });
  }
  req.log.error({ err: err.message }, "request failed");
  const code = typeof err.code === "string" && /^[A-Z][A-Z0-9_]*$/.test(err.code) ? err.code : "INTERNAL";
  return reply.status(500).send({ error: code, message: err.message });
}
