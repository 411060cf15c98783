/**
 * The prover service's config file (`zkrisk serve --config FILE`): markets to prove (each with its model,
 * signed-update artifacts, publisher set file and publishers' URLs), the chain and key to submit with,
 * schedule, concurrency, HTTP listener, API tokens, database. Everything is validated here,
 * once, when the service starts: unknown keys are errors (a misspelt optional field must not fall back to
 * its default in silence), relative paths are resolved against the config file's directory, defaults are
 * filled in. Secrets are never in the file and never read at load time: the config names the environment
 * variables and keystore files that hold them, and `loadSignerKey` / `apiTokenHashes` read them on demand.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { getAddress, isAddress, isHexString, parseUnits, Wallet } from "ethers";
import { ConfigError, ZkriskError } from "../../models/errors";
import { readJsonFile } from "../../models/io";
import {
  existingPath,
  httpUrl,
  isKind,
  JsonReader,
  nonEmptyString,
  optionalNumber,
  type JsonErrorFactory,
} from "../../models/validate";
import { marketIdOf } from "../../candles/market-id";
import { redactUrl } from "../../core/url";
import { SOURCE_TIMEOUT_RANGE } from "../../feeds";
import { PUBLISHER_SET_MAX_KEYS } from "../../publisher/publisher-set";

// The config error family has one owner (models/errors.ts); re-exported for the service's callers.
export { ConfigError };

/** Where a market's signed windows come from. */
export interface PublishersConfig {
  /** Absolute path of the market's publisher set file (publisher/publisher-set-file.ts: keys and quorum k). */
  set: string;
  /** Base URLs of the `zkrisk publisher serve` instances asked for every bar (http or https), distinct. */
  urls: string[];
  /** Limit on one request to a publisher (connect, headers and body), ms. */
  timeoutMs: number;
}

/** One market the service proves. */
export interface MarketConfig {
  /** Label as written (e.g. "BTC-USDT"); names the market in jobs, logs and the API. */
  id: string;
  /** The label as a field element, the proof's public `marketId` (see `marketIdOf`). */
  marketId: bigint;
  /** Absolute path of the quantised model file. */
  model: string;
  /**
   * Absolute path of the artifacts directory of the model's signed-update circuit (`zkrisk compile --signed`,
   * then `zkrisk setup`; holds `artifacts.json` and `circuit.json`).
   */
  artifacts: string;
  publishers: PublishersConfig;
}

/** Where the submitting key is, by name only: the key itself is read by `loadSignerKey`. */
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

/** The chain updates are submitted to, and how. */
export interface ChainConfig {
  /** JSON-RPC URL (http or https). */
  rpc: string;
  /** Oracle contract address, EIP-55 checksummed. */
  oracle: string;
  key: KeySource;
  /** Highest gas price the service pays, in gwei as configured. */
  gasPriceCeilingGwei: number;
  /** The same ceiling in wei, for comparing with a node's fee data. */
  gasPriceCeilingWei: bigint;
  /** Blocks to wait for after the one that includes an update. */
  confirmations: number;
  /** Attempts per job before it fails (the first attempt counts). */
  maxAttempts: number;
  /** First retry delay in ms; see `retryDelayMs`. */
  retryBaseMs: number;
}

/** The validated service config: absolute paths, every default filled in, no secret. */
export interface ServiceConfig {
  /** The config file (as named when loaded), for messages. */
  file: string;
  markets: MarketConfig[];
  chain: ChainConfig;
  schedule: {
    /** Seconds between two looks at the chain's clock for newly closed bars. */ pollSeconds: number;
  };
  /** Proofs in flight at once (proving threads). */
  concurrency: number;
  /** Where the HTTP API listens; port 0 takes any free port. */
  listen: { host: string; port: number };
  auth: { tokens: TokenSource[] };
  /** Absolute path of the SQLite job database. */
  database: string;
  api: { /** Largest accepted request body, bytes. */ bodyLimitBytes: number; rateLimitPerMinute: number };
  /** Redis mode (`--queue`) only. */
  queue: {
    /** A process silent this long is taken as dead and its job delivered to another process, seconds. */
    lockSeconds: number;
    /** The scheduler lease: another process takes it over this long after its holder stops renewing it. */
    leaseSeconds: number;
  };
}

/** Defaults of the optional fields. */
export const SERVICE_DEFAULTS = {
  /** The same default as an HTTP candle source's (feeds/source-config.ts). */
  publisherTimeoutMs: 10_000,
  gasPriceCeilingGwei: 100,
  confirmations: 1,
  maxAttempts: 5,
  retryBaseMs: 2_000,
  pollSeconds: 30,
  concurrency: 1,
  host: "127.0.0.1",
  port: 8080,
  database: "zkrisk.db",
  bodyLimitBytes: 4096,
  rateLimitPerMinute: 600,
  lockSeconds: 30,
  leaseSeconds: 10,
} as const;

/** Longest wait between two attempts of a job, ms. */
export const MAX_RETRY_DELAY_MS = 600_000;

/** Shortest accepted API token, characters. */
export const MIN_API_TOKEN_LENGTH = 16;

/**
 * How long a job waits after its `attempt`-th failed attempt (1-based) before the next one, ms:
 * `retryBaseMs * 2^(attempt - 1)`, capped at `MAX_RETRY_DELAY_MS` (10 minutes).
 */
export function retryDelayMs(retryBaseMs: number, attempt: number): number {
  return Math.min(retryBaseMs * 2 ** Math.max(0, attempt - 1), MAX_RETRY_DELAY_MS);
}

/**
 * Reads and validates a service config file; relative paths in it are taken from the file's directory.
 * @throws ConfigError naming the file, the field and the bad value.
 */
export function loadServiceConfig(path: string): ServiceConfig {
  let doc: unknown;
  try {
    doc = readJsonFile(path, "CONFIG_INVALID");
  } catch (err) {
    throw err instanceof ZkriskError ? new ConfigError(err.message) : err;
  }
  return parseServiceConfig(doc, path, dirname(resolve(path)));
}

const configError: JsonErrorFactory = (file, field, reason) =>
  new ConfigError(`${file}: ${field}: ${reason}`);

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Validates a parsed service config document.
 * @param file the config file's name, for messages.
 * @param baseDir directory relative paths are resolved against (the config file's).
 * @throws ConfigError `file: field: reason`, naming the bad value.
 */
export function parseServiceConfig(value: unknown, file: string, baseDir: string): ServiceConfig {
  const r = new JsonReader(file, value, "", configError);
  r.onlyKeys(["markets", "chain", "schedule", "concurrency", "listen", "auth", "database", "api", "queue"]);
  const base = resolve(baseDir);
  const D = SERVICE_DEFAULTS;

  const markets = readMarkets(r.at("markets"), base);

  const c = r.at("chain");
  c.onlyKeys(["rpc", "oracle", "key", "gasPriceCeilingGwei", "confirmations", "maxAttempts", "retryBaseMs"]);
  const gasPriceCeilingGwei = optionalNumber(c, "gasPriceCeilingGwei", D.gasPriceCeilingGwei, 0, 1e6, {
    integer: false,
    exclusiveMin: true,
  });
  const gasPriceCeilingWei = parseUnits(gasPriceCeilingGwei.toFixed(9), "gwei");
  if (gasPriceCeilingWei === 0n) c.at("gasPriceCeilingGwei").error("must be at least 1 wei (1e-9 gwei)");
  const chain: ChainConfig = {
    rpc: httpUrl(c.at("rpc")),
    oracle: address(c.at("oracle")),
    key: readKey(c.at("key"), base),
    gasPriceCeilingGwei,
    gasPriceCeilingWei,
    confirmations: optionalNumber(c, "confirmations", D.confirmations, 1, 64),
    maxAttempts: optionalNumber(c, "maxAttempts", D.maxAttempts, 1, 100),
    retryBaseMs: optionalNumber(c, "retryBaseMs", D.retryBaseMs, 10, MAX_RETRY_DELAY_MS),
  };

  const schedule = r.optional("schedule")?.onlyKeys(["pollSeconds"]);
  const pollSeconds = schedule
    ? optionalNumber(schedule, "pollSeconds", D.pollSeconds, 0.1, 3600, { integer: false })
    : D.pollSeconds;

  const listen = r.optional("listen")?.onlyKeys(["host", "port"]);
  const host = listen?.optional("host");
  const api = r.optional("api")?.onlyKeys(["bodyLimitBytes", "rateLimitPerMinute"]);
  const database = r.optional("database");
  const queue = r.optional("queue")?.onlyKeys(["lockSeconds", "leaseSeconds"]);

  return {
    file,
    markets,
    chain,
    schedule: { pollSeconds },
    concurrency: optionalNumber(r, "concurrency", D.concurrency, 1, 64),
    listen: {
      host: host ? nonEmptyString(host) : D.host,
      port: listen ? optionalNumber(listen, "port", D.port, 0, 65535) : D.port,
    },
    auth: { tokens: readTokens(r.at("auth")) },
    database: database ? resolve(base, nonEmptyString(database)) : join(base, D.database),
    api: {
      bodyLimitBytes: api
        ? optionalNumber(api, "bodyLimitBytes", D.bodyLimitBytes, 64, 1_048_576)
        : D.bodyLimitBytes,
      rateLimitPerMinute: api
        ? optionalNumber(api, "rateLimitPerMinute", D.rateLimitPerMinute, 1, 1_000_000)
        : D.rateLimitPerMinute,
    },
    queue: {
      lockSeconds: queue ? optionalNumber(queue, "lockSeconds", D.lockSeconds, 1, 600) : D.lockSeconds,
      leaseSeconds: queue ? optionalNumber(queue, "leaseSeconds", D.leaseSeconds, 1, 600) : D.leaseSeconds,
    },
  };
}

function readMarkets(r: JsonReader, base: string): MarketConfig[] {
  const items = r.items();
  if (items.length === 0) r.error("expected at least one market");
  const seen = new Map<bigint, { id: string; index: number }>();
  return items.map((m, index) => {
    m.onlyKeys(["id", "model", "artifacts", "publishers"]);
    const idReader = m.at("id");
    const id = idReader.string();
    const marketId = marketIdFrom(idReader, id);
    const first = seen.get(marketId);
    if (first !== undefined) {
      const same = first.id === id ? "" : ` (the same field element as ${JSON.stringify(first.id)})`;
      idReader.error(`duplicate market id ${JSON.stringify(id)}${same}: already markets[${first.index}].id`);
    }
    seen.set(marketId, { id, index });

    const model = existingPath(m.at("model"), base, "file");
    const artifacts = existingPath(m.at("artifacts"), base, "directory");
    if (!isKind(join(artifacts, "artifacts.json"), "file")) {
      m.at("artifacts").error(
        `${artifacts} has no artifacts.json (run the trusted setup for this model first)`,
      );
    }
    return { id, marketId, model, artifacts, publishers: readPublishers(m.at("publishers"), base) };
  });
}

/** The market label as a field element; the label rules are `marketIdOf`'s. */
function marketIdFrom(r: JsonReader, id: string): bigint {
  if (id === "") r.error("expected a non-empty market id");
  try {
    return marketIdOf(id);
  } catch {
    return r.error(
      `expected printable ASCII of at most 31 bytes or a decimal number below the field modulus, ` +
        `got ${JSON.stringify(id)}`,
    );
  }
}

/**
 * A market's publishers: `{ "set": FILE, "urls": [URL, ...], "timeoutMs": N }`. The set file's content (its
 * quorum against the URLs, the artifacts and the chain) is checked when the market is loaded (markets.ts).
 */
function readPublishers(r: JsonReader, base: string): PublishersConfig {
  r.onlyKeys(["set", "urls", "timeoutMs"]);
  const set = existingPath(r.at("set"), base, "file");
  const items = r.at("urls").items();
  if (items.length === 0) r.at("urls").error("expected at least one publisher URL");
  if (items.length > PUBLISHER_SET_MAX_KEYS) {
    r.at("urls").error(
      `${items.length} publishers, more than a publisher set holds (${PUBLISHER_SET_MAX_KEYS})`,
    );
  }
  const seen = new Map<string, number>();
  const urls = items.map((item, i) => {
    const url = httpUrl(item);
    const key = url.replace(/\/+$/, "");
    const first = seen.get(key);
    if (first !== undefined) item.error(`duplicate publisher ${redactUrl(url)}: already urls[${first}]`);
    seen.set(key, i);
    return url;
  });
  const { min, max } = SOURCE_TIMEOUT_RANGE;
  return {
    set,
    urls,
    timeoutMs: optionalNumber(r, "timeoutMs", SERVICE_DEFAULTS.publisherTimeoutMs, min, max),
  };
}

function readKey(r: JsonReader, base: string): KeySource {
  r.onlyKeys(["env", "keystore", "passwordEnv"]);
  if (r.has("env") === r.has("keystore")) r.error('expected exactly one of "env" or "keystore"');
  if (r.has("env")) {
    if (r.has("passwordEnv")) r.at("passwordEnv").error('only applies to a "keystore" key');
    return { kind: "env", name: envName(r.at("env")) };
  }
  return {
    kind: "keystore",
    path: existingPath(r.at("keystore"), base, "file"),
    passwordEnv: envName(r.at("passwordEnv")),
  };
}

function readTokens(r: JsonReader): TokenSource[] {
  r.onlyKeys(["tokens"]);
  const items = r.at("tokens").items();
  if (items.length === 0) r.at("tokens").error("expected at least one token");
  return items.map((t): TokenSource => {
    t.onlyKeys(["env", "sha256"]);
    if (t.has("env") === t.has("sha256")) t.error('expected exactly one of "env" or "sha256"');
    if (t.has("env")) return { kind: "env", name: envName(t.at("env")) };
    const hash = t.at("sha256").string();
    if (!/^[0-9a-fA-F]{64}$/.test(hash)) {
      t.at("sha256").error(`expected 64 hex digits (the token's sha256), got ${JSON.stringify(hash)}`);
    }
    return { kind: "sha256", sha256: hash.toLowerCase() };
  });
}

function envName(r: JsonReader): string {
  const name = r.string();
  if (!ENV_NAME.test(name)) r.error(`expected an environment variable name, got ${JSON.stringify(name)}`);
  return name;
}

function address(r: JsonReader): string {
  const text = r.string();
  if (!/^0x[0-9a-fA-F]{40}$/.test(text)) {
    r.error(`expected a 20-byte hex address (0x and 40 hex digits), got ${JSON.stringify(text)}`);
  }
  if (!isAddress(text)) r.error(`mixed-case address ${text} fails its EIP-55 checksum`);
  return getAddress(text);
}

// ---------------------------------------------------------------------------------------------------------
// Secrets, read on demand

/**
 * Reads the submitting key. `env`: the variable must hold a 0x-prefixed 32-byte hex key. `keystore`: the
 * file is decrypted with the password in `passwordEnv`. Messages name the variable or file, never a value.
 * @returns the 0x-prefixed private key.
 * @throws ConfigError when a variable is unset, the key malformed, or the keystore cannot be decrypted.
 */
export async function loadSignerKey(chain: Pick<ChainConfig, "key">): Promise<string> {
  const key = chain.key;
  if (key.kind === "env") {
    const value = readEnv(key.name, "chain.key.env");
    if (!isHexString(value, 32)) {
      throw new ConfigError(
        `chain.key.env: ${key.name} is not a 0x-prefixed 32-byte hex private key (value not shown)`,
      );
    }
    return value;
  }
  const password = readEnv(key.passwordEnv, "chain.key.passwordEnv");
  let json: string;
  try {
    json = readFileSync(key.path, "utf8");
  } catch (err) {
    throw new ConfigError(`${key.path}: cannot read keystore: ${(err as Error).message}`);
  }
  try {
    return (await Wallet.fromEncryptedJson(json, password)).privateKey;
  } catch (err) {
    const reason = (err as Error).message.split(" (")[0];
    throw new ConfigError(
      `${key.path}: cannot decrypt keystore with the password in ${key.passwordEnv}: ${reason}`,
    );
  }
}

/**
 * The sha256 (lowercase hex) of every accepted API token, in config order. Tokens given by environment
 * variable are read now: each must be set and hold at least `MIN_API_TOKEN_LENGTH` characters.
 * @throws ConfigError naming the variable (never its value).
 */
export function apiTokenHashes(auth: ServiceConfig["auth"]): string[] {
  return auth.tokens.map((t) => {
    if (t.kind === "sha256") return t.sha256;
    const token = readEnv(t.name, "auth.tokens");
    if (token.length < MIN_API_TOKEN_LENGTH) {
      throw new ConfigError(
        `auth.tokens: the token in ${t.name} is shorter than ${MIN_API_TOKEN_LENGTH} characters`,
      );
    }
    return createHash("sha256").update(token).digest("hex");
  });
}

function readEnv(name: string, field: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") {
    throw new ConfigError(`${field}: environment variable ${name} is empty or unset`);
  }
  return value;
}

/**
 * The config as a JSON-safe object for logs and `--json`: bigints as decimal strings, credentials and query
 * values in URLs masked, token hashes shortened. Key and token sources are shown (they are names only).
 */
export function redactedConfig(cfg: ServiceConfig): Record<string, unknown> {
  return {
    file: cfg.file,
    markets: cfg.markets.map((m) => ({
      id: m.id,
      marketId: m.marketId.toString(),
      model: m.model,
      artifacts: m.artifacts,
      publishers: { ...m.publishers, urls: m.publishers.urls.map((u) => redactUrl(u)) },
    })),
    chain: {
      ...cfg.chain,
      rpc: redactUrl(cfg.chain.rpc),
      gasPriceCeilingWei: cfg.chain.gasPriceCeilingWei.toString(),
    },
    schedule: cfg.schedule,
    concurrency: cfg.concurrency,
    listen: cfg.listen,
    auth: {
      tokens: cfg.auth.tokens.map((t) =>
        t.kind === "env" ? t : { kind: "sha256", sha256: `${t.sha256.slice(0, 8)}...` },
      ),
    },
    database: cfg.database,
    api: cfg.api,
  };
}
