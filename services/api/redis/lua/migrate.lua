-- migrate.lua -- builds a cluster's strings from the hashes that builds before them kept the same data in, once
-- each, and deletes the hashes: the states string from the state hash (shard id -> state), the figs string from
-- the figures hash (shard id -> its FIGURES_SIZE packed bytes, lib.lua). Run at every (re)connect; it costs one
-- EXISTS when there is nothing to do. A string that exists already is never overwritten (its hash is then left
-- alone). Replicas of the old and the new layout must not run together (docs/OPERATIONS.md, "Upgrades").
-- KEYS: states, the old state hash, figs, the old figures hash
-- ARGV: the cluster's shard count (a figure of a shard past it is dropped, as the replicas ignored it)
-- Returns {states moved, shards whose figures moved}.
if redis.call('EXISTS', KEYS[2], KEYS[4]) == 0 then
  return {0, 0}
end

local states = 0
if redis.call('EXISTS', KEYS[1]) == 0 and redis.call('EXISTS', KEYS[2]) == 1 then
  local pairs_ = redis.call('HGETALL', KEYS[2])
  for i = 1, #pairs_, 2 do
    local id, state = tonumber(pairs_[i]), pairs_[i + 1]
    if id and id >= 0 and #state == 1 and state >= '0' and state <= '6' then
      redis.call('SETRANGE', KEYS[1], id, state)
      states = states + 1
    end
  end
  redis.call('DEL', KEYS[2])
end

-- the figs string is made whole in Lua and written with one SET, and the hash is freed in the background (UNLINK):
-- all of it holds Redis up, and at a million shards a SETRANGE per shard and a DEL took about 3 s where this takes 2
local figures = 0
if redis.call('EXISTS', KEYS[3]) == 0 and redis.call('EXISTS', KEYS[4]) == 1 then
  local pairs_, shards, by_id, top = redis.call('HGETALL', KEYS[4]), tonumber(ARGV[1]), {}, -1
  for i = 1, #pairs_, 2 do
    local id, v = tonumber(pairs_[i]), pairs_[i + 1]
    if id and id >= 0 and id < shards and id == math.floor(id) and #v == FIGURES_SIZE and v ~= FIGURES_NONE then
      by_id[id] = v
      if id > top then top = id end
      figures = figures + 1
    end
  end
  if top >= 0 then
    local pieces = {}
    for id = 0, top do pieces[id + 1] = by_id[id] or FIGURES_NONE end
    redis.call('SET', KEYS[3], table.concat(pieces))
  end
  redis.call('UNLINK', KEYS[4])
end
return {states, figures}
