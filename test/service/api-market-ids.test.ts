/**
 * The API takes every market id the config takes (service/api.ts, `MAX_MARKET_ID_LENGTH` of
 * service/config-schema.ts): a decimal id of 40 digits, or of 77 digits with a leading zero, reaches the service;
 * a longer one is refused by the body's schema. With `app.inject` on the API of a stand-in service, and the
 * OpenAPI document built from the routes checked against its shipped copy.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import pino from "pino";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApi } from "../../service/api";
import { marketLabelProblem } from "../../candles/market-id";
import { MAX_MARKET_ID_LENGTH } from "../../service/config-schema";
import { RequestRefusedError } from "../../service/request-errors";
import type { ProverService } from "../../service/service";

const TOKEN = "test-token-0123456789abcdef";

/** The markets the stand-in service was asked for; it serves none. */
const asked: string[] = [];
let app: FastifyInstance;

beforeAll(async () => {
  const service = {
    request: (market: string) => {
      asked.push(market);
      return Promise.reject(
        new RequestRefusedError("UNKNOWN_MARKET", `market '${market}' is not served here`),
      );
    },
  } as unknown as ProverService;
  app = await buildApi(service, {
    tokenHashes: [createHash("sha256").update(TOKEN).digest("hex")],
    bodyLimitBytes: 4096,
    rateLimitPerMinute: 1000,
    log: pino({ level: "silent" }),
  });
});
afterAll(() => app?.close());

const post = (market: string) =>
  app.inject({
    method: "POST",
    url: "/v1/proofs",
    headers: { authorization: `Bearer ${TOKEN}` },
    payload: { market, timestamp: 1_717_192_800 },
  });

describe("POST /v1/proofs: market ids", () => {
  it("takes a decimal market id of 40 digits and the longest the config takes (78 characters)", async () => {
    // A decimal id below the field modulus, as long as the config takes (test/service/config.test.ts).
    const longest = "0" + "1".repeat(77);
    expect(longest).toHaveLength(MAX_MARKET_ID_LENGTH);
    expect(marketLabelProblem(longest)).toBeUndefined();
    for (const market of ["1".repeat(40), longest]) {
      const r = await post(market);
      expect(r.statusCode, r.body).toBe(404);
      expect(r.json()).toEqual({ error: "UNKNOWN_MARKET", message: `market '${market}' is not served here` });
    }
    expect(asked).toEqual(["1".repeat(40), longest]);
  });

  it("refuses a longer one by the body's schema", async () => {
    const r = await post("0" + "1".repeat(78));
    expect(r.statusCode).toBe(400);
    expect(r.json()).toMatchObject({ message: "body/market must NOT have more than 78 characters" });
  });

  it("documents the limit in its OpenAPI document, as shipped (deploy/openapi/prover-service.json)", async () => {
    const doc = (await app.inject({ url: "/openapi.json" })).json() as Record<string, unknown>;
    const shipped = JSON.parse(
      readFileSync(join(__dirname, "../../deploy/openapi/prover-service.json"), "utf8"),
    ) as Record<string, unknown>;
    expect(doc).toEqual(shipped);
  });
});
