/**
 * The job store on Redis: shared by the prover services of several machines (`--queue redis://...`).
 *
 * Layout, under a prefix `P` (default "zkrisk"), one store per prefix:
 *   P:schema                      layout version (`REDIS_SCHEMA_VERSION`); another version is refused
 *   P:job:{id}                    hash: every `JobRecord` field (numbers in decimal, `submit` "0"/"1",
 *                                 `proof` and `tx` as JSON; a null field is absent), plus `order` (below)
 *   P:market:{market}             sorted set: the market's job ids, scored by data timestamp
 *   P:latest:{status}:{market}    sorted set: the market's job ids in that status, scored by data timestamp
 *   P:status:{status}             set: the ids of the jobs in that status (counts, crash recovery)
 *   P:due                         sorted set: the jobs `claimNext` may take (queued; proved with submit),
 *                                 scored by notBefore; a member is the job's `order`: data timestamp, creation
 *                                 time and id, encoded so that bytewise order is claim order among equal scores
 *
 * Atomicity: every method is one Redis command, one MULTI, or one Lua script, so each is atomic across all
 * the processes sharing the server, and two of them never claim the same job. Scripts build key names from
 * the prefix; on a Redis Cluster, give a hash-tagged prefix (e.g. "{zkrisk}") so all keys share one slot.
 *
 * Durability is the server's: a method that has returned is in Redis's memory, and survives a Redis restart
 * only if the server persists it (`appendonly yes`; `appendfsync always` to lose nothing on a power cut).
 */
import { Redis } from "ioredis";
import type { ProvedUpdate } from "../prove-update";
import {
  JOB_STATUSES,
  jobIdOf,
  JobStoreError,
  type JobPatch,
  type JobRecord,
  type JobSpec,
  type JobStatus,
  type JobStore,
  type SentTransaction,
} from "./jobs";

/** Version of the key layout, kept in `{prefix}:schema`; a prefix holding another version is refused. */
export const REDIS_SCHEMA_VERSION = 1;

/** How long `RedisJobStore.open` waits for the server to accept the connection, ms. */
export const CONNECT_TIMEOUT_MS = 5_000;

/** Options of `RedisJobStore.open`. */
export interface RedisStoreOptions {
  /** First component of every key; stores with different prefixes share nothing. Default "zkrisk". */
  prefix?: string;
}

/** `url` without its password, for messages and logs. Returns `url` unchanged if it does not parse. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === "") return url;
    parsed.password = "";
    return parsed.toString();
  } catch {
    return url;
  }
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
  if (patch.proof !== undefined) put("proof", toJson(patch.proof));
  if (patch.tx !== undefined) put("tx", toJson(patch.tx));
  if (patch.block !== undefined)
    put("block", patch.block === null ? null : String(checkInteger("block", patch.block)));
  if (patch.worker !== undefined) put("worker", patch.worker);
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

function toJson(value: ProvedUpdate | SentTransaction | null): string | null {
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
    proof: json<ProvedUpdate>("proof"),
    tx: json<SentTransaction>("tx"),
    block: hash.block === undefined ? null : int("block"),
    worker: hash.worker ?? null,
    createdAt: int("createdAt"),
    updatedAt: int("updatedAt"),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Lua scripts. Each gets the prefix as ARGV[1] and keeps a job's index entries (status set, latest set, due
// set) in step with its hash: `unindex` before a change, `index` after it.

const LUA_COMMON = `
local prefix = ARGV[1]
local DUE = prefix .. ':due'
local function jobKey(id) return prefix .. ':job:' .. id end
local function statusKey(status) return prefix .. ':status:' .. status end
local function latestKey(status, market) return prefix .. ':latest:' .. status .. ':' .. market end

local function indexed(id)
  local v = redis.call('HMGET', jobKey(id), 'status', 'market', 'dataTimestamp', 'submit', 'notBefore', 'order')
  if not v[1] then return nil end
  return { id = id, status = v[1], market = v[2], dataTimestamp = v[3], submit = v[4], notBefore = v[5],
           order = v[6] }
end
local function unindex(j)
  redis.call('SREM', statusKey(j.status), j.id)
  redis.call('ZREM', latestKey(j.status, j.market), j.id)
  redis.call('ZREM', DUE, j.order)
end
local function index(j)
  redis.call('SADD', statusKey(j.status), j.id)
  redis.call('ZADD', latestKey(j.status, j.market), j.dataTimestamp, j.id)
  if j.status == 'queued' or (j.status == 'proved' and j.submit == '1') then
    redis.call('ZADD', DUE, j.notBefore, j.order)
  end
end
-- Set fields (a flat field, value list) of job j, re-indexing it.
local function change(j, fields)
  unindex(j)
  redis.call('HSET', jobKey(j.id), unpack(fields))
  index(indexed(j.id))
end
`;

/**
 * ARGV: prefix, id, market, dataTimestamp, submit ("0"/"1"), now, order.
 * Returns {1, job} when created, {0, job} when it existed (after the submit upgrade), {-1, job} when the id
 * is held by another market or bar.
 */
const LUA_ENQUEUE = `${LUA_COMMON}
local id, market, ts, submit, now, order = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local key = jobKey(id)
if redis.call('EXISTS', key) == 0 then
  redis.call('HSET', key, 'id', id, 'market', market, 'dataTimestamp', ts, 'submit', submit, 'status', 'queued',
             'attempts', '0', 'notBefore', now, 'createdAt', now, 'updatedAt', now, 'order', order)
  redis.call('ZADD', prefix .. ':market:' .. market, ts, id)
  index(indexed(id))
  return { 1, redis.call('HGETALL', key) }
end
local j = indexed(id)
if j.market ~= market or j.dataTimestamp ~= ts then
  return { -1, redis.call('HGETALL', key) }
end
-- A job that can still reach proved starts submitting once proved; a skipped, rejected or failed one stays
-- as it is (confirmed and submitting jobs already have submit = 1).
if submit == '1' and j.submit == '0' and (j.status == 'queued' or j.status == 'proving' or j.status == 'proved') then
  change(j, { 'submit', '1', 'updatedAt', now })
end
return { 0, redis.call('HGETALL', key) }
`;

/**
 * ARGV: prefix, id, now, expect (JSON array of statuses, or "" for any), clear (JSON array of fields),
 * then field, value pairs to set. Returns the job, or nil when missing or in an unexpected status.
 */
const LUA_UPDATE = `${LUA_COMMON}
local id, now, expect, clear = ARGV[2], ARGV[3], ARGV[4], cjson.decode(ARGV[5])
local j = indexed(id)
if not j then return false end
if expect ~= '' then
  local allowed = false
  for _, status in ipairs(cjson.decode(expect)) do
    if status == j.status then allowed = true end
  end
  if not allowed then return false end
end
unindex(j)
local key = jobKey(id)
local set = { 'updatedAt', now }
for i = 6, #ARGV do set[#set + 1] = ARGV[i] end
redis.call('HSET', key, unpack(set))
if #clear > 0 then redis.call('HDEL', key, unpack(clear)) end
index(indexed(id))
return redis.call('HGETALL', key)
`;

/** ARGV: prefix, worker, now. Returns the claimed job, or nil when none is due. */
const LUA_CLAIM = `${LUA_COMMON}
local worker, now = ARGV[2], ARGV[3]
while true do
  local due = redis.call('ZRANGEBYSCORE', DUE, '-inf', now, 'LIMIT', 0, 1)
  if #due == 0 then return false end
  local j = indexed(string.sub(due[1], ${2 * SORTABLE_WIDTH + 1}))
  if not j then
    redis.call('ZREM', DUE, due[1]) -- an entry without its job: nothing to claim
  else
    local status = 'submitting'
    if j.status == 'queued' then status = 'proving' end
    change(j, { 'status', status, 'worker', worker, 'updatedAt', now })
    return redis.call('HGETALL', jobKey(j.id))
  end
end
`;

/** ARGV: prefix, now. Returns the submitting jobs that have a transaction (unordered). */
const LUA_RECOVER = `${LUA_COMMON}
local now = ARGV[2]
local function cutShort(id)
  return tostring(tonumber(redis.call('HGET', jobKey(id), 'attempts') or '0') + 1)
end
for _, id in ipairs(redis.call('SMEMBERS', statusKey('proving'))) do
  change(indexed(id), { 'status', 'queued', 'attempts', cutShort(id), 'updatedAt', now })
end
local pending = {}
for _, id in ipairs(redis.call('SMEMBERS', statusKey('submitting'))) do
  if redis.call('HEXISTS', jobKey(id), 'tx') == 0 then
    change(indexed(id), { 'status', 'proved', 'attempts', cutShort(id), 'updatedAt', now })
  else
    pending[#pending + 1] = redis.call('HGETALL', jobKey(id))
  end
end
return pending
`;

/** ARGV: prefix, market, then statuses. Returns the job, or nil. */
const LUA_LATEST = `${LUA_COMMON}
local market = ARGV[2]
local best, bestTs
for i = 3, #ARGV do
  local top = redis.call('ZREVRANGE', latestKey(ARGV[i], market), 0, 0, 'WITHSCORES')
  if top[1] and (best == nil or tonumber(top[2]) > bestTs) then
    best, bestTs = top[1], tonumber(top[2])
  end
end
if not best then return false end
return redis.call('HGETALL', jobKey(best))
`;

/** KEYS[1]: the schema key; ARGV[1]: the current version. Sets it if absent; returns the stored one. */
const LUA_SCHEMA = `
local stored = redis.call('GET', KEYS[1])
if stored then return stored end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
`;

/** The scripts, as `defineCommand` adds them to the client. */
interface ScriptCommands {
  zkriskEnqueue(...args: string[]): Promise<[number, string[]]>;
  zkriskUpdate(...args: string[]): Promise<string[] | null>;
  zkriskClaim(...args: string[]): Promise<string[] | null>;
  zkriskRecover(...args: string[]): Promise<string[][]>;
  zkriskLatest(...args: string[]): Promise<string[] | null>;
  zkriskSchema(key: string, version: string): Promise<string>;
}

// ---------------------------------------------------------------------------------------------------------

/** `JobStore` on a Redis server, shared by every process that opens it with the same URL and prefix. */
export class RedisJobStore implements JobStore {
  private readonly scripts: ScriptCommands;
  /** `url` without its password. */
  private readonly where: string;

  private constructor(
    /** The server URL as given (it may hold a password: log `redactRedisUrl(url)`). */
    readonly url: string,
    /** The connection; reuse `client.options` (or `client.duplicate()`) to open others to the same server. */
    readonly client: Redis,
    /** First component of every key. */
    readonly prefix: string,
  ) {
    this.where = redactRedisUrl(url);
    client.defineCommand("zkriskEnqueue", { numberOfKeys: 0, lua: LUA_ENQUEUE });
    client.defineCommand("zkriskUpdate", { numberOfKeys: 0, lua: LUA_UPDATE });
    client.defineCommand("zkriskClaim", { numberOfKeys: 0, lua: LUA_CLAIM });
    client.defineCommand("zkriskRecover", { numberOfKeys: 0, lua: LUA_RECOVER });
    client.defineCommand("zkriskLatest", { numberOfKeys: 0, lua: LUA_LATEST });
    client.defineCommand("zkriskSchema", { numberOfKeys: 1, lua: LUA_SCHEMA });
    this.scripts = client as unknown as ScriptCommands;
  }

  /**
   * Connect to the Redis server at `url` (`redis://[user:password@]host[:port][/db]`, or `rediss://` for
   * TLS) and use the keys under `opts.prefix`. Fails within `CONNECT_TIMEOUT_MS` when the server cannot be
   * reached, and refuses a prefix holding another key layout version.
   */
  static async open(url: string, opts: RedisStoreOptions = {}): Promise<RedisJobStore> {
    const prefix = opts.prefix ?? "zkrisk";
    const where = redactRedisUrl(url);
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

  async enqueue(spec: JobSpec, now: number): Promise<{ job: JobRecord; created: boolean }> {
    const dataTimestamp = checkInteger("dataTimestamp", spec.dataTimestamp);
    checkInteger("now", now);
    const id = jobIdOf(spec.market, dataTimestamp);
    const [created, flat] = await this.scripts.zkriskEnqueue(
      this.prefix,
      id,
      spec.market,
      String(dataTimestamp),
      spec.submit ? "1" : "0",
      String(now),
      orderOf(dataTimestamp, now, id),
    );
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
    const flat = await this.scripts.zkriskUpdate(
      this.prefix,
      id,
      String(now),
      expect === undefined ? "" : JSON.stringify(expect),
      JSON.stringify(clear),
      ...set,
    );
    return flat === null ? undefined : this.decode(id, flat);
  }

  async claimNext(worker: string, now: number): Promise<JobRecord | undefined> {
    checkInteger("now", now);
    const flat = await this.scripts.zkriskClaim(this.prefix, worker, String(now));
    return flat === null ? undefined : this.decode("(claimed)", flat);
  }

  async recoverInFlight(now: number): Promise<JobRecord[]> {
    checkInteger("now", now);
    const pending = (await this.scripts.zkriskRecover(this.prefix, String(now))).map((flat) =>
      this.decode("(submitting)", flat),
    );
    // In nonce order, so that re-broadcasting them in turn leaves no nonce gap.
    return pending.sort(
      (a, b) =>
        (a.tx?.nonce ?? 0) - (b.tx?.nonce ?? 0) ||
        a.dataTimestamp - b.dataTimestamp ||
        (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    );
  }

  async latest(market: string, statuses: readonly JobStatus[]): Promise<JobRecord | undefined> {
    const flat = await this.scripts.zkriskLatest(this.prefix, market, ...statuses);
    return flat === null ? undefined : this.decode("(latest)", flat);
  }

  async maxDataTimestamp(market: string): Promise<number> {
    const top = await this.client.zrevrange(`${this.prefix}:market:${market}`, 0, 0, "WITHSCORES");
    return top.length === 0 ? 0 : Number(top[1]);
  }

  async counts(): Promise<Record<JobStatus, number>> {
    const multi = this.client.multi();
    for (const status of JOB_STATUSES) multi.scard(`${this.prefix}:status:${status}`);
    const replies = (await multi.exec()) ?? [];
    const counts = {} as Record<JobStatus, number>;
    JOB_STATUSES.forEach((status, i) => {
      const [err, n] = replies[i] ?? [new Error("no reply"), 0];
      if (err) throw new JobStoreError(`${this.where}: cannot count ${status} jobs: ${err.message}`, err);
      counts[status] = Number(n);
    });
    return counts;
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

  /** A job hash returned by a script; `id` names the job in errors when the hash lacks it. */
  private decode(id: string, flat: readonly string[]): JobRecord {
    const hash = pairs(flat);
    return fromHash(hash, `${this.where} ${this.jobKey(hash.id ?? id)}`);
  }
}
