"""POST /api/v1/links/bulk (issue 4): per-item validation and results, one
transaction for the valid ones, limits, races for the same codes."""

import json

from conftest import assert_link, assert_problem, create_link, parallel, signup, unique


def bulk(s, links, key=None, **kw):
    h = {"Content-Type": "application/json"}
    h.update(s.auth(key))
    return s.http.post(s.url("/api/v1/links/bulk"), data=json.dumps({"links": links}), headers=h, timeout=60, **kw)


def test_mixed_items_report_each_result(server):
    s = server
    slug = "bulk-" + unique("")
    r = bulk(s, [
        {"url": "https://example.com/a", "slug": slug, "tags": ["bulk"]},
        {"url": "javascript:alert(1)"},
        {"url": "https://example.com/b", "slug": slug},
        "not an object",
        {"url": "https://example.com/c", "title": "C", "max_visits": 0},
        {"url": "https://example.com/d", "redirect_type": 307},
    ])
    assert r.status_code == 200, r.text
    body = r.json()
    got = [(i["index"], i["status"]) for i in body["items"]]
    assert got == [(0, 201), (1, 422), (2, 409), (3, 422), (4, 422), (5, 201)], got
    assert body["created"] == 2 and body["failed"] == 4
    first = assert_link(body["items"][0]["link"], s)
    assert first["code"] == slug and first["tags"] == ["bulk"]
    assert [p["name"] for p in body["items"][1]["problem"]["invalid_params"]] == ["url"]
    assert body["items"][2]["problem"]["type"].endswith("/conflict")
    assert [p["name"] for p in body["items"][4]["problem"]["invalid_params"]] == ["max_visits"]
    assert body["items"][5]["link"]["redirect_type"] == 307
    # the valid ones are there, and redirect
    assert s.get("/" + slug).headers["Location"] == "https://example.com/a"
    assert s.get("/" + body["items"][5]["link"]["code"]).status_code == 307
    assert len(s.list_all()) == 2


def test_a_thousand_links_in_one_request(server):
    s = server
    r = bulk(s, [{"url": "https://example.com/k/%d" % i} for i in range(1000)])
    assert r.status_code == 200, r.text[:300]
    assert r.json()["created"] == 1000
    codes = {i["link"]["code"] for i in r.json()["items"]}
    assert len(codes) == 1000
    assert len(s.list_all()) == 1000


def test_bad_requests_write_nothing(server):
    s = server
    assert_problem(bulk(s, [{"url": "https://example.com/x"}] * 1001), 422, "validation", "links")
    assert_problem(bulk(s, []), 422, "validation", "links")
    r = s.api("POST", "/api/v1/links/bulk", {"links": [{"url": "https://example.com/"}], "extra": 1})
    assert_problem(r, 422, "validation", "extra")
    assert_problem(s.api("POST", "/api/v1/links/bulk", {}), 422, "validation", "links")
    assert_problem(s.api("POST", "/api/v1/links/bulk", {"links": {"url": "x"}}), 422, "validation", "links")
    big = [{"url": "https://example.com/" + "x" * 3000} for _ in range(1000)] * 3
    r = bulk(s, big)
    assert_problem(r, 413, "payload-too-large")
    assert s.list_all() == []


def test_bulk_needs_a_writer(server):
    s = server
    a = signup(s)
    r = s.req("POST", "/api/v1/links/bulk", None, {"links": [{"url": "https://example.com/"}]})
    assert r.status_code == 401
    r = s.req("POST", "/api/v1/links/bulk", a.access, {"links": [{"url": "https://example.com/"}]})
    assert r.status_code == 200 and r.json()["created"] == 1


def test_plan_limit_counts_inside_the_transaction(server):
    s = server
    a = signup(s)  # a free personal team: 50 active links
    for _ in range(45):
        create_link(s, a.access)
    r = s.req("POST", "/api/v1/links/bulk", a.access,
              {"links": [{"url": "https://example.com/p/%d" % i} for i in range(10)]})
    assert r.status_code == 200, r.text
    st = [i["status"] for i in r.json()["items"]]
    assert st == [201] * 5 + [403] * 5, st
    assert r.json()["items"][9]["problem"]["type"].endswith("/plan-limit")


def test_racing_bulks_create_each_code_once(server):
    s = server
    codes = ["race-%s-%d" % (unique(""), i) for i in range(50)]

    def go(i, sess):
        r = sess.post(s.url("/api/v1/links/bulk"), headers=dict(s.auth(), **{"Content-Type": "application/json"}),
                      data=json.dumps({"links": [{"url": "https://example.com/%d/%s" % (i, c), "slug": c}
                                                 for c in codes]}), timeout=60)
        assert r.status_code == 200, r.text[:300]
        return [(x["link"]["code"], i) for x in r.json()["items"] if x["status"] == 201]

    won = [w for ws in parallel(4, go) for w in ws]
    assert sorted(c for c, _ in won) == sorted(codes), "every code created exactly once"
    for c, i in won:
        assert s.get("/" + c).headers["Location"] == "https://example.com/%d/%s" % (i, c)


def test_reuse_in_bulk(server):
    s = server
    first = s.create(url="https://example.com/reused")
    r = bulk(s, [{"url": "https://example.com/reused", "reuse": True}, {"url": "https://example.com/new", "reuse": True}])
    items = r.json()["items"]
    assert items[0]["status"] == 200 and items[0]["link"]["code"] == first["code"]
    assert items[1]["status"] == 201
    assert r.json()["reused"] == 1 and r.json()["created"] == 1
