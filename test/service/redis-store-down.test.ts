/**
 * The prover service's metrics and readiness when its Redis job store goes down, against a real redis-server
 * that is stopped mid-test: ioredis fails a command only after its retries (about 10 s), so a scrape that
 * waited for the store would outlast Prometheus' timeout and one that failed with it would lose every metric.
 * Instead the scrape answers with the last counts and `zkrisk_store_up` 0, and `/readyz`'s readiness names
 * the store.
 */
import pino from "pino";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { ChainView } from "../../service/chain-view";
import type { ServiceConfig } from "../../service/config";
import type { Dispatcher } from "../../service/dispatcher";
import { RedisJobStore } from "../../service/redis-store";
import { ProverService } from "../../service/service";
import { describeRedis, startRedis, type RedisServer } from "../helpers/redis-server";

describeRedis("prover service with its Redis job store down", () => {
  let server: RedisServer | undefined;
  let store: RedisJobStore;

  beforeAll(async () => {
    server = await startRedis();
    store = await RedisJobStore.open(server.url, { prefix: "store-down" });
  });
  afterAll(async () => {
    store?.client.disconnect();
    await server?.stop();
  });

  it("answers the scrape with zkrisk_store_up 0 and the last counts, and is not ready", async () => {
    await store.enqueue({ market: "BTC-USDT", dataTimestamp: 1_700_000_000, submit: true }, Date.now());
    const config = { chain: { rpc: "http://127.0.0.1:8545/" } } as ServiceConfig;
    const service = new ProverService({
      config,
      store,
      dispatcher: {} as Dispatcher,
      holder: "test:1",
      log: pino({ level: "silent" }),
    });
    // As `start` leaves it (it needs a chain and circuits, which are not under test here).
    Object.assign(service as unknown as Record<string, unknown>, {
      started: true,
      chain: { reachable: true } as ChainView,
    });
    expect(await service.readiness()).toEqual({ ready: true });
    expect(await service.metrics.registry.metrics()).toMatch(/^zkrisk_queue_depth 1$/m);

    await server!.stop();
    server = undefined;
    // Failing with the store would reject here (after ioredis's ~10 s of retries).
    const text = await service.metrics.registry.metrics();
    expect(text).toMatch(/^zkrisk_store_up 0$/m);
    expect(text).toMatch(/^zkrisk_queue_depth 1$/m);
    expect(text).toMatch(/^zkrisk_jobs\{status="queued"\} 1$/m);
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    const readiness = await service.readiness();
    expect(readiness).toEqual({ ready: false, reason: expect.stringMatching(/^job store unreadable: /) });
  }, 30_000);
});
