/**
 * The Redis job store against a real redis-server (one per file, a fresh key prefix per test): the `JobStore`
 * contract (test/helpers/job-store-contract.ts), and what is Redis's own: refusal of unreachable servers, bad
 * URLs and foreign key layouts, validation of numbers and statuses, numeric order of string-encoded keys,
 * concurrent claims on two connections, prefix isolation, and after every test (the contract's too) the
 * consistency of the index keys with the job hashes.
 */
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from "vitest";
import { JOB_STATUSES, type JobStatus } from "../../service/job-states";
import { jobIdOf } from "../../service/jobs";
import { redactUrl } from "../../core/url";
import { REDIS_SCHEMA_VERSION, RedisJobStore } from "../../service/redis-store";
import { JobStoreError } from "../../service/jobs";
import { freePort } from "../helpers/ports";
import { BTC, ETH, bar, describeJobStoreContract, noCounts } from "../helpers/job-store-contract";
import { describeRedis, startRedis, type RedisServer } from "../helpers/redis-server";

/** The store module as a child process requires it (by absolute path, through tsx). */
const STORE_MODULE = join(__dirname, "../../service/redis-store.ts");

let server: RedisServer;
let testNumber = 0;
let prefix: string;
let stores: RedisJobStore[];

/** Open a store on the test's prefix (or another); checked and closed after the test. */
async function open(onPrefix = prefix): Promise<RedisJobStore> {
  const store = await RedisJobStore.open(server.url, { prefix: onPrefix });
  stores.push(store);
  return store;
}

/**
 * Every index key under `store.prefix` agrees with the job hashes: status sets, per-market and per-status
 * latest sets, and the due set (queued jobs and proved jobs to submit, scored by notBefore).
 */
async function expectConsistentIndexes(store: RedisJobStore): Promise<void> {
  const { client, prefix: p } = store;
  const jobs = await Promise.all(
    (await client.keys(`${p}:job:*`)).map(async (key) => {
      const [id, status, market, dataTimestamp, submit, notBefore, order] = await client.hmget(
        key,
        "id",
        "status",
        "market",
        "dataTimestamp",
        "submit",
        "notBefore",
        "order",
      );
      return { id: id!, status: status!, market: market!, dataTimestamp, submit, notBefore, order: order! };
    }),
  );
  const sorted = (xs: string[]) => [...xs].sort();
  const zset = async (key: string) => {
    const flat = await client.zrange(key, 0, -1, "WITHSCORES");
    return sorted(flat.filter((_, i) => i % 2 === 0).map((m, i) => `${m}=${flat[2 * i + 1]}`));
  };

  for (const status of JOB_STATUSES) {
    expect(sorted(await client.smembers(`${p}:status:${status}`)), `${p}:status:${status}`).toEqual(
      sorted(jobs.filter((j) => j.status === status).map((j) => j.id)),
    );
  }
  const expectedLatest = new Map<string, string[]>();
  const expectedMarket = new Map<string, string[]>();
  for (const j of jobs) {
    const latestKey = `${p}:latest:${j.status}:${j.market}`;
    expectedLatest.set(latestKey, [...(expectedLatest.get(latestKey) ?? []), `${j.id}=${j.dataTimestamp}`]);
    const marketKey = `${p}:market:${j.market}`;
    expectedMarket.set(marketKey, [...(expectedMarket.get(marketKey) ?? []), `${j.id}=${j.dataTimestamp}`]);
  }
  for (const pattern of ["latest", "market"]) {
    const expected = pattern === "latest" ? expectedLatest : expectedMarket;
    const keys = await client.keys(`${p}:${pattern}:*`);
    expect(sorted(keys)).toEqual(sorted([...expected.keys()]));
    for (const key of keys) expect(await zset(key), key).toEqual(sorted(expected.get(key)!));
  }
  const due = jobs.filter((j) => j.status === "queued" || (j.status === "proved" && j.submit === "1"));
  expect(await zset(`${p}:due`), `${p}:due`).toEqual(sorted(due.map((j) => `${j.order}=${j.notBefore}`)));
}

beforeAll(async () => {
  server = await startRedis();
});

afterAll(async () => {
  await server?.stop();
});

beforeEach(() => {
  prefix = `zkrisk-test-${++testNumber}`;
  stores = [];
});

afterEach(async () => {
  const checked = new Set<string>();
  for (const store of stores) {
    if (store.client.status !== "ready" || checked.has(store.prefix)) continue;
    checked.add(store.prefix);
    await expectConsistentIndexes(store);
  }
  for (const store of stores) await store.close();
});

describeRedis("RedisJobStore", () =>
  describeJobStoreContract("RedisJobStore", {
    open: () => open(),
    childOpen: () => ({ module: STORE_MODULE, exportName: "RedisJobStore", args: [server.url, { prefix }] }),
  }),
);

describeRedis("RedisJobStore.open", () => {
  it("connects, keeps the URL, prefix and client, and marks the prefix with its layout version", async () => {
    const store = await open();
    expect(store.url).toBe(server.url);
    expect(store.prefix).toBe(prefix);
    expect(store.client.status).toBe("ready");
    expect(await store.client.ping()).toBe("PONG");
    expect(await store.counts()).toEqual(noCounts());
    expect(await store.client.get(`${prefix}:schema`)).toBe(String(REDIS_SCHEMA_VERSION));

    const defaulted = await RedisJobStore.open(server.url);
    stores.push(defaulted);
    expect(defaulted.prefix).toBe("zkrisk");
  });

  it("fails with the URL, its password and query values masked, when no server answers", async () => {
    const port = await freePort(); // nothing listens there
    const url = `redis://:hunter2@127.0.0.1:${port}/3?password=hunter2`;
    const error = await RedisJobStore.open(url).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(JobStoreError);
    expect((error as JobStoreError).code).toBe("JOB_STORE");
    expect((error as JobStoreError).message).toBe(
      `redis://:***@127.0.0.1:${port}/3?password=***: cannot connect to Redis: connect ECONNREFUSED 127.0.0.1:${port}`,
    );
    expect((error as JobStoreError).message).not.toContain("hunter2");

    // A server that has gone away is no different.
    const gone = await startRedis();
    await gone.stop();
    await expect(RedisJobStore.open(gone.url)).rejects.toThrow(`${gone.url}: cannot connect to Redis`);
  });

  it("refuses URLs that are not redis:// or rediss://, and an empty prefix", async () => {
    await expect(RedisJobStore.open("http://127.0.0.1:6379")).rejects.toThrow(
      "Redis URL must be redis://host:port or rediss://host:port, got http://127.0.0.1:6379",
    );
    await expect(RedisJobStore.open("127.0.0.1:6379")).rejects.toThrow(JobStoreError);
    await expect(RedisJobStore.open(server.url, { prefix: "" })).rejects.toThrow(
      "Redis key prefix must not be empty",
    );
    expect(redactUrl("rediss://user:pw@example.org:6380/1?password=pw")).toBe(
      "rediss://***:***@example.org:6380/1?password=***",
    );
    expect(redactUrl("redis://example.org")).toBe("redis://example.org");
  });

  it("refuses a prefix of a newer layout version, or one that is not a job store", async () => {
    const store = await open();
    await store.client.set(`${prefix}-future:schema`, String(REDIS_SCHEMA_VERSION + 1));
    await store.client.set(`${prefix}-foreign:schema`, "sessions v3");

    await expect(RedisJobStore.open(server.url, { prefix: `${prefix}-future` })).rejects.toThrow(
      `${server.url}: job store ${prefix}-future has key layout version ${REDIS_SCHEMA_VERSION + 1}, ` +
        `newer than this zkrisk supports (${REDIS_SCHEMA_VERSION})`,
    );
    await expect(RedisJobStore.open(server.url, { prefix: `${prefix}-foreign` })).rejects.toThrow(
      `${server.url}: ${prefix}-foreign:schema holds "sessions v3": not a zkrisk job store`,
    );
  });
});

describeRedis("RedisJobStore.enqueue", () => {
  it("refuses a data timestamp or time that is not an integer", async () => {
    const store = await open();
    await expect(store.enqueue({ market: BTC, dataTimestamp: 1.5, submit: false }, 10_000)).rejects.toThrow(
      "dataTimestamp must be an integer, got 1.5 (number)",
    );
    await expect(store.enqueue({ market: BTC, dataTimestamp: bar(0), submit: false }, NaN)).rejects.toThrow(
      JobStoreError,
    );
    expect(await store.counts()).toEqual(noCounts());
  });
});

describeRedis("RedisJobStore.update", () => {
  it("refuses an unknown status and non-integer numbers, changing nothing", async () => {
    const store = await open();
    const { job } = await store.enqueue({ market: BTC, dataTimestamp: bar(0), submit: false }, 10_000);
    await expect(store.update(job.id, { status: "done" as JobStatus }, 11_000)).rejects.toThrow(
      'status must be one of queued, proving, proved, submitting, confirmed, skipped, rejected, failed, got "done"',
    );
    await expect(store.update(job.id, { attempts: -1 }, 11_000)).rejects.toThrow(
      "attempts must be an integer >= 0, got -1 (number)",
    );
    await expect(store.update(job.id, { notBefore: 11_000.5 }, 11_000)).rejects.toThrow(JobStoreError);
    await expect(store.update(job.id, { block: Infinity }, 11_000)).rejects.toThrow(JobStoreError);
    expect(await store.get(job.id)).toEqual(job);
  });
});

describeRedis("RedisJobStore.claimNext", () => {
  it("orders data timestamps and creation times numerically, across digit counts and signs", async () => {
    const store = await open();
    // Same notBefore for all: only the tie-breakers order them.
    const stamps = [1_000_000_000, -7_200, 999_999_999, 0, -1, 86_400, Number.MAX_SAFE_INTEGER];
    for (const ts of stamps) await store.enqueue({ market: BTC, dataTimestamp: ts, submit: true }, 5);
    const sameBar = [99, 100, 7];
    for (const [i, created] of sameBar.entries()) {
      const { job } = await store.enqueue({ market: `M${i}`, dataTimestamp: 42, submit: false }, created);
      await store.update(job.id, { notBefore: 5 }, created);
    }

    const claimed: string[] = [];
    for (let job = await store.claimNext("w", 5); job; job = await store.claimNext("w", 5)) {
      claimed.push(`${job.market}@${job.dataTimestamp}`);
    }
    expect(claimed).toEqual([
      "BTC-USDT@-7200",
      "BTC-USDT@-1",
      "BTC-USDT@0",
      "M2@42", // created at 7
      "M0@42", // 99
      "M1@42", // 100
      "BTC-USDT@86400",
      "BTC-USDT@999999999",
      "BTC-USDT@1000000000",
      `BTC-USDT@${Number.MAX_SAFE_INTEGER}`,
    ]);
    expect(await store.maxSubmitTimestamp(BTC)).toBe(Number.MAX_SAFE_INTEGER);
  });

  it("never gives one job to two connections claiming at once", async () => {
    const [a, b] = [await open(), await open()];
    const N = 50;
    for (let i = 0; i < N; i++)
      await a.enqueue({ market: ETH, dataTimestamp: bar(i), submit: i % 3 === 0 }, 1_000);

    // 80 claims in flight at once on two connections, for 50 jobs.
    const results = await Promise.all(
      Array.from({ length: 80 }, (_, i) => (i % 2 === 0 ? a : b).claimNext(i % 2 === 0 ? "a" : "b", 2_000)),
    );
    const claimed = results.filter((job) => job !== undefined);
    expect(claimed).toHaveLength(N);
    expect(new Set(claimed.map((job) => job.id)).size).toBe(N);
    expect(claimed.every((job) => job.status === "proving")).toBe(true);
    expect(await a.counts()).toEqual({ ...noCounts(), proving: N });
  });
});

describeRedis("RedisJobStore.recoverInFlight", () => {
  it("returns nothing when nothing is in flight", async () => {
    const store = await open();
    expect(await store.recoverInFlight(1_000)).toEqual([]);
    await store.enqueue({ market: BTC, dataTimestamp: bar(0), submit: true }, 1_000);
    expect(await store.recoverInFlight(2_000)).toEqual([]);
    expect(await store.get(jobIdOf(BTC, bar(0)))).toMatchObject({ status: "queued", updatedAt: 1_000 });
  });
});

describeRedis("RedisJobStore persistence", () => {
  it("closes its connection, harmlessly twice, and shares nothing with another prefix", async () => {
    const store = await open();
    const { job } = await store.enqueue({ market: BTC, dataTimestamp: bar(0), submit: false }, 1_000);
    await store.enqueue({ market: BTC, dataTimestamp: bar(1), submit: true }, 1_000);

    const other = await open(`${prefix}-other`);
    expect(await other.counts()).toEqual(noCounts());
    expect(await other.get(job.id)).toBeUndefined();
    expect(await other.claimNext("w", 10_000)).toBeUndefined();
    expect(await other.maxSubmitTimestamp(BTC)).toBe(0);
    expect(await store.counts()).toEqual({ ...noCounts(), queued: 2 });

    const closing = await open();
    await closing.close();
    await closing.close(); // harmless
    expect(closing.client.status).toBe("end");
    expect(await store.get(job.id)).toEqual(job);
  });
});
