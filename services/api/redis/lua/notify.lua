-- notify.lua -- one notify stream entry (an incident opened, updated or resolved; shards of a cluster gone down or
-- back, shard_notice.lua) delivered to every subscriber it concerns, each at its own pace: the entry's queue is a sorted set of subscription ids scored by when each is due
-- (0 at first). The sender claims the ones due, scoring them a lease ahead, so that what a sender that died held
-- comes due again for the next; a delivery done leaves the queue; one to try again is scored when. The entry is
-- acknowledged once its queue is empty. Every step is here, so that replicas racing for one entry cannot count a
-- subscriber twice or lose one.
-- KEYS: notify stream, planned hash (entry id -> "planned"), the entry's queue, the entry's tries hash (subscription
--       id -> failed tries), subs hash, all set, then for "plan" each of the entry's clusters' subs set and guild
--       sorted set
-- ARGV[1]: "plan" (group): the queue made once, of the subscriptions the entry concerns (the whole bot's, its
--          clusters', the servers' in its clusters; for a "shard" entry only the servers its shards serve), only
--          while the entry is pending in the group (one acknowledged is never planned again); returns how many are
--          queued, or -1 when it is not pending;
--          "claim" (lease ms, how many): up to that many due, leased: {id, record, id, record, ...}; when none is
--          due, {ms until the next is due} (-1: the queue is empty); a subscription removed since is dropped;
--          "done" (id[, cluster, episode, message id, since]): out of the queue; with the rest, the Discord message the
--          subscription was told of the cluster's shard episode in, and the since of the notice it shows, kept in its
--          record (`msgs`: cluster -> {episode, message id, since}, one per cluster at most) so that the episode's
--          next notice edits it and an older one retried past it is not sent; returns how many are left;
--          "retry" (id, "wait" ms | "fail"[, cluster, message id]): due again after the wait Discord asked for (not a
--          failed try), or after a backoff that doubles with each failed try (2 s to 60 s); with a cluster and message,
--          that message is forgotten first if the record still keeps it for the cluster (deleted in Discord: the next
--          try posts anew); returns its failed tries so far (0: it was done already);
--          "finish" (group): when the queue is empty, the entry acknowledged and forgotten: 1; else 0;
--          "poll" (group): 1 when the stream holds an entry the group has not read or not acknowledged, else 0 (the
--          entry's id is not used).
-- ARGV[2]: the entry's id
-- Times are Redis's clock, so that replicas whose clocks differ agree on when a delivery is due.

local mode, entry = ARGV[1], ARGV[2]

local CLAIM_MAX, BACKOFF_MS, BACKOFF_MAX_MS = 1000, 2000, 60000

if mode == 'plan' then
  if redis.call('HEXISTS', KEYS[2], entry) == 1 then return redis.call('ZCARD', KEYS[3]) end
  -- a replica that lost the lock may finish an entry while another reads it again: acknowledged, it is done
  if #redis.call('XPENDING', KEYS[1], ARGV[3], entry, entry, 1) == 0 then return -1 end
  local ids, seen = {}, {}
  local function take(list)
    for _, id in ipairs(list) do
      if not seen[id] then seen[id] = true; ids[#ids + 1] = id end
    end
  end
  local fields = (redis.call('XRANGE', KEYS[1], entry, entry)[1] or {})[2] or {}
  local f = {}
  for i = 1, #fields, 2 do f[fields[i]] = fields[i + 1] end
  if f.kind == 'shard' then
    -- the servers each shard serves, in the entry's one cluster
    for id in string.gmatch(f.shards or '', '(%d+) [db]') do
      if KEYS[8] then take(redis.call('ZRANGEBYSCORE', KEYS[8], id, id)) end
    end
  else
    take(redis.call('SMEMBERS', KEYS[6]))
    for i = 7, #KEYS - 1, 2 do
      take(redis.call('SMEMBERS', KEYS[i]))
      take(redis.call('ZRANGE', KEYS[i + 1], 0, -1))
    end
  end
  for first = 1, #ids, 500 do
    local args = {}
    for i = first, math.min(#ids, first + 499) do
      args[#args + 1] = 0
      args[#args + 1] = ids[i]
    end
    redis.call('ZADD', KEYS[3], unpack(args))
  end
  redis.call('HSET', KEYS[2], entry, 'planned')
  return #ids
elseif mode == 'claim' then
  local now = now_ms()
  local due = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, math.min(tonumber(ARGV[4]), CLAIM_MAX))
  if #due == 0 then
    local next = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
    return {next[2] and math.max(0, tonumber(next[2]) - now) or -1}
  end
  local out = {}
  local records = redis.call('HMGET', KEYS[5], unpack(due))
  for i, id in ipairs(due) do
    if records[i] then
      redis.call('ZADD', KEYS[3], now + tonumber(ARGV[3]), id)
      out[#out + 1] = id
      out[#out + 1] = records[i]
    else
      redis.call('ZREM', KEYS[3], id)
      redis.call('HDEL', KEYS[4], id)
    end
  end
  return out
elseif mode == 'done' then
  if ARGV[7] then
    local raw = redis.call('HGET', KEYS[5], ARGV[3])
    if raw then
      local rec = cjson.decode(raw)
      if type(rec.msgs) ~= 'table' then rec.msgs = {} end
      -- a notice retried past a later one (of its episode, or of a later episode) leaves the later one's message
      local had = rec.msgs[ARGV[4]]
      local ep, since = tonumber(ARGV[5]), tonumber(ARGV[7])
      local h_ep, h_since = type(had) == 'table' and tonumber(had[1]), type(had) == 'table' and tonumber(had[3])
      if not (h_ep and h_since and (h_ep > ep or (h_ep == ep and h_since > since))) then
        rec.msgs[ARGV[4]] = {ARGV[5], ARGV[6], ARGV[7]}
        redis.call('HSET', KEYS[5], ARGV[3], cjson.encode(rec))
      end
    end
  end
  redis.call('ZREM', KEYS[3], ARGV[3])
  redis.call('HDEL', KEYS[4], ARGV[3])
  return redis.call('ZCARD', KEYS[3])
elseif mode == 'retry' then
  if not redis.call('ZSCORE', KEYS[3], ARGV[3]) then return 0 end -- done meanwhile (by a sender before this one)
  local raw = ARGV[6] and redis.call('HGET', KEYS[5], ARGV[3])
  if raw then
    local rec = cjson.decode(raw)
    local had = type(rec.msgs) == 'table' and rec.msgs[ARGV[5]]
    if type(had) == 'table' and had[2] == ARGV[6] then
      rec.msgs[ARGV[5]] = nil
      redis.call('HSET', KEYS[5], ARGV[3], cjson.encode(rec))
    end
  end
  local tries = tonumber(redis.call('HGET', KEYS[4], ARGV[3]) or '0')
  local wait = tonumber(ARGV[4])
  if not wait then
    tries = redis.call('HINCRBY', KEYS[4], ARGV[3], 1)
    wait = math.min(BACKOFF_MS * 2 ^ (tries - 1), BACKOFF_MAX_MS)
  end
  redis.call('ZADD', KEYS[3], now_ms() + wait, ARGV[3])
  return math.max(tries, 1)
elseif mode == 'poll' then
  -- whether there is anything to send: an entry the group has not read, or one read and not acknowledged
  local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
  if not last then return 0 end
  local ok, groups = pcall(redis.call, 'XINFO', 'GROUPS', KEYS[1])
  if not ok then return 1 end
  for _, g in ipairs(groups) do
    local f = {}
    for i = 1, #g, 2 do f[g[i]] = g[i + 1] end
    if f.name == ARGV[3] then return (f.pending > 0 or f['last-delivered-id'] ~= last[1]) and 1 or 0 end
  end
  return 1
elseif mode == 'finish' then
  if redis.call('ZCARD', KEYS[3]) > 0 then return 0 end
  redis.call('XACK', KEYS[1], ARGV[3], entry)
  redis.call('HDEL', KEYS[2], entry)
  redis.call('DEL', KEYS[4])
  return 1
end
return redis.error_reply('notify.lua: unknown mode ' .. tostring(mode))
