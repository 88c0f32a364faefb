#!/usr/bin/env python3
"""Reads a bench/run.sh result directory and writes OUT/summary.txt:
medians, ranges and per-round ratios; prints it; the last line is
redirect_vs_nginx_return302=<median ratio at -t2 -c128>."""
import json
import os
import re
import statistics
import sys

out = sys.argv[1]
raw = os.path.join(out, "raw")
rows = {}
with open(os.path.join(out, "results.txt")) as f:
    for line in f:
        name, *kv = line.split()
        d = dict(x.split("=") for x in kv)
        d = {k: int(v) for k, v in d.items()}
        d["rps"] = d["requests"] / (d["duration_us"] / 1e6)
        rows[name] = d


def kv(path):
    with open(os.path.join(raw, path)) as f:
        return dict(x.split("=") for x in f.read().split())


def series(prefix):
    out = []
    r = 1
    while "%s-r%d" % (prefix, r) in rows:
        out.append(rows["%s-r%d" % (prefix, r)])
        r += 1
    return out


lines = []
say = lines.append
with open(os.path.join(out, "machine.txt")) as f:
    lines.extend(l.rstrip("\n") for l in f)
say("")
ratio302 = {}
for shape in ("t1c64", "t2c128"):
    say("redirect, random existing codes, -%s:" % shape.replace("c", " -c").replace("t", "t", 1))
    got = {t: series("redirect-%s-%s" % (t, shape)) for t in ("lp", "ngx302", "ngx302again", "lpmapcodes", "ngxmap")}
    for t, label in (("lp", "linkpulse"), ("ngx302", "nginx return 302"), ("lpmapcodes", "linkpulse, map codes"),
                     ("ngxmap", "nginx map 100k")):
        rs = [x["rps"] for x in got[t]]
        if not rs:
            continue
        say("  %-20s req/s median %8.0f  range %8.0f-%8.0f   p50 %5.0f us  p99 %6.0f us  errors %d non-3xx %d%s" % (
            label, statistics.median(rs), min(rs), max(rs), statistics.median(x["p50_us"] for x in got[t]),
            statistics.median(x["p99_us"] for x in got[t]), sum(x["errors"] for x in got[t]),
            sum(x["non2xx3xx"] for x in got[t]),
            # the longest wait per round: one stall shows here before it moves the p99
            "  max per round %s ms" % " ".join("%.0f" % (x["max_us"] / 1000) for x in got[t])
            if all("max_us" in x for x in got[t]) else ""))
    # the map ratio compares the same requests (the map's codes); then, for
    # reference, LinkPulse over all codes against the map, and nginx against
    # itself in the next round (how far a ratio moves when nothing differs)
    for a_, b_, label in (("lp", "ngx302", "linkpulse/nginx return 302"), ("lpmapcodes", "ngxmap", "linkpulse/nginx map"),
                          ("lp", "ngxmap", "linkpulse/nginx map*"),
                          ("ngx302again", "ngx302", "nginx/nginx return 302, the next round,")):
        if not got[a_] or not got[b_]:
            continue
        ratios = [a["rps"] / b["rps"] for a, b in zip(got[a_], got[b_])]
        p99 = [a["p99_us"] / max(b["p99_us"], 1) for a, b in zip(got[a_], got[b_])]
        say("  %-26s per round: %s  median %.2f;  p99 ratio per round: %s" % (
            label, " ".join("%.2f" % x for x in ratios), statistics.median(ratios), " ".join("%.2f" % x for x in p99)))
        if (a_, b_) == ("lp", "ngx302"):
            ratio302[shape] = statistics.median(ratios)
    say("  (* linkpulse over all codes against the map over its own: wrk's requests differ)")
live = series("redirect-lplive-t2c128")
if live:
    base = [x["rps"] for x in series("redirect-lp-t2c128")]
    with_streams = [x["rps"] for x in live]
    say("redirect -t2 -c128 with 1,000 live streams open: median %.0f req/s (range %.0f-%.0f), p99 %.0f us; "
        "without: median %.0f -> %.2fx" % (statistics.median(with_streams), min(with_streams), max(with_streams),
                                           statistics.median(x["p99_us"] for x in live), statistics.median(base),
                                           statistics.median(with_streams) / statistics.median(base)))
stall = rows.get("redirect-lpstall-t2c128")
if stall and os.path.exists(os.path.join(raw, "stall.txt")):
    st = kv("stall.txt")
    say("redirect -t2 -c128 with the sink frozen for %s ms mid-round: %.0f req/s, %s visits dropped" % (
        st["stall_ms"], stall["rps"], st["dropped"]))
say("")
lp, ng = series("miss-lp-t2c128"), series("miss-ngxmap-t2c128")
if lp:
    ratios = [a["rps"] / b["rps"] for a, b in zip(lp, ng)]
    say("unknown codes (404), -t2 -c128: linkpulse median %.0f req/s, nginx map %.0f; ratio per round %s, median %.2f" % (
        statistics.median(x["rps"] for x in lp), statistics.median(x["rps"] for x in ng),
        " ".join("%.2f" % x for x in ratios), statistics.median(ratios)))
c = rows.get("create-lp")
if c:
    say("durable link creation, 64 clients: %.0f links/s (p50 %d us, p99 %d us, non-2xx %d)" % (
        c["rps"], c["p50_us"], c["p99_us"], c["non2xx3xx"]))
v = kv("visits.txt")
say("visits: redirects served %s, recorded %s, dropped %s (%s of them for want of backlog room); recorded %s served"
    % (v["redirects_served"], v["visits_recorded"], v["visits_dropped"], v["visits_dropped_backlog"],
       "==" if v["redirects_served"] == v["visits_recorded"] else "!="))
if "access_log_dropped" in v:
    say("access log: %s lines dropped (every request of the run is logged to a file, as nginx's are)"
        % v["access_log_dropped"])
if int(v["visits_dropped"]) > 0 and os.path.exists(os.path.join(raw, "drops.txt")):
    rises, last = [], 0
    with open(os.path.join(raw, "drops.txt")) as f:
        for line in f:
            phase, count = line.split()
            if int(count) > last:
                rises.append("%s +%d" % (phase, int(count) - last))
                last = int(count)
    say("visits: dropped during %s" % (", ".join(rises) or "none of the phases (after the last one)"))
if os.path.exists(os.path.join(raw, "misses.txt")):
    with open(os.path.join(raw, "misses.txt")) as f:
        misses = [line.split() for line in f if line.startswith("redirect-")]
    if misses:
        worst = max(misses, key=lambda m: int(m[1]))
        say("link-cache misses in the redirect rounds: %d in all, at most %s in %s" % (
            sum(int(m[1]) for m in misses), worst[1], worst[0]))
say("visits: %s waited in the journal after the last round; applied in %s ms at %s visits/s (writer alone);"
    " the writer gave way to requests for %s s" % (v["backlog_after_rounds"], v["drain_ms"], v["drain_rate"],
                                                   v.get("writer_paused_s", "?")))
m = kv("memory.txt")
with open(os.path.join(raw, "seed.json")) as f:
    seed = json.load(f)
import sqlite3
db = sqlite3.connect(os.path.join(out, "data", "linkpulse.db"))
raw_bytes, nlinks = db.execute("SELECT sum(length(code) + length(url)), count(*) FROM links").fetchone()
db.close()
entries, cbytes = int(m["cache_entries"]), int(m["cache_bytes"])
rss_delta = (int(m["rss_after_kb"]) - int(m["rss_before_kb"])) * 1024
if entries:
    say("memory after touching %d links: RSS %.1f MiB (+%.1f MiB); %d cached links, %.0f bytes each by the cache's "
        "account, %.0f by RSS growth; raw code+URL %.0f bytes per link -> %.2fx (account), %.2fx (RSS)" % (
            seed["links"], int(m["rss_after_kb"]) / 1024, rss_delta / 2**20, entries, cbytes / entries,
            rss_delta / entries, raw_bytes / nlinks, cbytes / entries / (raw_bytes / nlinks),
            rss_delta / entries / (raw_bytes / nlinks)))
    drained = (int(m["rss_drained_kb"]) - int(m["rss_before_kb"])) * 1024
    say("memory once the touching run's visits were applied%s: RSS +%.1f MiB, %.0f bytes per cached link -> %.2fx" % (
        "" if m["drain_backlog"] == "0" else " (%s still waiting)" % m["drain_backlog"], drained / 2**20,
        drained / entries, drained / entries / (raw_bytes / nlinks)))
with open(os.path.join(raw, "startup_ms.txt")) as f:
    say("start-up to ready with %d links: %s ms" % (nlinks, f.read().strip()))
s = rows.get("stats-lp")
if s:
    say("stats of the %d-visit link (3 query shapes, sequential): p50 %.2f ms, p99 %.2f ms, %.0f req/s" % (
        seed["visits"], s["p50_us"] / 1000, s["p99_us"] / 1000, s["rps"]))
t = rows.get("typeahead-lp")
if t:
    say("typeahead at %d links (sequential): p50 %.2f ms, p99 %.2f ms" % (nlinks, t["p50_us"] / 1000,
                                                                         t["p99_us"] / 1000))
else:
    say("typeahead: endpoint not available")
say("redirect_vs_nginx_return302=%.2f" % ratio302.get("t2c128", 0.0))
text = "\n".join(lines) + "\n"
with open(os.path.join(out, "summary.txt"), "w") as f:
    f.write(text)
sys.stdout.write(text)
