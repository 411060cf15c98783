/**
 * A transaction signed but not recorded is never sent, and its nonce is handed out again: the service in process
 * (SQLite store, local dispatcher) against a `hardhat node` on 127.0.0.1 with a `zkrisk publisher serve` instance
 * on 127.0.0.1 and the real signed-update circuit (k = 1, cached), its store failing once to write a signed
 * transaction (as a full disk does). Sent unrecorded, a restart could not find it; kept counted, every later
 * transaction would wait behind a nonce no transaction holds, pending for ever.
 */
import { JsonRpcProvider, Wallet } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadServiceConfig } from "../../service/config";
import { jobIdOf, type JobRecord } from "../../service/jobs";
import { isFinal } from "../../service/job-states";
import { ProverService } from "../../service/service";
import { SqliteJobStore } from "../../service/sqlite-store";
import { DEV_KEYS, startHardhatNode, type HardhatNode } from "../helpers/hardhat-node";
import { tempDir } from "../helpers/publisher-serve";
import {
  acceptedTimestamps,
  MARKET,
  marketServiceParts,
  SERVICE_ENV,
  type SignedMarket,
  startSignedMarket,
  writeServiceConfig,
  startLocalService,
} from "../helpers/service-env";

describe("prover service: a signed transaction the store failed to record", { timeout: 600_000 }, () => {
  let node: HardhatNode;
  let provider: JsonRpcProvider;
  let market: SignedMarket;
  let service: ProverService | undefined;
  const lines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    node = await startHardhatNode();
    provider = new JsonRpcProvider(node.rpc, undefined, { cacheTimeout: -1 });
    market = await startSignedMarket(tempDir("unrecorded"), node.rpc, { publishers: 1, quorum: 1 });
  }, 900_000);

  afterAll(async () => {
    await service?.stop(0);
    await market?.stop();
    provider?.destroy();
    node?.stop();
  });

  it("is not sent, and the next transaction takes its nonce", async () => {
    Object.assign(process.env, SERVICE_ENV);
    const cfg = loadServiceConfig(
      writeServiceConfig(tempDir("unrecorded-service"), {
        rpc: node.rpc,
        ...marketServiceParts(market),
        concurrency: 1,
      }),
    );
    // The SQLite store, failing the first write of a signed transaction.
    const store = SqliteJobStore.open(cfg.database);
    const update = store.update.bind(store);
    let failed = 0;
    store.update = async (id, patch, now, expect) => {
      if (patch.tx && failed++ === 0) throw new Error("SQLITE_FULL: database or disk is full");
      return update(id, patch, now, expect);
    };
    const nonce = await provider.getTransactionCount(new Wallet(DEV_KEYS[1]).address, "pending");
    service = await startLocalService(cfg, store, lines, 5_000);

    const t0 = market.feed.lastTimestamp;
    const t1 = Date.now();
    let job: JobRecord | undefined;
    for (;;) {
      job = await store.get(jobIdOf(MARKET, t0));
      if (job && isFinal(job)) break;
      if (Date.now() - t1 > 120_000) {
        throw new Error(
          `not final: ${JSON.stringify(job)}\n${lines.map((l) => JSON.stringify(l)).join("\n")}`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(failed).toBeGreaterThan(1);
    expect(job.status).toBe("confirmed");
    expect(job.tx?.nonce).toBe(nonce);
    expect(await acceptedTimestamps(provider, market.oracle)).toEqual([t0]);
  });
});
