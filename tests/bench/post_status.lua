-- post_status.lua -- wrk script: POST /api/status/main/<id>/<state> over every shard, states cycling,
-- so each request is a real state change (the script's slow path: SETRANGE, HSET, INCR, PUBLISH, the history).
-- With BENCH_SAME=1 every shard keeps reporting online: after the first round no request is a change.
local shards = tonumber(os.getenv("BENCH_SHARDS") or "1000")
local same = os.getenv("BENCH_SAME") == "1"
local counter = 0
request = function()
  counter = counter + 1
  local id = counter % shards
  local state = same and 3 or 2 + (math.floor(counter / shards) % 5)
  return wrk.format("POST", "/api/status/main/" .. id .. "/" .. state)
end
