-- report.lua -- wrk script for tests/bench/report.mjs: a bot's steady state (every shard online, reporting again),
-- sent as BENCH_MODE: "single" (POST /api/status/main/<id>/3, the original's way), "figures" (the same with
-- ?latency_ms=&guilds=), "gateway" (the same with every gateway counter too: events, resumes, identifies,
-- disconnects), "counters" (the four counters without latency_ms and guilds), "batch" (POST /api/clusters/main/report, BENCH_BATCH shards a request, in JSON, each with its state,
-- latency and guilds) or "batch-gateway" (the same with the four counters on each item). Shards cycle over
-- BENCH_SHARDS; events grow with each request, and from one run to the next (they start from the clock): a shard
-- whose events went down would be a restarted process, which is not the steady state timed here.
local shards = tonumber(os.getenv("BENCH_SHARDS") or "10000")
local mode = os.getenv("BENCH_MODE") or "single"
local batch = tonumber(os.getenv("BENCH_BATCH") or "16")
local counter = 0
local events_from = (os.time() % 1000000) * 1000000
local bodies = {}

if mode == "batch" or mode == "batch-gateway" then
  -- every request body made once, up front: the benchmark times the replica, not this script
  for first = 0, shards - 1, batch do
    local items = {}
    for id = first, math.min(first + batch, shards) - 1 do
      local counters = mode == "batch-gateway" and
        string.format(',"events":%d,"resumes":%d,"identifies":1,"disconnects":%d', events_from + id * 7, id % 3, id % 3) or ""
      items[#items + 1] = string.format('{"id":%d,"state":3,"latency_ms":%d,"guilds":%d%s}', id, 40 + id % 60,
        1000 + id % 1500, counters)
    end
    bodies[#bodies + 1] = '{"shards":[' .. table.concat(items, ",") .. ']}'
  end
end

request = function()
  counter = counter + 1
  if mode == "batch" or mode == "batch-gateway" then
    return wrk.format("POST", "/api/clusters/main/report", {["Content-Type"] = "application/json"},
      bodies[counter % #bodies + 1])
  end
  local id = counter % shards
  if mode == "figures" then
    return wrk.format("POST", "/api/status/main/" .. id .. "/3?latency_ms=" .. (40 + id % 60) .. "&guilds=" ..
      (1000 + id % 1500))
  end
  local counters = "events=" .. (events_from + counter) .. "&resumes=" .. (id % 3) .. "&identifies=1&disconnects=" .. (id % 3)
  if mode == "gateway" then
    return wrk.format("POST", "/api/status/main/" .. id .. "/3?latency_ms=" .. (40 + id % 60) .. "&guilds=" ..
      (1000 + id % 1500) .. "&" .. counters)
  end
  if mode == "counters" then
    return wrk.format("POST", "/api/status/main/" .. id .. "/3?" .. counters)
  end
  return wrk.format("POST", "/api/status/main/" .. id .. "/3")
end
