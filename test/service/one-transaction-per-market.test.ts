/**
 * At most one unsettled transaction per market (service/job-runner.ts `supersededOrWaiting`): the real job runner on
 * a real SQLite store, its transactions written as another process sharing the store would (Redis mode), with a
 * submitter that signs whatever it is given:
 * - a proved bar whose market has a newer bar proved (or accepted) is skipped as superseded, nothing signed, while
 *   the newer one is signed;
 * - a bar whose market has an earlier bar's transaction sent and not settled waits for it (no attempt spent, no
 *   transaction signed), and is signed once that one is settled;
 * - a batch's jobs follow the same rule under the batch's label.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { BatchRuntime } from "../../service/batches";
import { JobRunner } from "../../service/job-runner";
import type { JobRecord, ProvedJob, SentTransaction } from "../../service/jobs";
import type { MarketRuntime } from "../../service/markets";
import { ServiceMetrics } from "../../service/metrics";
import { SqliteJobStore } from "../../service/sqlite-store";
import type { Settlement, Submitter } from "../../service/submitter";
import { bareJobRunner } from "../helpers/bare-job-runner";

const HOLDER = "test:1";
const INTERVAL = 7_200;
const T1 = 1_717_185_600; // 2024-05-31T20:00:00Z
const T2 = T1 + INTERVAL;
const T3 = T2 + INTERVAL;
const sentTx = (nonce: number): SentTransaction => ({
  hash: "0x" + nonce.toString(16).padStart(64, "0"),
  raw: "0x02",
  nonce,
  signedAt: Date.now(),
});

describe("job runner: one unsettled transaction per market", () => {
  let store: SqliteJobStore;
  let metrics: ServiceMetrics;
  let runner: JobRunner;
  let signed: number[];

  beforeEach(() => {
    store = SqliteJobStore.open(join(mkdtempSync(join(tmpdir(), "zkrisk-one-tx-")), "jobs.db"));
    metrics = new ServiceMetrics(() => store.counts());
    signed = [];
    const submitter = {
      sign: async (update: ProvedJob & { bar: number }) => {
        signed.push(update.bar);
        return sentTx(100 + signed.length);
      },
      broadcast: async () => true,
      // Sent, not mined within the wait: the job keeps settling it.
      settle: async (): Promise<Settlement> => ({ status: "pending" }),
      unsent: async () => undefined,
      replace: async () => ({ ceiling: "no room" }),
      neverMined: async () => false,
    } as unknown as Submitter;
    const model = { barIntervalMs: INTERVAL * 1000 };
    runner = bareJobRunner({
      store,
      submitter,
      metrics,
      holder: HOLDER,
      markets: new Map([["BTC-USDT", { id: "BTC-USDT", model } as unknown as MarketRuntime]]),
      batches: new Map([["PAIR", { id: "PAIR", model } as unknown as BatchRuntime]]),
    });
  });

  afterEach(async () => {
    await store.close();
  });

  /** A proved job of `market`'s bar `bar` to submit, with its transaction `tx` when given (sent, not settled). */
  async function proved(market: string, bar: number, tx: SentTransaction | null = null): Promise<JobRecord> {
    const { job } = await store.enqueue({ market, dataTimestamp: bar, submit: true }, Date.now());
    const update = { format: "zkrisk-signed-proof/1", bar } as unknown as ProvedJob;
    return (await store.update(job.id, { status: "proved", update, tx }, Date.now()))!;
  }

  /** Claim the job (whenever it is due, other jobs kept out of the way) and run it. */
  async function runOnce(id: string): Promise<JobRecord> {
    const job = (await store.get(id))!;
    const others = (await store.due(100)).filter((j) => j.id !== id);
    for (const o of others) await store.update(o.id, { notBefore: Number.MAX_SAFE_INTEGER }, Date.now());
    const claimed = await store.claimNext(HOLDER, Math.max(Date.now(), job.notBefore));
    for (const o of others) await store.update(o.id, { notBefore: o.notBefore }, Date.now());
    expect(claimed?.id).toBe(id);
    await runner.run(claimed!);
    return (await store.get(id))!;
  }

  const skipped = async () => (await metrics.skipped.get()).values;
  const waits = async () => (await metrics.submitWaits.get()).values;

  it("skips a proved bar superseded by a newer proved bar of its market, and signs the newer one", async () => {
    const older = await proved("BTC-USDT", T1);
    const newer = await proved("BTC-USDT", T2);
    const done = await runOnce(older.id);
    expect({ status: done.status, tx: done.tx }).toEqual({ status: "skipped", tx: null });
    expect(done.reason).toBe(
      `superseded: the update of the newer bar 2024-05-31T22:00:00.000Z of BTC-USDT (job ${newer.id}) is ` +
        "proved, to be sent instead; nothing sent for this bar",
    );
    expect(await skipped()).toMatchObject([
      { labels: { market: "BTC-USDT", reason: "superseded" }, value: 1 },
    ]);
    expect((await runOnce(newer.id)).tx?.nonce).toBe(101);
    expect(signed).toEqual([T2]);
  });

  it("skips a proved bar whose market has a newer bar accepted, and not for a newer proof-only job", async () => {
    const older = await proved("BTC-USDT", T1);
    const { job: proofOnly } = await store.enqueue(
      { market: "BTC-USDT", dataTimestamp: T2, submit: false },
      Date.now(),
    );
    await store.update(proofOnly.id, { status: "proved" }, Date.now());
    expect((await runOnce(older.id)).tx?.nonce).toBe(101);
    expect(signed).toEqual([T1]);

    const stale = await proved("PAIR", T1);
    const accepted = await proved("PAIR", T3);
    await store.update(accepted.id, { status: "confirmed", block: 9 }, Date.now());
    const done = await runOnce(stale.id);
    expect(done.status).toBe("skipped");
    expect(done.reason).toMatch(
      /^superseded: the update of the newer bar .* of PAIR .* was accepted on chain/,
    );
    expect(signed).toEqual([T1]);
  });

  it("waits, signing nothing, while an earlier bar's transaction of the market is not settled", async () => {
    const earlier = await proved("BTC-USDT", T1, sentTx(7));
    const job = await proved("BTC-USDT", T3);
    for (let look = 1; look <= 3; look++) {
      const after = await runOnce(job.id);
      expect({ status: after.status, tx: after.tx, attempts: after.attempts }).toEqual({
        status: "proved",
        tx: null,
        attempts: 0,
      });
      expect(after.reason).toMatch(
        new RegExp(
          `^transaction ${sentTx(7).hash} of the earlier bar 2024-05-31T20:00:00.000Z of BTC-USDT \\(job ` +
            `${earlier.id}\\) is not settled; no other is signed for the market until it is \\(waiting for the ` +
            "market's earlier transaction to settle since ",
        ),
      );
    }
    expect(signed).toEqual([]);
    expect(await waits()).toMatchObject([
      { labels: { market: "BTC-USDT", reason: "earlier_transaction" }, value: 3 },
    ]);
    // Another market's transaction holds nothing up.
    const other = await proved("PAIR", T3);
    expect((await runOnce(other.id)).tx?.nonce).toBe(101);
    // The earlier transaction is settled (mined, its job confirmed): the job signs.
    await store.update(earlier.id, { status: "confirmed", block: 9 }, Date.now());
    expect((await runOnce(job.id)).tx?.nonce).toBe(102);
    expect(signed).toEqual([T3, T3]);
  });

  it("a batch's job waits for an earlier transaction of the batch, settled by the job's own tx", async () => {
    const earlier = await proved("PAIR", T2, sentTx(7));
    const job = await proved("PAIR", T3);
    expect((await runOnce(job.id)).reason).toMatch(/^transaction .* of the earlier bar .* of PAIR/);
    // The earlier one ends (its transaction reverted): the job signs.
    await store.update(earlier.id, { status: "rejected" }, Date.now());
    expect((await runOnce(job.id)).tx?.nonce).toBe(101);
  });
});
