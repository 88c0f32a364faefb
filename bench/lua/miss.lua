-- GET /<code> for random codes that exist nowhere (404 for everyone).
function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
end

function request()
  return wrk.format("GET", string.format("/zq%05d", math.random(0, 99999)))
end

done = dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
