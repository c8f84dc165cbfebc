#!lua flags=no-writes
-- shard.lua -- one shard as stored: state, when it last changed, how long it stays healthy, and its story: its
-- last transitions, its availability over 24 h and 7 days (from those transitions, so over the part of the window
-- they cover: covered_from_ms), and whether it flaps.
-- Read-only (no-writes), so it runs under maxmemory and on a replica.
-- KEYS: states, since hash, health key, shard stories, flapping shards, figs string, gw string
-- ARGV: shard id
-- Returns {state or -1, since ms or 0, health key's remaining ms (negative when gone), now ms, story JSON members,
-- its packed figures or '', its packed gateway counters or ''}.
local state = get_state(KEYS[1], ARGV[1])
local since = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
local now = now_ms()
local story = {}
local packed = redis.call('HGET', KEYS[4], ARGV[1]) or ''
for i = 1, #packed - STORY_ENTRY + 1, STORY_ENTRY do
  story[#story + 1] = {struct.unpack('>I6BB', packed, i)}
end
-- the shard's states as spans {from, to, state}, oldest first, from the first transition it keeps (or its last
-- change) to now
local spans = {}
for i, e in ipairs(story) do
  spans[#spans + 1] = {e[1], story[i + 1] and story[i + 1][1] or now, e[3]}
end
if #spans == 0 and state then spans[1] = {since, now, tonumber(state)} end
local function availability(span)
  local from, u, d = now - span, 0, 0
  for _, s in ipairs(spans) do
    local len = math.min(s[2], now) - math.max(s[1], from)
    if len > 0 and s[3] >= 1 and s[3] <= 2 then d = d + len elseif len > 0 and s[3] >= 3 then u = u + len end
  end
  if u + d <= 0 then return 'null' end
  return string.format('%.8f', u / (u + d))
end
local out = {}
for i = #story, 1, -1 do
  out[#out + 1] = string.format('{"at_ms":%.0f,"from":%d,"to":%d}', story[i][1], story[i][2], story[i][3])
end
local flap = tonumber(redis.call('ZSCORE', KEYS[5], ARGV[1]) or '0') >= now - FLAP_WINDOW_MS
local json = '"transitions":[' .. table.concat(out, ',') .. '],"availability":{"24h":' .. availability(DAY_MS) ..
  ',"7d":' .. availability(7 * DAY_MS) .. '},"covered_from_ms":' .. (spans[1] and string.format('%.0f', spans[1][1]) or 'null') ..
  ',"flapping":' .. (flap and 'true' or 'false')
local at = tonumber(ARGV[1]) * GATEWAY_SIZE
local gw = redis.call('GETRANGE', KEYS[7], int(at), int(at + GATEWAY_SIZE - 1))
if #gw ~= GATEWAY_SIZE or gw == GATEWAY_NONE then gw = '' end
return {tonumber(state or '-1'), since, redis.call('PTTL', KEYS[3]), now, json, get_figures(KEYS[6], ARGV[1]) or '', gw}
