"""Short domains (issue 4): the Host picks the domain, codes are unique per
domain, per-domain pages or redirects, tenant isolation, deletion rules."""

from conftest import assert_problem, create_link, signup, utc_in, wait_until


def on(s, host, path, **kw):
    return s.get(path, headers={"Host": host}, **kw)


def add_domain(s, host, key=None, **fields):
    r = s.req("POST", "/api/v1/domains", key or s.key, dict(fields, hostname=host))
    assert r.status_code == 201, r.text
    return r.json()


def test_same_code_on_two_domains(server):
    s = server
    d = add_domain(s, "s.example.org")
    assert d["hostname"] == "s.example.org" and d["default"] is False and d["not_found_redirect"] is None
    a = s.create(slug="same", url="https://example.com/default")
    r = s.api("POST", "/api/v1/links", {"slug": "same", "url": "https://example.com/custom",
                                        "domain": "S.Example.org"})
    assert r.status_code == 201, r.text
    b = r.json()
    assert b["domain"] == "s.example.org" and b["short_url"] == "http://s.example.org/same"
    assert a["domain"] == "127.0.0.1" and a["short_url"] == s.base_url + "/same"
    assert on(s, "s.example.org", "/same").headers["Location"] == "https://example.com/custom"
    assert on(s, "S.EXAMPLE.ORG:8080", "/same").headers["Location"] == "https://example.com/custom"
    assert s.get("/same").headers["Location"] == "https://example.com/default"
    assert on(s, "unknown.example.net", "/same").headers["Location"] == "https://example.com/default"
    # the same code twice on one domain is a conflict
    r = s.api("POST", "/api/v1/links", {"slug": "same", "url": "https://example.com/x", "domain": "s.example.org"})
    assert_problem(r, 409, "conflict", "slug")
    # per-link routes pick the domain with ?domain=
    assert s.api("GET", "/api/v1/links/same").json()["url"] == "https://example.com/default"
    r = s.api("GET", "/api/v1/links/same", params={"domain": "s.example.org"})
    assert r.json()["url"] == "https://example.com/custom"
    r = s.api("PATCH", "/api/v1/links/same", {"url": "https://example.com/custom2"}, params={"domain": "s.example.org"})
    assert r.status_code == 200 and r.json()["domain"] == "s.example.org"
    assert on(s, "s.example.org", "/same").headers["Location"] == "https://example.com/custom2"
    assert s.get("/same").headers["Location"] == "https://example.com/default"
    assert s.api("GET", "/api/v1/links/same/stats", params={"domain": "s.example.org"}).status_code == 200
    assert s.api("GET", "/api/v1/links/same/qr", params={"domain": "s.example.org"}).status_code == 200
    assert_problem(s.api("GET", "/api/v1/links/same", params={"domain": "nope.example"}), 404, "not-found")
    r = s.api("PATCH", "/api/v1/links/same", {"domain": "s.example.org"})
    assert_problem(r, 422, "validation", "domain")
    # listing shows both, and filters by domain
    assert sorted(l["domain"] for l in s.list_all()) == ["127.0.0.1", "s.example.org"]
    r = s.api("GET", "/api/v1/links", params={"domain": "s.example.org"})
    assert r.status_code == 200, r.text
    assert [l["url"] for l in r.json()["items"]] == ["https://example.com/custom2"]
    r = s.api("GET", "/api/v1/links", params={"domain": "127.0.0.1"})
    assert [l["url"] for l in r.json()["items"]] == ["https://example.com/default"]
    assert_problem(s.api("GET", "/api/v1/links", params={"domain": "x.example"}), 400, "validation", "domain")


def test_per_domain_pages_and_redirects(server_factory):
    s = server_factory(name="dompages", args=["--not-found-redirect", "https://example.com/default-404"])
    add_domain(s, "go.example.org", base_url_redirect="https://example.com/home",
               not_found_redirect="https://example.com/missing", expired_redirect="https://example.com/gone")
    add_domain(s, "plain.example.org")
    once = s.api("POST", "/api/v1/links", {"url": "https://example.com/once", "max_visits": 1,
                                           "domain": "go.example.org"}).json()
    assert on(s, "go.example.org", "/" + once["code"]).status_code == 302
    r = on(s, "go.example.org", "/" + once["code"])
    assert r.status_code == 302 and r.headers["Location"] == "https://example.com/gone"
    r = on(s, "go.example.org", "/no-such-code")
    assert r.status_code == 302 and r.headers["Location"] == "https://example.com/missing"
    r = on(s, "go.example.org", "/")
    assert r.status_code == 302 and r.headers["Location"] == "https://example.com/home"
    # a domain without settings shows the built-in pages
    assert on(s, "plain.example.org", "/no-such-code").status_code == 404
    assert on(s, "plain.example.org", "/").status_code == 404
    # the default domain follows its flags
    r = s.get("/no-such-code")
    assert r.status_code == 302 and r.headers["Location"] == "https://example.com/default-404"
    # changing a domain applies at once
    r = s.api("PATCH", "/api/v1/domains/go.example.org", {"not_found_redirect": None})
    assert r.status_code == 200 and r.json()["not_found_redirect"] is None
    assert on(s, "go.example.org", "/no-such-code").status_code == 404
    # the orphan visits are recorded
    kinds = {v["kind"] for v in s.api("GET", "/api/v1/visits/orphan").json()["items"]}
    assert kinds <= {"invalid_short_url", "base_url"}


def test_expired_links_per_domain(server_factory):
    """An expired (expires_at passed) or used-up link: a domain's
    expired_redirect is a 302 there, a domain without one shows the built-in
    410 page (no Location), and the default domain follows --expired-redirect
    and --base-url-redirect."""
    s = server_factory(name="domexp", args=["--expired-redirect", "https://example.com/default-gone",
                                            "--base-url-redirect", "https://example.com/default-home"])
    add_domain(s, "exp.example.org", expired_redirect="https://example.com/exp-gone")
    add_domain(s, "bare.example.org")
    default = [d for d in s.api("GET", "/api/v1/domains").json()["items"] if d["default"]]
    assert [(d["expired_redirect"], d["base_url_redirect"]) for d in default] == \
        [("https://example.com/default-gone", "https://example.com/default-home")]
    soon = utc_in(2)
    links = {}
    for host in ("exp.example.org", "bare.example.org", None):
        body = {"url": "https://example.com/live", "expires_at": soon}
        if host:
            body["domain"] = host
        r = s.api("POST", "/api/v1/links", body)
        assert r.status_code == 201, r.text
        links[host] = r.json()["code"]
        r = on(s, host or s.host, "/" + links[host])  # warms the cache while the link is live
        assert r.status_code == 302 and r.headers["Location"] == "https://example.com/live"
    wait_until(lambda: on(s, "bare.example.org", "/" + links["bare.example.org"]).status_code == 410,
               timeout=10, what="expires_at passed")
    r = on(s, "bare.example.org", "/" + links["bare.example.org"])
    assert r.status_code == 410 and "Location" not in r.headers
    assert r.headers["Content-Type"].startswith("text/html")
    assert s.head("/" + links["bare.example.org"], headers={"Host": "bare.example.org"}).status_code == 410
    r = on(s, "exp.example.org", "/" + links["exp.example.org"])
    assert r.status_code == 302 and r.headers["Location"] == "https://example.com/exp-gone"
    r = s.get("/" + links[None])
    assert r.status_code == 302 and r.headers["Location"] == "https://example.com/default-gone"
    # the bare default domain follows --base-url-redirect; a domain without one does not
    r = s.get("/")
    assert r.status_code == 302 and r.headers["Location"] == "https://example.com/default-home"
    assert on(s, "bare.example.org", "/").status_code == 404
    # a used-up link is expired too
    once = s.api("POST", "/api/v1/links", {"url": "https://example.com/once", "max_visits": 1,
                                           "domain": "bare.example.org"}).json()
    assert on(s, "bare.example.org", "/" + once["code"]).status_code == 302
    r = on(s, "bare.example.org", "/" + once["code"])
    assert r.status_code == 410 and "Location" not in r.headers
    # setting and clearing expired_redirect applies to the next request
    r = s.api("PATCH", "/api/v1/domains/bare.example.org", {"expired_redirect": "https://example.com/late-gone"})
    assert r.status_code == 200 and r.json()["expired_redirect"] == "https://example.com/late-gone", r.text
    for code in (links["bare.example.org"], once["code"]):
        r = on(s, "bare.example.org", "/" + code)
        assert r.status_code == 302 and r.headers["Location"] == "https://example.com/late-gone"
    r = s.api("PATCH", "/api/v1/domains/exp.example.org", {"expired_redirect": None})
    assert r.status_code == 200 and r.json()["expired_redirect"] is None, r.text
    r = on(s, "exp.example.org", "/" + links["exp.example.org"])
    assert r.status_code == 410 and "Location" not in r.headers


def test_patch_bad_redirect_changes_nothing(server):
    s = server
    add_domain(s, "keep.example.org", base_url_redirect="https://example.com/home",
               not_found_redirect="https://example.com/missing", expired_redirect="https://example.com/gone")
    before = s.api("GET", "/api/v1/domains/keep.example.org").json()
    cases = [({"expired_redirect": "javascript:alert(1)"}, "expired_redirect"),
             ({"expired_redirect": "not a url"}, "expired_redirect"),
             ({"base_url_redirect": "ftp://example.com/x"}, "base_url_redirect"),
             ({"not_found_redirect": 5}, "not_found_redirect"),
             ({"expired_redirect": ""}, "expired_redirect"),
             # a valid change next to a bad one is not applied either
             ({"not_found_redirect": None, "expired_redirect": "javascript:x"}, "expired_redirect"),
             ({"base_url_redirect": "https://example.com/new", "expired_redirect": "https://" + "a" * 4000},
              "expired_redirect")]
    for body, name in cases:
        r = s.api("PATCH", "/api/v1/domains/keep.example.org", body)
        assert_problem(r, 422, "validation", name)
        assert [p["name"] for p in r.json()["invalid_params"]] == [name], (body, r.text)
    after = s.api("GET", "/api/v1/domains/keep.example.org")
    assert after.status_code == 200 and after.json() == before
    r = on(s, "keep.example.org", "/no-such-code")
    assert r.status_code == 302 and r.headers["Location"] == "https://example.com/missing"
    r = on(s, "keep.example.org", "/")
    assert r.status_code == 302 and r.headers["Location"] == "https://example.com/home"


def test_robots_and_preview_per_domain(server):
    s = server
    add_domain(s, "r.example.org")
    d = s.api("POST", "/api/v1/links", {"url": "https://example.com/c", "crawlable": True, "slug": "crawl-d",
                                        "domain": "r.example.org"}).json()
    s.create(slug="crawl-0", crawlable=True)
    assert "/crawl-d" in on(s, "r.example.org", "/robots.txt").text
    assert "/crawl-0" not in on(s, "r.example.org", "/robots.txt").text
    assert "/crawl-0" in s.get("/robots.txt").text and "/crawl-d" not in s.get("/robots.txt").text
    assert "https://example.com/c" in on(s, "r.example.org", "/crawl-d+").text
    assert s.get("/crawl-d+").status_code == 404
    assert d["short_url"] == "http://r.example.org/crawl-d"


def test_domains_belong_to_one_team(server):
    s = server
    a, b = signup(s), signup(s)
    add_domain(s, "team-a.example.org", key=a.access)
    r = b.call("POST", "/api/v1/domains", {"hostname": "team-a.example.org"})
    assert_problem(r, 409, "conflict", "hostname")
    assert [d["hostname"] for d in b.call("GET", "/api/v1/domains").json()["items"]] == ["127.0.0.1"]
    assert_problem(b.call("GET", "/api/v1/domains/team-a.example.org"), 404, "not-found")
    assert_problem(b.call("PATCH", "/api/v1/domains/team-a.example.org", {"not_found_redirect": None}),
                   404, "not-found")
    assert_problem(b.call("DELETE", "/api/v1/domains/team-a.example.org"), 404, "not-found")
    r = b.call("POST", "/api/v1/links", {"url": "https://example.com/", "domain": "team-a.example.org"})
    assert_problem(r, 422, "validation", "domain")
    link = create_link(s, a.access, url="https://example.com/a", domain="team-a.example.org")
    r = b.call("GET", "/api/v1/links/" + link["code"], params={"domain": "team-a.example.org"})
    assert_problem(r, 404, "not-found")
    items = a.call("GET", "/api/v1/domains").json()["items"]
    assert [(d["hostname"], d["default"]) for d in items] == [("127.0.0.1", True), ("team-a.example.org", False)]


def test_bad_domains_write_nothing(server):
    s = server
    for body, name in [({"hostname": "localhost"}, "hostname"), ({"hostname": "1.2.3.4"}, "hostname"),
                       ({"hostname": "a_b.example"}, "hostname"), ({"hostname": "127.0.0.1"}, "hostname"),
                       ({}, "hostname"), ({"hostname": 5}, "hostname"),
                       ({"hostname": "ok.example.org", "not_found_redirect": "javascript:x"}, "not_found_redirect"),
                       ({"hostname": "ok.example.org", "colour": "red"}, "colour")]:
        assert_problem(s.api("POST", "/api/v1/domains", body), 422, "validation", name)
    assert len(s.api("GET", "/api/v1/domains").json()["items"]) == 1
    add_domain(s, "ok.example.org")
    assert_problem(s.api("PATCH", "/api/v1/domains/ok.example.org", {"hostname": "x.example.org"}), 422,
                   "validation", "hostname")
    assert_problem(s.api("PATCH", "/api/v1/domains/ok.example.org", {}), 422, "validation", "body")


def test_delete_only_unused_domains(server):
    s = server
    add_domain(s, "del.example.org")
    link = s.api("POST", "/api/v1/links", {"url": "https://example.com/", "domain": "del.example.org"}).json()
    assert_problem(s.api("DELETE", "/api/v1/domains/del.example.org"), 409, "conflict")
    assert s.api("DELETE", "/api/v1/links/" + link["code"], params={"domain": "del.example.org"}).status_code == 204
    assert s.api("DELETE", "/api/v1/domains/del.example.org").status_code == 204
    assert_problem(s.api("GET", "/api/v1/domains/del.example.org"), 404, "not-found")
    # its Host now falls back to the default domain
    s.create(slug="fallback")
    assert on(s, "del.example.org", "/fallback").status_code == 302


def test_bulk_and_suggest_on_domains(server):
    s = server
    add_domain(s, "bulk.example.org")
    r = s.api("POST", "/api/v1/links/bulk", {"links": [{"url": "https://example.com/1", "slug": "bd",
                                                        "domain": "bulk.example.org"},
                                                       {"url": "https://example.com/2", "domain": "other.example"}]})
    items = r.json()["items"]
    assert items[0]["status"] == 201 and items[0]["link"]["domain"] == "bulk.example.org"
    assert [p["name"] for p in items[1]["problem"]["invalid_params"]] == ["domain"]
    got = s.api("GET", "/api/v1/links/suggest", params={"q": "bd"}).json()["items"]
    assert [(i["code"], i["short_url"]) for i in got] == [("bd", "http://bulk.example.org/bd")]
