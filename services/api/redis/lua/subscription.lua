-- subscription.lua -- the visitors' subscriptions (a Discord webhook told of incidents, maintenance and, for a server,
-- its shard going down): checked before the confirmation message is sent, added once it was, changed and removed by
-- the secret of their management link. glance-api has validated every field (subscription_input.c).
-- A record (JSON, in the subs hash under its id): {id, url, hook (the webhook's id: a webhook holds a few at most),
-- shown, secret, scope ("all", "clusters" or "guild"), clusters (names; "clusters" only), guild (a string), shards
-- (cluster name -> the shard serving the guild there; "guild" only), created_ms, base (the management link's site)}.
-- Indexed for delivery: scope "all" in the all set; "clusters" in each named cluster's subs set; "guild" in each
-- cluster's guild sorted set, scored by the shard that serves it there.
-- KEYS: subs hash, hooks hash (webhook id -> its subscriptions), next id, all set, refused counter (confirmations
--       a webhook refused in the last 10 minutes, across replicas), the client address's attempts this hour, its
--       refused confirmations this hour, the webhook's confirmation in flight (a lock), the confirmations sent this
--       minute across replicas, then each configured cluster's subs set and guild sorted set, in the order of ARGV[2]
--       (the address's and the webhook's keys: any key of ours when the mode has neither)
-- ARGV[1]: "check" (hook id, per hour, most subscriptions, per webhook, most refused, confirmation's lock ms, most
--          confirmations a minute, most refused per address): {0, new id}, or {-1, seconds until the address may
--          try again}, {-2} full, {-3} the webhook has its most, {-4} too many refused lately, {-5, seconds} too many
--          confirmations this minute, {-6} a confirmation to this webhook is on its way;
--          "add" (id, record, most subscriptions, per webhook): 0, -2 or -3, and the webhook's lock let go;
--          "refused": a confirmation the webhook refused (401, 403, 404, 429), counted, its lock let go;
--          "release": a confirmation that failed otherwise: its lock let go;
--          "get" (id, secret): the record, or nil;
--          "change" (id, secret, {scope, clusters, guild, shards}): the new record, or nil;
--          "remove" (id, secret): 1, or 0 when there is no such subscription;
--          "drop" (id): the same without the secret, for a webhook Discord says is gone (subscriber_sender.c).
-- ARGV[2]: the configured clusters' names, comma-separated.

local mode = ARGV[1]
local REFUSED_WINDOW_S, RATE_WINDOW_S, CONFIRM_WINDOW_S = 600, 3600, 60

local cluster_keys = {}
do
  local i = 0
  for name in string.gmatch(ARGV[2], '[^,]+') do
    cluster_keys[name] = {set = KEYS[10 + 2 * i], guild = KEYS[11 + 2 * i]}
    i = i + 1
  end
end

-- Adds (or with `add` false, removes) a record's id to the indexes its scope names. A cluster no longer configured
-- is passed over: its keys are not among these.
local function index(rec, add)
  local id = tostring(rec.id)
  if rec.scope == 'all' then
    redis.call(add and 'SADD' or 'SREM', KEYS[4], id)
  elseif rec.scope == 'clusters' then
    for _, name in ipairs(rec.clusters) do
      local k = cluster_keys[name]
      if k then redis.call(add and 'SADD' or 'SREM', k.set, id) end
    end
  else
    for name, shard in pairs(rec.shards) do
      local k = cluster_keys[name]
      if k then
        if add then redis.call('ZADD', k.guild, shard, id) else redis.call('ZREM', k.guild, id) end
      end
    end
  end
end

-- The record `id` when `secret` is its own; nil otherwise (no such subscription, or not its secret: alike).
local function owned(id, secret)
  local raw = redis.call('HGET', KEYS[1], id)
  if not raw then return nil end
  local rec = cjson.decode(raw)
  if rec.secret ~= secret then return nil end
  return rec
end

-- Whether one more fits: -2 when the subscriptions are at their most, -3 when this webhook has its most; else 0.
local function room(hook, most, per_hook)
  if redis.call('HLEN', KEYS[1]) >= most then return -2 end
  if tonumber(redis.call('HGET', KEYS[2], hook) or '0') >= per_hook then return -3 end
  return 0
end

-- INCR with a window: the key lives `window` seconds from its first count (a key left without one gets it).
local function count(key, window)
  local n = redis.call('INCR', key)
  if n == 1 or redis.call('TTL', key) < 0 then redis.call('EXPIRE', key, window) end
  return n
end

if mode == 'check' then
  if count(KEYS[6], RATE_WINDOW_S) > tonumber(ARGV[4]) or
     tonumber(redis.call('GET', KEYS[7]) or '0') >= tonumber(ARGV[10]) then
    return {-1, math.max(redis.call('TTL', KEYS[6]), redis.call('TTL', KEYS[7]), 1)}
  end
  local fits = room(ARGV[3], tonumber(ARGV[5]), tonumber(ARGV[6]))
  if fits ~= 0 then return {fits} end
  if tonumber(redis.call('GET', KEYS[5]) or '0') >= tonumber(ARGV[7]) then return {-4} end
  if tonumber(redis.call('GET', KEYS[9]) or '0') >= tonumber(ARGV[9]) then
    return {-5, math.max(redis.call('TTL', KEYS[9]), 1)}
  end
  if not redis.call('SET', KEYS[8], '1', 'NX', 'PX', ARGV[8]) then return {-6} end
  count(KEYS[9], CONFIRM_WINDOW_S)
  return {0, redis.call('INCR', KEYS[3])}
elseif mode == 'add' then
  local rec = cjson.decode(ARGV[4])
  redis.call('DEL', KEYS[8])
  local fits = room(rec.hook, tonumber(ARGV[5]), tonumber(ARGV[6]))
  if fits ~= 0 then return fits end
  redis.call('HSET', KEYS[1], ARGV[3], ARGV[4])
  redis.call('HINCRBY', KEYS[2], rec.hook, 1)
  index(rec, true)
  return 0
elseif mode == 'refused' then
  redis.call('DEL', KEYS[8])
  count(KEYS[7], RATE_WINDOW_S)
  return count(KEYS[5], REFUSED_WINDOW_S)
elseif mode == 'release' then
  return redis.call('DEL', KEYS[8])
elseif mode == 'get' then
  local rec = owned(ARGV[3], ARGV[4])
  return rec and cjson.encode(rec)
elseif mode == 'change' then
  local rec = owned(ARGV[3], ARGV[4])
  if not rec then return nil end
  local new = cjson.decode(ARGV[5])
  index(rec, false)
  rec.scope, rec.clusters, rec.guild, rec.shards = new.scope, new.clusters, new.guild, new.shards
  rec.msgs = nil -- the messages of shard episodes were about the shards it served
  index(rec, true)
  local raw = cjson.encode(rec)
  redis.call('HSET', KEYS[1], ARGV[3], raw)
  return raw
elseif mode == 'remove' or mode == 'drop' then
  local rec
  if mode == 'remove' then
    rec = owned(ARGV[3], ARGV[4])
  else
    local raw = redis.call('HGET', KEYS[1], ARGV[3])
    rec = raw and cjson.decode(raw)
  end
  if not rec then return 0 end
  index(rec, false)
  redis.call('HDEL', KEYS[1], ARGV[3])
  if redis.call('HINCRBY', KEYS[2], rec.hook, -1) <= 0 then redis.call('HDEL', KEYS[2], rec.hook) end
  return 1
end
return redis.error_reply('subscription.lua: unknown mode ' .. tostring(mode))
