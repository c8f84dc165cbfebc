-- latency_claim.lua -- a replica's claim on a minute of the latency history: the first replica to claim minute m
-- (minutes since the Unix epoch, UTC) writes it; every other replica's claim of m, or of an earlier minute, is
-- refused, so the history is written once a minute for the whole deployment however many replicas tick.
-- The claim is one integer, the last minute claimed: it never grows. A minute more than one away from Redis's own
-- clock is refused too, so that a replica whose clock is far ahead cannot claim the minutes of the others.
-- KEYS: the claim key
-- ARGV: the minute
-- Returns 1 when the caller won the minute, 0 when it was claimed already, -1 when it is not near Redis's clock.
local minute = tonumber(ARGV[1])
local t = redis.call('TIME')
local redis_minute = math.floor(tonumber(t[1]) / 60)
if math.abs(minute - redis_minute) > 1 then
  return -1
end
local last = tonumber(redis.call('GET', KEYS[1]) or '')
if last and last >= minute then
  return 0
end
redis.call('SET', KEYS[1], int(minute))
return 1
