-- Write fields of a job, with compare-and-set on its status when asked.
-- KEYS[1..19]: the keys of the job (see includes/job-index.lua).
-- ARGV[1]: the state machine (JSON); ARGV[2]: market; ARGV[3]: now (ms); ARGV[4]: the statuses the job
-- must be in (JSON array), or "" for any; ARGV[5]: the fields to delete (JSON array); ARGV[6..]: field,
-- value pairs to set.
-- Returns the job (a flat field, value list), or nil when it is missing or in another status.
--- @include "job-index"
local now, expect, clear = ARGV[3], ARGV[4], cjson.decode(ARGV[5])
local j = indexed()
if not j then return false end
if expect ~= '' and not contains(cjson.decode(expect), j.status) then return false end
unindex(j)
local set = { 'updatedAt', now }
for i = 6, #ARGV do set[#set + 1] = ARGV[i] end
redis.call('HSET', JOB, unpack(set))
if #clear > 0 then redis.call('HDEL', JOB, unpack(clear)) end
index(indexed())
return redis.call('HGETALL', JOB)
