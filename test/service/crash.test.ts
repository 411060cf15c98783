/**
 * Nothing lost, nothing twice: `zkrisk serve` as a separate process against a `hardhat node` on 127.0.0.1,
 * fed one closed bar at a time (a `zkrisk publisher serve` instance in this process signs each new bar, then
 * the chain's clock is moved to its close; the real signed-update circuit, k = 1). It is killed with SIGKILL in the middle of a proof, and again after a
 * transaction was sent but before it was mined; each time it is restarted. In the end every bar has exactly
 * one accepted update on chain. Then SIGTERM stops it cleanly (exit code 0).
 */
import { JsonRpcProvider } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jobIdOf } from "../../service/jobs";
import { startHardhatNode, type HardhatNode } from "../helpers/hardhat-node";
import { tempDir } from "../helpers/publisher-serve";
import {
  acceptedTimestamps,
  MARKET,
  startSignedMarket,
  waitForJob,
  writeServiceConfig,
  type JobView,
  type SignedMarket,
} from "../helpers/service-env";
import { ServiceProcess } from "../helpers/service-process";

describe("zkrisk serve: kill -9 and restart", () => {
  let node: HardhatNode;
  let provider: JsonRpcProvider;
  let oracle: string;
  let config: string;
  let market: SignedMarket;
  /** The API of the running service: each start binds a port the system picks (port 0), read from its log. */
  let url = "";
  let current: ServiceProcess | undefined;

  beforeAll(async () => {
    node = await startHardhatNode();
    provider = new JsonRpcProvider(node.rpc, undefined, { cacheTimeout: -1 });
    const dir = tempDir("crash");
    market = await startSignedMarket(dir, node.rpc, { publishers: 1, quorum: 1 });
    oracle = market.oracle;
    config = writeServiceConfig(dir, {
      rpc: node.rpc,
      oracle,
      artifacts: market.artifacts,
      publishers: { set: market.setFile, urls: market.urls },
      port: 0,
    });
  }, 900_000);

  afterAll(async () => {
    await current?.kill("SIGKILL");
    await market?.stop();
    provider?.destroy();
    node?.stop();
  });

  const job = async (ts: number): Promise<JobView | undefined> => {
    const r = await fetch(`${url}/v1/proofs/${jobIdOf(MARKET, ts)}`).catch(() => undefined);
    return r?.ok ? ((await r.json()) as JobView) : undefined;
  };
  const waitStatus = (ts: number, status: string) =>
    waitForJob(
      url,
      jobIdOf(MARKET, ts),
      status,
      () => current?.lines.map((l) => JSON.stringify(l)).join("\n") ?? "",
    );
  const accepted = () => acceptedTimestamps(provider, oracle);
  /** Start the service (again) and wait until it serves its API. */
  const start = async (args: string[] = []) => {
    current = new ServiceProcess(config, args);
    url = (await current.waitFor((l) => l.msg === "service ready", "service ready")).url as string;
    return current;
  };

  it("loses no bar and applies none twice", async () => {
    const t0 = market.feed.lastTimestamp;
    let service = await start();
    await waitStatus(t0, "confirmed");

    // A second service on the same database is refused while the first lives.
    const second = new ServiceProcess(config);
    expect(await second.exited).toBe(1);
    expect(JSON.stringify(second.lines)).toMatch(/jobs\.db: already used by zkrisk serve [^ ]+:\d+/);

    // Killed in the middle of a proof.
    const t1 = await market.nextBar(provider);
    await service.waitFor(
      (l) => l.msg === "proving" && l.bar === new Date(t1 * 1000).toISOString(),
      "proving t1",
    );
    await service.kill("SIGKILL");
    expect(await accepted()).toEqual([t0]);
    service = await start();
    await waitStatus(t1, "confirmed");

    // Killed after the transaction was sent and before it was mined.
    await provider.send("evm_setAutomine", [false]);
    const t2 = await market.nextBar(provider);
    await service.waitFor(
      (l) => l.msg === "submitted" && l.bar === new Date(t2 * 1000).toISOString(),
      "submitted t2",
    );
    await service.kill("SIGKILL");
    expect(await accepted()).toEqual([t0, t1]);
    service = await start();
    await service.waitFor((l) => l.msg === "settling a transaction sent before a restart", "settling");
    await provider.send("evm_mine", []);
    await provider.send("evm_setAutomine", [true]);
    const settled = await waitStatus(t2, "confirmed");
    expect(settled.transaction?.hash).toMatch(/^0x[0-9a-f]{64}$/);

    // A next bar after all that goes through as usual.
    const t3 = await market.nextBar(provider);
    await waitStatus(t3, "confirmed");
    expect(await accepted()).toEqual([t0, t1, t2, t3]);

    // SIGTERM in the middle of a proof: no new work, the job in flight is finished, exit 0.
    const t4 = await market.nextBar(provider);
    await service.waitFor(
      (l) => l.msg === "proving" && l.bar === new Date(t4 * 1000).toISOString(),
      "proving t4",
    );
    const stopping = service;
    expect(await stopping.kill("SIGTERM")).toBe(0);
    expect(stopping.lines.find((l) => l.msg === "stopped")).toMatchObject({ finished: 1, requeued: 0 });
    expect(await accepted()).toEqual([t0, t1, t2, t3, t4]);

    // A restart after a clean stop finds nothing to redo. With no grace, SIGTERM mid-proof re-queues the job.
    service = await start(["--grace", "0"]);
    expect((await job(t4))?.status).toBe("confirmed");
    const t5 = await market.nextBar(provider);
    await service.waitFor(
      (l) => l.msg === "proving" && l.bar === new Date(t5 * 1000).toISOString(),
      "proving t5",
    );
    const cut = service;
    expect(await cut.kill("SIGTERM")).toBe(0);
    expect(cut.lines.find((l) => l.msg === "stopped")).toMatchObject({ finished: 0, requeued: 1 });
    expect(await accepted()).toEqual([t0, t1, t2, t3, t4]);
    service = await start();
    await waitStatus(t5, "confirmed");
    expect(await service.kill("SIGTERM")).toBe(0);
    current = undefined;
    expect(await accepted()).toEqual([t0, t1, t2, t3, t4, t5]);
  }, 1_500_000);
});
