-- lib.lua -- shared by every transition script; prepended to each of them at build time.
-- A cluster's states are one string, a byte per shard: '0'..'6' for a state a bot reported, a zero byte
-- (SETRANGE's padding) or nothing for a shard that never reported. A snapshot is then one GET of N bytes.
-- Every key a script touches arrives in KEYS (health keys included), so ACL key patterns and the EVAL
-- contract hold; they all carry the cluster's hash tag.
-- Events are msgpack arrays so that msgpack-c decodes them without key lookups:
--   {1, cluster, shard, state, version, since_ms}   a state change
--   {2, cluster, shard}                             a health ping

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The state digit of shard `id` (a string), or nil when it never reported.
local function get_state(states_key, id)
  local b = redis.call('GETRANGE', states_key, id, id)
  if b == '' or b == '\0' then
    return nil
  end
  return b
end

-- Record a state change and announce it. The caller has already decided that it is one.
local function change(states_key, since_key, ver_key, channel, cluster, id, state)
  local now = now_ms()
  redis.call('SETRANGE', states_key, id, state)
  redis.call('HSET', since_key, id, now)
  local ver = redis.call('INCR', ver_key)
  redis.call('PUBLISH', channel, cmsgpack.pack({1, cluster, tonumber(id), tonumber(state), ver, now}))
  return ver
end

local function ping(channel, cluster, id)
  redis.call('PUBLISH', channel, cmsgpack.pack({2, cluster, tonumber(id)}))
end

-- A shard can go unhealthy only from a state a bot reported (not unknown, not unhealthy already).
local function can_expire(state)
  return state and state ~= '0' and state ~= '1'
end
