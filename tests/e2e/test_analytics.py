"""Click analytics, black-box: visits are captured off the redirect path,
counted exactly after a flush, enriched (bots, countries, referrers, UTM),
queryable as stats, raw pages and CSV, and nothing is lost on SIGTERM."""
import csv
import io
import ipaddress
import random
import socket
import sqlite3
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import requests

from conftest import HTTP_TIMEOUT, REPO, assert_problem, rfc3339, unique, wait_until

GEOIP = REPO.parent / "shared" / "testdata" / "geoip"
CITY_DB = GEOIP / "GeoIP2-City-Test.mmdb"
BROKEN_DB = GEOIP / "GeoIP2-City-Test-Broken-Double-Format.mmdb"

CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/120.0.0.0 Safari/537.36")
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.1 Mobile/15E148 Safari/604.1")
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
BOTS = ["Googlebot/2.1 (+http://www.google.com/bot.html)",
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "curl/8.4.0"]
GB_IP, SE_IP = "81.2.69.142", "89.160.20.112"

FLAGS = ["--trusted-proxies", "127.0.0.1/32", "--geoip", str(CITY_DB), "--visit-flush-ms", "50",
         "--rate-miss", "100000"]


def stats(srv, code, **params):
    r = srv.api("GET", "/api/v1/links/%s/stats" % code, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def wait_total(srv, code, want, timeout=15):
    def done():
        return srv.link(code).json()["visits"]["total"] >= want
    wait_until(done, timeout=timeout, what="%d visits of %s" % (want, code))
    return srv.link(code).json()["visits"]


def visit(sess, srv, code, ua, ip, **headers):
    h = {"User-Agent": ua, "X-Forwarded-For": ip}
    h.update(headers)
    r = sess.get(srv.url("/" + code), headers=h, allow_redirects=False, timeout=HTTP_TIMEOUT)
    assert r.status_code == 302, r.text
    return r


# Networks of GeoIP2-City-Test.mmdb as libmaxminddb resolves them (its
# README names one address of each), and two documentation ranges it does
# not hold, which count as "unknown".
GEO_NETS = [("81.2.69.160/27", "GB"), ("89.160.20.128/25", "SE"), ("175.16.199.0/24", "CN"),
            ("216.160.83.56/29", "US"), ("2001:218::/32", "JP"), ("2a02:cf40::/29", "NO"),
            ("198.51.100.0/24", "unknown"), ("2001:db8::/32", "unknown")]


def visitor_pool(rnd, per_net):
    """[(ip, country)]: the README's two addresses and per_net random ones
    from each network."""
    pool = [(GB_IP, "GB"), (SE_IP, "SE")]
    for cidr, country in GEO_NETS:
        net = ipaddress.ip_network(cidr)
        pool += [(str(net[rnd.randrange(net.num_addresses)]), country) for _ in range(per_net)]
    return pool


def test_concurrent_visits_counted_exactly(server_factory):
    srv = server_factory(args=FLAGS)
    link = srv.create(url="https://example.com/landing")
    code = link["code"]
    rnd = random.Random(5)
    pool = visitor_pool(rnd, 25)
    plan, country_of = [], dict(pool)
    for i in range(5000):
        ip = rnd.choice(pool)[0]
        if i % 10 == 0:
            plan.append((BOTS[(i // 10) % len(BOTS)], ip))
        else:
            plan.append((rnd.choice((CHROME, IPHONE, FIREFOX)), ip))
    want_countries = Counter(country_of[ip] for _, ip in plan)
    assert len(want_countries) == 7 and len(set(ip for _, ip in plan)) > 150, "a wide mix"

    def worker(chunk):
        s = requests.Session()
        for ua, ip in chunk:
            visit(s, srv, code, ua, ip, Referer="https://news.example.org/item?id=1")
        s.close()

    chunks = [plan[i::16] for i in range(16)]
    with ThreadPoolExecutor(16) as ex:
        list(ex.map(worker, chunks))
    bots = sum(1 for ua, _ in plan if ua in BOTS)
    v = wait_total(srv, code, 5000)
    assert v == {"total": 5000, "bots": bots, "non_bots": 5000 - bots}, v

    st = stats(srv, code)
    assert st["summary"]["total"] == 5000
    assert st["summary"]["bots"] == bots
    assert st["summary"]["non_bots"] == 5000 - bots
    # Unique visitors: distinct (IP, UA) pairs within the day.
    assert st["summary"]["unique"] == len(set(plan)), st["summary"]
    assert sum(p["total"] for p in st["series"]) == 5000
    countries = {c["name"]: c["count"] for c in st["countries"]}
    assert countries == dict(want_countries), countries
    assert sum(countries.values()) == 5000
    assert st["referrers"][0] == {"name": "news.example.org", "count": 5000}
    browsers = {b["name"]: b["count"] for b in stats(srv, code, exclude_bots="true")["browsers"]}
    assert browsers.get("Chrome") == sum(1 for ua, _ in plan if ua == CHROME), browsers
    devices = {d["name"]: d["count"] for d in st["devices"]}
    assert devices.get("bot") == bots, devices
    assert devices.get("mobile") == sum(1 for ua, _ in plan if ua == IPHONE), devices
    m = srv.metrics()
    assert "linkpulse_visits_dropped_total 0" in m


def test_raw_rows_written_in_batches_keep_their_fields(server_factory):
    """The writer inserts raw visits 16 rows to a statement (fewer one by
    one): 40 visits made within a 1 s flush window land in one pass or
    two, so at least one full batch of 16 is written, and every row keeps
    its own fields (UA with and without a version, referrer
    or none, country or none) and its id order."""
    srv = server_factory(args=FLAGS[:4] + ["--visit-flush-ms", "1000", "--full-referrer"])
    code = srv.create(url="https://example.com/batch")["code"]
    s = requests.Session()
    want = {}
    for i in range(40):
        ua, ip = [(CHROME, GB_IP), (BOTS[3], SE_IP), (FIREFOX, "10.1.2.3")][i % 3]
        headers = {"Referer": "https://ref%d.example/p" % i} if i % 2 else {}
        visit(s, srv, code + "?utm_content=v%d" % i, ua, ip, **headers)
        want["v%d" % i] = (ua, ip, headers)
    wait_total(srv, code, 40)
    rows = []
    page = {"next_cursor": None}
    while True:
        params = {"limit": 100}
        if page["next_cursor"]:
            params["cursor"] = page["next_cursor"]
        page = srv.api("GET", "/api/v1/links/%s/visits" % code, params=params).json()
        rows += page["items"]
        if not page["next_cursor"]:
            break
    assert [r["utm_content"] for r in rows] == ["v%d" % i for i in reversed(range(40))], "newest first, one each"
    for r in rows:
        ua, ip, headers = want[r["utm_content"]]
        assert r["kind"] == "redirect" and r["target_url"] == "https://example.com/batch"
        assert r["visited_url"] == "/%s?utm_content=%s" % (code, r["utm_content"])
        assert r["referrer"] == headers.get("Referer"), r
        if ua == CHROME:
            assert (r["browser"], r["browser_major"], r["bot"], r["country"]) == ("Chrome", 120, False, "GB"), r
        elif ua == FIREFOX:
            assert (r["browser"], r["browser_major"], r["country"], r["ip"]) == ("Firefox", 121, None, "10.1.2.0"), r
        else:
            assert r["bot"] is True and r["browser_major"] is None and r["country"] == "SE", r


def test_visit_details_and_raw_pages(server_factory):
    srv = server_factory(args=FLAGS + ["--full-referrer"])
    code = srv.create(url="https://example.com/raw")["code"]
    s = requests.Session()
    visit(s, srv, code + "?utm_source=news%20letter&utm_campaign=launch", CHROME, GB_IP,
          Referer="https://www.Example.com/a/b?c=d", **{"Accept-Language": "da, en-GB;q=0.8"})
    for _ in range(4):
        visit(s, srv, code, IPHONE, SE_IP)
    wait_total(srv, code, 5)
    r = srv.api("GET", "/api/v1/links/%s/visits" % code, params={"limit": 2})
    assert r.status_code == 200
    page = r.json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    seen = [v["id"] for v in page["items"]]
    while page["next_cursor"]:
        page = srv.api("GET", "/api/v1/links/%s/visits" % code,
                       params={"limit": 2, "cursor": page["next_cursor"]}).json()
        seen += [v["id"] for v in page["items"]]
    assert len(seen) == len(set(seen)) == 5
    oldest = page["items"][-1]
    assert oldest["kind"] == "redirect"
    assert oldest["ip"] == "81.2.69.0", "anonymised to /24 by default"
    assert oldest["country"] == "GB" and oldest["city"] == "London"
    assert oldest["referrer_host"] == "www.example.com"
    assert oldest["referrer"] == "https://www.Example.com/a/b?c=d"
    assert oldest["utm_source"] == "news letter" and oldest["utm_campaign"] == "launch"
    assert oldest["language"] == "da"
    assert oldest["browser"] == "Chrome" and oldest["browser_major"] == 120
    assert oldest["os"] == "Windows" and oldest["device"] == "desktop" and oldest["bot"] is False
    assert oldest["target_url"] == "https://example.com/raw"
    assert oldest["visited_url"].startswith("/" + code + "?utm_source=")

    r = srv.api("GET", "/api/v1/links/%s/visits" % code, headers={"Accept": "text/csv"})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 5 and rows[-1]["country"] == "GB" and rows[0]["device"] == "mobile"

    assert_problem(srv.api("GET", "/api/v1/links/%s/visits" % code, params={"limit": "0"}), 400,
                   "validation", "limit")
    assert_problem(srv.api("GET", "/api/v1/links/%s/stats" % code, params={"interval": "week"}), 400,
                   "validation", "interval")
    assert_problem(srv.api("GET", "/api/v1/links/%s/stats" % code, params={"from": "yesterday"}), 400,
                   "validation", "from")
    assert srv.api("GET", "/api/v1/links/nosuchcode/stats").status_code == 404
    hourly = stats(srv, code, interval="hour")
    assert hourly["interval"] == "hour" and sum(p["total"] for p in hourly["series"]) == 5

    team = srv.api("GET", "/api/v1/stats").json()
    assert team["summary"]["total"] == 5
    assert team["top_links"][0]["code"] == code and team["top_links"][0]["visits"]["total"] == 5


def test_long_headers_are_cut_at_the_caps(server_factory):
    """A visit's text is copied from the request into the worker's ring up
    to its cap (user agent 256 bytes, referrer, path and target 256,
    language 64): much longer headers, path and target are kept as their
    beginnings, and the server goes on recording."""
    srv = server_factory(args=FLAGS + ["--full-referrer"])
    long_url = "https://example.com/" + "t" * 1500
    code = srv.create(url=long_url)["code"]
    ua = CHROME + " " + "x" * 3000
    ref = "https://ref.example.org/" + "r" * 3000
    path = "/" + code + "?utm_source=" + "u" * 3000
    s = requests.Session()
    r = s.get(srv.url(path), headers={"User-Agent": ua, "X-Forwarded-For": GB_IP, "Referer": ref,
                                      "Accept-Language": "fr-CA, " + "en;q=0.5, " * 200},
              allow_redirects=False, timeout=HTTP_TIMEOUT)
    assert r.status_code == 302, r.text
    visit(s, srv, code, FIREFOX, SE_IP)
    wait_total(srv, code, 2)
    rows = srv.api("GET", "/api/v1/links/%s/visits" % code, params={"limit": 10}).json()["items"]
    assert len(rows) == 2
    long_row = rows[-1]
    assert long_row["browser"] == "Chrome" and long_row["browser_major"] == 120, long_row
    assert long_row["referrer_host"] == "ref.example.org"
    assert 0 < len(long_row["referrer"]) <= 256 and ref.startswith(long_row["referrer"]), long_row["referrer"]
    assert 0 < len(long_row["visited_url"]) <= 256 and path.startswith(long_row["visited_url"])
    assert 0 < len(long_row["target_url"]) <= 256 and long_url.startswith(long_row["target_url"])
    assert long_row["language"] == "fr-ca"
    assert rows[0]["browser"] == "Firefox" and rows[0]["referrer"] is None, "the next visit is whole"


def test_visits_of_requests_that_are_not_utf8_are_listed(server_factory):
    """A request's path and headers are raw bytes, and they are cut at byte
    caps, which can split a character: the visit keeps them as UTF-8
    ('?' for a byte that starts no character, a character cut at the end
    dropped), so it is listed like any other (jansson, which writes the
    list, refuses anything else: such visits used to go missing)."""
    srv = server_factory(args=FLAGS + ["--full-referrer"])
    code = srv.create(url="https://example.com/" + unique("u8"))["code"]
    cut = "/" + code + "?x=" + "\u00e9" * 300  # 2 bytes a character; the cap at 256 splits one

    def raw_visit(target, referrer):
        req = (b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nUser-Agent: " + CHROME.encode() +
               b"\r\nX-Forwarded-For: " + GB_IP.encode() + b"\r\nReferer: " + referrer +
               b"\r\nConnection: close\r\n\r\n")
        with socket.create_connection(("127.0.0.1", srv.port), timeout=HTTP_TIMEOUT) as sock:
            sock.sendall(req)
            assert sock.recv(64).startswith(b"HTTP/1.1 302"), target

    raw_visit(b"/" + code.encode() + b"?q=\xff\xfeok", b"https://ref.example.org/\xe9t\xc3")
    raw_visit(cut.encode() if len(cut.encode()) % 2 == 1 else (cut + "a").encode(), b"https://ref.example.org/")
    wait_total(srv, code, 2)
    rows = srv.api("GET", "/api/v1/links/%s/visits" % code, params={"limit": 10}).json()["items"]
    assert len(rows) == 2, rows
    # the two may share a millisecond, so their order is not known
    raw_row, cut_row = sorted(rows, key=lambda r: "?x=" in r["visited_url"])
    assert raw_row["visited_url"] == "/%s?q=??ok" % code, raw_row
    assert raw_row["referrer"] == "https://ref.example.org/?t", raw_row
    assert raw_row["referrer_host"] == "ref.example.org"
    url = cut_row["visited_url"]
    assert cut.startswith(url) and len(url.encode()) == 255, (len(url.encode()), url[-5:])
    r = srv.api("GET", "/api/v1/links/%s/visits" % code, headers={"Accept": "text/csv"})
    assert r.status_code == 200 and r.content.decode("utf-8").count("\n") == 3, r.content[:300]
    # a visit stored before the sink kept its text as UTF-8: shown scrubbed, not left out
    db = sqlite3.connect(str(Path(srv.data) / "linkpulse.db"), timeout=10)
    db.execute("UPDATE visits SET referrer = CAST(X'68747470733a2f2f6f6c642fff' AS TEXT) WHERE referrer = ?",
               ("https://ref.example.org/?t",))
    db.commit()
    db.close()
    rows = srv.api("GET", "/api/v1/links/%s/visits" % code, params={"limit": 10}).json()["items"]
    assert sorted(r["referrer"] for r in rows) == ["https://old/?", "https://ref.example.org/"], rows
    # and a breakdown name from such a visit's rollup: shown scrubbed, not left out
    assert stats(srv, code)["referrers"] == [{"name": "ref.example.org", "count": 2}]
    db = sqlite3.connect(str(Path(srv.data) / "linkpulse.db"), timeout=10)
    (tally,) = db.execute("SELECT tally FROM rollup_day WHERE link_id = (SELECT id FROM links WHERE code = ?)",
                          (code,)).fetchone()
    assert tally.count(b"ref.example.org") == 1
    db.execute("UPDATE rollup_day SET tally = ? WHERE tally = ?",
               (tally.replace(b"ref.example.org", b"ref.ex\xffmple.org"), tally))
    db.commit()
    db.close()
    assert stats(srv, code)["referrers"] == [{"name": "ref.ex?mple.org", "count": 2}]


def test_orphan_visits(server_factory):
    srv = server_factory(args=FLAGS)
    s = requests.Session()
    assert s.get(srv.url("/nosuch1"), allow_redirects=False).status_code == 404
    assert s.get(srv.url("/"), allow_redirects=False).status_code == 404
    assert s.get(srv.url("/some/deep/path"), allow_redirects=False).status_code == 404

    def kinds():
        items = srv.api("GET", "/api/v1/visits/orphan").json()["items"]
        return sorted(v["kind"] for v in items)
    wait_until(lambda: len(kinds()) == 3, what="3 orphan visits")
    assert kinds() == ["base_url", "invalid_short_url", "regular_404"]


def orphans(srv):
    """Every orphan visit, newest first (GET /api/v1/visits/orphan is for
    operator keys: the server's admin key is one)."""
    r = srv.api("GET", "/api/v1/visits/orphan", params={"limit": 1000})
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_expired_and_used_up_links_record_orphan_visits(server_factory):
    """A 410 is an orphan visit (invalid_short_url, as in Shlink): the
    time-expired link (answered from the cache), the used-up one refused by
    the store, and the used-up one asked by a preview fetcher; none of them
    counts as a visit of the link."""
    srv = server_factory(args=FLAGS)
    exp = time.time() + 1.5
    expired = srv.create(expires_at=rfc3339(datetime.fromtimestamp(exp, timezone.utc)))["code"]
    once = srv.create(max_visits=1)["code"]
    with requests.Session() as s:
        visit(s, srv, expired, CHROME, GB_IP)  # also caches the link
        visit(s, srv, once, CHROME, GB_IP)
        r = s.get(srv.url("/" + once), headers={"User-Agent": CHROME, "X-Forwarded-For": GB_IP},
                  allow_redirects=False, timeout=HTTP_TIMEOUT)
        assert r.status_code == 410, "the store refuses the second visit"
        r = s.get(srv.url("/" + once + "?via=slack"), headers={"User-Agent": BOTS[2]},
                  allow_redirects=False, timeout=HTTP_TIMEOUT)
        assert r.status_code == 410, "a preview fetcher sees the link is used up"
        time.sleep(max(0.0, exp - time.time() + 0.05))
        r = s.get(srv.url("/" + expired + "?x=1"), headers={"User-Agent": FIREFOX, "X-Forwarded-For": SE_IP},
                  allow_redirects=False, timeout=HTTP_TIMEOUT)
        assert r.status_code == 410, "expired"

    want = {"/" + once, "/" + once + "?via=slack", "/" + expired + "?x=1"}
    wait_until(lambda: {v["visited_url"] for v in orphans(srv)} >= want, what="3 orphan visits")
    got = {v["visited_url"]: v for v in orphans(srv)}
    assert set(got) == want, "one orphan visit per 410, nothing else: %s" % sorted(got)
    for v in got.values():
        assert v["kind"] == "invalid_short_url" and v["target_url"] is None, v
    assert got["/" + once + "?via=slack"]["bot"] is True
    e = got["/" + expired + "?x=1"]
    assert e["country"] == "SE" and e["ip"] == "89.160.20.0" and e["browser"] == "Firefox", e
    for code in (expired, once):
        assert srv.link(code).json()["visits"] == {"total": 1, "non_bots": 1, "bots": 0}, code
        items = srv.api("GET", "/api/v1/links/%s/visits" % code).json()["items"]
        assert [v["kind"] for v in items] == ["redirect"], items


def test_ip_tracking_off_and_dnt(server_factory):
    srv = server_factory(args=FLAGS + ["--ip-tracking", "off", "--respect-dnt"])
    code = srv.create()["code"]
    s = requests.Session()
    visit(s, srv, code, CHROME, GB_IP)
    visit(s, srv, code, CHROME, GB_IP, DNT="1")
    visit(s, srv, code, CHROME, GB_IP, **{"Sec-GPC": "1"})
    assert wait_total(srv, code, 3)["total"] == 3, "opted-out visits are still counted"
    items = srv.api("GET", "/api/v1/links/%s/visits" % code).json()["items"]
    assert len(items) == 1, "only the visit without an opt-out keeps its details"
    assert items[0]["ip"] is None


def raw_visits(srv, code, want):
    """The link's raw visits once want of them are flushed, by visited URL."""
    wait_total(srv, code, want)
    items = srv.api("GET", "/api/v1/links/%s/visits" % code, params={"limit": 1000}).json()["items"]
    assert len(items) == want, items
    return {v["visited_url"]: v for v in items}


def test_dnt_ignored_without_respect_dnt(server_factory):
    srv = server_factory(args=FLAGS)
    code = srv.create()["code"]
    with requests.Session() as s:
        visit(s, srv, code + "?dnt", CHROME, GB_IP, DNT="1")
        visit(s, srv, code + "?gpc", CHROME, GB_IP, **{"Sec-GPC": "1"})
    got = raw_visits(srv, code, 2)
    for v in got.values():
        assert v["ip"] == "81.2.69.0" and v["country"] == "GB" and v["city"] == "London", v
        assert v["browser"] == "Chrome" and v["device"] == "desktop", v


def test_ip_tracking_full_keeps_the_address(server_factory):
    srv = server_factory(args=FLAGS + ["--ip-tracking", "full"])
    code = srv.create()["code"]
    v6 = "2a02:cf40:abcd:1234:5678:9abc:def0:1"
    with requests.Session() as s:
        visit(s, srv, code + "?v4", CHROME, GB_IP)
        visit(s, srv, code + "?v6", CHROME, v6)
    got = raw_visits(srv, code, 2)
    assert got["/%s?v4" % code]["ip"] == GB_IP
    assert got["/%s?v6" % code]["ip"] == v6
    assert got["/%s?v4" % code]["country"] == "GB"


def test_ipv6_anonymised_to_48(server_factory):
    """Forwarded by a trusted proxy, an IPv6 visitor is kept as its /48; the
    country comes from the full address."""
    srv = server_factory(args=FLAGS)
    code = srv.create()["code"]
    with requests.Session() as s:
        visit(s, srv, code + "?no", CHROME, "2a02:cf40:abcd:1234:5678:9abc:def0:1")
        visit(s, srv, code + "?jp", CHROME, "2001:218:ffff:1234::5")
    got = raw_visits(srv, code, 2)
    no, jp = got["/%s?no" % code], got["/%s?jp" % code]
    assert no["ip"] == "2a02:cf40:abcd::" and no["country"] == "NO", no
    assert jp["ip"] == "2001:218:ffff::" and jp["country"] == "JP", jp
    countries = {c["name"]: c["count"] for c in stats(srv, code)["countries"]}
    assert countries == {"NO": 1, "JP": 1}, countries


def test_geoip_header_from_a_trusted_proxy(server_factory):
    """--geoip-header: a trusted proxy's two-letter country wins over GeoIP;
    a malformed one falls back to GeoIP."""
    srv = server_factory(args=FLAGS + ["--geoip-header", "CF-IPCountry"])
    code = srv.create()["code"]
    with requests.Session() as s:
        visit(s, srv, code + "?de", CHROME, GB_IP, **{"CF-IPCountry": "DE"})
        visit(s, srv, code + "?v6", CHROME, "2001:218::1", **{"cf-ipcountry": "FR"})
        visit(s, srv, code + "?lower", CHROME, GB_IP, **{"CF-IPCountry": "de"})
        visit(s, srv, code + "?long", CHROME, SE_IP, **{"CF-IPCountry": "DEU"})
    got = raw_visits(srv, code, 4)
    assert got["/%s?de" % code]["country"] == "DE", got
    assert got["/%s?de" % code]["ip"] == "81.2.69.0", "the forwarded address is still the visitor's"
    assert got["/%s?v6" % code]["country"] == "FR", got
    assert got["/%s?lower" % code]["country"] == "GB", got
    assert got["/%s?long" % code]["country"] == "SE", got
    countries = {c["name"]: c["count"] for c in stats(srv, code)["countries"]}
    assert countries == {"DE": 1, "FR": 1, "GB": 1, "SE": 1}, countries


def test_geoip_header_ignored_from_an_untrusted_peer(server_factory):
    srv = server_factory(args=["--trusted-proxies", "10.0.0.0/8", "--geoip-header", "CF-IPCountry",
                               "--visit-flush-ms", "50"])
    code = srv.create()["code"]
    with requests.Session() as s:
        visit(s, srv, code, CHROME, GB_IP, **{"CF-IPCountry": "DE"})
    v = raw_visits(srv, code, 1)["/" + code]
    assert v["country"] is None, "a country header from an untrusted peer is not believed: %s" % v
    assert v["ip"] == "127.0.0.0", "nor its X-Forwarded-For"


def test_tracking_off_counts_only(server_factory):
    srv = server_factory(args=FLAGS + ["--tracking", "off"])
    code = srv.create()["code"]
    s = requests.Session()
    for _ in range(3):
        visit(s, srv, code, CHROME, GB_IP)
    assert wait_total(srv, code, 3)["total"] == 3
    assert srv.api("GET", "/api/v1/links/%s/visits" % code).json()["items"] == []
    assert stats(srv, code)["summary"]["total"] == 3


def test_preview_bots_do_not_spend_max_visits(server_factory):
    srv = server_factory(args=FLAGS)
    code = srv.create(max_visits=2)["code"]
    s = requests.Session()
    for _ in range(3):
        visit(s, srv, code, BOTS[1], SE_IP)  # facebookexternalhit
    visit(s, srv, code, CHROME, GB_IP)
    visit(s, srv, code, CHROME, GB_IP)
    r = s.get(srv.url("/" + code), headers={"User-Agent": CHROME}, allow_redirects=False)
    assert r.status_code == 410


def test_sigterm_under_load_loses_nothing(server_factory):
    srv = server_factory(args=FLAGS + ["--visit-flush-ms", "1000"])
    code = srv.create()["code"]
    served = []
    stop = threading.Event()

    def hammer():
        s = requests.Session()
        n = 0
        while not stop.is_set():
            try:
                r = s.get(srv.url("/" + code), headers={"User-Agent": CHROME}, allow_redirects=False,
                          timeout=HTTP_TIMEOUT)
            except requests.RequestException:
                break
            if r.status_code == 302:
                n += 1
        served.append(n)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    srv.send_signal()
    stop.set()
    for t in threads:
        t.join()
    assert srv.wait_exit() == 0
    srv.start()
    total = srv.link(code).json()["visits"]["total"]
    assert total == sum(served) and total > 0, (total, sum(served))


def test_retention_deletes_only_old_raw_visits(server_factory):
    srv = server_factory(args=FLAGS + ["--visits-retention-days", "1"])
    code = srv.create()["code"]
    visit(requests.Session(), srv, code, CHROME, GB_IP)
    wait_total(srv, code, 1)
    db = sqlite3.connect(str(Path(srv.data) / "linkpulse.db"), timeout=10)
    old = int((time.time() - 3 * 86400) * 1000)
    db.execute("INSERT INTO visits (id, link_id, team_id, ts, kind) VALUES (1, NULL, NULL, ?, 'regular_404')",
               (old,))
    db.commit()
    db.close()
    srv.stop()
    srv.start()  # the sink purges a second after start

    def old_gone():
        items = srv.api("GET", "/api/v1/visits/orphan").json()["items"]
        return all(v["id"] != "1" for v in items)
    wait_until(old_gone, timeout=10, what="the 3-day-old visit to be purged")
    assert len(srv.api("GET", "/api/v1/links/%s/visits" % code).json()["items"]) == 1
    assert stats(srv, code)["summary"]["total"] == 1, "rollups are kept"


def test_broken_geoip_database_is_a_clear_startup_error(server_factory, tmp_path):
    from conftest import run_cli  # noqa: F401 (same environment helpers)
    srv = server_factory(start=False, args=["--geoip", str(BROKEN_DB)])
    srv.proc = None
    import subprocess
    r = subprocess.run(srv.argv(), capture_output=True, text=True, timeout=20,
                       env={"LINKPULSE_ADMIN_KEY": srv.admin_key, "PATH": "/usr/bin:/bin"})
    assert r.returncode == 1, r
    assert "--geoip" in r.stderr and "Broken" in r.stderr, r.stderr
    r = subprocess.run(srv.argv()[:-2] + ["--geoip", str(tmp_path / "missing.mmdb")], capture_output=True,
                       text=True, timeout=20, env={"LINKPULSE_ADMIN_KEY": srv.admin_key, "PATH": "/usr/bin:/bin"})
    assert r.returncode == 1 and "missing.mmdb" in r.stderr, r.stderr
