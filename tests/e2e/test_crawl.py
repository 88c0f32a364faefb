"""Crawlers and previews: the crawlable flag, /robots.txt, X-Robots-Tag on
redirects, and the /{code}+ preview page."""

import html
import re
import sqlite3
import time

import pytest

from conftest import assert_problem, run_cli, unique, wait_until

EXTERNAL_ASSET = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.I)


@pytest.fixture(scope="module")
def srv(module_server):
    return module_server


def test_crawlable_defaults_false_and_is_settable(srv):
    link = srv.create()
    assert link["crawlable"] is False
    assert srv.create(crawlable=True)["crawlable"] is True
    r = srv.api("PATCH", "/api/v1/links/" + link["code"], {"crawlable": True})
    assert r.status_code == 200 and r.json()["crawlable"] is True, r.text
    assert srv.link(link["code"]).json()["crawlable"] is True
    r = srv.api("PATCH", "/api/v1/links/" + link["code"], {"title": "still crawlable"})
    assert r.json()["crawlable"] is True
    r = srv.api("PATCH", "/api/v1/links/" + link["code"], {"crawlable": False})
    assert r.json()["crawlable"] is False
    assert all(isinstance(l["crawlable"], bool) for l in srv.list_all())


@pytest.mark.parametrize("value", ["yes", 1, None, [], {}])
def test_crawlable_must_be_boolean(srv, value):
    before = len(srv.list_all())
    r = srv.api("POST", "/api/v1/links", {"url": "https://example.com/" + unique("c"), "crawlable": value})
    assert_problem(r, 422, "validation", "crawlable")
    assert len(srv.list_all()) == before
    link = srv.create()
    r = srv.api("PATCH", "/api/v1/links/" + link["code"], {"crawlable": value, "title": "x"})
    assert_problem(r, 422, "validation", "crawlable")
    after = srv.link(link["code"]).json()
    assert after["crawlable"] is False and after["title"] is None


def test_redirect_x_robots_tag(srv):
    plain, open_ = srv.create(), srv.create(crawlable=True)
    for _ in range(2):  # the first fills the cache, the second reads it
        r = srv.get("/" + plain["code"])
        assert r.status_code == 302 and r.headers.get("X-Robots-Tag") == "noindex"
        r = srv.get("/" + open_["code"])
        assert r.status_code == 302 and "X-Robots-Tag" not in r.headers
    # a change reaches the cached snapshot
    srv.api("PATCH", "/api/v1/links/" + plain["code"], {"crawlable": True})
    assert "X-Robots-Tag" not in srv.get("/" + plain["code"]).headers
    srv.api("PATCH", "/api/v1/links/" + plain["code"], {"crawlable": False})
    assert srv.get("/" + plain["code"]).headers.get("X-Robots-Tag") == "noindex"
    # links with a visit limit take the writer's path
    limited = srv.create(max_visits=5)
    assert srv.get("/" + limited["code"]).headers.get("X-Robots-Tag") == "noindex"
    limited = srv.create(max_visits=5, crawlable=True)
    r = srv.get("/" + limited["code"])
    assert r.status_code == 302 and "X-Robots-Tag" not in r.headers


def test_robots_txt(server):
    """A fresh server: no worker has built its robots.txt yet."""
    s = server
    allowed = [s.create(crawlable=True, slug=unique("Open")), s.create(crawlable=True)]
    plain = s.create(slug=unique("Closed"))
    spent = s.create(crawlable=True, max_visits=1)
    assert s.get("/" + spent["code"]).status_code == 302
    # /Op is a prefix of an allowed code but not a crawlable link itself
    prefix = s.create(slug=allowed[0]["code"][:-1])
    deleted = s.create(crawlable=True)
    assert s.api("DELETE", "/api/v1/links/" + deleted["code"]).status_code == 204
    for _ in range(4):  # every worker answers the same
        r = s.get("/robots.txt")
        assert r.status_code == 200
        assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert r.headers["Cache-Control"] == "public, max-age=60"
        lines = r.text.splitlines()
        assert lines[0] == "User-agent: *" and lines[-1] == "Disallow: /", r.text
        allows = sorted(l for l in lines if l.startswith("Allow:"))
        assert allows == sorted("Allow: /%s$" % l["code"] for l in allowed), r.text
        for l in (plain, spent, prefix, deleted):
            assert "/%s$" % l["code"] not in r.text
    assert s.head("/robots.txt").status_code == 200
    assert_problem(s.http.post(s.url("/robots.txt")), 405, "method-not-allowed")


def test_robots_txt_with_nothing_crawlable(server):
    server.create()
    r = server.get("/robots.txt")
    assert r.text == "User-agent: *\nDisallow: /\n"


def esc(text):
    return html.escape(text, quote=True).replace("&#x27;", "&#39;")


def visits_total(srv, code):
    return srv.link(code).json()["visits"]["total"]


def test_preview_page(srv):
    title = 'Launch <script>alert("x")</script> & \'more\''
    url = "https://example.com/a?b=1&c=<d>&e=\"f\""
    link = srv.create(url=url, title=title)
    r = srv.get("/%s+" % link["code"])
    assert r.status_code == 200, r.text[:300]
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "Location" not in r.headers
    assert r.headers["X-Robots-Tag"] == "noindex"
    assert "default-src 'none'" in r.headers["Content-Security-Policy"]
    assert r.headers["Cache-Control"] == "no-store"
    body = r.text
    assert "<script" not in body.lower(), body
    assert "<dd>%s</dd>" % esc(title) in body, body
    stored_url = link["url"]
    assert "<dd>%s</dd>" % esc(stored_url) in body, body
    go = 'href="%s"' % esc(stored_url)
    assert go in body, "no link to continue"
    assert not EXTERNAL_ASSET.search(body.replace(go, "")), "the page loads external assets"
    assert "<dd>%s</dd>" % esc(link["short_url"]) in body
    assert "<time>%s</time>" % link["created_at"] in body
    assert re.search(r"<dt>Visits</dt><dd>0</dd>", body), body
    assert srv.head("/%s+" % link["code"]).status_code == 200
    assert_problem(srv.http.post(srv.url("/%s+" % link["code"])), 405, "method-not-allowed")


def test_preview_does_not_count_and_shows_visits(srv):
    link = srv.create(max_visits=3)
    for _ in range(5):
        assert srv.get("/%s+" % link["code"]).status_code == 200
    assert srv.get("/" + link["code"]).status_code == 302
    wait_until(lambda: visits_total(srv, link["code"]) == 1, what="the one redirect recorded")
    time.sleep(1.0)  # several flush windows: previews would have landed by now
    assert visits_total(srv, link["code"]) == 1
    r = srv.get("/%s+" % link["code"])
    assert "<dt>Visits</dt><dd>1</dd>" in r.text
    # previews spent nothing: two redirects are left
    assert srv.get("/" + link["code"]).status_code == 302
    assert srv.get("/" + link["code"]).status_code == 302
    assert srv.get("/" + link["code"]).status_code == 410


def test_preview_unknown_and_spent(srv):
    r = srv.get("/nosuch-%s+" % unique("p"))
    assert r.status_code == 404 and r.headers["Content-Type"].startswith("text/html")
    link = srv.create(max_visits=1)
    assert srv.get("/" + link["code"]).status_code == 302
    assert srv.get("/%s+" % link["code"]).status_code == 410
    # no title: says so
    plain = srv.create()
    assert "<em>none</em>" in srv.get("/%s+" % plain["code"]).text


def test_robots_txt_caps(server_factory):
    """More crawlable links than fit: at most 20,000 codes and 500 KiB, with
    the cut said in a comment, and still a valid file ending in Disallow."""
    srv = server_factory(start=False)
    r = run_cli(["seed", "--data", str(srv.data), "--links", "20500"], timeout=120)
    assert r.returncode == 0, r.stderr
    db = sqlite3.connect(str(srv.data / "linkpulse.db"))
    with db:
        db.execute("UPDATE links SET crawlable = 1")
    db.close()
    srv.start()
    r = srv.get("/robots.txt")
    lines = r.text.splitlines()
    assert lines[0] == "User-agent: *" and lines[-1] == "Disallow: /"
    allows = [l for l in lines if l.startswith("Allow: /")]
    assert len(allows) == 20000 and allows == sorted(allows)
    assert "# truncated: more crawlable links than fit" in lines
    srv.stop()
    db = sqlite3.connect(str(srv.data / "linkpulse.db"))
    with db:  # 64-character codes: the byte cap comes first
        db.execute("UPDATE links SET code = substr(code || '-%s', 1, 64)" % ("x" * 64))
    db.close()
    srv.start()
    r = srv.get("/robots.txt")
    assert len(r.content) <= 500 * 1024
    lines = r.text.splitlines()
    allows = [l for l in lines if l.startswith("Allow: /")]
    assert 6000 < len(allows) < 20000 and all(len(l) == len("Allow: /$") + 64 for l in allows)
    assert lines[-2:] == ["# truncated: more crawlable links than fit", "Disallow: /"]
