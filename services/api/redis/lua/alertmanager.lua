-- alertmanager.lua -- one notification of Alertmanager's webhook (POST /api/alertmanager): one incident per
-- Alertmanager group, opened when the group fires, updated when the set of its firing alerts changes, resolved when
-- the group resolves. The groups hash maps each group's key to "<incident id> <digest>": the digest names the set of
-- firing alerts the incident last said, so Alertmanager's repeats and retries (the same set again) write nothing.
-- Incidents are the operators' records (lib.lua, incidents), marked automatic with source "alertmanager"; an
-- operator may update or resolve one. One an operator resolved stays resolved while its group repeats the same set;
-- a changed set opens another.
-- glance-api checked and shaped the notification (alertmanager_input.c): {group, status ("firing" or "resolved"),
-- digest, title, impact, clusters, text}.
-- KEYS: incidents hash, next id, open set, the notify stream (what subscribers are told), the groups hash, the time
--       of the last notification (written on every answer, so that one that changes nothing still moves this
--       connection's replication offset: with GLANCE_REDIS_WAIT_REPLICAS a retry of a write another connection made
--       is then confirmed only once a replica has that write too)
-- ARGV: the notification's JSON, how many incident records to keep, how many groups may have an open incident (the
--       hash holds twice that at most)
-- Returns {incident id or 0, event}: event 1 opened, 2 updated, 3 unchanged, 4 resolved, 5 none (a group resolved
-- with no open incident: told before, or never fired here); {0, -4} when a new group would pass the bound.
local k = {list = KEYS[1], next = KEYS[2], open = KEYS[3], notify = KEYS[4]}
local groups = KEYS[5]
local req = cjson.decode(ARGV[1])
local kept, max = tonumber(ARGV[2]), tonumber(ARGV[3])
local now = now_ms()
local OPENED, UPDATED, UNCHANGED, RESOLVED, NONE = 1, 2, 3, 4, 5
redis.call('SET', KEYS[6], int(now))

local entry = redis.call('HGET', groups, req.group)
local id, digest
if entry then id, digest = string.match(entry, '^(%d+) (%S*)$') end
local raw = id and redis.call('HGET', k.list, id)
local rec = raw and cjson.decode(raw)
local open = rec and rec.resolved_ms == cjson.null

if req.status == 'resolved' then
  redis.call('HDEL', groups, req.group)
  if not open then return {0, NONE} end
  incidents().update(k, id, 'resolved', req.text, now, kept)
  return {tonumber(id), RESOLVED}
end

if entry and digest == req.digest then
  -- a repeat, a retry, or the set of an incident an operator resolved (its record may be gone by now: only resolved
  -- ones are ever dropped): nothing new to say
  return {tonumber(id), UNCHANGED}
end

if open then
  -- alerts joined or resolved: said as an update, in the incident's own status (an operator may have moved it on);
  -- the record takes the notification's title and impact (what fires now) and names every cluster it has touched
  local named = {}
  for _, c in ipairs(rec.clusters) do named[c] = true end
  for _, c in ipairs(req.clusters) do
    if not named[c] then rec.clusters[#rec.clusters + 1] = c end
  end
  rec.title, rec.impact = req.title, req.impact
  redis.call('HSET', k.list, id, cjson.encode(rec))
  incidents().update(k, id, rec.status, req.text, now, kept)
  redis.call('HSET', groups, req.group, id .. ' ' .. req.digest)
  return {tonumber(id), UPDATED}
end

-- a new incident: for a new group, or one whose incident was resolved firing another set. The bound counts the
-- groups with an open incident; the hash also remembers as many again whose incident an operator resolved while they
-- still fired (so that their repeats stay quiet), and forgets those first when it is full.
local all = redis.call('HGETALL', groups)
local open_groups, closed = 0, {}
for i = 1, #all, 2 do
  local gid = string.match(all[i + 1], '^(%d+)')
  if gid and redis.call('SISMEMBER', k.open, gid) == 1 then
    open_groups = open_groups + 1
  else
    closed[#closed + 1] = all[i]
  end
end
if open_groups >= max then return {0, -4} end
if #all / 2 >= 2 * max then
  for _, g in ipairs(closed) do redis.call('HDEL', groups, g) end
end
local new = incidents().new(k, {kind = 'incident', title = req.title, impact = req.impact, clusters = req.clusters,
  automatic = true, source = 'alertmanager', status = 'investigating',
  updates = {{at_ms = now, status = 'investigating', text = req.text}}}, now, kept)
redis.call('HSET', groups, req.group, new .. ' ' .. req.digest)
return {new, OPENED}
