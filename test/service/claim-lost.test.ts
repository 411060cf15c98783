/**
 * A service whose claim of its SQLite file another process took over stops on its own: it takes no more work,
 * stops gracefully, and `zkrisk serve` exits with code 1 and says why. In process and as a separate process,
 * against a `hardhat node` with a signed market (the real signed-update circuit, k = 1, cached); the claim is
 * taken over by rewriting its row, as a process that judged the holder dead would (one heartbeat, 10 s, later).
 */
import Database from "better-sqlite3";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadServiceConfig } from "../../service/config";
import { startService } from "../../service/run";
import { startHardhatNode, type HardhatNode } from "../helpers/hardhat-node";
import { tempDir } from "../helpers/publisher-serve";
import {
  marketServiceParts,
  memoryLogger,
  SERVICE_ENV,
  startSignedMarket,
  writeServiceConfig,
  type SignedMarket,
} from "../helpers/service-env";
import { ServiceProcess } from "../helpers/service-process";

/** Give the claim of the database at `path` to another holder. */
function takeOver(path: string): void {
  const db = new Database(path);
  db.prepare("UPDATE service_owner SET worker = 'elsewhere:1:x', host = 'elsewhere', pid = 1").run();
  db.close();
}

describe("a service that lost its SQLite claim", () => {
  let node: HardhatNode;
  let market: SignedMarket;
  let config: string;
  let database: string;

  beforeAll(async () => {
    node = await startHardhatNode();
    const dir = tempDir("claim-lost");
    market = await startSignedMarket(dir, node.rpc, { publishers: 1, quorum: 1 });
    config = writeServiceConfig(dir, { rpc: node.rpc, ...marketServiceParts(market) });
    database = join(dir, "jobs.db");
    Object.assign(process.env, SERVICE_ENV);
  }, 900_000);

  afterAll(async () => {
    await market?.stop();
    node?.stop();
  });

  it("stops on its own, its API closed, and says why", async () => {
    const lines: Record<string, unknown>[] = [];
    const running = await startService(loadServiceConfig(config), memoryLogger(lines), 0);
    expect((await fetch(`${running.url}/healthz`)).ok).toBe(true);
    takeOver(database);
    const err = await running.failed;
    expect(err.message).toMatch(
      /jobs\.db: another process took this zkrisk serve's claim of the database over/,
    );
    expect(lines.map((l) => l.msg)).toEqual(
      expect.arrayContaining(["stopping: this service can no longer run", "stopped"]),
    );
    await expect(fetch(`${running.url}/healthz`)).rejects.toThrow();
    await running.stop(); // already stopped: the same stop
  }, 120_000);

  it("zkrisk serve exits with code 1", async () => {
    const service = new ServiceProcess(config);
    await service.waitFor((l) => l.msg === "service ready", "ready");
    takeOver(database);
    expect(await service.exited).toBe(1);
    expect(service.lines.map((l) => l.msg)).toContain("stopped");
    expect(JSON.stringify(service.lines.at(-1))).toMatch(
      /zkrisk: .*another process took this zkrisk serve's claim/,
    );
  }, 120_000);
});
