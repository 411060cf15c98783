import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { encryptKeystoreJson, Wallet } from "ethers";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { ConfigError, loadServiceConfig, parseServiceConfig, type ServiceConfig } from "../../service/config";
import { redactedConfig } from "../../service/redaction";
import {
  MAX_PUBLISHER_POLL_MS,
  MAX_RETRY_DELAY_MS,
  publisherPollDelayMs,
  retryDelayMs,
} from "../../service/retry";
import { apiTokenHashes, loadSignerKey } from "../../service/secrets";
import { marketIdOf } from "../../candles/market-id";
import { loadMarkets } from "../../service/markets";
import type { ZkriskError } from "../../core/errors";

const REAL_MODEL = join(__dirname, "../../models/btc-usdt-2h.quantized.json");
const ORACLE = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const TOKEN_HASH = "ab".repeat(32);

let dir: string;

/** A config dir: models/m.json (the real model), artifacts/a/artifacts.json, artifacts/empty/, keys/k.json. */
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "zkrisk-config-"));
  mkdirSync(join(dir, "models"));
  copyFileSync(REAL_MODEL, join(dir, "models/m.json"));
  mkdirSync(join(dir, "artifacts/a"), { recursive: true });
  writeFileSync(join(dir, "artifacts/a/artifacts.json"), "{}");
  mkdirSync(join(dir, "artifacts/empty"));
  mkdirSync(join(dir, "keys"));
  writeFileSync(join(dir, "keys/k.json"), "{}");
  // Only its existence is checked here; loadMarkets reads it (test/service/signed-service.test.ts).
  mkdirSync(join(dir, "publishers"));
  writeFileSync(join(dir, "publishers/set.json"), "{}");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.unstubAllEnvs());

/** A config document, loosely typed so tests can break it. */
interface Doc {
  markets: Record<string, unknown>[];
  chain: Record<string, unknown>;
  auth: { tokens: unknown[] };
  [key: string]: unknown;
}

/** The smallest valid document. */
function minimal(): Doc {
  return {
    markets: [
      {
        id: "BTC-USDT",
        model: "models/m.json",
        artifacts: "artifacts/a",
        publishers: { set: "publishers/set.json", urls: ["http://127.0.0.1:8090"] },
      },
    ],
    chain: { rpc: "http://127.0.0.1:8545", oracle: ORACLE.toLowerCase(), key: { env: "ZKRISK_KEY" } },
    auth: { tokens: [{ env: "ZKRISK_API_TOKEN" }] },
  };
}

/** `minimal()` with `edit` applied to it (edits mutate the fresh copy). */
function withEdit(edit: (doc: Doc) => unknown): Doc {
  const doc = minimal();
  edit(doc);
  return doc;
}

function parse(doc: unknown): ServiceConfig {
  return parseServiceConfig(doc, "service.json", dir);
}

/** Asserts that parsing `doc` raises a ConfigError with exactly `message`. */
function expectConfigError(doc: unknown, message: string): void {
  let error: unknown;
  try {
    parse(doc);
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as ConfigError).code).toBe("CONFIG_INVALID");
  expect((error as ConfigError).message).toBe(message);
}

async function rejection(promise: Promise<unknown>): Promise<ConfigError> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

function thrown(run: () => unknown): ConfigError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

describe("parseServiceConfig: valid documents", () => {
  it("reads a full config, resolving paths against the config's directory", () => {
    const doc = {
      markets: [
        {
          id: "BTC-USDT",
          model: "models/m.json",
          artifacts: "artifacts/a",
          publishers: { set: "publishers/set.json", urls: ["http://127.0.0.1:8090"] },
        },
        {
          id: "42",
          model: REAL_MODEL,
          artifacts: join(dir, "artifacts/a"),
          publishers: {
            set: join(dir, "publishers/set.json"),
            urls: ["https://a.example/", "https://b.example/p?key=1"],
            timeoutMs: 5000,
            waitSeconds: 900,
          },
        },
      ],
      batches: [
        {
          id: "majors",
          markets: ["ETH-USDT", "7"],
          model: "models/m.json",
          artifacts: "artifacts/a",
          publishers: { set: "publishers/set.json", urls: ["http://127.0.0.1:8091"] },
        },
      ],
      chain: {
        rpc: "https://rpc.example:8545",
        oracle: ORACLE,
        key: { keystore: "keys/k.json", passwordEnv: "ZKRISK_KEYSTORE_PASSWORD" },
        gasPriceCeilingGwei: 2.5,
        confirmations: 3,
        maxAttempts: 7,
        retryBaseMs: 500,
        replaceAfterSeconds: 60,
      },
      schedule: { pollSeconds: 0.5, keepJobsDays: 30 },
      concurrency: 4,
      listen: { host: "0.0.0.0", port: 0 },
      auth: { tokens: [{ env: "ZKRISK_API_TOKEN" }, { sha256: TOKEN_HASH.toUpperCase() }] },
      database: "state/jobs.db",
      api: {
        bodyLimitBytes: 64,
        rateLimitPerMinute: 1_000_000,
        maxPendingJobsPerMarket: 2,
        maxBarAgeSeconds: 86_400,
      },
      queue: { lockSeconds: 5, leaseSeconds: 3 },
    };
    expect(parse(doc)).toEqual({
      file: "service.json",
      markets: [
        {
          id: "BTC-USDT",
          marketId: marketIdOf("BTC-USDT"),
          model: join(dir, "models/m.json"),
          artifacts: join(dir, "artifacts/a"),
          publishers: {
            set: join(dir, "publishers/set.json"),
            urls: ["http://127.0.0.1:8090"],
            timeoutMs: 10_000,
            waitSeconds: 3600,
          },
        },
        {
          id: "42",
          marketId: 42n,
          model: REAL_MODEL,
          artifacts: join(dir, "artifacts/a"),
          publishers: {
            set: join(dir, "publishers/set.json"),
            urls: ["https://a.example/", "https://b.example/p?key=1"],
            timeoutMs: 5000,
            waitSeconds: 900,
          },
        },
      ],
      batches: [
        {
          id: "majors",
          markets: [
            { id: "ETH-USDT", marketId: marketIdOf("ETH-USDT") },
            { id: "7", marketId: 7n },
          ],
          model: join(dir, "models/m.json"),
          marketModels: {},
          artifacts: join(dir, "artifacts/a"),
          publishers: {
            set: join(dir, "publishers/set.json"),
            urls: ["http://127.0.0.1:8091"],
            timeoutMs: 10_000,
            waitSeconds: 3600,
          },
        },
      ],
      chain: {
        rpc: "https://rpc.example:8545",
        oracle: ORACLE,
        key: { kind: "keystore", path: join(dir, "keys/k.json"), passwordEnv: "ZKRISK_KEYSTORE_PASSWORD" },
        gasPriceCeilingGwei: 2.5,
        gasPriceCeilingWei: 2_500_000_000n,
        confirmations: 3,
        maxAttempts: 7,
        retryBaseMs: 500,
        replaceAfterSeconds: 60,
      },
      schedule: { pollSeconds: 0.5, keepJobsDays: 30 },
      concurrency: 4,
      listen: { host: "0.0.0.0", port: 0 },
      auth: {
        tokens: [
          { kind: "env", name: "ZKRISK_API_TOKEN" },
          { kind: "sha256", sha256: TOKEN_HASH },
        ],
      },
      database: join(dir, "state/jobs.db"),
      api: {
        bodyLimitBytes: 64,
        rateLimitPerMinute: 1_000_000,
        maxPendingJobsPerMarket: 2,
        maxBarAgeSeconds: 86_400,
      },
      queue: { lockSeconds: 5, leaseSeconds: 3, prefix: "zkrisk" },
    });
  });

  it("takes market ids up to 78 characters (the API takes them all): a decimal id of 77 digits and a leading zero", () => {
    const longest = "0" + "1".repeat(77);
    const cfg = parse(withEdit((d) => (d.markets[0].id = longest)));
    expect(cfg.markets[0].marketId).toBe(BigInt(longest));
  });

  it("fills in every default of a minimal config and checksums the oracle address", () => {
    expect(parse(minimal())).toEqual({
      file: "service.json",
      markets: [
        {
          id: "BTC-USDT",
          marketId: marketIdOf("BTC-USDT"),
          model: join(dir, "models/m.json"),
          artifacts: join(dir, "artifacts/a"),
          publishers: {
            set: join(dir, "publishers/set.json"),
            urls: ["http://127.0.0.1:8090"],
            timeoutMs: 10_000,
            waitSeconds: 3600,
          },
        },
      ],
      batches: [],
      chain: {
        rpc: "http://127.0.0.1:8545",
        oracle: ORACLE,
        key: { kind: "env", name: "ZKRISK_KEY" },
        gasPriceCeilingGwei: 100,
        gasPriceCeilingWei: 100_000_000_000n,
        confirmations: 1,
        maxAttempts: 5,
        retryBaseMs: 2000,
        replaceAfterSeconds: 180,
      },
      schedule: { pollSeconds: 30, keepJobsDays: 90 },
      concurrency: 1,
      listen: { host: "127.0.0.1", port: 8080 },
      auth: { tokens: [{ kind: "env", name: "ZKRISK_API_TOKEN" }] },
      database: join(dir, "zkrisk.db"),
      // At most 16 unfinished API jobs per market; proof-only requests for bars up to 7 days old.
      api: {
        bodyLimitBytes: 4096,
        rateLimitPerMinute: 600,
        maxPendingJobsPerMarket: 16,
        maxBarAgeSeconds: 604_800,
      },
      queue: { lockSeconds: 30, leaseSeconds: 10, prefix: "zkrisk" },
    });
  });

  it("defaults the publishers' timeout to 10 s, their wait to half a bar and empty optional objects to their defaults", () => {
    const cfg = parse(
      withEdit((d) => {
        d.schedule = {};
        d.listen = { port: 9090 };
        d.api = {};
      }),
    );
    expect(cfg.markets[0].publishers.timeoutMs).toBe(10_000);
    // Half the 2 h bars of signed windows: the wait ends before the next bar closes.
    expect(cfg.markets[0].publishers.waitSeconds).toBe(3600);
    expect(cfg.schedule).toEqual({ pollSeconds: 30, keepJobsDays: 90 });
    expect(cfg.listen).toEqual({ host: "127.0.0.1", port: 9090 });
    expect(cfg.api).toEqual({
      bodyLimitBytes: 4096,
      rateLimitPerMinute: 600,
      maxPendingJobsPerMarket: 16,
      maxBarAgeSeconds: 604_800,
    });
  });
});

describe("parseServiceConfig: bad input, one message per class", () => {
  it("missing fields", () => {
    expectConfigError(
      withEdit((d) => delete d.chain.oracle),
      "service.json: chain.oracle: missing",
    );
    expectConfigError(
      withEdit((d) => delete d.markets[0].model),
      "service.json: markets[0].model: missing",
    );
    expectConfigError(
      withEdit((d) => delete (d as Partial<Doc>).auth),
      "service.json: auth: missing",
    );
    expectConfigError(
      withEdit((d) => (d.chain.key = { keystore: "keys/k.json" })),
      "service.json: chain.key.passwordEnv: missing",
    );
  });

  it("wrong types", () => {
    expectConfigError([], "service.json: (root): expected an object, got []");
    expectConfigError(
      withEdit((d) => (d.concurrency = "2")),
      'service.json: concurrency: expected a finite number, got "2"',
    );
    expectConfigError(
      withEdit((d) => (d.markets = { id: "BTC-USDT" } as never)),
      "service.json: markets: expected an array, got object",
    );
    expectConfigError(
      withEdit((d) => (d.markets[0].id = 1)),
      "service.json: markets[0].id: expected a string, got 1",
    );
    expectConfigError(
      withEdit((d) => (d.schedule = 30)),
      "service.json: schedule: expected an object, got 30",
    );
    expectConfigError(
      withEdit((d) => (d.concurrency = 1.5)),
      "service.json: concurrency: expected an integer in [1, 64], got 1.5",
    );
  });

  it("unknown keys, at every level", () => {
    expectConfigError(
      withEdit((d) => {
        d.chain.rcp = d.chain.rpc;
        delete d.chain.rpc;
      }),
      "service.json: chain.rcp: unknown key (expected one of rpc, oracle, key, gasPriceCeilingGwei, " +
        "confirmations, maxAttempts, retryBaseMs, replaceAfterSeconds)",
    );
    expectConfigError(
      withEdit((d) => (d.concurency = 2)),
      "service.json: concurency: unknown key (expected one of markets, batches, chain, schedule, concurrency, listen, " +
        "auth, database, api, queue)",
    );
    expectConfigError(
      withEdit((d) => (d.schedule = { pollSecond: 5 })),
      "service.json: schedule.pollSecond: unknown key (expected one of pollSeconds, keepJobsDays)",
    );
    expectConfigError(
      withEdit((d) => (d.markets[0].publishers = { set: "publishers/set.json", urls: [], timeout: 5 })),
      "service.json: markets[0].publishers.timeout: unknown key (expected one of set, urls, timeoutMs, waitSeconds)",
    );
    expectConfigError(
      withEdit((d) => (d.markets[0].candles = { csv: "a.csv" })),
      "service.json: markets[0].candles: unknown key (expected one of id, model, artifacts, publishers)",
    );
    expectConfigError(
      withEdit((d) => (d.auth.tokens = [{ env: "T", sha: "x" }])),
      "service.json: auth.tokens[0].sha: unknown key (expected one of env, sha256)",
    );
    expectConfigError(
      withEdit((d) => (d.api = { maxPendingJobs: 4 })),
      "service.json: api.maxPendingJobs: unknown key (expected one of bodyLimitBytes, rateLimitPerMinute, " +
        "maxPendingJobsPerMarket, maxBarAgeSeconds)",
    );
  });

  it("publishers: a set file that exists, one to eight distinct http(s) URLs", () => {
    const publishers = (p: Record<string, unknown>) =>
      withEdit((d) => (d.markets[0].publishers = { set: "publishers/set.json", ...p }));
    expectConfigError(
      withEdit((d) => (d.markets[0].publishers = { urls: ["http://x/"] })),
      "service.json: markets[0].publishers.set: missing",
    );
    expectConfigError(
      withEdit((d) => (d.markets[0].publishers = { set: "publishers/none.json", urls: ["http://x/"] })),
      `service.json: markets[0].publishers.set: file ${join(dir, "publishers/none.json")} does not exist`,
    );
    expectConfigError(publishers({}), "service.json: markets[0].publishers.urls: missing");
    expectConfigError(
      publishers({ urls: [] }),
      "service.json: markets[0].publishers.urls: expected at least one publisher URL",
    );
    expectConfigError(
      publishers({ urls: Array.from({ length: 9 }, (_, i) => `http://p${i}/`) }),
      "service.json: markets[0].publishers.urls: 9 publishers, more than a publisher set holds (8)",
    );
    expectConfigError(
      publishers({ urls: ["http://a:1/", "http://b:2", "http://a:1"] }),
      "service.json: markets[0].publishers.urls[2]: duplicate publisher http://a:1/: already urls[0]",
    );
    // One publisher under two spellings: the scheme's and host's case, the default port.
    expectConfigError(
      publishers({ urls: ["http://pub-a:8090", "HTTP://Pub-A:8090/"] }),
      "service.json: markets[0].publishers.urls[1]: duplicate publisher http://pub-a:8090/: already urls[0]",
    );
    expectConfigError(
      publishers({ urls: ["https://pub-a/v1", "https://pub-a:443/v1/"] }),
      "service.json: markets[0].publishers.urls[1]: duplicate publisher https://pub-a/v1/: already urls[0]",
    );
    expectConfigError(
      publishers({ urls: ["http://a:1/", 7] }),
      "service.json: markets[0].publishers.urls[1]: expected a string, got 7",
    );
  });

  it("publishers: no user name or password in a URL (fetch refuses them), shown masked", () => {
    const refusal = (field: string, url: string) =>
      `service.json: ${field}: ${url} holds a user name or password: publishers are asked without credentials ` +
      "(a key in the query string is kept)";
    expectConfigError(
      withEdit(
        (d) =>
          (d.markets[0].publishers = {
            set: "publishers/set.json",
            urls: ["http://127.0.0.1:8090/", "http://reader:pubS3cretPW@127.0.0.1:8091/?key=PUBKEY99"],
          }),
      ),
      refusal("markets[0].publishers.urls[1]", "http://***:***@127.0.0.1:8091/?key=***"),
    );
    expectConfigError(
      withEdit((d) => {
        d.batches = [
          {
            id: "majors",
            markets: ["ETH-USDT", "SOL-USDT"],
            model: "models/m.json",
            artifacts: "artifacts/a",
            publishers: { set: "publishers/set.json", urls: ["https://reader@pub.example/"] },
          },
        ];
      }),
      refusal("batches[0].publishers.urls[0]", "https://***@pub.example/"),
    );
    // A key in the query string is taken.
    const cfg = parse(
      withEdit(
        (d) =>
          (d.markets[0].publishers = { set: "publishers/set.json", urls: ["https://pub.example/?key=K"] }),
      ),
    );
    expect(cfg.markets[0].publishers.urls).toEqual(["https://pub.example/?key=K"]);
  });

  it("bad URLs", () => {
    expectConfigError(
      withEdit((d) => (d.chain.rpc = "127.0.0.1:8545")),
      'service.json: chain.rpc: expected an http(s) URL, got "127.0.0.1:8545"',
    );
    expectConfigError(
      withEdit((d) => (d.chain.rpc = "ws://127.0.0.1:8546")),
      'service.json: chain.rpc: expected an http(s) URL, got "ws://127.0.0.1:8546"',
    );
    expectConfigError(
      withEdit(
        (d) => (d.markets[0].publishers = { set: "publishers/set.json", urls: ["file:///etc/passwd"] }),
      ),
      'service.json: markets[0].publishers.urls[0]: expected an http(s) URL, got "file:///etc/passwd"',
    );
  });

  it("bad oracle addresses", () => {
    expectConfigError(
      withEdit((d) => (d.chain.oracle = "0x1234")),
      'service.json: chain.oracle: expected a 20-byte hex address (0x and 40 hex digits), got "0x1234"',
    );
    const badChecksum = "0x5fbDB2315678afecb367f032d93F642f64180aa3";
    expectConfigError(
      withEdit((d) => (d.chain.oracle = badChecksum)),
      `service.json: chain.oracle: mixed-case address ${badChecksum} fails its EIP-55 checksum`,
    );
  });

  it("bad and duplicate market ids", () => {
    const second = (id: string) => withEdit((d) => d.markets.push({ ...d.markets[0], id }));
    expectConfigError(
      second("BTC-USDT"),
      'service.json: markets[1].id: duplicate market id "BTC-USDT": already markets[0].id',
    );
    expectConfigError(
      withEdit((d) => {
        d.markets[0].id = "7";
        d.markets.push({ ...d.markets[0], id: "07" });
      }),
      'service.json: markets[1].id: duplicate market id "07" (the same field element as "7"): already markets[0].id',
    );
    expectConfigError(
      withEdit((d) => (d.markets[0].id = "BTC\u2013USDT")),
      "service.json: markets[0].id: 'BTC\u2013USDT' must be a number or printable ASCII of at most 31 bytes",
    );
    expectConfigError(
      withEdit((d) => (d.markets[0].id = "X".repeat(32))),
      `service.json: markets[0].id: '${"X".repeat(32)}' must be a number or printable ASCII of at most 31 bytes`,
    );
    expectConfigError(
      withEdit((d) => (d.markets[0].id = "")),
      "service.json: markets[0].id: expected a non-empty market id",
    );
    // Longer than any market id the API takes (MAX_MARKET_ID_LENGTH): only leading zeros make one so long.
    const tooLong = "0".repeat(39) + "1".repeat(40);
    expectConfigError(
      withEdit((d) => (d.markets[0].id = tooLong)),
      `service.json: markets[0].id: expected at most 78 characters, got "${tooLong}"`,
    );
    expectConfigError(
      withEdit((d) => (d.markets = [])),
      "service.json: markets: expected at least one market (or one batch in `batches`)",
    );
  });

  it("batches: labels, markets proved twice, sizes, and a config of batches only", () => {
    const batch = (over: Record<string, unknown> = {}) => ({
      id: "majors",
      markets: ["ETH-USDT", "SOL-USDT"],
      model: "models/m.json",
      artifacts: "artifacts/a",
      publishers: { set: "publishers/set.json", urls: ["http://127.0.0.1:8090"] },
      ...over,
    });
    const only = parse(
      withEdit((d) => (((d as Record<string, unknown>).markets = undefined), (d.batches = [batch()]))),
    );
    expect(only.markets).toEqual([]);
    expect(only.batches.map((b) => b.markets.map((m) => m.id))).toEqual([["ETH-USDT", "SOL-USDT"]]);
    expectConfigError(
      withEdit((d) => (d.batches = [batch({ markets: ["ETH-USDT", "BTC-USDT"] })])),
      'service.json: batches[0].markets[1]: duplicate market id "BTC-USDT": already markets[0].id',
    );
    expectConfigError(
      withEdit((d) => (d.batches = [batch(), batch({ id: "alts", markets: ["ADA-USDT", "SOL-USDT"] })])),
      'service.json: batches[1].markets[1]: duplicate market id "SOL-USDT": already batches[0].markets[1]',
    );
    expectConfigError(
      withEdit((d) => (d.batches = [batch({ markets: ["ETH-USDT", "ETH-USDT"] })])),
      'service.json: batches[0].markets[1]: duplicate market id "ETH-USDT": already batches[0].markets[0]',
    );
    expectConfigError(
      withEdit((d) => (d.batches = [batch({ id: "BTC-USDT" })])),
      'service.json: batches[0].id: "BTC-USDT" is already markets[0].id (jobs and metrics name both by it)',
    );
    expectConfigError(
      withEdit((d) => (d.batches = [batch(), batch({ id: "majors", markets: ["A", "B"] })])),
      'service.json: batches[1].id: "majors" is already batches[0].id (jobs and metrics name both by it)',
    );
    expectConfigError(
      withEdit((d) => (d.batches = [batch(), batch({ id: "alts", markets: ["majors", "B"] })])),
      'service.json: batches[1].markets[0]: "majors" is the label of batches[0].id, a batch',
    );
    expectConfigError(
      withEdit((d) => (d.batches = [batch({ id: "no/slash" })])),
      "service.json: batches[0].id: expected a batch label (a letter or digit, then letters, digits, '.', " +
        `'_' or '-'; at most 31), got "no/slash"`,
    );
    expectConfigError(
      withEdit((d) => (d.batches = [batch({ markets: ["ETH-USDT"] })])),
      "service.json: batches[0].markets: expected at least 2 markets in a batch (one market is a `markets` entry)",
    );
    expectConfigError(
      withEdit((d) => (d.batches = [batch({ artifacts: "artifacts/empty" })])),
      `service.json: batches[0].artifacts: ${join(dir, "artifacts/empty")} has no artifacts.json (run the ` +
        "trusted setup for this model first)",
    );
    expectConfigError(
      withEdit((d) => (d.batches = [batch({ extra: 1 })])),
      "service.json: batches[0].extra: unknown key (expected one of id, markets, model, marketModels, " +
        "artifacts, publishers)",
    );
  });

  it("batches: markets' own model files (marketModels), members only, files that exist", () => {
    const batch = (marketModels: Record<string, unknown>) => ({
      id: "majors",
      markets: ["ETH-USDT", "SOL-USDT"],
      model: "models/m.json",
      marketModels,
      artifacts: "artifacts/a",
      publishers: { set: "publishers/set.json", urls: ["http://127.0.0.1:8090"] },
    });
    const cfg = parse(withEdit((d) => (d.batches = [batch({ "SOL-USDT": "models/m.json" })])));
    expect(cfg.batches[0].marketModels).toEqual({ "SOL-USDT": join(dir, "models/m.json") });
    expect(parse(withEdit((d) => (d.batches = [batch({})]))).batches[0].marketModels).toEqual({});
    expectConfigError(
      withEdit((d) => (d.batches = [batch({ "BTC-USDT": "models/m.json" })])),
      'service.json: batches[0].marketModels.BTC-USDT: "BTC-USDT" is not a market of the batch',
    );
    expectConfigError(
      withEdit((d) => (d.batches = [batch({ "ETH-USDT": "models/missing.json" })])),
      `service.json: batches[0].marketModels.ETH-USDT: file ${join(dir, "models/missing.json")} does not exist`,
    );
    expectConfigError(
      withEdit((d) => (d.batches = [batch({ "ETH-USDT": 3 })])),
      "service.json: batches[0].marketModels.ETH-USDT: expected a string, got 3",
    );
  });

  it("missing (or of the wrong kind) model, artifacts directory and keystore", () => {
    expectConfigError(
      withEdit((d) => (d.markets[0].model = "models/missing.json")),
      `service.json: markets[0].model: file ${join(dir, "models/missing.json")} does not exist`,
    );
    expectConfigError(
      withEdit((d) => (d.markets[0].model = "models")),
      `service.json: markets[0].model: ${join(dir, "models")} is a directory, not a file`,
    );
    expectConfigError(
      withEdit((d) => (d.markets[0].artifacts = "models/m.json")),
      `service.json: markets[0].artifacts: ${join(dir, "models/m.json")} is a file, not a directory`,
    );
    expectConfigError(
      withEdit((d) => (d.markets[0].artifacts = "artifacts/none")),
      `service.json: markets[0].artifacts: directory ${join(dir, "artifacts/none")} does not exist`,
    );
    expectConfigError(
      withEdit((d) => (d.markets[0].artifacts = "artifacts/empty")),
      `service.json: markets[0].artifacts: ${join(dir, "artifacts/empty")} has no artifacts.json ` +
        "(run the trusted setup for this model first)",
    );
    expectConfigError(
      withEdit((d) => (d.chain.key = { keystore: "keys/none.json", passwordEnv: "P" })),
      `service.json: chain.key.keystore: file ${join(dir, "keys/none.json")} does not exist`,
    );
  });

  it("key and token sources", () => {
    expectConfigError(
      withEdit((d) => (d.chain.key = {})),
      'service.json: chain.key: expected exactly one of "env" or "keystore"',
    );
    expectConfigError(
      withEdit((d) => (d.chain.key = { env: "K", passwordEnv: "P" })),
      'service.json: chain.key.passwordEnv: only applies to a "keystore" key',
    );
    expectConfigError(
      withEdit((d) => (d.chain.key = { env: "0x1234" })),
      'service.json: chain.key.env: expected an environment variable name, got "0x1234"',
    );
    expectConfigError(
      withEdit((d) => (d.auth.tokens = [])),
      "service.json: auth.tokens: expected at least one token",
    );
    expectConfigError(
      withEdit((d) => (d.auth.tokens = [{ env: "T", sha256: TOKEN_HASH }])),
      'service.json: auth.tokens[0]: expected exactly one of "env" or "sha256"',
    );
    expectConfigError(
      withEdit((d) => (d.auth.tokens = [{ sha256: "secret" }])),
      'service.json: auth.tokens[0].sha256: expected 64 hex digits (the token\'s sha256), got "secret"',
    );
  });

  it("numbers out of range", () => {
    const cases: [(d: Doc) => unknown, string][] = [
      [(d) => (d.concurrency = 0), "concurrency: expected an integer in [1, 64], got 0"],
      [(d) => (d.concurrency = 65), "concurrency: expected an integer in [1, 64], got 65"],
      [(d) => (d.listen = { port: 65536 }), "listen.port: expected an integer in [0, 65535], got 65536"],
      [(d) => (d.listen = { host: "" }), "listen.host: expected a non-empty string"],
      [
        (d) => (d.schedule = { pollSeconds: 0.05 }),
        "schedule.pollSeconds: expected a number in [0.1, 3600], got 0.05",
      ],
      [
        (d) => (d.schedule = { pollSeconds: 3601 }),
        "schedule.pollSeconds: expected a number in [0.1, 3600], got 3601",
      ],
      [
        (d) => (d.schedule = { keepJobsDays: 0 }),
        "schedule.keepJobsDays: expected an integer in [1, 36500], got 0",
      ],
      [
        (d) => (d.schedule = { keepJobsDays: 1.5 }),
        "schedule.keepJobsDays: expected an integer in [1, 36500], got 1.5",
      ],
      [
        (d) => (d.chain.gasPriceCeilingGwei = 0),
        "chain.gasPriceCeilingGwei: expected a number in (0, 1000000], got 0",
      ],
      [
        (d) => (d.chain.gasPriceCeilingGwei = 1e-10),
        "chain.gasPriceCeilingGwei: must be at least 1 wei (1e-9 gwei)",
      ],
      [(d) => (d.chain.confirmations = 65), "chain.confirmations: expected an integer in [1, 64], got 65"],
      [(d) => (d.chain.maxAttempts = 0), "chain.maxAttempts: expected an integer in [1, 100], got 0"],
      [(d) => (d.chain.retryBaseMs = 9), "chain.retryBaseMs: expected an integer in [10, 600000], got 9"],
      [
        (d) => (d.chain.replaceAfterSeconds = 0),
        "chain.replaceAfterSeconds: expected an integer in [1, 86400], got 0",
      ],
      [
        (d) => (d.markets[0].publishers = { set: "publishers/set.json", urls: ["http://x/"], timeoutMs: 99 }),
        "markets[0].publishers.timeoutMs: expected an integer in [100, 120000], got 99",
      ],
      [
        (d) =>
          (d.markets[0].publishers = { set: "publishers/set.json", urls: ["http://x/"], waitSeconds: -1 }),
        "markets[0].publishers.waitSeconds: expected an integer in [0, 86400], got -1",
      ],
      [
        (d) =>
          (d.markets[0].publishers = {
            set: "publishers/set.json",
            urls: ["http://x/"],
            waitSeconds: 86_401,
          }),
        "markets[0].publishers.waitSeconds: expected an integer in [0, 86400], got 86401",
      ],
      [
        (d) => (d.api = { bodyLimitBytes: 63 }),
        "api.bodyLimitBytes: expected an integer in [64, 1048576], got 63",
      ],
      [
        (d) => (d.api = { rateLimitPerMinute: 1_000_001 }),
        "api.rateLimitPerMinute: expected an integer in [1, 1000000], got 1000001",
      ],
      [
        (d) => (d.api = { maxPendingJobsPerMarket: 0 }),
        "api.maxPendingJobsPerMarket: expected an integer in [1, 10000], got 0",
      ],
      [
        (d) => (d.api = { maxBarAgeSeconds: 3600 }),
        "api.maxBarAgeSeconds: expected an integer in [86400, 315360000], got 3600",
      ],
      [(d) => (d.queue = { lockSeconds: 0 }), "queue.lockSeconds: expected an integer in [1, 600], got 0"],
      [
        (d) => (d.queue = { leaseSeconds: 601 }),
        "queue.leaseSeconds: expected an integer in [1, 600], got 601",
      ],
    ];
    for (const [edit, message] of cases) expectConfigError(withEdit(edit), `service.json: ${message}`);
  });
});

describe("loadServiceConfig", () => {
  it("reads a file and resolves its paths against the file's directory, whatever the working directory", () => {
    const file = join(dir, "service.json");
    writeFileSync(file, JSON.stringify(minimal()));
    const cfg = loadServiceConfig(file);
    expect(cfg.file).toBe(file);
    expect(cfg.markets[0].model).toBe(join(dir, "models/m.json"));
    expect(cfg.database).toBe(join(dir, "zkrisk.db"));
  });

  it("names the file when it is missing, not JSON, or invalid", () => {
    const missing = join(dir, "none.json");
    expect(thrown(() => loadServiceConfig(missing)).message).toMatch(
      new RegExp(`^${missing}: file not found`),
    );
    const broken = join(dir, "broken.json");
    writeFileSync(broken, "{ markets: [] }");
    expect(thrown(() => loadServiceConfig(broken)).message).toMatch(
      new RegExp(`^${broken}:1:3: not valid JSON: Expected property name or '}'$`),
    );
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify(withEdit((d) => (d.concurrency = 0))));
    expect(thrown(() => loadServiceConfig(bad)).message).toBe(
      `${bad}: concurrency: expected an integer in [1, 64], got 0`,
    );
  });
});

describe("retryDelayMs", () => {
  it("doubles from retryBaseMs and caps at 10 minutes", () => {
    expect([1, 2, 3, 4].map((a) => retryDelayMs(2000, a))).toEqual([2000, 4000, 8000, 16000]);
    expect(retryDelayMs(2000, 9)).toBe(512_000);
    expect(retryDelayMs(2000, 10)).toBe(MAX_RETRY_DELAY_MS);
    expect(retryDelayMs(600_000, 100)).toBe(MAX_RETRY_DELAY_MS);
  });
});

describe("publisherPollDelayMs", () => {
  it("waits a quarter of the time since the bar's close, at least retryBaseMs, at most 30 s", () => {
    // Seconds waited since the close -> ms until the publishers are asked again (retryBaseMs 2000).
    expect([0, 1, 8, 10, 60, 119, 120, 3600].map((s) => publisherPollDelayMs(2000, s))).toEqual([
      2000, 2000, 2000, 2500, 15_000, 29_750, 30_000, 30_000,
    ]);
    expect(MAX_PUBLISHER_POLL_MS).toBe(30_000);
    // A bar asked for long after its close, or a chain clock behind the bar's close.
    expect(publisherPollDelayMs(200, 86_400)).toBe(MAX_PUBLISHER_POLL_MS);
    expect(publisherPollDelayMs(200, -5)).toBe(200);
    // A retryBaseMs above the cap is capped too.
    expect(publisherPollDelayMs(600_000, 0)).toBe(MAX_PUBLISHER_POLL_MS);
  });
});

describe("loadSignerKey", () => {
  const KEY = `0x${"1f".repeat(32)}`;
  const envKey = { key: { kind: "env" as const, name: "ZKRISK_TEST_SIGNER_KEY" } };

  it("reads a key from the environment", async () => {
    vi.stubEnv("ZKRISK_TEST_SIGNER_KEY", KEY);
    expect(await loadSignerKey(envKey)).toBe(KEY);
  });

  it("refuses an unset variable, naming it", async () => {
    vi.stubEnv("ZKRISK_TEST_SIGNER_KEY", undefined);
    expect((await rejection(loadSignerKey(envKey))).message).toBe(
      "chain.key.env: environment variable ZKRISK_TEST_SIGNER_KEY is empty or unset",
    );
  });

  it("refuses a malformed key without showing it", async () => {
    for (const value of [KEY.slice(0, -2), KEY.slice(2), `${KEY.slice(0, -1)}g`]) {
      vi.stubEnv("ZKRISK_TEST_SIGNER_KEY", value);
      const error = await rejection(loadSignerKey(envKey));
      expect(error.message).toBe(
        "chain.key.env: ZKRISK_TEST_SIGNER_KEY is not a 0x-prefixed 32-byte hex private key (value not shown)",
      );
      expect(error.message).not.toContain(value);
    }
  });

  describe("from a keystore", () => {
    const wallet = Wallet.createRandom();
    const password = "correct horse battery staple";
    let keystore: string;
    const source = () => ({
      key: { kind: "keystore" as const, path: keystore, passwordEnv: "ZKRISK_TEST_KEYSTORE_PASSWORD" },
    });

    beforeAll(async () => {
      keystore = join(dir, "keys/prover.json");
      // A small scrypt cost keeps the test fast; the service decrypts whatever cost the file declares.
      writeFileSync(
        keystore,
        await encryptKeystoreJson({ address: wallet.address, privateKey: wallet.privateKey }, password, {
          scrypt: { N: 1024 },
        }),
      );
    });

    it("decrypts with the password from the named variable", async () => {
      vi.stubEnv("ZKRISK_TEST_KEYSTORE_PASSWORD", password);
      expect(await loadSignerKey(source())).toBe(wallet.privateKey);
    });

    it("names the file and the variable on a wrong password, never the password", async () => {
      vi.stubEnv("ZKRISK_TEST_KEYSTORE_PASSWORD", "wrong password");
      const error = await rejection(loadSignerKey(source()));
      expect(error.message).toBe(
        `chain.key.keystore: ${keystore}: cannot decrypt keystore with the password in ` +
          "ZKRISK_TEST_KEYSTORE_PASSWORD: incorrect password",
      );
      expect(error.message).not.toContain("wrong password");
    });

    it("refuses an unset password variable and a file that is not a keystore", async () => {
      vi.stubEnv("ZKRISK_TEST_KEYSTORE_PASSWORD", undefined);
      expect((await rejection(loadSignerKey(source()))).message).toBe(
        "chain.key.passwordEnv: environment variable ZKRISK_TEST_KEYSTORE_PASSWORD is empty or unset",
      );
      vi.stubEnv("ZKRISK_TEST_KEYSTORE_PASSWORD", password);
      const notKeystore = join(dir, "keys/k.json");
      const error = await rejection(loadSignerKey({ key: { ...source().key, path: notKeystore } }));
      expect(error.message).toMatch(
        new RegExp(
          `^chain\\.key\\.keystore: ${notKeystore}: cannot decrypt keystore with the password in ZKRISK_TEST_KEYSTORE_PASSWORD: `,
        ),
      );
    });
  });

  it("names the config file of a parsed config, the field and the variable (issue: serve --check)", async () => {
    vi.stubEnv("NOPE_UNSET", undefined);
    const cfg = parse(withEdit((d) => (d.chain.key = { env: "NOPE_UNSET" })));
    expect((await rejection(loadSignerKey(cfg.chain))).message).toBe(
      "service.json: chain.key.env: environment variable NOPE_UNSET is empty or unset",
    );
    vi.stubEnv("NOPE_UNSET", "0x12");
    expect((await rejection(loadSignerKey(cfg.chain))).message).toBe(
      "service.json: chain.key.env: NOPE_UNSET is not a 0x-prefixed 32-byte hex private key (value not shown)",
    );
    const keystore = parse(
      withEdit((d) => (d.chain.key = { keystore: "keys/k.json", passwordEnv: "NOPE_PASSWORD" })),
    );
    vi.stubEnv("NOPE_PASSWORD", undefined);
    expect((await rejection(loadSignerKey(keystore.chain))).message).toBe(
      "service.json: chain.key.passwordEnv: environment variable NOPE_PASSWORD is empty or unset",
    );
    vi.stubEnv("NOPE_PASSWORD", "a password");
    expect((await rejection(loadSignerKey(keystore.chain))).message).toMatch(
      new RegExp(
        `^service\\.json: chain\\.key\\.keystore: ${join(dir, "keys/k.json")}: cannot decrypt keystore `,
      ),
    );
  });
});

describe("apiTokenHashes", () => {
  const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");
  const auth = {
    tokens: [
      { kind: "env" as const, name: "ZKRISK_TEST_API_TOKEN" },
      { kind: "sha256" as const, sha256: TOKEN_HASH },
    ],
  };

  it("hashes environment tokens when called and passes configured hashes through", () => {
    vi.stubEnv("ZKRISK_TEST_API_TOKEN", "a-long-enough-token");
    expect(apiTokenHashes(auth)).toEqual([sha256("a-long-enough-token"), TOKEN_HASH]);
    vi.stubEnv("ZKRISK_TEST_API_TOKEN", "another-long-token");
    expect(apiTokenHashes(auth)[0]).toBe(sha256("another-long-token"));
  });

  it("refuses an unset or short token, naming the variable only", () => {
    vi.stubEnv("ZKRISK_TEST_API_TOKEN", undefined);
    expect(thrown(() => apiTokenHashes(auth)).message).toBe(
      "auth.tokens[0].env: environment variable ZKRISK_TEST_API_TOKEN is empty or unset",
    );
    vi.stubEnv("ZKRISK_TEST_API_TOKEN", "short-token-15c");
    const error = thrown(() => apiTokenHashes(auth));
    expect(error.message).toBe(
      "auth.tokens[0].env: the token in ZKRISK_TEST_API_TOKEN is shorter than 16 characters",
    );
    expect(error.message).not.toContain("short-token-15c");
  });

  it("names the config file of a parsed config and the token's index (issue: serve --check)", () => {
    const cfg = parse(
      withEdit((d) => (d.auth.tokens = [{ sha256: TOKEN_HASH }, { env: "ZKRISK_TEST_API_TOKEN" }])),
    );
    vi.stubEnv("ZKRISK_TEST_API_TOKEN", undefined);
    expect(thrown(() => apiTokenHashes(cfg.auth)).message).toBe(
      "service.json: auth.tokens[1].env: environment variable ZKRISK_TEST_API_TOKEN is empty or unset",
    );
    vi.stubEnv("ZKRISK_TEST_API_TOKEN", "short-token-15c");
    expect(thrown(() => apiTokenHashes(cfg.auth)).message).toBe(
      "service.json: auth.tokens[1].env: the token in ZKRISK_TEST_API_TOKEN is shorter than 16 characters",
    );
  });
});

describe("redactedConfig", () => {
  it("is JSON-safe and holds no secret", () => {
    vi.stubEnv("ZKRISK_KEY", `0x${"2e".repeat(32)}`);
    vi.stubEnv("ZKRISK_API_TOKEN", "the-api-token-value");
    const cfg = parse(
      withEdit((d) => {
        d.chain.rpc = "https://user:rpc-password@rpc.example/v1?apikey=rpc-api-key";
        d.markets[0].publishers = {
          set: "publishers/set.json",
          urls: ["http://127.0.0.1:9000/feed/publisher-path-key-0123/?token=feed-token"],
        };
        d.auth.tokens.push({ sha256: TOKEN_HASH });
      }),
    );
    const text = JSON.stringify(redactedConfig(cfg));
    for (const secret of [
      "rpc-password",
      "rpc-api-key",
      "feed-token",
      "publisher-path-key-0123",
      "2e2e2e",
      "the-api-token-value",
      TOKEN_HASH,
    ]) {
      expect(text).not.toContain(secret);
    }
    const shown = JSON.parse(text);
    expect(shown.chain.rpc).toBe("https://***:***@rpc.example/v1?apikey=***");
    expect(shown.chain.key).toEqual({ kind: "env", name: "ZKRISK_KEY" });
    expect(shown.chain.gasPriceCeilingWei).toBe("100000000000");
    expect(shown.markets[0].publishers).toEqual({
      set: join(dir, "publishers/set.json"),
      urls: ["http://127.0.0.1:9000/feed/***/?token=***"],
      timeoutMs: 10_000,
      waitSeconds: 3600,
    });
    expect(shown.markets[0].marketId).toBe(marketIdOf("BTC-USDT").toString());
    expect(shown.auth.tokens).toEqual([
      { kind: "env", name: "ZKRISK_API_TOKEN" },
      { kind: "sha256", sha256: "abababab..." },
    ]);
  });
});

describe("loadMarkets", () => {
  it("refuses a model that does not read the window features, naming the market and the model", async () => {
    const model = JSON.parse(readFileSync(REAL_MODEL, "utf8"));
    model.features[5].name = "volume_z_7d";
    writeFileSync(join(dir, "models/old.json"), JSON.stringify(model));
    const cfg = parse(withEdit((d) => (d.markets[0].model = "models/old.json")));
    // The model is checked before the artifacts, the chain or the store are used.
    const error = await loadMarkets(cfg, {} as never, {} as never, {} as never, {} as never).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as ZkriskError).code).toBe("CONFIG_INVALID");
    expect((error as Error).message).toMatch(
      new RegExp(
        `^service.json: markets\\[0\\].model: market BTC-USDT: ${join(dir, "models/old.json")}: its features \\(.*, volume_z_7d, .*\\) are not the window features`,
      ),
    );
  });
});
