/**
 * The SQLite job store on real files in a temporary directory: enqueue idempotency and the submit upgrade,
 * compare-and-set updates, claim order and exclusivity (two connections, several processes), crash recovery
 * after `kill -9`, persistence, and refusal of files it does not understand.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ProvedUpdate } from "../../prover/prove-update";
import { JOB_STATUSES, jobIdOf, type JobStatus, type SentTransaction } from "../../prover/service/jobs";
import { JobStoreError, SCHEMA_VERSION, SqliteJobStore } from "../../prover/service/sqlite-store";

const ROOT = join(__dirname, "../..");
/** The store module as a child process requires it (by absolute path, through tsx). */
const STORE_MODULE = join(ROOT, "prover/service/sqlite-store.ts");

const MARKET = "BTC-USDT";
/** A 2 h bar open time, seconds. */
const T0 = 236_111 * 7_200;
const BAR = 7_200;

/** A proof-shaped value with everything JSON must keep: big decimal strings, nested arrays, nulls, floats. */
function fakeProof(dataTimestamp: number): ProvedUpdate {
  const big = (k: number) =>
    (21888242871839275222246405745257275088548364400416034343698204186575808495617n - BigInt(k)).toString();
  return {
    format: "zkrisk-proof/1",
    market: MARKET,
    bar: new Date(dataTimestamp * 1000).toISOString(),
    proof: {
      pi_a: [big(1), big(2), "1"],
      pi_b: [
        [big(3), big(4)],
        [big(5), big(6)],
        ["1", "0"],
      ],
      pi_c: [big(7), big(8), "1"],
      protocol: "groth16",
      curve: "bn128",
    },
    publicSignals: ["512", "768", big(9), big(10), "0", String(dataTimestamp), "0"],
    calldata: {
      a: [big(1), big(2)],
      b: [
        [big(4), big(3)],
        [big(6), big(5)],
      ],
      c: [big(7), big(8)],
      input: ["512", "768", big(9), big(10), "0", String(dataTimestamp), "0"],
    },
    parameters: {
      maintenanceMarginBps: 512,
      initialMarginBps: 768,
      modelCommitment: big(9),
      inputCommitment: big(10),
      marketId: "0x" + "ab".repeat(32),
      dataTimestamp,
      domain: "0",
    },
    features: [
      { name: "log_return_1", value: -0.0012345678901234567, quantized: "-81" },
      { name: "funding_rate", value: null, quantized: "0" },
      { name: "volume_z", value: 1e-7, quantized: "0" },
    ],
    provingMs: 1234.5,
  };
}

function fakeTx(nonce: number): SentTransaction {
  return { hash: "0x" + nonce.toString(16).padStart(64, "0"), raw: "0x02f8" + "cd".repeat(100), nonce };
}

function zeroCounts(): Record<JobStatus, number> {
  return Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
}

let dir: string;
let stores: SqliteJobStore[];

/** Open a store in the test's directory; closed after the test. */
function open(name = "jobs.db"): SqliteJobStore {
  const store = SqliteJobStore.open(join(dir, name));
  stores.push(store);
  return store;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "zkrisk-jobs-"));
  stores = [];
});

afterEach(async () => {
  for (const store of stores) await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("SqliteJobStore.open", () => {
  it("creates the parent directories, the schema and WAL mode", async () => {
    const path = join(dir, "a", "b", "jobs.db");
    const store = SqliteJobStore.open(path);
    stores.push(store);
    expect(store.path).toBe(path);
    expect(await store.counts()).toEqual(zeroCounts());

    const db = new Database(path, { readonly: true });
    try {
      expect(db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
      expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    } finally {
      db.close();
    }
  });

  it("refuses a file of a newer schema version, naming the file", () => {
    const path = join(dir, "future.db");
    const db = new Database(path);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();

    expect(() => SqliteJobStore.open(path)).toThrow(JobStoreError);
    expect(() => SqliteJobStore.open(path)).toThrow(
      `${path}: job store schema version ${SCHEMA_VERSION + 1} is newer than this zkrisk supports (${SCHEMA_VERSION})`,
    );
  });

  it("refuses a SQLite database that is not a job store, and a file that is not a database", () => {
    const foreign = join(dir, "foreign.db");
    const db = new Database(foreign);
    db.exec("CREATE TABLE other (x INTEGER)");
    db.close();
    expect(() => SqliteJobStore.open(foreign)).toThrow(`${foreign}: not a zkrisk job store`);

    const text = join(dir, "notes.txt");
    writeFileSync(text, "these are not the jobs you are looking for\n".repeat(20));
    let error: unknown;
    try {
      SqliteJobStore.open(text);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(JobStoreError);
    expect((error as JobStoreError).code).toBe("JOB_STORE");
    expect((error as JobStoreError).message).toContain(`${text}: cannot open the job store`);
  });
});

describe("SqliteJobStore.enqueue", () => {
  it("names one job per market and bar, and creates it once", async () => {
    const store = open();
    const first = await store.enqueue({ market: MARKET, dataTimestamp: T0, submit: false }, 1_000);
    expect(first.created).toBe(true);
    expect(first.job).toEqual({
      id: jobIdOf(MARKET, T0),
      market: MARKET,
      dataTimestamp: T0,
      submit: false,
      status: "queued",
      attempts: 0,
      notBefore: 1_000,
      reason: null,
      proof: null,
      tx: null,
      block: null,
      worker: null,
      createdAt: 1_000,
      updatedAt: 1_000,
    });
    expect(await store.get(first.job.id)).toEqual(first.job);

    const again = await store.enqueue({ market: MARKET, dataTimestamp: T0, submit: false }, 2_000);
    expect(again).toEqual({ job: first.job, created: false });

    const next = await store.enqueue({ market: MARKET, dataTimestamp: T0 + BAR, submit: false }, 2_000);
    expect(next.created).toBe(true);
    expect(next.job.id).not.toBe(first.job.id);
    const otherMarket = await store.enqueue({ market: "ETH-USDT", dataTimestamp: T0, submit: false }, 2_000);
    expect(otherMarket.created).toBe(true);
    expect(otherMarket.job.id).not.toBe(first.job.id);
    expect((await store.counts()).queued).toBe(3);
  });

  it("turns a proof-only job that can still be proved into a submitting one", async () => {
    const store = open();
    const { job } = await store.enqueue({ market: MARKET, dataTimestamp: T0, submit: false }, 1_000);
    await store.update(job.id, { status: "proved", proof: fakeProof(T0) }, 1_500);
    expect(await store.claimNext("w", 5_000)).toBeUndefined(); // proof only: done

    const asked = await store.enqueue({ market: MARKET, dataTimestamp: T0, submit: true }, 2_000);
    expect(asked.created).toBe(false);
    expect(asked.job).toMatchObject({
      status: "proved",
      submit: true,
      updatedAt: 2_000,
      proof: fakeProof(T0),
    });

    const claimed = await store.claimNext("w", 5_000);
    expect(claimed).toMatchObject({ id: job.id, status: "submitting", worker: "w" });

    // Asking without submit never downgrades.
    const again = await store.enqueue({ market: MARKET, dataTimestamp: T0, submit: false }, 6_000);
    expect(again.job).toMatchObject({ status: "submitting", submit: true, updatedAt: 5_000 });
  });

  it("upgrades queued and proving jobs too", async () => {
    const store = open();
    const queued = await store.enqueue({ market: MARKET, dataTimestamp: T0, submit: false }, 1_000);
    const proving = await store.enqueue({ market: MARKET, dataTimestamp: T0 + BAR, submit: false }, 1_000);
    await store.update(proving.job.id, { status: "proving" }, 1_100);

    expect(
      (await store.enqueue({ market: MARKET, dataTimestamp: T0, submit: true }, 2_000)).job,
    ).toMatchObject({
      status: "queued",
      submit: true,
    });
    expect(
      (await store.enqueue({ market: MARKET, dataTimestamp: T0 + BAR, submit: true }, 2_000)).job,
    ).toMatchObject({ status: "proving", submit: true });
    expect((await store.get(queued.job.id))?.submit).toBe(true);
  });

  it("leaves skipped, rejected and failed jobs as they are", async () => {
    const store = open();
    const ended: JobStatus[] = ["skipped", "rejected", "failed"];
    for (const [i, status] of ended.entries()) {
      const { job } = await store.enqueue(
        { market: MARKET, dataTimestamp: T0 + i * BAR, submit: false },
        1_000,
      );
      const before = await store.update(job.id, { status, reason: `why ${status}` }, 1_500);
      const asked = await store.enqueue({ market: MARKET, dataTimestamp: T0 + i * BAR, submit: true }, 2_000);
      expect(asked).toEqual({ job: before, created: false });
      expect(asked.job).toMatchObject({ status, submit: false, updatedAt: 1_500 });
    }
    expect(await store.claimNext("w", 10_000)).toBeUndefined();
  });
});

describe("SqliteJobStore.update", () => {
  it("patches the given fields, sets updatedAt and keeps the rest", async () => {
    const store = open();
    const { job } = await store.enqueue({ market: MARKET, dataTimestamp: T0, submit: true }, 1_000);
    const patched = await store.update(
      job.id,
      { attempts: 2, notBefore: 9_000, reason: "rpc timeout", tx: fakeTx(3), block: 42 },
      1_200,
    );
    expect(patched).toEqual({
      ...job,
      attempts: 2,
      notBefore: 9_000,
      reason: "rpc timeout",
      tx: fakeTx(3),
      block: 42,
      updatedAt: 1_200,
    });
    expect(await store.get(job.id)).toEqual(patched);

    const cleared = await store.update(job.id, { reason: null, tx: null, block: null }, 1_300);
    expect(cleared).toEqual({ ...job, attempts: 2, notBefore: 9_000, updatedAt: 1_300 });

    expect(await store.update("0".repeat(20), { attempts: 1 }, 1_400)).toBeUndefined();
  });

  it("with expect, changes the job only from one of the expected statuses", async () => {
    const store = open();
    const { job } = await store.enqueue({ market: MARKET, dataTimestamp: T0, submit: false }, 1_000);
    await store.update(job.id, { status: "proving" }, 1_100);

    expect(await store.update(job.id, { status: "skipped" }, 1_200, ["queued"])).toBeUndefined();
    expect(await store.update(job.id, { status: "skipped" }, 1_200, [])).toBeUndefined();
    expect(await store.get(job.id)).toMatchObject({ status: "proving", updatedAt: 1_100 });

    const proved = await store.update(job.id, { status: "proved", proof: fakeProof(T0) }, 1_300, [
      "queued",
      "proving",
    ]);
    expect(proved).toMatchObject({ status: "proved", updatedAt: 1_300 });
    // A second worker finishing the same job loses the race.
    expect(await store.update(job.id, { status: "proved" }, 1_400, ["proving"])).toBeUndefined();
    expect(await store.update("f".repeat(20), { status: "proved" }, 1_400, ["proving"])).toBeUndefined();
  });

  it("stores a proof as JSON that reads back exactly", async () => {
    const store = open();
    const { job } = await store.enqueue({ market: MARKET, dataTimestamp: T0, submit: false }, 1_000);
    const proof = fakeProof(T0);
    await store.update(job.id, { status: "proved", proof }, 1_100);
    await store.close();

    const reopened = open();
    const read = (await reopened.get(job.id))?.proof;
    expect(read).toStrictEqual(proof);
    expect(JSON.stringify(read)).toBe(JSON.stringify(proof));
  });
});

describe("SqliteJobStore.claimNext", () => {
  it("takes due jobs by notBefore, then data timestamp, then creation", async () => {
    const store = open();
    // Enqueued out of bar order; equal notBefore for the last three.
    const late = await store.enqueue({ market: MARKET, dataTimestamp: T0 + 2 * BAR, submit: false }, 100);
    const c = await store.enqueue({ market: MARKET, dataTimestamp: T0 + BAR, submit: false }, 200);
    const b = await store.enqueue({ market: MARKET, dataTimestamp: T0, submit: false }, 200);
    const a = await store.enqueue({ market: "ETH-USDT", dataTimestamp: T0, submit: false }, 150);
    await store.update(a.job.id, { notBefore: 200 }, 150); // same notBefore and bar as b, created earlier
    await store.update(late.job.id, { attempts: 1, notBefore: 1_000 }, 300); // retried with backoff

    const order: string[] = [];
    for (
      let job = await store.claimNext("w", 999);
      job !== undefined;
      job = await store.claimNext("w", 999)
    ) {
      expect(job).toMatchObject({ status: "proving", worker: "w", updatedAt: 999 });
      order.push(job.id);
    }
    expect(order).toEqual([a.job.id, b.job.id, c.job.id]);

    // Not before its time, and then once only.
    expect(await store.claimNext("w", 999)).toBeUndefined();
    expect(await store.claimNext("w", 1_000)).toMatchObject({
      id: late.job.id,
      status: "proving",
      attempts: 1,
    });
    expect(await store.claimNext("w", 1_000_000)).toBeUndefined();
  });

  it("takes proved jobs to submit, not proof-only ones, interleaved with queued ones by notBefore", async () => {
    const store = open();
    const proofOnly = await store.enqueue({ market: MARKET, dataTimestamp: T0, submit: false }, 100);
    const toSubmit = await store.enqueue({ market: MARKET, dataTimestamp: T0 + BAR, submit: true }, 100);
    const queued = await store.enqueue({ market: MARKET, dataTimestamp: T0 + 2 * BAR, submit: true }, 300);
    await store.update(proofOnly.job.id, { status: "proved", proof: fakeProof(T0) }, 200);
    await store.update(toSubmit.job.id, { status: "proved", proof: fakeProof(T0 + BAR) }, 200);

    expect(await store.claimNext("w1", 400)).toMatchObject({
      id: toSubmit.job.id,
      status: "submitting",
      worker: "w1",
    });
    expect(await store.claimNext("w2", 400)).toMatchObject({
      id: queued.job.id,
      status: "proving",
      worker: "w2",
    });
    expect(await store.claimNext("w3", 400)).toBeUndefined();
    expect(await store.get(proofOnly.job.id)).toMatchObject({ status: "proved", worker: null });
  });

  it("never gives one job to two stores sharing the file", async () => {
    const a = open();
    const b = open();
    for (let i = 0; i < 50; i++)
      await a.enqueue({ market: MARKET, dataTimestamp: T0 + i * BAR, submit: false }, 1_000);
    expect((await b.counts()).queued).toBe(50);

    const claimed: string[] = [];
    for (let i = 0; i < 50; i++) {
      const store = i % 2 === 0 ? a : b;
      const job = await store.claimNext(i % 2 === 0 ? "a" : "b", 2_000);
      expect(job?.status).toBe("proving");
      claimed.push(job!.id);
    }
    expect(new Set(claimed).size).toBe(50);
    expect(await a.claimNext("a", 2_000)).toBeUndefined();
    expect(await b.claimNext("b", 2_000)).toBeUndefined();
    expect((await a.counts()).proving).toBe(50);
  });

  it("never gives one job to two processes claiming at once", async () => {
    const path = join(dir, "jobs.db");
    const store = open();
    const N = 60;
    for (let i = 0; i < N; i++)
      await store.enqueue({ market: MARKET, dataTimestamp: T0 + i * BAR, submit: false }, 1_000);

    // Each worker waits for all to be ready, then claims and finishes jobs until none is left.
    const script = join(dir, "claimer.js");
    writeFileSync(
      script,
      `const { existsSync, writeFileSync } = require("node:fs");
const [storeModule, dbPath, readyDir, me, workers] = process.argv.slice(2);
const { SqliteJobStore } = require(storeModule);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
(async () => {
  const store = SqliteJobStore.open(dbPath);
  writeFileSync(readyDir + "/ready-" + me, "");
  for (let i = 0; i < Number(workers); i++) while (!existsSync(readyDir + "/ready-" + i)) await sleep(2);
  const ids = [];
  for (let job = await store.claimNext(me, 2000); job; job = await store.claimNext(me, 2000)) {
    if (!(await store.update(job.id, { status: "proved" }, 2001, ["proving"]))) throw new Error("lost " + job.id);
    ids.push(job.id);
  }
  await store.close();
  process.stdout.write(JSON.stringify(ids));
})().catch((err) => { console.error(err); process.exit(1); });
`,
    );
    const WORKERS = 3;
    const run = (me: number) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          ["-r", "tsx/cjs", script, STORE_MODULE, path, dir, String(me), String(WORKERS)],
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
    expect((await store.counts()).proved).toBe(N);
  });
});

describe("SqliteJobStore.recoverInFlight", () => {
  it("requeues proving jobs, returns proved ones not yet sent, and hands back those with a transaction", async () => {
    const store = open();
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      ids.push(
        (await store.enqueue({ market: MARKET, dataTimestamp: T0 + i * BAR, submit: true }, 100 + i)).job.id,
      );
    }
    // 0: proving; 1: submitting, no tx; 2, 3: submitting with tx (nonce 8, 7); 4: proved; 5: confirmed.
    await store.update(ids[0], { status: "proving", worker: "w" }, 200);
    await store.update(ids[1], { status: "submitting", proof: fakeProof(T0 + BAR) }, 200);
    await store.update(ids[2], { status: "submitting", tx: fakeTx(8) }, 200);
    await store.update(ids[3], { status: "submitting", tx: fakeTx(7) }, 200);
    await store.update(ids[4], { status: "proved" }, 200);
    await store.update(ids[5], { status: "confirmed", tx: fakeTx(6), block: 100 }, 200);

    const pending = await store.recoverInFlight(300);
    expect(pending.map((j) => j.id)).toEqual([ids[3], ids[2]]); // nonce order
    expect(pending.map((j) => j.status)).toEqual(["submitting", "submitting"]);
    expect(pending[1]).toMatchObject({ tx: fakeTx(8), updatedAt: 200 });

    expect(await store.get(ids[0])).toMatchObject({ status: "queued", updatedAt: 300 });
    expect(await store.get(ids[1])).toMatchObject({
      status: "proved",
      proof: fakeProof(T0 + BAR),
      updatedAt: 300,
    });
    expect(await store.get(ids[4])).toMatchObject({ status: "proved", updatedAt: 200 });
    expect(await store.get(ids[5])).toMatchObject({ status: "confirmed", updatedAt: 200 });
    expect(await store.counts()).toEqual({
      ...zeroCounts(),
      queued: 1,
      proved: 2,
      submitting: 2,
      confirmed: 1,
    });

    // Recovered jobs are claimable again.
    expect(await store.claimNext("w2", 300)).toMatchObject({ id: ids[0], status: "proving", worker: "w2" });
    expect(await store.claimNext("w2", 300)).toMatchObject({ id: ids[1], status: "submitting" });
  });
});

describe("SqliteJobStore queries", () => {
  it("latest, maxDataTimestamp and counts", async () => {
    const store = open();
    expect(await store.maxDataTimestamp(MARKET)).toBe(0);
    expect(await store.latest(MARKET, ["confirmed"])).toBeUndefined();

    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      ids.push(
        (await store.enqueue({ market: MARKET, dataTimestamp: T0 + i * BAR, submit: true }, 100)).job.id,
      );
    }
    await store.enqueue({ market: "ETH-USDT", dataTimestamp: T0 + 10 * BAR, submit: true }, 100);
    await store.update(ids[0], { status: "confirmed" }, 200);
    await store.update(ids[1], { status: "confirmed" }, 200);
    await store.update(ids[2], { status: "rejected" }, 200);

    expect((await store.latest(MARKET, ["confirmed"]))?.id).toBe(ids[1]);
    expect((await store.latest(MARKET, ["confirmed", "rejected"]))?.id).toBe(ids[2]);
    expect((await store.latest(MARKET, ["confirmed", "queued"]))?.id).toBe(ids[3]);
    expect(await store.latest(MARKET, [])).toBeUndefined();
    expect(await store.latest("SOL-USDT", ["queued"])).toBeUndefined();
    expect(await store.maxDataTimestamp(MARKET)).toBe(T0 + 3 * BAR);
    expect(await store.maxDataTimestamp("ETH-USDT")).toBe(T0 + 10 * BAR);
    expect(await store.counts()).toEqual({ ...zeroCounts(), queued: 2, confirmed: 2, rejected: 1 });
  });
});

describe("SqliteJobStore durability", () => {
  it("keeps every job across close and reopen", async () => {
    const store = open();
    const jobs = [];
    for (let i = 0; i < 5; i++) {
      jobs.push(
        (await store.enqueue({ market: MARKET, dataTimestamp: T0 + i * BAR, submit: i % 2 === 0 }, 100)).job,
      );
    }
    jobs[1] = (await store.update(jobs[1].id, { status: "proved", proof: fakeProof(T0 + BAR) }, 200))!;
    jobs[0] = (await store.claimNext("w", 300))!;
    expect(jobs[0]).toMatchObject({ dataTimestamp: T0, status: "proving" });
    await store.close();

    const reopened = open();
    for (const job of jobs) expect(await reopened.get(job.id)).toEqual(job);
    expect(await reopened.enqueue({ market: MARKET, dataTimestamp: T0, submit: true }, 400)).toEqual({
      job: jobs[0],
      created: false,
    });
  });

  it("loses nothing written before kill -9, and recovers what was in flight", async () => {
    const path = join(dir, "jobs.db");
    const script = join(dir, "crash.js");
    // Jobs 0-3 are to be submitted. Before the kill:
    //   0, 1: submitting with a transaction (nonces 8, 7); 2: submitting, none yet; 3: proved;
    //   4: skipped; 5-7: proving; 8-19: queued.
    writeFileSync(
      script,
      `const { writeSync } = require("node:fs");
const [storeModule, dbPath, t0, bar] = process.argv.slice(2);
const { SqliteJobStore } = require(storeModule);
const proof = ${JSON.stringify(fakeProof(T0))};
const signed = ${JSON.stringify(fakeTx(0))};
const tx = (nonce) => ({ ...signed, nonce });
(async () => {
  const store = SqliteJobStore.open(dbPath);
  const ids = [];
  for (let i = 0; i < 20; i++) {
    const ts = Number(t0) + i * Number(bar);
    ids.push((await store.enqueue({ market: "${MARKET}", dataTimestamp: ts, submit: i < 4 }, 1000 + i)).job.id);
  }
  for (let i = 0; i < 8; i++) await store.claimNext("child:1", 2000);
  for (let i = 0; i < 4; i++) await store.update(ids[i], { status: "proved", proof }, 2100, ["proving"]);
  for (let i = 0; i < 3; i++) await store.claimNext("child:1", 2200);
  await store.update(ids[0], { tx: tx(8) }, 2300, ["submitting"]);
  await store.update(ids[1], { tx: tx(7) }, 2300, ["submitting"]);
  await store.update(ids[4], { status: "skipped", reason: "stale data" }, 2300, ["proving"]);
  writeSync(1, "written\\n");
  process.kill(process.pid, "SIGKILL");
})().catch((err) => { console.error(err); process.exit(1); });
`,
    );
    const child = spawnSync(
      process.execPath,
      ["-r", "tsx/cjs", script, STORE_MODULE, path, String(T0), String(BAR)],
      {
        cwd: ROOT,
        encoding: "utf8",
        timeout: 60_000,
      },
    );
    expect(child.stderr).toBe("");
    expect(child.stdout).toBe("written\n");
    expect(child.signal).toBe("SIGKILL");
    expect(existsSync(`${path}-wal`)).toBe(true); // killed before any checkpoint: the jobs are in the WAL

    const store = open();
    const ids = Array.from({ length: 20 }, (_, i) => jobIdOf(MARKET, T0 + i * BAR));
    const jobs = await Promise.all(ids.map((id) => store.get(id)));
    const expected: JobStatus[] = [
      ...(["submitting", "submitting", "submitting", "proved", "skipped"] as const),
      ...Array<JobStatus>(3).fill("proving"),
      ...Array<JobStatus>(12).fill("queued"),
    ];
    expect(jobs.map((j) => j?.status)).toEqual(expected);
    expect(jobs.map((j) => j?.submit)).toEqual(ids.map((_, i) => i < 4));
    expect(jobs[0]).toMatchObject({
      tx: { ...fakeTx(0), nonce: 8 },
      worker: "child:1",
      proof: fakeProof(T0),
    });
    expect(jobs[4]).toMatchObject({ reason: "stale data", updatedAt: 2_300 });
    expect(await store.counts()).toEqual({
      ...zeroCounts(),
      queued: 12,
      proving: 3,
      proved: 1,
      submitting: 3,
      skipped: 1,
    });

    const pending = await store.recoverInFlight(3_000);
    expect(pending.map((j) => j.id)).toEqual([ids[1], ids[0]]);
    expect(await store.counts()).toEqual({
      ...zeroCounts(),
      queued: 15,
      proved: 2,
      submitting: 2,
      skipped: 1,
    });
    for (const i of [5, 6, 7])
      expect(await store.get(ids[i])).toMatchObject({ status: "queued", updatedAt: 3_000 });
    expect(await store.get(ids[2])).toMatchObject({ status: "proved", tx: null, proof: fakeProof(T0) });
  });
});
