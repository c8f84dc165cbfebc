-- expire.lua -- the expire check over a list of shards: each whose health key is gone and whose state can
-- expire turns unhealthy, unless another replica already did it or a ping arrived since. Every replica hears
-- the same expiries and sweeps the same shards; this check makes each one transition once. Expiries heard
-- together, deadlines due together and the sweep's batches are each one call, and the shards one call turns are
-- one batch of changes (change_all): a burst of expiries costs Redis the accounting once per call.
-- KEYS: states, since hash, version key, the five history keys (lib.lua, history_keys), then the health key of
--       each shard of ARGV[4..]
-- ARGV: events channel, cluster, the log's length to keep, shard id...
-- Returns the number of shards that turned unhealthy.
local h = history_keys(4, ARGV[3])
local list, seen = {}, {}
for i = 4, #ARGV do
  local id = ARGV[i]
  -- a shard heard twice in one turn is one change, not two
  if not seen[id] then
    seen[id] = true
    local state = get_state(KEYS[1], id)
    if can_expire(state) and redis.call('EXISTS', KEYS[i + 5]) == 0 then
      list[#list + 1] = id
      list[#list + 1] = state
      list[#list + 1] = '1'
    end
  end
end
if #list > 0 then
  change_all(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], list, h)
end
return #list / 3
