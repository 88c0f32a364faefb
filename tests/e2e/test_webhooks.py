"""Webhooks, black-box, against a local receiver that can fail, time out
and recover: the API and its validation, signed deliveries of link
events in order, visit events, retries with backoff, dead letters and
their retry, the circuit breaker, delivery after a restart, and tenant
isolation."""
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from conftest import HTTP_TIMEOUT, assert_problem, make_key, signup, wait_until

FAST = ["--webhook-allow-private", "--webhook-retry-base-ms", "100", "--webhook-timeout-ms", "1000",
        "--visit-flush-ms", "50"]


class Receiver:
    """An HTTP endpoint on loopback. mode: "ok", "fail" (500), "slow"
    (sleeps past the server's timeout). Records every request."""

    def __init__(self):
        self.mode = "ok"
        self.fail_next = 0
        self.got = []  # (time, headers, body) of every request
        self.lock = threading.Lock()
        rcv = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with rcv.lock:
                    rcv.got.append((time.monotonic(), dict(self.headers), body))
                    mode = rcv.mode
                    if rcv.fail_next > 0:
                        rcv.fail_next -= 1
                        mode = "fail"
                if mode == "slow":
                    time.sleep(2)
                code = 200 if mode == "ok" else 500
                try:
                    self.send_response(code)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass

            def log_message(self, *a):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = "http://127.0.0.1:%d/hook" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def bodies(self):
        with self.lock:
            return [json.loads(b) for _, _, b in self.got]

    def count(self):
        with self.lock:
            return len(self.got)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def rcv():
    r = Receiver()
    yield r
    r.close()


def create_hook(srv, rcv, events=("link.created", "link.updated", "link.deleted"), cred=None, **extra):
    body = {"url": rcv.url, "events": list(events)}
    body.update(extra)
    r = srv.req("POST", "/api/v1/webhooks", cred=cred or srv.key, json_body=body)
    assert r.status_code == 201, r.text
    return r.json()


def verify(secret, headers, body):
    sig = headers["LinkPulse-Signature"]
    parts = dict(p.split("=", 1) for p in sig.split(","))
    mac = hmac.new(secret.encode(), ("%s." % parts["t"]).encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(mac, parts["v1"]), "bad signature"
    assert abs(int(parts["t"]) - time.time()) < 60


def deliveries(srv, hook_id, status=None):
    r = srv.api("GET", "/api/v1/webhooks/%s/deliveries" % hook_id, params={"status": status} if status else None)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_api_and_validation(server_factory, rcv):
    srv = server_factory(args=FAST)
    h = create_hook(srv, rcv)
    assert h["secret"].startswith("whsec_") and len(h["secret"]) >= 38
    assert h["events"] == ["link.created", "link.updated", "link.deleted"] and h["enabled"] is True
    listed = srv.api("GET", "/api/v1/webhooks").json()["items"]
    assert [x["id"] for x in listed] == [h["id"]] and "secret" not in listed[0]
    got = srv.api("GET", "/api/v1/webhooks/%s" % h["id"]).json()
    assert "secret" not in got and got["url"] == rcv.url
    r = srv.api("PATCH", "/api/v1/webhooks/%s" % h["id"], json_body={"enabled": False, "events": ["visit.created"]})
    assert r.status_code == 200 and r.json()["enabled"] is False and r.json()["events"] == ["visit.created"]
    assert "secret" not in r.json()
    r = srv.api("PATCH", "/api/v1/webhooks/%s" % h["id"], json_body={"secret": None})
    assert r.status_code == 200 and r.json()["secret"] != h["secret"]
    for body, param in (({"events": ["link.created"]}, "url"),
                        ({"url": "ftp://example.com/", "events": ["link.created"]}, "url"),
                        ({"url": rcv.url, "events": []}, "events"),
                        ({"url": rcv.url, "events": ["link.exploded"]}, "events"),
                        ({"url": rcv.url, "events": ["link.created"], "secret": "short"}, "secret"),
                        ({"url": rcv.url, "events": ["link.created"], "enabled": "yes"}, "enabled"),
                        ({"url": rcv.url, "events": ["link.created"], "color": "red"}, "color")):
        r = srv.api("POST", "/api/v1/webhooks", json_body=body)
        assert_problem(r, 422, "validation", param)
    assert len(srv.api("GET", "/api/v1/webhooks").json()["items"]) == 1, "a refused webhook was stored"
    assert srv.api("DELETE", "/api/v1/webhooks/%s" % h["id"]).status_code == 204
    assert_problem(srv.api("GET", "/api/v1/webhooks/%s" % h["id"]), 404, "not-found")


def test_link_events_signed_and_in_order(server_factory, rcv):
    srv = server_factory(args=FAST)
    h = create_hook(srv, rcv)
    code = srv.create(url="https://example.com/a")["code"]
    assert srv.api("PATCH", "/api/v1/links/" + code, json_body={"url": "https://example.com/b"}).status_code == 200
    assert srv.api("PATCH", "/api/v1/links/" + code, json_body={"title": "T"}).status_code == 200
    assert srv.api("DELETE", "/api/v1/links/" + code).status_code == 204
    wait_until(lambda: rcv.count() >= 4, what="4 deliveries")
    time.sleep(0.3)
    with rcv.lock:
        got = list(rcv.got)
    assert len(got) == 4
    types = [json.loads(b)["type"] for _, _, b in got]
    assert types == ["link.created", "link.updated", "link.updated", "link.deleted"]
    for _, headers, body in got:
        verify(h["secret"], headers, body)
        ev = json.loads(body)
        assert headers["LinkPulse-Event"] == ev["type"]
        assert headers["LinkPulse-Delivery"] == ev["id"]
        assert ev["data"]["link"]["code"] == code
    assert [json.loads(b)["data"]["link"]["url"] for _, _, b in got][1] == "https://example.com/b"
    wait_until(lambda: len(deliveries(srv, h["id"], "delivered")) == 4, what="deliveries recorded")


def test_visit_and_max_visits_events(server_factory, rcv):
    srv = server_factory(args=FAST)
    create_hook(srv, rcv, events=["visit.created", "link.max_visits_reached"])
    code = srv.create(max_visits=2)["code"]
    for _ in range(3):
        srv.get("/" + code, headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 "
                                                   "Firefox/121.0"})
    wait_until(lambda: rcv.count() >= 3, what="2 visits + max reached")
    time.sleep(0.3)
    types = sorted(b["type"] for b in rcv.bodies())
    assert types == ["link.max_visits_reached", "visit.created", "visit.created"]
    v = [b for b in rcv.bodies() if b["type"] == "visit.created"][0]["data"]["visit"]
    assert v["code"] == code and v["browser"] == "Firefox"


def test_retries_then_dead_letter_then_retry(server_factory, rcv):
    srv = server_factory(args=FAST + ["--webhook-max-attempts", "3", "--webhook-breaker-failures", "100"])
    h = create_hook(srv, rcv)
    rcv.mode = "fail"
    srv.create()
    wait_until(lambda: len(deliveries(srv, h["id"], "dead")) == 1, timeout=15, what="a dead delivery")
    with rcv.lock:
        times = [t for t, _, _ in rcv.got]
    assert len(times) == 3
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert 0.07 <= gaps[0] < 0.6 and 0.15 <= gaps[1] < 1.0, gaps  # 100 ms, then 200 ms, +-20 %
    d = deliveries(srv, h["id"], "dead")[0]
    assert d["attempts"] == 3 and d["last_status"] == 500 and d["event"] == "link.created"
    rcv.mode = "ok"
    r = srv.api("POST", "/api/v1/webhooks/%s/deliveries/%s/retry" % (h["id"], d["id"]))
    assert r.status_code == 202, r.text
    wait_until(lambda: len(deliveries(srv, h["id"], "delivered")) == 1, what="delivered after retry")
    r = srv.api("POST", "/api/v1/webhooks/%s/deliveries/%s/retry" % (h["id"], d["id"]))
    assert_problem(r, 409, "conflict")
    assert_problem(srv.api("POST", "/api/v1/webhooks/%s/deliveries/1/retry" % h["id"]), 404, "not-found")


def test_timeouts_count_as_failures(server_factory, rcv):
    srv = server_factory(args=FAST + ["--webhook-max-attempts", "2", "--webhook-breaker-failures", "100"])
    h = create_hook(srv, rcv)
    rcv.mode = "slow"
    srv.create()
    wait_until(lambda: len(deliveries(srv, h["id"], "dead")) == 1, timeout=15, what="dead after timeouts")
    d = deliveries(srv, h["id"], "dead")[0]
    assert d["last_status"] is None and "timed out" in d["last_error"]


def test_order_holds_while_retrying(server_factory, rcv):
    srv = server_factory(args=FAST + ["--webhook-breaker-failures", "100"])
    create_hook(srv, rcv)
    rcv.fail_next = 2
    code = srv.create()["code"]
    srv.api("PATCH", "/api/v1/links/" + code, json_body={"title": "after"})
    wait_until(lambda: sum(1 for b in rcv.bodies()) >= 4, what="2 failures then 2 deliveries")
    time.sleep(0.3)
    types = [b["type"] for b in rcv.bodies()]
    assert types == ["link.created", "link.created", "link.created", "link.updated"], types


def test_circuit_breaker_opens_and_recovers(server_factory, rcv):
    srv = server_factory(args=FAST + ["--webhook-breaker-failures", "3", "--webhook-breaker-cooldown-ms", "1500",
                                      "--webhook-max-attempts", "20"])
    h = create_hook(srv, rcv)
    rcv.mode = "fail"
    for _ in range(5):
        srv.create()
    # The five first attempts go out at once; their retries (due after
    # ~100 ms) must wait for the breaker's cool-down.
    wait_until(lambda: rcv.count() >= 5, what="five failures")
    time.sleep(0.8)
    assert rcv.count() == 5, "the breaker did not stop attempts: %d" % rcv.count()
    wait_until(lambda: "linkpulse_webhook_breaker_opened_total 1" in srv.metrics(), what="breaker opened")
    rcv.mode = "ok"
    wait_until(lambda: len(deliveries(srv, h["id"], "delivered")) == 5, timeout=15, what="all delivered")


def test_pending_deliveries_survive_a_restart(server_factory, rcv):
    srv = server_factory(args=FAST + ["--webhook-retry-base-ms", "3000", "--webhook-breaker-failures", "100"])
    h = create_hook(srv, rcv)
    rcv.mode = "fail"
    srv.create()
    wait_until(lambda: rcv.count() >= 1, what="first attempt")
    srv.stop()
    rcv.mode = "ok"
    srv.start()
    wait_until(lambda: len(deliveries(srv, h["id"], "delivered")) == 1, timeout=15, what="delivered after restart")


def test_private_addresses_refused_by_default(server_factory, rcv):
    srv = server_factory(args=["--webhook-retry-base-ms", "100", "--webhook-max-attempts", "1"])
    h = create_hook(srv, rcv)
    srv.create()
    wait_until(lambda: len(deliveries(srv, h["id"], "dead")) == 1, what="refused delivery")
    assert rcv.count() == 0


def test_isolation_and_roles(server_factory, rcv):
    srv = server_factory(args=FAST)
    h = create_hook(srv, rcv)
    acct = signup(srv)
    for method, path in (("GET", "/api/v1/webhooks/%s" % h["id"]), ("PATCH", "/api/v1/webhooks/%s" % h["id"]),
                         ("DELETE", "/api/v1/webhooks/%s" % h["id"]),
                         ("GET", "/api/v1/webhooks/%s/deliveries" % h["id"])):
        r = srv.req(method, path, cred=acct.access, json_body={"enabled": False} if method == "PATCH" else None)
        assert_problem(r, 404, "not-found")
    assert srv.req("GET", "/api/v1/webhooks", cred=acct.access).json()["items"] == []
    viewer = make_key(acct, "viewer")["key"]
    r = srv.req("POST", "/api/v1/webhooks", cred=viewer, json_body={"url": rcv.url, "events": ["link.created"]})
    assert r.status_code == 403
    assert srv.req("GET", "/api/v1/webhooks", cred=viewer).status_code == 200
    # Team B's links raise no event for team A's webhook.
    srv.req("POST", "/api/v1/links", cred=acct.access, json_body={"url": "https://example.org/b"})
    time.sleep(0.5)
    assert rcv.count() == 0
