/**
 * A late publisher on the signed path, with real parts: two `zkrisk publisher serve` instances on 127.0.0.1 (A and
 * B, test keys 1 and 2) over one growing candle file, the market registered with the set {A, B} and quorum 2 on a
 * `hardhat node`, the REAL signed-update circuit (k = 2, constant weights, development setup, cached), and the
 * service in process (SQLite store, proving threads), with `chain.maxAttempts` 2 and `publishers.waitSeconds` 600.
 *
 * B signs a bar only after the job has found it unsigned, and waited, more than twice maxAttempts times: the bar is
 * still proved and accepted on chain, no attempt of the job is spent, and the metrics count the waits, no failure
 * and no skip. B does not sign the next bar: the job waits until the chain's clock reaches the bar's close plus
 * waitSeconds, then is skipped with the reason naming each publisher and its answer, and nothing is sent.
 *
 * Then, with a service whose wait (20,000 s) outlasts a bar, and B restarted on an empty archive (it signs the
 * newest bar only, never the older one): the older bar waits while the newer bar closes, is proved and accepted;
 * the older bar's job then stops waiting, skipped with `OracleNotNewer`, no attempt spent.
 */
import { JsonRpcProvider } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadServiceConfig } from "../../service/config";
import { jobIdOf } from "../../service/jobs";
import { startService, type RunningService } from "../../service/run";
import { startHardhatNode, type HardhatNode } from "../helpers/hardhat-node";
import { startTestPublisher, tempDir, type TestPublisher } from "../helpers/publisher-serve";
import {
  acceptedTimestamps,
  BAR_SECONDS,
  closeBar,
  MARKET,
  memoryLogger,
  metricValue,
  SERVICE_ENV,
  type SignedMarket,
  startSignedMarket,
  waitForJob,
  writeServiceConfig,
} from "../helpers/service-env";

/** `chain.maxAttempts` of the service. */
const MAX_ATTEMPTS = 2;
/** `publishers.waitSeconds` of the market. */
const WAIT_SECONDS = 600;

let node: HardhatNode;
let provider: JsonRpcProvider;
let market: SignedMarket;
let running: RunningService | undefined;
/** B restarted on an empty archive (the last test). */
let restarted: TestPublisher | undefined;
const lines: Record<string, unknown>[] = [];

const logText = () => lines.map((l) => JSON.stringify(l)).join("\n");

beforeAll(async () => {
  const dir = tempDir("late-publisher");
  node = await startHardhatNode();
  provider = new JsonRpcProvider(node.rpc, undefined, { cacheTimeout: -1 });
  market = await startSignedMarket(dir, node.rpc, { publishers: 2, quorum: 2 });
  Object.assign(process.env, SERVICE_ENV);
  const file = writeServiceConfig(dir, {
    rpc: node.rpc,
    oracle: market.oracle,
    artifacts: market.artifacts,
    publishers: { set: market.setFile, urls: market.urls, waitSeconds: WAIT_SECONDS },
    maxAttempts: MAX_ATTEMPTS,
  });
  running = await startService(loadServiceConfig(file), memoryLogger(lines));
}, 1_200_000);

afterAll(async () => {
  await running?.stop();
  await market?.stop();
  await restarted?.publisher.stop();
  provider?.destroy();
  node?.stop();
});

/** The log lines of job `id` waiting for publishers (from line `from` of the log on). */
const waitsOf = (id: string, from = 0) =>
  lines.slice(from).filter((l) => l.msg === "waiting for publishers" && l.job === id);

/** Wait until job `id` has waited for publishers at least `n` times (from line `from` of the log on). */
async function waitForWaits(id: string, n: number, from = 0): Promise<void> {
  const t0 = Date.now();
  while (waitsOf(id, from).length < n) {
    if (Date.now() - t0 > 120_000)
      throw new Error(`job ${id} waited ${waitsOf(id).length} times\n${logText()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The value of a metric line of the running service (0 when the series is absent). */
const metric = (series: string): Promise<number> => metricValue(running!.url, series);

/** Append the next bar, have only the publishers `signers` (indexes) sign it, and close it on chain. */
async function nextBar(signers: number[]): Promise<number> {
  const t = market.feed.append();
  for (const i of signers) await market.publishers[i].publisher.poll();
  await closeBar(provider, t);
  return t;
}

describe("zkrisk serve with a late publisher", () => {
  it("proves a bar that the second publisher signs after more than maxAttempts retries' worth of waiting", async () => {
    const t0 = market.feed.lastTimestamp;
    await waitForJob(running!.url, jobIdOf(MARKET, t0), "confirmed", logText, 600_000);

    const t1 = await nextBar([0]);
    const id = jobIdOf(MARKET, t1);
    await waitForWaits(id, 2 * MAX_ATTEMPTS + 1);
    const waiting = (await (await fetch(`${running!.url}/v1/proofs/${id}`)).json()) as {
      status: string;
      attempts: number;
      reason: string;
    };
    const deadline = new Date((t1 + BAR_SECONDS + WAIT_SECONDS) * 1000).toISOString();
    // Set back to wait 250 ms, the job may be claimed again (proving) by the time a loaded machine answers: a
    // claim keeps its reason and attempts.
    expect(waiting).toMatchObject({ status: expect.stringMatching(/^(queued|proving)$/), attempts: 0 });
    expect(waiting.reason.startsWith(`waiting for publishers until ${deadline} (`), waiting.reason).toBe(
      true,
    );
    expect(waiting.reason).toContain(`${market.urls[1]}/: not_signed (HTTP 404 NOT_SIGNED`);
    expect(waitsOf(id)[0]).toMatchObject({ waitingFor: [`${market.urls[1]}/`], deadline });

    await market.publishers[1].publisher.poll();
    const job = await waitForJob(running!.url, id, "confirmed", logText, 600_000);
    expect(job).toMatchObject({ attempts: 0 });
    expect(await acceptedTimestamps(provider, market.oracle)).toEqual([t0, t1]);

    // Waits are no failures: no attempt, no failed step, no skip; each wait asked both publishers once.
    const waits = waitsOf(id).length;
    expect(lines.filter((l) => l.msg === "step failed; will retry" || l.msg === "job failed")).toEqual([]);
    expect(await metric(`zkrisk_publisher_waits_total{market="${MARKET}"}`)).toBe(waits);
    expect(
      await metric(
        `zkrisk_publisher_fetches_total{market="${MARKET}",publisher="${market.urls[1]}/",outcome="not_signed"}`,
      ),
    ).toBe(waits);
    expect(await metric(`zkrisk_proofs_total{market="${MARKET}",outcome="failed"}`)).toBe(0);
    expect(await metric(`zkrisk_proofs_total{market="${MARKET}",outcome="proved"}`)).toBe(2);
    expect(await metric(`zkrisk_updates_accepted_total{market="${MARKET}"}`)).toBe(2);
    expect(await metric(`zkrisk_jobs{status="failed"}`)).toBe(0);
    expect(await metric(`zkrisk_jobs{status="skipped"}`)).toBe(0);
  }, 900_000);

  it("at the deadline (the bar's close + waitSeconds, by the chain's clock) skips the bar, naming every publisher's answer", async () => {
    const t2 = await nextBar([0]);
    const id = jobIdOf(MARKET, t2);
    await waitForWaits(id, MAX_ATTEMPTS + 1);
    // The chain's clock reaches the deadline; the scheduler sees no new bar closed (the next closes later).
    await provider.send("evm_mine", [t2 + BAR_SECONDS + WAIT_SECONDS]);
    const job = await waitForJob(running!.url, id, "skipped", logText, 120_000);
    const bar = new Date(t2 * 1000).toISOString();
    const close = new Date((t2 + BAR_SECONDS) * 1000).toISOString();
    const deadline = new Date((t2 + BAR_SECONDS + WAIT_SECONDS) * 1000).toISOString();
    expect(job).toMatchObject({ attempts: 0, transaction: null });
    expect(job.reason).toBe(
      `no quorum by the deadline ${deadline} (publishers.waitSeconds ${WAIT_SECONDS} after the bar's close at ` +
        `${close}; chain time ${deadline}): ${MARKET} bar ${bar}: 1 agreeing signed window(s) by registered ` +
        `publishers, the publisher set needs 2: ${market.urls[0]}/: ok; ${market.urls[1]}/: not_signed (HTTP 404 ` +
        `NOT_SIGNED: ${MARKET}: no window ending at the bar opening ${bar} is signed here (2 are signed, from ` +
        `${new Date((t2 - 2 * BAR_SECONDS) * 1000).toISOString()} to ${new Date((t2 - BAR_SECONDS) * 1000).toISOString()}))`,
    );
    expect(await acceptedTimestamps(provider, market.oracle)).toEqual([
      t2 - 2 * BAR_SECONDS,
      t2 - BAR_SECONDS,
    ]);
    expect(await metric(`zkrisk_updates_skipped_total{market="${MARKET}",reason="quorum_deadline"}`)).toBe(1);
    expect(await metric(`zkrisk_jobs{status="failed"}`)).toBe(0);
    expect(lines.filter((l) => l.msg === "step failed; will retry" || l.msg === "job failed")).toEqual([]);
  }, 600_000);

  it("stops waiting for an older bar once a newer bar's update is accepted (OracleNotNewer)", async () => {
    // The bar of the previous test (t2) was signed by A only; B is restarted on an empty archive, after the next
    // bar (t3) reached the feed, so it signs t3 and never t2.
    await running!.stop();
    await market.stopPublisher(1);
    const t2 = market.feed.lastTimestamp;
    const t3 = market.feed.append();
    await market.publishers[0].publisher.poll();
    restarted = await startTestPublisher(tempDir("late-publisher-b"), 2, market.feed.path);
    const urls = [market.urls[0], restarted.url];
    // A new store and a wait longer than a bar: the scheduler takes t2 (the latest bar closed by the chain's clock).
    const from = lines.length;
    running = await startService(
      loadServiceConfig(
        writeServiceConfig(tempDir("late-publisher-long"), {
          rpc: node.rpc,
          oracle: market.oracle,
          artifacts: market.artifacts,
          publishers: { set: market.setFile, urls, waitSeconds: 20_000 },
          maxAttempts: MAX_ATTEMPTS,
        }),
      ),
      memoryLogger(lines),
    );
    const older = jobIdOf(MARKET, t2);
    // Its bar closed 600 s ago by the chain's clock: it asks again every 30 s (the cap), so one wait is enough here.
    await waitForWaits(older, 1, from);

    await closeBar(provider, t3);
    await waitForJob(running.url, jobIdOf(MARKET, t3), "confirmed", logText, 600_000);
    const job = await waitForJob(running.url, older, "skipped", logText, 120_000);
    expect(job).toMatchObject({ attempts: 0, transaction: null });
    expect(job.reason).toMatch(
      /^the oracle would refuse it: data of \S+ is not newer than the last accepted update's data of \S+; no longer waiting for publishers: BTC-USDT bar /,
    );
    expect(job.reason).toContain(`${urls[0]}/: ok; ${urls[1]}/: not_signed (HTTP 404 NOT_SIGNED`);
    expect(await acceptedTimestamps(provider, market.oracle)).toEqual([
      t2 - 2 * BAR_SECONDS,
      t2 - BAR_SECONDS,
      t3,
    ]);
    expect(await metric(`zkrisk_updates_skipped_total{market="${MARKET}",reason="OracleNotNewer"}`)).toBe(1);
    expect(await metric(`zkrisk_jobs{status="failed"}`)).toBe(0);
  }, 900_000);
});
