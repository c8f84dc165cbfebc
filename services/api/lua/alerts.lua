#!lua flags=no-writes
-- alerts.lua -- the latest alerts, newest first, as the JSON body of GET /api/alerts.
-- KEYS: alerts stream
-- ARGV: how many
local names = {[0] = 'no data', 'operational', 'degraded', 'partial outage', 'major outage'}
local out = {}
for _, e in ipairs(redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', ARGV[1])) do
  local f = {}
  for i = 1, #e[2], 2 do
    f[e[2][i]] = e[2][i + 1]
  end
  out[#out + 1] = cjson.encode({
    id = e[1], at_ms = tonumber(string.match(e[1], '^(%d+)')), cluster = f.cluster,
    condition = names[tonumber(f.condition)], previous = names[tonumber(f.previous)],
    since_ms = tonumber(f.since), down = tonumber(f.down), busy = tonumber(f.busy), total = tonumber(f.total),
  })
end
return '{"alerts":[' .. table.concat(out, ',') .. ']}'
