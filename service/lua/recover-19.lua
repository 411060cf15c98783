-- After a crash, set one in-flight job back by the set-back rules (machine.setBacks), counting the attempt
-- the crash cut short; a job with a sent transaction is left for the caller to settle.
-- KEYS[1..19]: the keys of the job (see includes/job-index.lua).
-- ARGV[1]: the state machine (JSON); ARGV[2]: market; ARGV[3]: now (ms).
-- Returns {1, job} when set back, {0, job} when left to settle (job: a flat field, value list), or nil
-- when the job is missing or not in flight.
--- @include "job-index"
local now = ARGV[3]
local j = indexed()
if not j then return false end
for _, rule in ipairs(machine.setBacks) do
  if rule.from == j.status then
    if rule.unlessSent and redis.call('HEXISTS', JOB, 'tx') == 1 then
      return { 0, redis.call('HGETALL', JOB) }
    end
    local attempts = tostring(tonumber(redis.call('HGET', JOB, 'attempts') or '0') + 1)
    change(j, { 'status', rule.to, 'attempts', attempts, 'updatedAt', now })
    return { 1, redis.call('HGETALL', JOB) }
  end
end
return false
