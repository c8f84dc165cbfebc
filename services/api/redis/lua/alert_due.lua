-- alert_due.lua -- once a cluster's condition has held for the delay, record it as an alert, once across every
-- replica: the condition hash remembers what was last alerted, and the alerts stream gets one entry per alert.
-- A condition below the cluster's alert level (or no data) counts as operational, so the recovery from an
-- outage is an alert too, and a restart that is over within the delay is none.
-- A cluster that keeps changing flaps: when an alert is the flap_count-th or later within flap_window, its entry
-- says `flapping 1` (and `changes`, the alerts in the window), so that the sender keeps one message for the whole
-- episode, edited in place and pinging no one, instead of one incident per change.
-- Each alert also opens, updates or resolves the cluster's automatic incident (lib.lua, incident_new), which the
-- condition hash remembers under `incident`; an operator may annotate it, or resolve it, and the next alert then
-- opens another. A cluster in maintenance stays silent: no alert, no incident, until its window ends.
-- KEYS: condition hash, alerts stream, the cluster's maint hash, incidents hash, next incident id, open incidents,
--       the notify stream (what subscribers are told of the automatic incident)
-- ARGV: since_ms (the start of the condition the caller saw), delay ms, least alerting condition, cluster,
--       the stream's length to keep, flap_count, flap_window ms, incident records to keep
-- Returns 1 when this call recorded an alert; 0 when there is nothing to say (the condition changed since, or it
-- was said already); minus the milliseconds to wait when the delay has not passed by Redis's clock or the cluster
-- is in maintenance.
local c = redis.call('HMGET', KEYS[1], 'condition', 'since', 'alerted', 'down', 'busy', 'total', 'recent',
  'incident')
if c[2] ~= ARGV[1] then
  return 0
end
local now = now_ms()
local wait = incidents().wait_ms(tonumber(c[2]), tonumber(ARGV[2]), KEYS[3], now)
if wait then
  return -wait
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

local k = {list = KEYS[4], next = KEYS[5], open = KEYS[6], notify = KEYS[7]}
local names = {'operational', 'degraded', 'partial outage', 'major outage'}
local impacts = {'none', 'minor', 'major', 'critical'}
local open = c[8] and redis.call('SISMEMBER', k.open, c[8]) == 1
local text = string.format('%s is %s: %s of %s shards unhealthy or offline, %s starting, stopping or resuming.',
  ARGV[4], names[cond], c[4] or '0', c[6] or '0', c[5] or '0')
if cond >= 2 and not open then
  local id = incidents().new(k, {kind = 'incident', title = ARGV[4] .. ': ' .. names[cond], impact = impacts[cond],
    clusters = {ARGV[4]}, automatic = true, status = 'investigating',
    updates = {{at_ms = now, status = 'investigating', text = text}}}, now, tonumber(ARGV[8]))
  redis.call('HSET', KEYS[1], 'incident', id)
elseif open then
  local rec = incidents().update(k, c[8], cond >= 2 and 'investigating' or 'resolved', cond >= 2 and text or
    string.format('%s is operational again: every shard that reported is up.', ARGV[4]), now, tonumber(ARGV[8]))
  if rec and cond >= 2 and rec.impact ~= impacts[cond] then
    rec.impact = impacts[cond]
    rec.title = ARGV[4] .. ': ' .. names[cond]
    redis.call('HSET', k.list, c[8], cjson.encode(rec))
  end
  if cond < 2 then redis.call('HDEL', KEYS[1], 'incident') end
end
return 1
