-- lib.lua -- shared by every transition script; prepended to each of them at build time.
-- Events are msgpack arrays so that msgpack-c decodes them without key lookups:
--   {1, cluster, shard, state, version, since_ms}   a state change
--   {2, cluster, shard}                             a health ping

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Record a state change and announce it. The caller has already decided that it is one.
local function change(state_key, since_key, ver_key, channel, cluster, id, state)
  local now = now_ms()
  redis.call('HSET', state_key, id, state)
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
