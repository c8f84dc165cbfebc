-- latency.lua -- one cluster's latency for one minute, written into its latency hash: two fixed rings, so the hash
-- never holds more than MINUTE_SLOTS + HOUR_SLOTS fields, whatever the shard count and however long it runs.
--   field m % 1440 (minute m, minutes since the Unix epoch): "m p50 p95 shards", or "m" for a minute without data
--   field "h" .. (h % 720) (hour h):                          "h p50 p95 minutes", or "h" for an hour without data
-- A slot holding another minute (or hour) than the one a reader expects there is a gap: written a day (30 days)
-- earlier, or never. The hour is rewritten with every minute of it: its p50 is the median of its minutes' p50s,
-- its p95 the 95th percentile of its minutes' p95s, both nearest rank.
-- KEYS: the cluster's latency hash
-- ARGV: the minute, how many shards had a fresh latency (0: a gap), their median and 95th percentile (ms)
-- Returns 1, or 0 when that minute was written already (nothing is written then).
local MINUTE_SLOTS, HOUR_SLOTS = 1440, 720
local minute, shards = tonumber(ARGV[1]), tonumber(ARGV[2])
local slot = int(minute % MINUTE_SLOTS)
local old = redis.call('HGET', KEYS[1], slot)
if old and tonumber(string.match(old, '^(%d+)')) == minute then
  return 0
end
if shards > 0 then
  redis.call('HSET', KEYS[1], slot, string.format('%d %d %d %d', minute, tonumber(ARGV[3]), tonumber(ARGV[4]), shards))
else
  redis.call('HSET', KEYS[1], slot, int(minute))
end

-- the hour, from its minutes written so far
local hour = math.floor(minute / 60)
local fields = {}
for i = 0, 59 do fields[#fields + 1] = int((hour * 60 + i) % MINUTE_SLOTS) end
local p50s, p95s = {}, {}
for i, v in ipairs(redis.call('HMGET', KEYS[1], unpack(fields))) do
  if v then
    local m, a, b = string.match(v, '^(%d+) (%d+) (%d+) %d+$')
    if m and tonumber(m) == hour * 60 + i - 1 then
      p50s[#p50s + 1] = tonumber(a)
      p95s[#p95s + 1] = tonumber(b)
    end
  end
end
local function nearest_rank(t, q)
  table.sort(t)
  return t[math.max(1, math.ceil(q * #t / 100))]
end
local hour_field = 'h' .. int(hour % HOUR_SLOTS)
if #p50s > 0 then
  redis.call('HSET', KEYS[1], hour_field,
    string.format('%d %d %d %d', hour, nearest_rank(p50s, 50), nearest_rank(p95s, 95), #p50s))
else
  redis.call('HSET', KEYS[1], hour_field, int(hour))
end
return 1
