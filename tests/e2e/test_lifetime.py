"""Link lifetime (issue 4): valid_since, enabled, exact max_visits under
100 parallel visits; scheduled and disabled links answer like unknown codes."""

import sqlite3
from pathlib import Path

from conftest import assert_problem, on_every_worker, parallel, utc_in, wait_until


def items(r):
    assert r.status_code == 200, r.text[:500]
    return [i["code"] for i in r.json()["items"]]


def test_fields_default_and_round_trip(server):
    s = server
    l = s.create()
    assert l["valid_since"] is None and l["enabled"] is True
    since = utc_in(3600)
    m = s.create(valid_since=since, enabled=False)
    assert m["valid_since"] == since and m["enabled"] is False
    got = s.link(m["code"]).json()
    assert got["valid_since"] == since and got["enabled"] is False


def test_disabled_link_is_not_found_until_enabled(server):
    s = server
    l = s.create()
    assert s.get("/" + l["code"]).status_code == 302  # now cached
    r = s.api("PATCH", "/api/v1/links/" + l["code"], {"enabled": False})
    assert r.status_code == 200 and r.json()["enabled"] is False
    assert s.get("/" + l["code"]).status_code == 404, "the cached redirect is gone at once"
    assert s.get("/" + l["code"] + "+").status_code == 404, "no preview either"
    assert s.get("/" + l["code"] + "/qr").status_code == 404
    assert s.api("PATCH", "/api/v1/links/" + l["code"], {"enabled": True}).status_code == 200
    r = s.get("/" + l["code"])
    assert r.status_code == 302 and r.headers["Location"] == l["url"]


def test_scheduled_link_waits_for_valid_since(server):
    s = server
    l = s.create(valid_since=utc_in(3600))
    assert s.get("/" + l["code"]).status_code == 404
    r = s.api("PATCH", "/api/v1/links/" + l["code"], {"valid_since": utc_in(-1)})
    assert r.status_code == 200, r.text
    assert s.get("/" + l["code"]).status_code == 302
    # a valid_since only seconds away opens by itself
    m = s.create(valid_since=utc_in(2))
    assert s.get("/" + m["code"]).status_code == 404
    wait_until(lambda: s.get("/" + m["code"]).status_code == 302, timeout=10, what="valid_since reached")


def test_hidden_links_count_as_orphan_visits(server):
    s = server
    l = s.create(enabled=False)
    assert s.get("/" + l["code"]).status_code == 404

    def kinds():
        return [v["kind"] for v in s.api("GET", "/api/v1/visits/orphan").json()["items"]]

    wait_until(lambda: "invalid_short_url" in kinds(), what="orphan visit of the disabled link")
    assert s.link(l["code"]).json()["visits"]["total"] == 0


def test_state_filters_and_robots(server):
    s = server
    on = s.create(crawlable=True)
    off = s.create(crawlable=True, enabled=False)
    later = s.create(crawlable=True, valid_since=utc_in(3600))
    assert items(s.api("GET", "/api/v1/links", params={"state": "disabled"})) == [off["code"]]
    assert items(s.api("GET", "/api/v1/links", params={"state": "scheduled"})) == [later["code"]]
    assert items(s.api("GET", "/api/v1/links", params={"state": "active"})) == [on["code"]]
    robots = s.get("/robots.txt").text
    assert "/" + on["code"] in robots
    assert "/" + off["code"] not in robots and "/" + later["code"] not in robots


def test_reuse_skips_disabled_links(server):
    s = server
    url = "https://example.com/reuse-disabled"
    off = s.create(url=url, enabled=False)
    r = s.api("POST", "/api/v1/links", {"url": url, "reuse": True})
    assert r.status_code == 201 and r.json()["code"] != off["code"]


def test_bad_lifetime_fields(server):
    s = server
    before = len(s.list_all())
    cases = [({"valid_since": "tomorrow"}, "valid_since"), ({"valid_since": 5}, "valid_since"),
             ({"enabled": "yes"}, "enabled"), ({"enabled": None}, "enabled"),
             ({"valid_since": utc_in(7200), "expires_at": utc_in(3600)}, "valid_since")]
    for fields, name in cases:
        r = s.api("POST", "/api/v1/links", dict(fields, url="https://example.com/bad"))
        assert_problem(r, 422, "validation", name)
    l = s.create()
    for fields, name in cases[:4]:
        assert_problem(s.api("PATCH", "/api/v1/links/" + l["code"], fields), 422, "validation", name)
    assert len(s.list_all()) == before + 1
    got = s.link(l["code"]).json()
    assert got["enabled"] is True and got["valid_since"] is None


def test_max_visits_exact_under_100_parallel_visits(server):
    s = server
    l = s.create(max_visits=10)

    def hit(i, sess):
        r = sess.get(s.url("/" + l["code"]), allow_redirects=False, timeout=20)
        return r.status_code

    got = parallel(100, hit)
    assert got.count(302) == 10 and got.count(410) == 90, sorted(got)
    wait_until(lambda: s.link(l["code"]).json()["visits"]["total"] == 10, what="10 visits recorded")


def test_head_of_a_counted_link_when_the_store_cannot_be_read_is_503(server):
    """HEAD of a link with a visit limit reads how many are left (it spends
    none): a store that cannot be read is a 503, not the 410 of a spent
    link. The fault is the links table renamed under the running server."""
    s = server
    code = s.create(max_visits=5)["code"]

    def status(want):
        r = s.head("/" + code)
        assert r.status_code == want, (r.status_code, r.headers)

    on_every_worker(s, lambda: status(302))  # cached: the HEAD reads only the count
    db = sqlite3.connect(str(Path(s.data) / "linkpulse.db"), timeout=10)
    db.execute("ALTER TABLE links RENAME TO links_renamed")
    try:
        on_every_worker(s, lambda: status(503), 8)
    finally:
        db.execute("ALTER TABLE links_renamed RENAME TO links")
        db.close()
    status(302)
