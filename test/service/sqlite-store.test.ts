/**
 * The SQLite job store on real files in a temporary directory: the `JobStore` contract
 * (test/helpers/job-store-contract.ts), and what is SQLite's own: the schema version and WAL mode, refusal of
 * files it does not understand, and crash recovery after `kill -9`.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type JobStatus } from "../../service/job-states";
import { jobIdOf, JobStoreError } from "../../service/jobs";
import { SCHEMA_VERSION, SqliteJobStore, type HeartbeatProblem } from "../../service/sqlite-store";
import { bar, describeJobStoreContract, noCounts, proofAt, signedTx } from "../helpers/job-store-contract";

const ROOT = join(__dirname, "../..");
/** The store module as a child process requires it (by absolute path, through tsx). */
const STORE_MODULE = join(ROOT, "service/sqlite-store.ts");

/** The market of the crash test's jobs. */
const MARKET = "BTC-USDT";

let dir: string;
let stores: SqliteJobStore[];

/** Open the test's store (jobs.db in the test's directory); closed after the test. */
function open(): SqliteJobStore {
  const store = SqliteJobStore.open(join(dir, "jobs.db"));
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

describeJobStoreContract("SqliteJobStore", {
  open: async () => open(),
  childOpen: () => ({ module: STORE_MODULE, exportName: "SqliteJobStore", args: [join(dir, "jobs.db")] }),
});

describe("SqliteJobStore.open", () => {
  it("creates the parent directories, the schema and WAL mode", async () => {
    const path = join(dir, "a", "b", "jobs.db");
    const store = SqliteJobStore.open(path);
    stores.push(store);
    expect(store.path).toBe(path);
    expect(await store.counts()).toEqual(noCounts());

    const db = new Database(path, { readonly: true });
    try {
      expect(db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
      expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    } finally {
      db.close();
    }
  });

  it("brings a file of schema version 1 to 2: its jobs kept, each with no history", async () => {
    const path = join(dir, "v1.db");
    const db = new Database(path);
    // the schema of version 1, as zkrisk wrote it before the history column
    db.exec(`CREATE TABLE jobs (
      id TEXT NOT NULL PRIMARY KEY, market TEXT NOT NULL, data_timestamp INTEGER NOT NULL,
      submit INTEGER NOT NULL CHECK (submit IN (0, 1)), status TEXT NOT NULL, attempts INTEGER NOT NULL,
      not_before INTEGER NOT NULL, reason TEXT, proof TEXT, tx TEXT, block INTEGER, worker TEXT,
      created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, UNIQUE (market, data_timestamp)) STRICT;
      CREATE INDEX jobs_due ON jobs (status, not_before);
      INSERT INTO jobs VALUES ('${jobIdOf("BTC-USDT", 7200)}', 'BTC-USDT', 7200, 1, 'skipped', 0, 5, 'stale', NULL,
        NULL, NULL, NULL, 5, 6);`);
    db.pragma("user_version = 1");
    db.close();

    const store = SqliteJobStore.open(path);
    stores.push(store);
    const id = jobIdOf("BTC-USDT", 7200);
    expect(await store.get(id)).toMatchObject({ status: "skipped", reason: "stale", history: [] });
    const history = [{ at: 7, event: "reproved-after-revert" as const, message: "prior num 1" }];
    expect(await store.update(id, { history }, 8)).toMatchObject({ history });
    const after = new Database(path, { readonly: true });
    try {
      expect(after.pragma("user_version", { simple: true })).toBe(2);
    } finally {
      after.close();
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

describe("SqliteJobStore durability", () => {
  it("loses nothing written before kill -9, and recovers what was in flight", async () => {
    const path = join(dir, "jobs.db");
    const script = join(dir, "crash.js");
    // Jobs 0-3 are to be submitted. Before the kill:
    //   0, 1: submitting with a transaction (nonces 8, 7); 2: submitting, none yet; 3: proved;
    //   4: skipped; 5-7: proving; 8-19: queued.
    writeFileSync(
      script,
      `const { writeSync } = require("node:fs");
const [storeModule, dbPath] = process.argv.slice(2);
const { SqliteJobStore } = require(storeModule);
const proof = ${JSON.stringify(proofAt(bar(0)))};
const signed = ${JSON.stringify(signedTx(0))};
const tx = (nonce) => ({ ...signed, nonce });
const stamps = ${JSON.stringify(Array.from({ length: 20 }, (_, i) => bar(i)))};
(async () => {
  const store = SqliteJobStore.open(dbPath);
  const ids = [];
  for (let i = 0; i < 20; i++) {
    ids.push((await store.enqueue({ market: "${MARKET}", dataTimestamp: stamps[i], submit: i < 4 }, 1000 + i)).job.id);
  }
  for (let i = 0; i < 8; i++) await store.claimNext("child:1", 2000);
  for (let i = 0; i < 4; i++) await store.update(ids[i], { status: "proved", update: proof }, 2100, ["proving"]);
  for (let i = 0; i < 3; i++) await store.claimNext("child:1", 2200);
  await store.update(ids[0], { tx: tx(8) }, 2300, ["submitting"]);
  await store.update(ids[1], { tx: tx(7) }, 2300, ["submitting"]);
  await store.update(ids[4], { status: "skipped", reason: "stale data" }, 2300, ["proving"]);
  writeSync(1, "written\\n");
  process.kill(process.pid, "SIGKILL");
})().catch((err) => { console.error(err); process.exit(1); });
`,
    );
    const child = spawnSync(process.execPath, ["-r", "tsx/cjs", script, STORE_MODULE, path], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(child.stderr).toBe("");
    expect(child.stdout).toBe("written\n");
    expect(child.signal).toBe("SIGKILL");
    expect(existsSync(`${path}-wal`)).toBe(true); // killed before any checkpoint: the jobs are in the WAL

    const store = open();
    const ids = Array.from({ length: 20 }, (_, i) => jobIdOf(MARKET, bar(i)));
    const jobs = await Promise.all(ids.map((id) => store.get(id)));
    const expected: JobStatus[] = [
      ...(["submitting", "submitting", "submitting", "proved", "skipped"] as const),
      ...Array<JobStatus>(3).fill("proving"),
      ...Array<JobStatus>(12).fill("queued"),
    ];
    expect(jobs.map((j) => j?.status)).toEqual(expected);
    expect(jobs.map((j) => j?.submit)).toEqual(ids.map((_, i) => i < 4));
    expect(jobs[0]).toMatchObject({
      tx: { ...signedTx(0), nonce: 8 },
      holder: "child:1",
      update: proofAt(bar(0)),
    });
    expect(jobs[4]).toMatchObject({ reason: "stale data", updatedAt: 2_300 });
    expect(await store.counts()).toEqual({
      ...noCounts(),
      queued: 12,
      proving: 3,
      proved: 1,
      submitting: 3,
      skipped: 1,
    });

    const pending = await store.recoverInFlight(3_000);
    expect(pending.map((j) => j.id)).toEqual([ids[1], ids[0]]);
    expect(await store.counts()).toEqual({
      ...noCounts(),
      queued: 15,
      proved: 2,
      submitting: 2,
      skipped: 1,
    });
    for (const i of [5, 6, 7])
      expect(await store.get(ids[i])).toMatchObject({ status: "queued", updatedAt: 3_000 });
    expect(await store.get(ids[2])).toMatchObject({ status: "proved", tx: null, update: proofAt(bar(0)) });
  });
});

describe("SqliteJobStore.claimService (one service per file)", () => {
  const host = hostname();

  it("refuses a second live service on the same host, naming the holder", async () => {
    const a = SqliteJobStore.open(join(dir, "jobs.db"));
    const b = SqliteJobStore.open(join(dir, "jobs.db"));
    a.claimService({ holder: "vm:1", host, pid: process.pid }, 1_000, 60_000);
    // Named by its host and pid (its holder's start id tells starts apart, not people).
    expect(() => b.claimService({ holder: "vm:2", host, pid: process.pid }, 2_000, 60_000)).toThrow(
      new RegExp(
        `jobs\\.db: already used by zkrisk serve ${host}:${process.pid} \\(heartbeat 1 s ago\\).*--queue redis://`,
      ),
    );
    // A clean stop gives the file up.
    await a.close();
    b.claimService({ holder: "vm:2", host, pid: process.pid }, 3_000, 60_000);
    await b.close();
  });

  it("takes over from a holder that died (kill -9) at once, its heartbeat fresh", async () => {
    const path = join(dir, "jobs.db");
    // The holder is another process (the owner lock is the kernel's, per process), killed once it holds the file.
    const child = spawnSync(
      process.execPath,
      [
        "-r",
        "tsx/cjs",
        "-e",
        `const { SqliteJobStore } = require(${JSON.stringify(STORE_MODULE)});
         SqliteJobStore.open(${JSON.stringify(path)})
           .claimService({ holder: "vm:7:dead", host: "vm", pid: 7 }, Date.now(), 60_000);
         process.kill(process.pid, "SIGKILL");`,
      ],
      { cwd: ROOT, encoding: "utf8", timeout: 60_000 },
    );
    expect(child.stderr).toBe("");
    expect(child.signal).toBe("SIGKILL");
    const b = SqliteJobStore.open(path);
    b.claimService({ holder: "vm:2:b", host, pid: process.pid }, Date.now(), 60_000);
    expect(b.heartbeat("vm:2:b", Date.now())).toBe(true);
    await b.close();
  });

  it("a heartbeat that fails (the file locked past the busy timeout) or finds the claim taken is reported, not thrown", async () => {
    const a = SqliteJobStore.open(join(dir, "jobs.db"));
    const problems: HeartbeatProblem[] = [];
    // Beats every 100 ms; the first blocks for BUSY_TIMEOUT_MS while another connection holds the write lock.
    a.claimService({ holder: "vm:1", host, pid: process.pid }, Date.now(), 600, (p) => problems.push(p));
    const locker = new Database(join(dir, "jobs.db"));
    locker.exec("BEGIN IMMEDIATE");
    await new Promise((done) => setTimeout(done, 150));
    locker.exec("COMMIT");
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0]).toMatchObject({ lost: false, error: { code: "SQLITE_BUSY" } });
    // Another holder took the file over: told as lost at the next beat, and the timer goes on.
    locker.prepare("UPDATE service_owner SET worker = 'elsewhere:1'").run();
    locker.close();
    problems.length = 0;
    await new Promise((done) => setTimeout(done, 250));
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.every((p) => p.lost && p.error === undefined)).toBe(true);
    await a.close();
  }, 30_000);

  it("judges a claim written by a zkrisk without the owner lock (holder host:pid) by its heartbeat", async () => {
    const a = SqliteJobStore.open(join(dir, "jobs.db"));
    a.claimService({ holder: "vm:0:a", host, pid: process.pid }, 1_000, 60_000);
    await a.close();
    const legacy = new Database(join(dir, "jobs.db"));
    legacy
      .prepare("INSERT INTO service_owner (id, worker, host, pid, heartbeat) VALUES (1, ?, ?, ?, ?)")
      .run("elsewhere:1", "elsewhere", 1, 10_000);
    legacy.close();
    const b = SqliteJobStore.open(join(dir, "jobs.db"));
    expect(() => b.claimService({ holder: "vm:2:b", host, pid: process.pid }, 69_999, 60_000)).toThrow(
      /already used by zkrisk serve elsewhere:1 \(heartbeat 60 s ago\)/,
    );
    b.claimService({ holder: "vm:2:b", host, pid: process.pid }, 70_000, 60_000);
    await b.close();
  });
});
