-- expire.lua -- a health key expired: mark the shard unhealthy, unless another replica already did,
-- or a ping arrived since. Every replica hears the same expiry; this check makes it one transition.
-- KEYS: state hash, since hash, health key, version key
-- ARGV: shard id, events channel, cluster
-- Returns 1 when the shard turned unhealthy, else 0.
if redis.call('EXISTS', KEYS[3]) == 1 then
  return 0
end
if not can_expire(redis.call('HGET', KEYS[1], ARGV[1])) then
  return 0
end
change(KEYS[1], KEYS[2], KEYS[4], ARGV[2], ARGV[3], ARGV[1], '1')
return 1
