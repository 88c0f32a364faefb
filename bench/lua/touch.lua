-- Walks every code of $BENCH_CODES once (thread i of N takes every N-th),
-- then repeats; used to fill the cache before reading memory.
local codes, n, i, step = {}, 0, 0, 1
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(os.getenv("BENCH_CODES")) do
    n = n + 1
    codes[n] = "/" .. line
  end
  step = tonumber(os.getenv("BENCH_THREADS") or "1")
  i = id
end

function request()
  i = i + step
  if i > n then i = (i - 1) % step + 1 end
  return wrk.format("GET", codes[i])
end

done = dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
