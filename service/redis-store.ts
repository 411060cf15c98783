/**
 * The job store on Redis: shared by the prover services of several machines (`--queue redis://...`).
 *
 * Layout, under a prefix `P` (default "zkrisk"), one store per prefix:
 *   P:schema                      layout version (`REDIS_SCHEMA_VERSION`); another version is refused
 *   P:deployment                  the deployment whose jobs the store holds (`DeploymentIdentity`, JSON): set
 *                                 by the first process to start on it; a process of another one is refused
 *   P:job:{id}                    hash: every `JobRecord` field (numbers in decimal, `submit` "0"/"1",
 *                                 `update` in field `proof` and `tx` as JSON, `holder` in field `worker`;
 *                                 a null field is absent), plus `order` (below)
 *   P:market:{market}             sorted set: the market's job ids, scored by data timestamp
 *   P:latest:{status}:{market}    sorted set: the market's job ids in that status, scored by data timestamp
 *   P:status:{status}             set: the ids of the jobs in that status (counts, crash recovery)
 *   P:due                         sorted set: the jobs `claimNext` may take (queued; proved with submit),
 *                                 scored by notBefore; a member is the job's `order`: data timestamp, creation
 *                                 time and id, encoded so that bytewise order is claim order among equal scores
 *
 * Atomicity: every change of a job is one Lua script (lua/*.lua) on that job's keys, so it is atomic across
 * all the processes sharing the server, and two of them never claim the same job; `claimNext`,
 * `recoverInFlight` and `latest` look first, then act on one job and look again if it moved meanwhile.
 * Scripts get every key in KEYS (the job's keys are found from its id and market, which never changes); on a
 * Redis Cluster, give a hash-tagged prefix (e.g. "{zkrisk}") so all keys share one slot.
 *
 * Durability is the server's: a method that has returned is in Redis's memory, and survives a Redis restart
 * only if the server persists it (`appendonly yes`; `appendfsync always` to lose nothing on a power cut).
 */
import { Redis } from "ioredis";
import type { Logger } from "pino";

import {
  CLAIMS,
  INITIAL_STATUS,
  isDue,
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
import { loadLuaScript } from "./lua-scripts";
import { MAX_RETRY_DELAY_MS } from "./retry";
import { redactUrl } from "../core/url";

/** Version of the key layout, kept in `{prefix}:schema`; a prefix holding another version is refused. */
export const REDIS_SCHEMA_VERSION = 1;

/** How long `RedisJobStore.open` waits for the server to accept the connection, ms. */
export const CONNECT_TIMEOUT_MS = 5_000;

/** Options of `RedisJobStore.open`. */
export interface RedisStoreOptions {
  /** First component of every key; stores with different prefixes share nothing. Default "zkrisk". */
  prefix?: string;
  /**
   * Where the connection's errors go once it is open (`RedisErrorLog`: at a bounded rate); without one they are
   * dropped, and surface as the failing calls' errors.
   */
  log?: Logger;
}

/** Least time between two logged errors of one `RedisErrorLog`, ms: an outage costs a line per 30 s. */
export const REDIS_ERROR_LOG_INTERVAL_MS = 30_000;

/** What `RedisErrorLog.watch` listens to: an ioredis client, or a BullMQ queue or worker (errors only). */
interface ErrorEmitter {
  on(event: "error", listener: (err: Error) => void): unknown;
  on(event: "ready", listener: () => void): unknown;
}

/**
 * The errors of a process's Redis connections, logged at a bounded rate. ioredis emits an error at every failed
 * reconnection attempt (several a second while the server is down), and prints a connection's errors to stderr,
 * as plain text, when it has no listener: every connection gets this one for its whole life. The first error is
 * logged at once; later ones at most once per `intervalMs`, with the number left unlogged since; a connection that
 * is ready again after errors says so once.
 */
export class RedisErrorLog {
  private lastLogged = -Infinity;
  private unlogged = 0;

  constructor(
    private readonly log: Logger,
    private readonly intervalMs = REDIS_ERROR_LOG_INTERVAL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Log `emitter`'s errors from now on, as those of `connection` (e.g. "store", "queue"); with `ready`, also the
   * connection's return after errors (an ioredis client: BullMQ's queues and workers emit no "ready").
   */
  watch(emitter: ErrorEmitter, connection: string, ready = true): void {
    let failing = false;
    emitter.on("error", (err: Error) => {
      failing = true;
      this.error(connection, err);
    });
    if (!ready) return;
    emitter.on("ready", () => {
      if (!failing) return;
      failing = false;
      this.log.info({ connection }, "redis connection ready again");
    });
  }

  private error(connection: string, err: Error): void {
    const now = this.now();
    if (now - this.lastLogged < this.intervalMs) {
      this.unlogged++;
      return;
    }
    this.log.warn(
      { connection, err: err.message, unlogged: this.unlogged },
      `redis connection error (at most one line per ${Math.round(this.intervalMs / 1000)} s)`,
    );
    this.lastLogged = now;
    this.unlogged = 0;
  }
}

/**
 * What the processes sharing a job store must agree on, recorded in the store by the first to start: the jobs
 * are bound to it. A job is a market's bar (its id is the hash of both), proved with the market's model for one
 * chain and oracle (the proof's domain): a process of another chain, oracle, market set or model would take jobs
 * proved for the others, or leave its own to processes that cannot run them. What only shapes one process
 * (concurrency, listen address, API limits, publisher URLs, RPC URL, gas and retry settings, lock and lease) may
 * differ.
 */
export interface DeploymentIdentity {
  /** Chain id, decimal. */
  chainId: string;
  /** Oracle address, EIP-55. */
  oracle: string;
  /** Each single market's model commitment (decimal), by label. */
  markets: Record<string, string>;
  /** Each batch's markets with their model commitments (decimal), by label. */
  batches: Record<string, Record<string, string>>;
}

/** The identity as stored: JSON with keys in order, so that equal identities are equal strings. */
function canonicalJson(identity: DeploymentIdentity): string {
  const sorted = (record: Record<string, string>) =>
    Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return JSON.stringify({
    chainId: identity.chainId,
    oracle: identity.oracle,
    markets: sorted(identity.markets),
    batches: Object.fromEntries(
      Object.entries(identity.batches)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([id, markets]) => [id, sorted(markets)]),
    ),
  });
}

/**
 * How `stored` (the store's) and `mine` (this process's) differ, one phrase each naming both values; empty when
 * they agree.
 */
export function deploymentDifferences(stored: DeploymentIdentity, mine: DeploymentIdentity): string[] {
  const out: string[] = [];
  if (stored.chainId !== mine.chainId)
    out.push(`chain id ${stored.chainId} in the store, ${mine.chainId} here`);
  if (stored.oracle !== mine.oracle) out.push(`oracle ${stored.oracle} in the store, ${mine.oracle} here`);
  const compare = (what: string, a: Record<string, string>, b: Record<string, string>) => {
    for (const id of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (!(id in b)) out.push(`${what} ${id} only in the store`);
      else if (!(id in a)) out.push(`${what} ${id} only here`);
      else if (a[id] !== b[id]) out.push(`${what} ${id}: model ${a[id]} in the store, ${b[id]} here`);
    }
  };
  compare("market", stored.markets, mine.markets);
  for (const id of new Set([...Object.keys(stored.batches), ...Object.keys(mine.batches)])) {
    if (!(id in mine.batches)) out.push(`batch ${id} only in the store`);
    else if (!(id in stored.batches)) out.push(`batch ${id} only here`);
    else compare(`batch ${id} market`, stored.batches[id], mine.batches[id]);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Hash <-> JobRecord: the only place that knows the field encodings.

/** Characters of one `sortable` number. */
const SORTABLE_WIDTH = 17;
const TWO_POW_53 = 2 ** 53;

/**
 * A safe integer as 17 characters whose bytewise order is numeric order: "1" and 16 digits for n >= 0,
 * "0" and the 16 digits of n + 2^53 (in [1, 2^53)) for n < 0.
 */
function sortable(n: number): string {
  return n >= 0 ? "1" + String(n).padStart(16, "0") : "0" + String(n + TWO_POW_53).padStart(16, "0");
}

/** Where the id starts in a `P:due` member. */
const ORDER_ID_AT = 2 * SORTABLE_WIDTH;

/** The `P:due` member of a job: claim order among jobs of equal notBefore, then the id (from char 35). */
function orderOf(dataTimestamp: number, createdAt: number, id: string): string {
  return sortable(dataTimestamp) + sortable(createdAt) + id;
}

/** Hash fields a patch sets (encoded) and the nullable fields it clears. */
function patchFields(patch: JobPatch): { set: string[]; clear: string[] } {
  const set: string[] = [];
  const clear: string[] = [];
  const put = (field: string, value: string | null) => {
    if (value === null) clear.push(field);
    else set.push(field, value);
  };
  if (patch.status !== undefined) put("status", checkStatus(patch.status));
  if (patch.attempts !== undefined) put("attempts", String(checkInteger("attempts", patch.attempts, 0)));
  if (patch.notBefore !== undefined) put("notBefore", String(checkInteger("notBefore", patch.notBefore)));
  if (patch.reason !== undefined) put("reason", patch.reason);
  if (patch.update !== undefined) put("proof", toJson(patch.update));
  if (patch.tx !== undefined) put("tx", toJson(patch.tx));
  if (patch.block !== undefined)
    put("block", patch.block === null ? null : String(checkInteger("block", patch.block)));
  if (patch.holder !== undefined) put("worker", patch.holder);
  // an empty history is no field (jobs written before the field existed read the same)
  if (patch.history !== undefined)
    put("history", patch.history.length === 0 ? null : JSON.stringify(patch.history));
  return { set, clear };
}

function checkInteger(name: string, value: number, min = -Number.MAX_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new JobStoreError(
      `${name} must be an integer${min === 0 ? " >= 0" : ""}, got ${String(value)} (${typeof value})`,
    );
  }
  return value;
}

function checkStatus(status: string): JobStatus {
  if (!(JOB_STATUSES as readonly string[]).includes(status)) {
    throw new JobStoreError(
      `status must be one of ${JOB_STATUSES.join(", ")}, got ${JSON.stringify(status)}`,
    );
  }
  return status as JobStatus;
}

function toJson(value: ProvedJob | SentTransaction | null): string | null {
  return value === null ? null : JSON.stringify(value);
}

/** A flat [field, value, field, value, ...] reply (HGETALL inside a script) as an object. */
function pairs(flat: readonly string[]): Record<string, string> {
  const hash: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) hash[flat[i]] = flat[i + 1];
  return hash;
}

/** Decode a job hash; `where` names the server and key in errors. */
function fromHash(hash: Record<string, string>, where: string): JobRecord {
  const text = (field: string): string => {
    const value = hash[field];
    if (value === undefined) throw new JobStoreError(`${where}: field ${field} is missing`);
    return value;
  };
  const int = (field: string): number => {
    const value = Number(text(field));
    if (!Number.isSafeInteger(value)) {
      throw new JobStoreError(`${where}: field ${field} is not an integer: ${JSON.stringify(hash[field])}`);
    }
    return value;
  };
  const json = <T>(field: string): T | null => {
    const value = hash[field];
    if (value === undefined) return null;
    try {
      return JSON.parse(value) as T;
    } catch (err) {
      throw new JobStoreError(`${where}: field ${field} is not valid JSON`, err);
    }
  };
  const status = text("status");
  if (!(JOB_STATUSES as readonly string[]).includes(status)) {
    throw new JobStoreError(`${where}: field status is not a job status: ${JSON.stringify(status)}`);
  }
  return {
    id: text("id"),
    market: text("market"),
    dataTimestamp: int("dataTimestamp"),
    submit: text("submit") === "1",
    status: status as JobStatus,
    attempts: int("attempts"),
    notBefore: int("notBefore"),
    reason: hash.reason ?? null,
    update: json<ProvedJob>("proof"),
    tx: json<SentTransaction>("tx"),
    block: hash.block === undefined ? null : int("block"),
    holder: hash.worker ?? null,
    history: json<JobEvent[]>("history") ?? [],
    createdAt: int("createdAt"),
    updatedAt: int("updatedAt"),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Lua scripts (lua/*.lua). The job scripts take the keys of one job (`jobKeys`) and the state machine of
// job-states.ts as ARGV[1], from which they keep a job's index entries in step with its hash.

/** The state machine, as the job scripts read it (includes/job-index.lua). */
const MACHINE = JSON.stringify({
  statuses: JOB_STATUSES,
  initial: INITIAL_STATUS,
  claims: CLAIMS,
  setBacks: SET_BACKS,
  submitUpgradeFrom: SUBMIT_UPGRADE_FROM,
  dueAgainBySubmit: DUE_AGAIN_BY_SUBMIT,
  pending: PENDING_STATUSES,
});

/** Members of a status set read per step of `prune`. */
const PRUNE_PAGE = 500;

/** Number of keys of one job: its hash, the due set, the market's set, and two per status. */
const JOB_KEY_COUNT = 3 + 2 * JOB_STATUSES.length;

const SCRIPTS = {
  zkriskEnqueue: loadLuaScript(`enqueue-${JOB_KEY_COUNT}.lua`),
  zkriskUpdate: loadLuaScript(`update-${JOB_KEY_COUNT}.lua`),
  zkriskClaim: loadLuaScript(`claim-${JOB_KEY_COUNT}.lua`),
  zkriskRecover: loadLuaScript(`recover-${JOB_KEY_COUNT}.lua`),
  zkriskPrune: loadLuaScript(`prune-${JOB_KEY_COUNT}.lua`),
  zkriskSchema: loadLuaScript("schema-1.lua"),
  zkriskDeployment: loadLuaScript("deployment-1.lua"),
};

/** The scripts, as `defineCommand` adds them to the client (keys first, then ARGV). */
interface ScriptCommands {
  zkriskEnqueue(...keysAndArgs: string[]): Promise<[number, string[]]>;
  zkriskUpdate(...keysAndArgs: string[]): Promise<string[] | null>;
  zkriskClaim(...keysAndArgs: string[]): Promise<string[] | null>;
  zkriskRecover(...keysAndArgs: string[]): Promise<[number, string[]] | null>;
  zkriskPrune(...keysAndArgs: string[]): Promise<number>;
  zkriskSchema(key: string, version: string): Promise<string>;
  zkriskDeployment(key: string, identity: string): Promise<string>;
}

// ---------------------------------------------------------------------------------------------------------

/** `JobStore` on a Redis server, shared by every process that opens it with the same URL and prefix. */
export class RedisJobStore implements JobStore {
  private readonly scripts: ScriptCommands;
  /** `url` without its password. */
  private readonly where: string;

  private constructor(
    /** The server URL as given (it may hold a password: log `redactUrl(url)`). */
    readonly url: string,
    /** The connection; reuse `client.options` (or `client.duplicate()`) to open others to the same server. */
    readonly client: Redis,
    /** First component of every key. */
    readonly prefix: string,
  ) {
    this.where = redactUrl(url);
    for (const [command, script] of Object.entries(SCRIPTS)) {
      client.defineCommand(command, { numberOfKeys: script.numberOfKeys, lua: script.lua });
    }
    this.scripts = client as unknown as ScriptCommands;
  }

  /**
   * Connect to the Redis server at `url` (`redis://[user:password@]host[:port][/db]`, or `rediss://` for
   * TLS) and use the keys under `opts.prefix`. Fails within `CONNECT_TIMEOUT_MS` when the server cannot be
   * reached, and refuses a prefix holding another key layout version.
   */
  static async open(url: string, opts: RedisStoreOptions = {}): Promise<RedisJobStore> {
    const prefix = opts.prefix ?? "zkrisk";
    const where = redactUrl(url);
    let protocol: string;
    try {
      protocol = new URL(url).protocol;
    } catch {
      protocol = "";
    }
    if (protocol !== "redis:" && protocol !== "rediss:") {
      throw new JobStoreError(`Redis URL must be redis://host:port or rediss://host:port, got ${where}`);
    }
    if (prefix === "") throw new JobStoreError("Redis key prefix must not be empty");

    const client = new Redis(url, { lazyConnect: true, connectTimeout: CONNECT_TIMEOUT_MS });
    // Until connected, keep the cause (connect() itself only rejects with "Connection is closed.").
    let cause: Error | undefined;
    const onError = (err: Error) => (cause ??= err);
    client.on("error", onError);
    try {
      await client.connect();
    } catch (err) {
      client.disconnect();
      const reason = cause ?? (err as Error);
      throw new JobStoreError(`${where}: cannot connect to Redis: ${reason.message}`, reason);
    } finally {
      client.off("error", onError);
      // From now on for good: without a listener, ioredis prints every reconnection's error to stderr.
      if (opts.log) new RedisErrorLog(opts.log).watch(client, "store");
      else client.on("error", () => undefined);
    }

    try {
      const store = new RedisJobStore(url, client, prefix);
      const stored = await store.scripts.zkriskSchema(`${prefix}:schema`, String(REDIS_SCHEMA_VERSION));
      if (stored !== String(REDIS_SCHEMA_VERSION)) {
        throw new JobStoreError(
          /^\d+$/.test(stored) && Number(stored) > REDIS_SCHEMA_VERSION
            ? `${where}: job store ${prefix} has key layout version ${stored}, newer than this zkrisk supports ` +
                `(${REDIS_SCHEMA_VERSION}); upgrade zkrisk or use another prefix`
            : `${where}: ${prefix}:schema holds ${JSON.stringify(stored)}: not a zkrisk job store`,
        );
      }
      return store;
    } catch (err) {
      client.disconnect();
      if (err instanceof JobStoreError) throw err;
      throw new JobStoreError(
        `${where}: cannot open the job store ${prefix}: ${(err as Error).message}`,
        err,
      );
    }
  }

  /**
   * Record `identity` as the deployment whose jobs this store holds, unless one is recorded already.
   * @returns the identity the store held before, when it is another (see `deploymentDifferences`); undefined when
   *   the store now holds `identity`.
   * @throws JobStoreError when the recorded one cannot be read.
   */
  async recordDeployment(identity: DeploymentIdentity): Promise<DeploymentIdentity | undefined> {
    const mine = canonicalJson(identity);
    const key = `${this.prefix}:deployment`;
    const stored = await this.scripts.zkriskDeployment(key, mine);
    if (stored === mine) return undefined;
    try {
      const other = JSON.parse(stored) as DeploymentIdentity;
      // Recorded by a process whose identity lists them in another order (or by hand): the same deployment.
      return canonicalJson(other) === mine ? undefined : other;
    } catch (err) {
      throw new JobStoreError(`${this.where}: ${key} holds ${JSON.stringify(stored)}: not a deployment`, err);
    }
  }

  async enqueue(
    spec: JobSpec,
    now: number,
    maxPending?: number,
  ): Promise<{ job: JobRecord; created: boolean }> {
    const dataTimestamp = checkInteger("dataTimestamp", spec.dataTimestamp);
    checkInteger("now", now);
    if (maxPending !== undefined) checkInteger("maxPending", maxPending);
    const id = jobIdOf(spec.market, dataTimestamp);
    const [created, flat] = await this.scripts.zkriskEnqueue(
      ...this.jobKeys(id, spec.market),
      MACHINE,
      spec.market,
      id,
      String(dataTimestamp),
      spec.submit ? "1" : "0",
      String(now),
      orderOf(dataTimestamp, now, id),
      maxPending === undefined ? "" : String(maxPending),
    );
    if (created === -2) throw new PendingCapError(spec.market, Number(flat[0]), maxPending!);
    if (created === -1) {
      // Only an 80-bit id collision gets here.
      throw new JobStoreError(
        `${this.where}: job id ${id} of ${spec.market}@${dataTimestamp} is held by another job`,
      );
    }
    return { job: this.decode(id, flat), created: created === 1 };
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const hash = await this.client.hgetall(this.jobKey(id));
    return Object.keys(hash).length === 0 ? undefined : fromHash(hash, `${this.where} ${this.jobKey(id)}`);
  }

  async update(
    id: string,
    patch: JobPatch,
    now: number,
    expect?: readonly JobStatus[],
  ): Promise<JobRecord | undefined> {
    checkInteger("now", now);
    const { set, clear } = patchFields(patch);
    const market = await this.marketOf(id);
    if (market === null) return undefined;
    const flat = await this.scripts.zkriskUpdate(
      ...this.jobKeys(id, market),
      MACHINE,
      market,
      String(now),
      expect === undefined ? "" : JSON.stringify(expect),
      JSON.stringify(clear),
      ...set,
    );
    return flat === null ? undefined : this.decode(id, flat);
  }

  async claimNext(holder: string, now: number): Promise<JobRecord | undefined> {
    checkInteger("now", now);
    for (;;) {
      // Due by `isDueAt` (retry.ts): its time has passed, or lies further ahead than the longest delay (a clock
      // that stepped back).
      const [member] = [
        ...(await this.client.zrangebyscore(this.dueKey(), "-inf", now, "LIMIT", 0, 1)),
        ...(await this.client.zrangebyscore(
          this.dueKey(),
          `(${now + MAX_RETRY_DELAY_MS}`,
          "+inf",
          "LIMIT",
          0,
          1,
        )),
      ];
      if (member === undefined) return undefined;
      const id = member.slice(ORDER_ID_AT);
      const market = await this.marketOf(id);
      if (market === null) {
        await this.client.zrem(this.dueKey(), member); // an entry without its job: nothing to claim
        continue;
      }
      const flat = await this.scripts.zkriskClaim(
        ...this.jobKeys(id, market),
        MACHINE,
        market,
        member,
        holder,
        String(now),
        String(MAX_RETRY_DELAY_MS),
      );
      if (flat !== null) return this.decode(id, flat);
      // Taken by another process (or no longer due) between the look and the claim: look again.
    }
  }

  async due(limit: number): Promise<JobRecord[]> {
    const members = await this.client.zrangebyscore(this.dueKey(), "-inf", "+inf", "LIMIT", 0, limit);
    const jobs: JobRecord[] = [];
    for (const member of members) {
      const job = await this.get(member.slice(ORDER_ID_AT));
      // claimed or set back meanwhile: what is due now is found at the next look
      if (job !== undefined && isDue(job)) jobs.push(job);
    }
    return jobs;
  }

  async recoverInFlight(now: number): Promise<JobRecord[]> {
    checkInteger("now", now);
    const ids = await this.client.sunion(...SET_BACKS.map((rule) => this.statusKey(rule.from)));
    const pending: JobRecord[] = [];
    for (const id of ids) {
      const market = await this.marketOf(id);
      if (market === null) continue;
      const reply = await this.scripts.zkriskRecover(
        ...this.jobKeys(id, market),
        MACHINE,
        market,
        String(now),
      );
      if (reply !== null && reply[0] === 0) pending.push(this.decode(id, reply[1]));
    }
    // In nonce order, so that re-broadcasting them in turn leaves no nonce gap.
    return pending.sort(
      (a, b) =>
        (a.tx?.nonce ?? 0) - (b.tx?.nonce ?? 0) ||
        a.dataTimestamp - b.dataTimestamp ||
        (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    );
  }

  async latest(market: string, statuses: readonly JobStatus[]): Promise<JobRecord | undefined> {
    if (statuses.length === 0) return undefined;
    for (;;) {
      const multi = this.client.multi();
      for (const status of statuses) multi.zrevrange(this.latestKey(status, market), 0, 0, "WITHSCORES");
      let best: { id: string; dataTimestamp: number } | undefined;
      for (const [err, top] of (await multi.exec()) ?? []) {
        if (err) throw new JobStoreError(`${this.where}: cannot read the latest jobs of ${market}`, err);
        const [id, score] = top as string[];
        if (id !== undefined && (best === undefined || Number(score) > best.dataTimestamp)) {
          best = { id, dataTimestamp: Number(score) };
        }
      }
      if (best === undefined) return undefined;
      const job = await this.get(best.id);
      if (job && statuses.includes(job.status)) return job;
      // The job changed status between the look and the read: look again.
    }
  }

  async maxSubmitTimestamp(market: string): Promise<number> {
    // Newest first, a page at a time: proof-only jobs are few, so the first page nearly always has the answer.
    const page = 16;
    for (let from = 0; ; from += page) {
      const top = await this.client.zrevrange(this.marketKey(market), from, from + page - 1, "WITHSCORES");
      if (top.length === 0) return 0;
      const multi = this.client.multi();
      for (let i = 0; i < top.length; i += 2) multi.hget(this.jobKey(top[i]), "submit");
      const replies = (await multi.exec()) ?? [];
      for (let i = 0; i < top.length; i += 2) {
        const [err, submit] = replies[i / 2] ?? [new Error("no reply"), null];
        if (err) throw new JobStoreError(`${this.where}: cannot read job ${top[i]}: ${err.message}`, err);
        if (submit === "1") return Number(top[i + 1]);
      }
    }
  }

  async counts(): Promise<Record<JobStatus, number>> {
    const multi = this.client.multi();
    for (const status of JOB_STATUSES) multi.scard(this.statusKey(status));
    const replies = (await multi.exec()) ?? [];
    const counts = {} as Record<JobStatus, number>;
    JOB_STATUSES.forEach((status, i) => {
      const [err, n] = replies[i] ?? [new Error("no reply"), 0];
      if (err) throw new JobStoreError(`${this.where}: cannot count ${status} jobs: ${err.message}`, err);
      counts[status] = Number(n);
    });
    return counts;
  }

  async prune(before: number): Promise<number> {
    checkInteger("before", before);
    const ended = JSON.stringify(ENDED_STATUSES);
    const endedProofOnly = JSON.stringify(ENDED_PROOF_ONLY_STATUSES);
    let removed = 0;
    for (const status of [...ENDED_STATUSES, ...ENDED_PROOF_ONLY_STATUSES]) {
      // A page of a status set at a time; jobs deleted meanwhile do not disturb the scan (SSCAN returns every member
      // present from its start to its end).
      let cursor = "0";
      do {
        const [next, ids] = await this.client.sscan(this.statusKey(status), cursor, "COUNT", PRUNE_PAGE);
        cursor = next;
        const multi = this.client.multi();
        for (const id of ids) multi.hmget(this.jobKey(id), "market", "updatedAt");
        const replies = (await multi.exec()) ?? [];
        for (const [i, id] of ids.entries()) {
          const [err, fields] = replies[i] ?? [new Error("no reply"), null];
          if (err) throw new JobStoreError(`${this.where}: cannot read job ${id}: ${err.message}`, err);
          const [market, updatedAt] = fields as [string | null, string | null];
          // Only a candidate: the script tests again, atomically, with the job's own fields.
          if (market === null || updatedAt === null || Number(updatedAt) >= before) continue;
          removed += await this.scripts.zkriskPrune(
            ...this.jobKeys(id, market),
            MACHINE,
            market,
            String(before),
            ended,
            endedProofOnly,
          );
        }
      } while (cursor !== "0");
    }
    return removed;
  }

  /** Quit the connection (after its pending commands). Closing twice is harmless. */
  async close(): Promise<void> {
    if (this.client.status === "end") return;
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect(); // not connected: nothing to flush
    }
  }

  private jobKey(id: string): string {
    return `${this.prefix}:job:${id}`;
  }

  private dueKey(): string {
    return `${this.prefix}:due`;
  }

  private marketKey(market: string): string {
    return `${this.prefix}:market:${market}`;
  }

  private statusKey(status: JobStatus): string {
    return `${this.prefix}:status:${status}`;
  }

  private latestKey(status: JobStatus, market: string): string {
    return `${this.prefix}:latest:${status}:${market}`;
  }

  /** The keys a job script takes (KEYS of lua/includes/job-index.lua), `JOB_KEY_COUNT` of them. */
  private jobKeys(id: string, market: string): string[] {
    return [
      this.jobKey(id),
      this.dueKey(),
      this.marketKey(market),
      ...JOB_STATUSES.map((status) => this.statusKey(status)),
      ...JOB_STATUSES.map((status) => this.latestKey(status, market)),
    ];
  }

  /** The market of a job (it never changes), or null when there is no such job. */
  private marketOf(id: string): Promise<string | null> {
    return this.client.hget(this.jobKey(id), "market");
  }

  /** A job hash returned by a script; `id` names the job in errors when the hash lacks it. */
  private decode(id: string, flat: readonly string[]): JobRecord {
    const hash = pairs(flat);
    return fromHash(hash, `${this.where} ${this.jobKey(hash.id ?? id)}`);
  }
}
