#!/usr/bin/env python3
"""Writes OUT/nginx/nginx.conf for bench/run.sh: nginx with WORKERS
workers, an access log to a file (as LinkPulse keeps one), a fixed
`return 302` on one port and a `map` of N seeded codes (the first N that
are unique ignoring case, listed in OUT/map-codes.txt) to their URLs (read from the seeded database) on another; map misses are 404."""
import os
import sqlite3
import sys

out, workers, port302, portmap, ncodes, user = sys.argv[1:7]
ncodes = int(ncodes)
# nginx compares map keys without case: two codes that differ only in case
# (about one pair per 100k random 7-character codes, depending on the seed)
# make it refuse the whole map ("conflicting parameter"). The map takes the
# first ncodes codes that are unique ignoring case, and lists them in
# OUT/map-codes.txt for the map's wrk rounds.
codes, seen = [], set()
with open(os.path.join(out, "codes.txt")) as f:
    for line in f:
        c = line.strip()
        if c and c.lower() not in seen:
            seen.add(c.lower())
            codes.append(c)
            if len(codes) == ncodes:
                break
with open(os.path.join(out, "map-codes.txt"), "w") as f:
    f.write("".join(c + "\n" for c in codes))
db = sqlite3.connect(os.path.join(out, "data", "linkpulse.db"))
urls = {}
for i in range(0, len(codes), 500):
    chunk = codes[i:i + 500]
    q = "SELECT code, url FROM links WHERE domain_id=0 AND code IN (%s)" % ",".join("?" * len(chunk))
    urls.update(db.execute(q, chunk).fetchall())
db.close()

ngx = os.path.join(out, "nginx")
with open(os.path.join(ngx, "map.conf"), "w") as f:
    for c in codes:
        f.write('/%s "%s";\n' % (c, urls[c].replace('"', '%22')))
fixed = urls[codes[0]]
user_line = "user %s;" % user if os.geteuid() == 0 else ""
with open(os.path.join(ngx, "nginx.conf"), "w") as f:
    f.write("""%(user_line)s
worker_processes %(workers)s;
pid %(ngx)s/nginx.pid;
error_log %(ngx)s/logs/error.log;
events { worker_connections 4096; }
http {
  access_log %(ngx)s/logs/access.log;
  client_body_temp_path %(ngx)s/tmp_body;
  proxy_temp_path %(ngx)s/tmp_proxy;
  fastcgi_temp_path %(ngx)s/tmp_fastcgi;
  uwsgi_temp_path %(ngx)s/tmp_uwsgi;
  scgi_temp_path %(ngx)s/tmp_scgi;
  keepalive_requests 1000000;
  map_hash_max_size 262144;
  map_hash_bucket_size 256;
  map $uri $target {
    default "";
    include %(ngx)s/map.conf;
  }
  server {
    listen 127.0.0.1:%(port302)s reuseport;
    location / { return 302 %(fixed)s; }
  }
  server {
    listen 127.0.0.1:%(portmap)s reuseport;
    location / {
      if ($target = "") { return 404; }
      return 302 $target;
    }
  }
}
""" % locals())
