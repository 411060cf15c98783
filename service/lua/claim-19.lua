-- Claim one due job for a holder, by the claim rules (machine.claims): the caller has seen its member at the
-- head of the due set. An entry whose job is gone or no longer due is removed.
-- KEYS[1..19]: the keys of the job (see includes/job-index.lua).
-- ARGV[1]: the state machine (JSON); ARGV[2]: market; ARGV[3]: the job's member of the due set;
-- ARGV[4]: the holder (host:pid); ARGV[5]: now (ms); ARGV[6]: the longest delay the service sets (ms): a due time
-- further ahead than that is a clock that stepped back, and the job is due (isDueAt in retry.ts).
-- Returns the claimed job (a flat field, value list), or nil when it was not due (taken by another).
--- @include "job-index"
local member, holder, now = ARGV[3], ARGV[4], ARGV[5]
local score = tonumber(redis.call('ZSCORE', DUE, member))
if not score or (score > tonumber(now) and score <= tonumber(now) + tonumber(ARGV[6])) then return false end
local j = indexed()
local rule = j and j.order == member and claimRule(j.status, j.submit)
if not rule then
  redis.call('ZREM', DUE, member) -- an entry without its job, or stale: nothing to claim
  return false
end
change(j, { 'status', rule.to, 'worker', holder, 'updatedAt', now })
return redis.call('HGETALL', JOB)
