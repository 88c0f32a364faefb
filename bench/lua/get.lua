-- GET $BENCH_PATH with the admin key (stats, typeahead): latency at
-- concurrency 1 measures the query, not the queue. BENCH_PATH: paths
-- separated by any white space.
local paths = {}

function init(args)
  for p in string.gmatch(os.getenv("BENCH_PATH"), "%S+") do table.insert(paths, p) end
  math.randomseed(os.time())
end

function request()
  return wrk.format("GET", paths[math.random(#paths)], {["Authorization"] = "Bearer " .. os.getenv("BENCH_KEY")})
end

done = dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
