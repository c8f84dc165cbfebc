-- condition.lua -- record a cluster's condition (condition.h) as a replica's mirror sees it at a version. Every
-- replica sees every change and calls this; the first to record a new condition sets when it began, the others
-- find it recorded. A mirror that is not at the cluster's version now is told so and asks again once it is, so a
-- replica that is behind never records what is no longer true.
-- KEYS: condition hash, version key
-- ARGV: version, condition, down, busy, total
-- Returns {condition, since_ms, recorded (1: this call recorded a change), stale (1: not at the version now)}.
local cur = redis.call('HMGET', KEYS[1], 'condition', 'since')
if tonumber(ARGV[1]) ~= tonumber(redis.call('GET', KEYS[2]) or '0') then
  return {tonumber(cur[1] or '-1'), tonumber(cur[2] or '0'), 0, 1}
end
if cur[1] == ARGV[2] then
  redis.call('HSET', KEYS[1], 'version', ARGV[1], 'down', ARGV[3], 'busy', ARGV[4], 'total', ARGV[5])
  return {tonumber(cur[1]), tonumber(cur[2]), 0, 0}
end
local now = now_ms()
redis.call('HSET', KEYS[1], 'condition', ARGV[2], 'since', now, 'version', ARGV[1], 'down', ARGV[3],
  'busy', ARGV[4], 'total', ARGV[5])
return {tonumber(ARGV[2]), now, 1, 0}
