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

-- The expire check over a list of shard ids (strings): each shard whose health key is gone and whose
-- state can expire turns unhealthy. Health keys share the cluster's hash tag, so they live in the slot
-- of the declared keys. Returns how many turned unhealthy.
local function expire_ids(state_key, since_key, ver_key, hb_prefix, channel, cluster, ids)
  if #ids == 0 then
    return 0
  end
  local states = redis.call('HMGET', state_key, unpack(ids))
  local changed = 0
  for i, id in ipairs(ids) do
    if can_expire(states[i]) and redis.call('EXISTS', hb_prefix .. id) == 0 then
      change(state_key, since_key, ver_key, channel, cluster, id, '1')
      changed = changed + 1
    end
  end
  return changed
end
