-- GET /<code> for codes picked at random from $BENCH_CODES (one per line;
-- the first $BENCH_NCODES of them when set). Prints one RESULT line.
local codes, n = {}, 0

function init(args)
  local limit = tonumber(os.getenv("BENCH_NCODES") or "0")
  for line in io.lines(os.getenv("BENCH_CODES")) do
    n = n + 1
    codes[n] = "/" .. line
    if limit > 0 and n >= limit then break end
  end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
end

function request()
  return wrk.format("GET", codes[math.random(n)])
end

done = dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
