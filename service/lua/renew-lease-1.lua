-- Renew a lease if the caller holds it.
-- KEYS[1]: the lease key (P:leader).
-- ARGV[1]: the caller (host:pid); ARGV[2]: the lease's new time to live (ms).
-- Returns 1 when renewed, 0 when another holds it or it lapsed.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
