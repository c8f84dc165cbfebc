-- report.lua -- a cluster's batch report (POST /api/clusters/<cluster>/report): many shards' states and pings,
-- with their figures, all or nothing. Each item is what status.lua (a state) or health.lua (no state) does alone.
-- KEYS: states, since hash, version key, figs string, the five history keys (lib.lua, history_keys), then the
--       health key of each item
-- ARGV: events channel, cluster, the log's length to keep, health timeout (s), then six per item: shard id, state
--       ('' for a ping), latency, guilds, unavailable guilds, members ('' for a figure not reported, '-' for one
--       reported as null)
-- Returns how many shards changed state, or -i when item i (from 1) is a ping for a shard that never had a status
-- (then nothing is written).
local ITEM, FIRST = 6, 5
local items = (#ARGV - FIRST + 1) / ITEM

-- every ping must find a state before anything is written (a report lists a shard once: the replica checked)
for i = 1, items do
  local a = FIRST + (i - 1) * ITEM
  if ARGV[a + 1] == '' and not get_state(KEYS[1], ARGV[a]) then
    return -i
  end
end

-- one time for the whole report: its changes' since, its figures' time, and its health keys run out a timeout after
-- it to the millisecond (PXAT), all together, however long the script takes (a replica's deadline for them is
-- counted from that time: never before the keys are gone)
local h, now = history_keys(5, ARGV[3]), now_ms()
local expires = int(now + tonumber(ARGV[4]) * 1000)
local changes, ids, figured, pinged = {}, {}, {}, {}
for i = 1, items do
  local a = FIRST + (i - 1) * ITEM
  local id, state = ARGV[a], ARGV[a + 1]
  redis.call('SET', KEYS[9 + i], '1', 'PXAT', expires)
  local old = get_state(KEYS[1], id)
  if state == '' then state = old == '1' and '3' or old end
  if old ~= state then
    -- made together below, the accounting once for the report
    changes[#changes + 1] = id
    changes[#changes + 1] = old or false
    changes[#changes + 1] = state
  else
    pinged[#pinged + 1] = struct.pack('>I4', tonumber(id))
  end
  if ARGV[a + 2] ~= '' or ARGV[a + 3] ~= '' or ARGV[a + 4] ~= '' or ARGV[a + 5] ~= '' then
    ids[#ids + 1] = id
    figured[#figured + 1] = a + 2
  end
end

if #changes > 0 then
  change_all(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], changes, h, now)
end
if #pinged > 0 then
  redis.call('PUBLISH', ARGV[1], cmsgpack.pack({3, ARGV[2], table.concat(pinged)}))
end

-- the figures in one read and one write where they can be. A bot reports the shards it runs, mostly a run of ids:
-- when the reported shards fill at least a quarter of the span from the lowest to the highest, the span is read with
-- one GETRANGE and written back with one SETRANGE (the shards between them as they were); else each shard's bytes
-- are read and written alone, so that a scattered report never moves much more than its own. (A call each way per
-- shard made a report of 16 cost Redis about a third more than the hash's HMGET and HSET had.)
if #ids > 0 then
  local lo, hi = math.huge, -1
  for _, id in ipairs(ids) do
    local n = tonumber(id)
    if n < lo then lo = n end
    if n > hi then hi = n end
  end
  if hi - lo + 1 <= 4 * #ids then
    local span = redis.call('GETRANGE', KEYS[4], int(lo * FIGURES_SIZE), int((hi + 1) * FIGURES_SIZE - 1))
    local pieces = {}
    for k = 1, hi - lo + 1 do
      -- past the string's end there is nothing: zero bytes, as SETRANGE would pad them
      local b = string.sub(span, (k - 1) * FIGURES_SIZE + 1, k * FIGURES_SIZE)
      pieces[k] = #b == FIGURES_SIZE and b or FIGURES_NONE
    end
    for i, id in ipairs(ids) do
      local k = tonumber(id) - lo + 1
      local old = pieces[k]
      pieces[k] = merge_figures(old ~= FIGURES_NONE and old or nil, ARGV, figured[i], now)
    end
    redis.call('SETRANGE', KEYS[4], int(lo * FIGURES_SIZE), table.concat(pieces))
  else
    for i, id in ipairs(ids) do
      set_figures(KEYS[4], id, merge_figures(get_figures(KEYS[4], id), ARGV, figured[i], now))
    end
  end
end
return #changes / 3
