/**
 * The job store on SQLite: one file, embedded, shared safely by the processes of one machine.
 *
 * Durability: the database runs in WAL mode with `synchronous=FULL`, so a method that has returned is on disk
 * and survives `kill -9` (and a power cut). Every method that runs more than one statement runs them in one
 * transaction, and every write transaction begins IMMEDIATE (it takes the write lock before reading), so two
 * processes sharing the file wait for each other (up to `BUSY_TIMEOUT_MS`) and never claim the same job.
 *
 * The methods are `async` to satisfy `JobStore`, but better-sqlite3 is synchronous: each one does its work
 * before it returns, and its errors become rejections.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";

import {
  CLAIMS,
  claimRuleOf,
  INITIAL_STATUS,
  JOB_STATUSES,
  PENDING_STATUSES,
  SET_BACKS,
  SUBMIT_UPGRADE_FROM,
  DUE_AGAIN_BY_SUBMIT,
  ENDED_PROOF_ONLY_STATUSES,
  ENDED_STATUSES,
  type JobStatus,
} from "./job-states";
import {
  jobIdOf,
  JobStoreError,
  PendingCapError,
  type JobEvent,
  type JobPatch,
  type JobRecord,
  type JobSpec,
  type JobStore,
  type ProvedJob,
  type SentTransaction,
} from "./jobs";
import { MAX_RETRY_DELAY_MS } from "./retry";

/** Schema version written to `PRAGMA user_version`; a file with a greater one is refused. */
export const SCHEMA_VERSION = 2;

/** How long a statement waits for another process's write lock before failing with SQLITE_BUSY, ms. */
export const BUSY_TIMEOUT_MS = 5_000;

/**
 * Statuses allowed by the schema's CHECK. Written out rather than built from `JOB_STATUSES`: the schema of a
 * file does not change when the code does, so a new status needs a new schema version and a migration (this
 * literal stops compiling until the new status is added here).
 */
const SCHEMA_STATUSES: Record<JobStatus, true> = {
  queued: true,
  proving: true,
  proved: true,
  submitting: true,
  confirmed: true,
  skipped: true,
  rejected: true,
  failed: true,
};
/** A list of statuses as SQL string literals (statuses are fixed words: nothing to escape). */
const sqlList = (statuses: readonly JobStatus[]) => statuses.map((s) => `'${s}'`).join(", ");
const SQL_STATUSES = sqlList(Object.keys(SCHEMA_STATUSES) as JobStatus[]);

/** The condition of a due job, from the claim rules (`CLAIMS`). */
const SQL_DUE = CLAIMS.map((c) => `(status = '${c.from}'${c.onlyToSubmit ? " AND submit = 1" : ""})`).join(
  " OR ",
);

/**
 * Schema version 1. Times (`not_before`, `created_at`, `updated_at`) are ms since the Unix epoch,
 * `data_timestamp` is seconds. `proof` (the record's `update`) and `tx` hold JSON (`ProvedJob`,
 * `SentTransaction`) or NULL; `worker` holds the record's `holder` (`host:pid:start-id`).
 * The UNIQUE constraint's index on (market, data_timestamp) also serves `latest` and `maxSubmitTimestamp`.
 */
const SCHEMA_V1 = `
CREATE TABLE jobs (
  id             TEXT    NOT NULL PRIMARY KEY,
  market         TEXT    NOT NULL,
  data_timestamp INTEGER NOT NULL,
  submit         INTEGER NOT NULL CHECK (submit IN (0, 1)),
  status         TEXT    NOT NULL CHECK (status IN (${SQL_STATUSES})),
  attempts       INTEGER NOT NULL CHECK (attempts >= 0),
  not_before     INTEGER NOT NULL,
  reason         TEXT,
  proof          TEXT,
  tx             TEXT,
  block          INTEGER,
  worker         TEXT,
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL,
  UNIQUE (market, data_timestamp)
) STRICT;
CREATE INDEX jobs_due ON jobs (status, not_before);
`;

/** Schema version 2: `history` holds the record's `history` as a JSON array, NULL for none (rows of version 1). */
const MIGRATION_V2 = "ALTER TABLE jobs ADD COLUMN history TEXT;";

// ---------------------------------------------------------------------------------------------------------
// Row <-> JobRecord: the only place that knows the column names and encodings.

/** A row of `jobs`, as better-sqlite3 returns it. */
interface JobRow {
  id: string;
  market: string;
  data_timestamp: number;
  submit: number;
  status: JobStatus;
  attempts: number;
  not_before: number;
  reason: string | null;
  proof: string | null;
  tx: string | null;
  block: number | null;
  worker: string | null;
  history: string | null;
  created_at: number;
  updated_at: number;
}

type SqlValue = string | number | null;

function toRow(job: JobRecord): JobRow {
  return {
    id: job.id,
    market: job.market,
    data_timestamp: job.dataTimestamp,
    submit: job.submit ? 1 : 0,
    status: job.status,
    attempts: job.attempts,
    not_before: job.notBefore,
    reason: job.reason,
    proof: toJson(job.update),
    tx: toJson(job.tx),
    block: job.block,
    worker: job.holder,
    history: job.history.length === 0 ? null : JSON.stringify(job.history),
    created_at: job.createdAt,
    updated_at: job.updatedAt,
  };
}

/** The columns a patch sets, keyed by column name; fields left undefined are not changed. */
function patchColumns(patch: JobPatch): Record<string, SqlValue> {
  const columns: Record<string, SqlValue> = {};
  if (patch.status !== undefined) columns.status = patch.status;
  if (patch.attempts !== undefined) columns.attempts = patch.attempts;
  if (patch.notBefore !== undefined) columns.not_before = patch.notBefore;
  if (patch.reason !== undefined) columns.reason = patch.reason;
  if (patch.update !== undefined) columns.proof = toJson(patch.update);
  if (patch.tx !== undefined) columns.tx = toJson(patch.tx);
  if (patch.block !== undefined) columns.block = patch.block;
  if (patch.holder !== undefined) columns.worker = patch.holder;
  if (patch.history !== undefined)
    columns.history = patch.history.length === 0 ? null : JSON.stringify(patch.history);
  return columns;
}

function fromRow(row: JobRow, file: string): JobRecord {
  return {
    id: row.id,
    market: row.market,
    dataTimestamp: row.data_timestamp,
    submit: row.submit === 1,
    status: row.status,
    attempts: row.attempts,
    notBefore: row.not_before,
    reason: row.reason,
    update: fromJson<ProvedJob>(row.proof, file, row.id, "proof"),
    tx: fromJson<SentTransaction>(row.tx, file, row.id, "tx"),
    block: row.block,
    holder: row.worker,
    history: fromJson<JobEvent[]>(row.history, file, row.id, "history") ?? [],
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toJson(value: ProvedJob | SentTransaction | null): string | null {
  return value === null ? null : JSON.stringify(value);
}

function fromJson<T>(text: string | null, file: string, id: string, column: string): T | null {
  if (text === null) return null;
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new JobStoreError(`${file}: job ${id}: column ${column} is not valid JSON`, err);
  }
}

// ---------------------------------------------------------------------------------------------------------

/** `JobStore` on one SQLite file. */
export class SqliteJobStore implements JobStore {
  private readonly updates = new Map<string, Database.Statement<[Record<string, SqlValue>], JobRow>>();
  private readonly selectById;
  private readonly insert;
  private readonly upgradeSubmit;
  private readonly selectDue;
  private readonly selectAllDue;
  private readonly setClaimed;
  private readonly setBacks;
  private readonly selectSent;
  private readonly selectLatest;
  private readonly selectMaxTimestamp;
  private readonly selectCounts;
  private readonly deleteEnded;
  private readonly selectPending;
  private readonly enqueueTx;
  private readonly claimTx;
  private readonly recoverTx;

  private constructor(
    /** The database file. */
    readonly path: string,
    private readonly db: Database.Database,
  ) {
    this.selectById = db.prepare<[string], JobRow>("SELECT * FROM jobs WHERE id = ?");
    this.insert = db.prepare<JobRow>(
      `INSERT INTO jobs (id, market, data_timestamp, submit, status, attempts, not_before, reason, proof, tx,
                         block, worker, history, created_at, updated_at)
       VALUES (@id, @market, @data_timestamp, @submit, @status, @attempts, @not_before, @reason, @proof, @tx,
               @block, @worker, @history, @created_at, @updated_at)
       ON CONFLICT DO NOTHING`,
    );
    this.upgradeSubmit = db.prepare<{ id: string; now: number }, JobRow>(
      `UPDATE jobs SET submit = 1, updated_at = @now,
         not_before = CASE WHEN status IN (${sqlList(DUE_AGAIN_BY_SUBMIT)})
                           THEN MAX(not_before + 1, @now) ELSE not_before END
       WHERE id = @id AND submit = 0 AND status IN (${sqlList(SUBMIT_UPGRADE_FROM)})
       RETURNING *`,
    );
    // Due by `isDueAt` (retry.ts): a due time further ahead than the longest delay is a clock that stepped back.
    this.selectDue = db.prepare<{ now: number }, JobRow>(
      `SELECT * FROM jobs
       WHERE (not_before <= @now OR not_before > @now + ${MAX_RETRY_DELAY_MS}) AND (${SQL_DUE})
       ORDER BY not_before, data_timestamp, created_at, id
       LIMIT 1`,
    );
    this.selectAllDue = db.prepare<{ limit: number }, JobRow>(
      `SELECT * FROM jobs
       WHERE ${SQL_DUE}
       ORDER BY not_before, data_timestamp, created_at, id
       LIMIT @limit`,
    );
    this.setClaimed = db.prepare<{ id: string; status: JobStatus; holder: string; now: number }, JobRow>(
      "UPDATE jobs SET status = @status, worker = @holder, updated_at = @now WHERE id = @id RETURNING *",
    );
    // The attempt a crash cut short counts.
    this.setBacks = SET_BACKS.map((rule) =>
      db.prepare<{ now: number }>(
        `UPDATE jobs SET status = '${rule.to}', attempts = attempts + 1, updated_at = @now
         WHERE status = '${rule.from}'${rule.unlessSent ? " AND tx IS NULL" : ""}`,
      ),
    );
    // What is left in flight has a sent transaction; in nonce order, so that re-broadcasting them in turn
    // leaves no nonce gap.
    this.selectSent = db.prepare<[], JobRow>(
      `SELECT * FROM jobs WHERE status IN (${sqlList(SET_BACKS.map((rule) => rule.from))})
       ORDER BY json_extract(tx, '$.nonce'), data_timestamp, id`,
    );
    this.selectLatest = db.prepare<{ market: string; statuses: string }, JobRow>(
      `SELECT * FROM jobs
       WHERE market = @market AND status IN (SELECT value FROM json_each(@statuses))
       ORDER BY data_timestamp DESC
       LIMIT 1`,
    );
    this.selectMaxTimestamp = db
      .prepare<[string], number>(
        "SELECT coalesce(max(data_timestamp), 0) FROM jobs WHERE market = ? AND submit = 1",
      )
      .pluck();
    this.selectCounts = db.prepare<[], { status: JobStatus; n: number }>(
      "SELECT status, count(*) AS n FROM jobs GROUP BY status",
    );
    // One statement: a job that moved since the cutoff has a newer updated_at and stays.
    this.deleteEnded = db.prepare<[{ before: number }]>(
      `DELETE FROM jobs WHERE updated_at < @before AND (status IN (${sqlList(ENDED_STATUSES)}) OR ` +
        `(submit = 0 AND status IN (${sqlList(ENDED_PROOF_ONLY_STATUSES)})))`,
    );

    // Few rows are pending: the index on (status, not_before) finds them.
    this.selectPending = db
      .prepare<[string], number>(
        `SELECT count(*) FROM jobs WHERE status IN (${sqlList(PENDING_STATUSES)}) AND market = ?`,
      )
      .pluck();

    this.enqueueTx = db.transaction(
      (spec: JobSpec, now: number, maxPending?: number): { job: JobRecord; created: boolean } => {
        const id = jobIdOf(spec.market, spec.dataTimestamp);
        if (maxPending !== undefined && this.selectById.get(id) === undefined) {
          const pending = this.selectPending.get(spec.market)!;
          if (pending >= maxPending) throw new PendingCapError(spec.market, pending, maxPending);
        }
        const fresh: JobRecord = {
          id,
          market: spec.market,
          dataTimestamp: spec.dataTimestamp,
          submit: spec.submit,
          status: INITIAL_STATUS,
          attempts: 0,
          notBefore: now,
          reason: null,
          update: null,
          tx: null,
          block: null,
          holder: null,
          history: [],
          createdAt: now,
          updatedAt: now,
        };
        if (this.insert.run(toRow(fresh)).changes === 1) return { job: fresh, created: true };
        const row =
          (spec.submit ? this.upgradeSubmit.get({ id, now }) : undefined) ?? this.selectById.get(id);
        if (row === undefined || row.market !== spec.market || row.data_timestamp !== spec.dataTimestamp) {
          // Only an 80-bit id collision gets here.
          throw new JobStoreError(
            `${this.path}: job id ${id} of ${spec.market}@${spec.dataTimestamp} is held by another job`,
          );
        }
        return { job: fromRow(row, this.path), created: false };
      },
    );

    this.claimTx = db.transaction((holder: string, now: number): JobRecord | undefined => {
      const due = this.selectDue.get({ now });
      const rule = due && claimRuleOf({ status: due.status, submit: due.submit === 1 });
      if (due === undefined || rule === undefined) return undefined;
      const row = this.setClaimed.get({ id: due.id, status: rule.to, holder, now });
      return row === undefined ? undefined : fromRow(row, this.path);
    });

    this.recoverTx = db.transaction((now: number): JobRecord[] => {
      for (const setBack of this.setBacks) setBack.run({ now });
      return this.selectSent.all().map((row) => fromRow(row, this.path));
    });
  }

  /**
   * Open the store at `path`, creating the file, its parent directories and the schema if missing.
   * Refuses a file that is not a SQLite database, not a job store, or of a newer schema version.
   */
  static open(path: string): SqliteJobStore {
    let db: Database.Database | undefined;
    try {
      mkdirSync(dirname(path), { recursive: true });
      db = new Database(path);
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = FULL");
      migrate(db, path);
      return new SqliteJobStore(path, db);
    } catch (err) {
      db?.close();
      if (err instanceof JobStoreError) throw err;
      throw new JobStoreError(`${path}: cannot open the job store: ${(err as Error).message}`, err);
    }
  }

  async enqueue(
    spec: JobSpec,
    now: number,
    maxPending?: number,
  ): Promise<{ job: JobRecord; created: boolean }> {
    return this.enqueueTx.immediate(spec, now, maxPending);
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const row = this.selectById.get(id);
    return row === undefined ? undefined : fromRow(row, this.path);
  }

  async update(
    id: string,
    patch: JobPatch,
    now: number,
    expect?: readonly JobStatus[],
  ): Promise<JobRecord | undefined> {
    const columns = patchColumns(patch);
    const names = Object.keys(columns);
    const key = names.join(",");
    let statement = this.updates.get(key);
    if (statement === undefined) {
      // Column names come from `patchColumns`, never from the caller; values are bound.
      const sets = [...names.map((name) => `${name} = @${name}`), "updated_at = @now"].join(", ");
      statement = this.db.prepare<[Record<string, SqlValue>], JobRow>(
        `UPDATE jobs SET ${sets}
         WHERE id = @id AND (@expect IS NULL OR status IN (SELECT value FROM json_each(@expect)))
         RETURNING *`,
      );
      this.updates.set(key, statement);
    }
    const row = statement.get({
      ...columns,
      id,
      now,
      expect: expect === undefined ? null : JSON.stringify(expect),
    });
    return row === undefined ? undefined : fromRow(row, this.path);
  }

  async claimNext(holder: string, now: number): Promise<JobRecord | undefined> {
    return this.claimTx.immediate(holder, now);
  }

  async due(limit: number): Promise<JobRecord[]> {
    return this.selectAllDue.all({ limit }).map((row) => fromRow(row, this.path));
  }

  async recoverInFlight(now: number): Promise<JobRecord[]> {
    return this.recoverTx.immediate(now);
  }

  async latest(market: string, statuses: readonly JobStatus[]): Promise<JobRecord | undefined> {
    const row = this.selectLatest.get({ market, statuses: JSON.stringify(statuses) });
    return row === undefined ? undefined : fromRow(row, this.path);
  }

  async maxSubmitTimestamp(market: string): Promise<number> {
    return this.selectMaxTimestamp.get(market) ?? 0;
  }

  async counts(): Promise<Record<JobStatus, number>> {
    const counts = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
    for (const { status, n } of this.selectCounts.all()) counts[status] = n;
    return counts;
  }

  async prune(before: number): Promise<number> {
    if (!Number.isSafeInteger(before))
      throw new JobStoreError(`prune: before must be an integer (ms), not ${before}`);
    return this.deleteEnded.run({ before }).changes;
  }

  async close(): Promise<void> {
    if (this.owner) {
      clearInterval(this.owner.timer);
      this.releaseService(this.owner.holder);
      // Last: the claim is gone before another start may take the lock.
      this.owner.lock.close();
      this.owner = undefined;
    }
    this.db.close();
  }

  private owner: { holder: string; timer: NodeJS.Timeout; lock: Database.Database } | undefined;

  /**
   * Record `me` as the one service process using this file (the embedded store serves one service; several
   * share jobs over Redis), and hold the file's owner lock (`ownerLockPath`) until `close`.
   *
   * Whether the current holder lives is the lock's to say, not its name, pid or heartbeat: the lock is an
   * exclusive SQLite (fcntl) lock the holder's process keeps, which the kernel releases when that process ends
   * however it ends (`kill -9`, OOM kill, a container stopped), in whatever PID namespace or container it ran.
   * WAL mode already requires every process on the file to run under one kernel (SQLite's WAL does not work over
   * a network file system), so every process that may use the file sees the lock. Hence: a held lock is a live
   * holder, refused whatever its heartbeat (a stalled process is still running); a free lock is a dead holder,
   * taken over at once (a restart after `kill -9` does not wait). A claim written by a zkrisk that took no lock
   * (a holder without a start id, `host:pid`) is honoured until its heartbeat is older than `staleMs`.
   *
   * The heartbeat is renewed every `staleMs / 6` until `close`, which gives the claim up. A renewal that fails
   * (the file locked past `BUSY_TIMEOUT_MS`, a full disk) is told to `onProblem` and tried again at the next
   * beat (a timer's error would otherwise end the process without its graceful stop); one that finds the claim
   * taken by another holder is told once, as `lost`, and the beats stop: the claim does not come back.
   * @param me.holder this start's holder (`host:pid:start-id`, unique to the start); `host` and `pid` name it
   *   in messages.
   * @throws JobStoreError naming the live holder (`host:pid`) and its heartbeat's age.
   */
  claimService(
    me: { holder: string; host: string; pid: number },
    now: number,
    staleMs: number,
    onProblem: (problem: HeartbeatProblem) => void = () => undefined,
  ): void {
    this.db.exec(OWNER_TABLE);
    const current = () => this.db.prepare<[], OwnerRow>("SELECT * FROM service_owner WHERE id = 1").get();
    const refuse = (row: OwnerRow | undefined): never => {
      const who =
        row === undefined
          ? "another zkrisk serve (starting)"
          : `zkrisk serve ${row.host}:${row.pid} (heartbeat ${Math.round((now - row.heartbeat) / 1000)} s ago)`;
      throw new JobStoreError(
        `${this.path}: already used by ${who}; the embedded store serves one process: give each its own ` +
          "database, or share jobs with --queue redis://...",
      );
    };
    const lock = takeOwnerLock(ownerLockPath(this.path));
    if (lock === undefined) return refuse(current());
    try {
      this.db
        .transaction(() => {
          const row = current();
          if (
            row &&
            row.worker !== me.holder &&
            isLegacyHolder(row.worker) &&
            now - row.heartbeat < staleMs
          ) {
            refuse(row);
          }
          this.db
            .prepare(
              `INSERT INTO service_owner (id, worker, host, pid, heartbeat) VALUES (1, @holder, @host, @pid, @now)
             ON CONFLICT (id) DO UPDATE SET worker = @holder, host = @host, pid = @pid, heartbeat = @now`,
            )
            .run({ ...me, now });
        })
        .immediate();
    } catch (err) {
      lock.close();
      throw err;
    }
    const beat = (): void => {
      try {
        if (this.heartbeat(me.holder, Date.now())) return;
        clearInterval(timer);
        onProblem({ lost: true });
      } catch (err) {
        onProblem({ lost: false, error: err as Error });
      }
    };
    const timer = setInterval(beat, Math.max(10, staleMs / 6));
    timer.unref();
    this.owner = { holder: me.holder, timer, lock };
  }

  /** Renew the heartbeat of `holder`'s claim; false if another process holds the file now. */
  heartbeat(holder: string, now: number): boolean {
    return (
      this.db.prepare("UPDATE service_owner SET heartbeat = ? WHERE id = 1 AND worker = ?").run(now, holder)
        .changes === 1
    );
  }

  /** Give up `holder`'s claim (a clean stop). */
  releaseService(holder: string): void {
    this.db.prepare("DELETE FROM service_owner WHERE id = 1 AND worker = ?").run(holder);
  }
}

/** The owner lock file of the database at `path`: empty, kept beside it as its `-wal` and `-shm` are. */
export function ownerLockPath(path: string): string {
  return `${path}-owner`;
}

/**
 * Take the exclusive lock of the owner lock file without waiting: the open connection holding it, or undefined
 * when another live process holds it.
 * @throws JobStoreError when the file cannot be opened or locked for another reason.
 */
function takeOwnerLock(path: string): Database.Database | undefined {
  let lock: Database.Database | undefined;
  try {
    lock = new Database(path, { timeout: 0 });
    // Never committed: the lock lasts as long as the connection, that is the process at most.
    lock.exec("BEGIN EXCLUSIVE");
    return lock;
  } catch (err) {
    lock?.close();
    if ((err as { code?: unknown }).code === "SQLITE_BUSY") return undefined;
    throw new JobStoreError(
      `${path}: cannot take the job store's owner lock: ${(err as Error).message}`,
      err,
    );
  }
}

/** Whether a claim's holder is `host:pid` alone: written by a zkrisk that judged holders by pid and took no lock. */
function isLegacyHolder(worker: string): boolean {
  return /^[^:]*:\d+$/.test(worker);
}

/** A heartbeat of `claimService` that did not renew the claim: it failed (`error`), or another holder has it. */
export interface HeartbeatProblem {
  /** Another process holds the file now; told once, after which the claim is no longer renewed. */
  lost: boolean;
  /** Why the renewal failed, when it did. */
  error?: Error;
}

/**
 * The service process holding the file (one row; `worker` is its holder, `host:pid:start-id`); outside the
 * versioned schema, created on first claim.
 */
const OWNER_TABLE = `CREATE TABLE IF NOT EXISTS service_owner (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  worker TEXT NOT NULL,
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  heartbeat INTEGER NOT NULL
) STRICT`;

interface OwnerRow {
  worker: string;
  host: string;
  pid: number;
  heartbeat: number;
}

/** Create the schema in a new file, bring a file of version 1 to 2, accept the current version, refuse a newer one. */
function migrate(db: Database.Database, path: string): void {
  db.transaction(() => {
    const version = db.pragma("user_version", { simple: true }) as number;
    if (version === SCHEMA_VERSION) return;
    if (version > SCHEMA_VERSION) {
      throw new JobStoreError(
        `${path}: job store schema version ${version} is newer than this zkrisk supports (${SCHEMA_VERSION}); ` +
          "upgrade zkrisk or use another file",
      );
    }
    if (version === 0) {
      const objects = db.prepare<[], number>("SELECT count(*) FROM sqlite_master").pluck().get() ?? 0;
      if (objects > 0)
        throw new JobStoreError(`${path}: not a zkrisk job store (it has tables but no schema version)`);
      db.exec(SCHEMA_V1);
    }
    // version 1 -> 2: the history column (a file of version 1 keeps its jobs, each with no history)
    db.exec(MIGRATION_V2);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}
