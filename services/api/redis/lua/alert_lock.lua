-- alert_lock.lua -- take or renew the alert sender's lock: one replica sends alerts at a time, and it keeps the
-- lock only while it renews it, so another takes over within the lock's time when it dies.
-- KEYS: the lock
-- ARGV: this replica's consumer name, milliseconds to hold it
-- Returns 1 while the caller holds the lock, 0 when another replica does.
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
