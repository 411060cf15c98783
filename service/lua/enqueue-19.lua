-- Create a job unless it exists; an existing proof-only job asked for with submit becomes a submitting one,
-- in the statuses where it can still reach proved (machine.submitUpgradeFrom); one due again by it
-- (machine.dueAgainBySubmit) gets a due time later than its last.
-- KEYS[1..19]: the keys of the job (see includes/job-index.lua).
-- ARGV[1]: the state machine (JSON); ARGV[2]: market; ARGV[3]: id; ARGV[4]: data timestamp (s);
-- ARGV[5]: submit ("0"/"1"); ARGV[6]: now (ms); ARGV[7]: the job's order (its member of the due set);
-- ARGV[8]: the most jobs of the market pending (machine.pending) at which a new one is still made, "" for no cap.
-- Returns {1, job} when created, {0, job} when it existed, {-1, job} when the id is held by another market
-- or bar (job: the hash as a flat field, value list), {-2, {pending}} when the cap refused a new job.
--- @include "job-index"
local market, id, ts, submit, now, order = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
if redis.call('EXISTS', JOB) == 0 then
  if ARGV[8] ~= '' then
    -- The market's latest set of a status holds its jobs in that status: their sizes count its pending jobs.
    local pending = 0
    for _, status in ipairs(machine.pending) do pending = pending + redis.call('ZCARD', latestKey(status)) end
    if pending >= tonumber(ARGV[8]) then return { -2, { tostring(pending) } } end
  end
  redis.call('HSET', JOB, 'id', id, 'market', market, 'dataTimestamp', ts, 'submit', submit,
             'status', machine.initial, 'attempts', '0', 'notBefore', now, 'createdAt', now, 'updatedAt', now,
             'order', order)
  redis.call('ZADD', MARKET, ts, id)
  index(indexed())
  return { 1, redis.call('HGETALL', JOB) }
end
local stored = redis.call('HMGET', JOB, 'market', 'dataTimestamp')
if stored[1] ~= market or stored[2] ~= ts then
  return { -1, redis.call('HGETALL', JOB) }
end
local j = indexed()
if submit == '1' and j.submit == '0' and contains(machine.submitUpgradeFrom, j.status) then
  local fields = { 'submit', '1', 'updatedAt', now }
  if contains(machine.dueAgainBySubmit, j.status) then
    -- Due again: a new due time, later than the last (a delivery made for that one is stale).
    local due = math.max(tonumber(j.notBefore) + 1, tonumber(now))
    table.insert(fields, 'notBefore')
    table.insert(fields, string.format('%d', due))
  end
  change(j, fields)
end
return { 0, redis.call('HGETALL', JOB) }
