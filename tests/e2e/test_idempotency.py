"""Idempotency-Key on the creating POSTs: a repeat replays the first answer
and creates nothing; the same key with another body is refused; concurrent
duplicates create one thing; keys belong to their caller."""

import secrets

import pytest

from conftest import (APIKEY_RE, HTTP_TIMEOUT, NO_LIMITS, assert_problem, count_links,
                      make_team, parallel, signup, unique, unique_email)


@pytest.fixture(scope="module")
def srv(module_factory):
    return module_factory(name="idem", args=NO_LIMITS)


@pytest.fixture(autouse=True)
def alive(srv):
    """A crash fails the test that caused it, not every test after it."""
    yield
    srv.assert_alive()


@pytest.fixture(scope="module")
def alice(srv):
    return signup(srv, unique_email("idem-a"))


@pytest.fixture(scope="module")
def bob(srv):
    return signup(srv, unique_email("idem-b"))


def ikey():
    return "idem-" + secrets.token_hex(8)


def post(acct, path, body, key, **kw):
    return acct.call("POST", path, body, headers={"Idempotency-Key": key}, **kw)


def assert_first(r, status=201):
    assert r.status_code == status, r.text
    assert r.headers.get("Idempotent-Replayed", "false").lower() != "true", \
        "first answer marked as a replay: %s" % dict(r.headers)


def assert_replay(r, first):
    assert r.status_code == first.status_code, "replay %s, first %s: %s" % (r.status_code, first.status_code,
                                                                            r.text[:300])
    assert r.headers.get("Idempotent-Replayed") == "true", "no Idempotent-Replayed: true: %s" % dict(r.headers)
    assert r.json() == first.json(), "replay differs:\n%s\n%s" % (first.text, r.text)


def test_link_replay(srv, alice):
    k = ikey()
    body = {"url": "https://example.com/" + unique("idem"), "slug": unique("idem"), "title": "once"}
    before = count_links(srv, alice.access)
    first = post(alice, "/api/v1/links", body, k)
    assert_first(first)
    for _ in range(2):
        assert_replay(post(alice, "/api/v1/links", body, k), first)
    assert count_links(srv, alice.access) == before + 1

    # the same key with another body is refused and changes nothing
    other = dict(body, title="twice")
    assert_problem(post(alice, "/api/v1/links", other, k), 422, "idempotency-key-reused")
    assert_problem(post(alice, "/api/v1/links", dict(body, slug=unique("idem")), k), 422,
                   "idempotency-key-reused")
    assert alice.call("GET", "/api/v1/links/" + body["slug"]).json()["title"] == "once"
    assert count_links(srv, alice.access) == before + 1

    # a new key runs the request again: the slug is taken now
    assert_problem(post(alice, "/api/v1/links", body, ikey()), 409, "conflict")
    # and without the header nothing is replayed either
    assert_problem(alice.call("POST", "/api/v1/links", body), 409, "conflict")


def test_link_concurrent_duplicates(srv, alice):
    k = ikey()
    body = {"url": "https://example.com/" + unique("race")}
    before = count_links(srv, alice.access)

    def go(i, session):
        return session.post(srv.url("/api/v1/links"), json=body, timeout=HTTP_TIMEOUT,
                            headers={"Authorization": "Bearer " + alice.access, "Idempotency-Key": k})
    rs = parallel(10, go)
    statuses = sorted(r.status_code for r in rs)
    assert count_links(srv, alice.access) == before + 1, "statuses %s" % statuses
    assert statuses == [201] * 10, statuses
    firsts = [r for r in rs if r.headers.get("Idempotent-Replayed") != "true"]
    assert len(firsts) == 1, "%d answers not marked as replays" % len(firsts)
    for r in rs:
        assert r.json() == firsts[0].json(), "a duplicate got another answer: %s" % r.text
    ok = rs
    # afterwards it replays
    r = post(alice, "/api/v1/links", body, k)
    assert r.status_code == 201 and r.headers.get("Idempotent-Replayed") == "true", r.text
    assert r.json()["code"] == ok[0].json()["code"]


def test_keys_are_per_caller(srv, alice, bob):
    k = ikey()
    a = post(alice, "/api/v1/links", {"url": "https://example.com/alice"}, k)
    assert_first(a)
    # bob's request with the same key string is his own: a different body is fine
    b = post(bob, "/api/v1/links", {"url": "https://example.com/bob"}, k)
    assert_first(b)
    assert b.json()["code"] != a.json()["code"]
    assert bob.call("GET", "/api/v1/links/" + b.json()["code"]).status_code == 200
    # and the same body creates bob a link of his own rather than showing him alice's
    k2 = ikey()
    body = {"url": "https://example.com/" + unique("same")}
    a2 = post(alice, "/api/v1/links", body, k2)
    b2 = post(bob, "/api/v1/links", body, k2)
    assert_first(a2)
    assert_first(b2)
    assert a2.json()["code"] != b2.json()["code"]
    assert_problem(bob.call("GET", "/api/v1/links/" + a2.json()["code"]), 404, "not-found")
    # the operator is another caller again
    op = srv.req("POST", "/api/v1/links", srv.admin_key, {"url": "https://example.com/op"},
                 headers={"Idempotency-Key": k})
    assert_first(op)
    assert_replay(post(alice, "/api/v1/links", {"url": "https://example.com/alice"}, k), a)


def test_team_replay(srv, alice):
    k = ikey()
    name = unique("idem-team")
    first = post(alice, "/api/v1/teams", {"name": name}, k)
    assert_first(first)
    assert_replay(post(alice, "/api/v1/teams", {"name": name}, k), first)
    assert_problem(post(alice, "/api/v1/teams", {"name": name + "-2"}, k), 422, "idempotency-key-reused")
    names = [t["name"] for t in alice.call("GET", "/api/v1/teams").json()["items"]]
    assert names.count(name) == 1 and name + "-2" not in names, names


def test_member_replay(srv, alice, bob):
    team = make_team(alice)["id"]
    path = "/api/v1/teams/%s/members" % team
    k = ikey()
    body = {"email": bob.email, "role": "viewer"}
    first = post(alice, path, body, k)
    assert_first(first)
    assert first.json()["user_id"] == bob.id
    assert_replay(post(alice, path, body, k), first)
    assert_problem(post(alice, path, {"email": bob.email, "role": "admin"}, k), 422, "idempotency-key-reused")
    items = alice.call("GET", path).json()["items"]
    assert [m["role"] for m in items if m["user_id"] == bob.id] == ["viewer"], items
    assert len(items) == 2, items


def test_api_key_replay(srv, alice):
    k = ikey()
    name = unique("idem-key")
    body = {"name": name, "role": "viewer"}
    first = post(alice, "/api/v1/api-keys", body, k)
    assert_first(first)
    secret = first.json()["key"]
    assert APIKEY_RE.match(secret), first.json()
    again = post(alice, "/api/v1/api-keys", body, k)
    assert again.status_code == 201, again.text
    assert again.headers.get("Idempotent-Replayed") == "true", dict(again.headers)
    replay = again.json()
    assert replay["key"] is None, "the secret is shown once, never replayed: %s" % replay
    assert {f: v for f, v in replay.items() if f != "key"} == \
        {f: v for f, v in first.json().items() if f != "key"}, (first.json(), replay)
    assert_problem(post(alice, "/api/v1/api-keys", dict(body, role="admin"), k), 422, "idempotency-key-reused")
    keys = alice.call("GET", "/api/v1/api-keys").json()["items"]
    assert [x["id"] for x in keys if x["name"] == name] == [first.json()["id"]], keys
    assert srv.req("GET", "/api/v1/me", secret).status_code == 200
    assert secret not in again.text


def test_team_id_in_body_is_part_of_the_request(srv, alice):
    """The same key and body aimed at another team is another request."""
    team = make_team(alice)["id"]
    k = ikey()
    body = {"url": "https://example.com/" + unique("t")}
    first = post(alice, "/api/v1/links", body, k)
    assert_first(first)
    r = post(alice, "/api/v1/links", dict(body, team_id=team), k)
    assert_problem(r, 422, "idempotency-key-reused")
    assert count_links(srv, alice.access, team) == 0
