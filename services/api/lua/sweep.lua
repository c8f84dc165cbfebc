-- sweep.lua -- the expire check over a bounded range of shards, for expiries no replica heard.
-- Health keys share the cluster's hash tag, so they live in the same slot as KEYS.
-- KEYS: state hash, since hash, version key
-- ARGV: health key prefix (up to the shard id), first shard, end (exclusive), events channel, cluster
-- Returns the number of shards that turned unhealthy.
local first, last = tonumber(ARGV[2]), tonumber(ARGV[3])
if last <= first then
  return 0
end
local ids = {}
for id = first, last - 1 do
  ids[#ids + 1] = tostring(id)
end
local states = redis.call('HMGET', KEYS[1], unpack(ids))
local changed = 0
for i, id in ipairs(ids) do
  if can_expire(states[i]) and redis.call('EXISTS', ARGV[1] .. id) == 0 then
    change(KEYS[1], KEYS[2], KEYS[3], ARGV[4], ARGV[5], id, '1')
    changed = changed + 1
  end
end
return changed
