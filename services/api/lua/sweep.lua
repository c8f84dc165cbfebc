-- sweep.lua -- the expire check over a bounded range of shards, for expiries no replica heard.
-- KEYS: state hash, since hash, version key
-- ARGV: health key prefix (up to the shard id), first shard, end (exclusive), events channel, cluster
-- Returns the number of shards that turned unhealthy.
local ids = {}
for id = tonumber(ARGV[2]), tonumber(ARGV[3]) - 1 do
  ids[#ids + 1] = tostring(id)
end
return expire_ids(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[4], ARGV[5], ids)
