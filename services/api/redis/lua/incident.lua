-- incident.lua -- an operator's write to the incidents and maintenance list: a new one, or an update to one.
-- Records are JSON: {id, kind ("incident" or "maintenance"), title, impact, clusters (names), automatic, status,
-- created_ms, resolved_ms (null while open), starts_ms and ends_ms (maintenance), updates (newest first:
-- {at_ms, status, text})}. glance-api has validated every field (incident_input.c); this script checks what only
-- Redis knows: that the incident exists and is open, and that the status suits its kind.
-- A maintenance window is also written into the maint hash of each cluster it concerns ("start end" under the
-- record's id), where the transition scripts find it (lib.lua, record).
-- KEYS: incidents hash, next id, open set, then the maint hash of every configured cluster, then their history
--       hashes (in the same order: a window written drops the history's `mnext`, lib.lua's summary of the maint
--       hash, so that the next change reads the hash again), then the notify stream (what subscribers are told)
-- ARGV: "new", "update", "close" (only close the windows that are over) or "remind" (the request's JSON holds
--       remind_ms: the windows starting that soon said again to subscribers, once), the request's JSON, the configured
--       clusters' names (comma-separated, in KEYS order), how many records to keep, how many operators' records
--       may be open at once
-- Every call first closes the maintenance windows that are over (close_ended).
-- Returns the id (0 for "close"); -1 when there is no such incident, -2 when it is resolved already, -3 when the
-- status does not suit its kind, -4 when a new one would pass the open bound.

-- Closes the maintenance windows of the open set whose end has passed: resolved at their end, status completed,
-- out of the open set. Returns how many records operators made are still open (automatic incidents, one per cluster
-- at most, are not counted). HMGET in chunks: the set may hold more ids than Lua's unpack takes (a list written
-- before windows were closed).
local function close_ended(k, now, kept)
  local ids = redis.call('SMEMBERS', k.open)
  local last = tonumber(redis.call('GET', k.next) or '0')
  local open = 0
  for first = 1, #ids, 1000 do
    local chunk = {}
    for i = first, math.min(#ids, first + 999) do chunk[#chunk + 1] = ids[i] end
    for i, raw in ipairs(redis.call('HMGET', k.list, unpack(chunk))) do
      local rec = raw and cjson.decode(raw)
      if not rec then
        redis.call('SREM', k.open, chunk[i])
      elseif rec.kind == 'maintenance' and now >= rec.ends_ms then
        rec.resolved_ms = rec.ends_ms
        rec.status = 'completed'
        incidents().said(k, rec, 'resolved')
        if tonumber(chunk[i]) <= last - kept then
          redis.call('HDEL', k.list, chunk[i]) -- past its trim slot (incident_update, lib.lua)
        else
          redis.call('HSET', k.list, chunk[i], cjson.encode(rec))
        end
        redis.call('SREM', k.open, chunk[i])
      elseif not rec.automatic then
        open = open + 1
      end
    end
  end
  return open
end

local names = {}
for name in string.gmatch(ARGV[3], '[^,]+') do names[#names + 1] = name end
local k = {list = KEYS[1], next = KEYS[2], open = KEYS[3], notify = KEYS[4 + 2 * #names]}
local req = cjson.decode(ARGV[2])
local now = now_ms()
local maint_key, hist_key = {}, {}
for i, name in ipairs(names) do
  maint_key[name] = KEYS[3 + i]
  hist_key[name] = KEYS[3 + #names + i]
end
local function set_window(rec, s, e)
  for _, c in ipairs(rec.clusters) do
    if e > s then
      redis.call('HSET', maint_key[c], rec.id, string.format('%.0f %.0f', s, e))
    else
      redis.call('HDEL', maint_key[c], rec.id)
    end
    redis.call('HDEL', hist_key[c], 'mnext')
  end
end

local open = close_ended(k, now, tonumber(ARGV[4]))
if ARGV[1] == 'close' then return 0 end

if ARGV[1] == 'remind' then
  -- the maintenance windows that start within remind_ms, announced longer ago than that: said once more to the
  -- subscribers (a window announced closer to its start than that was said to them just now)
  local said = 0
  for _, id in ipairs(redis.call('SMEMBERS', k.open)) do
    local raw = redis.call('HGET', k.list, id)
    local rec = raw and cjson.decode(raw)
    if rec and rec.kind == 'maintenance' and not rec.reminded and now < rec.starts_ms and
       now >= rec.starts_ms - req.remind_ms and rec.starts_ms - rec.created_ms > req.remind_ms then
      rec.reminded = true
      redis.call('HSET', k.list, id, cjson.encode(rec))
      incidents().said(k, rec, 'reminder')
      said = said + 1
    end
  end
  return said
end

if ARGV[1] == 'new' then
  if open >= tonumber(ARGV[5]) then return -4 end
  local rec = {kind = req.kind, title = req.title, impact = req.impact, clusters = req.clusters, automatic = false,
               status = req.status, updates = {{at_ms = now, status = req.status, text = req.text}}}
  if req.kind == 'maintenance' then
    rec.starts_ms = req.starts_ms
    rec.ends_ms = req.ends_ms
  end
  local id = incidents().new(k, rec, now, tonumber(ARGV[4]))
  if req.kind == 'maintenance' then set_window(rec, req.starts_ms, req.ends_ms) end
  return id
end

local raw = redis.call('HGET', k.list, req.id)
if not raw then return -1 end
local kind = cjson.decode(raw).kind
local maintenance_status = {scheduled = true, ['in progress'] = true, completed = true}
if (kind == 'maintenance') ~= (maintenance_status[req.status] == true) then return -3 end
local rec, err, dropped = incidents().update(k, req.id, req.status, req.text, now, tonumber(ARGV[4]))
if not rec then return err end
if kind == 'maintenance' and rec.resolved_ms ~= cjson.null and now < rec.ends_ms then
  -- finished early (or called off before it began): the window ends now
  rec.ends_ms = math.max(now, rec.starts_ms)
  if not dropped then redis.call('HSET', k.list, req.id, cjson.encode(rec)) end
  set_window(rec, rec.starts_ms, rec.ends_ms)
end
return req.id
