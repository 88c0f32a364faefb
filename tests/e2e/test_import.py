"""Import (CSV, YOURLS, Shlink, Kutt, Bitly; API and CLI; dry run) and
export (CSV, JSON) of a team's links (issue 4), against the real binary."""

import csv
import io
import json
from pathlib import Path

import pytest

from conftest import assert_problem, signup

DATA = Path(__file__).parent / "data" / "import"


def upload(s, fmt, name=None, body=None, key=None, dry_run=None):
    params = {"format": fmt}
    if dry_run is not None:
        params["dry_run"] = "true" if dry_run else "false"
    data = body if body is not None else (DATA / name).read_bytes()
    return s.http.post(s.url("/api/v1/links/import"), params=params, data=data,
                       headers=dict(s.auth(key), **{"Content-Type": "text/csv"}), timeout=30)


def links_by_code(s):
    return {l["code"]: l for l in s.list_all()}


def test_our_csv(server):
    s = server
    r = upload(s, "csv", "links.csv")
    assert r.status_code == 200, r.text
    body = r.json()
    st = [(i["index"], i["status"]) for i in body["items"]]
    assert st == [(0, 201), (1, 201), (2, 201), (3, 422), (4, 422)], st
    assert [p["name"] for p in body["items"][3]["problem"]["invalid_params"]] == ["url"]
    assert [p["name"] for p in body["items"][4]["problem"]["invalid_params"]] == ["created_at"]
    links = links_by_code(s)
    one = links["imp-csv-1"]
    assert one["url"] == "https://example.com/one" and one["title"] == "Spring sale, 2025"
    assert one["tags"] == ["promo", "spring"] and one["note"] == "first\nnote"
    assert one["created_at"] == "2025-03-01T10:00:00.000Z" and one["visits"]["total"] == 42
    two = links["imp-csv-2"]
    assert two["title"] == "=SUM(A1)" and two["created_at"] == "2025-03-02T11:30:00.500Z"
    assert two["visits"]["total"] == 0
    rand = [l for c, l in links.items() if l["url"] == "https://example.com/random-code"]
    assert len(rand) == 1 and len(rand[0]["code"]) == 7 and rand[0]["visits"]["total"] == 7
    assert s.get("/imp-csv-1").headers["Location"] == "https://example.com/one"
    # listing by creation puts the 2025 links after today's
    assert [l["code"] for l in s.api("GET", "/api/v1/links", params={"order": "created", "dir": "asc"})
            .json()["items"]][:2] == ["imp-csv-1", "imp-csv-2"]


def test_yourls_shlink_kutt_bitly(server):
    s = server
    expect = {
        "yourls.csv": ("yourls", {"yourls1": ("https://example.org/yourls/one", "YOURLS one", [],
                                              "2019-07-14T08:15:00.000Z", 15),
                                  "yourls2": ("https://example.org/yourls/two", "Quoted, title", [],
                                              "2020-01-01T00:00:00.000Z", 0)}),
        "shlink.csv": ("shlink", {"shl-one": ("https://example.net/shlink/1", "Shlink one", ["news", "tech"],
                                              "2022-05-10T07:00:00.000Z", 123),
                                  "shl-two": ("https://example.net/shlink/2", None, [],
                                              "2022-05-11T09:00:00.000Z", 0)}),
        "kutt.json": ("kutt", {"kutt-a": ("https://example.com/kutt/a", "Kutt A", [], "2021-02-03T04:05:06.000Z", 9),
                               "kutt-b": ("https://example.com/kutt/b", None, [], "2021-02-04T04:05:06.000Z", 0)}),
        "bitly.json": ("bitly", {"bit-one": ("https://example.com/bitly/one", "Bitly one", ["Marketing", "q2"],
                                             "2023-05-01T10:00:00.000Z", 0),
                                 "bit-two": ("https://example.com/bitly/two", None, [],
                                             "2023-05-02T10:00:00.000Z", 0)}),
        "bitly.csv": ("bitly", {"bitcsv1": ("https://example.com/bitly/csv1", "Bitly CSV one", ["a", "b"],
                                            "2023-06-01T12:00:00.000Z", 31)}),
    }
    for name, (fmt, want) in expect.items():
        r = upload(s, fmt, name)
        assert r.status_code == 200, (name, r.text)
        assert r.json()["created"] == len(want) and r.json()["failed"] == 0, (name, r.text)
    links = links_by_code(s)
    for name, (fmt, want) in expect.items():
        for code, (url, title, tags, created, visits) in want.items():
            l = links[code]
            assert (l["url"], l["title"], l["tags"], l["created_at"], l["visits"]["total"]) == \
                (url, title, tags, created, visits), (name, l)


def test_dry_run_writes_nothing(server):
    s = server
    s.create(slug="yourls1")  # a code the file also has
    r = upload(s, "yourls", "yourls.csv", dry_run=True)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["dry_run"] is True and body["would_create"] == 1 and body["failed"] == 1
    assert [i["status"] for i in body["items"]] == [409, 201]
    assert set(links_by_code(s)) == {"yourls1"}
    assert s.api("GET", "/api/v1/links/yourls2").status_code == 404


def test_bad_files_and_parameters(server):
    s = server
    assert_problem(upload(s, "nope", "links.csv"), 400, "validation", "format")
    assert_problem(upload(s, "csv", body=b""), 400, "validation", "body")
    assert_problem(upload(s, "yourls", "shlink.csv"), 422, "validation", "body")  # no url column
    assert_problem(upload(s, "kutt", "links.csv"), 422, "validation", "body")  # not JSON
    assert_problem(upload(s, "csv", body=b'url\n"https://example.com/unclosed\n'), 422, "validation", "body")
    r = s.http.post(s.url("/api/v1/links/import"), params={"format": "csv", "dry_run": "maybe"},
                    data=b"url\nhttps://example.com/\n", headers=s.auth(), timeout=10)
    assert_problem(r, 400, "validation", "dry_run")
    big = b"url\n" + b"".join(b"https://example.com/%d\n" % i for i in range(1001))
    assert_problem(upload(s, "csv", body=big), 422, "validation", "body")
    assert s.list_all() == []


def test_imports_go_to_the_callers_team(server):
    s = server
    a = signup(s)
    r = upload(s, "kutt", "kutt.json", key=a.access)
    assert r.status_code == 200 and r.json()["created"] == 2, r.text
    assert "kutt-a" not in links_by_code(s), "imported into a's team, not the operator's"
    assert a.call("GET", "/api/v1/links/kutt-a").status_code == 200


def test_export_csv_round_trip(server):
    s = server
    assert upload(s, "csv", "links.csv").status_code == 200
    assert upload(s, "shlink", "shlink.csv").status_code == 200
    before = links_by_code(s)
    r = s.api("GET", "/api/v1/links/export", params={"format": "csv"})
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in r.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert {row["code"] for row in rows} == set(before)
    two = next(row for row in rows if row["code"] == "imp-csv-2")
    assert two["title"] == "'=SUM(A1)", "formula guarded in the sheet"
    one = next(row for row in rows if row["code"] == "imp-csv-1")
    assert one["tags"] == "promo|spring" and one["visits"] == "42" and one["note"] == "first\nnote"
    # delete everything, import the export: the same links come back
    for code in before:
        assert s.api("DELETE", "/api/v1/links/" + code).status_code == 204
    r2 = upload(s, "csv", body=r.content)
    assert r2.status_code == 200 and r2.json()["created"] == len(before), r2.text
    after = links_by_code(s)
    for code, l in before.items():
        a = after[code]
        for f in ("url", "title", "tags", "note", "created_at"):
            assert a[f] == l[f], (code, f, a[f], l[f])
        assert a["visits"]["total"] == l["visits"]["total"]


def test_export_json_and_filters(server):
    s = server
    assert upload(s, "shlink", "shlink.csv").status_code == 200
    s.create(tags=["other"])
    r = s.api("GET", "/api/v1/links/export", params={"format": "json"})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert body["count"] == 3 and len(body["links"]) == 3
    r = s.api("GET", "/api/v1/links/export", params={"format": "json", "tag": "news"})
    assert [l["code"] for l in r.json()["links"]] == ["shl-one"]
    assert_problem(s.api("GET", "/api/v1/links/export", params={"format": "xml"}), 400, "validation", "format")


@pytest.mark.parametrize("params,name", [
    ({"format": "xml"}, "format"), ({"format": "yourls"}, "format"), ({"format": "csv,json"}, "format"),
    ({"format": "csv", "created_after": "yesterday"}, "created_after"),
    ({"created_after": "2030-01-01"}, "created_after"),
    ({"format": "csv", "created_before": "2030-13-01T00:00:00Z"}, "created_before"),
    ({"created_after": "2020-01-01T00:00:00Z", "created_before": "soon"}, "created_before"),
    ({"format": "csv", "state": "gone"}, "state"), ({"state": ""}, "state"),
    ({"order": "popular"}, "order"), ({"dir": "up"}, "dir"), ({"tag_mode": "some"}, "tag_mode"),
    ({"untagged": "yes"}, "untagged"), ({"untagged": "true", "tag": "news"}, "untagged"),
    ({"tag": "x" * 65}, "tag"), ({"domain": "nope.example"}, "domain"),
    ({"order": "title", "cursor": "v.1.2"}, "cursor"),
])
def test_export_bad_filters_name_the_parameter(module_server, params, name):
    s = module_server
    s.create(tags=["news"])
    r = s.api("GET", "/api/v1/links/export", params=params)
    body = assert_problem(r, 400, "validation", name)
    assert [p["name"] for p in body["invalid_params"]] == [name], body
    assert "attachment" not in r.headers.get("Content-Disposition", ""), "a refused export is no download"


def test_export_streams_many_links(server):
    s = server
    rows = b"url\n" + b"".join(b"https://example.com/many/%d\n" % i for i in range(1000))
    for _ in range(2):
        assert upload(s, "csv", body=rows).json()["created"] == 1000
    r = s.api("GET", "/api/v1/links/export", params={"format": "csv"})
    assert r.status_code == 200
    assert len(r.text.strip().split("\r\n")) == 2001  # header + 2,000 links, over several chunks
    j = s.api("GET", "/api/v1/links/export").json()
    assert j["count"] == 2000 and len({l["code"] for l in j["links"]}) == 2000


def test_cli_import(server):
    s = server
    out = s.cli("import", str(DATA / "kutt.json"), "--team", "1", "--format", "kutt", "--dry-run")
    assert json.loads(out.stdout) == {"format": "kutt", "rows": 2, "would_create": 2, "would_reuse": 0,
                                      "failed": 0, "dry_run": True}
    assert "kutt-a" not in links_by_code(s)
    out = s.cli("import", str(DATA / "links.csv"), "--team", "1", "--format", "csv")
    summary = json.loads(out.stdout)
    assert summary["created"] == 3 and summary["failed"] == 2, out.stdout
    # file lines: the first row's note spans two
    assert "line 6: url" in out.stderr and "line 7: created_at" in out.stderr, out.stderr
    assert links_by_code(s)["imp-csv-1"]["visits"]["total"] == 42
    bad = s.cli("import", str(DATA / "links.csv"), "--team", "999", "--format", "csv", check=False)
    assert bad.returncode != 0 and "no team" in bad.stderr
