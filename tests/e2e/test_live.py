"""Live visit streams (Server-Sent Events), black-box: a redirect shows up
on the link's stream and on the team's stream within a second, with the
enriched fields; Last-Event-ID resumes; idle streams get heartbeats;
tenants are isolated; caps answer 429; streams end on disconnect and on
SIGTERM without holding the server."""
import json
import socket
import threading
import time

import requests

from conftest import HTTP_TIMEOUT, REPO, assert_problem, make_key, signup, wait_until

GEOIP = REPO.parent / "shared" / "testdata" / "geoip" / "GeoIP2-City-Test.mmdb"
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.1 Mobile/15E148 Safari/604.1")
FLAGS = ["--trusted-proxies", "127.0.0.1/32", "--geoip", str(GEOIP), "--visit-flush-ms", "50",
         "--live-heartbeat-ms", "300"]


class Stream:
    """A raw SSE client over one socket (requests buffers too eagerly)."""

    def __init__(self, srv, path, key=None, headers=None):
        self.sock = socket.create_connection(("127.0.0.1", srv.port), timeout=HTTP_TIMEOUT)
        h = {"Host": "127.0.0.1", "Authorization": "Bearer " + (key or srv.key), "Accept": "text/event-stream"}
        h.update(headers or {})
        req = "GET %s HTTP/1.1\r\n%s\r\n" % (path, "".join("%s: %s\r\n" % kv for kv in h.items()))
        self.sock.sendall(req.encode())
        self.buf = b""
        head = self._until(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:] if ":" in l}
        self.chunked = self.headers.get("transfer-encoding") == "chunked"
        self.body = b""

    def _until(self, sep, timeout=5.0):
        end = time.monotonic() + timeout
        while sep not in self.buf:
            self.sock.settimeout(max(0.01, end - time.monotonic()))
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("stream closed")
            self.buf += data
        i = self.buf.index(sep) + len(sep)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def _fill(self, timeout):
        """Decodes chunked framing into self.body until something arrives."""
        if not self.chunked:
            self.body += self.buf
            self.buf = b""
            if self.body:
                return
            self.sock.settimeout(timeout)
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("stream closed")
            self.body += data
            return
        size_line = self._until(b"\r\n", timeout)
        size = int(size_line.strip(), 16)
        if size == 0:
            raise EOFError("stream ended")
        chunk = self._until(b"\r\n", timeout)
        self.body += chunk[:-2]

    def events(self, want=1, timeout=5.0, kinds=("visit",)):
        """Reads until `want` events of the given kinds arrived; returns all events read."""
        got = []
        end = time.monotonic() + timeout
        while sum(1 for e in got if e["event"] in kinds) < want:
            while b"\n\n" not in self.body:
                left = end - time.monotonic()
                if left <= 0:
                    raise TimeoutError("only %r" % got)
                self._fill(left)
            block, self.body = self.body.split(b"\n\n", 1)
            ev = {"event": "message", "comment": []}
            for line in block.decode().split("\n"):
                if line.startswith(":"):
                    ev["comment"].append(line[1:].strip())
                elif ":" in line:
                    k, v = line.split(":", 1)
                    ev[k] = v[1:] if v.startswith(" ") else v
            if ev["comment"] and "data" not in ev:
                ev["event"] = "comment"
            if "data" in ev:
                ev["json"] = json.loads(ev["data"])
            got.append(ev)
        return got

    def visits(self, want=1, timeout=5.0):
        return [e for e in self.events(want, timeout) if e["event"] == "visit"]

    def close(self):
        self.sock.close()


def open_streams(srv):
    for line in srv.metrics().splitlines():
        if line.startswith("linkpulse_live_streams "):
            return int(line.split()[1])
    raise AssertionError("no linkpulse_live_streams metric")


def visit(srv, code, ua=IPHONE, ip="81.2.69.142"):
    r = srv.get("/" + code, headers={"User-Agent": ua, "X-Forwarded-For": ip})
    assert r.status_code == 302


def test_link_stream_gets_visits_within_a_second(server_factory):
    srv = server_factory(args=FLAGS)
    code = srv.create(url="https://example.com/live")["code"]
    other = srv.create(url="https://example.com/other")["code"]
    st = Stream(srv, "/api/v1/links/%s/live" % code)
    assert st.status == 200
    assert st.headers["content-type"].startswith("text/event-stream")
    assert st.headers["cache-control"] == "no-store"
    t0 = time.monotonic()
    visit(srv, other)  # another link: not on this stream
    visit(srv, code)
    ev = st.visits(1)[0]
    assert time.monotonic() - t0 < 1.0
    v = ev["json"]
    assert ev["id"] == str(v["id"])
    assert v["code"] == code
    assert v["country"] == "GB" and v["city"] == "London"
    assert v["device"] == "mobile" and v["os"] == "iOS" and v["browser"] == "Mobile Safari"
    assert v["bot"] is False
    assert v["ts"].endswith("Z")
    st.close()


def test_team_stream_carries_every_link_of_the_team_only(server_factory):
    srv = server_factory(args=FLAGS)
    a = srv.create()["code"]
    b = srv.create()["code"]
    acct = signup(srv)
    mine = srv.req("POST", "/api/v1/links", cred=acct.access, json_body={"url": "https://example.org/x"}).json()["code"]
    st = Stream(srv, "/api/v1/live")
    visit(srv, a)
    visit(srv, mine)  # another team's link
    visit(srv, b)
    codes = [e["json"]["code"] for e in st.visits(2)]
    assert codes == [a, b]
    # The other team's stream sees its own visit only.
    st2 = Stream(srv, "/api/v1/live", key=acct.access)
    visit(srv, a)
    visit(srv, mine)
    assert [e["json"]["code"] for e in st2.visits(1)] == [mine]
    st.close()
    st2.close()


def test_last_event_id_resumes(server_factory):
    srv = server_factory(args=FLAGS)
    code = srv.create()["code"]
    st = Stream(srv, "/api/v1/links/%s/live" % code)
    visit(srv, code)
    first = st.visits(1)[0]
    st.close()
    for _ in range(3):
        visit(srv, code)
    wait_until(lambda: srv.link(code).json()["visits"]["total"] >= 4, what="visits recorded")
    # Resume from the header, and from the query parameter.
    for headers, path in (({"Last-Event-ID": first["id"]}, "/api/v1/links/%s/live" % code),
                          ({}, "/api/v1/links/%s/live?last_event_id=%s" % (code, first["id"]))):
        st = Stream(srv, path, headers=headers)
        missed = st.visits(3)
        assert [int(e["id"]) for e in missed] == sorted(int(e["id"]) for e in missed)
        assert all(int(e["id"]) > int(first["id"]) for e in missed)
        assert len(missed) == 3
        st.close()


def test_resume_from_unknown_id_is_a_reset_then_live(server_factory):
    srv = server_factory(args=FLAGS)
    code = srv.create()["code"]
    st = Stream(srv, "/api/v1/links/%s/live" % code, headers={"Last-Event-ID": "999999"})
    visit(srv, code)
    assert len(st.visits(1)) == 1  # an id from a previous process: carry on from now
    st.close()
    bad = requests.get(srv.url("/api/v1/links/%s/live" % code), headers=dict(srv.auth(), **{"Last-Event-ID": "x"}),
                       timeout=HTTP_TIMEOUT)
    assert_problem(bad, 400, "validation", "Last-Event-ID")


def test_heartbeats_keep_idle_streams_alive(server_factory):
    srv = server_factory(args=FLAGS)
    st = Stream(srv, "/api/v1/live")
    got = st.events(2, timeout=5, kinds=("comment",))
    assert sum(1 for e in got if "hb" in e["comment"]) >= 1
    st.close()


def test_isolation_and_auth(server_factory):
    srv = server_factory(args=FLAGS)
    code = srv.create()["code"]
    acct = signup(srv)
    r = requests.get(srv.url("/api/v1/links/%s/live" % code), headers={"Authorization": "Bearer " + acct.access},
                     timeout=HTTP_TIMEOUT)
    assert_problem(r, 404, "not-found")
    r = requests.get(srv.url("/api/v1/live"), timeout=HTTP_TIMEOUT)
    assert r.status_code == 401
    viewer = make_key(acct, "viewer")["key"]
    mine = srv.req("POST", "/api/v1/links", cred=acct.access, json_body={"url": "https://example.org/v"}).json()["code"]
    st = Stream(srv, "/api/v1/links/%s/live" % mine, key=viewer)
    assert st.status == 200  # viewers may watch
    st.close()


def test_stream_caps_answer_429(server_factory):
    srv = server_factory(args=FLAGS + ["--live-max-team-streams", "2", "--live-max-streams", "3"])
    a = [Stream(srv, "/api/v1/live") for _ in range(2)]
    r = requests.get(srv.url("/api/v1/live"), headers=srv.auth(), timeout=HTTP_TIMEOUT)
    assert_problem(r, 429, "too-many-streams")
    assert r.headers.get("retry-after")
    acct = signup(srv)
    b = Stream(srv, "/api/v1/live", key=acct.access)  # another team: the global cap still has room
    assert b.status == 200
    acct2 = signup(srv)
    r = requests.get(srv.url("/api/v1/live"), headers={"Authorization": "Bearer " + acct2.access},
                     timeout=HTTP_TIMEOUT)
    assert_problem(r, 429, "too-many-streams")
    # Closing frees the slots.
    for s in a + [b]:
        s.close()
    wait_until(lambda: open_streams(srv) == 0, what="streams released")
    c = Stream(srv, "/api/v1/live")
    assert c.status == 200
    c.close()


def test_many_streams_while_redirecting(server_factory):
    srv = server_factory(args=FLAGS + ["--live-max-team-streams", "500"])
    code = srv.create()["code"]
    streams = [Stream(srv, "/api/v1/links/%s/live" % code) for _ in range(200)]
    assert all(s.status == 200 for s in streams)
    assert open_streams(srv) == 200
    for _ in range(20):
        visit(srv, code)
    for s in streams[::20]:
        assert len(s.visits(20)) == 20
    for s in streams:
        s.close()
    wait_until(lambda: open_streams(srv) == 0, what="streams released")


def test_sigterm_with_open_streams_exits_promptly(server_factory):
    srv = server_factory(args=FLAGS)
    streams = [Stream(srv, "/api/v1/live") for _ in range(5)]
    t0 = time.monotonic()
    srv.send_signal()
    assert srv.wait_exit() == 0
    assert time.monotonic() - t0 < 5
    for s in streams:
        try:
            while True:
                s.events(1, timeout=2, kinds=("visit",))
        except EOFError:
            pass  # the stream ended
        s.close()
