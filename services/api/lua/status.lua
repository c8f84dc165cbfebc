-- status.lua -- set a shard's state; a status report also counts as a health ping, and may carry figures.
-- KEYS: states, since hash, health key, version key, figures hash, then the five history keys (lib.lua,
--       history_keys), which may be left out when the caller expects no change: then a change is not made but
--       answered with -2
-- ARGV: shard id, state, health timeout (s), events channel, cluster, the log's length to keep, then optionally
--       latency, guilds, unavailable guilds, members ('' for one not reported)
-- Returns 1 when the state changed, 0 when it was already that.
redis.call('SET', KEYS[3], '1', 'EX', ARGV[3])
local old = get_state(KEYS[1], ARGV[1])
if old ~= ARGV[2] and not KEYS[6] then
  return -2 -- sent without the history keys (store.c, transition_call): it is sent again with them
end
put_figures(KEYS[5], ARGV[1], ARGV, 7)
if old == ARGV[2] then
  ping(ARGV[4], ARGV[5], ARGV[1])
  return 0
end
change(KEYS[1], KEYS[2], KEYS[4], ARGV[4], ARGV[5], ARGV[1], ARGV[2], old, history_keys(6, ARGV[6]))
return 1
