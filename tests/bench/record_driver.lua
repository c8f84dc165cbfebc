-- record_driver.lua -- appended to lib.lua by write_instructions.sh: 3,000 state changes through change(), as
-- status.lua makes them, over 1,000 shards of one cluster. Each change first sets the cluster's last change a
-- second back, so that every one accounts a stretch of time, as changes do that are not all in one millisecond.
-- KEYS: the five history keys, states, since hash, version key
local h = history_keys(1, '10000')
for i = 1, 3000 do
  local id = tostring(i % 1000)
  local old = get_state(KEYS[6], id)
  local new = tostring(2 + (math.floor(i / 1000) % 5))
  redis.call('HSET', h.hist, 'at', string.format('%d', now_ms() - 1000))
  if old ~= new then change(KEYS[6], KEYS[7], KEYS[8], 'glance:bench', 'main', id, new, old, h) end
end
return 1
