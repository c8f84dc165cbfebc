-- incident.lua -- an operator's write to the incidents and maintenance list: a new one, or an update to one.
-- Records are JSON: {id, kind ("incident" or "maintenance"), title, impact, clusters (names), automatic, status,
-- created_ms, resolved_ms (null while open), starts_ms and ends_ms (maintenance), updates (newest first:
-- {at_ms, status, text})}. glance-api has validated every field (incident_input.c); this script checks what only
-- Redis knows: that the incident exists and is open, and that the status suits its kind.
-- A maintenance window is also written into the maint hash of each cluster it concerns ("start end" under the
-- record's id), where the transition scripts find it (lib.lua, record).
-- KEYS: incidents hash, next id, open set, then the maint hash of every configured cluster
-- ARGV: "new" or "update", the request's JSON, the configured clusters' names (comma-separated, in KEYS order),
--       how many records to keep
-- Returns the id; -1 when there is no such incident, -2 when it is resolved already, -3 when the status does not
-- suit its kind.
local k = {list = KEYS[1], next = KEYS[2], open = KEYS[3]}
local req = cjson.decode(ARGV[2])
local now = now_ms()
local maint_key = {}
local i = 4
for name in string.gmatch(ARGV[3], '[^,]+') do
  maint_key[name] = KEYS[i]
  i = i + 1
end
local function set_window(rec, s, e)
  for _, c in ipairs(rec.clusters) do
    if e > s then
      redis.call('HSET', maint_key[c], rec.id, string.format('%.0f %.0f', s, e))
    else
      redis.call('HDEL', maint_key[c], rec.id)
    end
  end
end

if ARGV[1] == 'new' then
  local rec = {kind = req.kind, title = req.title, impact = req.impact, clusters = req.clusters, automatic = false,
               status = req.status, updates = {{at_ms = now, status = req.status, text = req.text}}}
  if req.kind == 'maintenance' then
    rec.starts_ms = req.starts_ms
    rec.ends_ms = req.ends_ms
  end
  local id = incident_new(k, rec, now, tonumber(ARGV[4]))
  if req.kind == 'maintenance' then set_window(rec, req.starts_ms, req.ends_ms) end
  return id
end

local raw = redis.call('HGET', k.list, req.id)
if not raw then return -1 end
local kind = cjson.decode(raw).kind
local maintenance_status = {scheduled = true, ['in progress'] = true, completed = true}
if (kind == 'maintenance') ~= (maintenance_status[req.status] == true) then return -3 end
local rec, err = incident_update(k, req.id, req.status, req.text, now)
if not rec then return err end
if kind == 'maintenance' and rec.resolved_ms ~= cjson.null and now < rec.ends_ms then
  -- finished early (or called off before it began): the window ends now
  rec.ends_ms = math.max(now, rec.starts_ms)
  redis.call('HSET', k.list, req.id, cjson.encode(rec))
  set_window(rec, rec.starts_ms, rec.ends_ms)
end
return req.id
