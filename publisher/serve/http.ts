/**
 * The publisher's HTTP API (fastify), read-only. Every error answers `{ "error": CODE, "message": "..." }`
 * naming what was wrong. It listens before the start's archive check (run.ts) and answers meanwhile: while the
 * publisher is starting, a window or batch request that passed its checks below answers 503 STARTING with
 * `Retry-After` (`STARTING_RETRY_AFTER_SECONDS`) and how far the check is, and /health 503 "starting";
 * /metrics and /openapi.json answer as always.
 *
 *   GET /v1/windows/:market?at=TIMESTAMP   the signed window file (JSON) of `market` whose last bar opens at
 *                                          TIMESTAMP (ms since the Unix epoch, or ISO 8601 such as
 *                                          2024-06-30T22:00:00Z); without `at`, the newest one.
 *                                          400 BAD_REQUEST for a label that cannot be a market or a bad
 *                                          TIMESTAMP; 404 UNKNOWN_MARKET, 404 NOT_SIGNED.
 *   GET /v1/batches/:batch?at=TIMESTAMP    the signed batch file (JSON, publisher/signed-batch.ts) of the
 *                                          configured `batch` whose windows' last bar opens at TIMESTAMP
 *                                          (as above); without `at`, the newest one. 400 BAD_REQUEST for a
 *                                          label that cannot be a batch or a bad TIMESTAMP; 404
 *                                          UNKNOWN_BATCH, 404 NOT_SIGNED.
 *   GET /health                            status, the public key, per market the archived windows, the
 *                                          last poll and the last error, and per batch its markets, archived
 *                                          batches and last error ("degraded" while any has an error: a
 *                                          source unusable, signing held, a window or batch that could not
 *                                          be archived; still 200). While starting: 503, status "starting"
 *                                          and `archive: { filesRead, filesTotal }`, the check's progress
 *   GET /metrics                           Prometheus text
 *   GET /openapi.json                      this API's OpenAPI document, built from the routes' own schemas
 */
import type { FastifyError, FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { marketIdOf } from "../../candles/market-id";
import {
  createJsonApi,
  openApiDocument,
  preview,
  replyWithError,
  type HttpLimits,
} from "../../core/json-api";
import { isoFromMs } from "../../core/time";
import { parseTimestamp } from "../../candles/load-data";
import type { PublicKey } from "../eddsa";
import type { BatchArchive, SignedArchive, WindowArchive } from "./archive";
import { BATCH_LABEL, type PublisherBatchConfig } from "./config";
import type { PublisherMetrics } from "./metrics";
import type { MarketStatus } from "./signer";

/** How far the start's archive check is (run.ts `checkArchive`), as /health shows it while starting. */
export interface ArchiveCheckProgress {
  /** Archived files read and found to be this key's record of their bar so far. */
  filesRead: number;
  /** Archived files the check reads: every window and batch file archived when the publisher started. */
  filesTotal: number;
}

/**
 * The `Retry-After` of a 503 STARTING, seconds. A prover asks again after it (publisher/window-sources.ts asks
 * twice, waiting at most 10 s each time), so a publisher that finishes its check within seconds costs it nothing.
 */
export const STARTING_RETRY_AFTER_SECONDS = 5;

/** What the API reads. */
export interface PublisherApiOptions {
  archive: WindowArchive;
  /** The signed batches. */
  batchArchive: BatchArchive;
  metrics: PublisherMetrics;
  /** The markets signed here, by label. */
  markets: readonly string[];
  /** The batches signed here. */
  batches: readonly PublisherBatchConfig[];
  /** The publisher's public key (shown by /health; the private key is never within reach of the API). */
  publicKey: PublicKey;
  /** A market's last poll and error. */
  status(market: string): MarketStatus;
  /** Why a batch's last signing failed, or undefined (default: never). */
  batchError?(batch: string): string | undefined;
  /**
   * While the publisher is starting (its archive being checked): how far the check is; undefined once it
   * passed (default: never starting).
   */
  starting?(): ArchiveCheckProgress | undefined;
  log: Logger;
  /** Connection limits other than `HTTP_LIMITS` (core/json-api.ts); tests pass small ones. */
  limits?: Partial<HttpLimits>;
}

/** An answer other than 200: its status, code and message, and when to ask again (seconds), if it says. */
class ApiRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** The 503 STARTING of a window or batch request while the archive is checked (`progress`). */
function startingRefusal(progress: ArchiveCheckProgress): ApiRefusal {
  return new ApiRefusal(
    503,
    "STARTING",
    `the publisher is starting: it checks its archive before serving it (${progress.filesRead} of ` +
      `${progress.filesTotal} files read); ask again in ${STARTING_RETRY_AFTER_SECONDS} s`,
    STARTING_RETRY_AFTER_SECONDS,
  );
}

/** Longest market label in a URL: 31 bytes of ASCII, or a decimal id below the field modulus (77 digits). */
const MAX_MARKET_LENGTH = 78;

/** The open time `at` names, ms. */
function parseAt(at: string): number {
  const ms = parseTimestamp(at);
  if (ms === undefined) {
    throw new ApiRefusal(
      400,
      "BAD_REQUEST",
      `querystring/at: ${preview(at)} is not a time: expected ms since the Unix epoch (11 to 14 ` +
        `digits) or ISO 8601 (2024-06-30T22:00:00Z)`,
    );
  }
  return ms;
}

/** Longest batch label in a URL (config.ts `BATCH_LABEL`: 31 characters); longer is refused by the schema. */
const MAX_BATCH_LENGTH = 64;

/**
 * The 404 NOT_SIGNED for `name` (a market or a batch) with nothing archived at `at` (or nothing at all when
 * `at` is undefined), saying which bars are held.
 */
function notSigned<T extends { publicKey: PublicKey }>(
  archive: SignedArchive<T>,
  name: string,
  noun: string,
  at: number | undefined,
): ApiRefusal {
  const range = archive.range(name);
  const held =
    range === undefined
      ? "none is signed yet"
      : `${archive.count(name)} are signed, from ${isoFromMs(range.first)} to ${isoFromMs(range.last)}`;
  const which = at === undefined ? `no ${noun}` : `no ${noun} ending at the bar opening ${isoFromMs(at)}`;
  return new ApiRefusal(404, "NOT_SIGNED", `${name}: ${which} is signed here (${held})`);
}

/**
 * The text of `name`'s archived document (a market's window or a batch's batch) whose windows' last bar opens at
 * `at` (the query string's, unparsed), or of its newest one without `at`.
 * @throws ApiRefusal 400 for an `at` that is not a time, 404 NOT_SIGNED when there is no such document.
 */
async function archivedText<T extends { publicKey: PublicKey }>(
  archive: SignedArchive<T>,
  name: string,
  noun: string,
  atText: string | undefined,
): Promise<string> {
  const at = atText === undefined ? undefined : parseAt(atText);
  const endTime = at ?? archive.latest(name);
  const found = endTime === undefined ? undefined : await archive.read(name, endTime);
  if (found === undefined) throw notSigned(archive, name, noun, at);
  return found.text;
}

/** The schema of the `at` query string, shared by the windows and the batches. */
const AT_QUERYSTRING = {
  type: "object",
  additionalProperties: false,
  properties: { at: { type: "string", minLength: 1 } },
} as const;

/** Title and description of the API's OpenAPI document. */
export const PUBLISHER_API_INFO = {
  title: "zkrisk publisher",
  description:
    "Signed candle windows (EdDSA-Poseidon over the window digest) from the publisher's archive, by market and " +
    "bar; signed batches (one signature over the batch digest of several markets' windows), by batch and bar; " +
    "health and Prometheus metrics. Read-only.",
};

/** Builds the API (not yet listening). */
export async function buildPublisherApi(opts: PublisherApiOptions): Promise<FastifyInstance> {
  const { archive, batchArchive, metrics } = opts;
  const app = createJsonApi({ log: opts.log, limits: opts.limits });
  const markets = new Set(opts.markets);
  const batches = new Set(opts.batches.map((b) => b.batch));

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof ApiRefusal) {
      if (err.retryAfterSeconds !== undefined) reply.header("retry-after", String(err.retryAfterSeconds));
      return reply.status(err.status).send({ error: err.code, message: err.message });
    }
    return replyWithError(err, req, reply, (e) => {
      const extra = e.validation?.[0]?.params?.additionalProperty;
      return typeof extra === "string"
        ? `${e.validationContext ?? "request"}: unknown parameter ${JSON.stringify(extra)} (the only one is "at")`
        : undefined;
    });
  });

  app.get<{ Params: { market: string }; Querystring: { at?: string } }>(
    "/v1/windows/:market",
    {
      schema: {
        params: {
          type: "object",
          properties: { market: { type: "string", minLength: 1, maxLength: MAX_MARKET_LENGTH } },
        },
        querystring: AT_QUERYSTRING,
      },
      onResponse: async (_req, reply) => {
        metrics.requests.inc({ status: String(reply.statusCode) });
      },
    },
    async (req, reply) => {
      const { market } = req.params;
      try {
        marketIdOf(market);
      } catch {
        throw new ApiRefusal(
          400,
          "BAD_REQUEST",
          `params/market: ${JSON.stringify(market)} is not a market label (printable ASCII of at most 31 ` +
            `bytes, or a decimal id)`,
        );
      }
      if (!markets.has(market)) {
        throw new ApiRefusal(
          404,
          "UNKNOWN_MARKET",
          `market ${JSON.stringify(market)} is not signed here (markets: ${[...markets].join(", ")})`,
        );
      }
      const progress = opts.starting?.();
      if (progress !== undefined) throw startingRefusal(progress);
      return reply
        .type("application/json; charset=utf-8")
        .send(await archivedText(archive, market, "window", req.query.at));
    },
  );

  app.get<{ Params: { batch: string }; Querystring: { at?: string } }>(
    "/v1/batches/:batch",
    {
      schema: {
        params: {
          type: "object",
          properties: { batch: { type: "string", minLength: 1, maxLength: MAX_BATCH_LENGTH } },
        },
        querystring: AT_QUERYSTRING,
      },
      onResponse: async (_req, reply) => {
        metrics.batchRequests.inc({ status: String(reply.statusCode) });
      },
    },
    async (req, reply) => {
      const { batch } = req.params;
      if (!BATCH_LABEL.test(batch)) {
        throw new ApiRefusal(
          400,
          "BAD_REQUEST",
          `params/batch: ${JSON.stringify(batch)} is not a batch label (1 to 31 letters, digits, ".", "_" or ` +
            `"-", starting with a letter or digit)`,
        );
      }
      if (!batches.has(batch)) {
        const configured = batches.size === 0 ? "none is configured" : `batches: ${[...batches].join(", ")}`;
        throw new ApiRefusal(
          404,
          "UNKNOWN_BATCH",
          `batch ${JSON.stringify(batch)} is not signed here (${configured})`,
        );
      }
      const progress = opts.starting?.();
      if (progress !== undefined) throw startingRefusal(progress);
      return reply
        .type("application/json; charset=utf-8")
        .send(await archivedText(batchArchive, batch, "batch", req.query.at));
    },
  );

  app.get("/health", async (_req, reply) => {
    const views = opts.markets.map((market) => {
      const range = archive.range(market);
      const s = opts.status(market);
      return {
        market,
        windows: archive.count(market),
        first: range === undefined ? null : isoFromMs(range.first),
        latest: range === undefined ? null : isoFromMs(range.last),
        lastPollAt: s.lastPollAt === undefined ? null : isoFromMs(s.lastPollAt),
        lastError: s.lastError ?? null,
      };
    });
    const batchViews = opts.batches.map((b) => {
      const range = batchArchive.range(b.batch);
      return {
        batch: b.batch,
        markets: b.markets,
        batches: batchArchive.count(b.batch),
        first: range === undefined ? null : isoFromMs(range.first),
        latest: range === undefined ? null : isoFromMs(range.last),
        lastError: opts.batchError?.(b.batch) ?? null,
      };
    });
    const publicKey = { Ax: opts.publicKey.Ax.toString(), Ay: opts.publicKey.Ay.toString() };
    const progress = opts.starting?.();
    if (progress !== undefined) {
      // 503, so a readiness check waits for the check to pass; a liveness check must take it as alive.
      return reply
        .status(503)
        .send({ status: "starting", publicKey, archive: progress, markets: views, batches: batchViews });
    }
    const healthy = [...views, ...batchViews].every((v) => v.lastError === null);
    return { status: healthy ? "ok" : "degraded", publicKey, markets: views, batches: batchViews };
  });

  app.get("/metrics", async (_req, reply) => {
    reply.header("content-type", metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  app.get("/openapi.json", async () => openApiDocument(app, PUBLISHER_API_INFO));
  return app;
}
