#!lua flags=no-writes
-- incidents.lua -- the latest incidents and maintenance, newest first, with every open one however old, as the
-- JSON of GET /api/incidents. A maintenance says "scheduled", "in progress" or "completed" by Redis's clock; one
-- whose window has passed reads as resolved at its end; `windows_to_close` counts those still in the open set, which
-- the replica that reads them closes (incident.lua, "close": this script only reads, so that it runs under
-- maxmemory). The open set is bounded (OPEN_MAX, lib.lua), but is read in chunks all the same.
-- KEYS: incidents hash, next id, open set
-- ARGV: how many of the latest
local now = now_ms()
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
local ids, seen = {}, {}
for id = last, math.max(1, last - tonumber(ARGV[1]) + 1), -1 do
  ids[#ids + 1] = id
  seen[id] = true
end
local older = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  if not seen[tonumber(id)] then older[#older + 1] = tonumber(id) end
end
table.sort(older, function(a, b) return a > b end)
for _, id in ipairs(older) do ids[#ids + 1] = id end
local out, to_close = {}, 0
for first = 1, #ids, 1000 do
  local chunk = {}
  for i = first, math.min(#ids, first + 999) do chunk[#chunk + 1] = ids[i] end
  for _, raw in ipairs(redis.call('HMGET', KEYS[1], unpack(chunk))) do
    if raw then
      local rec = cjson.decode(raw)
      if rec.kind == 'maintenance' then
        if rec.resolved_ms == cjson.null and now >= rec.ends_ms then
          rec.resolved_ms = rec.ends_ms
          to_close = to_close + 1
        end
        if rec.resolved_ms ~= cjson.null then
          rec.status = 'completed'
        elseif now < rec.starts_ms then
          rec.status = 'scheduled'
        else
          rec.status = 'in progress'
        end
      end
      out[#out + 1] = cjson.encode(rec)
    end
  end
end
return '{"now_ms":' .. string.format('%.0f', now) .. ',"windows_to_close":' .. to_close .. ',"incidents":[' ..
  table.concat(out, ',') .. ']}'
