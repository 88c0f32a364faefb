-- POST /api/v1/links with a new URL each time (durable creation).
local n = 0
local prefix

function init(args)
  prefix = string.format("https://bench.example.com/created/%d-%d/", os.time(), math.random(1, 1e9))
end

function request()
  n = n + 1
  local body = string.format('{"url":"%sitem-%d?ref=bench"}', prefix, n)
  return wrk.format("POST", "/api/v1/links", {
    ["Authorization"] = "Bearer " .. os.getenv("BENCH_KEY"),
    ["Content-Type"] = "application/json"}, body)
end

done = dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
