/**
 * The OpenAPI document of an API made by createJsonApi: built from the routes' own schemas (path and query
 * parameters, request bodies, declared responses), fastify's automatic HEAD routes left out.
 */
import pino from "pino";
import { describe, expect, it } from "vitest";
import { apiRoutes, createJsonApi, openApiDocument } from "../../core/json-api";

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
