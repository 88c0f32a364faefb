-- Walks the codes of $BENCH_CODES in order from line $BENCH_TOUCH_FROM
-- (thread i of N takes every N-th), wrapping around; bench/run.sh calls
-- it until every link is cached, moving the start on by what was sent.
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
  i = tonumber(os.getenv("BENCH_TOUCH_FROM") or "0") + id
end

function request()
  i = (i + step - 1) % n + 1
  return wrk.format("GET", codes[i])
end

done = dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
