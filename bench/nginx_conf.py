#!/usr/bin/env python3
"""Writes OUT/nginx/nginx.conf for bench/run.sh: nginx with WORKERS
workers, an access log to a file (as LinkPulse keeps one), a fixed
`return 302` on one port and a `map` of the first N seeded codes to their
URLs (read from the seeded database) on another; map misses are 404."""
import os
import sqlite3
import sys

out, workers, port302, portmap, ncodes, user = sys.argv[1:7]
ncodes = int(ncodes)
with open(os.path.join(out, "codes.txt")) as f:
    codes = [line.strip() for _, line in zip(range(ncodes), f)]
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
