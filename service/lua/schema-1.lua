-- Mark a key prefix as a job store of this layout version, unless it is marked already.
-- KEYS[1]: the schema key (P:schema).
-- ARGV[1]: the current layout version.
-- Returns the stored version (ARGV[1] when it was absent and has been set).
local stored = redis.call('GET', KEYS[1])
if stored then return stored end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
