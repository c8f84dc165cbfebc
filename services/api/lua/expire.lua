-- expire.lua -- the expire check over a list of shards: each whose health key is gone and whose state can
-- expire turns unhealthy, unless another replica already did it or a ping arrived since. Every replica hears
-- the same expiries and sweeps the same shards; this check makes each one transition once. Expiries heard
-- together, deadlines due together and the sweep's batches are each one call.
-- KEYS: states, since hash, version key, then the health key of each shard of ARGV[3..]
-- ARGV: events channel, cluster, shard id...
-- Returns the number of shards that turned unhealthy.
local changed = 0
for i = 3, #ARGV do
  local id = ARGV[i]
  if can_expire(get_state(KEYS[1], id)) and redis.call('EXISTS', KEYS[i + 1]) == 0 then
    change(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], id, '1')
    changed = changed + 1
  end
end
return changed
