-- Shared by the job scripts (included where a script says `--- @include "job-index"`): the keys of one job,
-- the state machine, and the upkeep of the job's index entries (status set, latest set, due set), kept in
-- step with its hash: `unindex` before a change, `index` after it.
--
-- KEYS (built by `jobKeys` in redis-store.ts; n = the number of statuses):
--   KEYS[1]              the job's hash                       P:job:{id}
--   KEYS[2]              the due set                          P:due
--   KEYS[3]              the market's job set                 P:market:{market}
--   KEYS[3 + i]          the set of the i-th status           P:status:{status}
--   KEYS[3 + n + i]      the market's latest set of it        P:latest:{status}:{market}
-- ARGV[1]: the state machine of job-states.ts as JSON: { statuses, initial, claims: [{ from, to,
--   onlyToSubmit }], setBacks: [{ from, to, unlessSent }], submitUpgradeFrom, dueAgainBySubmit, pending }. Statuses
--   in KEYS order.
-- ARGV[2]: the job's market (its keys were built for it; a job's market never changes).
local machine = cjson.decode(ARGV[1])
local JOB, DUE, MARKET = KEYS[1], KEYS[2], KEYS[3]
local statusIndex = {}
for i, status in ipairs(machine.statuses) do statusIndex[status] = i end
local function statusKey(status) return KEYS[3 + statusIndex[status]] end
local function latestKey(status) return KEYS[3 + #machine.statuses + statusIndex[status]] end

local function contains(list, value)
  for _, v in ipairs(list) do
    if v == value then return true end
  end
  return false
end

-- The claim rule that takes a job in `status`, or nil (the job is not due).
local function claimRule(status, submit)
  for _, c in ipairs(machine.claims) do
    if c.from == status and (not c.onlyToSubmit or submit == '1') then return c end
  end
  return nil
end

-- The indexed fields of the job, or nil when it does not exist. Fails when its market is not ARGV[2].
local function indexed()
  local v = redis.call('HMGET', JOB, 'id', 'status', 'market', 'dataTimestamp', 'submit', 'notBefore', 'order')
  if not v[1] then return nil end
  if v[3] ~= ARGV[2] then
    error({ err = 'job ' .. v[1] .. ' is of market ' .. v[3] .. ', keys given for ' .. ARGV[2] })
  end
  return { id = v[1], status = v[2], market = v[3], dataTimestamp = v[4], submit = v[5], notBefore = v[6],
           order = v[7] }
end
local function unindex(j)
  redis.call('SREM', statusKey(j.status), j.id)
  redis.call('ZREM', latestKey(j.status), j.id)
  redis.call('ZREM', DUE, j.order)
end
local function index(j)
  redis.call('SADD', statusKey(j.status), j.id)
  redis.call('ZADD', latestKey(j.status), j.dataTimestamp, j.id)
  if claimRule(j.status, j.submit) then redis.call('ZADD', DUE, j.notBefore, j.order) end
end
-- Set fields (a flat field, value list) of job j, re-indexing it.
local function change(j, fields)
  unindex(j)
  redis.call('HSET', JOB, unpack(fields))
  index(indexed())
end
