-- expire.lua -- health keys expired: mark their shards unhealthy, unless another replica already did,
-- or a ping arrived since. Every replica hears the same expiries; this check makes each one transition.
-- Expiries heard together are checked in one call.
-- KEYS: state hash, since hash, version key
-- ARGV: health key prefix (up to the shard id), events channel, cluster, shard id...
-- Returns the number of shards that turned unhealthy.
return expire_ids(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3], {unpack(ARGV, 4)})
