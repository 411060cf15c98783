/**
 * The prover service's config file (`service.json`), defined once as a TypeBox schema. From it come the type of
 * the document as written (`ServiceConfigDocument`), the validator config.ts runs when the service starts, and
 * the JSON Schema file shipped for editors (`deploy/schema/service.schema.json`, written by
 * `npm run config-schema`; a test fails while it is stale). Every object is closed: an unknown or misspelt key
 * is an error, never a silent fall back to a default. What a schema cannot say (a path that exists, an
 * EIP-55 checksum, a market id's field element, duplicates) config.ts checks after it.
 *
 * Secrets are never in the file: it names the environment variables and keystore files that hold them.
 */
import { Type, type Static, type TSchema } from "@sinclair/typebox";
import { jsonSchemaFile } from "../core/json-schema";
import { SOURCE_TIMEOUT_RANGE } from "../feeds/source-config";
import { PUBLISHER_SET_MAX_KEYS } from "../publisher/publisher-set";
import { MAX_BATCH_MARKETS } from "../candles/batch-digest";
import { FEATURE_INTERVAL_MS } from "../features/window-features";
import { MAX_RETRY_DELAY_MS } from "./retry";

/** Defaults of the optional fields (the schema's `default`s). */
export const SERVICE_DEFAULTS = {
  /** The same default as an HTTP candle source's (feeds/source-config.ts). */
  publisherTimeoutMs: 10_000,
  /**
   * Half the bar interval of signed windows (2 h bars: 1 h), so that a bar's wait for its publishers ends before
   * the next bar closes and its job is scheduled.
   */
  publisherWaitSeconds: FEATURE_INTERVAL_MS / 2 / 1000,
  gasPriceCeilingGwei: 100,
  confirmations: 1,
  maxAttempts: 5,
  retryBaseMs: 2_000,
  replaceAfterSeconds: 180,
  pollSeconds: 30,
  /**
   * Days an ended job stays in the job store: longer than any bar the API takes (`maxBarAgeSeconds`, 7 days), so a
   * request for a bar it may still prove finds its job; about 50 MB of Redis memory for 8 markets.
   */
  keepJobsDays: 90,
  concurrency: 1,
  host: "127.0.0.1",
  port: 8080,
  database: "zkrisk.db",
  bodyLimitBytes: 4096,
  rateLimitPerMinute: 600,
  /**
   * Unfinished API jobs per market (or batch): a proof takes tens of seconds, so 16 keep a client's batch of
   * requests within minutes of work while one client cannot queue hours of it.
   */
  maxPendingJobsPerMarket: 16,
  /** Oldest bar a proof-only request may ask for: 7 days, past any oracle's usual `maxDataAge` (6 h by default). */
  maxBarAgeSeconds: 7 * 86_400,
  lockSeconds: 30,
  leaseSeconds: 10,
  /** Key prefix of the Redis job store and queue: the one every release before `queue.prefix` used. */
  queuePrefix: "zkrisk",
} as const;

/**
 * Longest market id, characters: a label is at most 31 bytes of ASCII, a decimal id below the field modulus at most
 * 77 digits (78 with a leading zero, as the publishers' API takes). The API takes every id up to this length.
 */
export const MAX_MARKET_ID_LENGTH = 78;

/** Largest `api.maxBarAgeSeconds`: ten years (365-day years). */
export const MAX_BAR_AGE_SECONDS = 10 * 365 * 86_400;

/** Longest `publishers.waitSeconds`: one day. */
export const MAX_PUBLISHER_WAIT_SECONDS = 86_400;

const D = SERVICE_DEFAULTS;
const closed = { additionalProperties: false } as const;

/** An optional integer setting in [min, max] with its default. */
function integer(min: number, max: number, fallback: number, description: string) {
  return Type.Optional(Type.Integer({ minimum: min, maximum: max, default: fallback, description }));
}

/** A file or directory path; relative paths are taken from the config file's directory. */
function path(description: string, fallback?: string) {
  return Type.String({
    minLength: 1,
    description: `${description} (relative to this file's directory)`,
    ...(fallback === undefined ? {} : { default: fallback }),
  });
}

function envName(description: string) {
  return Type.String({
    pattern: "^[A-Za-z_][A-Za-z0-9_]*$",
    description: `Name of the environment variable holding ${description}`,
    errorMessage: { pattern: "expected an environment variable name, got {value}" },
  });
}

/** An http(s) URL: parses as a URL and its scheme is http or https (any case). */
function httpUrl(description: string) {
  const message = "expected an http(s) URL, got {value}";
  return Type.String({
    format: "uri",
    pattern: "^[Hh][Tt][Tt][Pp][Ss]?:",
    description,
    errorMessage: { pattern: message, format: message },
  });
}

const PublishersSchema = Type.Object(
  {
    set: path("Publisher set file: the publishers' keys and the quorum k"),
    urls: Type.Array(
      httpUrl(
        "Base URL of a `zkrisk publisher serve` instance, without user or password (its path and query are kept)",
      ),
      {
        minItems: 1,
        maxItems: PUBLISHER_SET_MAX_KEYS,
        description: "The publishers asked for every bar, distinct",
        errorMessage: {
          minItems: "expected at least one publisher URL",
          maxItems: "{count} publishers, more than a publisher set holds ({limit})",
        },
      },
    ),
    timeoutMs: integer(
      SOURCE_TIMEOUT_RANGE.min,
      SOURCE_TIMEOUT_RANGE.max,
      D.publisherTimeoutMs,
      "Limit on one request to a publisher (connect, headers and body), ms",
    ),
    waitSeconds: integer(
      0,
      MAX_PUBLISHER_WAIT_SECONDS,
      D.publisherWaitSeconds,
      "Deadline of a bar's quorum, seconds after the bar's close by the chain's clock: until then, publishers " +
        "that have not signed the bar or did not answer, and could still make up the quorum, are asked again " +
        "(no attempt spent); after it the bar is skipped",
    ),
  },
  { ...closed, description: "Where the market's signed windows come from" },
);

const MarketSchema = Type.Object(
  {
    id: Type.String({
      minLength: 1,
      maxLength: MAX_MARKET_ID_LENGTH,
      description:
        "Market label (e.g. BTC-USDT): printable ASCII of at most 31 bytes, or a decimal number below the " +
        "field modulus; names the market in jobs, logs and the API, and as a field element in the proof",
      errorMessage: { minLength: "expected a non-empty market id" },
    }),
    model: path("Quantised model file"),
    artifacts: path(
      "Artifacts directory of the model's signed-update circuit (`zkrisk compile --quorum K`, then `zkrisk setup`)",
    ),
    publishers: PublishersSchema,
  },
  { ...closed, description: "One market the service proves" },
);

const BatchSchema = Type.Object(
  {
    id: Type.String({
      pattern: "^[A-Za-z0-9][A-Za-z0-9._-]{0,30}$",
      description:
        "The batch's label: the publishers' batch of that name (`GET /v1/batches/:id`); names the batch in jobs, " +
        "logs and metrics, so it must differ from every market id",
      errorMessage: {
        pattern:
          "expected a batch label (a letter or digit, then letters, digits, '.', '_' or '-'; at most 31), got {value}",
      },
    }),
    markets: Type.Array(
      Type.String({
        minLength: 1,
        maxLength: MAX_MARKET_ID_LENGTH,
        description: "Market label, as in `markets[].id`; the batch proves it instead of a market entry",
      }),
      {
        minItems: 2,
        maxItems: MAX_BATCH_MARKETS,
        description: "The markets of the batch, in any order (the proof takes them in increasing id order)",
        errorMessage: {
          minItems: "expected at least 2 markets in a batch (one market is a `markets` entry)",
          maxItems: "{count} markets, more than a batch holds ({limit})",
        },
      },
    ),
    model: path(
      "Quantised model file the batch's markets registered (those without their own in `marketModels`)",
    ),
    marketModels: Type.Optional(
      Type.Record(
        Type.String({ minLength: 1 }),
        path("The market's own registered model file (the batch's model with the market's calibration)"),
        {
          description:
            "Markets of the batch with their own model file (e.g. `zkrisk market-model`), by label: the same " +
            "network as `model` with the market's own calibration; needs a committed-weights batch circuit",
        },
      ),
    ),
    artifacts: path(
      "Artifacts directory of the model's signed batch circuit for these markets (`zkrisk compile --batch N " +
        "--quorum K`, then `zkrisk setup`)",
    ),
    publishers: PublishersSchema,
  },
  {
    ...closed,
    description:
      "Markets proved together at each bar close: one proof and one transaction for all (`submitSignedBatch`)",
  },
);

const KeySchema = Type.Union(
  [
    Type.Object({ env: envName("a 0x-prefixed 32-byte hex private key") }, closed),
    Type.Object(
      {
        keystore: path("Encrypted JSON keystore file"),
        passwordEnv: envName("the keystore's password"),
      },
      closed,
    ),
  ],
  {
    description:
      "Where the submitting key is: an environment variable, or a keystore and its password's variable",
    errorMessage: { exclusive: 'only applies to a "{variant}" key' },
  },
);

const ChainSchema = Type.Object(
  {
    rpc: httpUrl("JSON-RPC URL of the chain updates are submitted to"),
    oracle: Type.String({
      pattern: "^0x[0-9a-fA-F]{40}$",
      description: "Oracle contract address (a mixed-case address must pass its EIP-55 checksum)",
      errorMessage: { pattern: "expected a 20-byte hex address (0x and 40 hex digits), got {value}" },
    }),
    key: KeySchema,
    gasPriceCeilingGwei: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        maximum: 1e6,
        default: D.gasPriceCeilingGwei,
        description: "Highest gas price the service pays, gwei (at least 1 wei)",
      }),
    ),
    confirmations: integer(
      1,
      64,
      D.confirmations,
      "Blocks to wait for after the one that includes an update",
    ),
    maxAttempts: integer(
      1,
      100,
      D.maxAttempts,
      "Attempts per job before it fails (the first attempt counts)",
    ),
    retryBaseMs: integer(
      10,
      MAX_RETRY_DELAY_MS,
      D.retryBaseMs,
      "First retry delay, ms; it doubles with every failed attempt, up to 10 minutes",
    ),
    replaceAfterSeconds: integer(
      1,
      86_400,
      D.replaceAfterSeconds,
      "Seconds a sent transaction may stay pending before it is replaced by one of the same nonce with both " +
        "fees 12.5 % higher (at least the node's current fees, never above gasPriceCeilingGwei)",
    ),
  },
  { ...closed, description: "The chain updates are submitted to, and how" },
);

const TokenSchema = Type.Union(
  [
    Type.Object({ env: envName("the token (at least 16 characters)") }, closed),
    Type.Object(
      {
        sha256: Type.String({
          pattern: "^[0-9a-fA-F]{64}$",
          description: "The token's sha256, 64 hex digits",
          errorMessage: { pattern: "expected 64 hex digits (the token's sha256), got {value}" },
        }),
      },
      closed,
    ),
  ],
  { description: "One accepted API bearer token: an environment variable holding it, or its sha256" },
);

/** The service config file's schema. */
export const ServiceConfigSchema = Type.Object(
  {
    $schema: Type.Optional(
      Type.String({ description: "The JSON Schema this file follows, for editors; the service ignores it" }),
    ),
    markets: Type.Optional(
      Type.Array(MarketSchema, {
        description: "The markets proved one by one (with `batches`, at least one market or batch)",
      }),
    ),
    batches: Type.Optional(
      Type.Array(BatchSchema, {
        description:
          "The batches of markets proved together (all plain, or all adaptive with an adaptive batch circuit)",
      }),
    ),
    chain: ChainSchema,
    schedule: Type.Optional(
      Type.Object(
        {
          pollSeconds: Type.Optional(
            Type.Number({
              minimum: 0.1,
              maximum: 3600,
              default: D.pollSeconds,
              description: "Seconds between two looks at the chain's clock for newly closed bars",
            }),
          ),
          keepJobsDays: integer(
            1,
            36_500,
            D.keepJobsDays,
            "Days a job that has ended (confirmed, skipped, rejected, failed, or a proof-only job proved) stays in " +
              "the job store after its last change; older ones are deleted every hour",
          ),
        },
        closed,
      ),
    ),
    concurrency: integer(1, 64, D.concurrency, "Proofs in flight at once (proving threads)"),
    listen: Type.Optional(
      Type.Object(
        {
          host: Type.Optional(
            Type.String({ minLength: 1, default: D.host, description: "Address the HTTP API listens on" }),
          ),
          port: integer(0, 65535, D.port, "Port of the HTTP API; 0 takes any free port"),
        },
        closed,
      ),
    ),
    auth: Type.Object(
      {
        tokens: Type.Array(TokenSchema, {
          minItems: 1,
          errorMessage: { minItems: "expected at least one token" },
        }),
      },
      { ...closed, description: "Who may request proofs over the API" },
    ),
    database: Type.Optional(path("SQLite job database (the embedded store)", D.database)),
    api: Type.Optional(
      Type.Object(
        {
          bodyLimitBytes: integer(64, 1_048_576, D.bodyLimitBytes, "Largest accepted request body, bytes"),
          rateLimitPerMinute: integer(
            1,
            1_000_000,
            D.rateLimitPerMinute,
            "Requests per minute from one client address",
          ),
          maxPendingJobsPerMarket: integer(
            1,
            10_000,
            D.maxPendingJobsPerMarket,
            "Jobs of one market (or batch) waiting to be proved or being proved (queued or proving, whoever asked " +
              "for them, counted in the job store over every process) at which POST /v1/proofs makes no new one: " +
              "it is answered 429 TOO_MANY_JOBS until one is proved",
          ),
          maxBarAgeSeconds: integer(
            86_400,
            MAX_BAR_AGE_SECONDS,
            D.maxBarAgeSeconds,
            "Oldest bar a proof-only request (`submit` false) may ask for, seconds before the chain's time; an " +
              "older one is answered 400 BAR_TOO_OLD. A request to submit is bounded by the market's maxDataAge on " +
              "the oracle instead (each market's of a batch), which refuses older data",
          ),
        },
        closed,
      ),
    ),
    queue: Type.Optional(
      Type.Object(
        {
          lockSeconds: integer(
            1,
            600,
            D.lockSeconds,
            "A process silent this long is taken as dead and its job delivered to another process, seconds",
          ),
          leaseSeconds: integer(
            1,
            600,
            D.leaseSeconds,
            "Another process takes the scheduler over this long after its holder stops renewing it, seconds",
          ),
          prefix: Type.Optional(
            Type.String({
              // No ':' (the separator of the keys under it): no prefix's keys lie under another prefix.
              pattern: "^(?:[A-Za-z0-9_.-]{1,64}|\\{[A-Za-z0-9_.-]{1,64}\\})$",
              default: D.queuePrefix,
              description:
                "First component of every Redis key of the job store and queue: the processes of one deployment " +
                "(one chain, oracle and set of markets) share it, and each deployment on one Redis database needs " +
                "its own (a process refuses to start on a prefix that holds another deployment's jobs). Letters, " +
                "digits, '_', '.' and '-', at most 64; in braces (`{zkrisk}`) for a Redis Cluster, so that every " +
                "key of the store hashes to one slot",
              errorMessage: {
                pattern:
                  "expected at most 64 letters, digits, '_', '.' or '-' (in braces for a Redis Cluster), got {value}",
              },
            }),
          ),
        },
        { ...closed, description: "Redis mode (`zkrisk serve --queue`) only" },
      ),
    ),
  },
  { ...closed, title: "zkrisk prover service config (service.json)" },
);

/** The config file as written: the TypeScript type of `ServiceConfigSchema`. */
export type ServiceConfigDocument = Static<typeof ServiceConfigSchema>;

/** Where the schema file is shipped, relative to the package root. */
export const SERVICE_CONFIG_SCHEMA_FILE = "deploy/schema/service.schema.json";

/** The JSON Schema document of `service.json`, as shipped in `SERVICE_CONFIG_SCHEMA_FILE`. */
export function serviceConfigJsonSchema(): Record<string, unknown> {
  return jsonSchemaFile(ServiceConfigSchema as TSchema, {
    description:
      "Configuration of `zkrisk serve`. Generated from service/config-schema.ts by " +
      "`npm run config-schema`; do not edit.",
  });
}
