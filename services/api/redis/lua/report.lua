-- report.lua -- a cluster's batch report (POST /api/clusters/<cluster>/report, and POST .../gateway as a report of no
-- shards): many shards' states and pings, with their figures and gateway counters, and the cluster's session budget,
-- all or nothing. Each item is what status.lua (a state) or health.lua (no state) does alone.
-- KEYS: states, since hash, version key, figs string, gw string, gwc hash, the five history keys (lib.lua,
--       history_keys), then the health key of each item
-- ARGV: events channel, cluster, the log's length to keep, health timeout (s), the session budget's total,
--       remaining, reset_after ms and max_concurrency (all '' when not reported), the arguments per item (3, or 4
--       when an item has counters), then per item: shard id, state ('' for a ping), its figures (lib.lua,
--       FIGURES_GIVEN; '' for none), then when 4 its counters (COUNTERS_GIVEN; '' for none)
-- Returns how many shards changed state, or -i when item i (from 1) is a ping for a shard that never had a status
-- (then nothing is written).
-- a report without counters (most, and every one from a bot that sends none) is sent three arguments an item, not
-- four: an empty one costs Redis a Lua string an item
local ITEM, FIRST, HEALTH = tonumber(ARGV[9]), 10, 11
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
local h, now = history_keys(7, ARGV[3]), now_ms()
local expires = int(now + tonumber(ARGV[4]) * 1000)
local changes, figured, counted, pinged, latency = {}, {}, {}, {}, {}
for i = 1, items do
  local a = FIRST + (i - 1) * ITEM
  local id, state = ARGV[a], ARGV[a + 1]
  redis.call('SET', KEYS[HEALTH + i], '1', 'PXAT', expires)
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
  local counts = ITEM == 4 and ARGV[a + 3] ~= ''
  -- an item with counters reads its figures too: the latency it has when its events grow is kept with them
  if counts or ARGV[a + 2] ~= '' then figured[#figured + 1] = a end
  if counts then
    counted[#counted + 1] = a
    latency[a] = FIGURE_ABSENT -- set to the item's latency once its figures are read
  end
end

if #changes > 0 then
  change_all(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], changes, h, now)
end
if #pinged > 0 then
  redis.call('PUBLISH', ARGV[1], cmsgpack.pack({3, ARGV[2], table.concat(pinged)}))
end

-- the figures, then the counters, each in one read and one write where they can be (rewrite_records)
local G = gateway()
if #figured > 0 then
  local ids = {}
  for i, a in ipairs(figured) do ids[i] = ARGV[a] end
  G.rewrite_records(KEYS[4], FIGURES_SIZE, FIGURES_NONE, ids, function(i, old)
    local a = figured[i]
    if ARGV[a + 2] == '' then
      if latency[a] then latency[a] = latency_of(old) end
      return old
    end
    local new, l = merge_figures(old, ARGV[a + 2], now)
    if latency[a] then latency[a] = l end
    return new
  end)
end
if #counted > 0 then
  local ids, identifies, resumes, first = {}, 0, 0, false
  for i, a in ipairs(counted) do ids[i] = ARGV[a] end
  G.rewrite_records(KEYS[5], GATEWAY_SIZE, GATEWAY_NONE, ids, function(i, old)
    local a = counted[i]
    local new, di, dr = merge_gateway(old, ARGV[a + 3], now, latency[a])
    first = first or not old
    identifies, resumes = identifies + di, resumes + dr
    return new
  end)
  G.count_sessions(KEYS[6], now, identifies, resumes, first)
end
if ARGV[5] ~= '' then
  G.put_session(KEYS[6], ARGV, 5, now)
end
return #changes / 3
