-- alert_due.lua -- once a cluster's condition has held for the delay, record it as an alert, once across every
-- replica: the condition hash remembers what was last alerted, and the alerts stream gets one entry per alert.
-- A condition below the cluster's alert level (or no data) counts as operational, so the recovery from an
-- outage is an alert too, and a restart that is over within the delay is none.
-- A cluster that keeps changing flaps: when an alert is the flap_count-th or later within flap_window, its entry
-- says `flapping 1` (and `changes`, the alerts in the window), so that the sender keeps one message for the whole
-- episode, edited in place and pinging no one, instead of one incident per change.
-- KEYS: condition hash, alerts stream
-- ARGV: since_ms (the start of the condition the caller saw), delay ms, least alerting condition, cluster,
--       the stream's length to keep, flap_count, flap_window ms
-- Returns 1 when this call recorded an alert; 0 when there is nothing to say (the condition changed since, or it
-- was said already); minus the milliseconds left when the delay has not passed by Redis's clock.
local c = redis.call('HMGET', KEYS[1], 'condition', 'since', 'alerted', 'down', 'busy', 'total', 'recent')
if c[2] ~= ARGV[1] then
  return 0
end
local now = now_ms()
local left = tonumber(c[2]) + tonumber(ARGV[2]) - now
if left > 0 then
  return -left
end
local cond = tonumber(c[1])
if cond < tonumber(ARGV[3]) then
  cond = 1
end
local prev = tonumber(c[3] or '1')
if cond == prev then
  return 0
end
-- the times of the alerts within the window, this one included
local recent = {}
for t in string.gmatch(c[7] or '', '%d+') do
  if now - tonumber(t) < tonumber(ARGV[7]) then
    recent[#recent + 1] = t
  end
end
recent[#recent + 1] = tostring(now)
local flapping = #recent >= tonumber(ARGV[6])
redis.call('HSET', KEYS[1], 'alerted', cond, 'recent', table.concat(recent, ','))
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 'cluster', ARGV[4], 'condition', cond, 'previous', prev,
  'since', c[2], 'down', c[4], 'busy', c[5], 'total', c[6], 'flapping', flapping and '1' or '0',
  'changes', #recent)
return 1
