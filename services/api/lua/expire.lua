-- expire.lua -- the expire check over a list of shards: each whose health key is gone and whose state can
-- expire turns unhealthy, unless another replica already did it or a ping arrived since. Every replica hears
-- the same expiries and sweeps the same shards; this check makes each one transition once. Expiries heard
-- together, deadlines due together and the sweep's batches are each one call.
-- KEYS: states, since hash, version key, the five history keys (lib.lua, history_keys), then the health key of
--       each shard of ARGV[4..]
-- ARGV: events channel, cluster, the log's length to keep, shard id...
-- Returns the number of shards that turned unhealthy.
local changed = 0
local h = history_keys(4, ARGV[3])
for i = 4, #ARGV do
  local id = ARGV[i]
  local state = get_state(KEYS[1], id)
  if can_expire(state) and redis.call('EXISTS', KEYS[i + 5]) == 0 then
    change(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], id, '1', state, h)
    changed = changed + 1
  end
end
return changed
