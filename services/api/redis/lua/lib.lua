-- lib.lua -- shared by every transition script; prepended to each of them at build time.
-- A cluster's states are one string, a byte per shard: '0'..'6' for a state a bot reported, a zero byte
-- (SETRANGE's padding) or nothing for a shard that never reported. A snapshot is then one GET of N bytes.
-- Every key a script touches arrives in KEYS (health keys included), so ACL key patterns and the EVAL
-- contract hold; they all carry the cluster's hash tag.
-- Each change also writes the cluster's history (record, below): shard-time per UTC day and hour in the history
-- hash, the change in the capped log stream and in the shard's story (the recent hash), flapping shards in a
-- sorted set; maintenance windows come from the cluster's maint hash.
-- Events are msgpack arrays so that msgpack-c decodes them without key lookups:
--   {1, cluster, shard, state, version, since_ms}   a state change
--   {2, cluster, shard}                             a health ping
--   {3, cluster, ids}                               a batch report's pings: ids is a string of 4-byte big-endian
--                                                   shard ids, one message for all of them

-- The decimal text of an integer-valued number. Given a number, redis.call formats it with %.17g, which costs a few
-- microseconds each time (as does string.format's %.0f); %d is an integer conversion, a tenth of that.
local function int(x)
  return string.format('%d', x)
end

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

-- Only what every script needs is made at each call: Redis runs a script's whole text, this file's included, at
-- every EVALSHA, and every function defined here is a closure allocated then, for the collector. The history (made by
-- a change), the gateway counters (by a report that has them) and the incidents are each made by a function the
-- first time a script asks for them (history(), gateway(), incidents()): a health ping, the most common call,
-- makes none of them.

local DAY_MS, HOUR_MS = 86400000, 3600000
local KEEP_DAYS, KEEP_HOURS = 90, 48
local FLAP_WINDOW_MS = HOUR_MS -- within which trouble counts towards flapping (history(), trouble)
-- A shard's story is its last RECENT_KEPT changes, oldest first, STORY_ENTRY bytes each (history(), logged_story).
local STORY_ENTRY = 8

-- The history keys, KEYS[first..first+4]: history hash, maintenance windows, shard stories, flapping shards, log.
local function history_keys(first, log_max)
  return {hist = KEYS[first], maint = KEYS[first + 1], recent = KEYS[first + 2], flapping = KEYS[first + 3],
          log = KEYS[first + 4], log_max = log_max}
end

local history_made
local function history()
  if history_made then return history_made end
  -- History. Each change is accounted as shard-time: since the cluster's last change (`at` in its history hash) the
  -- shards stood still, so `n` (how many shards are in each reported state, 1..6) times the elapsed milliseconds is
  -- what each state earned. That time is added to the UTC day (`d:<day>`) and hour (`h:<hour>`, for the 24 h figure)
  -- it fell in, split at midnight, at the hour and at the start and end of the cluster's maintenance windows. A bucket
  -- holds eight integers: shard-ms in states 1..6 outside maintenance, then the down (unhealthy, offline) and the
  -- other shard-ms inside maintenance. Reads add the stretch since `at` the same way, without writing it.
  local BUCKETS = {{ms = DAY_MS, prefix = 'd:', kept = KEEP_DAYS}, {ms = HOUR_MS, prefix = 'h:', kept = KEEP_HOURS}}
  local RECENT_KEPT = 12                       -- transitions a shard's story keeps
  -- A shard flaps when FLAP_TROUBLES of the changes in its story within FLAP_WINDOW_MS are trouble: going down
  -- (unhealthy or offline) from up (online, starting, resuming), or resuming (its gateway connection dropped). A
  -- restart's orderly lifecycle is none, even when the new process takes longer than the health timeout to come
  -- (online, stopping, unhealthy, starting, online): a deploy marks no shard. A first report of offline is no crash, and
  -- a shard already down that goes down another way (offline, then silent) is the same trouble.
  local FLAP_TROUBLES = 3
  local UNHEALTHY, OFFLINE, ONLINE, STARTING, RESUMING = 1, 2, 3, 4, 6
  local function trouble(from, to)
    if to == RESUMING then return true end
    return (to == UNHEALTHY or to == OFFLINE) and (from == ONLINE or from == STARTING or from == RESUMING)
  end

  -- A bucket's eight figures, or `n`'s six counts: decimal, space-separated, read and written in one call each.
  local PATTERN = {[6] = '^(%d+) (%d+) (%d+) (%d+) (%d+) (%d+)$', [8] = '^(%d+) (%d+) (%d+) (%d+) (%d+) (%d+) (%d+) (%d+)$'}
  local FORMAT = {[6] = '%d %d %d %d %d %d', [8] = '%d %d %d %d %d %d %d %d'}
  local function numbers(s, n)
    local t = {string.match(s or '', PATTERN[n])}
    if #t ~= n then
      t = {}
      for i = 1, n do t[i] = 0 end
      return t
    end
    for i = 1, n do t[i] = tonumber(t[i]) end
    return t
  end

  local function join(t)
    return string.format(FORMAT[#t], unpack(t))
  end

  -- How many shards of a states string are in each reported state (1..6).
  local function count_states(states)
    local n = numbers(nil, 6)
    for i = 1, #states do
      local b = string.byte(states, i) - 48
      if b >= 1 and b <= 6 then n[b] = n[b] + 1 end
    end
    return n
  end

  -- The maintenance windows of a cluster ({start, end} pairs from HGETALL of its maint hash, "start end" per
  -- incident), merged so that overlapping windows count once.
  local function windows(maint)
    local w = {}
    for i = 2, #maint, 2 do
      local s, e = string.match(maint[i], '^(%d+) (%d+)$')
      if s and tonumber(e) > tonumber(s) then w[#w + 1] = {tonumber(s), tonumber(e)} end
    end
    table.sort(w, function(a, b) return a[1] < b[1] end)
    local merged = {}
    for _, x in ipairs(w) do
      local last = merged[#merged]
      if last and x[1] <= last[2] then
        if x[2] > last[2] then last[2] = x[2] end
      else
        merged[#merged + 1] = {x[1], x[2]}
      end
    end
    return merged
  end

  local function in_windows(wins, a, b)
    local t = 0
    for _, w in ipairs(wins) do
      local s, e = math.max(a, w[1]), math.min(b, w[2])
      if e > s then t = t + e - s end
    end
    return t
  end

  -- Adds [a, b) at counts `n` to bucket `field` of `acc` (field -> eight figures).
  local function add_span(acc, field, n, wins, a, b)
    local m = in_windows(wins, a, b)
    local f = acc[field]
    if not f then
      f = numbers(nil, 8)
      acc[field] = f
    end
    for s = 1, 6 do f[s] = f[s] + n[s] * (b - a - m) end
    f[7] = f[7] + (n[1] + n[2]) * m
    f[8] = f[8] + (n[3] + n[4] + n[5] + n[6]) * m
  end

  -- The shard-time of [from, to) at counts `n`, as bucket deltas: {field -> eight figures}. Only buckets still kept
  -- at `to` are made, so a stretch of any length costs at most KEEP_DAYS + KEEP_HOURS pieces.
  local function accrue(from, to, n, wins)
    local acc = {}
    if to <= from or n[1] + n[2] + n[3] + n[4] + n[5] + n[6] == 0 then return acc end
    for _, b in ipairs(BUCKETS) do
      local a = math.max(from, (math.floor(to / b.ms) - b.kept + 1) * b.ms)
      while a < to do
        local i = math.floor(a / b.ms)
        local e = math.min(to, (i + 1) * b.ms)
        add_span(acc, b.prefix .. i, n, wins, a, e)
        a = e
      end
    end
    return acc
  end

  -- Drops buckets `p`<first>.. older than `oldest`, remembering the oldest kept in field `mark`.
  local function trim(hist_key, p, mark, first, oldest)
    if first == nil then
      redis.call('HSET', hist_key, mark, int(oldest))
      return
    end
    if first >= oldest then return end
    local gone = {}
    for i = math.max(first, oldest - 400), oldest - 1 do gone[#gone + 1] = p .. i end
    if #gone > 0 then redis.call('HDEL', hist_key, unpack(gone)) end
    redis.call('HSET', hist_key, mark, int(oldest))
  end

  -- A shard's story is its last RECENT_KEPT changes, oldest first, STORY_ENTRY bytes each: the ms (48 bits), the
  -- state it left and the one it took (struct '>I6BB').

  -- Appends shard `id`'s change from `old` (false when it never reported) to `new` at `now` to the cluster's log, and
  -- returns its story (`story`, as stored, or false when none) with the change at the end; marks it flapping when it
  -- starts to.
  local function logged_story(h, id, old, new, now, story)
    local o, w = tonumber(old or '0'), tonumber(new)
    -- the entry's ID carries the change's own time (its since), not the later moment Redis would pick for '*'; only
    -- when the clock went back past the log's last entry does Redis pick
    local from, to = int(o), int(w)
    local logged = redis.pcall('XADD', h.log, 'MAXLEN', '~', h.log_max, int(now) .. '-*', 's', id, 'f', from, 't', to)
    if type(logged) == 'table' and logged.err then
      redis.call('XADD', h.log, 'MAXLEN', '~', h.log_max, '*', 's', id, 'f', from, 't', to)
    end
    story = (story or '') .. struct.pack('>I6BB', now, o, w)
    if #story > RECENT_KEPT * STORY_ENTRY then story = string.sub(story, -RECENT_KEPT * STORY_ENTRY) end
    -- only a change that is trouble can make a shard flap: the others (most of them) read nothing more
    if trouble(o, w) then
      local troubles, at = 1, #story - 2 * STORY_ENTRY + 1
      while at >= 1 and troubles < FLAP_TROUBLES do
        local t, f, n = struct.unpack('>I6BB', story, at)
        if now - t >= FLAP_WINDOW_MS then break end
        if trouble(f, n) then troubles = troubles + 1 end
        at = at - STORY_ENTRY
      end
      -- a shard that starts to flap (not one that goes on) is the moment to forget those that stopped
      if troubles >= FLAP_TROUBLES and redis.call('ZADD', h.flapping, int(now), id) == 1 then
        redis.call('ZREMRANGEBYSCORE', h.flapping, '-inf', int(now - FLAP_WINDOW_MS))
      end
    end
    return story
  end

  -- Drops the windows of a maint hash (`maint`, its HGETALL) that are over at `now`, their time being accounted for
  -- by now, and returns what the history hash keeps under `mnext`: when the first remaining window begins (ms), or
  -- "none". A change before that moment skips the maint hash (record). Whatever writes a window (incident.lua)
  -- deletes `mnext`, so the next change reads the hash again and sets it anew.
  local function maint_summary(maint_key, maint, now)
    local first
    for i = 1, #maint, 2 do
      local s, e = string.match(maint[i + 1], '^(%d+) (%d+)$')
      if not e or tonumber(e) <= now then
        redis.call('HDEL', maint_key, maint[i])
      elseif not first or tonumber(s) < first then
        first = tonumber(s)
      end
    end
    return first and int(first) or 'none'
  end

  -- Accounts the time since the cluster's last change, then the changes in `list`, all at `now`, and appends each to
  -- the cluster's log and the shard's story. `list` is flat, three entries a change: shard id, the state it leaves
  -- (false when it never reported), the state it takes; one table however many changes, as a single change made 3,000
  -- times in a script (a batch report's) must not pay Lua's collector for more. `h` holds the history keys (see
  -- history_keys). However many changes there are, the history hash is read and written once and the stories in one
  -- HMGET and one HSET: an expire batch of 1,000 shards pays for the accounting once, not 1,000 times. A list holds at
  -- most 1,000 changes (STORE_MAX_BATCH, a report's items), well within what unpack takes. In the same hour as the last
  -- change (the common case), one HMGET and one HSET of the history hash.
  local function record(h, states_key, list, now)
    local dk, hk = 'd:' .. math.floor(now / DAY_MS), 'h:' .. math.floor(now / HOUR_MS)
    local head = redis.call('HMGET', h.hist, 'at', 'n', 'first', 'hfirst', dk, hk, 'mnext')
    local n = head[2] and numbers(head[2], 6) or count_states(redis.call('GET', states_key) or '')
    local at = tonumber(head[1] or now)
    -- `mnext` (see maint_summary) says when the first of the cluster's windows begins, or that it has none: until
    -- then no window touches [at, now] and none is over, so the maint hash need not be read at all
    local maint, wins = nil, {}
    if head[7] ~= 'none' and not (head[7] and now < tonumber(head[7])) then
      maint = redis.call('HGETALL', h.maint)
      wins = windows(maint)
    end
    local out = {}
    local span = now - at
    if span > 0 and #wins == 0 and math.floor(at / HOUR_MS) == math.floor(now / HOUR_MS) then
      -- the common case, said without accrue's tables: no maintenance window, and the last change in this hour (so
      -- this day) too, so the stretch falls in the two buckets the HMGET already read
      local d, hr = numbers(head[5], 8), numbers(head[6], 8)
      for k = 1, 6 do
        d[k] = d[k] + n[k] * span
        hr[k] = hr[k] + n[k] * span
      end
      if n[1] + n[2] + n[3] + n[4] + n[5] + n[6] > 0 then out = {dk, join(d), hk, join(hr)} end
      at = now
    elseif span > 0 then
      local acc = accrue(at, now, n, wins)
      local cur, others = {[dk] = head[5], [hk] = head[6]}, {}
      for f in pairs(acc) do
        if f ~= dk and f ~= hk then others[#others + 1] = f end
      end
      if #others > 0 then
        local got = redis.call('HMGET', h.hist, unpack(others))
        for i, f in ipairs(others) do cur[f] = got[i] end
      end
      for f, add in pairs(acc) do
        local v = numbers(cur[f], 8)
        for k = 1, 8 do v[k] = v[k] + add[k] end
        out[#out + 1] = f
        out[#out + 1] = join(v)
      end
      at = now
    end
    for i = 1, #list, 3 do
      local o, w = tonumber(list[i + 1] or '0'), tonumber(list[i + 2])
      if o >= 1 and o <= 6 and n[o] > 0 then n[o] = n[o] - 1 end
      if w >= 1 and w <= 6 then n[w] = n[w] + 1 end
    end
    out[#out + 1] = 'at'
    out[#out + 1] = int(at)
    out[#out + 1] = 'n'
    out[#out + 1] = join(n)
    if maint then
      out[#out + 1] = 'mnext'
      out[#out + 1] = maint_summary(h.maint, maint, now)
    end
    redis.call('HSET', h.hist, unpack(out))
    trim(h.hist, 'd:', 'first', tonumber(head[3]), math.floor(now / DAY_MS) - KEEP_DAYS + 1)
    trim(h.hist, 'h:', 'hfirst', tonumber(head[4]), math.floor(now / HOUR_MS) - KEEP_HOURS + 1)
    if #list == 3 then
      -- one change, said without tables: growing one costs Lua more than the whole of the story's update
      redis.call('HSET', h.recent, list[1], logged_story(h, list[1], list[2], list[3], now, redis.call('HGET', h.recent, list[1])))
      return
    end
    local ids, kept = {}, {}
    for i = 1, #list, 3 do ids[#ids + 1] = list[i] end
    local stories = redis.call('HMGET', h.recent, unpack(ids))
    for i = 1, #list, 3 do
      kept[#kept + 1] = list[i]
      kept[#kept + 1] = logged_story(h, list[i], list[i + 1], list[i + 2], now, stories[(i + 2) / 3])
    end
    redis.call('HSET', h.recent, unpack(kept))
  end


  -- Record state changes and announce them, with their history (record): `list` as record takes it, each shard at
  -- most once, every one a change the caller has decided is one. The since times go in one HSET and the versions in
  -- one INCRBY; each change still has its own event and version, in the list's order. `now` is their time (by default
  -- Redis's clock now). Returns the version after the last.
  local function change_all(states_key, since_key, ver_key, channel, cluster, list, h, now)
    now = now or now_ms()
    local at, count, since = int(now), #list / 3, {}
    record(h, states_key, list, now)
    for i = 1, #list, 3 do
      redis.call('SETRANGE', states_key, list[i], list[i + 2])
      since[#since + 1] = list[i]
      since[#since + 1] = at
    end
    redis.call('HSET', since_key, unpack(since))
    local ver = redis.call('INCRBY', ver_key, count)
    for i = 1, #list, 3 do
      redis.call('PUBLISH', channel, cmsgpack.pack({1, cluster, tonumber(list[i]), tonumber(list[i + 2]),
                                                   ver - count + (i + 2) / 3, now}))
    end
    return ver
  end

  -- One state change, as change_all makes a list of them: shard `id` leaves `old` (nil when it never reported) for
  -- `state`. Said on its own, without change_all's tables, as every status a bot reports is one: the tables cost Lua
  -- about 3 % more instructions a change (tests/bench/write_instructions.sh).
  local function change(states_key, since_key, ver_key, channel, cluster, id, state, old, h)
    local now = now_ms()
    record(h, states_key, {id, old or false, state}, now)
    redis.call('SETRANGE', states_key, id, state)
    redis.call('HSET', since_key, id, int(now))
    local ver = redis.call('INCR', ver_key)
    redis.call('PUBLISH', channel, cmsgpack.pack({1, cluster, tonumber(id), tonumber(state), ver, now}))
    return ver
  end

  history_made = {numbers = numbers, count_states = count_states, windows = windows, accrue = accrue,
                  record = record, change_all = change_all, change = change}
  return history_made
end

local function change_all(...)
  return history().change_all(...)
end

local function change(...)
  return history().change(...)
end

-- A shard's figures, in the cluster's figs string as the states are in theirs: shard i's FIGURES_SIZE bytes at offset
-- i * FIGURES_SIZE, when they were last reported (ms, 48 bits), then its latency (ms), guilds, unavailable guilds and
-- members, each FIGURE_ABSENT until first reported. A shard that never reported any has FIGURES_SIZE zero bytes
-- (SETRANGE's padding) or nothing: a reported-at of 0 is never a report's. One string, not a hash, so that a replica
-- reads a million shards' figures as GETRANGE chunks of contiguous bytes (figures.c), not as millions of fields.
local FIGURES_FORMAT, FIGURES_SIZE, FIGURE_ABSENT = '>I6I4I4I4I4', 22, 4294967295
-- FIGURES_SIZE zero bytes, written out: a constant of the script's text costs nothing at each call, string.rep would
local FIGURES_NONE = '\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0'

-- The packed figures of shard `id` (a string), or nil when it never reported any.
local function get_figures(figs_key, id)
  local at = tonumber(id) * FIGURES_SIZE
  local b = redis.call('GETRANGE', figs_key, int(at), int(at + FIGURES_SIZE - 1))
  if #b ~= FIGURES_SIZE or b == FIGURES_NONE then
    return nil
  end
  return b
end

-- A report's figures arrive as one argument (store_transitions.c, push_figures): latency, guilds, unavailable guilds
-- and members, each FIGURE_ABSENT when not reported and FIGURE_CLEAR when reported as null (forgotten); '' when the
-- report has none. Binary, not four decimals: Lua would make a string of each and tonumber would strtod it.
local FIGURES_GIVEN, FIGURE_CLEAR = '>I4I4I4I4', 4294967294

-- A figure as a report gives it (`a`) over its value `v`.
local function figure(a, v)
  if a == FIGURE_ABSENT then return v end
  if a == FIGURE_CLEAR then return FIGURE_ABSENT end
  return a
end

-- `old` (a packed value or nil) with the figures `given` (FIGURES_GIVEN), at `now`. Returns the packed record and
-- its latency (FIGURE_ABSENT when none). In locals, not a table: this runs for every report with figures, and a
-- table costs Lua more than the merge itself (as does a closure: tests/bench/report_instructions.sh).
local function merge_figures(old, given, now)
  local latency, guilds, unavailable, members = FIGURE_ABSENT, FIGURE_ABSENT, FIGURE_ABSENT, FIGURE_ABSENT
  if old then
    local _
    _, latency, guilds, unavailable, members = struct.unpack(FIGURES_FORMAT, old)
  end
  local l, g, u, m = struct.unpack(FIGURES_GIVEN, given)
  latency = figure(l, latency)
  return struct.pack(FIGURES_FORMAT, now, latency, figure(g, guilds), figure(u, unavailable), figure(m, members)),
    latency
end

-- The latency in a packed figures record (or nil), FIGURE_ABSENT when none.
local function latency_of(packed)
  if not packed or packed == FIGURES_NONE then return FIGURE_ABSENT end
  local _, latency = struct.unpack(FIGURES_FORMAT, packed)
  return latency
end

-- A shard's gateway counters, in the cluster's gw string as its figures are in figs: shard i's GATEWAY_SIZE bytes at
-- i * GATEWAY_SIZE (GATEWAY_FORMAT): when it last reported events (ms, 48 bits; 0 for a shard that never reported a
-- counter), its events (48 bits), resumes, identifies and disconnects (FIGURE_ABSENT until reported), its events per
-- second between its last two reports of them (in thousandths; FIGURE_ABSENT until two), when its events last grew
-- (ms, 48 bits), and the latency it had then. A replica calls a shard silent when its events stand still while it
-- reports them, and its latency stale when that latency is still the one it had when they stopped: a zombie
-- connection's library keeps the last acknowledged heartbeat's. A separate string from figs, so that bots that send no
-- counters pay nothing.
local GATEWAY_FORMAT, GATEWAY_SIZE = '>I6I6I4I4I4I4I6I4', 38
local GATEWAY_NONE = '\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0'
local EVENTS_ABSENT, RATE_MAX = 281474976710655, 4294967294
-- A report's counters as one argument (store_transitions.c, push_counters): events (48 bits), resumes, identifies,
-- disconnects, each all ones (EVENTS_ABSENT, FIGURE_ABSENT) when not reported; '' when the report has none.
local COUNTERS_GIVEN = '>I6I4I4I4'

-- `old` (packed, or nil) with the counters `given` (COUNTERS_GIVEN) at `now`, `latency` being the shard's latency after the same report. A counter below its last value
-- is a process that restarted: it grew by its new value, from 0; and so did every counter of a report whose events
-- went down (a new process whose first identify makes its count 1 again, as the old one's was, identified all the
-- same). Returns the packed record, and the identifies and resumes the report adds (0 for a counter seen the first
-- time: what it counted before is not news). Locals, not tables, as merge_figures: every report with counters runs it.
local function merge_gateway(old, given, now, latency)
  local at, events, resumes, identifies, disconnects, rate, grew_at, grew_latency =
    0, EVENTS_ABSENT, FIGURE_ABSENT, FIGURE_ABSENT, FIGURE_ABSENT, FIGURE_ABSENT, 0, FIGURE_ABSENT
  if old then
    at, events, resumes, identifies, disconnects, rate, grew_at, grew_latency = struct.unpack(GATEWAY_FORMAT, old)
  end
  local restarted = false
  local e, r, i, d = struct.unpack(COUNTERS_GIVEN, given)
  if e ~= EVENTS_ABSENT then
    if events == EVENTS_ABSENT then
      rate, grew_at, grew_latency = FIGURE_ABSENT, now, latency
    else
      -- a restarted process's events grew by their new value, from 0; its silence, if any, counts from now
      restarted = e < events
      local grown = restarted and e or e - events
      -- thousandths of events per second; the last rate when no time passed
      if now > at then rate = math.min(RATE_MAX, math.floor(grown * 1000000 / (now - at))) end
      if grown > 0 or restarted then grew_at, grew_latency = now, latency end
    end
    at, events = now, e
  end
  local added_identifies, added_resumes = 0, 0
  if r ~= FIGURE_ABSENT then
    if resumes ~= FIGURE_ABSENT then added_resumes = (r >= resumes and not restarted) and r - resumes or r end
    resumes = r
  end
  if i ~= FIGURE_ABSENT then
    if identifies ~= FIGURE_ABSENT then added_identifies = (i >= identifies and not restarted) and i - identifies or i end
    identifies = i
  end
  if d ~= FIGURE_ABSENT then disconnects = d end
  if at == 0 then at = now end
  return struct.pack(GATEWAY_FORMAT, at, events, resumes, identifies, disconnects, rate, grew_at, grew_latency),
    added_identifies, added_resumes
end

local gateway_made
local function gateway()
  if gateway_made then return gateway_made end
  -- What a report with counters needs only now and then (a shard's first counters, a session that grew, a batch
  -- report, a budget): made on first use, as history() is.

  -- A cluster's identifies and resumes per 10 seconds (the last 7, so that the replicas sum the last minute whatever
  -- the clock: clock minutes split a burst that straddles one) and per hour (the last 25), for the replicas' storm
  -- warning, kept in its gwc hash as rings: field 's<slice mod 7>' or 'h<hour mod 25>' holds "<slice or hour>
  -- <identifies> <resumes>", and a slot that holds another slice or hour has passed (counts 0). Bounded whatever the
  -- shards and the time. Only a report that adds some writes: most add none.
  local SLICE_MS, SESSION_SLICES, SESSION_HOURS = 10000, 7, 25
  -- `first`: a shard's counters were seen for the first time; the cluster's first is kept as 'since', from which on
  -- the replicas know its usual rate (gateway.c: a storm is judged against the time known, up to a day).
  local function count_sessions(gwc_key, now, identifies, resumes, first)
    if first then redis.call('HSETNX', gwc_key, 'since', int(now)) end
    if identifies + resumes == 0 then return end
    local m, h = math.floor(now / SLICE_MS), math.floor(now / HOUR_MS)
    local mf, hf = 's' .. int(m % SESSION_SLICES), 'h' .. int(h % SESSION_HOURS)
    local cur = redis.call('HMGET', gwc_key, mf, hf)
    local function add(slot, at)
      local t, i, r = string.match(slot or '', '^(%d+) (%d+) (%d+)$')
      if tonumber(t) ~= at then i, r = 0, 0 end
      return string.format('%d %d %d', at, tonumber(i) + identifies, tonumber(r) + resumes)
    end
    redis.call('HSET', gwc_key, mf, add(cur[1], m), hf, add(cur[2], h))
  end

  -- Records (of `size` bytes, `none` for one never written) of shards `ids` in string `key`, each replaced by
  -- merge(i, old or nil), in one read and one write where they can be. A bot reports the shards it runs, mostly a run of
  -- ids: when they fill at least a quarter of the span from the lowest to the highest, the span is read with one
  -- GETRANGE and written back with one SETRANGE (the shards between them as they were); else each shard's bytes are
  -- read and written alone, so that a scattered report never moves much more than its own. (A call each way per shard
  -- made a report of 16 cost Redis about a third more than one hash's HMGET and HSET had.)
  local function rewrite_records(key, size, none, ids, merge)
    local lo, hi = math.huge, -1
    for _, id in ipairs(ids) do
      local n = tonumber(id)
      if n < lo then lo = n end
      if n > hi then hi = n end
    end
    if hi - lo + 1 <= 4 * #ids then
      local span = redis.call('GETRANGE', key, int(lo * size), int((hi + 1) * size - 1))
      local pieces = {}
      for k = 1, hi - lo + 1 do
        -- past the string's end there is nothing: zero bytes, as SETRANGE would pad them
        local b = string.sub(span, (k - 1) * size + 1, k * size)
        pieces[k] = #b == size and b or none
      end
      for i, id in ipairs(ids) do
        local k = tonumber(id) - lo + 1
        local old = pieces[k]
        pieces[k] = merge(i, old ~= none and old or nil) or none
      end
      redis.call('SETRANGE', key, int(lo * size), table.concat(pieces))
    else
      for i, id in ipairs(ids) do
        local at = tonumber(id) * size
        local old = redis.call('GETRANGE', key, int(at), int(at + size - 1))
        local new = merge(i, #old == size and old ~= none and old or nil)
        if new then redis.call('SETRANGE', key, int(at), new) end
      end
    end
  end

  -- A cluster's session budget as its bot last reported it (Discord's GET /gateway/bot), in its gwc hash beside the
  -- session counts: args[first..first+3] are total, remaining, reset_after ms and max_concurrency; `now` is when.
  local function put_session(gwc_key, args, first, now)
    redis.call('HSET', gwc_key, 'total', args[first], 'remaining', args[first + 1], 'reset_after_ms', args[first + 2],
      'max_concurrency', args[first + 3], 'session_at_ms', int(now))
  end

  gateway_made = {count_sessions = count_sessions, rewrite_records = rewrite_records, put_session = put_session}
  return gateway_made
end

-- Stores the figures of one report when it has any, then its counters when `gw_key` (the cluster's gw string;
-- `gwc_key` its gwc hash) says it has them: args[first] is its figures (FIGURES_GIVEN, or ''), args[first+1..+2]
-- the range of the shard's record in figs; args[first+3] its counters (COUNTERS_GIVEN), args[first+4..+5] the range
-- of its record in gw. The replica formats the ranges: each number Lua makes a string of costs it a few thousand
-- instructions. One read and one write of each record.
local function put_figures(figs_key, args, first, gw_key, gwc_key)
  if not args[first] then return end
  local now = now_ms()
  local old = redis.call('GETRANGE', figs_key, args[first + 1], args[first + 2])
  if #old ~= FIGURES_SIZE or old == FIGURES_NONE then old = nil end
  local latency
  if args[first] ~= '' then
    local packed
    packed, latency = merge_figures(old, args[first], now)
    redis.call('SETRANGE', figs_key, args[first + 1], packed)
  else
    latency = latency_of(old)
  end
  if gw_key then
    local prev = redis.call('GETRANGE', gw_key, args[first + 4], args[first + 5])
    local fresh = #prev ~= GATEWAY_SIZE or prev == GATEWAY_NONE
    local new, identifies, resumes = merge_gateway(not fresh and prev or nil, args[first + 3], now, latency)
    redis.call('SETRANGE', gw_key, args[first + 4], new)
    if fresh or identifies + resumes > 0 then gateway().count_sessions(gwc_key, now, identifies, resumes, fresh) end
  end
end

local function ping(channel, cluster, id)
  redis.call('PUBLISH', channel, cmsgpack.pack({2, cluster, tonumber(id)}))
end

-- A shard can go unhealthy only from a state a bot reported (not unknown, not unhealthy already).
local function can_expire(state)
  return state and state ~= '0' and state ~= '1'
end

local incidents_made
local function incidents()
  if incidents_made then return incidents_made end
  -- Incidents and maintenance: one JSON record per id in the incidents hash (see incident.lua for its fields), the
  -- ids of those not resolved in the open set. `k` holds their keys: {list, next, open, notify (or nil)}.
  local UPDATES_KEPT = 50
  -- A record's JSON at most (the oldest updates go first; the newest always stays): with at most 50 open
  -- (STORE_INCIDENTS_OPEN_MAX) and the latest listed, the list a replica reads and renders stays a few MB however long
  -- the texts (4,000 bytes each at most).
  local RECORD_MAX_BYTES = 32768

  -- Tells the subscribers' sender (subscriber_sender.c) of a record opened, updated or resolved: an entry of the
  -- notify stream (k.notify, when the caller passed it), the latest NOTIFY_KEPT kept.
  local NOTIFY_KEPT = 1000
  local function said(k, rec, event)
    if not k.notify then return end
    local latest = rec.updates and rec.updates[1] or {}
    redis.call('XADD', k.notify, 'MAXLEN', '~', NOTIFY_KEPT, '*', 'id', tostring(rec.id), 'kind', rec.kind,
      'event', event, 'clusters', table.concat(rec.clusters or {}, ','), 'title', rec.title or '',
      'status', rec.status or '', 'text', latest.text or '', 'impact', rec.impact or '',
      'automatic', rec.automatic and '1' or '0', 'starts', string.format('%.0f', tonumber(rec.starts_ms) or 0),
      'ends', string.format('%.0f', tonumber(rec.ends_ms) or 0))
  end

  local function incident_new(k, rec, now, kept)
    local id = redis.call('INCR', k.next)
    rec.id = id
    rec.created_ms = now
    rec.resolved_ms = cjson.null
    redis.call('HSET', k.list, id, cjson.encode(rec))
    redis.call('SADD', k.open, id)
    said(k, rec, 'opened')
    -- the oldest beyond `kept` go, unless still open
    if id > kept and redis.call('SISMEMBER', k.open, id - kept) == 0 then redis.call('HDEL', k.list, id - kept) end
    return id
  end

  -- Adds an update to incident `id`; status 'resolved' or 'completed' resolves it. Returns the record, or nil and
  -- -1 (no such incident) or -2 (resolved already). A record resolved when it is older than the latest `kept` is
  -- dropped at once (its trim slot passed while it was open, and nothing else would ever trim it): then the third
  -- value is true, and the caller must not write the record again.
  local function incident_update(k, id, status, text, now, kept)
    local raw = redis.call('HGET', k.list, id)
    if not raw then return nil, -1 end
    local rec = cjson.decode(raw)
    if rec.resolved_ms ~= cjson.null then return nil, -2 end
    table.insert(rec.updates, 1, {at_ms = now, status = status, text = text})
    while #rec.updates > UPDATES_KEPT do table.remove(rec.updates) end
    while #rec.updates > 1 and #cjson.encode(rec) > RECORD_MAX_BYTES do table.remove(rec.updates) end
    rec.status = status
    local over = status == 'resolved' or status == 'completed'
    said(k, rec, over and 'resolved' or 'updated')
    if over then
      rec.resolved_ms = now
      redis.call('SREM', k.open, id)
      if tonumber(id) <= tonumber(redis.call('GET', k.next) or '0') - kept then
        redis.call('HDEL', k.list, id)
        return rec, 0, true
      end
    end
    redis.call('HSET', k.list, id, cjson.encode(rec))
    return rec, 0, false
  end

  -- The end of the maintenance window covering `now` in a cluster's maint hash (HGETALL), or nil.
  local function maintenance_until(maint, now)
    for _, w in ipairs(history().windows(maint)) do
      if w[1] <= now and now < w[2] then return w[2] end
    end
    return nil
  end

  -- How long an alert about what began at `since` must still wait at `now`: the rest of `delay` ms, or the rest of a
  -- maintenance window of the cluster's maint hash (`maint_key`) that covers now; nil when it may be recorded now.
  local function wait_ms(since, delay, maint_key, now)
    local left = since + delay - now
    if left > 0 then return left end
    local quiet_until = maintenance_until(redis.call('HGETALL', maint_key), now)
    if quiet_until then return quiet_until - now end
    return nil
  end

  incidents_made = {new = incident_new, update = incident_update, wait_ms = wait_ms, said = said,
                    maintenance_until = maintenance_until}
  return incidents_made
end
