#!lua flags=no-writes
-- snapshot.lua -- every state of a cluster together with the version they belong to, atomically.
-- One GET of a byte per shard: a million shards cost a megabyte, not a million hash fields.
-- Read-only (no-writes), so it runs under maxmemory and on a replica.
-- KEYS: states, version key
-- Returns {version, states string (empty when no shard ever reported)}.
return {tonumber(redis.call('GET', KEYS[2]) or '0'), redis.call('GET', KEYS[1]) or ''}
