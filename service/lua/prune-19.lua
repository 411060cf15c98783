-- Delete a job that has ended, if it still has and was last changed before a cutoff.
-- KEYS[1..19]: the keys of the job (see includes/job-index.lua).
-- ARGV[1]: the state machine (JSON); ARGV[2]: market; ARGV[3]: the cutoff (ms): only a job whose updatedAt is
-- below it goes; ARGV[4]: the statuses in which every job has ended (JSON array); ARGV[5]: those in which only a
-- proof-only job has (JSON array).
-- Returns 1 when the job was deleted, else 0 (missing, not ended, or changed since the cutoff).
--- @include "job-index"
local cutoff, ended, endedProofOnly = tonumber(ARGV[3]), cjson.decode(ARGV[4]), cjson.decode(ARGV[5])
local j = indexed()
if not j then return 0 end
if not (contains(ended, j.status) or (j.submit == '0' and contains(endedProofOnly, j.status))) then return 0 end
if tonumber(redis.call('HGET', JOB, 'updatedAt')) >= cutoff then return 0 end
unindex(j)
redis.call('ZREM', MARKET, j.id)
redis.call('DEL', JOB)
return 1
