/**
 * Which processes may share a Redis job store: those of one deployment (chain id, oracle, markets and their
 * models), recorded in the store by the first to start (redis-store.ts `recordDeployment`); another deployment is
 * refused at start, naming both values, and needs its own key prefix (`queue.prefix`, validated), against a real
 * `redis-server` and a stand-in JSON-RPC node that only tells its chain id.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, parseServiceConfig, type ServiceConfig } from "../../service/config";
import { deploymentDifferences, RedisJobStore, type DeploymentIdentity } from "../../service/redis-store";
import { deploymentIdentity, REDIS_PREFIX, startService } from "../../service/run";
import { MODEL } from "../helpers/artifacts";
import { describeRedis, startRedis, type RedisServer } from "../helpers/redis-server";

const ORACLE = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

/** A service config of one market on `rpc`, with files that pass the config's checks (nothing is proved). */
function config(rpc: string, queue: Record<string, unknown> = {}): ServiceConfig {
  const dir = mkdtempSync(join(tmpdir(), "zkrisk-deployment-"));
  writeFileSync(join(dir, "artifacts.json"), "{}");
  writeFileSync(join(dir, "set.json"), "{}");
  return parseServiceConfig(
    {
      markets: [
        {
          id: "BTC-USDT",
          model: MODEL,
          artifacts: dir,
          publishers: { set: join(dir, "set.json"), urls: ["http://127.0.0.1:9"] },
        },
      ],
      chain: { rpc, oracle: ORACLE, key: { env: "ZKRISK_UNUSED_KEY" } },
      auth: { tokens: [{ sha256: "ab".repeat(32) }] },
      queue,
    },
    "service.json",
    dir,
  );
}

const identity = (o: Partial<DeploymentIdentity> = {}): DeploymentIdentity => ({
  chainId: "31337",
  oracle: ORACLE,
  markets: { "BTC-USDT": "11", "ETH-USDT": "22" },
  batches: { majors: { "SOL-USDT": "33", "XRP-USDT": "44" } },
  ...o,
});

describe("queue.prefix", () => {
  it("defaults to the prefix of earlier releases, and takes a plain or hash-tagged name", () => {
    expect(config("http://127.0.0.1:9").queue.prefix).toBe("zkrisk");
    expect(REDIS_PREFIX).toBe("zkrisk");
    expect(config("http://127.0.0.1:9", { prefix: "staging-1.b_c" }).queue.prefix).toBe("staging-1.b_c");
    expect(config("http://127.0.0.1:9", { prefix: "{prod}" }).queue.prefix).toBe("{prod}");
  });

  it.each(["", "a:b", "zk risk", "{prod", "x".repeat(65)])(
    "refuses %j, naming the field and the value",
    (prefix) => {
      expect(() => config("http://127.0.0.1:9", { prefix })).toThrow(ConfigError);
      expect(() => config("http://127.0.0.1:9", { prefix })).toThrow(
        /service\.json: queue\.prefix: expected at most 64/,
      );
    },
  );
});

describe("deploymentDifferences", () => {
  it("names each difference with both values, and none between equal identities", () => {
    expect(deploymentDifferences(identity(), identity())).toEqual([]);
    expect(
      deploymentDifferences(
        identity(),
        identity({
          chainId: "1",
          oracle: "0x0000000000000000000000000000000000000001",
          markets: { "BTC-USDT": "12", "DOGE-USDT": "55" },
          batches: { majors: { "SOL-USDT": "33", "XRP-USDT": "45" }, minors: {} },
        }),
      ),
    ).toEqual([
      "chain id 31337 in the store, 1 here",
      `oracle ${ORACLE} in the store, 0x0000000000000000000000000000000000000001 here`,
      "market BTC-USDT: model 11 in the store, 12 here",
      "market ETH-USDT only in the store",
      "market DOGE-USDT only here",
      "batch majors market XRP-USDT: model 44 in the store, 45 here",
      "batch minors only here",
    ]);
  });
});

describeRedis("a Redis job store holds one deployment's jobs", () => {
  let redis: RedisServer;
  let rpc: Server;
  let rpcUrl: string;

  beforeAll(async () => {
    redis = await startRedis();
    // A node that tells its chain id (31337) and answers nothing else.
    rpc = createServer((req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        const calls = [JSON.parse(body) as { id: number; method: string }].flat();
        const replies = calls.map((c) =>
          c.method === "eth_chainId"
            ? { jsonrpc: "2.0", id: c.id, result: "0x7a69" }
            : { jsonrpc: "2.0", id: c.id, error: { code: -32601, message: "not here" } },
        );
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify(Array.isArray(JSON.parse(body)) ? replies : replies[0]));
      });
    }).listen(0, "127.0.0.1");
    await new Promise((done) => rpc.once("listening", done));
    rpcUrl = `http://127.0.0.1:${(rpc.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    rpc?.close();
    await redis?.stop();
  });

  it("records the first process's identity, takes the same one in any order, returns another's", async () => {
    const store = await RedisJobStore.open(redis.url, { prefix: "record" });
    try {
      expect(await store.recordDeployment(identity())).toBeUndefined();
      const reordered = identity({ markets: { "ETH-USDT": "22", "BTC-USDT": "11" } });
      expect(await store.recordDeployment(reordered)).toBeUndefined();
      expect(await store.recordDeployment(identity({ chainId: "1" }))).toEqual(identity());
      // Another prefix is another store, with its own deployment.
      const other = await RedisJobStore.open(redis.url, { prefix: "record-staging" });
      expect(await other.recordDeployment(identity({ chainId: "1" }))).toBeUndefined();
      await other.close();
    } finally {
      await store.close();
    }
  });

  it("refuses to start a process of another deployment on the store, naming both; its own prefix takes it", async () => {
    const cfg = config(rpcUrl);
    const mine = await deploymentIdentity(cfg);
    expect(mine).toMatchObject({ chainId: "31337", oracle: ORACLE });
    expect(Object.keys(mine.markets)).toEqual(["BTC-USDT"]);
    // Production (chain 1) started first on the default prefix.
    const store = await RedisJobStore.open(redis.url, { prefix: REDIS_PREFIX });
    await store.recordDeployment({ ...mine, chainId: "1" });
    await store.close();

    const err = (await startService(cfg, pino({ level: "silent" }), 0, redis.url).then(
      () => new Error("started"),
      (e: unknown) => e,
    )) as ConfigError;
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.code).toBe("CONFIG_INVALID");
    expect(err.message).toMatch(
      /^service\.json: queue\.prefix: the job store "zkrisk" on redis:\/\/127\.0\.0\.1:\d+ holds the jobs of another deployment \(chain id 1 in the store, 31337 here\); .* delete the key zkrisk:deployment first$/,
    );

    // On its own prefix the identity is recorded (the start then fails at the stand-in node, past the check).
    const staging = config(rpcUrl, { prefix: "staging" });
    const later = (await startService(staging, pino({ level: "silent" }), 0, redis.url).then(
      () => new Error("started"),
      (e: unknown) => e,
    )) as Error;
    expect(later.message).not.toMatch(/another deployment/);
    const check = await RedisJobStore.open(redis.url, { prefix: "staging" });
    expect(await check.recordDeployment(mine)).toBeUndefined();
    expect(await check.recordDeployment({ ...mine, chainId: "1" })).toEqual(mine);
    await check.close();
  }, 60_000);
});
