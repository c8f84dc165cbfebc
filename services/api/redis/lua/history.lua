#!lua flags=no-writes
-- history.lua -- a cluster's history as the JSON object of GET /api/history: the shard-time of each of the last
-- KEEP_DAYS UTC days, availability over 24 h, 7, 30 and 90 days, and the shards that flap. The stretch since the
-- cluster's last change is added as record() would add it, without writing.
-- Availability is the part of the shard-time outside maintenance that was not unhealthy or offline; a window's
-- oldest bucket counts pro rata for the part of it inside the window.
-- KEYS: the five history keys (lib.lua, history_keys), states
-- ARGV: cluster name, shard count
-- Returns the JSON text.
local h = history_keys(1, 0)
local now = now_ms()
local raw = redis.call('HGETALL', h.hist)
local b = {}
for i = 1, #raw, 2 do b[raw[i]] = raw[i + 1] end
local H = history()
local n = b.n and H.numbers(b.n, 6) or H.count_states(redis.call('GET', KEYS[6]) or '')
local buckets = {}
local function bucket(f)
  if not buckets[f] then buckets[f] = H.numbers(b[f], 8) end
  return buckets[f]
end
for f, add in pairs(H.accrue(tonumber(b.at or now), now, n, H.windows(redis.call('HGETALL', h.maint)))) do
  local v = bucket(f)
  for k = 1, 8 do v[k] = v[k] + add[k] end
end

local function int(x) return string.format('%.0f', x) end
local function up(v) return v[3] + v[4] + v[5] + v[6] end
local function down(v) return v[1] + v[2] end
local function ratio(u, d)
  if u + d <= 0 then return 'null' end
  return string.format('%.8f', u / (u + d))
end
-- availability over the `span` ms before now, from buckets `p`<i> of `size` ms
local function availability(p, size, span)
  local from = now - span
  local u, d = 0, 0
  for i = math.floor(from / size), math.floor(now / size) do
    local v = bucket(p .. i)
    local part = math.min(1, ((i + 1) * size - from) / size)
    u = u + up(v) * part
    d = d + down(v) * part
  end
  return ratio(u, d)
end
-- 'YYYY-MM-DD' of a day number (days since 1970-01-01), by the civil calendar
local function civil(z)
  z = z + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400 + (m <= 2 and 1 or 0)
  return string.format('%04d-%02d-%02d', y, m, doy - math.floor((153 * mp + 2) / 5) + 1)
end

local today = math.floor(now / DAY_MS)
local days = {}
for d = today - KEEP_DAYS + 1, today do
  local v = bucket('d:' .. d)
  days[#days + 1] = '{"date":"' .. civil(d) .. '","up_ms":' .. int(up(v)) .. ',"down_ms":' .. int(down(v)) ..
    ',"maintenance_ms":' .. int(v[7] + v[8]) .. ',"maintenance_down_ms":' .. int(v[7]) .. '}'
end
-- the latest FLAP_LISTED to flap, and how many flap in all: a read costs the same with 100,000 flapping shards
local FLAP_LISTED = 1000
local flapping = redis.call('ZREVRANGEBYSCORE', h.flapping, '+inf', now - FLAP_WINDOW_MS, 'LIMIT', 0, FLAP_LISTED)
local flapping_count = redis.call('ZCOUNT', h.flapping, now - FLAP_WINDOW_MS, '+inf')
table.sort(flapping, function(x, y) return tonumber(x) < tonumber(y) end)
return '{"name":' .. cjson.encode(ARGV[1]) .. ',"shards":' .. ARGV[2] .. ',"availability":{"24h":' ..
  availability('h:', HOUR_MS, DAY_MS) .. ',"7d":' .. availability('d:', DAY_MS, 7 * DAY_MS) .. ',"30d":' ..
  availability('d:', DAY_MS, 30 * DAY_MS) .. ',"90d":' .. availability('d:', DAY_MS, 90 * DAY_MS) ..
  '},"days":[' .. table.concat(days, ',') .. '],"flapping":[' .. table.concat(flapping, ',') .. '],"flapping_count":' .. flapping_count .. '}'
