/**
 * The service's HTTP API (fastify): JSON-schema-validated requests, a body-size limit, a rate limit and bearer
 * tokens on every write. Every error answers `{ "error": CODE, "message": "..." }` naming what was wrong.
 *
 *   POST /v1/proofs        {market, timestamp[, submit]} -> the job (idempotent on market and timestamp);
 *                          `market` may name a batch of the config (its job proves all its markets); 400
 *                          BAR_TOO_OLD for a bar older than a proof of it is of use, 429 TOO_MANY_JOBS for a
 *                          new job while the market has `api.maxPendingJobsPerMarket` jobs still to be proved
 *   GET  /v1/proofs/:id    status, proof, public signals, calldata, parameters (a batch's: each market's
 *                          margins in `markets`), transaction, history
 *   GET  /v1/markets/:id   parameters on chain and the latest proof made here (for a market of a batch, the
 *                          batch's)
 *   GET  /healthz          the process answers
 *   GET  /readyz           the service takes work (503 while starting, draining, with the chain unreachable
 *                          or on another chain than at start, or with the job store not answering a read
 *                          within 2 s; the reason in `reason`)
 *   GET  /metrics          Prometheus text (a job store that fails leaves its gauges' last values, and
 *                          `zkrisk_store_up` 0, rather than failing the page)
 *   GET  /openapi.json     this API's OpenAPI document, built from the routes' own schemas
 */
import rateLimit from "@fastify/rate-limit";
import type { FastifyError, FastifyInstance, FastifyRequest } from "fastify";
import { createHash, timingSafeEqual } from "node:crypto";
import type { Logger } from "pino";
import { createJsonApi, openApiDocument, replyWithError } from "../core/json-api";
import { MAX_MARKET_ID_LENGTH } from "./config-schema";
import { isBatchProof, type JobRecord } from "./jobs";
import { RequestRefusedError, type RequestRefusal } from "./request-errors";
import type { ProverService } from "./service";
import { isoFromSeconds } from "../core/time";

/** Options of the API. */
export interface ApiOptions {
  /** sha256 (hex) of every accepted bearer token. */
  tokenHashes: string[];
  bodyLimitBytes: number;
  rateLimitPerMinute: number;
  log: Logger;
}

/** Title and description of the API's OpenAPI document. */
export const SERVICE_API_INFO = {
  title: "zkrisk prover service",
  description:
    "Proofs of signed margin updates on request (POST /v1/proofs needs a bearer token), their status, the " +
    "markets' parameters on chain, health, readiness and Prometheus metrics.",
};

/** Largest timestamp taken as seconds; larger values are almost surely milliseconds. */
const MAX_SECONDS = 10_000_000_000;

const errorBody = {
  type: "object",
  properties: { error: { type: "string" }, message: { type: "string" } },
} as const;

/** The HTTP status of each refusal of the service. */
const REFUSAL_STATUS: Record<RequestRefusal, number> = {
  SHUTTING_DOWN: 503,
  UNKNOWN_MARKET: 404,
  NO_SUCH_BAR: 422,
  BAR_NOT_CLOSED: 422,
  BAR_TOO_OLD: 400,
  TOO_MANY_JOBS: 429,
  CHAIN_UNREACHABLE: 503,
};

/** A job as the API shows it. */
export function jobView(job: JobRecord) {
  const p = job.update;
  const batch = p && isBatchProof(p) ? p : undefined;
  const single = p && !isBatchProof(p) ? p : undefined;
  return {
    id: job.id,
    market: job.market,
    timestamp: job.dataTimestamp,
    bar: isoFromSeconds(job.dataTimestamp),
    submit: job.submit,
    status: job.status,
    reason: job.reason,
    attempts: job.attempts,
    // The process holding it (`host:pid:start-id`); the field keeps its published name.
    worker: job.holder,
    parameters: single?.parameters ?? null,
    // a batch's job: each market's margins, in the proof's order
    markets: batch?.markets ?? null,
    proof: p?.proof ?? null,
    publicSignals: p?.publicSignals ?? null,
    calldata: p?.calldata ?? null,
    features: single?.features ?? null,
    provingMs: p ? Math.round(p.provingMs) : null,
    // `hash`: the newest transaction, or the one mined once the job is settled; `others`: the job's other
    // transactions of that nonce (replaced with higher fees, or not mined)
    transaction: job.tx
      ? {
          hash: job.tx.hash,
          nonce: job.tx.nonce,
          block: job.block,
          others: (job.tx.others ?? []).map((o) => o.hash),
        }
      : null,
    // steps worth an operator's eye, oldest first (e.g. a proof made again because the adaptive prior moved)
    history: job.history.map((e) => ({
      at: new Date(e.at).toISOString(),
      event: e.event,
      message: e.message,
    })),
    createdAt: new Date(job.createdAt).toISOString(),
    updatedAt: new Date(job.updatedAt).toISOString(),
  };
}

function bearerOk(req: FastifyRequest, hashes: Buffer[]): boolean {
  const header = req.headers.authorization;
  const match = typeof header === "string" ? /^Bearer ([\x21-\x7e]+)$/.exec(header) : null;
  if (!match) return false;
  const digest = createHash("sha256").update(match[1]).digest();
  // Compared against every configured hash, in constant time each.
  return hashes.reduce((ok, h) => timingSafeEqual(h, digest) || ok, false);
}

/** Build the API of a service (not yet listening). */
export async function buildApi(service: ProverService, opts: ApiOptions): Promise<FastifyInstance> {
  const app = createJsonApi({ log: opts.log, bodyLimit: opts.bodyLimitBytes });
  const hashes = opts.tokenHashes.map((h) => Buffer.from(h, "hex"));

  await app.register(rateLimit, {
    max: opts.rateLimitPerMinute,
    timeWindow: 60_000,
    errorResponseBuilder: (_req, ctx) => ({
      statusCode: 429,
      error: "RATE_LIMITED",
      message: `rate limit of ${ctx.max} requests per minute exceeded; retry in ${Math.ceil(ctx.ttl / 1000)} s`,
    }),
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof RequestRefusedError)
      return reply.status(REFUSAL_STATUS[err.code]).send({ error: err.code, message: err.message });
    if (err.statusCode === 413) {
      return reply.status(413).send({
        error: "BODY_TOO_LARGE",
        message: `request body exceeds the limit of ${opts.bodyLimitBytes} bytes`,
      });
    }
    if (err.statusCode === 429) return reply.status(429).send(err);
    return replyWithError(err, req, reply);
  });

  app.post<{ Body: { market: string; timestamp: number; submit?: boolean } }>(
    "/v1/proofs",
    {
      onRequest: async (req, reply) => {
        if (!bearerOk(req, hashes)) {
          reply.header("www-authenticate", 'Bearer realm="zkrisk"');
          return reply.status(401).send({
            error: "UNAUTHORIZED",
            message: req.headers.authorization
              ? "the bearer token is not accepted"
              : "missing Authorization: Bearer <token> header (writes need an API token)",
          });
        }
      },
      schema: {
        body: {
          type: "object",
          required: ["market", "timestamp"],
          additionalProperties: false,
          properties: {
            market: { type: "string", minLength: 1, maxLength: MAX_MARKET_ID_LENGTH },
            timestamp: { type: "integer", minimum: 0 },
            submit: { type: "boolean" },
          },
        },
        response: { 400: errorBody, 401: errorBody, 404: errorBody, 422: errorBody, 429: errorBody },
      },
    },
    async (req, reply) => {
      const { market, timestamp, submit = false } = req.body;
      if (timestamp >= MAX_SECONDS) {
        return reply.status(400).send({
          error: "BAD_REQUEST",
          message: `body/timestamp: ${timestamp} is not a time in seconds (milliseconds? divide by 1000)`,
        });
      }
      const { job, created } = await service.request(market, timestamp, submit);
      return reply.status(created ? 202 : 200).send({ created, ...jobView(job) });
    },
  );

  app.get<{ Params: { id: string } }>(
    "/v1/proofs/:id",
    {
      schema: {
        params: { type: "object", properties: { id: { type: "string", pattern: "^[0-9a-f]{20}$" } } },
      },
    },
    async (req, reply) => {
      const job = await service.store.get(req.params.id);
      if (!job) return reply.status(404).send({ error: "UNKNOWN_JOB", message: `no job ${req.params.id}` });
      return jobView(job);
    },
  );

  app.get<{ Params: { id: string } }>("/v1/markets/:id", async (req) => {
    const { market: m, state, latest } = await service.marketView(req.params.id);
    return {
      market: m.id,
      marketId: m.marketId.toString(),
      batch: m.batch ?? null,
      onChain: {
        paused: state.paused,
        modelCommitment: state.modelCommitment.toString(),
        parameters: state.last,
        limits: state.limits,
      },
      latestProven: latest ? jobView(latest) : null,
      modelCommitment: m.modelCommitment.toString(),
    };
  });

  // Probes and scrapes are not rate limited: an orchestrator polling them must never see 429.
  const unlimited = { config: { rateLimit: false } } as const;
  app.get("/healthz", unlimited, async () => ({ status: "ok" }));
  app.get("/readyz", unlimited, async (_req, reply) => {
    const r = await service.readiness();
    return reply
      .status(r.ready ? 200 : 503)
      .send(r.ready ? { status: "ready" } : { status: "not ready", reason: r.reason });
  });
  app.get("/metrics", unlimited, async (_req, reply) => {
    reply.header("content-type", service.metrics.registry.contentType);
    return service.metrics.registry.metrics();
  });
  app.get("/openapi.json", unlimited, async () => openApiDocument(app, SERVICE_API_INFO));
  return app;
}
