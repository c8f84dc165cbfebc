-- post_status.lua -- wrk script: POST /api/status/main/<id>/<state> over every shard, states cycling,
-- so each request is a real state change (the script's slow path: SETRANGE, HSET, INCR, PUBLISH).
local shards = tonumber(os.getenv("BENCH_SHARDS") or "1000")
local counter = 0
request = function()
  counter = counter + 1
  local id = counter % shards
  local state = 2 + (math.floor(counter / shards) % 5)
  return wrk.format("POST", "/api/status/main/" .. id .. "/" .. state)
end
