-- snapshot.lua -- every state of a cluster together with the version they belong to, atomically.
-- KEYS: state hash, version key
-- Returns {version, {shard, state, shard, state, ...}}.
return {tonumber(redis.call('GET', KEYS[2]) or '0'), redis.call('HGETALL', KEYS[1])}
