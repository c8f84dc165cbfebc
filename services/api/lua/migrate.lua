-- migrate.lua -- builds a cluster's states string from the hash that builds before it kept states in
-- (shard id -> state), once, and deletes the hash. Run at every (re)connect; it costs two EXISTS when there
-- is nothing to do. Replicas of the old and the new layout must not run together (README, Upgrading).
-- KEYS: states, the old state hash
-- Returns the number of shards moved.
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 0 then
  return 0
end
local pairs_ = redis.call('HGETALL', KEYS[2])
local moved = 0
for i = 1, #pairs_, 2 do
  local id, state = tonumber(pairs_[i]), pairs_[i + 1]
  if id and id >= 0 and #state == 1 and state >= '0' and state <= '6' then
    redis.call('SETRANGE', KEYS[1], id, state)
    moved = moved + 1
  end
end
redis.call('DEL', KEYS[2])
return moved
