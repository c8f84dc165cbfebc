#!lua flags=no-writes
-- alerts.lua -- the latest alerts, newest first, with what became of each, as the JSON of GET /api/alerts.
-- delivery: the sender's outcome ("sent", or which webhook did not take it); "sending" while a sender holds it;
-- "waiting" until one reads it; "not sent" for an alert no sender will read (no webhook configured, or older than
-- the consumer group).
-- KEYS: alerts stream, delivery outcomes stream
-- ARGV: how many
local names = {[0] = 'no data', 'operational', 'degraded', 'partial outage', 'major outage'}
local outcome = {}
for _, e in ipairs(redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1000)) do
  local f = e[2]
  for i = 1, #f, 2 do
    if f[i] == 'alert' then
      local id = f[i + 1]
      for k = 1, #f, 2 do
        if f[k] == 'outcome' and outcome[id] == nil then outcome[id] = f[k + 1] end
      end
    end
  end
end
-- the consumer group's position and what its consumers hold, when there is a group
local last_read, pending = nil, {}
local ok, groups = pcall(redis.call, 'XINFO', 'GROUPS', KEYS[1])
if ok then
  for _, g in ipairs(groups) do
    local info = {}
    for i = 1, #g, 2 do info[g[i]] = g[i + 1] end
    if info.name == 'glance-alerts' then
      last_read = info['last-delivered-id']
      for _, p in ipairs(redis.call('XPENDING', KEYS[1], 'glance-alerts', '-', '+', 1000)) do
        pending[p[1]] = true
      end
    end
  end
end
-- stream ids "ms-seq" in order
local function after(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  if am ~= bm then return tonumber(am) > tonumber(bm) end
  return tonumber(as) > tonumber(bs)
end
local out = {}
for _, e in ipairs(redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', ARGV[1])) do
  local f = {}
  for i = 1, #e[2], 2 do
    f[e[2][i]] = e[2][i + 1]
  end
  local delivery = outcome[e[1]]
  if delivery == nil then
    if pending[e[1]] then
      delivery = 'sending'
    elseif last_read ~= nil and after(e[1], last_read) then
      delivery = 'waiting'
    else
      delivery = 'not sent'
    end
  end
  out[#out + 1] = cjson.encode({
    id = e[1], at_ms = tonumber(string.match(e[1], '^(%d+)')), cluster = f.cluster,
    condition = names[tonumber(f.condition)], previous = names[tonumber(f.previous)],
    since_ms = tonumber(f.since), down = tonumber(f.down), busy = tonumber(f.busy), total = tonumber(f.total),
    flapping = f.flapping == '1', delivery = delivery,
  })
end
return '{"alerts":[' .. table.concat(out, ',') .. ']}'
