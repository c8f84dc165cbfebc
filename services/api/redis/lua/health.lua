-- health.lua -- a health ping, which may carry figures and gateway counters: refresh the health key; an unhealthy
-- shard comes back online.
-- KEYS: states, since hash, version key, figs string, health key, then the gw string and gwc hash when the report
--       has counters, then the five history keys (lib.lua, history_keys), which may be left out when the caller
--       expects no change: then a change is not made but answered with -2
-- ARGV: health timeout (s), events channel, cluster, the log's length to keep, shard id, then optionally the figures
--       and the range of the shard's figs record, then optionally its counters and the range of its gw record
--       (lib.lua, put_figures)
-- (What is the same for every shard of a cluster comes first: store.c encodes it once.)
-- Returns -1 when the shard never had a status (nothing is written), 1 when it came back online, else 0.
local counted = ARGV[9] ~= nil
local hk = counted and 8 or 6
local state = get_state(KEYS[1], ARGV[5])
if not state then
  return -1
end
redis.call('SET', KEYS[5], '1', 'EX', ARGV[1])
if state == '1' and not KEYS[hk] then
  return -2 -- sent without the history keys (store.c, transition_call): it is sent again with them
end
put_figures(KEYS[4], ARGV, 6, counted and KEYS[6], KEYS[7])
if state ~= '1' then
  ping(ARGV[2], ARGV[3], ARGV[5])
  return 0
end
change(KEYS[1], KEYS[2], KEYS[3], ARGV[2], ARGV[3], ARGV[5], '3', state, history_keys(hk, ARGV[4]))
return 1
