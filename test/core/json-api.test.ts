/**
 * The OpenAPI document of an API made by createJsonApi: built from the routes' own schemas (path and query
 * parameters, request bodies, declared responses), fastify's automatic HEAD routes left out. And the answer to
 * an error no API mapped (`replyWithError`): a 500 says its code and "internal error" only, never the error's
 * message (a path on the server, a system error), which the server's log holds in full; a deliberate 4xx keeps
 * its message.
 */
import type { FastifyError } from "fastify";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { ZkriskError } from "../../core/errors";
import {
  apiRoutes,
  createJsonApi,
  INTERNAL_ERROR_MESSAGE,
  openApiDocument,
  replyWithError,
} from "../../core/json-api";

interface Operation {
  parameters: { name: string; in: string; required: boolean; schema: unknown }[];
  requestBody?: { content: { "application/json": { schema: unknown } } };
  responses: Record<string, { content?: { "application/json": { schema: unknown } } }>;
}

describe("openApiDocument", () => {
  it("describes every route with the schemas it validates with", async () => {
    const app = createJsonApi({ log: pino({ level: "silent" }) });
    const body = {
      type: "object",
      required: ["n"],
      additionalProperties: false,
      properties: { n: { type: "integer", minimum: 1 } },
    };
    const item = { type: "object", properties: { id: { type: "string" } } };
    app.post("/v1/things", { schema: { body, response: { 201: item } } }, async () => ({ id: "x" }));
    app.get(
      "/v1/things/:id",
      {
        schema: {
          params: { type: "object", properties: { id: { type: "string", pattern: "^[a-z]+$" } } },
          querystring: {
            type: "object",
            required: ["view"],
            properties: { view: { type: "string" }, page: { type: "integer" } },
          },
        },
      },
      async () => ({}),
    );
    app.get("/openapi.json", async () =>
      openApiDocument(app, { title: "things", description: "a test API" }),
    );
    await app.ready();

    expect(apiRoutes(app).map((r) => `${r.method} ${r.url}`)).toEqual([
      "POST /v1/things",
      "GET /v1/things/:id",
      "GET /openapi.json",
    ]);
    const doc = (await app.inject({ url: "/openapi.json" })).json() as {
      openapi: string;
      info: { title: string; version: string };
      paths: Record<string, Record<string, Operation>>;
    };
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info.title).toBe("things");
    expect(Object.keys(doc.paths)).toEqual(["/v1/things", "/v1/things/{id}", "/openapi.json"]);
    const post = doc.paths["/v1/things"].post;
    expect(post.requestBody?.content["application/json"].schema).toEqual(body);
    expect(Object.keys(post.responses)).toEqual(["201", "default"]);
    expect(post.responses["201"].content?.["application/json"].schema).toEqual(item);
    const get = doc.paths["/v1/things/{id}"].get;
    expect(get.parameters).toEqual([
      { name: "id", in: "path", required: true, schema: { type: "string", pattern: "^[a-z]+$" } },
      { name: "view", in: "query", required: true, schema: { type: "string" } },
      { name: "page", in: "query", required: false, schema: { type: "integer" } },
    ]);
    expect(Object.keys(get.responses)).toEqual(["200", "default"]);
    expect(doc.paths["/v1/things"].head).toBeUndefined();
    // What the document says the body must be is what the route refuses.
    const refused = await app.inject({ method: "POST", url: "/v1/things", payload: { n: 0 } });
    expect(refused.statusCode).toBe(400);
    await app.close();
  });
});

describe("replyWithError: errors no API mapped", () => {
  /** An API whose routes throw: a system error naming a path, a domain error, a plain error, a deliberate 409. */
  async function failingApi(level: string) {
    const lines: string[] = [];
    const log = pino({ level }, { write: (line: string) => void lines.push(line) });
    const app = createJsonApi({ log });
    app.setErrorHandler((err: FastifyError, req, reply) => replyWithError(err, req, reply));
    app.get("/v1/eacces", async () => {
      throw Object.assign(
        new Error("EACCES: permission denied, open '/srv/zkrisk/archive/BTC-USDT/1.json'"),
        {
          code: "EACCES",
          errno: -13,
          syscall: "open",
          path: "/srv/zkrisk/archive/BTC-USDT/1.json",
        },
      );
    });
    app.get("/v1/domain", async () => {
      throw new ZkriskError(
        "FILE_INVALID",
        "/srv/zkrisk/archive/BTC-USDT/2.json: publicKey: signed by another key",
      );
    });
    app.get("/v1/plain", async () => {
      throw new TypeError("Cannot read properties of undefined (reading 'window')");
    });
    app.get("/v1/conflict", async () => {
      throw Object.assign(new Error("bar 2024-06-01T00:00:00Z: already proved"), {
        statusCode: 409,
        code: "CONFLICT",
      });
    });
    await app.ready();
    return { app, lines };
  }

  it("answers a 500 with its code and 'internal error' only, and logs the whole error (message, code, stack)", async () => {
    const { app, lines } = await failingApi("info");
    const cases = [
      ["/v1/eacces", "EACCES", "EACCES: permission denied, open '/srv/zkrisk/archive/BTC-USDT/1.json'"],
      ["/v1/domain", "FILE_INVALID", "/srv/zkrisk/archive/BTC-USDT/2.json: publicKey: signed by another key"],
      ["/v1/plain", "INTERNAL", "Cannot read properties of undefined (reading 'window')"],
    ];
    for (const [url, code, message] of cases) {
      const r = await app.inject({ url: `${url}?at=1` });
      expect(r.statusCode).toBe(500);
      expect(r.json()).toEqual({ error: code, message: INTERNAL_ERROR_MESSAGE });
      expect(r.body).not.toContain("/srv/zkrisk");
      const logged = lines
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.url === `${url}?at=1`);
      expect(logged).toMatchObject({
        level: 50,
        msg: "request failed",
        status: 500,
        error: code,
        method: "GET",
      });
      const err = logged!.err as { message: string; stack: string; code?: string };
      expect(err.message).toBe(message);
      expect(err.stack).toContain(message);
      if (code !== "INTERNAL") expect(err.code).toBe(code);
    }
    await app.close();
  });

  it("keeps a deliberate 4xx's message, and logs a 500 even when the request log is silent (level error)", async () => {
    const { app, lines } = await failingApi("error");
    const conflict = await app.inject({ url: "/v1/conflict" });
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json()).toEqual({
      error: "CONFLICT",
      message: "bar 2024-06-01T00:00:00Z: already proved",
    });
    expect(lines).toEqual([]);
    expect((await app.inject({ url: "/v1/eacces" })).statusCode).toBe(500);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ level: 50, msg: "request failed", url: "/v1/eacces" });
    await app.close();
  });
});
