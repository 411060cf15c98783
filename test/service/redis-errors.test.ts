/**
 * A Redis outage in the service's log (redis-store.ts `RedisErrorLog`): every connection the service makes (the
 * store's, the queue's and its worker's) keeps an error listener for its whole life, so ioredis never prints its
 * plain-text "Unhandled error event" to stderr; the errors go to the service's logger, the first at once and then
 * at most one line per interval, however often the client tries to reconnect.
 */
import { EventEmitter } from "node:events";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RedisDispatcher } from "../../service/redis-queue";
import { RedisErrorLog, RedisJobStore } from "../../service/redis-store";
import { describeRedis, startRedis, type RedisServer } from "../helpers/redis-server";
import { memoryLogger } from "../helpers/service-env";

describe("RedisErrorLog", () => {
  it("logs the first error at once, then one line per interval with the number left out, and a return once", () => {
    const lines: Record<string, unknown>[] = [];
    let now = 1_000_000;
    const errors = new RedisErrorLog(memoryLogger(lines), 30_000, () => now);
    const client = new EventEmitter();
    errors.watch(client, "store");
    for (let i = 0; i < 50; i++) {
      client.emit("error", new Error(`connect ECONNREFUSED ${i}`));
      now += 200; // ioredis retries within a few hundred ms
    }
    expect(lines.map((l) => [l.level, l.connection, l.err, l.unlogged])).toEqual([
      [40, "store", "connect ECONNREFUSED 0", 0],
    ]);
    now += 20_000; // 30 s after the first line
    client.emit("error", new Error("connect ECONNREFUSED 50"));
    expect(lines.slice(1).map((l) => [l.err, l.unlogged])).toEqual([["connect ECONNREFUSED 50", 49]]);
    client.emit("ready");
    client.emit("ready");
    expect(lines.slice(2).map((l) => [l.level, l.connection, l.msg])).toEqual([
      [30, "store", "redis connection ready again"],
    ]);
  });
});

describeRedis("a Redis outage", () => {
  let redis: RedisServer;
  let consoleError: ReturnType<typeof vi.spyOn>;

  beforeEach(async () => {
    redis = await startRedis();
    consoleError = vi.spyOn(console, "error");
  });

  afterEach(async () => {
    consoleError.mockRestore();
    await redis.stop();
  });

  /** What ioredis printed to stderr itself (console.error), rather than through a listener. */
  const unhandled = () =>
    consoleError.mock.calls.filter((args: unknown[]) => String(args[0]).includes("Unhandled error event"));
  const redisErrors = (lines: Record<string, unknown>[]) =>
    lines.filter((l) => String(l.msg).startsWith("redis connection error"));

  it("is logged by the store at a bounded rate, nothing printed by ioredis", async () => {
    const lines: Record<string, unknown>[] = [];
    const store = await RedisJobStore.open(redis.url, { prefix: "outage", log: memoryLogger(lines) });
    await redis.stop();
    // ioredis reconnects every 50 ms or so at first: several attempts, each an error event.
    await new Promise((done) => setTimeout(done, 1_500));
    store.client.disconnect();
    expect(unhandled()).toEqual([]);
    expect(redisErrors(lines).length).toBe(1);
    expect(redisErrors(lines)[0]).toMatchObject({
      connection: "store",
      err: expect.stringMatching(/ECONNREFUSED/),
    });
  }, 30_000);

  it("is logged by the queue's connections at a bounded rate, nothing printed by ioredis or BullMQ", async () => {
    const lines: Record<string, unknown>[] = [];
    const log = memoryLogger(lines);
    const store = await RedisJobStore.open(redis.url, { prefix: "outage-queue", log });
    const dispatcher = new RedisDispatcher({
      url: redis.url,
      prefix: "outage-queue",
      store,
      holder: "test:1:a",
      concurrency: 1,
      log,
      lockMs: 1_000,
      leaseMs: 1_000,
    });
    await dispatcher.start(async () => undefined);
    await redis.stop();
    await new Promise((done) => setTimeout(done, 1_500));
    const stopped = dispatcher.stop().catch(() => undefined);
    await Promise.race([stopped, new Promise((done) => setTimeout(done, 2_000))]);
    store.client.disconnect();
    expect(unhandled()).toEqual([]);
    // One line for the store's connection, one for the queue's connections together.
    expect(redisErrors(lines).length).toBeGreaterThan(0);
    expect(redisErrors(lines).length).toBeLessThanOrEqual(2);
  }, 30_000);
});
