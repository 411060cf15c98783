/**
 * The prover service on an adaptive market, with real parts: one `zkrisk publisher serve` over the shipped
 * candles, the market registered on a `hardhat node` and made adaptive by governance (`setAdaptiveCalibration`,
 * the model's calibration), the REAL signed-update circuit with the adaptive rule (`zkrisk compile --adaptive`'s
 * way, test/helpers/adaptive-artifacts.ts, cached development setup), and the service in process.
 *
 * Plain artifacts for the adaptive market are refused at start. The scheduled bar is proved from the prior the
 * oracle reports and accepted, storing the integer engine's state. Then, while the next bar is being proved,
 * governance resets the state (another num): the proof's prior is stale, the dry run is refused with
 * `OracleAdaptiveStateMismatch`, and the service proves the bar once more from the new prior, which is accepted;
 * it takes the signed window it found for the first proof (the publisher is asked once a bar).
 *
 * Then the same after the transaction is sent: with automine off the service's transaction waits in the pool,
 * governance's state change lands first in the same block (a higher tip), the transaction reverts with
 * `OracleAdaptiveStateMismatch`, and the service proves the bar again from the new prior and resends it, once
 * (the job's history names the reverted transaction and the stale prior); a second such revert of the same job,
 * and a revert for another reason (the market paused first), end the job as `rejected`.
 */
import { join } from "node:path";
import { JsonRpcProvider, type Contract } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pino from "pino";
import { unpackAdaptiveUpdate } from "../../circuits/statement";
import { marketIdOf } from "../../candles/market-id";
import { ConfigError } from "../../core/errors";
import { loadQuantizedModel } from "../../models/quantized-model";
import { isoFromSeconds } from "../../core/time";
import { rpcChain, type Chain } from "../../onchain/chain";
import { oracleAt, setAdaptiveCalibration } from "../../onchain/oracle";
import { loadServiceConfig } from "../../service/config";
import { jobIdOf } from "../../service/jobs";
import { ADAPTIVE_RESENDS } from "../../service/job-runner";
import { startService, type RunningService } from "../../service/run";
import { makePublisherSet, writePublisherSet } from "../../publisher";
import { signedUpdateArtifacts } from "../../setup/cached-artifacts";
import { MODEL } from "../helpers/artifacts";
import { compiledAdaptiveArtifacts } from "../helpers/adaptive-artifacts";
import { DEV_KEYS, startHardhatNode, type HardhatNode } from "../helpers/hardhat-node";
import { startTestPublisher, tempDir, type TestPublisher } from "../helpers/publisher-serve";
import {
  CandleFeed,
  closeBar,
  deployMarket,
  FEED_START,
  MARKET,
  SERVICE_ENV,
  waitForJob,
  writeServiceConfig,
  memoryLogger,
  metricValue,
} from "../helpers/service-env";

const CALIBRATIONS = join(__dirname, "../..", "models/calibrations.json");
const INITIAL_NUM = BigInt(loadQuantizedModel(MODEL).policy.calibrationNum) << 8n;
/** The num governance resets the market to while a proof is in flight (scale 0.8). */
const RESET_NUM = 52429n << 8n;
/** The nums governance moves the state to while the service's transaction waits in the pool (0.9, 0.85, 0.95). */
const RACE_NUMS = [58982n << 8n, 55706n << 8n, 62259n << 8n];
/** A tip above the service's (the node's suggestion), so the pool orders governance's transaction first. */
const FIRST = { maxPriorityFeePerGas: 50_000_000_000n, maxFeePerGas: 100_000_000_000n };

let node: HardhatNode;
let provider: JsonRpcProvider;
let governance: Chain;
let oracle: Contract;
let dir: string;
let feed: CandleFeed;
let publisher: TestPublisher;
let artifacts: string;
let setFile: string;
let running: RunningService | undefined;
const lines: Record<string, unknown>[] = [];

const logText = () => lines.map((l) => JSON.stringify(l)).join("\n");

beforeAll(async () => {
  dir = tempDir("adaptive-service");
  [artifacts, node] = await Promise.all([compiledAdaptiveArtifacts(MODEL, CALIBRATIONS), startHardhatNode()]);
  provider = new JsonRpcProvider(node.rpc, undefined, { cacheTimeout: -1 });
  feed = new CandleFeed(join(dir, "candles.csv"), FEED_START);
  publisher = await startTestPublisher(dir, 41, feed.path);
  const set = await makePublisherSet([publisher.key.publicKey], 1);
  setFile = join(dir, "publishers.json");
  writePublisherSet(setFile, set);
  const deployed = await deployMarket(node.rpc, artifacts, set);
  governance = await rpcChain(node.rpc, DEV_KEYS[0]);
  oracle = oracleAt(deployed.oracle, governance.signer);
  await setAdaptiveCalibration(oracle, marketIdOf(MARKET), INITIAL_NUM);
  Object.assign(process.env, SERVICE_ENV);
}, 1_200_000);

afterAll(async () => {
  await running?.stop();
  await publisher?.publisher.stop();
  await governance?.close();
  provider?.destroy();
  node?.stop();
});

function config(o: { artifacts?: string } = {}) {
  return loadServiceConfig(
    writeServiceConfig(tempDir("adaptive-service-config"), {
      rpc: node.rpc,
      oracle: String(oracle.target),
      artifacts: o.artifacts ?? artifacts,
      publishers: { set: setFile, urls: [publisher.url] },
      maxAttempts: 2,
    }),
  );
}

/** The adaptive update the oracle accepted for the job's transaction. */
async function acceptedUpdate(jobId: string) {
  const job = (await (await fetch(`${running!.url}/v1/proofs/${jobId}`)).json()) as {
    transaction: { hash: string };
  };
  const receipt = await provider.getTransactionReceipt(job.transaction.hash);
  const event = receipt!.logs
    .map((l) => oracle.interface.parseLog(l))
    .find((e) => e?.name === "AdaptiveParametersUpdated");
  return unpackAdaptiveUpdate(event!.args.update as bigint);
}

/** Wait until the service's log has a line `msg` for `bar` (the `n`-th such line). */
async function logged(msg: string, bar: string, n = 1): Promise<void> {
  for (let i = 0; i < 30_000; i++) {
    if (lines.filter((l) => l.msg === msg && l.bar === bar).length >= n) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no "${msg}" for ${bar}:\n${logText()}`);
}

/**
 * With automine off: wait for the service's `n`-th "submitted" for `bar` (its transaction in the pool), send
 * governance's `call` with a higher tip, and mine one block; both land in it, governance's first. Returns the
 * block's transaction hashes in order.
 */
async function landFirst(bar: string, n: number, call: () => Promise<unknown>): Promise<string[]> {
  await logged("submitted", bar, n);
  await call();
  await provider.send("evm_mine", []);
  const block = await provider.getBlock("latest");
  return [...block!.transactions];
}

/** Switch automine on again, and mine what waits in the pool. */
async function automineOn(): Promise<void> {
  await provider.send("evm_setAutomine", [true]);
  const pending = (await provider.send("eth_getBlockByNumber", ["pending", false])) as {
    transactions: string[];
  };
  if (pending.transactions.length > 0) await provider.send("evm_mine", []);
}

/** Append the next bar, have it signed and close it on chain (with automine off: the service's tx waits). */
async function nextBar(): Promise<{ t: number; bar: string }> {
  const t = feed.append();
  await publisher.publisher.poll();
  await closeBar(provider, t);
  return { t, bar: isoFromSeconds(t) };
}

describe("zkrisk serve on an adaptive market", () => {
  it("refuses plain artifacts for a market the oracle holds as adaptive", async () => {
    const plain = (await signedUpdateArtifacts(MODEL, "constant", 1)).dir;
    const err = await startService(config({ artifacts: plain }), pino({ level: "silent" }), 0).then(
      (r) => r.stop().then(() => undefined),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain(
      `market ${MARKET} is adaptive on the oracle (num ${INITIAL_NUM}), but ${plain} holds a circuit without the ` +
        "adaptive rule",
    );
  }, 300_000);

  it("proves from the oracle's prior; a prior that moves during the proof is proved again once", async () => {
    const t0 = feed.lastTimestamp;
    running = await startService(config(), memoryLogger(lines));
    await waitForJob(running.url, jobIdOf(MARKET, t0), "confirmed", logText, 600_000);
    const first = await acceptedUpdate(jobIdOf(MARKET, t0));
    // the first update: no margin 12 bars back, so no outcome and the state unchanged
    expect(first.before).toEqual({ num: INITIAL_NUM, outcomes: 0n });
    expect(first.marginS).toBe(0n);
    expect(first.lag).toBe(0n);
    // the proof's prior, as the log gives it: the state, MM_s and lag the oracle reported
    expect(lines.find((l) => l.msg === "proving" && l.bar === isoFromSeconds(t0))?.prior).toBe(
      `num ${INITIAL_NUM}, outcomes 0, MM_s 0, lag 0`,
    );
    expect(first.after).toEqual({ num: INITIAL_NUM, outcomes: 0n });
    const [num0, outcomes0] = (await oracle.adaptiveState(marketIdOf(MARKET))) as bigint[];
    expect([num0, outcomes0]).toEqual([INITIAL_NUM, 0n]);

    // the next bar: governance resets the state while its proof is being made
    const t1 = feed.append();
    const bar = isoFromSeconds(t1);
    await publisher.publisher.poll();
    await closeBar(provider, t1);
    for (let i = 0; i < 6000 && !lines.some((l) => l.msg === "proving" && l.bar === bar); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await setAdaptiveCalibration(oracle, marketIdOf(MARKET), RESET_NUM);
    const job = await waitForJob(running.url, jobIdOf(MARKET, t1), "confirmed", logText, 600_000);
    expect(job.history.map((e) => e.event)).toEqual(["reproved-before-send"]);
    expect(job.history[0].message).toContain(
      `the proof's prior (num ${INITIAL_NUM}, outcomes 0, MM_s 0, lag 0) is stale: proved again from the ` +
        `oracle's prior (num ${RESET_NUM}, outcomes 0, MM_s 0, lag 0)`,
    );
    expect(
      lines.filter((l) => l.msg === "the adaptive prior moved since the proof; proving again once"),
    ).toHaveLength(1);
    expect(
      lines.find((l) => l.msg === "the adaptive prior moved since the proof; proving again once")?.reason,
    ).toContain("OracleAdaptiveStateMismatch");
    const second = await acceptedUpdate(jobIdOf(MARKET, t1));
    // proved again from the reset state (no margin 12 bars back after the reset: no outcome)
    expect(second.before).toEqual({ num: RESET_NUM, outcomes: 0n });
    expect(second.after).toEqual({ num: RESET_NUM, outcomes: 0n });
    const [num, outcomes] = (await oracle.adaptiveState(marketIdOf(MARKET))) as bigint[];
    expect([num, outcomes]).toEqual([RESET_NUM, 0n]);
    // The proof made again took the bar's signed window found for the first one: the publisher was asked once a bar.
    const fetched = `zkrisk_publisher_fetches_total{market="${MARKET}",publisher="${publisher.url}/",outcome="ok"}`;
    expect(await metricValue(running.url, fetched)).toBe(2);
  }, 900_000);
  it("proves again and resends once when its sent transaction reverts because another update landed first", async () => {
    expect(ADAPTIVE_RESENDS).toBe(1);
    const id = marketIdOf(MARKET);
    await provider.send("evm_setAutomine", [false]);
    const { t, bar } = await nextBar();
    const order = await landFirst(bar, 1, () => oracle.setAdaptiveCalibration(id, RACE_NUMS[0], FIRST));
    await automineOn();
    const job = await waitForJob(running!.url, jobIdOf(MARKET, t), "confirmed", logText, 600_000);

    // the block held governance's change, then the service's transaction, which reverted
    expect(order).toHaveLength(2);
    const reverted = await provider.getTransactionReceipt(order[1]);
    expect(reverted!.status).toBe(0);
    expect(job.transaction!.hash).not.toBe(order[1]);
    // the job's history names the reverted transaction, the revert, the stale prior and the prior proved from
    expect(job.history).toHaveLength(1);
    expect(job.history[0].event).toBe("reproved-after-revert");
    expect(job.history[0].message).toContain(
      `transaction ${order[1]} reverted in block ${reverted!.blockNumber}`,
    );
    expect(job.history[0].message).toContain("OracleAdaptiveStateMismatch");
    expect(job.history[0].message).toContain(
      `the proof's prior (num ${RESET_NUM}, outcomes 0, MM_s 0, lag 0) is stale: proved again from the oracle's ` +
        `prior (num ${RACE_NUMS[0]}, outcomes 0, MM_s 0, lag 0) and resent (1 of 1)`,
    );
    // the reverted transaction carried the first proof (from the stale prior); the accepted one the second
    const sent = oracle.interface.parseTransaction((await provider.getTransaction(order[1]))!)!
      .args[4] as bigint;
    expect(unpackAdaptiveUpdate(sent).before).toEqual({ num: RESET_NUM, outcomes: 0n });
    const accepted = await acceptedUpdate(jobIdOf(MARKET, t));
    expect(accepted.before).toEqual({ num: RACE_NUMS[0], outcomes: 0n });
    expect(accepted.dataTimestamp).toBe(BigInt(t));
    expect((await oracle.adaptiveState(id))[0]).toBe(RACE_NUMS[0]);
  }, 900_000);

  it("rejects a job whose resent transaction reverts for its prior again, and a revert for another reason", async () => {
    const id = marketIdOf(MARKET);
    await provider.send("evm_setAutomine", [false]);
    // the bound: the first revert is proved again and resent, the second ends the job
    const next = await nextBar();
    await landFirst(next.bar, 1, () => oracle.setAdaptiveCalibration(id, RACE_NUMS[1], FIRST));
    const [, resent] = await landFirst(next.bar, 2, () =>
      oracle.setAdaptiveCalibration(id, RACE_NUMS[2], FIRST),
    );
    const rejected = await waitForJob(running!.url, jobIdOf(MARKET, next.t), "rejected", logText, 600_000);
    expect(rejected.history.map((e) => e.event)).toEqual(["reproved-after-revert"]);
    expect(rejected.reason).toMatch(
      new RegExp(
        `^transaction ${resent} reverted in block \\d+: the oracle refused: OracleAdaptiveStateMismatch\\(.*\\); ` +
          "not proved again: already proved again and resent 1 time\\(s\\) after such a revert$",
      ),
    );

    // another revert reason: the market paused first; no proof made again
    const other = await nextBar();
    const [, paused] = await landFirst(other.bar, 1, () => oracle.pauseMarket(id, FIRST));
    const refused = await waitForJob(running!.url, jobIdOf(MARKET, other.t), "rejected", logText, 600_000);
    expect(refused.reason).toContain(`transaction ${paused} reverted in block`);
    expect(refused.reason).toContain("OracleMarketPaused");
    expect(refused.history).toEqual([]);
    expect(lines.filter((l) => l.msg === "proving" && l.bar === other.bar)).toHaveLength(1);
    await automineOn();
  }, 900_000);
});
