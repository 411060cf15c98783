/**
 * An adaptive market's transaction that reverted with `OracleAdaptiveStateMismatch` (governance's state change landed
 * first in the same block, a `hardhat node` with automine off) is settled: the service in process (SQLite store,
 * local dispatcher, `chain.maxAttempts` 2, `settleTimeoutMs` 1 s) behind a JSON-RPC proxy
 * (test/helpers/faulty-rpc.ts), one `zkrisk publisher serve` instance and the REAL adaptive signed-update circuit
 * (cached development setup). The process that sent the transaction is stopped before it is mined, and the one
 * started next settles it, holding none of the bar's signed windows:
 * - the bar is too old by then (governance lowered `maxDataAge`): the job is `rejected` without asking the
 *   publisher (the oracle's guards on the bar's time come before the publishers are asked again);
 * - the publisher is down: proving again fails, and each failure spends an attempt (the reverted transaction is
 *   settled: it keeps the job from `maxAttempts` no longer), so the job ends `failed` after `maxAttempts`, instead
 *   of sending the mined transaction again and asking the publisher for ever.
 * And a job that settled its transaction while the node was down (a wait for the node, no attempt spent), which
 * then finds it reverted and proves again: the new proof is signed with a count of attempts of 0 (it waits out a gas
 * price above the ceiling, then is confirmed).
 */
import { join } from "node:path";
import { JsonRpcProvider, type Contract } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { marketIdOf } from "../../candles/market-id";
import { loadQuantizedModel } from "../../models/quantized-model";
import { rpcChain, type Chain } from "../../onchain/chain";
import { DEFAULT_LIMITS, oracleAt, setAdaptiveCalibration } from "../../onchain/oracle";
import { loadServiceConfig, type ServiceConfig } from "../../service/config";
import { jobIdOf, type JobRecord } from "../../service/jobs";
import { isFinal } from "../../service/job-states";
import { ProverService } from "../../service/service";
import { SqliteJobStore } from "../../service/sqlite-store";
import { makePublisherSet, writePublisherSet } from "../../publisher";
import { MODEL } from "../helpers/artifacts";
import { compiledAdaptiveArtifacts } from "../helpers/adaptive-artifacts";
import { startFaultyRpc, type FaultyRpc } from "../helpers/faulty-rpc";
import { DEV_KEYS, startHardhatNode, type HardhatNode } from "../helpers/hardhat-node";
import { startTestPublisher, tempDir, type TestPublisher } from "../helpers/publisher-serve";
import {
  CandleFeed,
  closeBar,
  deployMarket,
  FEED_START,
  MARKET,
  SERVICE_ENV,
  waitForStoredJob,
  writeServiceConfig,
  startLocalService,
} from "../helpers/service-env";

const CALIBRATIONS = join(__dirname, "../..", "models/calibrations.json");
const INITIAL_NUM = BigInt(loadQuantizedModel(MODEL).policy.calibrationNum) << 8n;
/** The nums governance moves the state to while the service's transaction waits in the pool (0.9, 0.85, 0.95). */
const RACE_NUMS = [58982n << 8n, 55706n << 8n, 62259n << 8n];
/**
 * A tip above the service's (the node's suggestion), so the pool orders governance's transaction first; and gas for
 * it as it runs first in the block (estimated on the pending block, after the service's update, it would be short).
 */
const FIRST = { maxPriorityFeePerGas: 50_000_000_000n, maxFeePerGas: 100_000_000_000n, gasLimit: 200_000n };
/** The market's limits as deployed (test/helpers/service-env.ts `deployMarket`). */
const LIMITS = { ...DEFAULT_LIMITS, minUpdateInterval: 0, maxDataAge: 30 * 86_400 };

describe("prover service: an adaptive transaction reverted for its prior, settled by another process", () => {
  let node: HardhatNode;
  let provider: JsonRpcProvider;
  let rpc: FaultyRpc;
  let governance: Chain;
  let oracle: Contract;
  let feed: CandleFeed;
  let publisher: TestPublisher;
  let cfg: ServiceConfig;
  let service: ProverService | undefined;
  let store: SqliteJobStore;
  const lines: Record<string, unknown>[] = [];
  const logs = () => lines.map((l) => JSON.stringify(l)).join("\n");
  const id = marketIdOf(MARKET);

  beforeAll(async () => {
    const dir = tempDir("adaptive-revert-attempts");
    let artifacts: string;
    [artifacts, node] = await Promise.all([
      compiledAdaptiveArtifacts(MODEL, CALIBRATIONS),
      startHardhatNode(),
    ]);
    provider = new JsonRpcProvider(node.rpc, undefined, { cacheTimeout: -1 });
    rpc = await startFaultyRpc(node.rpc);
    feed = new CandleFeed(join(dir, "candles.csv"), FEED_START);
    publisher = await startTestPublisher(dir, 41, feed.path);
    const set = await makePublisherSet([publisher.key.publicKey], 1);
    const setFile = join(dir, "publishers.json");
    writePublisherSet(setFile, set);
    const deployed = await deployMarket(node.rpc, artifacts, set);
    governance = await rpcChain(node.rpc, DEV_KEYS[0]);
    oracle = oracleAt(deployed.oracle, governance.signer);
    await setAdaptiveCalibration(oracle, id, INITIAL_NUM);
    Object.assign(process.env, SERVICE_ENV);
    cfg = loadServiceConfig(
      writeServiceConfig(dir, {
        rpc: rpc.url,
        oracle: deployed.oracle,
        artifacts,
        publishers: { set: setFile, urls: [publisher.url] },
        concurrency: 1,
        maxAttempts: 2,
        chain: { retryBaseMs: 500 },
      }),
    );
  }, 1_200_000);

  afterAll(async () => {
    await service?.stop(0);
    await publisher?.publisher.stop();
    await governance?.close();
    await rpc?.close();
    provider?.destroy();
    node?.stop();
  });

  /** Start a service process on the config's database: it holds no signed window of any bar yet. */
  async function start(): Promise<void> {
    store = SqliteJobStore.open(cfg.database);
    service = await startLocalService(cfg, store, lines, 1_000);
  }

  /** Stop it with no grace: a job settling its transaction goes back to `proved`, its transaction kept. */
  async function stop(): Promise<void> {
    await service!.stop(0);
    service = undefined;
  }

  const waitJob = (ts: number, done: (job: JobRecord) => boolean, what: string): Promise<JobRecord> =>
    waitForStoredJob(store, jobIdOf(MARKET, ts), done, what, logs, 600_000, 50);
  const sent = (job: JobRecord) => job.tx !== null && rpc.sent.includes(job.tx.hash.toLowerCase());

  /** Append the next bar, have it signed and close it on chain. */
  async function nextBar(): Promise<number> {
    const t = feed.append();
    await publisher.publisher.poll();
    await closeBar(provider, t);
    return t;
  }

  /**
   * With automine off, a bar whose transaction the service sent: the service is stopped with the transaction in the
   * pool, governance's state change (a higher tip) and the transaction are mined in one block, governance's first,
   * so the transaction reverts with `OracleAdaptiveStateMismatch`. Automine is on again after. Returns the bar and
   * the reverted transaction's hash.
   */
  async function revertedWhileStopped(num: bigint): Promise<{ t: number; hash: string }> {
    if (service === undefined) await start();
    await provider.send("evm_setAutomine", [false]);
    try {
      const t = await nextBar();
      const { hash } = (await waitJob(t, sent, "sent")).tx!;
      await stop();
      await oracle.setAdaptiveCalibration(id, num, FIRST);
      await provider.send("evm_mine", []);
      expect((await provider.getTransactionReceipt(hash))?.status).toBe(0);
      return { t, hash };
    } finally {
      await provider.send("evm_setAutomine", [true]);
    }
  }

  /** The fetches of the bar's signed windows this process counted (`zkrisk_publisher_fetches_total`). */
  async function fetches(): Promise<number> {
    const counted = await service!.metrics.publisherFetches.get();
    return counted.values.reduce((n, v) => n + v.value, 0);
  }

  it("rejects, without asking the publisher, a bar that is too old by the time its revert is settled", async () => {
    await start();
    const t0 = feed.lastTimestamp;
    expect((await waitJob(t0, isFinal, "final")).status).toBe("confirmed");
    const { t, hash } = await revertedWhileStopped(RACE_NUMS[0]);
    // The bar opened over 2 h ago: with a maximum data age of 1 h, the oracle refuses it for its time.
    await (await oracle.setLimits(id, { ...LIMITS, maxDataAge: 3600 })).wait();
    try {
      await start();
      const done = await waitJob(t, isFinal, "final");
      expect({ status: done.status, hash: done.tx?.hash }).toEqual({ status: "rejected", hash });
      expect(done.reason).toMatch(
        new RegExp(
          `^transaction ${hash} reverted in block \\d+: the oracle refused: OracleAdaptiveStateMismatch\\(.*\\); ` +
            "proving again: the oracle would refuse it: data of .* old at block time .*; the oracle accepts at " +
            "most 1 h",
        ),
      );
      expect(done.history).toEqual([]);
      expect(await fetches()).toBe(0);
    } finally {
      await (await oracle.setLimits(id, LIMITS)).wait();
    }
  }, 900_000);

  it("signs the new proof after settling the reverted transaction while the node was down", async () => {
    if (service === undefined) await start();
    await provider.send("evm_setAutomine", [false]);
    try {
      const t = await nextBar();
      const { hash } = (await waitJob(t, sent, "sent")).tx!;
      // The node goes down: the job keeps settling its transaction, waiting for the node (no attempt spent).
      rpc.down = true;
      await waitJob(
        t,
        (j) => isFinal(j) || / \(waiting for the node to answer since /.test(j.reason ?? ""),
        "waiting",
      );
      await oracle.setAdaptiveCalibration(id, RACE_NUMS[1], FIRST);
      await provider.send("evm_mine", []);
      expect((await provider.getTransactionReceipt(hash))?.status).toBe(0);
      // Gas prices rise above the ceiling (a block at a base fee of 1000 gwei): the proof made again waits to be signed.
      await provider.send("hardhat_setNextBlockBaseFeePerGas", ["0x" + (1000n * 10n ** 9n).toString(16)]);
      await provider.send("evm_mine", []);
      await provider.send("evm_setAutomine", [true]);
      rpc.down = false;
      const waiting = await waitJob(
        t,
        (j) => isFinal(j) || /^gas price [\d.]+ gwei is above the ceiling/.test(j.reason ?? ""),
        "the new proof waiting for the gas price",
      );
      expect({ status: waiting.status, tx: waiting.tx, attempts: waiting.attempts }).toEqual({
        status: expect.stringMatching(/^(proved|submitting)$/),
        tx: null,
        attempts: 0,
      });
      expect(waiting.history.map((e) => e.event)).toEqual(["reproved-after-revert"]);
      await provider.send("hardhat_setNextBlockBaseFeePerGas", ["0x3b9aca00"]);
      await provider.send("evm_mine", []);
      const done = await waitJob(t, isFinal, "final");
      expect(done.status).toBe("confirmed");
      expect(done.tx!.hash).not.toBe(hash);
    } finally {
      rpc.down = false;
      await provider.send("evm_setAutomine", [true]);
      await provider.send("hardhat_setNextBlockBaseFeePerGas", ["0x3b9aca00"]);
      await provider.send("evm_mine", []);
    }
  }, 900_000);

  it("spends an attempt on each failure to prove it again with the publisher down, then fails", async () => {
    const { t, hash } = await revertedWhileStopped(RACE_NUMS[2]);
    await publisher.publisher.stop();
    await start();
    const done = await waitJob(t, (j) => isFinal(j) || j.attempts > 2, "failed or retried past maxAttempts");
    expect({ status: done.status, attempts: done.attempts, hash: done.tx?.hash }).toEqual({
      status: "failed",
      attempts: 2,
      hash,
    });
    expect(done.reason).toMatch(
      new RegExp(
        `^transaction ${hash} reverted in block \\d+: the oracle refused: OracleAdaptiveStateMismatch\\(.*\\); ` +
          `proving again: ${MARKET} bar .*: 0 agreeing signed window\\(s\\) by registered publishers, the publisher ` +
          "set needs 1: .*unreachable",
      ),
    );
    // Asked once per attempt, no more.
    expect(await fetches()).toBe(2);
  }, 900_000);
});
