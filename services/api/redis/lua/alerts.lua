#!lua flags=no-writes
-- alerts.lua -- the latest alerts, newest first, with what became of each, as the JSON of GET /api/alerts.
-- Each webhook reads the stream as its own consumer group (alert_group.lua), so each alert says, per webhook:
-- "sent"; "not sent (why)"; "sending" while that webhook's group holds it; "waiting" until its group reads it;
-- "not sent" when no group of it will (the webhook was added after the alert). `delivery` sums them up: "sent" when
-- every webhook took it, else "sending" or "waiting" while one still may, else "not sent to <webhook> (why); ...";
-- with no webhook configured, "not sent".
-- A webhook that does not take a cluster's alerts (GLANCE_ALERT_ROUTES) is not listed for them, nor counted.
-- KEYS: alerts stream, delivery outcomes stream
-- ARGV: how many, the configured clusters (comma-separated), then each configured webhook's id, how it is shown
--       (scheme and host) and the clusters whose alerts it takes (",main,eu,", with "*" among them for a global
--       webhook, which also answers for an alert of a cluster no longer configured)
local names = {[0] = 'no data', 'operational', 'degraded', 'partial outage', 'major outage'}
local configured = {}
for name in string.gmatch(ARGV[2], '[^,]+') do configured[name] = true end
local webhooks = {}
for i = 3, #ARGV - 2, 3 do
  webhooks[#webhooks + 1] = {id = ARGV[i], shown = ARGV[i + 1], takes = ARGV[i + 2], group = 'glance-alerts:' .. ARGV[i]}
end

local function takes(w, cluster)
  if cluster == nil or not configured[cluster] then return string.find(w.takes, ',*,', 1, true) ~= nil end
  return string.find(w.takes, ',' .. cluster .. ',', 1, true) ~= nil
end

-- outcomes, newest first: per alert, per webhook, true (sent) or why not; `whole` for the builds that recorded one
-- outcome for all webhooks
local outcome, whole = {}, {}
for _, e in ipairs(redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 4000)) do
  local f = {}
  for i = 1, #e[2], 2 do f[e[2][i]] = e[2][i + 1] end
  if f.alert ~= nil and f.webhook ~= nil then
    outcome[f.alert] = outcome[f.alert] or {}
    if outcome[f.alert][f.webhook] == nil then
      outcome[f.alert][f.webhook] = f.outcome == 'sent' or (f.why or 'no reason recorded')
    end
  elseif f.alert ~= nil and whole[f.alert] == nil then
    whole[f.alert] = f.outcome
  end
end

-- each webhook group's position and what its consumers hold
local info_of = {}
local ok, groups = pcall(redis.call, 'XINFO', 'GROUPS', KEYS[1])
if ok then
  for _, g in ipairs(groups) do
    local info = {}
    for i = 1, #g, 2 do info[g[i]] = g[i + 1] end
    info_of[info.name] = info
  end
end
for _, w in ipairs(webhooks) do
  w.pending = {}
  if info_of[w.group] ~= nil then
    w.last_read = info_of[w.group]['last-delivered-id']
    for _, p in ipairs(redis.call('XPENDING', KEYS[1], w.group, '-', '+', 1000)) do
      w.pending[p[1]] = true
    end
  end
end

-- stream ids "ms-seq" in order
local function after(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  if am ~= bm then return tonumber(am) > tonumber(bm) end
  return tonumber(as) > tonumber(bs)
end

-- what became of alert `id`: the summary and the JSON array of each webhook's part
local function deliveries(id, cluster)
  local each, failed, sent, sending, waiting, asked = {}, {}, 0, false, false, 0
  local mine = outcome[id] or {}
  for _, w in ipairs(webhooks) do
    if takes(w, cluster) then
      asked = asked + 1
      local o, d = mine[w.id], nil
      if o == true then
        d = 'sent'
        sent = sent + 1
      elseif o ~= nil then
        d = 'not sent (' .. o .. ')'
        failed[#failed + 1] = w.shown .. ' (' .. o .. ')'
      elseif whole[id] ~= nil then
        d = whole[id]
      elseif w.pending[id] then
        d = 'sending'
        sending = true
      elseif w.last_read ~= nil and after(id, w.last_read) then
        d = 'waiting'
        waiting = true
      else
        d = 'not sent'
        failed[#failed + 1] = w.shown .. ' (never read for it)'
      end
      each[#each + 1] = cjson.encode({webhook = w.shown, id = w.id, delivery = d})
    end
  end
  local summary
  if asked == 0 then
    summary = 'not sent'
  elseif next(mine) == nil and whole[id] ~= nil then
    summary = whole[id]
  elseif sent == asked then
    summary = 'sent'
  elseif sending then
    summary = 'sending'
  elseif waiting then
    summary = 'waiting'
  else
    summary = 'not sent to ' .. table.concat(failed, '; ')
  end
  return summary, '[' .. table.concat(each, ',') .. ']'
end

local out = {}
for _, e in ipairs(redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', ARGV[1])) do
  local f = {}
  for i = 1, #e[2], 2 do
    f[e[2][i]] = e[2][i + 1]
  end
  local delivery, each = deliveries(e[1], f.cluster)
  local json
  if f.kind == 'gateway' then
    -- a gateway mark (gateway_alert.lua): on or off, in its own words
    json = cjson.encode({
      id = e[1], at_ms = tonumber(string.match(e[1], '^(%d+)')), cluster = f.cluster, kind = 'gateway',
      mark = f.mark, active = f.active == '1', since_ms = tonumber(f.since), text = f.text, delivery = delivery,
    })
  else
    json = cjson.encode({
      id = e[1], at_ms = tonumber(string.match(e[1], '^(%d+)')), cluster = f.cluster, kind = 'condition',
      condition = names[tonumber(f.condition)], previous = names[tonumber(f.previous)],
      since_ms = tonumber(f.since), down = tonumber(f.down), busy = tonumber(f.busy), total = tonumber(f.total),
      flapping = f.flapping == '1', delivery = delivery,
    })
  end
  -- the array spliced in: cjson would write an empty one as {}
  out[#out + 1] = string.sub(json, 1, -2) .. ',"webhooks":' .. each .. '}'
end
return '{"alerts":[' .. table.concat(out, ',') .. ']}'
