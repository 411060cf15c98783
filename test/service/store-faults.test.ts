/**
 * The prover service's metrics, readiness and stop when its job store or its node does not answer, with
 * stand-ins for the store (a promise that fails or never settles), the chain and the dispatcher, and the API
 * in process (`app.inject`): a scrape of `/metrics` still answers, with the process's metrics, the last
 * values the store gave and `zkrisk_store_up` 0; `/readyz` answers 503 naming the store; and a graceful stop
 * whose scheduling pass hangs on the node ends within its grace. The real Redis outage is
 * test/service/redis-store-down.test.ts.
 */
import pino from "pino";
import { describe, expect, it } from "vitest";
import { buildApi } from "../../service/api";
import type { ChainView } from "../../service/chain-view";
import type { ServiceConfig } from "../../service/config";
import type { Dispatcher } from "../../service/dispatcher";
import { JOB_STATUSES, type JobStatus } from "../../service/job-states";
import type { JobStore } from "../../service/jobs";
import { ServiceMetrics, STORE_READ_TIMEOUT_MS } from "../../service/metrics";
import { LogDestination } from "../../core/log-destination";
import { Scheduler } from "../../service/scheduler";
import { ProverService } from "../../service/service";

const log = pino({ level: "silent" });
const never = () => new Promise<never>(() => undefined);
const counted = (queued: number): Record<JobStatus, number> =>
  ({ ...Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])), queued }) as Record<JobStatus, number>;

/** The value of an unlabelled (or the first labelled) sample of `name` in Prometheus text, if shown. */
function sample(text: string, name: string, labels = ""): number | undefined {
  const escaped = `${name}${labels}`.replace(/[{}"]/g, (c) => `\\${c}`);
  const m = new RegExp(`^${escaped} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : undefined;
}

describe("ServiceMetrics with a job store that fails or does not answer", () => {
  /** A store whose `counts` does what `mode` says. */
  function metricsOver(timeoutMs = 200) {
    const state = { mode: "ok" as "ok" | "fail" | "hang", queued: 3 };
    const metrics = new ServiceMetrics(
      async () => {
        if (state.mode === "fail") throw new Error("Reached the max retries per request limit (which is 20)");
        if (state.mode === "hang") return never();
        return counted(state.queued);
      },
      { storeTimeoutMs: timeoutMs },
    );
    return { state, metrics };
  }

  it("counts the log lines this process dropped (stderr on a full disk) in zkrisk_log_lines_dropped_total", async () => {
    const { metrics } = metricsOver();
    const before = sample(await metrics.registry.metrics(), "zkrisk_log_lines_dropped_total") ?? -1;
    expect(before).toBe(LogDestination.droppedInProcess);
    const full = new LogDestination(() => {
      throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
    });
    full.write('{"msg":"proved"}\n');
    full.write('{"msg":"submitted"}\n');
    expect(sample(await metrics.registry.metrics(), "zkrisk_log_lines_dropped_total")).toBe(before + 2);
  });

  it("waits for the store 2 s by default", async () => {
    expect(STORE_READ_TIMEOUT_MS).toBe(2_000);
    const storeUp = await new ServiceMetrics(async () => counted(0)).storeUp.get();
    expect(storeUp.help).toContain("2000 ms");
  });

  it("answers the scrape with the last values and zkrisk_store_up 0 when the store fails, 1 once it answers", async () => {
    const { state, metrics } = metricsOver();
    metrics.sawAccepted("BTC-USDT", 1_700_000_000);
    let text = await metrics.registry.metrics();
    expect(sample(text, "zkrisk_store_up")).toBe(1);
    expect(sample(text, "zkrisk_queue_depth")).toBe(3);

    state.mode = "fail";
    state.queued = 99;
    text = await metrics.registry.metrics();
    expect(sample(text, "zkrisk_store_up")).toBe(0);
    // The last values the store gave, and everything that is not the store's.
    expect(sample(text, "zkrisk_queue_depth")).toBe(3);
    expect(sample(text, "zkrisk_jobs", '{status="queued"}')).toBe(3);
    expect(sample(text, "zkrisk_last_accepted_data_timestamp_seconds", '{market="BTC-USDT"}')).toBe(
      1_700_000_000,
    );
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);

    state.mode = "ok";
    text = await metrics.registry.metrics();
    expect(sample(text, "zkrisk_store_up")).toBe(1);
    expect(sample(text, "zkrisk_queue_depth")).toBe(99);
  });

  it("answers the scrape within the store timeout when the store never answers", async () => {
    const { state, metrics } = metricsOver();
    state.mode = "hang";
    // A scrape that waited for the store would never end: the test's own timeout is the bound.
    const text = await metrics.registry.metrics();
    expect(sample(text, "zkrisk_store_up")).toBe(0);
    expect(text).toMatch(/^process_resident_memory_bytes /m);
  }, 10_000);

  it("keeps the store's accepted timestamps it read last when a later read fails", async () => {
    const { metrics } = metricsOver();
    let inStore: () => Promise<Map<string, number>> = async () => new Map([["ETH-USDT", 1_700_007_200]]);
    metrics.acceptedFrom(() => inStore());
    await metrics.registry.metrics();
    inStore = () => Promise.reject(new Error("store closed"));
    const text = await metrics.registry.metrics();
    expect(sample(text, "zkrisk_store_up")).toBe(0);
    expect(sample(text, "zkrisk_last_accepted_data_timestamp_seconds", '{market="ETH-USDT"}')).toBe(
      1_700_007_200,
    );
  });

  it("storeRead bounds a read of the store", async () => {
    const { metrics } = metricsOver();
    await expect(metrics.storeRead(never)).rejects.toThrow("the job store did not answer within 200 ms");
    await expect(metrics.storeRead(async () => 7)).resolves.toBe(7);
  });
});

describe("ProverService readiness and stop with parts that do not answer", () => {
  /**
   * A service as `start` leaves it, without a chain or circuits: what is under test is what readiness, the
   * metrics and stop make of a store and a chain that fail, so the parts `start` makes are set in its place.
   */
  function startedService(store: Partial<JobStore>, chain: Partial<ChainView> = { reachable: true }) {
    const dispatcher = {
      isLeader: () => true,
      pause: () => undefined,
      stop: async () => undefined,
      notify: async () => undefined,
    } as unknown as Dispatcher;
    const config = { chain: { rpc: "http://127.0.0.1:8545/" } } as ServiceConfig;
    const fullStore = { counts: async () => counted(0), close: async () => undefined, ...store } as JobStore;
    const service = new ProverService({ config, store: fullStore, dispatcher, holder: "test:1", log });
    Object.assign(service as unknown as Record<string, unknown>, { started: true, chain });
    return { service, dispatcher, store: fullStore };
  }

  it("/readyz answers 503 naming the job store while it cannot be read, and /metrics still answers", async () => {
    let down: "fail" | "hang" | undefined = "fail";
    const { service } = startedService({
      get: async () => {
        if (down === "fail") throw new Error("connect ECONNREFUSED 127.0.0.1:6379");
        if (down === "hang") return never();
        return undefined;
      },
      counts: async () => {
        if (down !== undefined) throw new Error("connect ECONNREFUSED 127.0.0.1:6379");
        return counted(0);
      },
    });
    const app = await buildApi(service, {
      tokenHashes: [],
      bodyLimitBytes: 1024,
      rateLimitPerMinute: 60,
      log,
    });
    try {
      let r = await app.inject({ method: "GET", url: "/readyz" });
      expect(r.statusCode).toBe(503);
      expect(r.json()).toEqual({
        status: "not ready",
        reason: "job store unreadable: connect ECONNREFUSED 127.0.0.1:6379",
      });
      const metrics = await app.inject({ method: "GET", url: "/metrics" });
      expect(metrics.statusCode).toBe(200);
      expect(sample(metrics.body, "zkrisk_store_up")).toBe(0);

      // A store that takes connections and never answers: not ready once the store timeout (2 s) has passed.
      down = "hang";
      r = await app.inject({ method: "GET", url: "/readyz" });
      expect(r.statusCode).toBe(503);
      expect(r.json()).toEqual({
        status: "not ready",
        reason: "job store unreadable: the job store did not answer within 2000 ms",
      });

      down = undefined;
      r = await app.inject({ method: "GET", url: "/readyz" });
      expect({ status: r.statusCode, body: r.json() as unknown }).toEqual({
        status: 200,
        body: { status: "ready" },
      });
      expect(sample((await app.inject({ method: "GET", url: "/metrics" })).body, "zkrisk_store_up")).toBe(1);
    } finally {
      await app.close();
    }
  }, 20_000);

  it("a node on another chain makes the service not ready, with the chain view's words", async () => {
    const wrongChain = "the node at http://127.0.0.1:8545/ answers for chain 1, not for chain 31337, ...";
    const { service } = startedService({ get: async () => undefined }, { reachable: true, wrongChain });
    expect(await service.readiness()).toEqual({ ready: false, reason: wrongChain });
  });

  it("stops within its grace while the scheduler's pass waits on a node that never answers", async () => {
    const { service, dispatcher, store } = startedService({ get: async () => undefined });
    const metrics = service.metrics;
    const chain = { now: never, reachable: true } as unknown as ChainView;
    const scheduler = new Scheduler({
      markets: new Map(),
      batches: new Map(),
      store,
      dispatcher,
      chain,
      metrics,
      log,
    });
    void scheduler.start(60_000);
    Object.assign(service as unknown as Record<string, unknown>, {
      scheduler,
      chain: { ...chain, destroy: () => undefined },
    });
    // Without a bound, the stop would wait for the pass for ever: the test's own timeout is the bound.
    await expect(service.stop(300)).resolves.toEqual({ finished: 0, requeued: 0 });
  }, 10_000);
});
