/**
 * Transactions that stay pending, and transactions the node refuses: the service in process (SQLite store, local
 * dispatcher, `chain.replaceAfterSeconds` 3, `settleTimeoutMs` 1 s) against a `hardhat node` on 127.0.0.1 behind a
 * JSON-RPC proxy (test/helpers/faulty-rpc.ts), with a `zkrisk publisher serve` instance on 127.0.0.1 and the real
 * signed-update circuit (k = 1, cached). With automine off, the node keeps transactions in its pool and a block is
 * mined when the test says (`evm_mine`), with the base fee it sets (`hardhat_setNextBlockBaseFeePerGas`):
 * - a base-fee rise leaves the transaction underpriced: it is replaced (same nonce, higher fees, recorded before it
 *   is sent); the service is stopped after sending it, the replacement is mined, and the next start confirms the
 *   job with the replacement's receipt;
 * - a replacement recorded but never sent (the node unreachable for sends), the service stopped, the original
 *   mined: the next start confirms the job with the original's receipt (no "dropped", no second update);
 * - the gas-price ceiling stops the bumps (the job says so) and the transaction at the ceiling lands;
 * - a recorded transaction the node refuses as invalid (signed for another chain), none mined: it is cleared and
 *   signed again, and the job is confirmed; refused as invalid again ("intrinsic gas too low"), the job fails
 *   instead of being retried for ever;
 * - an account with no funds: the job keeps its transaction and retries, saying the account needs funds, counted
 *   in `zkrisk_submit_failures_total{reason="insufficient_funds"}`; topped up, the transaction lands.
 */
import { JsonRpcProvider, Transaction, Wallet } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jobView } from "../../service/api";
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
  signedForChain,
  type SignedMarket,
  startSignedMarket,
  waitForStoredJob,
  writeServiceConfig,
  startLocalService,
} from "../helpers/service-env";

const GWEI = 10n ** 9n;
const hex = (n: bigint) => "0x" + n.toString(16);
/** The max fee per gas of a signed transaction, wei. */
const maxFee = (raw: string) => Transaction.from(raw).maxFeePerGas!;
const tip = (raw: string) => Transaction.from(raw).maxPriorityFeePerGas!;

describe("prover service: pending transactions replaced, refused transactions", { timeout: 600_000 }, () => {
  let node: HardhatNode;
  let provider: JsonRpcProvider;
  let rpc: FaultyRpc;
  let market: SignedMarket;
  let cfg: ServiceConfig;
  let service: ProverService | undefined;
  let store: SqliteJobStore;
  const lines: Record<string, unknown>[] = [];
  const logs = () => lines.map((l) => JSON.stringify(l)).join("\n");
  const prover = new Wallet(DEV_KEYS[1]);

  beforeAll(async () => {
    node = await startHardhatNode();
    provider = new JsonRpcProvider(node.rpc, undefined, { cacheTimeout: -1 });
    rpc = await startFaultyRpc(node.rpc);
    const dir = tempDir("fee-bump");
    market = await startSignedMarket(dir, node.rpc, { publishers: 1, quorum: 1 });
    Object.assign(process.env, SERVICE_ENV);
    cfg = loadServiceConfig(
      writeServiceConfig(dir, {
        rpc: rpc.url,
        ...marketServiceParts(market),
        concurrency: 1,
        chain: { replaceAfterSeconds: 3 },
      }),
    );
  }, 900_000);

  afterAll(async () => {
    await service?.stop(0);
    await market?.stop();
    await rpc?.close();
    provider?.destroy();
    node?.stop();
  });

  /** Start the service on the config's database (`wrap` may change the store's methods first). */
  async function start(wrap?: (s: SqliteJobStore) => void): Promise<void> {
    store = SqliteJobStore.open(cfg.database);
    wrap?.(store);
    service = await startLocalService(cfg, store, lines, 1_000);
  }

  /** Stop it with no grace: a job settling its transactions goes back to `proved`, its transactions kept. */
  async function stop(): Promise<void> {
    await service!.stop(0);
    service = undefined;
  }

  const waitJob = (ts: number, done: (job: JobRecord) => boolean, what: string): Promise<JobRecord> =>
    waitForStoredJob(store, jobIdOf(MARKET, ts), done, what, logs, 300_000, 50);
  /** Whether the node was sent the job's newest transaction through the proxy. */
  const sent = (job: JobRecord) => job.tx !== null && rpc.sent.includes(job.tx.hash.toLowerCase());
  const mine = async (baseFeeGwei?: bigint) => {
    if (baseFeeGwei !== undefined)
      await provider.send("hardhat_setNextBlockBaseFeePerGas", [hex(baseFeeGwei * GWEI)]);
    await provider.send("evm_mine", []);
  };
  const metrics = async () => service!.metrics.registry.metrics();

  it("replaces a transaction a base-fee rise left underpriced; the replacement lands, after a stop and restart", async () => {
    await provider.send("evm_setAutomine", [false]);
    await start();
    const t0 = market.feed.lastTimestamp;
    const original = (await waitJob(t0, sent, "sent")).tx!;
    // The base fee rises above the transaction's max fee: the block is mined without it.
    expect(maxFee(original.raw)).toBeLessThan(40n * GWEI);
    await mine(40n);
    expect(await provider.getTransactionReceipt(original.hash)).toBeNull();

    const job = await waitJob(t0, (j) => (j.tx?.others?.length ?? 0) >= 1 && sent(j), "replaced and sent");
    const replacement = job.tx!;
    expect(replacement.nonce).toBe(original.nonce);
    expect(replacement.others![0]).toEqual({ hash: original.hash, raw: original.raw });
    // At least the node's fees after the rise (2 x 40 gwei base fee + tip), at most the ceiling of 100 gwei.
    expect(maxFee(replacement.raw)).toBeGreaterThanOrEqual(80n * GWEI);
    expect(maxFee(replacement.raw)).toBeLessThanOrEqual(100n * GWEI);
    expect(tip(replacement.raw)).toBeGreaterThanOrEqual((tip(original.raw) * 1125n) / 1000n);
    expect(job.history.find((e) => e.event === "replaced")?.message).toMatch(
      new RegExp(
        `^transaction ${original.hash} \\(max fee [\\d.]+ gwei, tip [\\d.]+ gwei\\) pending for \\d+ s: replaced by ` +
          `0x[0-9a-f]{64} \\(max fee [\\d.]+ gwei, tip [\\d.]+ gwei\\), nonce ${original.nonce}$`,
      ),
    );
    expect(
      lines.find(
        (l) => l.msg === "pending transaction replaced with higher fees" && l.replaces === original.hash,
      ),
    ).toMatchObject({ nonce: original.nonce, maxFeeGwei: [expect.any(String), expect.any(String)] });
    expect(await metrics()).toMatch(/zkrisk_transactions_replaced_total\{market="BTC-USDT"\} [1-9]\n/);

    // Stopped after sending; the replacement is mined while no service runs; the next start settles it.
    await stop();
    const reader = SqliteJobStore.open(cfg.database);
    const newest = (await reader.get(jobIdOf(MARKET, t0)))!;
    await reader.close();
    await mine(40n);
    const receipt = await provider.getTransactionReceipt(newest.tx!.hash);
    expect(receipt?.status).toBe(1);
    await start();
    const done = await waitJob(t0, isFinal, "final");
    expect({ status: done.status, hash: done.tx?.hash, block: done.block }).toEqual({
      status: "confirmed",
      hash: newest.tx!.hash,
      block: receipt!.blockNumber,
    });
    expect(done.tx!.others!.map((o) => o.hash)).toContain(original.hash);
    expect(await provider.getTransactionReceipt(original.hash)).toBeNull();
    expect(await acceptedTimestamps(provider, market.oracle)).toEqual([t0]);
  });

  it("confirms the job with the original when it lands after a replacement was recorded but not sent", async () => {
    const t1 = await market.nextBar(provider);
    const original = (await waitJob(t1, sent, "sent")).tx!;
    // The node takes no more transactions (a backend that resets the connection): the replacement is recorded,
    // then its sending fails, again and again.
    rpc.sendError = "connection reset by peer";
    const recorded = await waitJob(t1, (j) => (j.tx?.others?.length ?? 0) >= 1, "replacement recorded");
    const replacement = recorded.tx!;
    expect(replacement.others!.map((o) => o.hash)).toContain(original.hash);
    expect(rpc.sent).not.toContain(replacement.hash.toLowerCase());
    await stop();
    // The original, still in the node's pool, is mined while no service runs.
    await mine();
    const receipt = await provider.getTransactionReceipt(original.hash);
    expect(receipt?.status).toBe(1);
    rpc.sendError = undefined;
    await start();
    const done = await waitJob(t1, isFinal, "final");
    expect({ status: done.status, hash: done.tx?.hash, block: done.block }).toEqual({
      status: "confirmed",
      hash: original.hash,
      block: receipt!.blockNumber,
    });
    // The API shows the one mined, and the other of its nonce.
    expect(jobView(done).transaction).toEqual({
      hash: original.hash,
      nonce: original.nonce,
      block: receipt!.blockNumber,
      others: [replacement.hash],
    });
    expect(await acceptedTimestamps(provider, market.oracle)).toEqual([market.feed.lastTimestamp - 7200, t1]);
  });

  it("stops bumping at the gas-price ceiling, saying so, and the transaction at the ceiling lands", async () => {
    const t2 = await market.nextBar(provider);
    const original = (await waitJob(t2, sent, "sent")).tx!;
    // A base fee of 90 gwei: the node's fees (2 x 90 gwei + tip) are above the ceiling of 100 gwei.
    await mine(90n);
    const atCeiling = await waitJob(
      t2,
      (j) => /not replaced: .* above the ceiling of 100 gwei; waiting$/.test(j.reason ?? ""),
      "at the ceiling",
    );
    expect(atCeiling.status).not.toBe("failed");
    const txs = [atCeiling.tx!, ...atCeiling.tx!.others!];
    expect(txs.map((t) => t.hash)).toContain(original.hash);
    for (const t of txs) expect(maxFee(t.raw)).toBeLessThanOrEqual(100n * GWEI);
    expect(maxFee(atCeiling.tx!.raw)).toBe(100n * GWEI);
    expect(
      lines.some((l) => l.msg === "pending transaction not replaced" && l.tx === atCeiling.tx!.hash),
    ).toBe(true);
    // The base fee falls below the ceiling (an empty block at 90 gwei makes the next one's 78.75 gwei).
    await mine();
    const done = await waitJob(t2, isFinal, "final");
    expect({ status: done.status, hash: done.tx?.hash }).toEqual({
      status: "confirmed",
      hash: atCeiling.tx!.hash,
    });
    await provider.send("hardhat_setNextBlockBaseFeePerGas", [hex(GWEI)]);
    await provider.send("evm_setAutomine", [true]);
  });

  it("signs again when the node refuses the recorded transaction as invalid and none of the job's was mined", async () => {
    await stop();
    // The first transaction recorded after the restart is recorded as one signed for another chain (chain id 5),
    // and the store then fails to answer (as a disk that wrote the record and then failed): the transaction signed
    // is not sent, and the job settles the one recorded, which the node refuses as invalid.
    let swapped: string | undefined;
    await start((s) => {
      const update = s.update.bind(s);
      s.update = async (id, patch, now, expect) => {
        if (!patch.tx || swapped !== undefined) return update(id, patch, now, expect);
        const other = await signedForChain(prover, patch.tx.raw, 5n);
        swapped = other.hash;
        await update(id, { ...patch, tx: { ...patch.tx, ...other } }, now, expect);
        throw new Error("SQLITE_IOERR: disk I/O error");
      };
    });
    const t3 = await market.nextBar(provider);
    const done = await waitJob(t3, isFinal, "final");
    expect(swapped).toMatch(/^0x[0-9a-f]{64}$/);
    expect(done.status).toBe("confirmed");
    expect(done.tx!.hash).not.toBe(swapped);
    expect(await provider.getTransactionReceipt(swapped!)).toBeNull();
    expect(done.history.map((e) => e.event)).toEqual(["refused-by-node"]);
    expect(done.history[0].message).toMatch(
      new RegExp(
        `^the node refused transaction ${swapped} \\(nonce \\d+\\) as invalid: Trying to send a raw transaction ` +
          "with an invalid chainId. The expected chainId is 31337; none of the job's transactions was mined " +
          "\\(no receipt, nonce \\d+ unused\\): cleared, signing again$",
      ),
    );
    expect((await acceptedTimestamps(provider, market.oracle)).at(-1)).toBe(t3);
  });

  it("fails the job when the node refuses it as invalid again, instead of retrying for ever", async () => {
    rpc.sendError = "intrinsic gas too low";
    try {
      const t4 = await market.nextBar(provider);
      const done = await waitJob(t4, isFinal, "final");
      expect({ status: done.status, tx: done.tx }).toEqual({ status: "failed", tx: null });
      expect(done.reason).toMatch(
        /^the node refused transaction 0x[0-9a-f]{64} \(nonce \d+\) as invalid: intrinsic gas too low; none of the job's transactions was mined \(no receipt, nonce \d+ unused\); already signed again 1 time\(s\) after such a refusal: giving up$/,
      );
      expect(done.history.map((e) => e.event)).toEqual(["refused-by-node"]);
      expect(await metrics()).toMatch(
        /zkrisk_submit_failures_total\{market="BTC-USDT",reason="node_refused"\} 1\n/,
      );
      expect(await acceptedTimestamps(provider, market.oracle)).not.toContain(t4);
    } finally {
      rpc.sendError = undefined;
    }
  });

  it("keeps retrying an account with no funds, saying it needs funds, and sends once it is topped up", async () => {
    const balance = await provider.getBalance(prover.address);
    await provider.send("hardhat_setBalance", [prover.address, "0x0"]);
    const t5 = await market.nextBar(provider);
    const waiting = await waitJob(t5, (j) => isFinal(j) || (j.tx !== null && j.attempts >= 2), "retried");
    expect(waiting.status).not.toBe("failed");
    expect(waiting.reason).toMatch(
      new RegExp(
        `^account ${prover.address} lacks the funds for transaction ${waiting.tx!.hash} \\(nonce \\d+\\); top it ` +
          "up: Sender doesn't have enough funds to send tx",
      ),
    );
    expect(
      lines.some((l) => l.msg === "the submitting account needs funds; will retry" && l.level === 50),
    ).toBe(true);
    expect(await metrics()).toMatch(
      /zkrisk_submit_failures_total\{market="BTC-USDT",reason="insufficient_funds"\} [1-9]\d*\n/,
    );
    await provider.send("hardhat_setBalance", [prover.address, hex(balance)]);
    const done = await waitJob(t5, isFinal, "final");
    expect({ status: done.status, hash: done.tx?.hash }).toEqual({
      status: "confirmed",
      hash: waiting.tx!.hash,
    });
    expect((await acceptedTimestamps(provider, market.oracle)).at(-1)).toBe(t5);
  });
});
