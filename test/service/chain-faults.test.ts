/**
 * The prover service against a node that misbehaves as public RPC endpoints do, in process against a
 * `hardhat node` on 127.0.0.1 behind a faulty JSON-RPC proxy (test/helpers/faulty-rpc.ts), with a
 * `zkrisk publisher serve` instance on 127.0.0.1 and the real signed-update circuit (k = 1, cached):
 * - a transaction that landed but whose receipt the node does not serve yet is taken for dropped; the dry run of
 *   the next one is refused with `OracleNotNewer`, and the service sees that the oracle holds this very update
 *   (this bar, this proof's margins): the job is confirmed, not rejected, and no second transaction is sent;
 * - the node goes down right after a transaction was sent: the job keeps settling that transaction, waiting for the
 *   node (no attempt spent) instead of failing while it may land, and is confirmed once the node answers again;
 * - `GET /v1/markets/:id` while the node fails its calls: 503 CHAIN_UNREACHABLE, not 500 ORACLE_REJECTED;
 * - a gas price above the ceiling: the job waits (no attempt spent, no submission failure counted), then submits.
 */
import { JsonRpcProvider } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadServiceConfig } from "../../service/config";
import { jobIdOf, type JobRecord } from "../../service/jobs";
import { isFinal } from "../../service/job-states";
import { startService, type RunningService } from "../../service/run";
import { startHardhatNode, type HardhatNode } from "../helpers/hardhat-node";
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

describe("prover service: a node that misbehaves", { timeout: 600_000 }, () => {
  let node: HardhatNode;
  let provider: JsonRpcProvider;
  let rpc: FaultyRpc;
  let market: SignedMarket;
  let running: RunningService;
  const lines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    node = await startHardhatNode();
    provider = new JsonRpcProvider(node.rpc, undefined, { cacheTimeout: -1 });
    rpc = await startFaultyRpc(node.rpc);
    const dir = tempDir("chain-faults");
    market = await startSignedMarket(dir, node.rpc, { publishers: 1, quorum: 1 });
    Object.assign(process.env, SERVICE_ENV);
    const cfg = loadServiceConfig(
      writeServiceConfig(dir, {
        rpc: rpc.url,
        ...marketServiceParts(market),
        concurrency: 1,
        maxAttempts: 2,
      }),
    );
    // The first bar's transaction lands, but its receipt is not served (a backend behind the others).
    rpc.hideSentReceipts = true;
    running = await startService(cfg, memoryLogger(lines));
  }, 900_000);

  afterAll(async () => {
    await running?.stop();
    await market?.stop();
    await rpc?.close();
    provider?.destroy();
    node?.stop();
  });

  /** Poll the store until the job of bar `ts` satisfies `done`. */
  const waitJob = (ts: number, done: (job: JobRecord) => boolean, what: string): Promise<JobRecord> =>
    waitForStoredJob(
      running.service.store,
      jobIdOf(MARKET, ts),
      done,
      what,
      () => lines.map((l) => JSON.stringify(l)).join("\n"),
      300_000,
      50,
    );

  it("confirms a job whose transaction landed though it was taken for dropped, sending no other", async () => {
    const t0 = market.feed.lastTimestamp;
    const job = await waitJob(t0, (j) => isFinal(j), "final");
    expect({ status: job.status, reason: job.reason }).toMatchObject({
      status: "confirmed",
      reason: expect.stringMatching(
        /^already applied on chain: the oracle's last update of BTC-USDT is this bar's \(2024-05-31T22:00:00Z\), with this proof's margins \(MM \d+ bps, IM \d+ bps\), accepted at /,
      ),
    });
    expect(new Set(rpc.sent).size).toBe(1);
    expect(await acceptedTimestamps(provider, market.oracle)).toEqual([t0]);
    const metrics = await running.service.metrics.registry.metrics();
    expect(metrics).toMatch(/zkrisk_updates_accepted_total\{market="BTC-USDT"\} 1\n/);
    expect(metrics).toMatch(
      new RegExp(`zkrisk_last_accepted_data_timestamp_seconds\\{market="BTC-USDT"\\} ${t0}\\n`),
    );
    rpc.hideSentReceipts = false;
  });

  it("keeps settling a sent transaction while the node is down, spending no attempt, and confirms it", async () => {
    const before = new Set(rpc.sent).size;
    rpc.downAfterSend = true;
    const t1 = await market.nextBar(provider);
    // The node went down right after taking the transaction; maxAttempts is 2: looked at more often than that.
    const nodeWaits = async () =>
      (await running.service.metrics.submitWaits.get()).values.find(
        (v) => v.labels.reason === "node_unreachable",
      )?.value ?? 0;
    const waitsBefore = await nodeWaits();
    const t0 = Date.now();
    while ((await nodeWaits()) < waitsBefore + 3) {
      if (Date.now() - t0 > 300_000) throw new Error(lines.map((l) => JSON.stringify(l)).join("\n"));
      await new Promise((r) => setTimeout(r, 50));
    }
    const waiting = await waitJob(t1, () => true, "read");
    expect({ status: waiting.status, attempts: waiting.attempts }).toEqual({
      status: expect.stringMatching(/^(proved|submitting)$/),
      attempts: 0,
    });
    expect(waiting.reason).toMatch(/^the node did not answer: .*\(waiting for the node to answer since /);
    const sent = [...new Set(rpc.sent)][before];
    expect(waiting.tx?.hash).toBe(sent);
    rpc.downAfterSend = false;
    rpc.down = false;
    const job = await waitJob(t1, (j) => isFinal(j), "final");
    expect({ status: job.status, reason: job.reason, hash: job.tx?.hash }).toEqual({
      status: "confirmed",
      reason: null,
      hash: sent,
    });
    expect(job.block).toBeGreaterThan(0);
    // The same transaction, sent again while settling it: no other one.
    expect(new Set(rpc.sent).size).toBe(before + 1);
    expect(await acceptedTimestamps(provider, market.oracle)).toEqual([market.feed.lastTimestamp - 7200, t1]);
  });

  it("answers a market view whose reads the node failed with 503 CHAIN_UNREACHABLE, not an oracle refusal", async () => {
    rpc.failCalls = true;
    try {
      const r = await fetch(`${running.url}/v1/markets/${MARKET}`);
      expect(r.status).toBe(503);
      expect(await r.json()).toEqual({
        error: "CHAIN_UNREACHABLE",
        message: expect.stringMatching(
          /^the node did not answer: reading marketConfig of market BTC-USDT.*header not found/,
        ),
      });
    } finally {
      rpc.failCalls = false;
    }
    expect((await fetch(`${running.url}/v1/markets/${MARKET}`)).status).toBe(200);
  });

  it("waits out a gas price above the ceiling without counting submission failures, then submits", async () => {
    const failures = async () =>
      (await running.service.metrics.submitFailures.get()).values.reduce((n, v) => n + v.value, 0);
    const before = await failures();
    // The block that closes the bar has a base fee of 1000 gwei (the ceiling is 100 gwei).
    await provider.send("hardhat_setNextBlockBaseFeePerGas", ["0x" + (1000n * 10n ** 9n).toString(16)]);
    const t2 = await market.nextBar(provider);
    // Each look is counted; the wait is logged once, when it begins.
    const gasWaits = async () =>
      (await running.service.metrics.submitWaits.get()).values.find((v) => v.labels.reason === "gas_price")
        ?.value ?? 0;
    const t0 = Date.now();
    while ((await gasWaits()) < 2) {
      if (Date.now() - t0 > 300_000) throw new Error(lines.map((l) => JSON.stringify(l)).join("\n"));
      await new Promise((r) => setTimeout(r, 50));
    }
    const waiting = await waitJob(t2, () => true, "read");
    expect({ status: waiting.status, attempts: waiting.attempts }).toEqual({ status: "proved", attempts: 0 });
    expect(
      lines
        .filter((l) => /^gas price [\d.]+ gwei is above the ceiling/.test(String(l.reason)))
        .map((l) => l.msg),
    ).toEqual(["waiting for a gas price under the ceiling (no attempt spent)"]);
    // Nothing was submitted, so nothing failed to be.
    expect(await failures()).toBe(before);
    await provider.send("hardhat_setNextBlockBaseFeePerGas", ["0x3b9aca00"]);
    await provider.send("evm_mine", []);
    expect((await waitJob(t2, (j) => isFinal(j), "final")).status).toBe("confirmed");
  });
});
