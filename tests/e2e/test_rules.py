"""Redirect rules, black-box: GET/PUT /api/v1/links/{code}/rules, every
condition type against real user-agent strings (uap-core's test cases),
the GeoIP test database and forwarded client addresses, first-match order,
the visit's target_url after rules, bad input naming the field path with
nothing stored, and tenant isolation."""
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests
import yaml

from conftest import HTTP_TIMEOUT, REPO, assert_problem, rfc3339, signup, wait_until

UA_DIR = REPO.parent / "shared" / "testdata" / "useragents"
CITY_DB = REPO.parent / "shared" / "testdata" / "geoip" / "GeoIP2-City-Test.mmdb"
GB_IP, SE_IP = "81.2.69.142", "89.160.20.112"
FLAGS = ["--trusted-proxies", "127.0.0.1/32", "--geoip", str(CITY_DB), "--visit-flush-ms", "50"]


def _cases(name):
    with open(UA_DIR / name) as f:
        return yaml.safe_load(f)["test_cases"]


def pick(family=None, os=None, must=(), must_not=()):
    """The first uap-core case of a browser family (test_ua) or OS family
    (test_os) whose string holds every word of must and none of must_not:
    real strings, not hand-written ones."""
    for c in _cases("uap_test_ua.yaml" if family else "uap_test_os.yaml"):
        ua = c["user_agent_string"]
        if c["family"] == (family or os) and all(m in ua for m in must) and not any(m in ua for m in must_not):
            return ua
    pytest.fail("no uap-core case for %s %s" % (family or os, must))


@pytest.fixture(scope="module")
def uas():
    return {
        "iphone_safari": pick(os="iOS", must=("(iPhone;", "Version/", "Mobile/", " Safari/"),
                              must_not=("CriOS", "FxiOS", "+", "GSA")),
        "ipad_safari": pick("Mobile Safari", must=("(iPad;", "Version/5")),
        "android_chrome": pick("Chrome Mobile", must=("Android", "Mobile Safari")),
        "windows_firefox": pick(os="Windows", must=("Windows NT", "Firefox/"), must_not=("SeaMonkey", "Seamonkey", "Thunderbird")),
        "mac_safari": pick("Safari", must=("Macintosh", "Version/12")),
        "windows_edge": pick("Edge", must=("Windows NT 10", "Edg/")),
        "linux_chrome": pick(os="Ubuntu", must=("X11; U; Linux", "Chromium/")),
        "samsung": pick("Samsung Internet", must=("Android", "Mobile Safari")),
    }


@pytest.fixture(scope="module")
def srv(module_factory):
    return module_factory(args=FLAGS, name="rules")


def put_rules(srv, code, rules, expect=200):
    r = srv.api("PUT", "/api/v1/links/%s/rules" % code, {"rules": rules})
    assert r.status_code == expect, r.text
    return r


def go(srv, code, ua="", ip=None, path_suffix="", **headers):
    h = {"User-Agent": ua}
    if ip:
        h["X-Forwarded-For"] = ip
    h.update(headers)
    r = srv.get("/" + code + path_suffix, headers=h)
    assert r.status_code == 302, r.text
    return r.headers["Location"]


def rule(url, *conds):
    return {"url": url, "conditions": [dict(c) for c in conds]}


def test_device_os_browser_with_real_user_agents(srv, uas):
    code = srv.create(url="https://example.com/default")["code"]
    put_rules(srv, code, [
        rule("https://example.com/tablet", {"type": "device", "value": "tablet"}),
        rule("https://example.com/ios", {"type": "os", "value": "ios"}),
        rule("https://example.com/samsung", {"type": "browser", "value": "samsung"}),
        rule("https://example.com/android", {"type": "os", "value": "android"}),
        rule("https://example.com/edge", {"type": "browser", "value": "edge"}),
        rule("https://example.com/firefox-windows", {"type": "browser", "value": "firefox"},
             {"type": "os", "value": "windows"}),
        rule("https://example.com/mac", {"type": "os", "value": "macos"}, {"type": "device", "value": "desktop"}),
        rule("https://example.com/linux-chrome", {"type": "os", "value": "linux"},
             {"type": "browser", "value": "chrome"}),
    ])
    assert go(srv, code, uas["ipad_safari"]) == "https://example.com/tablet"
    assert go(srv, code, uas["iphone_safari"]) == "https://example.com/ios"
    assert go(srv, code, uas["samsung"]) == "https://example.com/samsung"
    assert go(srv, code, uas["android_chrome"]) == "https://example.com/android"
    assert go(srv, code, uas["windows_edge"]) == "https://example.com/edge"
    assert go(srv, code, uas["windows_firefox"]) == "https://example.com/firefox-windows"
    assert go(srv, code, uas["mac_safari"]) == "https://example.com/mac"
    assert go(srv, code, uas["linux_chrome"]) == "https://example.com/linux-chrome"
    assert go(srv, code, "curl/8.4.0") == "https://example.com/default"


def test_first_match_wins_and_all_conditions_must_hold(srv, uas):
    code = srv.create(url="https://example.com/default")["code"]
    put_rules(srv, code, [
        rule("https://example.com/ios-se", {"type": "os", "value": "ios"}, {"type": "country", "value": "SE"}),
        rule("https://example.com/ios", {"type": "os", "value": "ios"}),
        rule("https://example.com/se", {"type": "country", "value": "se"}),
    ])
    assert go(srv, code, uas["iphone_safari"], SE_IP) == "https://example.com/ios-se"
    assert go(srv, code, uas["iphone_safari"], GB_IP) == "https://example.com/ios"
    assert go(srv, code, uas["windows_firefox"], SE_IP) == "https://example.com/se"
    assert go(srv, code, uas["windows_firefox"], GB_IP) == "https://example.com/default"


def test_country_from_geoip_and_ip_cidr(srv):
    code = srv.create(url="https://example.com/default")["code"]
    put_rules(srv, code, [
        rule("https://example.com/gb", {"type": "country", "value": "GB"}),
        rule("https://example.com/net10", {"type": "ip", "value": "10.0.0.0/8"}),
        rule("https://example.com/v6", {"type": "ip", "value": "2001:db8::/32"}),
    ])
    assert go(srv, code, ip=GB_IP) == "https://example.com/gb"
    assert go(srv, code, ip=SE_IP) == "https://example.com/default"
    assert go(srv, code, ip="10.20.30.40") == "https://example.com/net10"
    assert go(srv, code, ip="11.0.0.1") == "https://example.com/default"
    assert go(srv, code, ip="2001:db8:1::5") == "https://example.com/v6"
    assert go(srv, code, ip="2001:db9::5") == "https://example.com/default"


def test_country_from_trusted_header(server_factory):
    srv = server_factory(args=["--trusted-proxies", "127.0.0.1/32", "--geoip-header", "CF-IPCountry"])
    code = srv.create(url="https://example.com/default")["code"]
    put_rules(srv, code, [rule("https://example.com/fr", {"type": "country", "value": "FR"})])
    assert go(srv, code, **{"CF-IPCountry": "FR"}) == "https://example.com/fr"
    assert go(srv, code, **{"CF-IPCountry": "DE"}) == "https://example.com/default"


def test_language_with_q_values(srv):
    code = srv.create(url="https://example.com/default")["code"]
    put_rules(srv, code, [
        rule("https://example.com/pt-br", {"type": "language", "value": "pt-BR"}),
        rule("https://example.com/fr", {"type": "language", "value": "fr"}),
    ])
    lang = lambda v: go(srv, code, **{"Accept-Language": v})
    assert lang("fr") == "https://example.com/fr"
    assert lang("fr-CA") == "https://example.com/fr"
    assert lang("en-US, en;q=0.9, fr;q=0.3") == "https://example.com/fr", "any accepted language counts"
    assert lang("en-US, fr;q=0") == "https://example.com/default", "q=0 means not acceptable"
    assert lang("pt-br;q=0.5, fr") == "https://example.com/pt-br", "rule order decides, not q"
    assert lang("pt") == "https://example.com/default"
    assert lang("*") == "https://example.com/default"
    assert go(srv, code) == "https://example.com/default"


def test_query_present_and_equal(srv):
    code = srv.create(url="https://example.com/default")["code"]
    put_rules(srv, code, [
        rule("https://example.com/beta", {"type": "query", "name": "ref", "value": "beta tester"}),
        rule("https://example.com/has-ref", {"type": "query", "name": "ref"}),
    ])
    assert go(srv, code, path_suffix="?ref=beta+tester") == "https://example.com/beta"
    assert go(srv, code, path_suffix="?x=1&ref=beta%20tester") == "https://example.com/beta"
    assert go(srv, code, path_suffix="?ref=other") == "https://example.com/has-ref"
    assert go(srv, code, path_suffix="?ref") == "https://example.com/has-ref"
    assert go(srv, code, path_suffix="?reference=1") == "https://example.com/default"


def test_before_and_after(srv):
    now = datetime.now(timezone.utc)
    code = srv.create(url="https://example.com/default")["code"]
    put_rules(srv, code, [
        rule("https://example.com/past", {"type": "before", "value": rfc3339(now - timedelta(hours=1))}),
        rule("https://example.com/soon", {"type": "after", "value": rfc3339(now + timedelta(hours=1))}),
        rule("https://example.com/window", {"type": "after", "value": rfc3339(now - timedelta(hours=1))},
             {"type": "before", "value": rfc3339(now + timedelta(hours=1))}),
    ])
    assert go(srv, code) == "https://example.com/window"


def test_get_round_trip_and_cache_invalidation(srv, uas):
    code = srv.create(url="https://example.com/default")["code"]
    r = srv.api("GET", "/api/v1/links/%s/rules" % code)
    assert r.status_code == 200 and r.json() == {"code": code, "rules": []}
    assert go(srv, code, uas["iphone_safari"]) == "https://example.com/default"  # now cached
    rules = [rule("https://Example.com:443/ios", {"type": "os", "value": "ios"}),
             rule("https://example.com/q", {"type": "query", "name": "a", "value": None},
                  {"type": "ip", "value": "10.1.2.3/8"},
                  {"type": "before", "value": "2100-01-01T00:00:00+01:00"})]
    body = put_rules(srv, code, rules).json()
    assert body["rules"][0]["url"] == "https://example.com/ios", "normalised like the link URL"
    assert body["rules"][1]["conditions"] == [
        {"type": "query", "name": "a", "value": None},
        {"type": "ip", "value": "10.0.0.0/8"},
        {"type": "before", "value": "2099-12-31T23:00:00.000Z"}]
    assert srv.api("GET", "/api/v1/links/%s/rules" % code).json() == body
    assert go(srv, code, uas["iphone_safari"]) == "https://example.com/ios", "PUT invalidates the cache"
    put_rules(srv, code, [])
    assert go(srv, code, uas["iphone_safari"]) == "https://example.com/default"
    assert srv.api("GET", "/api/v1/links/%s/rules" % code).json()["rules"] == []


def test_visit_records_target_after_rules(srv, uas):
    code = srv.create(url="https://example.com/default")["code"]
    put_rules(srv, code, [rule("https://example.com/ios", {"type": "os", "value": "ios"})])
    go(srv, code, uas["iphone_safari"])
    go(srv, code, uas["windows_firefox"])
    wait_until(lambda: srv.link(code).json()["visits"]["total"] >= 2, what="2 visits")
    items = srv.api("GET", "/api/v1/links/%s/visits" % code).json()["items"]
    assert sorted(v["target_url"] for v in items) == ["https://example.com/default", "https://example.com/ios"]


def test_max_visits_link_follows_rules(srv, uas):
    code = srv.create(url="https://example.com/default", max_visits=2)["code"]
    put_rules(srv, code, [rule("https://example.com/ios", {"type": "os", "value": "ios"})])
    assert go(srv, code, uas["iphone_safari"]) == "https://example.com/ios"
    assert go(srv, code, uas["windows_firefox"]) == "https://example.com/default"
    assert srv.get("/" + code, headers={"User-Agent": uas["iphone_safari"]}).status_code == 410


BAD = [
    ({"rules": "x"}, "rules"),
    ({}, "rules"),
    ({"rules": [], "extra": 1}, "extra"),
    ({"rules": [{"url": "javascript:alert(1)", "conditions": [{"type": "os", "value": "ios"}]}]}, "rules[0].url"),
    ({"rules": [{"url": "https://example.com/a", "conditions": []}]}, "rules[0].conditions"),
    ({"rules": [rule("https://example.com/a", {"type": "os", "value": "ios"}),
                rule("https://example.com/b", {"type": "os", "value": "ios"},
                     {"type": "device", "value": "watch"})]}, "rules[1].conditions[1].value"),
    ({"rules": [rule("https://example.com/a", {"type": "weather", "value": "sunny"})]}, "rules[0].conditions[0].type"),
    ({"rules": [rule("https://example.com/a", {"type": "language", "value": "fr_FR"})]},
     "rules[0].conditions[0].value"),
    ({"rules": [rule("https://example.com/a", {"type": "country", "value": "FRA"})]}, "rules[0].conditions[0].value"),
    ({"rules": [rule("https://example.com/a", {"type": "query", "value": "x"})]}, "rules[0].conditions[0].name"),
    ({"rules": [rule("https://example.com/a", {"type": "after", "value": "yesterday"})]},
     "rules[0].conditions[0].value"),
    ({"rules": [rule("https://example.com/a", {"type": "ip", "value": "10.0.0.0/40"})]},
     "rules[0].conditions[0].value"),
    ({"rules": [rule("https://example.com/a", *([{"type": "os", "value": "ios"}] * 9))]}, "rules[0].conditions"),
    ({"rules": [rule("https://example.com/a", {"type": "os", "value": "ios"})] * 33}, "rules"),
]


@pytest.mark.parametrize("body,param", BAD, ids=[p for _, p in BAD])
def test_bad_input_names_the_path_and_stores_nothing(srv, body, param):
    code = srv.create(url="https://example.com/default")["code"]
    good = put_rules(srv, code, [rule("https://example.com/ios", {"type": "os", "value": "ios"})]).json()
    r = srv.api("PUT", "/api/v1/links/%s/rules" % code, body)
    assert_problem(r, 422, "validation", param)
    assert srv.api("GET", "/api/v1/links/%s/rules" % code).json() == good


def test_other_team_gets_404(srv):
    code = srv.create(url="https://example.com/default")["code"]
    put_rules(srv, code, [rule("https://example.com/ios", {"type": "os", "value": "ios"})])
    stranger = signup(srv)
    assert_problem(stranger.call("GET", "/api/v1/links/%s/rules" % code), 404, "not-found")
    assert_problem(stranger.call("PUT", "/api/v1/links/%s/rules" % code, {"rules": []}), 404, "not-found")
    assert len(srv.api("GET", "/api/v1/links/%s/rules" % code).json()["rules"]) == 1
    assert_problem(srv.api("GET", "/api/v1/links/nosuchcode/rules"), 404, "not-found")


# ---- forward_query and UTM fields --------------------------------------------

def test_forward_query_merges_visitor_parameters(srv):
    link = srv.create(url="https://example.com/p?a=1&b=2#frag", forward_query=True)
    assert link["forward_query"] is True
    code = link["code"]
    assert go(srv, code) == "https://example.com/p?a=1&b=2#frag"
    assert go(srv, code, path_suffix="?c=3") == "https://example.com/p?a=1&b=2&c=3#frag"
    assert go(srv, code, path_suffix="?b=9&d") == "https://example.com/p?a=1&b=9&d#frag", "the visitor's b wins"
    off = srv.create(url="https://example.com/p?a=1")["code"]
    assert srv.link(off).json()["forward_query"] is False
    assert go(srv, off, path_suffix="?c=3") == "https://example.com/p?a=1", "off by default"
    r = srv.api("PATCH", "/api/v1/links/" + off, {"forward_query": True})
    assert r.status_code == 200 and r.json()["forward_query"] is True
    assert go(srv, off, path_suffix="?c=3") == "https://example.com/p?a=1&c=3"


def test_utm_fields_added_without_overriding(srv):
    link = srv.create(url="https://example.com/u?utm_source=own", utm_source="newsletter",
                      utm_medium="e mail", utm_campaign="spring&sale")
    assert (link["utm_source"], link["utm_medium"], link["utm_campaign"], link["utm_term"]) == \
        ("newsletter", "e mail", "spring&sale", None)
    code = link["code"]
    assert go(srv, code) == "https://example.com/u?utm_source=own&utm_medium=e%20mail&utm_campaign=spring%26sale"
    r = srv.api("PATCH", "/api/v1/links/" + code, {"utm_medium": None, "utm_term": "shoes",
                                                   "forward_query": True})
    assert r.status_code == 200 and r.json()["utm_medium"] is None and r.json()["utm_term"] == "shoes"
    assert go(srv, code, path_suffix="?utm_campaign=tw") == \
        "https://example.com/u?utm_source=own&utm_term=shoes&utm_campaign=tw", "the visitor's value wins"


def test_rules_with_utm_and_forward_query_and_visit_target(srv, uas):
    code = srv.create(url="https://example.com/d", utm_source="x", forward_query=True)["code"]
    put_rules(srv, code, [rule("https://example.com/ios#app", {"type": "os", "value": "ios"})])
    assert go(srv, code, uas["iphone_safari"], path_suffix="?k=1") == "https://example.com/ios?utm_source=x&k=1#app"
    wait_until(lambda: srv.link(code).json()["visits"]["total"] >= 1, what="1 visit")
    items = srv.api("GET", "/api/v1/links/%s/visits" % code).json()["items"]
    assert items[0]["target_url"] == "https://example.com/ios?utm_source=x&k=1#app"


@pytest.mark.parametrize("field,value", [("forward_query", "yes"), ("utm_source", ""), ("utm_medium", 5),
                                         ("utm_term", "x" * 129), ("utm_content", "a\u0001b")])
def test_bad_redirect_options_name_the_field(srv, field, value):
    before = len(srv.list_all())
    assert_problem(srv.api("POST", "/api/v1/links", {"url": "https://example.com/z", field: value}), 422,
                   "validation", field)
    assert len(srv.list_all()) == before
    code = srv.create(url="https://example.com/z")["code"]
    assert_problem(srv.api("PATCH", "/api/v1/links/" + code, {field: value}), 422, "validation", field)
    link = srv.link(code).json()
    assert link["forward_query"] is False and link[field if field != "forward_query" else "utm_source"] is None
