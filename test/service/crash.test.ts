/**
 * Nothing lost, nothing twice: `zkrisk serve` as a separate process against a `hardhat node` on 127.0.0.1,
 * fed one closed bar at a time. It is killed with SIGKILL in the middle of a proof, and again after a
 * transaction was sent but before it was mined; each time it is restarted. In the end every bar has exactly
 * one accepted update on chain. Then SIGTERM stops it cleanly (exit code 0).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JsonRpcProvider } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jobIdOf } from "../../prover/service/jobs";
import { buildProvingArtifacts } from "../helpers/artifacts";
import { freePort, startHardhatNode, type HardhatNode } from "../helpers/hardhat-node";
import {
  acceptedTimestamps,
  CandleFeed,
  deployMarket,
  MARKET,
  waitForJob,
  writeServiceConfig,
  type JobView,
} from "../helpers/service-env";
import { ServiceProcess } from "../helpers/service-process";

describe("zkrisk serve: kill -9 and restart", () => {
  let node: HardhatNode;
  let provider: JsonRpcProvider;
  let oracle: string;
  let config: string;
  let feed: CandleFeed;
  let url: string;
  let current: ServiceProcess | undefined;

  beforeAll(async () => {
    const artifacts = await buildProvingArtifacts();
    node = await startHardhatNode();
    provider = new JsonRpcProvider(node.rpc);
    ({ oracle } = await deployMarket(node.rpc, artifacts));
    const dir = mkdtempSync(join(tmpdir(), "zkrisk-crash-"));
    feed = new CandleFeed(join(dir, "candles.csv"), "2024-05-20 00:00:00");
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    config = writeServiceConfig(dir, { rpc: node.rpc, oracle, artifacts, candles: feed.path, port });
  }, 600_000);

  afterAll(async () => {
    await current?.kill("SIGKILL");
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

  it("loses no bar and applies none twice", async () => {
    const t0 = feed.lastTimestamp;
    current = new ServiceProcess(config);
    await waitStatus(t0, "confirmed");

    // A second service on the same database is refused while the first lives.
    const second = new ServiceProcess(config);
    expect(await second.exited).toBe(1);
    expect(JSON.stringify(second.lines)).toMatch(/jobs\.db: already used by zkrisk serve [^ ]+:\d+/);

    // Killed in the middle of a proof.
    const t1 = feed.append();
    await current.waitFor(
      (l) => l.msg === "proving" && l.bar === new Date(t1 * 1000).toISOString(),
      "proving t1",
    );
    await current.kill("SIGKILL");
    expect(await accepted()).toEqual([t0]);
    current = new ServiceProcess(config);
    await waitStatus(t1, "confirmed");

    // Killed after the transaction was sent and before it was mined.
    await provider.send("evm_setAutomine", [false]);
    const t2 = feed.append();
    await current.waitFor(
      (l) => l.msg === "submitted" && l.bar === new Date(t2 * 1000).toISOString(),
      "submitted t2",
    );
    await current.kill("SIGKILL");
    expect(await accepted()).toEqual([t0, t1]);
    current = new ServiceProcess(config);
    await current.waitFor((l) => l.msg === "settling a transaction sent before a restart", "settling");
    await provider.send("evm_mine", []);
    await provider.send("evm_setAutomine", [true]);
    const settled = await waitStatus(t2, "confirmed");
    expect(settled.transaction?.hash).toMatch(/^0x[0-9a-f]{64}$/);

    // A next bar after all that goes through as usual.
    const t3 = feed.append();
    await waitStatus(t3, "confirmed");
    expect(await accepted()).toEqual([t0, t1, t2, t3]);

    // SIGTERM in the middle of a proof: no new work, the job in flight is finished, exit 0.
    const t4 = feed.append();
    await current.waitFor(
      (l) => l.msg === "proving" && l.bar === new Date(t4 * 1000).toISOString(),
      "proving t4",
    );
    const stopping = current;
    expect(await stopping.kill("SIGTERM")).toBe(0);
    expect(stopping.lines.find((l) => l.msg === "stopped")).toMatchObject({ finished: 1, requeued: 0 });
    expect(await accepted()).toEqual([t0, t1, t2, t3, t4]);

    // A restart after a clean stop finds nothing to redo. With no grace, SIGTERM mid-proof re-queues the job.
    current = new ServiceProcess(config, ["--grace", "0"]);
    await current.waitFor((l) => l.msg === "service ready", "ready");
    expect((await job(t4))?.status).toBe("confirmed");
    const t5 = feed.append();
    await current.waitFor(
      (l) => l.msg === "proving" && l.bar === new Date(t5 * 1000).toISOString(),
      "proving t5",
    );
    const cut = current;
    expect(await cut.kill("SIGTERM")).toBe(0);
    expect(cut.lines.find((l) => l.msg === "stopped")).toMatchObject({ finished: 0, requeued: 1 });
    expect(await accepted()).toEqual([t0, t1, t2, t3, t4]);
    current = new ServiceProcess(config);
    await waitStatus(t5, "confirmed");
    expect(await current.kill("SIGTERM")).toBe(0);
    current = undefined;
    expect(await accepted()).toEqual([t0, t1, t2, t3, t4, t5]);
  }, 600_000);
});
