/**
 * Beyond one machine: two `zkrisk serve --queue redis://...` processes share a BullMQ queue on a real
 * `redis-server` (started by the test on 127.0.0.1) and a `hardhat node`; a `zkrisk publisher serve`
 * instance in this process signs each new bar (the real signed-update circuit, k = 1). One holds the scheduler lease;
 * both prove. Every new bar gets exactly one accepted update; requested proofs are spread over both workers;
 * a worker killed (SIGKILL) mid-proof has its job finished by the other; when the leader is killed the other
 * takes the lease over and the next bar still lands, once. Both report the market's last accepted data, whichever
 * of them submitted it.
 */
import { JsonRpcProvider } from "ethers";
import { afterAll, beforeAll, expect, it } from "vitest";
import { jobIdOf } from "../../service/jobs";
import { startHardhatNode, type HardhatNode } from "../helpers/hardhat-node";
import { tempDir } from "../helpers/publisher-serve";
import { describeRedis, startRedis, type RedisServer } from "../helpers/redis-server";
import {
  acceptedTimestamps,
  MARKET,
  startSignedMarket,
  TOKEN,
  waitForJob,
  writeServiceConfig,
  type SignedMarket,
} from "../helpers/service-env";
import { ServiceProcess } from "../helpers/service-process";

describeRedis("zkrisk serve --queue redis://: two workers, one scheduler", () => {
  let node: HardhatNode;
  let redis: RedisServer;
  let provider: JsonRpcProvider;
  let oracle: string;
  let market: SignedMarket;
  let config: string;
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    [node, redis] = await Promise.all([startHardhatNode(), startRedis()]);
    provider = new JsonRpcProvider(node.rpc, undefined, { cacheTimeout: -1 });
    const dir = tempDir("redis");
    // The publisher signs the newest 8 bars: the scheduled one and the requested ones before it.
    market = await startSignedMarket(dir, node.rpc, { publishers: 1, quorum: 1, backfillBars: 8 });
    oracle = market.oracle;
    // One config (port 0: each process gets its own free port); one proof at a time per process.
    config = writeServiceConfig(dir, {
      rpc: node.rpc,
      oracle,
      artifacts: market.artifacts,
      publishers: { set: market.setFile, urls: market.urls },
      concurrency: 1,
      // Short lock and lease, so a dead worker's job and the scheduler move on within seconds.
      queue: { lockSeconds: 3, leaseSeconds: 3 },
    });
    for (let i = 0; i < 2; i++) services.push(new ServiceProcess(config, ["--queue", redis.url]));
  }, 900_000);

  afterAll(async () => {
    await Promise.all(services.map((s) => s.kill("SIGKILL")));
    await market?.stop();
    provider?.destroy();
    node?.stop();
    await redis?.stop();
  });

  async function urlOf(s: ServiceProcess): Promise<string> {
    return (await s.waitFor((l) => l.msg === "service ready", "service ready")).url as string;
  }

  const logs = () =>
    services.map((s, i) => s.lines.map((l) => `[${i}] ${JSON.stringify(l)}`).join("\n")).join("\n");
  const waitStatus = (url: string, id: string, status: string) => waitForJob(url, id, status, logs);
  const accepted = () => acceptedTimestamps(provider, oracle);
  /**
   * Whether `s` holds the scheduler lease by its log: its last lease line says taken. (A process whose event loop
   * a loaded machine stalls past the lease can lose it to the other, which is not scheduling twice.)
   */
  const holdsLease = (s: ServiceProcess) =>
    s.lines
      .filter((l) => l.msg === "scheduler lease taken: scheduling" || l.msg === "scheduler lease lost")
      .at(-1)?.msg === "scheduler lease taken: scheduling";

  it("schedules once, proves on both workers, and survives a worker dying mid-proof and the leader dying", async () => {
    const urls = await Promise.all(services.map(urlOf));
    expect(services.filter(holdsLease).length).toBe(1);
    const t0 = market.feed.lastTimestamp;
    await waitStatus(urls[0], jobIdOf(MARKET, t0), "confirmed");
    const t1 = await market.nextBar(provider);
    await waitStatus(urls[1], jobIdOf(MARKET, t1), "confirmed");
    expect(await accepted()).toEqual([t0, t1]);
    // Each process reports the market's last accepted data, whichever of them submitted it (a process that
    // kept the value it read at start would fire the data-age alert for a market that is up to date).
    for (const url of urls) {
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics, url).toContain(
        `zkrisk_last_accepted_data_timestamp_seconds{market="${MARKET}"} ${t1}\n`,
      );
    }

    // Requested proofs, asked of one process, are proved by both.
    const bars = Array.from({ length: 6 }, (_, i) => t0 - (i + 1) * 7200);
    for (const ts of bars) {
      const r = await fetch(`${urls[0]}/v1/proofs`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({ market: MARKET, timestamp: ts }),
      });
      expect(r.status).toBe(202);
    }
    const done = await Promise.all(bars.map((ts) => waitStatus(urls[1], jobIdOf(MARKET, ts), "proved")));
    const workers = new Set(done.map((j) => j.worker!.split(":")[1]));
    expect(workers).toEqual(new Set(services.map((s) => String(s.pid))));

    // A worker dies in the middle of a proof: its job is delivered again, to the other worker, and lands once.
    const t2 = await market.nextBar(provider);
    const bar2 = new Date(t2 * 1000).toISOString();
    let proving: ServiceProcess | undefined;
    while (!proving) {
      proving = services.find((s) => s.lines.some((l) => l.msg === "proving" && l.bar === bar2));
      await new Promise((r) => setTimeout(r, 20));
    }
    await proving.kill("SIGKILL");
    const other = services.find((s) => s !== proving)!;
    const otherUrl = urls[services.indexOf(other)];
    const t2job = await waitStatus(otherUrl, jobIdOf(MARKET, t2), "confirmed");
    expect(t2job.worker!.split(":")[1]).toBe(String(other.pid));
    expect(await accepted()).toEqual([t0, t1, t2]);

    // Back to two; then the leader dies idle: the other takes the lease over and schedules the next bar.
    const fresh = new ServiceProcess(config, ["--queue", redis.url]);
    services.push(fresh);
    await urlOf(fresh);
    const alive = [other, fresh];
    const leader = alive.find(holdsLease)!;
    const survivor = alive.find((s) => s !== leader)!;
    await leader.kill("SIGKILL");
    await survivor.waitFor((l) => l.msg === "scheduler lease taken: scheduling", "lease taken over", 60_000);
    const t3 = await market.nextBar(provider);
    await waitStatus(await urlOf(survivor), jobIdOf(MARKET, t3), "confirmed");
    expect(await accepted()).toEqual([t0, t1, t2, t3]);

    expect(await survivor.kill("SIGTERM")).toBe(0);
  }, 1_500_000);
});
