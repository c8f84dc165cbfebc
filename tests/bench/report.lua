-- report.lua -- wrk script for tests/bench/report.mjs: a bot's steady state (every shard online, reporting again),
-- sent as BENCH_MODE: "single" (POST /api/status/main/<id>/3, the original's way), "figures" (the same with
-- ?latency_ms=&guilds=) or "batch" (POST /api/clusters/main/report, BENCH_BATCH shards a request, in JSON, each
-- with its state, latency and guilds). Shards cycle over BENCH_SHARDS.
local shards = tonumber(os.getenv("BENCH_SHARDS") or "10000")
local mode = os.getenv("BENCH_MODE") or "single"
local batch = tonumber(os.getenv("BENCH_BATCH") or "16")
local counter = 0
local bodies = {}

if mode == "batch" then
  -- every request body made once, up front: the benchmark times the replica, not this script
  for first = 0, shards - 1, batch do
    local items = {}
    for id = first, math.min(first + batch, shards) - 1 do
      items[#items + 1] = string.format('{"id":%d,"state":3,"latency_ms":%d,"guilds":%d}', id, 40 + id % 60,
        1000 + id % 1500)
    end
    bodies[#bodies + 1] = '{"shards":[' .. table.concat(items, ",") .. ']}'
  end
end

request = function()
  counter = counter + 1
  if mode == "batch" then
    return wrk.format("POST", "/api/clusters/main/report", {["Content-Type"] = "application/json"},
      bodies[counter % #bodies + 1])
  end
  local id = counter % shards
  if mode == "figures" then
    return wrk.format("POST", "/api/status/main/" .. id .. "/3?latency_ms=" .. (40 + id % 60) .. "&guilds=" ..
      (1000 + id % 1500))
  end
  return wrk.format("POST", "/api/status/main/" .. id .. "/3")
end
