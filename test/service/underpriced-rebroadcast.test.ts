/**
 * A sent transaction the node lost while fees rose and now refuses as underpriced when it is sent again
 * (service/job-runner.ts `submit`, service/submitter.ts `UnderpricedError`): the real job runner, the real
 * submitter and signing key, a real SQLite store, and a node that answers as geth does with the base fee at 40 gwei
 * ("max fee per gas less than block base fee" for a transaction below it, none of the key's mined at the nonce):
 * - a transaction older than `chain.replaceAfterSeconds` is replaced at once at the node's current fees (within the
 *   ceiling), the replacement recorded (the original in its `others`, a `replaced` entry in the history) and sent;
 * - a younger one waits for fees, no attempt spent, until it is due for replacement.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Contract, makeError, Transaction, Wallet, type JsonRpcProvider } from "ethers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { oracleInterface } from "../../onchain/oracle";
import { JobRunner } from "../../service/job-runner";
import type { JobRecord, ProvedJob, SentTransaction } from "../../service/jobs";
import { ServiceMetrics } from "../../service/metrics";
import { SqliteJobStore } from "../../service/sqlite-store";
import { Submitter } from "../../service/submitter";
import { DEV_KEYS } from "../helpers/hardhat-node";
import { bareJobRunner } from "../helpers/bare-job-runner";

const HOLDER = "test:1";
const GWEI = 10n ** 9n;
const BASE_FEE = 40n * GWEI;
const NONCE = 7;
const wallet = new Wallet(DEV_KEYS[1]);

/** The error ethers v6 makes of a JSON-RPC error of eth_sendRawTransaction it cannot coalesce. */
function nodeError(message: string): Error {
  return makeError("could not coalesce error", "UNKNOWN_ERROR", {
    error: { code: -32000, message },
    payload: { id: 1, jsonrpc: "2.0", method: "eth_sendRawTransaction", params: ["0x02f8"] },
  });
}

describe("job runner: a sent transaction refused as underpriced when sent again", () => {
  let store: SqliteJobStore;
  let metrics: ServiceMetrics;
  let runner: JobRunner;
  let broadcasts: string[];

  beforeEach(() => {
    store = SqliteJobStore.open(join(mkdtempSync(join(tmpdir(), "zkrisk-underpriced-")), "jobs.db"));
    metrics = new ServiceMetrics(() => store.counts());
    broadcasts = [];
    const node = {
      async broadcastTransaction(raw: string) {
        broadcasts.push(raw);
        if (Transaction.from(raw).maxFeePerGas! < BASE_FEE) {
          throw nodeError("max fee per gas less than block base fee");
        }
      },
      getFeeData: async () => ({
        maxFeePerGas: 2n * BASE_FEE + 2n * GWEI,
        maxPriorityFeePerGas: 2n * GWEI,
        gasPrice: BASE_FEE,
      }),
      getTransactionReceipt: async () => null,
      // None of the key's transactions mined at the nonce.
      getTransactionCount: async () => NONCE,
      getBlockNumber: async () => 100,
    } as unknown as JsonRpcProvider;
    const oracle = new Contract("0x" + "11".repeat(20), oracleInterface());
    const submitter = new Submitter(node, wallet, oracle, {
      gasPriceCeilingWei: 100n * GWEI,
      confirmations: 1,
    });
    runner = bareJobRunner({ store, submitter, metrics, holder: HOLDER });
  });

  afterEach(async () => {
    await store.close();
  });

  /** The job's transaction, signed `ageMs` ago at 2 gwei (the base fee then), sent then and lost by the node. */
  async function sentJob(ageMs: number): Promise<{ job: JobRecord; tx: SentTransaction }> {
    const raw = await wallet.signTransaction({
      type: 2,
      chainId: 31337,
      nonce: NONCE,
      to: "0x" + "11".repeat(20),
      data: "0x",
      gasLimit: 100_000,
      maxFeePerGas: 2n * GWEI,
      maxPriorityFeePerGas: GWEI,
    });
    const tx = { hash: Transaction.from(raw).hash!, raw, nonce: NONCE, signedAt: Date.now() - ageMs };
    const { job } = await store.enqueue(
      { market: "BTC-USDT", dataTimestamp: 1_717_192_800, submit: true },
      0,
    );
    const update = { format: "zkrisk-signed-proof/1" } as unknown as ProvedJob;
    await store.update(job.id, { status: "proved", update, tx }, Date.now());
    return { job, tx };
  }

  async function runOnce(id: string): Promise<JobRecord> {
    const claimed = await store.claimNext(HOLDER, Date.now());
    expect(claimed?.id).toBe(id);
    await runner.run(claimed!);
    return (await store.get(id))!;
  }

  it("replaces a transaction older than replaceAfterSeconds at the node's fees, and sends the replacement", async () => {
    const { job, tx } = await sentJob(3_600_000);
    const after = await runOnce(job.id);
    expect(after).toMatchObject({ status: "proved", attempts: 0 });
    const replacement = Transaction.from(after.tx!.raw);
    expect({ nonce: after.tx!.nonce, others: after.tx!.others }).toEqual({
      nonce: NONCE,
      others: [{ hash: tx.hash, raw: tx.raw }],
    });
    expect(replacement.maxFeePerGas).toBe(82n * GWEI);
    expect(replacement.maxPriorityFeePerGas).toBe(2n * GWEI);
    expect(after.history.map((e) => e.event)).toEqual(["replaced"]);
    // Sent again (refused), then the replacement (taken), which is settled as any.
    expect(broadcasts).toEqual([tx.raw, after.tx!.raw]);
    expect(after.reason).toBe(`transaction ${after.tx!.hash} not mined within 10 ms`);
    expect(await metrics.registry.metrics()).toMatch(
      /zkrisk_transactions_replaced_total\{market="BTC-USDT"\} 1\n/,
    );
  });

  it("waits for fees, no attempt spent, while the refused transaction is younger than replaceAfterSeconds", async () => {
    const { job, tx } = await sentJob(1_000);
    const after = await runOnce(job.id);
    expect({
      status: after.status,
      attempts: after.attempts,
      tx: after.tx?.hash,
      history: after.history,
    }).toEqual({
      status: "proved",
      attempts: 0,
      tx: tx.hash,
      history: [],
    });
    expect(after.reason).toMatch(
      new RegExp(
        `^the node refused transaction ${tx.hash} as underpriced and does not hold it; it is replaced once 180 s ` +
          "old \\(waiting for a gas price under the ceiling since ",
      ),
    );
    expect(await metrics.registry.metrics()).toMatch(
      /zkrisk_submit_waits_total\{market="BTC-USDT",reason="gas_price"\} 1\n/,
    );
  });
});
