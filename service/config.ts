/**
 * The prover service's config file (`zkrisk serve --config FILE`), loaded once when the service starts: checked
 * against its schema (config-schema.ts: unknown keys are errors, every message names the file, the field and
 * the bad value), then against what a schema cannot say (paths that exist, a job database that can be written, the
 * oracle's EIP-55 checksum, market ids as field elements, duplicates), relative paths resolved against the file's
 * directory, defaults filled in.
 * Secrets are read on demand by secrets.ts; redaction.ts shows the config without them.
 */
import { dirname, join, resolve } from "node:path";
import { getAddress, isAddress, parseUnits } from "ethers";
import { outFileOption } from "../core/paths";
import { ConfigError, UsageError, ZkriskError } from "../core/errors";
import { readJsonFile } from "../core/io";
import { isKind, pathKindProblem } from "../core/validate";
import { marketIdOf, marketLabelProblem } from "../candles/market-id";
import { compileSchemaCheck } from "../core/json-schema";
import { redactUrl } from "../core/url";
import { SERVICE_DEFAULTS, ServiceConfigSchema, type ServiceConfigDocument } from "./config-schema";
import { recordConfigFile } from "./secrets";

// The config error family has one owner (core/errors.ts); re-exported for the service's callers.
export { ConfigError };

type MarketDocument = NonNullable<ServiceConfigDocument["markets"]>[number];

/** Where a market's signed windows come from: the schema's `publishers`, the set file's path absolute. */
export type PublishersConfig = Required<MarketDocument["publishers"]>;

/** One market the service proves: the schema's market, paths absolute. */
export interface MarketConfig extends Omit<MarketDocument, "publishers"> {
  /** The label as a field element, the proof's public `marketId` (see `marketIdOf`). */
  marketId: bigint;
  publishers: PublishersConfig;
}

type BatchDocument = NonNullable<ServiceConfigDocument["batches"]>[number];

/** One market of a batch: its label and its field element. */
export interface BatchMarketConfig {
  id: string;
  /** The label as a field element (see `marketIdOf`). */
  marketId: bigint;
}

/** Markets proved together: the schema's batch, paths absolute, each market with its field element. */
export interface BatchConfig extends Omit<BatchDocument, "publishers" | "markets" | "marketModels"> {
  /** In config order. */
  markets: BatchMarketConfig[];
  /** Markets' own model files (absolute paths) by label; the others registered `model`. */
  marketModels: Record<string, string>;
  publishers: PublishersConfig;
}

/** Where the submitting key is, by name only: the key itself is read by `loadSignerKey` (secrets.ts). */
export type KeySource =
  | { kind: "env"; /** Environment variable holding a 0x-prefixed 32-byte hex private key. */ name: string }
  | {
      kind: "keystore";
      /** Absolute path of an encrypted JSON keystore. */
      path: string;
      /** Environment variable holding the keystore's password. */
      passwordEnv: string;
    };

/** One accepted API token: an environment variable holding it, or its sha256 (lowercase hex). */
export type TokenSource = { kind: "env"; name: string } | { kind: "sha256"; sha256: string };

/** The chain updates are submitted to, and how: the schema's `chain`, every default filled in. */
export interface ChainConfig extends Omit<Required<ServiceConfigDocument["chain"]>, "key"> {
  key: KeySource;
  /** `gasPriceCeilingGwei` in wei, for comparing with a node's fee data. */
  gasPriceCeilingWei: bigint;
}

/** Present with every default filled in. */
type Filled<T> = Required<NonNullable<T>>;

/**
 * The validated service config: absolute paths, every default filled in, no secret. Fields mean what the
 * schema's descriptions say (config-schema.ts).
 */
export interface ServiceConfig {
  /** The config file (as named when loaded), for messages. */
  file: string;
  /** Markets proved one by one. */
  markets: MarketConfig[];
  /** Markets proved together, a batch per proof. */
  batches: BatchConfig[];
  chain: ChainConfig;
  schedule: Filled<ServiceConfigDocument["schedule"]>;
  concurrency: number;
  listen: Filled<ServiceConfigDocument["listen"]>;
  auth: { tokens: TokenSource[] };
  /** Absolute path of the SQLite job database. */
  database: string;
  api: Filled<ServiceConfigDocument["api"]>;
  /** Redis mode (`--queue`) only. */
  queue: Filled<ServiceConfigDocument["queue"]>;
}

/**
 * Reads and validates a service config file; relative paths in it are taken from the file's directory. Beyond
 * `parseServiceConfig`, the job database must be a file the service can create or open (`checkDatabase`).
 * @throws ConfigError naming the file, the field and the bad value.
 */
export function loadServiceConfig(path: string): ServiceConfig {
  let doc: unknown;
  try {
    doc = readJsonFile(path, "CONFIG_INVALID");
  } catch (err) {
    throw err instanceof ZkriskError ? new ConfigError(err.message) : err;
  }
  const cfg = parseServiceConfig(doc, path, dirname(resolve(path)));
  checkDatabase(cfg);
  return cfg;
}

/**
 * Refuses a job database the service could not open at start: a directory or other non-regular file, a path under
 * a file, or one in a directory where nothing can be created (read-only, no permission, a pseudo file system such
 * as /proc). Only trying tells: an empty directory is created and removed in the nearest existing directory on the
 * path (core/paths.ts `outFileOption`, as for the commands' outputs), so nothing is left behind and an existing
 * database is not opened. Checked in Redis mode (`--queue`, which does not open it) too: one config serves both.
 * @throws ConfigError `file: database: reason`, naming the path.
 */
function checkDatabase(cfg: ServiceConfig): void {
  try {
    outFileOption(`${cfg.file}: database`, cfg.database);
  } catch (err) {
    throw err instanceof UsageError ? new ConfigError(err.message) : err;
  }
}

const checkSchema = compileSchemaCheck(ServiceConfigSchema);

/**
 * Validates a parsed service config document.
 * @param file the config file's name, for messages.
 * @param baseDir directory relative paths are resolved against (the config file's).
 * @throws ConfigError `file: field: reason`, naming the bad value.
 */
export function parseServiceConfig(value: unknown, file: string, baseDir: string): ServiceConfig {
  const fail = (field: string, reason: string): never => {
    throw new ConfigError(`${file}: ${field}: ${reason}`);
  };
  const violation = checkSchema(value);
  if (violation) fail(violation.field, violation.reason);
  const doc = value as ServiceConfigDocument;
  const base = resolve(baseDir);
  const D = SERVICE_DEFAULTS;

  /**
   * `path` resolved against the config's directory; it must name an existing file or directory (a directory
   * where a file is expected, or the reverse, is named as such).
   */
  const existing = (field: string, path: string, kind: "file" | "directory"): string => {
    const absolute = resolve(base, path);
    const problem = pathKindProblem(absolute, kind);
    if (problem !== undefined) fail(field, problem);
    return absolute;
  };

  /** Market ids taken so far, by field element: where (`markets[0].id`, `batches[1].markets[0]`). */
  const seen = new Map<bigint, { id: string; field: string }>();
  const claim = (id: string, field: string): bigint => {
    const marketId = marketIdFrom(id, field, fail);
    const first = seen.get(marketId);
    if (first !== undefined) {
      const same = first.id === id ? "" : ` (the same field element as ${JSON.stringify(first.id)})`;
      fail(field, `duplicate market id ${JSON.stringify(id)}${same}: already ${first.field}`);
    }
    seen.set(marketId, { id, field });
    return marketId;
  };
  /** The circuit's directory, which must have been set up. */
  const artifactsOf = (field: string, path: string): string => {
    const artifacts = existing(field, path, "directory");
    if (!isKind(join(artifacts, "artifacts.json"), "file")) {
      fail(field, `${artifacts} has no artifacts.json (run the trusted setup for this model first)`);
    }
    return artifacts;
  };
  const publishersOf = (field: string, p: MarketDocument["publishers"]): PublishersConfig => {
    const urls = new Map<string, number>();
    p.urls.forEach((url, i) => {
      // fetch refuses a URL with credentials, and a publisher's windows are public: no user or password.
      const parsed = URL.canParse(url)
        ? new URL(url)
        : fail(`${field}.urls[${i}]`, `expected an http(s) URL, got ${redactUrl(url)}`);
      if (parsed.username !== "" || parsed.password !== "") {
        fail(
          `${field}.urls[${i}]`,
          `${redactUrl(url)} holds a user name or password: publishers are asked without credentials (a key ` +
            `in the query string is kept)`,
        );
      }
      // One publisher under two spellings (case of scheme or host, a default port, a trailing slash) is one.
      const key = parsed.href.replace(/\/+$/, "");
      const earlier = urls.get(key);
      if (earlier !== undefined) {
        fail(`${field}.urls[${i}]`, `duplicate publisher ${redactUrl(url)}: already urls[${earlier}]`);
      }
      urls.set(key, i);
    });
    return {
      set: existing(`${field}.set`, p.set, "file"),
      urls: p.urls,
      timeoutMs: p.timeoutMs ?? D.publisherTimeoutMs,
      waitSeconds: p.waitSeconds ?? D.publisherWaitSeconds,
    };
  };

  const markets = (doc.markets ?? []).map((m, index): MarketConfig => {
    const field = `markets[${index}]`;
    const marketId = claim(m.id, `${field}.id`);
    return {
      id: m.id,
      marketId,
      model: existing(`${field}.model`, m.model, "file"),
      artifacts: artifactsOf(`${field}.artifacts`, m.artifacts),
      publishers: publishersOf(`${field}.publishers`, m.publishers),
    };
  });
  const labels = new Map(markets.map((m, i) => [m.id, `markets[${i}].id`]));
  const batches = (doc.batches ?? []).map((b, index): BatchConfig => {
    const field = `batches[${index}]`;
    const taken = labels.get(b.id);
    if (taken !== undefined) {
      fail(`${field}.id`, `${JSON.stringify(b.id)} is already ${taken} (jobs and metrics name both by it)`);
    }
    labels.set(b.id, `${field}.id`);
    const marketModels: Record<string, string> = {};
    for (const [label, file] of Object.entries(b.marketModels ?? {})) {
      const at = `${field}.marketModels.${label}`;
      if (!b.markets.includes(label)) fail(at, `${JSON.stringify(label)} is not a market of the batch`);
      marketModels[label] = existing(at, file, "file");
    }
    return {
      id: b.id,
      markets: b.markets.map((id, i) => ({ id, marketId: claim(id, `${field}.markets[${i}]`) })),
      model: existing(`${field}.model`, b.model, "file"),
      marketModels,
      artifacts: artifactsOf(`${field}.artifacts`, b.artifacts),
      publishers: publishersOf(`${field}.publishers`, b.publishers),
    };
  });
  for (const [i, b] of batches.entries()) {
    for (const [j, m] of b.markets.entries()) {
      const clash = labels.get(m.id);
      if (clash !== undefined && clash.startsWith("batches[")) {
        fail(`batches[${i}].markets[${j}]`, `${JSON.stringify(m.id)} is the label of ${clash}, a batch`);
      }
    }
  }
  if (markets.length + batches.length === 0) {
    fail("markets", "expected at least one market (or one batch in `batches`)");
  }

  const c = doc.chain;
  const gasPriceCeilingGwei = c.gasPriceCeilingGwei ?? D.gasPriceCeilingGwei;
  const gasPriceCeilingWei = parseUnits(gasPriceCeilingGwei.toFixed(9), "gwei");
  if (gasPriceCeilingWei === 0n) fail("chain.gasPriceCeilingGwei", "must be at least 1 wei (1e-9 gwei)");
  if (!isAddress(c.oracle)) fail("chain.oracle", `mixed-case address ${c.oracle} fails its EIP-55 checksum`);
  // The secrets are read later (secrets.ts): their errors name this file through recordConfigFile.
  const key: KeySource = recordConfigFile<KeySource>(
    "env" in c.key
      ? { kind: "env", name: c.key.env }
      : {
          kind: "keystore",
          path: existing("chain.key.keystore", c.key.keystore, "file"),
          passwordEnv: c.key.passwordEnv,
        },
    file,
  );

  return {
    file,
    markets,
    batches,
    chain: {
      rpc: c.rpc,
      oracle: getAddress(c.oracle),
      key,
      gasPriceCeilingGwei,
      gasPriceCeilingWei,
      confirmations: c.confirmations ?? D.confirmations,
      maxAttempts: c.maxAttempts ?? D.maxAttempts,
      retryBaseMs: c.retryBaseMs ?? D.retryBaseMs,
      replaceAfterSeconds: c.replaceAfterSeconds ?? D.replaceAfterSeconds,
    },
    schedule: {
      pollSeconds: doc.schedule?.pollSeconds ?? D.pollSeconds,
      keepJobsDays: doc.schedule?.keepJobsDays ?? D.keepJobsDays,
    },
    concurrency: doc.concurrency ?? D.concurrency,
    listen: { host: doc.listen?.host ?? D.host, port: doc.listen?.port ?? D.port },
    auth: {
      tokens: doc.auth.tokens.map((t): TokenSource =>
        "env" in t
          ? recordConfigFile({ kind: "env", name: t.env }, file)
          : { kind: "sha256", sha256: t.sha256.toLowerCase() },
      ),
    },
    database: resolve(base, doc.database ?? D.database),
    api: {
      bodyLimitBytes: doc.api?.bodyLimitBytes ?? D.bodyLimitBytes,
      rateLimitPerMinute: doc.api?.rateLimitPerMinute ?? D.rateLimitPerMinute,
      maxPendingJobsPerMarket: doc.api?.maxPendingJobsPerMarket ?? D.maxPendingJobsPerMarket,
      maxBarAgeSeconds: doc.api?.maxBarAgeSeconds ?? D.maxBarAgeSeconds,
    },
    queue: {
      lockSeconds: doc.queue?.lockSeconds ?? D.lockSeconds,
      leaseSeconds: doc.queue?.leaseSeconds ?? D.leaseSeconds,
      prefix: doc.queue?.prefix ?? D.queuePrefix,
    },
  };
}

/** The market label as a field element; the label rules are `marketIdOf`'s. */
function marketIdFrom(id: string, field: string, fail: (field: string, reason: string) => never): bigint {
  const problem = marketLabelProblem(id);
  return problem === undefined ? marketIdOf(id) : fail(field, problem);
}
