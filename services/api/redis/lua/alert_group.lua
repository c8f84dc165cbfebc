-- alert_group.lua -- make the webhooks' consumer groups on the alerts stream that do not exist yet, all at one
-- position, in one call: each webhook reads the stream as a group of its own, so a dead or slow one holds back
-- only itself.
-- Where a missing group starts:
-- * beside groups of other webhooks (a webhook added to the configuration): at the newest of their positions, so a
--   new webhook gets what is new, not the stream's past;
-- * with only the single group of the builds before per-webhook delivery ("glance-alerts"): where that group had
--   not finished (its first pending alert, else its last read), so an upgrade neither sends again nor skips;
-- * with no group at all (a new stream, or a Redis that lost its data): at the stream's start, so an alert written
--   before any sender made the groups again is still delivered.
-- KEYS: alerts stream
-- ARGV: the groups, "glance-alerts:<webhook id>"
-- Returns the position the missing groups were made at, or "" when every group existed.
local ok, groups = pcall(redis.call, 'XINFO', 'GROUPS', KEYS[1])
if not ok then groups = {} end -- no stream yet: XGROUP CREATE ... MKSTREAM makes it

-- stream ids "ms-seq": true when a is before b
local function before(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  if am ~= bm then return tonumber(am) < tonumber(bm) end
  return tonumber(as) < tonumber(bs)
end
-- the id just before `id`, so that a group made there reads `id` next
local function just_before(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  if seq ~= '0' then return ms .. '-' .. string.format('%.0f', tonumber(seq) - 1) end
  if ms == '0' then return '0' end
  return string.format('%.0f', tonumber(ms) - 1) .. '-18446744073709551615'
end

local exists, newest, legacy = {}, nil, nil
for _, g in ipairs(groups) do
  local info = {}
  for i = 1, #g, 2 do info[g[i]] = g[i + 1] end
  exists[info.name] = true
  if string.sub(info.name, 1, 14) == 'glance-alerts:' then
    if newest == nil or before(newest, info['last-delivered-id']) then newest = info['last-delivered-id'] end
  elseif info.name == 'glance-alerts' then
    legacy = info['last-delivered-id']
    if info.pending > 0 then
      legacy = just_before(redis.call('XPENDING', KEYS[1], info.name)[2])
    end
  end
end
local start = newest or legacy or '0'
local made = false
for _, group in ipairs(ARGV) do
  if not exists[group] then
    redis.call('XGROUP', 'CREATE', KEYS[1], group, start, 'MKSTREAM')
    made = true
  end
end
return made and start or ''
