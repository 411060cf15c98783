/**
 * Late publishers on the batch path, with real parts: the batch stand (test/helpers/batch-service-env.ts: two
 * `zkrisk publisher serve` instances on 127.0.0.1 signing BTC-USDT, ETH-USDT and their batch, the set of both with
 * quorum 1, a `hardhat node`), both markets with the shipped model and the batch verifier of the REAL signed batch
 * circuit (2 markets, k = 1, committed weights, development setup, cached), and the service in process, with
 * `chain.maxAttempts` 3 and `publishers.waitSeconds` 600.
 *
 * No publisher has signed the bar close when its job first asks; one signs it after the job has waited more than
 * twice maxAttempts times: the batch is proved and accepted for both markets, with no attempt spent. No publisher
 * signs the next one: at the deadline (the bar's close + waitSeconds, by the chain's clock) the job is skipped with
 * the reason naming both publishers' answers, as on the single-market path (late-publisher.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { modelCommitment } from "../../circuits/commitments";
import { loadQuantizedModel } from "../../models/quantized-model";
import { silentLog } from "../../setup";
import { rpcChain } from "../../onchain/chain";
import { deployVerifier, oracleAt, setBatchVerifier } from "../../onchain/oracle";
import { jobIdOf } from "../../service/jobs";
import { startService, type RunningService } from "../../service/run";
import { signedBatchArtifacts } from "../../bench/signed-batch-bench";
import { MODEL } from "../helpers/artifacts";
import { startBatchStand, type BatchStand } from "../helpers/batch-service-env";
import { DEV_KEYS } from "../helpers/hardhat-node";
import { BAR_SECONDS, memoryLogger, metricValue, waitForJob } from "../helpers/service-env";

const BATCH = "pair";
const MARKETS = ["BTC-USDT", "ETH-USDT"] as const;
/** `chain.maxAttempts` of the stand's config. */
const MAX_ATTEMPTS = 3;
/** `publishers.waitSeconds` of the batch. */
const WAIT_SECONDS = 600;

let stand: BatchStand;
let running: RunningService | undefined;
const lines: Record<string, unknown>[] = [];

const logText = () => lines.map((l) => JSON.stringify(l)).join("\n");

beforeAll(async () => {
  const commitment = await modelCommitment(loadQuantizedModel(MODEL));
  let artifacts: string;
  [{ dir: artifacts }, stand] = await Promise.all([
    signedBatchArtifacts(MODEL, 2, silentLog, 1, "committed"),
    startBatchStand(BATCH, MARKETS, { "BTC-USDT": commitment, "ETH-USDT": commitment }),
  ]);
  const chain = await rpcChain(stand.node.rpc, DEV_KEYS[0]);
  try {
    const verifier = await (await deployVerifier(chain.signer, artifacts)).getAddress();
    await setBatchVerifier(oracleAt(stand.oracle, chain.signer), commitment, 2, verifier);
  } finally {
    await chain.close();
  }
  const cfg = stand.config({ markets: [...MARKETS], model: MODEL, artifacts }, { waitSeconds: WAIT_SECONDS });
  expect(cfg.chain.maxAttempts).toBe(MAX_ATTEMPTS);
  running = await startService(cfg, memoryLogger(lines));
}, 1_200_000);

afterAll(async () => {
  await running?.stop();
  await stand?.stop();
});

/** The log lines of job `id` waiting for publishers. */
const waitsOf = (id: string) => lines.filter((l) => l.msg === "waiting for publishers" && l.job === id);

/** Wait until job `id` has waited for publishers at least `n` times. */
async function waitForWaits(id: string, n: number): Promise<void> {
  const t0 = Date.now();
  while (waitsOf(id).length < n) {
    if (Date.now() - t0 > 120_000)
      throw new Error(`job ${id} waited ${waitsOf(id).length} times\n${logText()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The value of a metric line of the running service (0 when the series is absent). */
const metric = (series: string): Promise<number> => metricValue(running!.url, series);

describe("zkrisk serve proving a batch with late publishers", () => {
  it("proves a bar close that a publisher signs after more than maxAttempts retries' worth of waiting", async () => {
    const t0 = stand.feeds["BTC-USDT"].lastTimestamp;
    await waitForJob(running!.url, jobIdOf(BATCH, t0), "confirmed", logText, 900_000);

    const t1 = await stand.nextBar([]);
    const id = jobIdOf(BATCH, t1);
    await waitForWaits(id, 2 * MAX_ATTEMPTS + 1);
    const urls = stand.publishers.map((p) => `${p.url}/`);
    expect(waitsOf(id)[0]).toMatchObject({
      waitingFor: urls,
      deadline: new Date((t1 + BAR_SECONDS + WAIT_SECONDS) * 1000).toISOString(),
    });

    await stand.publishers[0].publisher.poll();
    const job = await waitForJob(running!.url, id, "confirmed", logText, 900_000);
    expect(job).toMatchObject({ attempts: 0 });
    for (const [m, [, , t]] of Object.entries(await stand.onChain())) expect(t, m).toBe(t1);

    const waits = waitsOf(id).length;
    expect(lines.filter((l) => l.msg === "step failed; will retry" || l.msg === "job failed")).toEqual([]);
    expect(await metric(`zkrisk_publisher_waits_total{market="${BATCH}"}`)).toBe(waits);
    expect(await metric(`zkrisk_proofs_total{market="${BATCH}",outcome="failed"}`)).toBe(0);
    for (const m of MARKETS) expect(await metric(`zkrisk_updates_accepted_total{market="${m}"}`)).toBe(2);
    expect(await metric(`zkrisk_jobs{status="skipped"}`)).toBe(0);
  }, 1_200_000);

  it("at the deadline skips the bar close, naming every publisher's answer", async () => {
    const t2 = await stand.nextBar([]);
    const id = jobIdOf(BATCH, t2);
    await waitForWaits(id, MAX_ATTEMPTS + 1);
    await stand.provider.send("evm_mine", [t2 + BAR_SECONDS + WAIT_SECONDS]);
    const job = await waitForJob(running!.url, id, "skipped", logText, 120_000);
    const deadline = new Date((t2 + BAR_SECONDS + WAIT_SECONDS) * 1000).toISOString();
    expect(job).toMatchObject({ attempts: 0, transaction: null });
    expect(job.reason).toMatch(
      new RegExp(
        `^no quorum by the deadline ${deadline.replace(/\./g, "\\.")} \\(publishers\\.waitSeconds ${WAIT_SECONDS} ` +
          `after the bar's close at .*; chain time ${deadline.replace(/\./g, "\\.")}\\): ${BATCH} bar ` +
          `${new Date(t2 * 1000).toISOString().replace(/\./g, "\\.")}: 0 agreeing signed batch\\(s\\) by ` +
          "registered publishers, the publisher set needs 1: ",
      ),
    );
    for (const p of stand.publishers)
      expect(job.reason).toContain(`${p.url}/: not_signed (HTTP 404 NOT_SIGNED`);
    for (const [m, [, , t]] of Object.entries(await stand.onChain())) expect(t, m).toBe(t2 - BAR_SECONDS);
    expect(await metric(`zkrisk_updates_skipped_total{market="${BATCH}",reason="quorum_deadline"}`)).toBe(1);
    expect(await metric(`zkrisk_jobs{status="failed"}`)).toBe(0);
  }, 600_000);
});
