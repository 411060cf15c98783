/**
 * A proved bar that a newer update overtook before it was sent: two provers serve one market on a `hardhat node`
 * (127.0.0.1), each with its own store and key, the real signed-update circuit (k = 1, cached) and one
 * `zkrisk publisher serve` instance. Prover A's dry runs of `submitSignedUpdate` fail on its node (a
 * load-balanced backend behind the others, test/helpers/faulty-rpc.ts) while its reads go through, so its proof of
 * bar t1 waits to be sent; meanwhile bar t2 closes, A proves it too, and prover B gets it accepted. A's proof of t1
 * is superseded by its proof of t2 (one unsettled transaction per market, the newest bar's): the job is `skipped`
 * with nothing sent, not `rejected` as a refused transaction is; and A's own proof of t2, the update the oracle
 * holds, is confirmed as already applied, with no transaction of its own.
 */
import { JsonRpcProvider } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadServiceConfig } from "../../service/config";
import { jobIdOf, type JobRecord } from "../../service/jobs";
import { isFinal } from "../../service/job-states";
import { oracleInterface } from "../../onchain/oracle";
import { startService, type RunningService } from "../../service/run";
import { DEV_KEYS, startHardhatNode, type HardhatNode } from "../helpers/hardhat-node";
import { tempDir } from "../helpers/publisher-serve";
import { startFaultyRpc, type FaultyRpc } from "../helpers/faulty-rpc";
import {
  acceptedTimestamps,
  MARKET,
  marketServiceParts,
  memoryLogger,
  SERVICE_ENV,
  type SignedMarket,
  startSignedMarket,
  waitForStoredJob,
  writeServiceConfig,
} from "../helpers/service-env";

/** Prover B's key (account #0, which deployed the market; A has #1, SERVICE_ENV's). */
const B_KEY_ENV = "ZKRISK_TEST_PROVER_B_KEY";

describe(
  "prover service: a proved bar overtaken by a newer update before it was sent",
  { timeout: 900_000 },
  () => {
    let node: HardhatNode;
    let provider: JsonRpcProvider;
    let rpc: FaultyRpc;
    let market: SignedMarket;
    let a: RunningService;
    let b: RunningService | undefined;
    let configB: ReturnType<typeof loadServiceConfig>;
    const linesA: Record<string, unknown>[] = [];
    const linesB: Record<string, unknown>[] = [];

    beforeAll(async () => {
      node = await startHardhatNode();
      provider = new JsonRpcProvider(node.rpc, undefined, { cacheTimeout: -1 });
      rpc = await startFaultyRpc(node.rpc);
      rpc.failCallsTo = oracleInterface().getFunction("submitSignedUpdate")!.selector;
      market = await startSignedMarket(tempDir("superseded"), node.rpc, { publishers: 1, quorum: 1 });
      Object.assign(process.env, SERVICE_ENV, { [B_KEY_ENV]: DEV_KEYS[0] });
      const config = (rpcUrl: string, dir: string, chain: Record<string, unknown>) =>
        loadServiceConfig(
          writeServiceConfig(tempDir(dir), {
            rpc: rpcUrl,
            ...marketServiceParts(market),
            maxAttempts: 50,
            chain: { retryBaseMs: 100, ...chain },
          }),
        );
      a = await startService(config(rpc.url, "superseded-a", {}), memoryLogger(linesA));
      // B starts later, once A holds a proof of t1 it cannot send.
      configB = config(node.rpc, "superseded-b", { key: { env: B_KEY_ENV } });
    }, 900_000);

    afterAll(async () => {
      await b?.stop();
      await a?.stop();
      await market?.stop();
      await rpc?.close();
      provider?.destroy();
      node?.stop();
    });

    const logs = () => [...linesA, ...linesB].map((l) => JSON.stringify(l)).join("\n");
    const waitJob = (on: RunningService, ts: number, done: (job: JobRecord) => boolean, what: string) =>
      waitForStoredJob(on.service.store, jobIdOf(MARKET, ts), done, what, logs, 600_000, 50);

    it("skips the overtaken bar (nothing sent) and confirms the newer one as already applied", async () => {
      const t1 = market.feed.lastTimestamp;
      // A proved t1; its dry runs fail, so it retries the submission.
      await waitJob(a, t1, (j) => j.update !== null && j.attempts >= 1, "proved and tried");
      const t2 = await market.nextBar(provider);
      b = await startService(configB, memoryLogger(linesB));
      const accepted = await waitJob(b, t2, (j) => isFinal(j), "final on B");
      expect(accepted.status).toBe("confirmed");
      expect(await acceptedTimestamps(provider, market.oracle)).toEqual([t2]);

      rpc.failCallsTo = undefined;
      const overtaken = await waitJob(a, t1, (j) => isFinal(j), "final on A");
      expect({ status: overtaken.status, tx: overtaken.tx }).toEqual({ status: "skipped", tx: null });
      expect(overtaken.reason).toMatch(
        /^superseded: the update of the newer bar .* of BTC-USDT \(job \w+\) (is proved, to be sent instead|was accepted on chain); nothing sent for this bar$/,
      );
      const same = await waitJob(a, t2, (j) => isFinal(j), "final on A");
      expect({ status: same.status, tx: same.tx }).toEqual({ status: "confirmed", tx: null });
      expect(same.reason).toMatch(
        /^already applied on chain: the oracle's last update of BTC-USDT is this bar's/,
      );
      expect(rpc.sent).toEqual([]);
      expect(await acceptedTimestamps(provider, market.oracle)).toEqual([t2]);
      const metrics = await a.service.metrics.registry.metrics();
      expect(metrics).toMatch(/zkrisk_updates_skipped_total\{market="BTC-USDT",reason="superseded"\} 1\n/);
      expect(metrics).not.toMatch(/zkrisk_submit_failures_total\{[^}]*reason="OracleNotNewer"/);
    });
  },
);
