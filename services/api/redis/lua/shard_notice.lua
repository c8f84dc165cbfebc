-- shard_notice.lua -- tells a server's subscribers (scope "guild") that the shard serving it went down, or came back,
-- once it has stayed so for the alert delay: said once per episode, whichever of the replicas asks first. Replicas ask
-- about the shards whose state changed (shard_notices.c); the truth is read here: the shard's state, since when, the
-- cluster's maintenance windows, and whether anyone listens to that shard at all.
-- An episode starts with a shard going down and lasts until it has been back for EPISODE_MS: a shard that goes down
-- again within it is flapping, which its subscribers' one message of the episode says (the sender edits it in place)
-- rather than a new message for every fall. Going down inside a maintenance window is said only if it outlasts it.
-- What is said goes into one notify stream entry per call, however many shards (kind "shard", the cluster in
-- `clusters`, `shards`: per shard "<id> <d|b> <episode's first fall ms> <its state's since ms> <falls>", comma-
-- separated), so that an outage of thousands of shards is a few entries of the capped stream, not thousands.
-- KEYS: states, since hash, the cluster's guild subscriptions (sorted set scored by shard), episodes hash (shard ->
--       "<first fall ms> <back since ms, 0 while down> <falls>"), maint hash, notify stream
-- ARGV: cluster name, delay ms, then the shard ids
-- Returns, per shard in order, 0 when nothing more is to be asked of it, else the ms after which to ask again; then,
-- last, how many notices this call said.

local EPISODE_MS = 3600000
local MAINT_RECHECK_MS = 30000 -- a window may be cut short: look again this often while one holds a fall back
local UNHEALTHY, OFFLINE, ONLINE = 1, 2, 3

local out, said = {}, {}
local n = #ARGV - 2
if redis.call('EXISTS', KEYS[3]) == 0 then
  -- no server listens to any shard of this cluster (the common case): nothing to say, nothing to keep (episodes of
  -- servers that all left since go with them: a server that subscribes later starts from nothing)
  redis.call('DEL', KEYS[4])
  for i = 1, n do out[i] = 0 end
  out[n + 1] = 0
  return out
end

local now = now_ms()
local delay = tonumber(ARGV[2])
local quiet_until = incidents().maintenance_until(redis.call('HGETALL', KEYS[5]), now)
local states = redis.call('GET', KEYS[1]) or ''
for i = 1, n do
  local id = ARGV[i + 2]
  local state = (string.byte(states, tonumber(id) + 1) or 48) - 48
  local down, up = state == UNHEALTHY or state == OFFLINE, state == ONLINE
  local ep = redis.call('HGET', KEYS[4], id)
  local first, back, falls
  if ep then
    first, back, falls = string.match(ep, '^(%d+) (%d+) (%d+)$')
    first, back, falls = tonumber(first), tonumber(back), tonumber(falls)
    if not first or (back > 0 and now - back >= EPISODE_MS) then
      redis.call('HDEL', KEYS[4], id)
      ep = nil
    end
  end
  out[i] = 0
  if redis.call('ZCOUNT', KEYS[3], id, id) == 0 then
    if ep then redis.call('HDEL', KEYS[4], id) end
  elseif down or up then
    local since = tonumber(redis.call('HGET', KEYS[2], id) or now)
    local left = since + delay - now
    if left > 0 then
      out[i] = left
    elseif down and (not ep or back > 0) then
      if quiet_until then
        out[i] = math.min(quiet_until - now, MAINT_RECHECK_MS)
      else
        if not ep then first, falls = since, 0 end
        falls = falls + 1
        redis.call('HSET', KEYS[4], id, string.format('%d 0 %d', first, falls))
        said[#said + 1] = string.format('%s d %d %d %d', id, first, since, falls)
      end
    elseif up and ep and back == 0 then
      redis.call('HSET', KEYS[4], id, string.format('%d %d %d', first, since, falls))
      said[#said + 1] = string.format('%s b %d %d %d', id, first, since, falls)
    end
  end
end
if #said > 0 then
  redis.call('XADD', KEYS[6], 'MAXLEN', '~', 1000, '*', 'kind', 'shard', 'event', 'shard', 'clusters', ARGV[1],
    'shards', table.concat(said, ','))
end
out[n + 1] = #said
return out
