#!lua flags=no-writes
-- shard.lua -- one shard as stored: state, when it last changed, and how long it stays healthy.
-- Read-only (no-writes), so it runs under maxmemory and on a replica.
-- KEYS: states, since hash, health key
-- ARGV: shard id
-- Returns {state or -1, since ms or 0, health key's remaining ms (negative when gone), now ms}.
local state = get_state(KEYS[1], ARGV[1])
local since = redis.call('HGET', KEYS[2], ARGV[1])
return {tonumber(state or '-1'), tonumber(since or '0'), redis.call('PTTL', KEYS[3]), now_ms()}
