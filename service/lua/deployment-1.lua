-- Record the deployment whose jobs a key prefix holds, unless one is recorded already.
-- KEYS[1]: the deployment key (P:deployment).
-- ARGV[1]: this process's deployment identity (canonical JSON).
-- Returns the stored identity (ARGV[1] when it was absent and has been set).
local stored = redis.call('GET', KEYS[1])
if stored then return stored end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
