"""Links: lifecycle, redirects, slugs, max_visits, expiry, URL normalisation, caching."""

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest
import requests

from conftest import (CODE_RE, HTTP_TIMEOUT, TS_RE, assert_link, assert_problem,
                      rfc3339, unique, utc_in)

EXTERNAL_ASSET = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.I)


@pytest.fixture(scope="module")
def srv(module_server):
    return module_server


def assert_html_page(r, status):
    assert r.status_code == status, "%s %s" % (r.status_code, r.text[:300])
    ctype = r.headers.get("Content-Type", "")
    assert ctype.split(";")[0].strip().lower() == "text/html", ctype
    assert r.headers.get("X-Request-Id")
    assert 0 < len(r.content) < 16384, "page of %d bytes" % len(r.content)
    assert not EXTERNAL_ASSET.search(r.text), "page loads external assets: %s" % r.text[:1000]
    assert "Location" not in r.headers


def assert_redirect(srv, code, url, status=302):
    r = srv.get("/" + code)
    assert r.status_code == status, "GET /%s -> %s %s" % (code, r.status_code, r.text[:200])
    assert r.headers.get("Location") == url
    return r


def test_lifecycle(srv):
    url = "https://example.com/" + unique("life")
    r = srv.api("POST", "/api/v1/links", {"url": url})
    assert r.status_code == 201, r.text
    link = assert_link(r.json(), srv)
    code = link["code"]
    assert CODE_RE.match(code), code
    assert r.headers.get("Location") == "/api/v1/links/" + code
    assert r.headers.get("Content-Type", "").startswith("application/json")
    assert link["url"] == url
    assert link["title"] is None and link["expires_at"] is None and link["max_visits"] is None
    assert link["redirect_type"] == 302
    assert link["updated_at"] >= link["created_at"]

    # redirect, GET and HEAD
    assert_redirect(srv, code, url)
    h = srv.head("/" + code)
    assert h.status_code == 302 and h.headers.get("Location") == url
    assert h.content == b""

    # read
    r = srv.link(code)
    assert r.status_code == 200
    assert r.json() == link

    # change the target: the very next redirect follows
    time.sleep(0.005)  # updated_at has ms resolution
    url2 = "https://example.org/" + unique("moved")
    r = srv.api("PATCH", "/api/v1/links/" + code, {"url": url2})
    assert r.status_code == 200, r.text
    patched = assert_link(r.json(), srv)
    assert patched["url"] == url2 and patched["code"] == code
    assert patched["created_at"] == link["created_at"]
    assert patched["updated_at"] > link["updated_at"]
    assert_redirect(srv, code, url2)
    assert srv.link(code).json() == patched

    # rename: old code gone at once, new one works
    new_code = unique("renamed")
    r = srv.api("PATCH", "/api/v1/links/" + code, {"slug": new_code})
    assert r.status_code == 200, r.text
    renamed = assert_link(r.json(), srv)
    assert renamed["code"] == new_code and renamed["url"] == url2
    assert_html_page(srv.get("/" + code), 404)
    assert_problem(srv.link(code), 404, "not-found")
    assert_redirect(srv, new_code, url2)
    assert srv.link(new_code).status_code == 200

    # delete
    r = srv.api("DELETE", "/api/v1/links/" + new_code)
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert_html_page(srv.get("/" + new_code), 404)
    assert srv.head("/" + new_code).status_code == 404
    assert_problem(srv.link(new_code), 404, "not-found")
    assert_problem(srv.api("DELETE", "/api/v1/links/" + new_code), 404, "not-found")
    assert_problem(srv.api("PATCH", "/api/v1/links/" + new_code, {"title": "x"}), 404, "not-found")


def test_create_all_fields(srv):
    exp = utc_in(86400 * 30)
    slug = unique("full")
    link = srv.create(url="https://example.com/full", slug=slug, title="Full ✓ title",
                      expires_at=exp, max_visits=1000, redirect_type=307)
    assert link["code"] == slug
    assert link["title"] == "Full ✓ title"
    assert link["expires_at"] == exp
    assert link["max_visits"] == 1000
    assert link["redirect_type"] == 307
    assert srv.link(slug).json() == link


def test_text_fields_come_back_exactly_from_every_answer(srv):
    """A link's JSON is written by hand (util/jsonw): quotes, backslashes,
    control characters and non-ASCII text must come back as they were sent
    from create, read, update, list and export alike."""
    tag = unique("esc")
    title = 'He said "hi" \\ back\\slash </script> caf\u00e9 \U0001F517 \u2028'
    note = 'line one\nline two\t"tab"\r\n\\ end \u00fc'
    sent = dict(url="https://example.com/" + unique("esc"), title=title, note=note,
                tags=[tag, "\u00e9t\u00e9"], utm_source='a"b\\c')
    created = srv.create(**sent)
    code = created["code"]

    def check(obj, where):
        for k in ("title", "note", "utm_source"):
            assert obj[k] == sent[k], "%s: %s is %r" % (where, k, obj[k])
        assert sorted(obj["tags"]) == sorted(sent["tags"]), where

    check(created, "create")
    r = srv.link(code)
    assert r.status_code == 200
    check(r.json(), "read")
    assert r.json() == created
    r = srv.api("PATCH", "/api/v1/links/" + code, {"max_visits": 7})
    assert r.status_code == 200, r.text
    check(r.json(), "update")
    r = srv.api("GET", "/api/v1/links?tag=" + tag)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [i["code"] for i in items] == [code]
    check(items[0], "list")
    r = srv.api("GET", "/api/v1/links/export?format=json&tag=" + tag)
    assert r.status_code == 200, r.text
    links = r.json()["links"]
    assert [i["code"] for i in links] == [code]
    check(links[0], "export")


def test_expires_at_normalised_to_utc(srv):
    link = srv.create(expires_at="2099-06-01T12:00:00+02:00")
    assert link["expires_at"] == "2099-06-01T10:00:00.000Z"


def test_patch_null_clears(srv):
    link = srv.create(title="t", expires_at=utc_in(3600), max_visits=5, redirect_type=301)
    r = srv.api("PATCH", "/api/v1/links/" + link["code"],
                {"title": None, "expires_at": None, "max_visits": None})
    assert r.status_code == 200, r.text
    p = assert_link(r.json(), srv)
    assert p["title"] is None and p["expires_at"] is None and p["max_visits"] is None
    assert p["redirect_type"] == 301 and p["url"] == link["url"]

    r = srv.api("PATCH", "/api/v1/links/" + link["code"], {"redirect_type": 308, "title": "again"})
    assert r.status_code == 200, r.text
    assert r.json()["redirect_type"] == 308 and r.json()["title"] == "again"
    assert_redirect(srv, link["code"], link["url"], 308)


@pytest.mark.parametrize("rt", [301, 302, 307, 308])
def test_redirect_types(srv, rt):
    link = srv.create(redirect_type=rt)
    assert link["redirect_type"] == rt
    assert_redirect(srv, link["code"], link["url"], rt)
    h = srv.head("/" + link["code"])
    assert h.status_code == rt and h.headers.get("Location") == link["url"]


def test_generated_codes_distinct(srv):
    codes = {srv.create()["code"] for _ in range(8)}
    assert len(codes) == 8
    assert all(CODE_RE.match(c) for c in codes)


def test_slugs_case_sensitive_and_conflict(srv):
    mixed = "Promo-" + unique("x").upper()
    upper = srv.create(url="https://example.com/upper", slug=mixed)
    lower = srv.create(url="https://example.com/lower", slug=mixed.lower())
    assert upper["code"] != lower["code"]
    assert_redirect(srv, upper["code"], "https://example.com/upper")
    assert_redirect(srv, lower["code"], "https://example.com/lower")
    r = srv.api("POST", "/api/v1/links", {"url": "https://example.com/dup", "slug": lower["code"]})
    assert_problem(r, 409, "conflict")
    assert_redirect(srv, lower["code"], "https://example.com/lower")
    # renaming onto a taken slug is a conflict too, and changes nothing
    r = srv.api("PATCH", "/api/v1/links/" + upper["code"], {"slug": lower["code"]})
    assert_problem(r, 409, "conflict")
    # (the redirect above is counted in "visits" whenever the sink flushes)
    strip = lambda l: {k: v for k, v in l.items() if k != "visits"}  # noqa: E731
    assert strip(srv.link(upper["code"]).json()) == strip(upper)


def test_slug_boundaries(srv):
    for s in ("a", "Z", "0", "_", "-", "x" * 64, unique("a_b-C")):
        r = srv.api("POST", "/api/v1/links", {"url": "https://example.com/b", "slug": s})
        assert r.status_code == 201, "%r: %s" % (s, r.text)
        assert r.json()["code"] == s
        assert_redirect(srv, s, "https://example.com/b")


def test_max_visits_exact(srv):
    link = srv.create(max_visits=3)
    for i in range(3):
        assert_redirect(srv, link["code"], link["url"])
    assert_html_page(srv.get("/" + link["code"]), 410)
    assert_html_page(srv.get("/" + link["code"]), 410)
    # the link itself is still readable through the API
    assert srv.link(link["code"]).status_code == 200


def test_max_visits_concurrent(srv):
    link = srv.create(max_visits=10)
    n = 20
    barrier = threading.Barrier(n)

    def hit(_):
        with requests.Session() as s:
            barrier.wait(timeout=10)
            r = s.get(srv.url("/" + link["code"]), allow_redirects=False, timeout=HTTP_TIMEOUT)
            return r.status_code, r.headers.get("Location")

    with ThreadPoolExecutor(n) as ex:
        results = list(ex.map(hit, range(n)))
    statuses = sorted(s for s, _ in results)
    assert statuses.count(302) == 10 and statuses.count(410) == 10, statuses
    assert all(loc == link["url"] for s, loc in results if s == 302)
    assert srv.get("/" + link["code"]).status_code == 410


def test_expires_at(srv):
    exp = time.time() + 2.0
    link = srv.create(expires_at=rfc3339(datetime.fromtimestamp(exp, timezone.utc)))
    assert TS_RE.match(link["expires_at"])
    assert_redirect(srv, link["code"], link["url"])  # warms the cache, too
    assert_redirect(srv, link["code"], link["url"])
    time.sleep(max(0.0, exp - time.time() + 0.05))
    assert_html_page(srv.get("/" + link["code"]), 410)
    assert srv.head("/" + link["code"]).status_code == 410


def test_unknown_code_page(srv):
    assert_html_page(srv.get("/" + unique("nope")), 404)
    assert srv.head("/" + unique("nope")).status_code == 404


def test_negative_cache_does_not_hide_new_link(srv):
    slug = unique("late")
    for _ in range(3):
        assert srv.get("/" + slug).status_code == 404
    srv.create(url="https://example.com/late", slug=slug)
    assert_redirect(srv, slug, "https://example.com/late")


def test_delete_and_recreate_same_slug(srv):
    slug = unique("again")
    srv.create(url="https://example.com/first", slug=slug)
    assert_redirect(srv, slug, "https://example.com/first")
    assert srv.api("DELETE", "/api/v1/links/" + slug).status_code == 204
    assert srv.get("/" + slug).status_code == 404
    srv.create(url="https://example.com/second", slug=slug)
    assert_redirect(srv, slug, "https://example.com/second")


def test_patch_max_visits_and_expiry_take_effect(srv):
    link = srv.create(max_visits=1)
    assert_redirect(srv, link["code"], link["url"])
    assert srv.get("/" + link["code"]).status_code == 410
    r = srv.api("PATCH", "/api/v1/links/" + link["code"], {"max_visits": None})
    assert r.status_code == 200, r.text
    assert_redirect(srv, link["code"], link["url"])
    exp = time.time() + 1.0
    r = srv.api("PATCH", "/api/v1/links/" + link["code"],
                {"expires_at": rfc3339(datetime.fromtimestamp(exp, timezone.utc))})
    assert r.status_code == 200, r.text
    time.sleep(max(0.0, exp - time.time() + 0.05))
    assert srv.get("/" + link["code"]).status_code == 410


NORMALISE = [
    ("HTTP://Example.COM", "http://example.com/"),
    ("https://EXAMPLE.com:443/a/B?q=1&R=2#Frag", "https://example.com/a/B?q=1&R=2#Frag"),
    ("http://example.com:80/x", "http://example.com/x"),
    ("http://example.com:8080/x", "http://example.com:8080/x"),
    ("https://example.com:80/x", "https://example.com:80/x"),
    ("http://bücher.example/x", "http://xn--bcher-kva.example/x"),
    ("https://example.com?x=1", "https://example.com/?x=1"),
    ("http://127.0.0.1:9/p", "http://127.0.0.1:9/p"),
    ("http://[::1]:8080/p", "http://[::1]:8080/p"),
]


@pytest.mark.parametrize("given,want", NORMALISE, ids=[g for g, _ in NORMALISE])
def test_url_normalisation(srv, given, want):
    link = srv.create(url=given)
    assert link["url"] == want
    assert_redirect(srv, link["code"], want)


def test_list_newest_first(srv):
    made = [srv.create()["code"] for _ in range(3)]
    r = srv.api("GET", "/api/v1/links", params={"limit": 3})
    assert r.status_code == 200
    body = r.json()
    assert set(body) >= {"items", "next_cursor"}
    assert [i["code"] for i in body["items"]] == made[::-1]
    for i in body["items"]:
        assert_link(i, srv)


def test_patch_max_visits_below_and_above_used(srv):
    link = srv.create(max_visits=5)
    for _ in range(3):
        assert_redirect(srv, link["code"], link["url"])
    r = srv.api("PATCH", "/api/v1/links/" + link["code"], {"max_visits": 2})
    assert r.status_code == 200, r.text
    assert srv.get("/" + link["code"]).status_code == 410
    r = srv.api("PATCH", "/api/v1/links/" + link["code"], {"max_visits": 4})
    assert r.status_code == 200, r.text
    assert_redirect(srv, link["code"], link["url"])  # the 4th visit
    assert srv.get("/" + link["code"]).status_code == 410


def test_expired_link_revived_by_patch(srv):
    exp = time.time() + 1.0
    link = srv.create(expires_at=rfc3339(datetime.fromtimestamp(exp, timezone.utc)))
    assert_redirect(srv, link["code"], link["url"])
    time.sleep(max(0.0, exp - time.time() + 0.05))
    assert srv.get("/" + link["code"]).status_code == 410
    r = srv.api("PATCH", "/api/v1/links/" + link["code"], {"expires_at": None})
    assert r.status_code == 200, r.text
    assert_redirect(srv, link["code"], link["url"])


def test_concurrent_creates_same_slug(srv):
    slug = unique("race")
    n = 12
    barrier = threading.Barrier(n)

    def create(i):
        with requests.Session() as s:
            barrier.wait(timeout=10)
            r = s.post(srv.url("/api/v1/links"), json={"url": "https://example.com/race/%d" % i,
                                                       "slug": slug},
                       headers=srv.auth(), timeout=HTTP_TIMEOUT)
            return r.status_code, (r.json().get("url") if r.status_code == 201 else None)

    with ThreadPoolExecutor(n) as ex:
        results = list(ex.map(create, range(n)))
    statuses = sorted(s for s, _ in results)
    assert statuses == [201] + [409] * (n - 1), statuses
    winner = next(u for s, u in results if s == 201)
    assert_redirect(srv, slug, winner)
