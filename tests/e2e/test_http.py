"""The HTTP layer: HTTP/2, keep-alive, request ids, health and metrics, the
access log, slow clients and the size limits."""

import http.client
import json
import re
import socket
import subprocess
import time

import pytest
import requests

from conftest import HTTP_TIMEOUT, assert_problem, unique

REQUIRED_METRICS = [
    "linkpulse_http_requests_total",
    "linkpulse_http_request_duration_seconds_bucket",
    "linkpulse_cache_hits_total",
    "linkpulse_cache_misses_total",
    "linkpulse_cache_evictions_total",
    "linkpulse_writer_batch_size_bucket",
    "linkpulse_writer_commit_seconds_bucket",
    "linkpulse_visits_backlog",
    "linkpulse_visits_paused_seconds_total",
]
SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)( \d+)?$')


@pytest.fixture(scope="module")
def srv(module_server):
    return module_server


@pytest.fixture(scope="module")
def link(srv):
    return srv.create(url="https://example.com/http-tests")


def curl(*args):
    r = subprocess.run(["curl", "-s", "--max-time", "10"] + list(args),
                       capture_output=True, text=True, timeout=20)
    return r.stdout


# -- HTTP/2 -----------------------------------------------------------------

def test_h2c_prior_knowledge_redirect(srv, link):
    out = curl("--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
               srv.url("/" + link["code"]))
    assert out == "2 302", out


def test_h2c_upgrade(srv, link):
    out = curl("--http2", "-o", "/dev/null", "-w", "%{http_version} %{http_code}", srv.url("/" + link["code"]))
    assert out == "2 302", out


def test_h2c_api_create_and_read(srv):
    out = curl("--http2-prior-knowledge", "-D", "-", "-H", "Authorization: Bearer " + srv.key,
               "-H", "Content-Type: application/json",
               "--data", json.dumps({"url": "https://example.com/over-h2"}),
               srv.url("/api/v1/links"))
    head, _, body = out.replace("\r\n", "\n").partition("\n\n")
    assert head.startswith("HTTP/2 201"), out[:500]
    code = json.loads(body)["code"]
    out = curl("--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_version} %{http_code} %{redirect_url}",
               srv.url("/" + code))
    assert out == "2 302 https://example.com/over-h2", out


def test_h2c_many_streams_one_connection(srv, link):
    """nghttp sends these as concurrent streams on one connection (it merges
    identical URIs, hence the query strings)."""
    urls = [srv.url("/%s?n=%d" % (link["code"], i)) for i in range(10)] + [srv.url("/healthz")]
    r = subprocess.run(["nghttp", "-n", "-s", "-t", "10"] + urls, capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr + r.stdout
    rows = re.findall(r"^\s*\d+\s+\+\S+\s+\+\S+\s+\S+\s+(\d{3})\s", r.stdout, re.M)
    assert sorted(rows) == ["200"] + ["302"] * 10, r.stdout[-1500:]


def test_h2c_limits_and_request_id(srv):
    out = curl("--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_version} %{http_code} %{content_type}",
               srv.url("/" + "a" * 9000))
    assert out.startswith("2 414 application/problem+json"), out
    out = curl("--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_version} %{http_code} %{content_type}",
               "-H", "X-Big: " + "v" * 17000, srv.url("/healthz"))
    assert out.startswith("2 431 application/problem+json"), out
    out = curl("--http2-prior-knowledge", "-D", "-", "-o", "/dev/null", "-H", "X-Request-Id: over-h2-1",
               srv.url("/healthz"))
    assert re.search(r"^x-request-id: over-h2-1\r?$", out, re.M | re.I), out


# -- HTTP/1.1 keep-alive ------------------------------------------------------

def test_keep_alive(srv, link):
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=HTTP_TIMEOUT)
    conn.connect()
    sock = conn.sock
    for path in ["/healthz", "/" + link["code"], "/" + unique("none"), "/readyz", "/" + link["code"]]:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        assert resp.status in (200, 302, 404)
        assert (resp.getheader("Connection") or "").lower() != "close", path
        assert conn.sock is sock, "connection not kept alive after %s" % path
    conn.request("GET", "/api/v1/links", headers=srv.auth())
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 200 and conn.sock is sock
    conn.close()

    with requests.Session() as s:
        for _ in range(5):
            assert s.get(srv.url("/" + link["code"]), allow_redirects=False).status_code == 302


def test_pipelined_requests(srv, link):
    req = ("GET /%s HTTP/1.1\r\nHost: x\r\n\r\n" % link["code"]) * 3
    with socket.create_connection(("127.0.0.1", srv.port), timeout=HTTP_TIMEOUT) as s:
        s.sendall(req.encode())
        data = b""
        deadline = time.time() + 10
        while data.count(b"HTTP/1.1 302") < 3 and time.time() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    assert data.count(b"HTTP/1.1 302") == 3, data[:1000]


# -- request ids ---------------------------------------------------------------

def test_request_id_echo_and_generation(srv, link):
    r = srv.get("/healthz", headers={"X-Request-Id": "client-id-123"})
    assert r.headers.get("X-Request-Id") == "client-id-123"
    r = srv.get("/" + link["code"], headers={"X-Request-Id": "x" * 128})
    assert r.headers.get("X-Request-Id") == "x" * 128
    ids = set()
    for path in ("/healthz", "/" + link["code"], "/" + unique("nope"), "/api/v1/links", "/metrics"):
        r = srv.get(path)
        rid = r.headers.get("X-Request-Id")
        assert rid and 1 <= len(rid) <= 128 and rid.isprintable() and rid.isascii(), (path, rid)
        ids.add(rid)
    assert len(ids) == 5, "generated ids repeat: %s" % ids
    r = srv.get("/healthz", headers={"X-Request-Id": "y" * 129})
    rid = r.headers.get("X-Request-Id")
    assert rid and rid != "y" * 129 and len(rid) <= 128
    assert_problem(srv.api("GET", "/api/v1/nope", headers={"X-Request-Id": "err-42"}), 404, "not-found")
    assert srv.api("GET", "/api/v1/nope", headers={"X-Request-Id": "err-42"}).headers["X-Request-Id"] == "err-42"


def test_request_id_non_printable_replaced(srv):
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=HTTP_TIMEOUT)
    conn.putrequest("GET", "/healthz")
    conn.putheader("X-Request-Id", b"bad-\xc3\xa9-id")  # not ASCII
    conn.endheaders()
    resp = conn.getresponse()
    resp.read()
    rid = resp.getheader("X-Request-Id")
    conn.close()
    # Replaced by a generated id: 16 lowercase hex digits (the sent value's
    # "bad" may appear in one by chance, so the format is what is checked).
    assert rid and re.fullmatch(r"[0-9a-f]{16}", rid), repr(rid)


# -- health and metrics ----------------------------------------------------------

def test_health(srv):
    assert srv.get("/healthz").status_code == 200
    assert srv.get("/readyz").status_code == 200
    assert srv.head("/healthz").status_code == 200


def test_metrics(srv, link):
    for _ in range(3):
        assert srv.get("/" + link["code"]).status_code == 302
    before = srv.metrics()
    hits_before = metric_sum(before, "linkpulse_cache_hits_total")
    for _ in range(3):
        assert srv.get("/" + link["code"]).status_code == 302
    r = srv.get("/metrics")
    assert r.status_code == 200
    ctype = r.headers.get("Content-Type", "")
    assert ctype.startswith("text/plain") and "version=0.0.4" in ctype, ctype
    text = r.text
    for name in REQUIRED_METRICS:
        assert re.search(r"^%s(\{| )" % name, text, re.M), "%s missing" % name
    for line in text.splitlines():
        if line and not line.startswith("#"):
            assert SAMPLE_RE.match(line), "not a Prometheus sample: %r" % line
    assert re.search(r'^linkpulse_http_requests_total\{(?=[^}]*route="[^"]+")(?=[^}]*status="302")[^}]*\} \d',
                     text, re.M), "no route/status labelled 302 counter"
    assert metric_sum(text, "linkpulse_cache_hits_total") >= hits_before + 3
    assert metric_sum(text, "linkpulse_writer_batch_size_count") >= 1
    for h in ("linkpulse_http_request_duration_seconds", "linkpulse_writer_batch_size",
              "linkpulse_writer_commit_seconds"):
        assert re.search(r'^%s_bucket\{[^}]*le="\+Inf"' % h, text, re.M), h
        assert re.search(r"^%s_count(\{| )" % h, text, re.M), h
        assert re.search(r"^%s_sum(\{| )" % h, text, re.M), h


def metric_sum(text, name):
    total = 0.0
    for m in re.finditer(r"^%s(?:\{[^}]*\})? (\S+)" % re.escape(name), text, re.M):
        total += float(m.group(1))
    return total


# -- limits ------------------------------------------------------------------------

def test_uri_too_long(srv):
    r = srv.get("/" + "a" * 9000)
    assert_problem(r, 414, "uri-too-long")
    r = srv.get("/api/v1/links?limit=5&pad=" + "b" * 9000, headers=srv.auth())
    assert_problem(r, 414, "uri-too-long")


def test_uri_limit_boundary(srv):
    # a target of exactly 8 KiB is allowed (an unknown code: 404); one more byte is not
    r = srv.get("/" + "c" * 8191)
    assert r.status_code == 404, r.status_code
    assert_problem(srv.get("/" + "c" * 8192), 414, "uri-too-long")


def test_headers_too_large(srv):
    r = srv.get("/healthz", headers={"X-Big": "v" * 17000})
    assert_problem(r, 431, "headers-too-large")
    many = {"X-Pad-%02d" % i: "p" * 900 for i in range(20)}
    r = srv.get("/healthz", headers=many)
    assert_problem(r, 431, "headers-too-large")
    ok = {"X-Pad-%02d" % i: "p" * 900 for i in range(12)}  # ~11 KiB: fine
    assert srv.get("/healthz", headers=ok).status_code == 200


def test_payload_too_large(srv):
    big = json.dumps({"url": "https://example.com/x", "title": "t" * 70000})
    r = srv.api("POST", "/api/v1/links", data=big, headers={"Content-Type": "application/json"})
    assert_problem(r, 413, "payload-too-large")


def test_payload_too_large_chunked(srv):
    def gen():
        yield b'{"url": "https://example.com/x", "title": "'
        for _ in range(80):
            yield b"t" * 1024
        yield b'"}'
    r = srv.api("POST", "/api/v1/links", data=gen(), headers={"Content-Type": "application/json"})
    assert_problem(r, 413, "payload-too-large")


def test_server_still_healthy_after_limits(srv, link):
    assert srv.get("/" + link["code"]).status_code == 302


# -- slow clients (own server with a short request timeout) -------------------------

@pytest.fixture(scope="module")
def slow_srv(tmp_path_factory, linkpulse_bin):
    from conftest import ServerFactory
    f = ServerFactory(tmp_path_factory.mktemp("slow"))
    s = f(name="slow", args=["--request-timeout-ms", "1000"])
    yield s
    f.stop_all()


def wait_closed(sock, limit):
    """Seconds until the peer closes (EOF or reset), reading and dropping any 408."""
    t0 = time.monotonic()
    sock.settimeout(0.2)
    while time.monotonic() - t0 < limit:
        try:
            if sock.recv(4096) == b"":
                return time.monotonic() - t0
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - t0
    return None


def test_slow_request_line(slow_srv):
    with socket.create_connection(("127.0.0.1", slow_srv.port)) as s:
        s.sendall(b"GET /heal")
        took = wait_closed(s, 3.0)
    assert took is not None, "half a request line kept open past timeout+2s"


def test_slowloris_trickle(slow_srv):
    with socket.create_connection(("127.0.0.1", slow_srv.port)) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        t0 = time.monotonic()
        closed = False
        while time.monotonic() - t0 < 3.0:
            try:
                s.sendall(b"X-A: b\r\n")
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            s.settimeout(0.2)
            try:
                if s.recv(4096) == b"":
                    closed = True
                    break
            except socket.timeout:
                pass
            except ConnectionResetError:
                closed = True
                break
    assert closed, "a client trickling headers kept the connection past timeout+2s"


def test_slow_body(slow_srv):
    with socket.create_connection(("127.0.0.1", slow_srv.port)) as s:
        s.sendall(("POST /api/v1/links HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                   "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"url\":"
                   % slow_srv.key).encode())
        took = wait_closed(s, 3.0)
    assert took is not None, "a stalled body kept the connection past timeout+2s"


def test_normal_requests_unaffected_by_short_timeout(slow_srv):
    with requests.Session() as s:
        for _ in range(3):
            assert s.get(slow_srv.url("/healthz"), timeout=5).status_code == 200
    assert slow_srv.create()["code"]


# -- the access log ------------------------------------------------------------------

def test_access_log_lines_are_json_for_raw_bytes_in_the_path(server):
    """A request path is raw bytes; the access log writes bytes that are not
    UTF-8 as U+FFFD and escapes quotes and backslashes, so every line still
    reads as JSON."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=HTTP_TIMEOUT) as s:
        s.sendall(b'GET /raw\xff\xfe"q\\\xc3\xa9 HTTP/1.1\r\nHost: x\r\nX-Request-Id: log-raw\r\n'
                  b"Connection: close\r\n\r\n")
        reply = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 404"), reply[:200]
    server.stop()
    raw = server.access_log.read_bytes().decode("utf-8")  # strict: the file is UTF-8
    recs = [json.loads(l) for l in raw.splitlines() if l.strip()]
    rec = [r for r in recs if r["request_id"] == "log-raw"]
    assert len(rec) == 1, recs
    assert rec[0]["path"] == '/raw\ufffd\ufffd"q\\\u00e9', rec[0]


def test_access_log(server):
    link = server.create(url="https://example.com/logged")
    ids = {}
    r = server.get("/" + link["code"] + "?token=SECRET-QUERY-VALUE", headers={"X-Request-Id": "log-redirect"})
    ids["log-redirect"] = ("GET", "/" + link["code"], r.status_code)
    r = server.api("GET", "/api/v1/links?cursor=SECRET-CURSOR-XYZ", headers={"X-Request-Id": "log-bad"})
    ids["log-bad"] = ("GET", "/api/v1/links", r.status_code)
    r = requests.get(server.url("/api/v1/links"), timeout=HTTP_TIMEOUT,
                     headers={"X-Api-Key": server.key, "X-Request-Id": "log-xkey"})
    ids["log-xkey"] = ("GET", "/api/v1/links", r.status_code)
    r = server.api("POST", "/api/v1/links", {"url": "https://example.com/l2"},
                   headers={"X-Request-Id": "log-post"})
    ids["log-post"] = ("POST", "/api/v1/links", r.status_code)
    r = server.get("/api/v1/links", headers={"Authorization": "Bearer WRONG-KEY-SHOULD-NOT-LOG",
                                              "X-Request-Id": "log-401"})
    ids["log-401"] = ("GET", "/api/v1/links", r.status_code)
    server.stop()

    lines = server.access_lines()
    assert lines, "access log empty"
    raw = "\n".join(lines)
    assert server.key not in raw, "API key in the access log"
    assert "WRONG-KEY-SHOULD-NOT-LOG" not in raw
    assert "SECRET-QUERY-VALUE" not in raw and "SECRET-CURSOR-XYZ" not in raw, "query string logged"
    by_id = {}
    for line in lines:
        rec = json.loads(line)
        for f in ("time", "request_id", "method", "path", "status", "duration_us", "bytes_out"):
            assert f in rec, "access log line lacks %s: %s" % (f, line)
        assert isinstance(rec["status"], int) and isinstance(rec["duration_us"], int) \
            and isinstance(rec["bytes_out"], int), line
        assert rec["duration_us"] >= 0 and rec["bytes_out"] >= 0
        assert re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}", rec["time"]), rec["time"]
        by_id[rec["request_id"]] = rec
    for rid, (method, path, status) in ids.items():
        assert rid in by_id, "no access log line for %s" % rid
        rec = by_id[rid]
        assert (rec["method"], rec["path"], rec["status"]) == (method, path, status), rec
    assert by_id["log-redirect"]["status"] == 302
    assert by_id["log-401"]["status"] == 401
