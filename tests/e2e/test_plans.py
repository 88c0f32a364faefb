"""Plans: the free plan's 50 active links (exact under concurrency) and its
6-month expiry cap, the paid plan's absence of both, and anonymous
shortening (off by default; 7-day links, 50 per client IP)."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests

from conftest import (HTTP_TIMEOUT, NO_LIMITS, assert_link, assert_problem, assert_unauthorized,
                      count_links, create_link, make_team, parallel, parse_ts, routes, signup, unique,
                      unique_email, utc_in, wait_until)

FREE_MAX = 50
FREE_TTL = timedelta(days=183)
ANON_TTL = timedelta(days=7)
SLACK = timedelta(minutes=5)


@pytest.fixture(scope="module")
def srv(module_factory):
    return module_factory(name="plans", args=NO_LIMITS)


@pytest.fixture(autouse=True)
def alive(srv):
    """A crash fails the test that caused it, not every test after it."""
    yield
    srv.assert_alive()


@pytest.fixture(scope="module")
def user(srv):
    return signup(srv, unique_email("plans"))


def create_many(srv, cred, n, team_id=None, threads=4):
    def one(i):
        body = {"url": "https://example.com/%s/%d" % (unique("many"), i)}
        if team_id is not None:
            body["team_id"] = team_id
        r = requests.post(srv.url("/api/v1/links"), json=body, timeout=HTTP_TIMEOUT,
                          headers={"Authorization": "Bearer " + cred})
        assert r.status_code == 201, "link %d of %d: %s %s" % (i + 1, n, r.status_code, r.text[:300])
        return r.json()
    with ThreadPoolExecutor(threads) as ex:
        return list(ex.map(one, range(n)))


def assert_about(ts, want, what):
    got = parse_ts(ts)
    assert abs(got - want) <= SLACK, "%s: expires_at %s, want about %s" % (what, ts, want.isoformat())


# -- the free plan: 50 active links ---------------------------------------------------

def test_free_team_holds_at_most_50_links(srv, user):
    team = make_team(user)["id"]
    links = create_many(srv, user.access, FREE_MAX, team_id=team)
    r = user.call("POST", "/api/v1/links", {"url": "https://example.com/51", "team_id": team})
    assert_problem(r, 403, "plan-limit")
    r = user.call("POST", "/api/v1/links", {"url": "https://example.com/51", "slug": unique("s")},
                  params={"team_id": team})
    assert_problem(r, 403, "plan-limit")
    assert count_links(srv, user.access, team) == FREE_MAX

    # the limit is per team: the personal team still has room
    create_link(srv, user.access)

    # deleting one makes room for one
    r = user.call("DELETE", "/api/v1/links/" + links[0]["code"], params={"team_id": team})
    assert r.status_code == 204, r.text
    create_link(srv, user.access, team_id=team)
    assert_problem(user.call("POST", "/api/v1/links", {"url": "https://example.com/x", "team_id": team}),
                   403, "plan-limit")

    # an expired link is not active and does not count
    code = links[1]["code"]
    r = user.call("PATCH", "/api/v1/links/" + code, {"expires_at": utc_in(1.5)}, params={"team_id": team})
    assert r.status_code == 200, r.text
    wait_until(lambda: srv.get("/" + code).status_code == 410, timeout=10, what="link expired")
    create_link(srv, user.access, team_id=team)
    assert_problem(user.call("POST", "/api/v1/links", {"url": "https://example.com/x", "team_id": team}),
                   403, "plan-limit")

    # 50 active and one expired: reviving the expired one would make 51
    r = user.call("PATCH", "/api/v1/links/" + code, {"expires_at": utc_in(86400)}, params={"team_id": team})
    assert_problem(r, 403, "plan-limit")
    assert srv.get("/" + code).status_code == 410


def test_free_limit_is_exact_under_concurrency(srv, user):
    team = make_team(user)["id"]
    create_many(srv, user.access, 45, team_id=team)

    def create(i, session):
        return session.post(srv.url("/api/v1/links"), timeout=HTTP_TIMEOUT,
                            json={"url": "https://example.com/race/%d" % i, "team_id": team},
                            headers={"Authorization": "Bearer " + user.access})
    results = parallel(20, create)
    statuses = sorted(r.status_code for r in results)
    assert statuses == [201] * 5 + [403] * 15, statuses
    for r in results:
        if r.status_code == 403:
            assert_problem(r, 403, "plan-limit")
    assert count_links(srv, user.access, team) == FREE_MAX


# -- the free plan: expiry within 6 months ---------------------------------------------

def test_free_links_expire_within_183_days(srv, user):
    # no expires_at: the plan's default, not reported as capped
    r = user.call("POST", "/api/v1/links", {"url": "https://example.com/default-expiry"})
    assert r.status_code == 201, r.text
    link = assert_link(r.json(), srv)
    assert link["expires_at"] is not None, link
    assert_about(link["expires_at"], parse_ts(link["created_at"]) + FREE_TTL, "default")
    assert not link.get("expires_at_capped"), link

    # a later expiry is capped, and says so
    r = user.call("POST", "/api/v1/links", {"url": "https://example.com/far", "expires_at": utc_in(400 * 86400)})
    assert r.status_code == 201, r.text
    far = r.json()
    assert far.get("expires_at_capped") is True, far
    assert_about(far["expires_at"], parse_ts(far["created_at"]) + FREE_TTL, "capped")
    got = user.call("GET", "/api/v1/links/" + far["code"]).json()
    assert got["expires_at"] == far["expires_at"], got

    # an earlier one is kept
    for days in (10, 182):
        want = utc_in(days * 86400)
        r = user.call("POST", "/api/v1/links", {"url": "https://example.com/near", "expires_at": want})
        assert r.status_code == 201, r.text
        assert r.json()["expires_at"] == want, r.json()
        assert not r.json().get("expires_at_capped"), r.json()

    # changing it later cannot escape the cap, which counts from creation: the
    # latest a link may live is what it got by default when it was created
    # (these requests are some milliseconds later than its creation)
    latest = parse_ts(link["expires_at"])
    r = user.call("PATCH", "/api/v1/links/" + link["code"], {"expires_at": utc_in(1000 * 86400)})
    if r.status_code == 200:
        got = r.json()["expires_at"]
        assert parse_ts(got) <= latest, \
            "PATCH moved a free link's expiry to %s, past creation + 183 days (%s)" % (got, link["expires_at"])
    else:
        assert_problem(r, 422, "validation", "expires_at")
    r = user.call("PATCH", "/api/v1/links/" + link["code"], {"expires_at": None})
    if r.status_code == 200:
        assert r.json()["expires_at"] is not None, "a free link lost its expiry: %s" % r.json()
        assert parse_ts(r.json()["expires_at"]) <= latest, r.json()
    else:
        assert_problem(r, 422, "validation", "expires_at")
    got = user.call("GET", "/api/v1/links/" + link["code"]).json()
    assert got["expires_at"] is not None and parse_ts(got["expires_at"]) <= latest, got


# -- the paid plan -------------------------------------------------------------------

def test_free_default_expiry_is_exactly_creation_plus_183_days(srv, user):
    """The default expiry and the cap a later change meets are one instant,
    created_at + 183 days, and a new link's updated_at is its created_at:
    both times come from one reading of the clock, also when the writer
    commits the link some milliseconds after the request was read (here 30
    at once, so most wait for a commit)."""
    team = make_team(user)["id"]

    def create(i, session):
        return session.post(srv.url("/api/v1/links"), timeout=HTTP_TIMEOUT,
                            json={"url": "https://example.com/exact/%d" % i, "team_id": team},
                            headers={"Authorization": "Bearer " + user.access})
    for r in parallel(30, create):
        assert r.status_code == 201, r.text
        link = r.json()
        assert parse_ts(link["expires_at"]) == parse_ts(link["created_at"]) + FREE_TTL, link
        assert link["updated_at"] == link["created_at"], link


def test_free_imported_link_keeps_a_future_expiry_when_changed(srv):
    """An imported link keeps its file's created_at, here 2025: its plan
    expiry counts from the import, and changing the expiry later must not
    move it into the past (the cap is at least the expiry the link had)."""
    user = signup(srv, unique_email("imported"))
    body = b"code,url,created_at\n" + (unique("old") + ",https://example.com/old-import,2025-03-01T10:00:00Z\n").encode()
    r = srv.http.post(srv.url("/api/v1/links/import"), params={"format": "csv"}, data=body,
                      headers={"Authorization": "Bearer " + user.access, "Content-Type": "text/csv"},
                      timeout=HTTP_TIMEOUT)
    assert r.status_code == 200 and r.json()["items"][0]["status"] == 201, r.text
    link = r.json()["items"][0]["link"]
    assert link["created_at"] == "2025-03-01T10:00:00.000Z", link
    imported_expiry = parse_ts(link["expires_at"])
    assert_about(link["expires_at"], parse_ts(utc_in(0)) + FREE_TTL, "imported")
    want = utc_in(30 * 86400)
    r = user.call("PATCH", "/api/v1/links/" + link["code"], {"expires_at": want})
    assert r.status_code == 200, r.text
    assert r.json()["expires_at"] == want, r.json()
    r = user.call("PATCH", "/api/v1/links/" + link["code"], {"expires_at": None})
    assert r.status_code == 200, r.text
    # the import's default again (the id the writer made is a few ms later)
    assert imported_expiry <= parse_ts(r.json()["expires_at"]) <= imported_expiry + timedelta(seconds=5), r.json()
    assert srv.get("/" + link["code"]).status_code == 302


def test_paid_team_is_unlimited(srv, user):
    team = make_team(user)["id"]
    r = srv.req("PATCH", "/api/v1/teams/" + team, srv.admin_key, {"plan": "paid"})
    assert r.status_code == 200 and r.json()["plan"] == "paid", r.text
    links = create_many(srv, user.access, 60, team_id=team)
    for link in links:
        assert link["expires_at"] is None, "paid links do not expire by default: %s" % link
        assert not link.get("expires_at_capped"), link
    assert count_links(srv, user.access, team) == 60
    far = utc_in(400 * 86400)
    link = create_link(srv, user.access, team_id=team, expires_at=far)
    assert link["expires_at"] == far and not link.get("expires_at_capped"), link
    r = user.call("PATCH", "/api/v1/links/" + link["code"], {"expires_at": None}, params={"team_id": team})
    assert r.status_code == 200 and r.json()["expires_at"] is None, r.text

    # back on the free plan with 61 active links: no more
    r = srv.req("PATCH", "/api/v1/teams/" + team, srv.admin_key, {"plan": "free"})
    assert r.status_code == 200 and r.json()["plan"] == "free", r.text
    assert_problem(user.call("POST", "/api/v1/links", {"url": "https://example.com/x", "team_id": team}),
                   403, "plan-limit")
    # and the CLI upgrade takes effect at once
    srv.cli("team", "set-plan", team, "paid")
    create_link(srv, user.access, team_id=team)


# -- anonymous shortening -----------------------------------------------------------

def test_anonymous_off_by_default(srv):
    r = srv.req("POST", "/api/v1/links", None, {"url": "https://example.com/anon"})
    assert_unauthorized(r)


@pytest.fixture(scope="module")
def anon(module_factory):
    return module_factory(name="anon", args=["--allow-anonymous", "--trusted-proxies", "127.0.0.1/32"])


def test_anonymous_create(anon):
    r = anon.req("POST", "/api/v1/links", None, {"url": "https://example.com/anon"})
    assert r.status_code == 201, r.text
    link = assert_link(r.json(), anon)
    assert link["expires_at"] is not None, link
    assert_about(link["expires_at"], parse_ts(link["created_at"]) + ANON_TTL, "anonymous default")
    assert link.get("expires_at_capped") is True, link
    r = anon.get("/" + link["code"])
    assert r.status_code == 302 and r.headers["Location"] == "https://example.com/anon", r.status_code

    # a later expiry is capped to 7 days, an earlier one kept
    r = anon.req("POST", "/api/v1/links", None, {"url": "https://example.com/anon2",
                                                 "expires_at": utc_in(30 * 86400)})
    assert r.status_code == 201, r.text
    assert r.json().get("expires_at_capped") is True, r.json()
    assert_about(r.json()["expires_at"], parse_ts(r.json()["created_at"]) + ANON_TTL, "anonymous capped")
    want = utc_in(86400)
    r = anon.req("POST", "/api/v1/links", None, {"url": "https://example.com/anon3", "expires_at": want})
    assert r.status_code == 201, r.text
    assert r.json()["expires_at"] == want, r.json()

    # anonymous callers cannot read, change or delete links, nor list them
    code = link["code"]
    assert_unauthorized(anon.req("GET", "/api/v1/links/" + code, None))
    assert_unauthorized(anon.req("PATCH", "/api/v1/links/" + code, None, {"title": "x"}))
    assert_unauthorized(anon.req("DELETE", "/api/v1/links/" + code, None))
    assert_unauthorized(anon.req("GET", "/api/v1/links", None))
    assert anon.get("/" + code).status_code == 302

    # every other route still needs a credential
    for route in routes():
        if route["auth"] != "required":
            continue
        path = route["path"].replace("{code}", code).replace("{id}", "1").replace("{user_id}", "1")
        r = anon.req(route["method"], path, None, {} if route["method"] in ("POST", "PATCH") else None)
        assert r.status_code == 401, "anonymous %s %s -> %s" % (route["method"], path, r.status_code)
        assert_unauthorized(r)

    # credentials still count: a bad one is not taken for anonymous
    assert_unauthorized(anon.req("POST", "/api/v1/links", "not-a-key", {"url": "https://example.com/x"}))
    # a user's link is an ordinary free link, and anonymous links are no one's
    u = signup(anon, unique_email("anon"))
    mine = create_link(anon, u.access)
    assert_about(mine["expires_at"], parse_ts(mine["created_at"]) + FREE_TTL, "user on anonymous server")
    assert_problem(u.call("GET", "/api/v1/links/" + code), 404, "not-found")


def test_anonymous_50_links_per_client_ip(anon):
    def post(ip, i, session=None):
        return (session or requests).post(anon.url("/api/v1/links"), timeout=HTTP_TIMEOUT,
                                          json={"url": "https://example.com/ip/%d" % i},
                                          headers={"X-Forwarded-For": ip})
    ip1, ip2 = "203.0.113.51", "203.0.113.52"
    with ThreadPoolExecutor(4) as ex:
        rs = list(ex.map(lambda i: post(ip1, i), range(FREE_MAX)))
    assert [r.status_code for r in rs] == [201] * FREE_MAX, [(r.status_code, r.text[:200]) for r in rs
                                                             if r.status_code != 201][:3]
    assert_problem(post(ip1, 99), 403, "plan-limit")
    # another client has its own allowance
    r = post(ip2, 0)
    assert r.status_code == 201, r.text
    assert post(ip1, 100).status_code == 403


def test_anonymous_limit_is_exact_under_concurrency(anon):
    ip = "203.0.113.53"
    h = {"X-Forwarded-For": ip}
    with ThreadPoolExecutor(4) as ex:
        rs = list(ex.map(lambda i: requests.post(anon.url("/api/v1/links"), headers=h, timeout=HTTP_TIMEOUT,
                                                 json={"url": "https://example.com/a45/%d" % i}), range(45)))
    assert [r.status_code for r in rs] == [201] * 45

    def create(i, session):
        return session.post(anon.url("/api/v1/links"), headers=h, timeout=HTTP_TIMEOUT,
                            json={"url": "https://example.com/arace/%d" % i})
    statuses = sorted(r.status_code for r in parallel(20, create))
    assert statuses == [201] * 5 + [403] * 15, statuses
