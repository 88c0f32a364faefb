#!/usr/bin/env bash
# `make bench`: LinkPulse against nginx on this machine, in one run.
#
# Seeds 1,000,000 links and one link with 10,000,000 visits, starts
# LinkPulse (analytics on, access log to a file, production defaults except
# the flags listed in the summary) and nginx (same worker count) as a fixed
# `return 302` and as a `map` of 100,000 of the same codes, then runs wrk in
# interleaved rounds and measures the rest (404s, durable creation, visits,
# memory, start-up, stats and typeahead latency). Everything goes to
# bench/results/<time>/ (not committed); the last line printed is
# `redirect_vs_nginx_return302=<median ratio at -t2 -c128>`.
#
# Environment: BENCH_ROUNDS (3), BENCH_DURATION (8s), BENCH_LINKS (1000000),
# BENCH_VISITS (10000000), BENCH_WORKERS (nproc), BENCH_CACHE_MB (256),
# BENCH_PORT_BASE (18480: LinkPulse, +1 nginx return 302, +2 nginx map),
# BENCH_KEEP_DATA (unset: the data dir and access log, ~6.5 GB at a million
# links, are deleted once the summary is written; 1 keeps them).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

ROUNDS=${BENCH_ROUNDS:-3}
DURATION=${BENCH_DURATION:-8s}
LINKS=${BENCH_LINKS:-1000000}
VISITS=${BENCH_VISITS:-10000000}
WORKERS=${BENCH_WORKERS:-$(nproc)}
CACHE_MB=${BENCH_CACHE_MB:-256}
MAP_CODES=100000
PORT_BASE=${BENCH_PORT_BASE:-18480}
LP_PORT=$PORT_BASE NGX_302_PORT=$((PORT_BASE + 1)) NGX_MAP_PORT=$((PORT_BASE + 2))
BIN=$ROOT/build/linkpulse

OUT=$ROOT/bench/results/$(date -u +%Y%m%dT%H%M%SZ)
RAW=$OUT/raw
mkdir -p "$RAW" "$OUT/data" "$OUT/nginx/logs"
export BENCH_LUA_DIR=$ROOT/bench/lua BENCH_CODES=$OUT/codes.txt
export BENCH_KEY=lpbench$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
log() { printf '%s\n' "$*" | tee -a "$OUT/log.txt" >&2; }

LP_PID="" NGX_PID="" FREEZER=/sys/fs/cgroup/freezer STALL_CG=""
cleanup() {
  # a sink left frozen would hold LinkPulse's shutdown forever
  if [ -n "$STALL_CG" ]; then
    echo THAWED > "$STALL_CG/freezer.state" 2>/dev/null || true
    for t in $(cat "$STALL_CG/tasks" 2>/dev/null); do echo "$t" > "$FREEZER/tasks"; done
    rmdir "$STALL_CG" 2>/dev/null || true
  fi
  [ -n "$LP_PID" ] && kill "$LP_PID" 2>/dev/null || true
  [ -n "$NGX_PID" ] && kill "$NGX_PID" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT

{
  echo "date: $(date -u +%FT%TZ)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')," \
       "$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "kernel: $(uname -r)"
  echo "nginx: $(nginx -v 2>&1 | cut -d/ -f2)"
  echo "wrk: $(wrk -v 2>&1 | head -1)"
  echo "linkpulse: $($BIN --version)"
  echo "settings: rounds=$ROUNDS duration=$DURATION links=$LINKS visits=$VISITS workers=$WORKERS cache_mb=$CACHE_MB"
} > "$OUT/machine.txt"
cat "$OUT/machine.txt" >&2

# Both servers listen with SO_REUSEPORT, so a server left on these ports by
# an earlier run would silently share the load with this one's: refuse.
for p in $LP_PORT $NGX_302_PORT $NGX_MAP_PORT; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    log "port $p is in use (a server left from an earlier run?); set BENCH_PORT_BASE or stop it"
    exit 1
  fi
done

# ---- 1. data --------------------------------------------------------------
log "seeding $LINKS links and one link with $VISITS visits..."
cmd=("$BIN" seed --data "$OUT/data" --links "$LINKS" --visits-link stats10m --visits "$VISITS"
     --codes-file "$BENCH_CODES")
echo "${cmd[*]}" > "$RAW/seed.cmd"
"${cmd[@]}" 2>/dev/null | tee "$RAW/seed.json" >&2

# ---- 2. servers -------------------------------------------------------------
python3 "$ROOT/bench/nginx_conf.py" "$OUT" "$WORKERS" "$NGX_302_PORT" "$NGX_MAP_PORT" "$MAP_CODES" "$(id -un)"
nginx -p "$OUT/nginx" -c "$OUT/nginx/nginx.conf" -g "daemon off;" 2> "$OUT/nginx/stderr.log" &
NGX_PID=$!

start_lp() {
  local t0 t1
  t0=$(date +%s%N)
  LINKPULSE_ADMIN_KEY=$BENCH_KEY "$BIN" serve --listen 127.0.0.1:$LP_PORT --data "$OUT/data" --workers "$WORKERS" \
    --cache-mb "$CACHE_MB" --access-log "$OUT/access.log" --rate-miss 10000000 --live-max-team-streams 1000 \
    --visit-backlog-mb 16384 > "$OUT/linkpulse.stdout" 2>> "$OUT/linkpulse.stderr" &
  LP_PID=$!
  until curl -sf -o /dev/null "http://127.0.0.1:$LP_PORT/readyz"; do
    kill -0 "$LP_PID" 2>/dev/null || { log "linkpulse did not start:"; tail -5 "$OUT/linkpulse.stderr" >&2; exit 1; }
    sleep 0.002
  done
  t1=$(date +%s%N)
  READY_MS=$(( (t1 - t0) / 1000000 ))
}
echo "$BIN serve --listen 127.0.0.1:$LP_PORT --data DATA --workers $WORKERS --cache-mb $CACHE_MB" \
     "--access-log FILE --rate-miss 10000000 --live-max-team-streams 1000 --visit-backlog-mb 16384" > "$RAW/linkpulse.cmd"
start_lp
echo "$READY_MS" > "$RAW/startup_ms.txt"
log "linkpulse ready in $READY_MS ms with $LINKS links"
code=$(curl -s -o "$RAW/check.json" -w '%{http_code}' -H "Authorization: Bearer $BENCH_KEY" \
       "http://127.0.0.1:$LP_PORT/api/v1/links/stats10m")
[ "$code" = 200 ] || { log "the bench key cannot read the seeded link (HTTP $code):"; cat "$RAW/check.json" >&2; exit 1; }
for p in $NGX_302_PORT $NGX_MAP_PORT; do
  until curl -s -o /dev/null "http://127.0.0.1:$p/"; do sleep 0.05; done
done

metric() { curl -s "http://127.0.0.1:$LP_PORT/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$LP_PID/status"; }

# wrk NAME THREADS CONNS SCRIPT URL [extra env]
run_wrk() {
  local name=$1 t=$2 c=$3 script=$4 url=$5
  local lp=0 m0=0
  [ "$url" = "http://127.0.0.1:$LP_PORT" ] && lp=1 && m0=$(metric linkpulse_cache_misses_total)
  echo "wrk -t$t -c$c -d$DURATION -s bench/lua/$script $url" > "$RAW/$name.cmd"
  wrk -t"$t" -c"$c" -d"$DURATION" -s "$ROOT/bench/lua/$script" "$url" > "$RAW/$name.txt" 2>&1
  grep '^RESULT' "$RAW/$name.txt" | sed "s/^RESULT/$name/" >> "$OUT/results.txt"
  if [ "$lp" = 1 ]; then
    # visits dropped so far, so that a drop can be placed in its phase;
    # the round's link-cache misses (a redirect round should have few: every link was touched)
    echo "$name $(metric linkpulse_visits_dropped_total)" >> "$RAW/drops.txt"
    echo "$name $(( $(metric linkpulse_cache_misses_total) - m0 ))" >> "$RAW/misses.txt"
  fi
  return 0
}

# ---- 4a. memory: touch every link once --------------------------------------
RSS0=$(rss_kb)
log "touching all $LINKS links once..."
echo "wrk -t2 -c64 -d10s -s bench/lua/touch.lua, repeated until every link is cached" > "$RAW/touch.cmd"
FROM=0
for _ in $(seq 1 30); do   # touch.lua walks the codes in order; stop once all are cached
  [ "$(metric linkpulse_cache_entries)" -ge "$LINKS" ] && break
  BENCH_THREADS=2 BENCH_TOUCH_FROM=$FROM wrk -t2 -c64 -d10s -s "$ROOT/bench/lua/touch.lua" \
    "http://127.0.0.1:$LP_PORT" > "$RAW/touch.last" 2>&1
  cat "$RAW/touch.last" >> "$RAW/touch.txt"
  FROM=$(( FROM + $(sed -n 's/^RESULT requests=\([0-9]*\).*/\1/p' "$RAW/touch.last") ))
done
RSS1=$(rss_kb)
echo "touch $(metric linkpulse_visits_dropped_total)" >> "$RAW/drops.txt"
# Again once the touching run's visits are applied (at most 3 minutes): the
# writer's pass holds its chunk of the journal (up to ~100 MB) meanwhile.
T0=$(date +%s)
while [ "$(metric linkpulse_visits_backlog)" != 0 ] && [ $(( $(date +%s) - T0 )) -lt 180 ]; do sleep 0.5; done
echo "rss_before_kb=$RSS0 rss_after_kb=$RSS1 rss_drained_kb=$(rss_kb) drain_backlog=$(metric linkpulse_visits_backlog)" \
     "cache_entries=$(metric linkpulse_cache_entries) cache_bytes=$(metric linkpulse_cache_bytes)" > "$RAW/memory.txt"

# ---- 3. redirect rounds -------------------------------------------------------
for shape in "1 64" "2 128"; do
  set -- $shape
  for r in $(seq 1 "$ROUNDS"); do
    log "round $r at -t$1 -c$2: linkpulse, nginx return 302 twice, linkpulse and nginx map on the map's codes"
    run_wrk "redirect-lp-t$1c$2-r$r" "$1" "$2" codes.lua "http://127.0.0.1:$LP_PORT"
    run_wrk "redirect-ngx302-t$1c$2-r$r" "$1" "$2" codes.lua "http://127.0.0.1:$NGX_302_PORT"
    # nginx against itself in the next round: how far a per-round ratio
    # (above all of p99) moves on this machine when nothing differs
    run_wrk "redirect-ngx302again-t$1c$2-r$r" "$1" "$2" codes.lua "http://127.0.0.1:$NGX_302_PORT"
    # Against the map, both servers get the same requests: the map's codes.
    # (wrk itself spends ~1 us more per request picking from a million codes
    # than from 100,000, which decides the ratio where wrk is the bottleneck.)
    BENCH_CODES=$OUT/map-codes.txt run_wrk "redirect-lpmapcodes-t$1c$2-r$r" "$1" "$2" codes.lua "http://127.0.0.1:$LP_PORT"
    BENCH_CODES=$OUT/map-codes.txt run_wrk "redirect-ngxmap-t$1c$2-r$r" "$1" "$2" codes.lua "http://127.0.0.1:$NGX_MAP_PORT"
  done
done

# ---- 4a'. the same redirect rounds with 1,000 live streams open -------------------
log "1,000 live streams open: redirect rounds at -t2 -c128"
python3 "$ROOT/bench/live_streams.py" "$LP_PORT" "$BENCH_KEY" "$BENCH_CODES" 1000 > "$RAW/live_streams.txt" &
LIVE_PID=$!
for _ in $(seq 1 300); do grep -q '^open' "$RAW/live_streams.txt" 2>/dev/null && break; sleep 0.1; done
echo "live_streams=$(metric linkpulse_live_streams)" > "$RAW/live.txt"
for r in $(seq 1 "$ROUNDS"); do
  run_wrk "redirect-lplive-t2c128-r$r" 2 128 codes.lua "http://127.0.0.1:$LP_PORT"
done
echo "live_events_sent=$(metric linkpulse_live_events_sent_total) live_resets=$(metric linkpulse_live_resets_total)" \
  >> "$RAW/live.txt"
kill -TERM "$LIVE_PID"; wait "$LIVE_PID" || true

# ---- 4a''. a stalled sink: the rings hold the visits meanwhile ---------------------
# The sink thread alone is frozen (a cgroup v1 freezer holds single threads)
# for 0.5 s in the middle of one round; every visit must still be recorded.
# A worker's ring (8 MiB) holds ~50,000 of the benchmark's visits.
if [ -w "$FREEZER/tasks" ] && mkdir "$FREEZER/lp-bench-stall-$$" 2>/dev/null; then
  STALL_CG=$FREEZER/lp-bench-stall-$$
  SINK_TID=$(grep -lx lp-sink /proc/"$LP_PID"/task/*/comm | head -1 | cut -d/ -f5)
  log "a stalled sink: frozen for 0.5 s in a round at -t2 -c128"
  D0=$(metric linkpulse_visits_dropped_total)
  run_wrk "redirect-lpstall-t2c128" 2 128 codes.lua "http://127.0.0.1:$LP_PORT" &
  STALL_WRK=$!
  case $DURATION in *m) DUR_S=$(( ${DURATION%m} * 60 )) ;; *) DUR_S=${DURATION%s} ;; esac   # wrk's 8s, 8 or 1m
  sleep "$(awk -v d="$DUR_S" 'BEGIN {print d / 2 - 0.25}')"
  echo "$SINK_TID" > "$STALL_CG/tasks"
  echo FROZEN > "$STALL_CG/freezer.state"
  sleep 0.5
  echo THAWED > "$STALL_CG/freezer.state"
  echo "$SINK_TID" > "$FREEZER/tasks"
  rmdir "$STALL_CG"; STALL_CG=""
  wait "$STALL_WRK"
  echo "stall_ms=500 dropped=$(( $(metric linkpulse_visits_dropped_total) - D0 ))" > "$RAW/stall.txt"
else
  echo "stall: no cgroup v1 freezer to stop one thread with (needs root)" > "$RAW/stall.txt"
fi

# ---- 4b. unknown codes --------------------------------------------------------
for r in $(seq 1 "$ROUNDS"); do
  log "404 round $r: linkpulse, nginx map"
  run_wrk "miss-lp-t2c128-r$r" 2 128 miss.lua "http://127.0.0.1:$LP_PORT"
  run_wrk "miss-ngxmap-t2c128-r$r" 2 128 miss.lua "http://127.0.0.1:$NGX_MAP_PORT"
done

# ---- 4c. visits: every redirect served is recorded or counted as dropped --------
served() { curl -s "http://127.0.0.1:$LP_PORT/metrics" |
           awk '/^linkpulse_http_requests_total\{route="redirect"/ {s += $2} END {print s}'; }
SERVED=$(served) T0=$(date +%s%N) BACKLOG0=$(metric linkpulse_visits_backlog) APPLIED0=$(metric linkpulse_visits_recorded_total)
# The backlog drains at the writer's pace (see docs/PERFORMANCE.md); wait for
# all of it, for at most 15 minutes.
while [ $(( $(metric linkpulse_visits_recorded_total) + $(metric linkpulse_visits_dropped_total) )) -lt "$SERVED" ] &&
      [ $(( ($(date +%s%N) - T0) / 1000000000 )) -lt 900 ]; do
  sleep 0.2
done
DRAIN_MS=$(( ($(date +%s%N) - T0) / 1000000 ))
{
  echo "redirects_served=$SERVED"
  echo "visits_recorded=$(metric linkpulse_visits_recorded_total)"
  echo "visits_dropped=$(metric linkpulse_visits_dropped_total)"
  echo "visits_dropped_backlog=$(metric linkpulse_visits_dropped_backlog_total)"
  echo "backlog_after_rounds=$BACKLOG0"
  echo "writer_paused_s=$(metric linkpulse_visits_paused_seconds_total)"
  echo "access_log_dropped=$(metric linkpulse_access_log_dropped_total)"
  echo "drain_ms=$DRAIN_MS"
  echo "drain_rate=$(( ($(metric linkpulse_visits_recorded_total) - APPLIED0) * 1000 / (DRAIN_MS + 1) ))"
} > "$RAW/visits.txt"

# ---- 4d. stats and typeahead latency -------------------------------------------
log "stats on the 10M-visit link; typeahead"
BENCH_PATH="/api/v1/links/stats10m/stats /api/v1/links/stats10m/stats?interval=hour /api/v1/links/stats10m/stats?exclude_bots=true" \
  run_wrk "stats-lp" 1 1 get.lua "http://127.0.0.1:$LP_PORT"
if [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $BENCH_KEY" \
        "http://127.0.0.1:$LP_PORT/api/v1/links/suggest?q=a")" = 200 ]; then
  # prefixes of codes (1-3 characters), of title words and of hosts
  BENCH_PATH="$(head -1500 "$BENCH_CODES" | awk '{printf "/api/v1/links/suggest?q=%s ", substr($1, 1, 1 + NR % 3)}')
    $(for w in s sp spr launch gu pric 20 blog.ex docs shop.example.net www.exa st ap; do
        printf '/api/v1/links/suggest?q=%s ' "$w"; done)" \
    run_wrk "typeahead-lp" 1 1 get.lua "http://127.0.0.1:$LP_PORT"
else
  echo "typeahead: endpoint not available" > "$RAW/typeahead.txt"
fi

# ---- 4e. durable creation ----------------------------------------------------
log "durable link creation, 64 keep-alive clients"
run_wrk "create-lp" 2 64 create.lua "http://127.0.0.1:$LP_PORT"
echo "synchronous=FULL (WAL), one fsync per group commit" > "$RAW/create.note"
echo "writer_batches: $(curl -s "http://127.0.0.1:$LP_PORT/metrics" | grep -E '^linkpulse_writer_batch_size_(sum|count)' | tr '\n' ' ')" \
  >> "$RAW/create.note"

# ---- stop: SIGTERM flushes; the store must hold what was served ----------------
kill -TERM "$LP_PID"; wait "$LP_PID" || true; LP_PID=""
python3 "$ROOT/bench/summarize.py" "$OUT"
[ "${BENCH_KEEP_DATA:-}" = 1 ] || rm -rf "$OUT/data" "$OUT/access.log"
