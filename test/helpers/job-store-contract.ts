/**
 * The behaviour every `JobStore` owes its callers, as one suite that the test file of each implementation
 * registers on its own stores (`describeJobStoreContract`): enqueue idempotency and the submit upgrade,
 * compare-and-set updates, the transition table of job-states.ts through `transition` (every allowed transition
 * made, every other refused), claim order and exclusivity (two connections in turn, several processes at once),
 * crash recovery, queries, and persistence across close and reopen. Also the values those tests (and the
 * stores' own tests) build jobs from.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { ProvedSignedUpdate } from "../../prover/prove-signed-update";
import { canTransition, JOB_STATUSES, type JobStatus } from "../../service/job-states";
import {
  jobIdOf,
  PendingCapError,
  transition,
  type JobStore,
  type SentTransaction,
} from "../../service/jobs";
import { MAX_RETRY_DELAY_MS } from "../../service/retry";
import { FIELD_MODULUS } from "../../crypto/field";

const ROOT = join(__dirname, "../..");

export const BTC = "BTC-USDT";
export const ETH = "ETH-USDT";
/** Open time of a 2 h bar (2023-11-14T22:00Z), seconds. */
const BAR0 = 1_700_000_000 - (1_700_000_000 % 7_200);
const BAR = 7_200;
/** Open time of the `i`th bar after `BAR0`, seconds. */
export const bar = (i: number) => BAR0 + i * BAR;

/**
 * A proof-shaped value holding what a JSON round trip must keep: 77-digit decimal strings, nested arrays,
 * floats with many digits, tiny and huge ones, non-ASCII text and characters JSON escapes.
 */
export function proofAt(dataTimestamp: number): ProvedSignedUpdate {
  const fe = (k: number) => ((FIELD_MODULUS * BigInt(k)) / 97n).toString();
  const input = [fe(10), fe(11), fe(12)];
  return {
    format: "zkrisk-signed-proof/1",
    market: BTC,
    bar: new Date(dataTimestamp * 1_000).toISOString(),
    proof: {
      pi_a: [fe(1), fe(2), "1"],
      pi_b: [
        [fe(3), fe(4)],
        [fe(5), fe(6)],
        ["1", "0"],
      ],
      pi_c: [fe(7), fe(8), "1"],
      protocol: "groth16",
      curve: "bn128",
    },
    publicSignals: input,
    calldata: {
      a: [fe(1), fe(2)],
      b: [
        [fe(4), fe(3)],
        [fe(6), fe(5)],
      ],
      c: [fe(7), fe(8)],
      input,
    },
    parameters: {
      maintenanceMarginBps: 640,
      initialMarginBps: 960,
      dataTimestamp,
      windowDigest: fe(11),
      statement: fe(12),
      marketId: "0x" + "5a".repeat(32),
      modelCommitment: fe(13),
      publisherSet: fe(14),
      domain: "1",
    },
    features: [
      { name: "realised_vol_12", value: 0.01875309124577231, quantized: "1229" },
      { name: "log_return_1", value: -0.0012345678901234567, quantized: "-81" },
      { name: "funding_rate", value: 0, quantized: "0" },
      { name: "volume_z", value: 1e-7, quantized: "0" },
      { name: "skew", value: -3.5e-9, quantized: "0" },
      { name: 'note "é" ✓ \\ \n\t', value: 1e21, quantized: "-1" },
    ],
    provingMs: 987.25,
  };
}

/** A signed-transaction-shaped value with the given nonce. */
export function signedTx(nonce: number): SentTransaction {
  return {
    hash: "0x" + (nonce + 0xa000).toString(16).padStart(64, "0"),
    raw: "0x02f9" + "7e".repeat(120),
    nonce,
  };
}

/** `counts()` of an empty store. */
export function noCounts(): Record<JobStatus, number> {
  return Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
}

/** How a child process opens the test's store: `require(module)[exportName].open(...args)`, awaited. */
export interface ChildOpen {
  /** Absolute path of the store module (required through tsx). */
  module: string;
  exportName: string;
  /** JSON values. */
  args: unknown[];
}

/** What the contract needs of an implementation; the test file owns the stores' life (and any checks). */
export interface JobStoreContractFactory {
  /**
   * A new connection to the test's store: empty at the first call of a test, then the same jobs (same file,
   * same key prefix, ...). The test file closes the connections after the test; a test may close one first.
   */
  open(): Promise<JobStore>;
  /** How a child process opens a connection to the test's store. */
  childOpen(): ChildOpen;
}

/** Register the `JobStore` contract's tests for the implementation `name`. */
export function describeJobStoreContract(name: string, factory: JobStoreContractFactory): void {
  const { open } = factory;

  describe(`${name} (JobStore contract)`, () => {
    describe("enqueue", () => {
      it("creates one job per market and bar, once", async () => {
        const store = await open();
        const first = await store.enqueue({ market: BTC, dataTimestamp: bar(0), submit: false }, 10_000);
        expect(first).toEqual({
          created: true,
          job: {
            id: jobIdOf(BTC, bar(0)),
            market: BTC,
            dataTimestamp: bar(0),
            submit: false,
            status: "queued",
            attempts: 0,
            notBefore: 10_000,
            reason: null,
            update: null,
            tx: null,
            block: null,
            holder: null,
            history: [],
            createdAt: 10_000,
            updatedAt: 10_000,
          },
        });
        expect(await store.get(first.job.id)).toEqual(first.job);
        expect(await store.get("0".repeat(20))).toBeUndefined();

        expect(await store.enqueue({ market: BTC, dataTimestamp: bar(0), submit: false }, 20_000)).toEqual({
          job: first.job,
          created: false,
        });
        const nextBar = await store.enqueue({ market: BTC, dataTimestamp: bar(1), submit: false }, 20_000);
        const otherMarket = await store.enqueue(
          { market: ETH, dataTimestamp: bar(0), submit: false },
          20_000,
        );
        expect(nextBar.created && otherMarket.created).toBe(true);
        expect(new Set([first.job.id, nextBar.job.id, otherMarket.job.id]).size).toBe(3);
        expect(await store.counts()).toEqual({ ...noCounts(), queued: 3 });
      });

      it("makes a proved proof-only job a submitting one, and never the reverse", async () => {
        const store = await open();
        const { job } = await store.enqueue({ market: BTC, dataTimestamp: bar(0), submit: false }, 10_000);
        await store.update(job.id, { status: "proved", update: proofAt(bar(0)) }, 15_000);
        expect(await store.claimNext("w", 50_000)).toBeUndefined(); // proof only: nothing left to do

        const asked = await store.enqueue({ market: BTC, dataTimestamp: bar(0), submit: true }, 20_000);
        expect(asked.created).toBe(false);
        expect(asked.job).toEqual({
          ...job,
          status: "proved",
          submit: true,
          update: proofAt(bar(0)),
          // Due again, at a new time: a delivery made for the last one is stale.
          notBefore: 20_000,
          updatedAt: 20_000,
        });
        // Asked for again at once after a wait set its due time ahead: still later than the last.
        const later = await store.enqueue({ market: BTC, dataTimestamp: bar(1), submit: false }, 10_000);
        await store.update(later.job.id, { status: "proved", notBefore: 30_000 }, 15_000);
        const soon = await store.enqueue({ market: BTC, dataTimestamp: bar(1), submit: true }, 20_000);
        expect(soon.job).toMatchObject({ status: "proved", submit: true, notBefore: 30_001 });
        await store.update(later.job.id, { status: "skipped" }, 20_000);

        expect(await store.claimNext("w", 50_000)).toMatchObject({
          id: job.id,
          status: "submitting",
          holder: "w",
        });
        // Asking without submit never downgrades.
        const again = await store.enqueue({ market: BTC, dataTimestamp: bar(0), submit: false }, 60_000);
        expect(again.job).toMatchObject({ status: "submitting", submit: true, updatedAt: 50_000 });
      });

      it("upgrades queued and proving jobs", async () => {
        const store = await open();
        const queued = await store.enqueue({ market: BTC, dataTimestamp: bar(0), submit: false }, 10_000);
        const proving = await store.enqueue({ market: BTC, dataTimestamp: bar(1), submit: false }, 10_000);
        await store.update(proving.job.id, { status: "proving", holder: "w" }, 11_000);

        const a = await store.enqueue({ market: BTC, dataTimestamp: bar(0), submit: true }, 20_000);
        const b = await store.enqueue({ market: BTC, dataTimestamp: bar(1), submit: true }, 20_000);
        expect(a.job).toMatchObject({ status: "queued", submit: true, updatedAt: 20_000 });
        expect(b.job).toMatchObject({ status: "proving", submit: true, holder: "w", updatedAt: 20_000 });
        // Their due times stay: they were not done.
        expect([a.job.notBefore, b.job.notBefore]).toEqual([10_000, 10_000]);
        expect(await store.get(queued.job.id)).toEqual(a.job);
      });

      it("with a cap, makes no new job while the market has that many queued or proving, over every connection", async () => {
        const store = await open();
        const other = await open();
        const spec = (i: number, market = BTC) => ({ market, dataTimestamp: bar(i), submit: false });
        expect((await store.enqueue(spec(0), 10_000, 2)).created).toBe(true);
        const proving = await other.enqueue({ ...spec(1), submit: true }, 10_000, 2);
        await store.update(proving.job.id, { status: "proving", holder: "w" }, 11_000);
        for (const s of [store, other]) {
          const err = await s.enqueue(spec(2), 12_000, 2).catch((e: unknown) => e);
          expect(err).toBeInstanceOf(PendingCapError);
          expect(err).toMatchObject({ code: "PENDING_CAP", market: BTC, pending: 2, cap: 2 });
        }
        expect(await store.get(jobIdOf(BTC, bar(2)))).toBeUndefined();
        // A job that exists is answered and upgraded whatever the count; no cap, or another market, makes one.
        const upgraded = await other.enqueue({ ...spec(0), submit: true }, 13_000, 1);
        expect(upgraded).toMatchObject({ created: false, job: { status: "queued", submit: true } });
        expect((await other.enqueue(spec(2, ETH), 13_000, 2)).created).toBe(true);
        expect((await store.enqueue(spec(3), 13_000)).created).toBe(true);
        expect((await store.enqueue(spec(4), 13_000, 4)).created).toBe(true);
        await expect(other.enqueue(spec(5), 13_000, 4)).rejects.toMatchObject({ pending: 4, cap: 4 });
        // Proved (to submit or not) or ended: no longer pending.
        await store.update(proving.job.id, { status: "proved" }, 14_000);
        expect((await other.enqueue(spec(5), 14_000, 4)).created).toBe(true);
        await store.update(jobIdOf(BTC, bar(0)), { status: "skipped" }, 15_000);
        expect((await other.enqueue(spec(6), 15_000, 4)).created).toBe(true);
        await expect(store.enqueue(spec(7), 15_000, 4)).rejects.toMatchObject({ pending: 4 });
        expect(await store.counts()).toEqual({ ...noCounts(), queued: 5, proved: 1, skipped: 1 });
      });

      it("leaves skipped, rejected and failed jobs unchanged", async () => {
        const store = await open();
        for (const [i, status] of (["skipped", "rejected", "failed"] as const).entries()) {
          const { job } = await store.enqueue({ market: BTC, dataTimestamp: bar(i), submit: false }, 10_000);
          const ended = await store.update(job.id, { status, reason: `${status}: see log` }, 15_000);
          expect(await store.enqueue({ market: BTC, dataTimestamp: bar(i), submit: true }, 20_000)).toEqual({
            job: ended,
            created: false,
          });
          expect(ended).toMatchObject({ status, submit: false, updatedAt: 15_000 });
        }
        expect(await store.claimNext("w", 100_000)).toBeUndefined();
      });
    });

    describe("update", () => {
      it("patches the given fields, sets updatedAt, keeps the rest and clears fields set to null", async () => {
        const store = await open();
        const { job } = await store.enqueue({ market: BTC, dataTimestamp: bar(0), submit: true }, 10_000);
        const patch = {
          attempts: 3,
          notBefore: 90_000,
          reason: "nonce too low",
          tx: signedTx(4),
          block: 77,
          holder: "h:1",
          history: [
            {
              at: 11_000,
              event: "reproved-after-revert" as const,
              message: "stale prior num 1, outcomes 0, MM_s 0",
            },
          ],
        };
        const patched = await store.update(job.id, patch, 12_000);
        expect(patched).toEqual({ ...job, ...patch, updatedAt: 12_000 });
        expect(await store.get(job.id)).toEqual(patched);

        const cleared = await store.update(
          job.id,
          { reason: null, tx: null, block: null, holder: null, history: [] },
          13_000,
        );
        expect(cleared).toEqual({ ...job, attempts: 3, notBefore: 90_000, updatedAt: 13_000 });
        expect(await store.update(job.id, {}, 14_000)).toEqual({ ...cleared, updatedAt: 14_000 });
        expect(await store.update("0".repeat(20), { attempts: 1 }, 15_000)).toBeUndefined();
        expect(await store.get("0".repeat(20))).toBeUndefined(); // not created by the update
      });

      it("keeps a transaction's signing time and the transactions of its nonce it replaced; one without them reads as written", async () => {
        const store = await open();
        const { job } = await store.enqueue({ market: BTC, dataTimestamp: bar(0), submit: true }, 10_000);
        // A transaction as recorded before fee bumping: no `signedAt`, no `others`.
        const before = signedTx(5);
        expect((await store.update(job.id, { tx: before }, 11_000))?.tx).toEqual(before);
        expect((await store.get(job.id))?.tx).toEqual(before);
        const replacement = {
          ...signedTx(5),
          hash: "0x" + "b".repeat(64),
          signedAt: 12_000,
          others: [{ hash: before.hash, raw: before.raw }],
        };
        await store.update(job.id, { tx: replacement }, 12_000);
        expect((await store.get(job.id))?.tx).toEqual(replacement);
      });

      it("with expect, changes the job only from one of the expected statuses", async () => {
        const store = await open();
        const { job } = await store.enqueue({ market: BTC, dataTimestamp: bar(0), submit: false }, 10_000);
        await store.update(job.id, { status: "proving" }, 11_000);

        expect(await store.update(job.id, { status: "skipped" }, 12_000, ["queued"])).toBeUndefined();
        expect(await store.update(job.id, { status: "skipped" }, 12_000, [])).toBeUndefined();
        expect(await store.get(job.id)).toMatchObject({ status: "proving", updatedAt: 11_000 });

        const proved = await store.update(job.id, { status: "proved", update: proofAt(bar(0)) }, 13_000, [
          "queued",
          "proving",
        ]);
        expect(proved).toMatchObject({ status: "proved", updatedAt: 13_000 });
        // The second of two holders finishing the same job loses.
        expect(await store.update(job.id, { status: "proved" }, 14_000, ["proving"])).toBeUndefined();
        expect(await store.update("f".repeat(20), { status: "proved" }, 14_000, ["proving"])).toBeUndefined();
        expect(await store.counts()).toEqual({ ...noCounts(), proved: 1 });
      });

      it("stores a proof as JSON that reads back exactly after close and reopen", async () => {
        const store = await open();
        const { job } = await store.enqueue({ market: BTC, dataTimestamp: bar(0), submit: false }, 10_000);
        const proof = proofAt(bar(0));
        await store.update(job.id, { status: "proved", update: proof }, 11_000);
        await store.close();

        const read = (await (await open()).get(job.id))?.update;
        expect(read).toStrictEqual(proof);
        expect(JSON.stringify(read)).toBe(JSON.stringify(proof));
      });
    });

    describe("transition", () => {
      it("makes every transition the table allows and refuses every other, changing nothing", async () => {
        const store = await open();
        let i = 0;
        const expected = noCounts();
        for (const from of JOB_STATUSES) {
          for (const to of JOB_STATUSES) {
            const { job } = await store.enqueue(
              { market: BTC, dataTimestamp: bar(i++), submit: true },
              1_000,
            );
            const placed = (await store.update(job.id, { status: from }, 2_000))!;
            const moved = await transition(
              store,
              job.id,
              to,
              { reason: `${from} -> ${to}`, attempts: 1 },
              3_000,
            );
            if (canTransition(from, to)) {
              expect(moved, `${from} -> ${to}`).toEqual({
                ...placed,
                status: to,
                reason: `${from} -> ${to}`,
                attempts: 1,
                updatedAt: 3_000,
              });
              expected[to]++;
            } else {
              expect(moved, `${from} -> ${to}`).toBeUndefined();
              expected[from]++;
            }
            expect(await store.get(job.id), `${from} -> ${to}`).toEqual(moved ?? placed);
          }
        }
        expect(await store.counts()).toEqual(expected);
        expect(await transition(store, "0".repeat(20), "proving", {}, 4_000)).toBeUndefined();
        expect(await store.get("0".repeat(20))).toBeUndefined();
      });

      it("with `only`, moves a job only from one of those statuses", async () => {
        const store = await open();
        const { job } = await store.enqueue({ market: BTC, dataTimestamp: bar(0), submit: true }, 1_000);
        await store.update(job.id, { status: "submitting" }, 2_000);

        // Allowed by the table, but not from the status the caller expects.
        expect(await transition(store, job.id, "proved", {}, 3_000, ["proving"])).toBeUndefined();
        // Expected, but not allowed by the table.
        expect(await transition(store, job.id, "queued", {}, 3_000, ["submitting"])).toBeUndefined();
        expect(await store.get(job.id)).toMatchObject({ status: "submitting", updatedAt: 2_000 });

        const proved = await transition(
          store,
          job.id,
          "proved",
          { tx: null, update: proofAt(bar(0)) },
          4_000,
          ["proving", "submitting"],
        );
        expect(proved).toMatchObject({ status: "proved", update: proofAt(bar(0)), updatedAt: 4_000 });
        // A proved job to submit is due again.
        expect(await store.claimNext("w", 5_000)).toMatchObject({ id: job.id, status: "submitting" });
      });
    });

    describe("claimNext", () => {
      it("takes due jobs by notBefore, then data timestamp, then creation, each once", async () => {
        const store = await open();
        // Enqueued out of bar order; c, b and a have the same notBefore, a and b the same bar.
        const retried = await store.enqueue({ market: BTC, dataTimestamp: bar(2), submit: false }, 1_000);
        const c = await store.enqueue({ market: BTC, dataTimestamp: bar(1), submit: false }, 2_000);
        const b = await store.enqueue({ market: BTC, dataTimestamp: bar(0), submit: false }, 2_000);
        const a = await store.enqueue({ market: ETH, dataTimestamp: bar(0), submit: false }, 1_500);
        await store.update(a.job.id, { notBefore: 2_000 }, 1_500);
        await store.update(retried.job.id, { attempts: 1, notBefore: 10_000 }, 3_000);

        const order: string[] = [];
        for (let job = await store.claimNext("w", 9_999); job; job = await store.claimNext("w", 9_999)) {
          expect(job).toMatchObject({ status: "proving", holder: "w", updatedAt: 9_999 });
          order.push(job.id);
        }
        expect(order).toEqual([a.job.id, b.job.id, c.job.id]);

        expect(await store.claimNext("w", 9_999)).toBeUndefined(); // not before its time
        expect(await store.claimNext("w", 10_000)).toMatchObject({
          id: retried.job.id,
          status: "proving",
          attempts: 1,
        });
        expect(await store.claimNext("w", 1_000_000)).toBeUndefined();
        expect(await store.claimNext("w", Number.MAX_SAFE_INTEGER)).toBeUndefined();
      });

      it("takes a job due further ahead than the longest delay the service sets (the clock stepped back), and none due within it", async () => {
        const store = await open();
        const now = 50_000_000;
        const stepped = await store.enqueue({ market: BTC, dataTimestamp: bar(0), submit: false }, 1_000);
        const waiting = await store.enqueue({ market: BTC, dataTimestamp: bar(1), submit: true }, 1_000);
        const overdue = await store.enqueue({ market: ETH, dataTimestamp: bar(0), submit: false }, 1_000);
        // Set back before the wall clock stepped back to `now`: one beyond the longest delay from `now`, one at it.
        await store.update(stepped.job.id, { attempts: 1, notBefore: now + MAX_RETRY_DELAY_MS + 1 }, 2_000);
        await store.update(
          waiting.job.id,
          { status: "proved", update: proofAt(bar(1)), notBefore: now + MAX_RETRY_DELAY_MS },
          2_000,
        );
        await store.update(overdue.job.id, { attempts: 1, notBefore: now }, 2_000);

        // Those whose time has passed come first.
        expect(await store.claimNext("w", now)).toMatchObject({ id: overdue.job.id, status: "proving" });
        expect(await store.claimNext("w", now)).toMatchObject({
          id: stepped.job.id,
          status: "proving",
          holder: "w",
          attempts: 1,
        });
        expect(await store.claimNext("w", now)).toBeUndefined();
        expect(await store.claimNext("w", now + MAX_RETRY_DELAY_MS - 1)).toBeUndefined();
        expect(await store.claimNext("w", now + MAX_RETRY_DELAY_MS)).toMatchObject({
          id: waiting.job.id,
          status: "submitting",
        });
      });

      it("takes proved jobs to submit, not proof-only ones, interleaved with queued ones by notBefore", async () => {
        const store = await open();
        const proofOnly = await store.enqueue({ market: BTC, dataTimestamp: bar(0), submit: false }, 1_000);
        const toSubmit = await store.enqueue({ market: BTC, dataTimestamp: bar(1), submit: true }, 1_000);
        const queued = await store.enqueue({ market: BTC, dataTimestamp: bar(2), submit: true }, 3_000);
        await store.update(proofOnly.job.id, { status: "proved", update: proofAt(bar(0)) }, 2_000);
        await store.update(toSubmit.job.id, { status: "proved", update: proofAt(bar(1)) }, 2_000);

        expect(await store.claimNext("w1", 4_000)).toMatchObject({
          id: toSubmit.job.id,
          status: "submitting",
          holder: "w1",
        });
        expect(await store.claimNext("w2", 4_000)).toMatchObject({
          id: queued.job.id,
          status: "proving",
          holder: "w2",
        });
        expect(await store.claimNext("w3", 4_000)).toBeUndefined();
        expect(await store.get(proofOnly.job.id)).toMatchObject({ status: "proved", holder: null });
      });

      it("lists the due jobs, whatever their notBefore, in claim order, claiming none", async () => {
        const store = await open();
        const queued = await store.enqueue({ market: BTC, dataTimestamp: bar(0), submit: false }, 1_000);
        const toSubmit = await store.enqueue({ market: BTC, dataTimestamp: bar(1), submit: true }, 2_000);
        const proofOnly = await store.enqueue({ market: BTC, dataTimestamp: bar(2), submit: false }, 1_500);
        const retried = await store.enqueue({ market: ETH, dataTimestamp: bar(0), submit: false }, 500);
        const claimed = await store.enqueue({ market: ETH, dataTimestamp: bar(1), submit: false }, 100);
        await store.update(toSubmit.job.id, { status: "proved", update: proofAt(bar(1)) }, 2_000);
        await store.update(proofOnly.job.id, { status: "proved", update: proofAt(bar(2)) }, 2_000);
        await store.update(retried.job.id, { attempts: 1, notBefore: 10_000 }, 3_000);
        expect((await store.claimNext("w", 100))?.id).toBe(claimed.job.id);

        const ids = async (limit: number) => (await store.due(limit)).map((j) => j.id);
        expect(await ids(10)).toEqual([queued.job.id, toSubmit.job.id, retried.job.id]);
        expect(await ids(2)).toEqual([queued.job.id, toSubmit.job.id]);
        expect(await store.get(queued.job.id)).toMatchObject({ status: "queued", holder: null });
        expect(await store.get(toSubmit.job.id)).toMatchObject({ status: "proved", holder: null });
      });

      it("never gives one job to two connections claiming in turn", async () => {
        const [a, b] = [await open(), await open()];
        for (let i = 0; i < 50; i++)
          await a.enqueue({ market: BTC, dataTimestamp: bar(i), submit: false }, 1_000);
        expect((await b.counts()).queued).toBe(50);

        const claimed: string[] = [];
        for (let i = 0; i < 50; i++) {
          const [store, holder] = i % 2 === 0 ? [a, "a"] : [b, "b"];
          const job = await store.claimNext(holder, 2_000);
          expect(job).toMatchObject({ status: "proving", holder });
          claimed.push(job!.id);
        }
        expect(new Set(claimed).size).toBe(50);
        expect(await a.claimNext("a", 2_000)).toBeUndefined();
        expect(await b.claimNext("b", 2_000)).toBeUndefined();
        expect(await a.counts()).toEqual({ ...noCounts(), proving: 50 });
        expect(await b.counts()).toEqual({ ...noCounts(), proving: 50 });
      });

      it("never gives one job to two processes claiming at once", async () => {
        const store = await open();
        const N = 60;
        for (let i = 0; i < N; i++)
          await store.enqueue({ market: BTC, dataTimestamp: bar(i), submit: false }, 1_000);

        // Each process waits for all to be ready, then claims and finishes jobs until none is left, and
        // prints the ids it finished.
        const dir = mkdtempSync(join(tmpdir(), "zkrisk-claimers-"));
        try {
          const script = join(dir, "claimer.js");
          writeFileSync(
            script,
            `const { existsSync, writeFileSync } = require("node:fs");
const [opener, readyDir, me, workers] = process.argv.slice(2);
const how = JSON.parse(opener);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
(async () => {
  const store = await require(how.module)[how.exportName].open(...how.args);
  writeFileSync(readyDir + "/ready-" + me, "");
  for (let i = 0; i < Number(workers); i++) while (!existsSync(readyDir + "/ready-" + i)) await sleep(2);
  const ids = [];
  for (let job = await store.claimNext("p" + me, 2000); job; job = await store.claimNext("p" + me, 2000)) {
    if (!(await store.update(job.id, { status: "proved" }, 2001, ["proving"]))) throw new Error("lost " + job.id);
    ids.push(job.id);
  }
  await store.close();
  process.stdout.write(JSON.stringify(ids));
})().catch((err) => { console.error(err); process.exit(1); });
`,
          );
          const opener = JSON.stringify(factory.childOpen());
          const WORKERS = 3;
          const run = (me: number) =>
            new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
              const child = spawn(
                process.execPath,
                ["-r", "tsx/cjs", script, opener, dir, String(me), String(WORKERS)],
                { cwd: ROOT },
              );
              let stdout = "";
              let stderr = "";
              child.stdout.on("data", (d) => (stdout += d));
              child.stderr.on("data", (d) => (stderr += d));
              child.on("error", reject);
              child.on("close", (code) => resolve({ code, stdout, stderr }));
            });
          const results = await Promise.all(Array.from({ length: WORKERS }, (_, me) => run(me)));

          const all: string[] = [];
          for (const r of results) {
            expect(r.stderr).toBe("");
            expect(r.code).toBe(0);
            all.push(...(JSON.parse(r.stdout) as string[]));
          }
          expect(all).toHaveLength(N);
          expect(new Set(all).size).toBe(N);
          expect(await store.counts()).toEqual({ ...noCounts(), proved: N });
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
    });

    describe("recoverInFlight", () => {
      it("requeues proving jobs, unsubmits those without a transaction, returns the rest in nonce order", async () => {
        const store = await open();
        const ids: string[] = [];
        for (let i = 0; i < 7; i++) {
          ids.push(
            (await store.enqueue({ market: BTC, dataTimestamp: bar(i), submit: true }, 1_000 + i)).job.id,
          );
        }
        // 0: proving; 1: submitting, no tx; 2, 3, 6: submitting with nonces 12, 10, 11; 4: proved; 5: confirmed.
        await store.update(ids[0], { status: "proving", holder: "w" }, 2_000);
        await store.update(ids[1], { status: "submitting", update: proofAt(bar(1)) }, 2_000);
        await store.update(ids[2], { status: "submitting", tx: signedTx(12) }, 2_000);
        await store.update(ids[3], { status: "submitting", tx: signedTx(10) }, 2_000);
        await store.update(ids[6], { status: "submitting", tx: signedTx(11) }, 2_000);
        await store.update(ids[4], { status: "proved" }, 2_000);
        await store.update(ids[5], { status: "confirmed", tx: signedTx(9), block: 300 }, 2_000);

        const pending = await store.recoverInFlight(3_000);
        expect(pending.map((j) => j.id)).toEqual([ids[3], ids[6], ids[2]]);
        expect(pending.map((j) => j.status)).toEqual(["submitting", "submitting", "submitting"]);
        expect(pending[2]).toEqual(await store.get(ids[2]));
        expect(pending[2]).toMatchObject({ tx: signedTx(12), updatedAt: 2_000 });

        // The attempt a crash cut short counts.
        expect(await store.get(ids[0])).toMatchObject({
          status: "queued",
          holder: "w",
          attempts: 1,
          updatedAt: 3_000,
        });
        expect(await store.get(ids[1])).toMatchObject({
          status: "proved",
          update: proofAt(bar(1)),
          attempts: 1,
          updatedAt: 3_000,
        });
        expect(await store.get(ids[4])).toMatchObject({ status: "proved", attempts: 0, updatedAt: 2_000 });
        expect(pending.map((j) => j.attempts)).toEqual([0, 0, 0]);
        expect(await store.get(ids[5])).toMatchObject({ status: "confirmed", updatedAt: 2_000 });
        expect(await store.counts()).toEqual({
          ...noCounts(),
          queued: 1,
          proved: 2,
          submitting: 3,
          confirmed: 1,
        });

        // Recovered jobs are claimable again; a second recovery changes nothing.
        expect(await store.claimNext("w2", 3_000)).toMatchObject({
          id: ids[0],
          status: "proving",
          holder: "w2",
        });
        expect(await store.claimNext("w2", 3_000)).toMatchObject({ id: ids[1], status: "submitting" });
        expect(await store.claimNext("w2", 3_000)).toMatchObject({ id: ids[4], status: "submitting" });
        await store.update(ids[1], { tx: signedTx(13) }, 3_100, ["submitting"]);
        expect((await store.recoverInFlight(4_000)).map((j) => j.tx?.nonce)).toEqual([10, 11, 12, 13]);
        expect(await store.get(ids[0])).toMatchObject({ status: "queued", attempts: 2, updatedAt: 4_000 });
        expect(await store.get(ids[4])).toMatchObject({ status: "proved", attempts: 1, updatedAt: 4_000 });
        expect(await store.get(ids[1])).toMatchObject({ status: "submitting", attempts: 1 });
      });
    });

    describe("queries", () => {
      it("latest, maxSubmitTimestamp and counts", async () => {
        const store = await open();
        expect(await store.maxSubmitTimestamp(BTC)).toBe(0);
        expect(await store.latest(BTC, ["confirmed"])).toBeUndefined();

        const ids: string[] = [];
        for (let i = 0; i < 4; i++) {
          ids.push((await store.enqueue({ market: BTC, dataTimestamp: bar(i), submit: true }, 1_000)).job.id);
        }
        await store.enqueue({ market: ETH, dataTimestamp: bar(20), submit: true }, 1_000);
        await store.update(ids[0], { status: "confirmed" }, 2_000);
        await store.update(ids[1], { status: "confirmed" }, 2_000);
        await store.update(ids[2], { status: "rejected" }, 2_000);

        expect((await store.latest(BTC, ["confirmed"]))?.id).toBe(ids[1]);
        expect((await store.latest(BTC, ["confirmed", "rejected"]))?.id).toBe(ids[2]);
        expect((await store.latest(BTC, ["confirmed", "queued"]))?.id).toBe(ids[3]);
        expect((await store.latest(BTC, ["rejected", "queued", "confirmed"]))?.id).toBe(ids[3]);
        expect(await store.latest(BTC, ["confirmed"])).toEqual(await store.get(ids[1]));
        expect(await store.latest(BTC, [])).toBeUndefined();
        expect(await store.latest("SOL-USDT", ["queued"])).toBeUndefined();
        expect(await store.maxSubmitTimestamp(BTC)).toBe(bar(3));
        expect(await store.maxSubmitTimestamp(ETH)).toBe(bar(20));
        expect(await store.counts()).toEqual({ ...noCounts(), queued: 2, confirmed: 2, rejected: 1 });
        // A newer proof-only job (the API's) does not count, until its bar is scheduled (the upgrade).
        const proofOnly = await store.enqueue({ market: BTC, dataTimestamp: bar(4), submit: false }, 1_000);
        expect(await store.maxSubmitTimestamp(BTC)).toBe(bar(3));
        await store.enqueue({ market: BTC, dataTimestamp: bar(4), submit: true }, 1_000);
        expect(await store.get(proofOnly.job.id)).toMatchObject({ submit: true });
        expect(await store.maxSubmitTimestamp(BTC)).toBe(bar(4));
        await store.update(proofOnly.job.id, { status: "failed" }, 1_000);

        // A job leaving a status leaves its latest too.
        await store.update(ids[1], { status: "failed" }, 3_000);
        expect((await store.latest(BTC, ["confirmed"]))?.id).toBe(ids[0]);
      });
    });

    describe("prune", () => {
      it("deletes the ended jobs last changed before the cutoff, and nothing that may still move", async () => {
        const store = await open();
        const other = await open();
        // One job of every status, changed at 10_000 (old) and one more of each ended one at 30_000 (recent).
        const at = async (i: number, status: JobStatus, submit: boolean, now: number, market = BTC) => {
          const { job } = await store.enqueue({ market, dataTimestamp: bar(i), submit }, 1_000);
          return (await store.update(job.id, { status }, now))!;
        };
        const old: Record<string, string> = {};
        for (const [i, status] of JOB_STATUSES.entries())
          old[status] = (await at(i, status, true, 10_000)).id;
        const oldProofOnly = (await at(10, "proved", false, 10_000)).id;
        const oldEth = (await at(11, "confirmed", true, 10_000, ETH)).id;
        const recent = [
          (await at(20, "confirmed", true, 30_000)).id,
          (await at(21, "failed", true, 30_000)).id,
          (await at(22, "proved", false, 30_000)).id,
        ];

        // The cutoff is exclusive: a job changed at it stays. Another connection sees the same store.
        expect(await other.prune(10_000)).toBe(0);
        expect(await other.prune(20_000)).toBe(6);
        for (const status of ["confirmed", "skipped", "rejected", "failed"]) {
          expect(await store.get(old[status]), status).toBeUndefined();
        }
        expect(await store.get(oldProofOnly)).toBeUndefined();
        expect(await store.get(oldEth)).toBeUndefined();
        // Still moving, whatever their age: queued, proving, submitting, and proved to be submitted.
        for (const status of ["queued", "proving", "proved", "submitting"]) {
          expect(await store.get(old[status]), status).toMatchObject({ status, submit: true });
        }
        for (const id of recent) expect(await store.get(id)).toBeDefined();
        expect(await store.counts()).toEqual({
          ...noCounts(),
          queued: 1,
          proving: 1,
          proved: 2,
          submitting: 1,
          confirmed: 1,
          failed: 1,
        });
        // The queries forget them: the newest confirmed BTC job is the recent one, ETH has none.
        expect((await store.latest(BTC, ["confirmed"]))?.id).toBe(recent[0]);
        expect(await store.latest(ETH, ["confirmed"])).toBeUndefined();
        expect(await store.maxSubmitTimestamp(ETH)).toBe(0);
        // A pruned bar asked for again is a new job.
        const again = await store.enqueue({ market: BTC, dataTimestamp: bar(4), submit: true }, 40_000);
        expect(again).toMatchObject({ created: true, job: { status: "queued" } });
        expect(await store.prune(20_000)).toBe(0);
      });

      it("keeps a job that moved after the cutoff was taken", async () => {
        const store = await open();
        const { job } = await store.enqueue({ market: BTC, dataTimestamp: bar(0), submit: true }, 1_000);
        await store.update(job.id, { status: "proved" }, 5_000);
        await store.update(job.id, { status: "confirmed" }, 25_000);
        expect(await store.prune(20_000)).toBe(0);
        expect(await store.get(job.id)).toMatchObject({ status: "confirmed" });
        await expect(store.prune(1.5)).rejects.toThrow(/before/);
      });
    });

    describe("persistence", () => {
      it("keeps every job across close and reopen", async () => {
        const store = await open();
        const jobs = [];
        for (let i = 0; i < 5; i++) {
          jobs.push(
            (await store.enqueue({ market: BTC, dataTimestamp: bar(i), submit: i % 2 === 0 }, 1_000)).job,
          );
        }
        jobs[1] = (await store.update(jobs[1].id, { status: "proved", update: proofAt(bar(1)) }, 2_000))!;
        jobs[0] = (await store.claimNext("w", 3_000))!;
        expect(jobs[0]).toMatchObject({ dataTimestamp: bar(0), status: "proving" });
        await store.close();
        await store.close(); // harmless

        const reopened = await open();
        for (const job of jobs) expect(await reopened.get(job.id)).toEqual(job);
        expect(await reopened.enqueue({ market: BTC, dataTimestamp: bar(0), submit: true }, 4_000)).toEqual({
          job: jobs[0],
          created: false,
        });
        expect(await reopened.counts()).toEqual({ ...noCounts(), queued: 3, proving: 1, proved: 1 });
      });
    });
  });
}
