-- gateway_alert.lua -- a cluster's gateway mark (silent shards, a reconnect storm, a short identify budget, shards
-- near the guild cap) as a replica sees it, recorded as an alert once it has held for the delay, once across every
-- replica, as alert_due.lua does for the conditions: the condition hash keeps, per mark, whether it is on, since
-- when, and what was last alerted (field 'g:<mark>': "<on> <since_ms> <alerted>"). A mark that comes and goes within
-- the delay alerts nobody; one that was never alerted on is never alerted off. A cluster in maintenance stays silent.
-- KEYS: condition hash, alerts stream, the cluster's maint hash
-- ARGV: mark, on (1 or 0), the alert's words, delay ms, cluster, the stream's length to keep
-- Returns 1 when this call recorded an alert; 0 when there is nothing to say; minus the milliseconds to wait when
-- the delay has not passed by Redis's clock or the cluster is in maintenance.
local field, on = 'g:' .. ARGV[1], tonumber(ARGV[2])
local st, since, alerted = string.match(redis.call('HGET', KEYS[1], field) or '', '^(%d) (%d+) (%d)$')
st, since, alerted = tonumber(st or '0'), tonumber(since or '0'), tonumber(alerted or '0')
local now = now_ms()
if st ~= on then
  st, since = on, now
  redis.call('HSET', KEYS[1], field, string.format('%d %d %d', st, since, alerted))
end
if alerted == st then
  return 0
end
local wait = incidents().wait_ms(since, tonumber(ARGV[4]), KEYS[3], now)
if wait then
  return -wait
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], '*', 'cluster', ARGV[5], 'kind', 'gateway', 'mark', ARGV[1],
  'active', ARGV[2], 'since', int(since), 'text', ARGV[3])
redis.call('HSET', KEYS[1], field, string.format('%d %d %d', st, since, st))
return 1
