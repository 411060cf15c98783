-- Give a lease up if the caller holds it.
-- KEYS[1]: the lease key (P:leader).
-- ARGV[1]: the caller (host:pid).
-- Returns 1 when released, 0 when another holds it or it lapsed.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
