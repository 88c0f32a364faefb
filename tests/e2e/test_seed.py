"""`linkpulse seed`, the benchmark's data: the links it writes redirect,
the codes file lists exactly them, the visits link answers stats with the
seeded totals (rollups only), the same seed gives the same data, and bad
options change nothing."""
import json
from datetime import datetime, timedelta, timezone

from conftest import rfc3339, run_cli


def seed(srv, *args):
    r = run_cli(["seed", "--data", str(srv.data)] + list(args), timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_seeded_links_redirect_and_stats_add_up(server_factory, tmp_path):
    srv = server_factory(start=False)
    codes = tmp_path / "codes.txt"
    out = seed(srv, "--links", "2000", "--visits-link", "hot", "--visits", "123457", "--codes-file", str(codes))
    assert out["links"] == 2000 and out["visits"] == 123457
    listed = codes.read_text().split()
    assert len(listed) == 2000 == len(set(listed))
    srv.start()
    for code in listed[:50] + listed[-50:]:
        r = srv.get("/" + code)
        assert r.status_code == 302, code
        assert 40 <= len(r.headers["Location"]) <= 120
    link = srv.link("hot").json()
    assert link["visits"]["total"] == 123457
    assert link["visits"]["bots"] == out["bots"]
    r = srv.api("GET", "/api/v1/links/hot/stats", params={"from": "2000-01-01T00:00:00Z"})
    assert r.status_code == 200, r.text
    s = r.json()
    assert s["summary"]["total"] == 123457
    assert s["summary"]["bots"] == out["bots"]
    assert sum(p["total"] for p in s["series"]) == 123457
    assert s["countries"][0]["name"] == "US"


def test_same_seed_same_codes(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        r = run_cli(["seed", "--data", str(d), "--links", "100", "--codes-file", str(d) + ".codes", "--seed", "7"])
        assert r.returncode == 0, r.stderr
    assert (tmp_path / "a.codes").read_text() == (tmp_path / "b.codes").read_text()


def test_bad_options(tmp_path):
    for args in (["--links", "-1"], ["--links", "x"], ["--links"], ["--code-length", "3"], ["--bogus", "1"],
                 ["--visits-link", "", "--visits", "5"]):
        r = run_cli(["seed", "--data", str(tmp_path / "d")] + args)
        assert r.returncode == 2, (args, r.stderr)
        assert "linkpulse seed:" in r.stderr
    assert not (tmp_path / "d").exists(), "a refused seed wrote nothing"


def test_seeded_breakdowns_and_hourly_series_add_up(server_factory, tmp_path):
    """Every breakdown of the visits link (referrers, countries, cities,
    browsers, OS, devices) accounts for every seeded visit, and the hourly
    series sums to the same total as the daily one."""
    srv = server_factory(start=False)
    out = seed(srv, "--links", "10", "--visits-link", "hot", "--visits", "98765",
               "--codes-file", str(tmp_path / "codes.txt"))
    srv.start()
    frm = rfc3339(datetime.now(timezone.utc) - timedelta(days=92))  # hourly: at most 93 days
    for interval in ("day", "hour"):
        r = srv.api("GET", "/api/v1/links/hot/stats", params={"from": frm, "interval": interval})
        assert r.status_code == 200, r.text
        s = r.json()
        assert s["summary"]["total"] == 98765 and s["summary"]["bots"] == out["bots"]
        assert sum(p["total"] for p in s["series"]) == 98765, interval
        assert sum(p["non_bots"] for p in s["series"]) == 98765 - out["bots"], interval
        for dim in ("referrers", "countries", "cities", "browsers", "os", "devices"):
            assert sum(x["count"] for x in s[dim]) == 98765, (interval, dim)
