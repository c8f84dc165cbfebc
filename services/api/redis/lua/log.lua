#!lua flags=no-writes
-- log.lua -- a cluster's latest state changes from its log stream, newest first, as the JSON of
-- GET /api/history/<cluster>.
-- KEYS: the log stream
-- ARGV: cluster name, how many
local out = {}
for _, e in ipairs(redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', ARGV[2])) do
  local f = {}
  for i = 1, #e[2], 2 do f[e[2][i]] = e[2][i + 1] end
  out[#out + 1] = string.format('{"at_ms":%s,"shard":%d,"from":%d,"to":%d}', string.match(e[1], '^(%d+)'),
    tonumber(f.s) or -1, tonumber(f.f) or -1, tonumber(f.t) or -1)
end
return '{"cluster":' .. cjson.encode(ARGV[1]) .. ',"transitions":[' .. table.concat(out, ',') .. ']}'
