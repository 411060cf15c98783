/**
 * The service config defined once (service/config-schema.ts): the shipped JSON Schema file is what the
 * definition generates and a standard validator reads it as the service does; `$schema` points editors at it;
 * the schema's defaults are the ones the service fills in; and redaction is a deny-list, so every other setting
 * is shown (`queue` included) while every URL field of the schema is masked.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TSchema } from "@sinclair/typebox";
import { parseServiceConfig, type ServiceConfig } from "../../service/config";
import {
  SERVICE_CONFIG_SCHEMA_FILE,
  ServiceConfigSchema,
  serviceConfigJsonSchema,
} from "../../service/config-schema";
import { redactedConfig, SECRET_FIELDS } from "../../service/redaction";

const ROOT = join(__dirname, "../..");
const REAL_MODEL = join(ROOT, "models/btc-usdt-2h.quantized.json");

/** ajv 8 and ajv-formats as fastify installs them (not direct dependencies of zkrisk). */
const fastifyRequire = createRequire(require.resolve("@fastify/ajv-compiler"));
const Ajv = fastifyRequire("ajv").default as new (options: object) => {
  compile(
    schema: object,
  ): ((data: unknown) => boolean) & { errors?: { instancePath: string; message: string }[] };
};
const addFormats = fastifyRequire("ajv-formats").default as (ajv: object) => void;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "zkrisk-config-schema-"));
  mkdirSync(join(dir, "artifacts"));
  writeFileSync(join(dir, "artifacts/artifacts.json"), "{}");
  writeFileSync(join(dir, "publishers.json"), "{}");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function minimal(): Record<string, unknown> {
  return {
    markets: [
      {
        id: "BTC-USDT",
        model: REAL_MODEL,
        artifacts: "artifacts",
        publishers: { set: "publishers.json", urls: ["http://127.0.0.1:8090"] },
      },
    ],
    chain: {
      rpc: "http://127.0.0.1:8545",
      oracle: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
      key: { env: "ZKRISK_KEY" },
    },
    auth: { tokens: [{ env: "ZKRISK_API_TOKEN" }] },
  };
}

const parse = (doc: unknown): ServiceConfig => parseServiceConfig(doc, "service.json", dir);

/** Every subschema of `schema` with its field path (`markets[].publishers.urls[]`); union variants share one. */
function subschemas(schema: TSchema, path = ""): [string, TSchema][] {
  const found: [string, TSchema][] = [[path, schema]];
  for (const [key, child] of Object.entries((schema.properties ?? {}) as Record<string, TSchema>)) {
    found.push(...subschemas(child, path === "" ? key : `${path}.${key}`));
  }
  if (schema.items) found.push(...subschemas(schema.items as TSchema, `${path}[]`));
  for (const variant of (schema.anyOf ?? []) as TSchema[]) found.push(...subschemas(variant, path).slice(1));
  return found;
}

/** The value at a field path of `subschemas` (`[]` takes the first element). */
function valueAt(value: unknown, path: string): unknown {
  return path
    .split(/\.|(?=\[\])/)
    .filter(Boolean)
    .reduce<unknown>(
      (v, key) => (key === "[]" ? (v as unknown[])[0] : (v as Record<string, unknown>)[key]),
      value,
    );
}

describe("deploy/schema/service.schema.json", () => {
  const shipped = JSON.parse(readFileSync(join(ROOT, SERVICE_CONFIG_SCHEMA_FILE), "utf8")) as object;

  it("is what the schema definition generates (else run `npm run config-schema`)", () => {
    expect(shipped, "stale: run npm run config-schema").toEqual(serviceConfigJsonSchema());
    expect(JSON.stringify(shipped)).not.toContain("errorMessage");
  });

  it("is plain draft-07 JSON Schema that a standard validator reads as the service does", () => {
    const ajv = new Ajv({ strict: true, allErrors: true });
    addFormats(ajv);
    const validate = ajv.compile(shipped);
    const deployed = JSON.parse(readFileSync(join(ROOT, "deploy/config/service.json"), "utf8")) as {
      chain: Record<string, unknown>;
    };
    expect(validate(deployed), JSON.stringify(validate.errors)).toBe(true);
    expect(validate(minimal())).toBe(true);
    const cases: [string, (doc: Record<string, unknown>) => void][] = [
      ["unknown key", (d) => (d.concurency = 2)],
      ["missing field", (d) => delete d.auth],
      ["out of range", (d) => (d.concurrency = 65)],
      [
        "both key sources",
        (d) => ((d.chain as Record<string, unknown>).key = { env: "K", keystore: "k.json" }),
      ],
      ["not http(s)", (d) => ((d.chain as Record<string, unknown>).rpc = "ws://127.0.0.1:8546")],
      ["bad env name", (d) => (d.auth = { tokens: [{ env: "0x12" }] })],
    ];
    for (const [name, edit] of cases) {
      const doc = minimal();
      edit(doc);
      expect(validate(doc), name).toBe(false);
      expect(() => parse(doc), name).toThrow(/^service\.json: /);
    }
  });

  it("states the defaults the service fills in", () => {
    const batch = {
      id: "majors",
      markets: ["ETH-USDT", "SOL-USDT"],
      model: REAL_MODEL,
      artifacts: "artifacts",
      publishers: { set: "publishers.json", urls: ["http://127.0.0.1:8090"] },
    };
    const filled = parse({ ...minimal(), batches: [batch] });
    const defaults = subschemas(ServiceConfigSchema).filter(([, s]) => s.default !== undefined);
    expect(defaults.map(([path]) => path)).toContain("queue.leaseSeconds");
    for (const [path, schema] of defaults) {
      const expected = path === "database" ? join(dir, schema.default as string) : schema.default;
      expect(valueAt(filled, path), path).toEqual(expected);
    }
  });
});

describe("$schema in a config file", () => {
  it("is accepted and ignored, and the deployed config points at the shipped schema", () => {
    const cfg = parse({ $schema: "../schema/service.schema.json", ...minimal() });
    expect(cfg).toEqual(parse(minimal()));
    expect(() => parse({ $schema: 1, ...minimal() })).toThrow(
      "service.json: $schema: expected a string, got 1",
    );
    const deployed = JSON.parse(readFileSync(join(ROOT, "deploy/config/service.json"), "utf8")) as {
      $schema: string;
    };
    expect(join(ROOT, "deploy/config", deployed.$schema)).toBe(join(ROOT, SERVICE_CONFIG_SCHEMA_FILE));
  });
});

describe("redactedConfig: a deny-list", () => {
  it("masks every URL field of the schema", () => {
    const urlFields = subschemas(ServiceConfigSchema)
      .filter(([, s]) => s.format === "uri")
      .map(([path]) => path);
    expect(urlFields).toEqual(["markets[].publishers.urls[]", "batches[].publishers.urls[]", "chain.rpc"]);
    for (const field of urlFields) expect(SECRET_FIELDS[field], field).toBe("url");
  });

  it("shows every other setting as it is, queue and api included", () => {
    const cfg = parse({
      ...minimal(),
      queue: { lockSeconds: 5, leaseSeconds: 3 },
      api: {
        bodyLimitBytes: 100,
        rateLimitPerMinute: 7,
        maxPendingJobsPerMarket: 3,
        maxBarAgeSeconds: 90_000,
      },
    });
    const shown = redactedConfig(cfg);
    expect(Object.keys(shown)).toEqual(Object.keys(cfg));
    expect(shown.queue).toEqual({ lockSeconds: 5, leaseSeconds: 3, prefix: "zkrisk" });
    expect(shown.api).toEqual({
      bodyLimitBytes: 100,
      rateLimitPerMinute: 7,
      maxPendingJobsPerMarket: 3,
      maxBarAgeSeconds: 90_000,
    });
    expect(shown.database).toBe(join(dir, "zkrisk.db"));
    // A field the config gains later is shown without a change to the redaction.
    const extended = { ...cfg, future: { setting: 1n } } as ServiceConfig;
    expect(redactedConfig(extended).future).toEqual({ setting: "1" });
  });
});
