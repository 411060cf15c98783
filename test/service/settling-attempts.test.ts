/**
 * What a job's attempts come to once it has a transaction: the service in process (SQLite store, local dispatcher,
 * `chain.maxAttempts` 2) against a `hardhat node` on 127.0.0.1 behind a JSON-RPC proxy
 * (test/helpers/faulty-rpc.ts), with a `zkrisk publisher serve` instance on 127.0.0.1 and the real signed-update
 * circuit (k = 1, cached):
 * - a job that settled its transaction while the node was down (a wait for the node, no attempt spent), whose
 *   transaction is then found dropped (another transaction of the key took its nonce, in the node's pool and then in
 *   a block), signs again and is confirmed, instead of failing with the reason "...; signing again";
 * - an account with no funds: the first job's transaction is retried past `maxAttempts`, and the next bar's job of
 *   the market signs none while it is not settled (one unsettled transaction per market), instead of a second one of
 *   the same nonce; topped up, the first lands, then the second is signed and lands: no job failed;
 * - a transaction mined but short of `chain.confirmations` (2) for longer than `chain.replaceAfterSeconds` (1) is
 *   waited for, never replaced (no `replaced` history entry, no second transaction sent).
 */
import { JsonRpcProvider, Transaction, Wallet } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isoFromSeconds } from "../../core/time";
import { loadServiceConfig, type ServiceConfig } from "../../service/config";
import { jobIdOf, type JobRecord } from "../../service/jobs";
import { isFinal } from "../../service/job-states";
import { ProverService } from "../../service/service";
import { SqliteJobStore } from "../../service/sqlite-store";
import { startFaultyRpc, type FaultyRpc } from "../helpers/faulty-rpc";
import { DEV_KEYS, startHardhatNode, type HardhatNode } from "../helpers/hardhat-node";
import { tempDir } from "../helpers/publisher-serve";
import {
  acceptedTimestamps,
  MARKET,
  marketServiceParts,
  SERVICE_ENV,
  type SignedMarket,
  startSignedMarket,
  waitForStoredJob,
  writeServiceConfig,
  startLocalService,
} from "../helpers/service-env";

const hex = (n: bigint) => "0x" + n.toString(16);

describe("prover service: attempts spent while settling a transaction", { timeout: 600_000 }, () => {
  let node: HardhatNode;
  let provider: JsonRpcProvider;
  let rpc: FaultyRpc;
  let market: SignedMarket;
  let service: ProverService | undefined;
  let store: SqliteJobStore;
  const lines: Record<string, unknown>[] = [];
  const logs = () => lines.map((l) => JSON.stringify(l)).join("\n");
  const prover = new Wallet(DEV_KEYS[1]);

  /** A service config on the proxy: `maxAttempts` 2, short retries, and `chain` settings of the test. */
  const config = (name: string, chain: Record<string, unknown> = {}): ServiceConfig =>
    loadServiceConfig(
      writeServiceConfig(tempDir(name), {
        rpc: rpc.url,
        ...marketServiceParts(market),
        concurrency: 1,
        maxAttempts: 2,
        chain: { retryBaseMs: 100, ...chain },
      }),
    );

  beforeAll(async () => {
    node = await startHardhatNode();
    provider = new JsonRpcProvider(node.rpc, undefined, { cacheTimeout: -1 });
    rpc = await startFaultyRpc(node.rpc);
    market = await startSignedMarket(tempDir("settling-attempts"), node.rpc, { publishers: 1, quorum: 1 });
    Object.assign(process.env, SERVICE_ENV);
  }, 900_000);

  afterAll(async () => {
    await service?.stop(0);
    await market?.stop();
    await rpc?.close();
    provider?.destroy();
    node?.stop();
  });

  /** Start the service on `cfg`'s database, waiting `settleTimeoutMs` for a receipt in each attempt. */
  async function start(cfg: ServiceConfig, settleTimeoutMs: number): Promise<void> {
    store = SqliteJobStore.open(cfg.database);
    service = await startLocalService(cfg, store, lines, settleTimeoutMs);
  }

  async function stop(): Promise<void> {
    await service!.stop(0);
    service = undefined;
  }

  const waitJob = (ts: number, done: (job: JobRecord) => boolean, what: string): Promise<JobRecord> =>
    waitForStoredJob(store, jobIdOf(MARKET, ts), done, what, logs, 300_000, 50);
  /** Whether the node was sent the job's newest transaction through the proxy. */
  const sent = (job: JobRecord) => job.tx !== null && rpc.sent.includes(job.tx.hash.toLowerCase());
  /** The service's log lines about bar `ts` with message `msg`. */
  const logged = (ts: number, msg: string) =>
    lines.filter((l) => l.msg === msg && l.bar === isoFromSeconds(ts));
  /** Poll until `done`; the error names `what` and carries the service's log. */
  async function until(done: () => boolean | Promise<boolean>, what: string): Promise<void> {
    const t0 = Date.now();
    while (!(await done())) {
      if (Date.now() - t0 > 300_000) throw new Error(`not ${what}:\n${logs()}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  it("signs again when the transaction it settled while the node was down is dropped", async () => {
    await provider.send("evm_setAutomine", [false]);
    try {
      // Settled for up to 5 s at each attempt: the test mines while the job's transaction is being settled.
      await start(config("settling-attempts-dropped"), 5_000);
      const t0 = market.feed.lastTimestamp;
      const first = (await waitJob(t0, sent, "sent")).tx!;
      // The node goes down with the transaction in its pool: the job keeps settling it, waiting for the node (more
      // looks than maxAttempts, 2, and none an attempt).
      rpc.down = true;
      const nodeWaits = async () =>
        (await service!.metrics.submitWaits.get()).values.find((v) => v.labels.reason === "node_unreachable")
          ?.value ?? 0;
      await until(async () => (await nodeWaits()) >= 3, "waited for the node");
      expect(await waitJob(t0, () => true, "read")).toMatchObject({ attempts: 0, tx: { hash: first.hash } });
      // Another transaction of the key, with higher fees, takes the job's place in the pool.
      const signed = Transaction.from(first.raw);
      await prover.connect(provider).sendTransaction({
        to: prover.address,
        nonce: first.nonce,
        gasLimit: 21_000n,
        maxFeePerGas: signed.maxFeePerGas! * 4n,
        maxPriorityFeePerGas: signed.maxPriorityFeePerGas! * 4n,
      });
      // The node answers again: the job's transaction is sent again (a replacement too cheap for the node: it
      // counts as sent) and, while it is settled, the other one is mined.
      const before = logged(t0, "submitted").length;
      rpc.down = false;
      await until(() => logged(t0, "submitted").length > before, "sent again");
      await provider.send("evm_mine", []);

      const again = await waitJob(
        t0,
        (j) => isFinal(j) || (j.tx !== null && j.tx.hash !== first.hash && sent(j)),
        "signed again",
      );
      expect(again.status, String(again.reason)).not.toBe("failed");
      expect(again.tx!.nonce).toBe(first.nonce + 1);
      // The drop was logged, and the count of attempts started again from it.
      expect(
        lines.some(
          (l) =>
            l.bar === isoFromSeconds(t0) &&
            l.reason === `transaction ${first.hash} was dropped (nonce ${first.nonce} taken); signing again`,
        ),
      ).toBe(true);
      expect(again.attempts).toBeLessThan(2);
      await provider.send("evm_mine", []);
      const done = await waitJob(t0, isFinal, "final");
      expect({ status: done.status, hash: done.tx?.hash }).toEqual({
        status: "confirmed",
        hash: again.tx!.hash,
      });
      expect(await provider.getTransactionReceipt(first.hash)).toBeNull();
      expect(await acceptedTimestamps(provider, market.oracle)).toEqual([t0]);
    } finally {
      await provider.send("evm_setAutomine", [true]);
      await provider.send("evm_mine", []);
    }
  });

  it("signs no second transaction for the market while the first waits for funds; both land once topped up", async () => {
    const balance = await provider.getBalance(prover.address);
    await provider.send("hardhat_setBalance", [prover.address, "0x0"]);
    const t1 = await market.nextBar(provider);
    const a = await waitJob(t1, (j) => isFinal(j) || (j.tx !== null && j.attempts >= 2), "short of funds");
    const t2 = await market.nextBar(provider);
    const b = await waitJob(
      t2,
      (j) =>
        isFinal(j) || / \(waiting for the market's earlier transaction to settle since /.test(j.reason ?? ""),
      "waiting for the first",
    );
    expect([isFinal(a), isFinal(b), b.tx, b.attempts]).toEqual([false, false, null, 0]);
    expect(b.reason).toMatch(new RegExp(`^transaction ${a.tx!.hash} of the earlier bar `));
    await provider.send("hardhat_setBalance", [prover.address, hex(balance)]);

    const [doneA, doneB] = [await waitJob(t1, isFinal, "final"), await waitJob(t2, isFinal, "final")];
    expect({ status: doneA.status, hash: doneA.tx?.hash }).toEqual({ status: "confirmed", hash: a.tx!.hash });
    expect({ status: doneB.status, reason: doneB.reason }).toEqual({ status: "confirmed", reason: null });
    expect(doneB.tx!.nonce).toBe(a.tx!.nonce + 1);
    expect((await acceptedTimestamps(provider, market.oracle)).slice(-2)).toEqual([t1, t2]);
  });

  it("waits for the confirmations of a mined transaction and never replaces it", async () => {
    await stop();
    await provider.send("evm_setAutomine", [false]);
    try {
      await start(
        config("settling-attempts-confirmations", { confirmations: 2, replaceAfterSeconds: 1 }),
        1_000,
      );
      const sentBefore = rpc.sent.length;
      const t3 = await market.nextBar(provider);
      const original = (await waitJob(t3, sent, "sent")).tx!;
      await provider.send("evm_mine", []);
      const receipt = await provider.getTransactionReceipt(original.hash);
      expect(receipt?.status).toBe(1);
      // One block deep, two asked: settled again and again, each time past `replaceAfterSeconds` since signing.
      const retries = () => logged(t3, "settling the sent transaction failed; will retry").length;
      const seen = retries();
      await until(() => retries() >= seen + 3, "settled three times");
      const waiting = await waitJob(t3, () => true, "read");
      expect(Date.now() - original.signedAt!).toBeGreaterThan(2_000);
      expect(waiting.history).toEqual([]);
      expect({ hash: waiting.tx?.hash, others: waiting.tx?.others }).toEqual({
        hash: original.hash,
        others: undefined,
      });
      expect(waiting.reason).toBe(
        `transaction ${original.hash} mined in block ${receipt!.blockNumber}, waiting for 2 confirmations ` +
          "(not reached within 1000 ms)",
      );
      // Sent again while it is settled (the node finds its nonce used, and its receipt): no other transaction.
      expect(new Set(rpc.sent.slice(sentBefore))).toEqual(new Set([original.hash.toLowerCase()]));
      await provider.send("evm_mine", []);
      const done = await waitJob(t3, isFinal, "final");
      expect({ status: done.status, hash: done.tx?.hash, block: done.block, history: done.history }).toEqual({
        status: "confirmed",
        hash: original.hash,
        block: receipt!.blockNumber,
        history: [],
      });
      expect(await service!.metrics.registry.metrics()).not.toMatch(/zkrisk_transactions_replaced_total\{/);
    } finally {
      await provider.send("evm_setAutomine", [true]);
    }
  });
});
