"""Tags, notes, finding links (filters, search, order, cursors), typeahead and
reuse (issue 4), black-box against the real binary."""

import datetime as dt
import http.client
import json
import time

import pytest

from conftest import (assert_link, assert_problem, create_link, parallel, rfc3339, signup,
                      unique, wait_until)


def items(r):
    assert r.status_code == 200, r.text[:500]
    return r.json()["items"]


def codes(r):
    return [i["code"] for i in items(r)]


def all_pages(s, params, limit=3):
    """Every page of GET /api/v1/links with params, following cursors."""
    out, cursor = [], None
    while True:
        p = dict(params, limit=limit)
        if cursor:
            p["cursor"] = cursor
        r = s.api("GET", "/api/v1/links", params=p)
        assert r.status_code == 200, r.text[:500]
        out += [i["code"] for i in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if not cursor:
            return out


def n_links(s):
    return len(all_pages(s, {}, limit=100))


# -- tags and notes ------------------------------------------------------------

def test_tags_and_note_on_create_and_patch(server):
    s = server
    l = s.create(tags=["News", "launch", "news", "Q3 plan"], note="first line\nsecond\tline")
    assert l["tags"] == ["launch", "News", "Q3 plan"], "deduplicated without case, sorted without case"
    assert l["note"] == "first line\nsecond\tline"
    # another link naming an existing tag in another case gets the team's spelling
    m = s.create(tags=["NEWS"])
    assert m["tags"] == ["News"]
    r = s.api("PATCH", "/api/v1/links/" + l["code"], {"tags": ["archive"], "note": None})
    assert r.status_code == 200, r.text
    assert r.json()["tags"] == ["archive"] and r.json()["note"] is None
    got = s.link(l["code"]).json()
    assert got["tags"] == ["archive"] and got["note"] is None
    r = s.api("PATCH", "/api/v1/links/" + l["code"], {"tags": []})
    assert r.json()["tags"] == []
    # a PATCH of other fields keeps the tags
    r = s.api("PATCH", "/api/v1/links/" + m["code"], {"title": "t"})
    assert r.json()["tags"] == ["News"]


@pytest.mark.parametrize("field,value", [
    ("tags", "news"), ("tags", [1]), ("tags", ["a,b"]), ("tags", [""]), ("tags", [" lead"]),
    ("tags", ["x" * 65]), ("tags", ["t%d" % i for i in range(21)]), ("tags", ["tab\there"]),
    ("note", 5), ("note", "n" * 4097), ("note", "bell\x07"), ("reuse", "yes"),
])
def test_bad_tags_note_reuse_name_the_field(server, field, value):
    s = server
    before = n_links(s)
    r = s.api("POST", "/api/v1/links", {"url": "https://example.com/bad", field: value})
    assert_problem(r, 422, "validation", field)
    assert n_links(s) == before, "nothing written"
    assert items(s.api("GET", "/api/v1/tags")) == []
    if field != "reuse":
        l = s.create()
        r = s.api("PATCH", "/api/v1/links/" + l["code"], {field: value})
        assert_problem(r, 422, "validation", field)
        assert s.link(l["code"]).json()["tags"] == []


def test_tag_list_rename_merge_delete(server):
    s = server
    a = s.create(tags=["alpha", "beta"])
    b = s.create(tags=["beta"])
    c = s.create(tags=["gamma"])
    assert items(s.api("GET", "/api/v1/tags")) == [
        {"name": "alpha", "links": 1}, {"name": "beta", "links": 2}, {"name": "gamma", "links": 1}]
    # rename (a new name)
    r = s.api("PATCH", "/api/v1/tags/alpha", {"name": "Alpha One"})
    assert r.status_code == 200, r.text
    assert r.json() == {"name": "Alpha One", "links": 1}
    assert s.link(a["code"]).json()["tags"] == ["Alpha One", "beta"]
    # merge beta into gamma: links of both carry gamma once
    r = s.api("PATCH", "/api/v1/tags/BETA", {"name": "GAMMA"})
    assert r.status_code == 200, r.text
    assert r.json() == {"name": "gamma", "links": 3}
    assert s.link(a["code"]).json()["tags"] == ["Alpha One", "gamma"]
    assert s.link(b["code"]).json()["tags"] == ["gamma"]
    assert s.link(c["code"]).json()["tags"] == ["gamma"]
    assert items(s.api("GET", "/api/v1/tags")) == [
        {"name": "Alpha One", "links": 1}, {"name": "gamma", "links": 3}]
    # search sees the new names at once
    assert sorted(codes(s.api("GET", "/api/v1/links", params={"q": "gamma"}))) == \
        sorted([a["code"], b["code"], c["code"]])
    # delete
    r = s.api("DELETE", "/api/v1/tags/gamma")
    assert r.status_code == 204
    assert s.link(b["code"]).json()["tags"] == []
    assert s.link(a["code"]).json()["tags"] == ["Alpha One"]
    assert items(s.api("GET", "/api/v1/tags")) == [{"name": "Alpha One", "links": 1}]
    # unknown tags and bad bodies
    assert_problem(s.api("DELETE", "/api/v1/tags/nope"), 404, "not-found")
    assert_problem(s.api("PATCH", "/api/v1/tags/nope", {"name": "x"}), 404, "not-found")
    assert_problem(s.api("PATCH", "/api/v1/tags/Alpha%20One", {"name": "a,b"}), 422, "validation", "name")
    assert_problem(s.api("PATCH", "/api/v1/tags/Alpha%20One", {"nom": "x"}), 422, "validation", "nom")
    assert_problem(s.api("PATCH", "/api/v1/tags/Alpha%20One", {}), 422, "validation", "name")
    assert items(s.api("GET", "/api/v1/tags")) == [{"name": "Alpha One", "links": 1}]


def test_tags_are_per_team(server):
    s = server
    a, b = signup(s), signup(s)
    la = create_link(s, a.access, tags=["shared", "mine"])
    create_link(s, b.access, tags=["Shared"])
    r = a.call("GET", "/api/v1/tags")
    assert items(r) == [{"name": "mine", "links": 1}, {"name": "shared", "links": 1}]
    assert items(b.call("GET", "/api/v1/tags")) == [{"name": "Shared", "links": 1}]
    # b cannot rename or delete a's tag, nor find a's links by it
    assert_problem(b.call("PATCH", "/api/v1/tags/mine", {"name": "x"}), 404, "not-found")
    assert_problem(b.call("DELETE", "/api/v1/tags/mine"), 404, "not-found")
    assert items(b.call("GET", "/api/v1/links", params={"tag": "mine"})) == []
    assert items(b.call("GET", "/api/v1/links", params={"q": la["code"]})) == []
    assert items(b.call("GET", "/api/v1/links/suggest", params={"q": la["code"]})) == []
    assert items(b.call("GET", "/api/v1/links/suggest", params={"q": "min"})) == []
    # renaming b's "Shared" leaves a's alone
    assert b.call("PATCH", "/api/v1/tags/shared", {"name": "common"}).status_code == 200
    assert items(a.call("GET", "/api/v1/tags"))[1] == {"name": "shared", "links": 1}


# -- filters, search, order -------------------------------------------------------

@pytest.fixture(scope="module")
def catalog(module_server):
    s = module_server
    made = {}
    specs = [
        ("red", dict(url="https://shop.example.org/spring/sale", title="Spring sale", tags=["promo", "spring"])),
        ("green", dict(url="https://www.blog.example.com/post/42", title="zebra notes", tags=["blog"])),
        ("blue", dict(url="https://docs.example.net/api/v2", title="API reference", tags=["docs", "promo"])),
        ("plain", dict(url="https://example.io/x", title=None)),
        ("limited", dict(url="https://example.io/limited", title="limited offer", max_visits=1)),
    ]
    for name, f in specs:
        f = dict(f)
        if f.get("title") is None:
            f.pop("title")
        made[name] = s.create(slug="cat" + name + unique(""), **f)
    assert s.get("/" + made["limited"]["code"]).status_code == 302  # now exhausted
    return s, made


def test_filter_by_tags_any_all_untagged(catalog):
    s, m = catalog
    c = {k: v["code"] for k, v in m.items()}
    assert sorted(codes(s.api("GET", "/api/v1/links", params={"tag": "promo"}))) == sorted([c["red"], c["blue"]])
    assert sorted(codes(s.api("GET", "/api/v1/links", params=[("tag", "PROMO"), ("tag", "blog")])) ) == \
        sorted([c["red"], c["blue"], c["green"]])
    assert codes(s.api("GET", "/api/v1/links", params=[("tag", "promo"), ("tag", "spring"),
                                                         ("tag_mode", "all")])) == [c["red"]]
    un = codes(s.api("GET", "/api/v1/links", params={"untagged": "true"}))
    assert c["plain"] in un and c["limited"] in un and c["red"] not in un


def test_search_code_url_title_tags(catalog):
    s, m = catalog
    c = {k: v["code"] for k, v in m.items()}

    def q(text):
        return sorted(codes(s.api("GET", "/api/v1/links", params={"q": text})))

    assert q("zebr") == [c["green"]], "title prefix"
    assert q("docs.example") == [c["blue"]], "URL host as a phrase"
    assert q("spring") == [c["red"]], "URL path, title and tag"
    assert q("promo") == sorted([c["red"], c["blue"]]), "tags"
    assert q(c["blue"][:6]) == [c["blue"]], "code prefix"
    assert q("spring promo") == [c["red"]], "words are ANDed"
    assert q("nothing-like-this") == []
    assert q('"') == [], "punctuation alone matches nothing, without an error"


def test_search_catches_up_with_a_burst_of_creations(server):
    """Under concurrent creations the writer moves search-index changes into
    FTS5 at most every 500 ms (a segment per small batch made FTS5's merges a
    third of its time), and whatever is left before it goes idle: once the
    burst is answered every link is found, a moment later at the latest, and
    a link made on the idle server right after it is found at once."""
    s = server
    word = unique("burst")

    def make(i, sess):
        out = []
        for j in range(15):
            r = sess.post(s.url("/api/v1/links"), headers=s.auth(),
                          json={"url": "https://example.com/%s/%d-%d" % (word, i, j)}, timeout=30)
            assert r.status_code == 201, r.text[:300]
            out.append(r.json()["code"])
        return out

    made = sorted(c for batch in parallel(12, make) for c in batch)
    assert len(made) == 180

    wait_until(lambda: len(all_pages(s, {"q": word}, limit=100)) == 180, timeout=10,
               what="every link of the burst in search results")
    assert sorted(all_pages(s, {"q": word}, limit=100)) == made
    last = s.create(url="https://example.com/%s/after" % word)
    assert codes(s.api("GET", "/api/v1/links", params={"q": word + " after"})) == [last["code"]]


def test_state_and_created_range(catalog):
    s, m = catalog
    c = {k: v["code"] for k, v in m.items()}
    active = codes(s.api("GET", "/api/v1/links", params={"state": "active", "limit": 100}))
    expired = codes(s.api("GET", "/api/v1/links", params={"state": "expired", "limit": 100}))
    assert c["limited"] in expired and c["limited"] not in active
    assert c["red"] in active and c["red"] not in expired
    first = m["red"]["created_at"]
    after = codes(s.api("GET", "/api/v1/links", params={"created_after": first, "limit": 100}))
    before = codes(s.api("GET", "/api/v1/links", params={"created_before": first, "limit": 100}))
    assert c["red"] in after and c["red"] not in before
    future = rfc3339(dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1))
    assert codes(s.api("GET", "/api/v1/links", params={"created_after": future})) == []


def test_order_by_title_and_visits_with_cursors(catalog):
    s, m = catalog
    mine = {v["code"] for v in m.values()}
    by_title = [x for x in all_pages(s, {"order": "title"}, limit=2) if x in mine]
    # untitled sorts as "" (first ascending), then without case
    assert by_title == [m[k]["code"] for k in ("plain", "blue", "limited", "red", "green")]
    desc = [x for x in all_pages(s, {"order": "title", "dir": "desc"}, limit=2) if x in mine]
    assert desc == list(reversed(by_title))
    for _ in range(3):
        assert s.get("/" + m["blue"]["code"]).status_code == 302
    for _ in range(2):
        assert s.get("/" + m["green"]["code"]).status_code == 302
    def totals():
        return {i["code"]: i["visits"]["total"] for i in
                items(s.api("GET", "/api/v1/links", params={"q": "cat", "limit": 100}))}

    # blue's and green's visits may land in different visit passes: wait for both
    wait_until(lambda: [totals().get(m[k]["code"]) for k in ("blue", "green")] == [3, 2], timeout=10,
               what="the visits of blue and green in the totals")
    ordered = [x for x in all_pages(s, {"order": "visits"}, limit=2) if x in mine]
    assert ordered[:3] == [m["blue"]["code"], m["green"]["code"], m["limited"]["code"]]
    asc = [x for x in all_pages(s, {"order": "visits", "dir": "asc"}, limit=2) if x in mine]
    assert asc == list(reversed(ordered))


def test_created_cursor_stable_while_links_are_added(server):
    s = server
    made = [s.create(tags=["batch"])["code"] for _ in range(7)]
    first = s.api("GET", "/api/v1/links", params={"tag": "batch", "limit": 3}).json()
    for _ in range(4):
        s.create(tags=["batch"])
    rest, cursor = [], first["next_cursor"]
    while cursor:
        r = s.api("GET", "/api/v1/links", params={"tag": "batch", "limit": 3, "cursor": cursor}).json()
        rest += [i["code"] for i in r["items"]]
        cursor = r["next_cursor"]
    assert [i["code"] for i in first["items"]] + rest == list(reversed(made))


@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_title_cursor_stable_while_links_are_added(server, direction):
    """order=title pages: links added between pages (sorting before, after
    and level with the page boundary) never repeat or hide an original link."""
    s = server
    titles = ["alpha", "Bravo", "charlie", "delta", "Echo", "echo", "foxtrot", "golf", None, "hotel"]
    made = {}
    for t in titles:
        f = {"tags": ["tbatch"]}
        if t is not None:
            f["title"] = t
        made[s.create(**f)["code"]] = (t or "").lower()
    added = iter(["aaa", "delta", "zulu", "Echo", None, "charlie", "golf", "b", "hotel", "ZZZ"] * 2)
    seen, cursor, pages = [], None, 0
    while True:
        p = {"tag": "tbatch", "order": "title", "dir": direction, "limit": 2}
        if cursor:
            p["cursor"] = cursor
        r = s.api("GET", "/api/v1/links", params=p)
        assert r.status_code == 200, r.text[:500]
        body = r.json()
        seen += [(i["code"], (i["title"] or "").lower()) for i in body["items"]]
        cursor = body["next_cursor"]
        pages += 1
        assert pages < 30, "paging does not end"
        if not cursor:
            break
        for _ in range(2):
            t = next(added)
            s.create(tags=["tbatch"], **({"title": t} if t is not None else {}))
    codes_seen = [c for c, _ in seen]
    assert len(codes_seen) == len(set(codes_seen)), "a link came twice: %s" % seen
    assert [c for c in codes_seen if c in made] and set(made) <= set(codes_seen), \
        "original links skipped: %s" % sorted(set(made) - set(codes_seen))
    original = [t for c, t in seen if c in made]
    assert original == sorted(made.values(), reverse=direction == "desc"), original
    keys = [t for _, t in seen]
    assert keys == sorted(keys, reverse=direction == "desc"), "pages out of title order: %s" % keys


@pytest.mark.parametrize("params,name", [
    ({"order": "popular"}, "order"), ({"dir": "up"}, "dir"), ({"state": "gone"}, "state"),
    ({"tag_mode": "some"}, "tag_mode"), ({"untagged": "yes"}, "untagged"), ({"tag": "a,b"}, "tag"),
    ({"tag": "x" * 65}, "tag"), ({"created_after": "yesterday"}, "created_after"),
    ({"created_before": "2030-13-01T00:00:00Z"}, "created_before"), ({"q": "x" * 201}, "q"),
    ({"q": "%zz"}, "q"), ({"order": "visits", "cursor": "abc"}, "cursor"),
    ({"order": "title", "cursor": "v.1.2"}, "cursor"), ({"cursor": "t.61.2"}, "cursor"),
    ({"limit": "0"}, "limit"), ({"untagged": "true", "tag": "a"}, "untagged"),
])
def test_bad_filters_name_the_parameter(module_server, params, name):
    s = module_server
    if params.get("q") == "%zz":  # sent as is (requests would re-encode it): a malformed %-escape
        conn = http.client.HTTPConnection(s.host, s.port, timeout=10)
        conn.request("GET", "/api/v1/links?q=%zz", headers=s.auth())
        resp = conn.getresponse()
        body = json.loads(resp.read())
        conn.close()
        assert resp.status == 400 and [p["name"] for p in body["invalid_params"]] == ["q"], body
        return
    r = s.api("GET", "/api/v1/links", params=params)
    assert_problem(r, 400, "validation", name)


def test_too_many_tag_filters(module_server):
    r = module_server.api("GET", "/api/v1/links", params=[("tag", "t%d" % i) for i in range(11)])
    assert_problem(r, 400, "validation", "tag")


# -- typeahead ----------------------------------------------------------------------

def test_suggest_code_tag_title_host(server):
    s = server
    a = s.create(slug="wombat-1", url="https://news.example.com/a", title="Quarterly report")
    b = s.create(slug="zz-other", url="https://www.wombatshop.example/b", title="Other")
    c = s.create(slug="yy-third", url="https://example.org/c", title="Wombat facts")
    d = s.create(slug="xx-fourth", url="https://example.org/d", tags=["wombats"])
    r = s.api("GET", "/api/v1/links/suggest", params={"q": "womb"})
    got = items(r)
    assert [(i["code"], i["matched"]) for i in got] == [
        ("wombat-1", "code"), ("xx-fourth", "tag"), ("yy-third", "title"), ("zz-other", "host")]
    # tags, titles and hosts match without case; codes (case-sensitive) as typed
    assert [(i["code"], i["matched"]) for i in items(s.api("GET", "/api/v1/links/suggest", params={"q": "WOMB"}))] \
        == [("xx-fourth", "tag"), ("yy-third", "title"), ("zz-other", "host")]
    assert got[0]["short_url"] == s.base_url + "/wombat-1" and got[0]["url"] == a["url"]
    assert got[1]["tags"] == ["wombats"]
    assert [i["code"] for i in items(s.api("GET", "/api/v1/links/suggest",
                                           params={"q": "womb", "limit": 2}))] == ["wombat-1", "xx-fourth"]
    assert [i["code"] for i in items(s.api("GET", "/api/v1/links/suggest",
                                           params={"q": "www.wombats"}))] == [b["code"]]
    assert [i["code"] for i in items(s.api("GET", "/api/v1/links/suggest",
                                           params={"q": "quarterly r"}))] == ["wombat-1"]
    assert items(s.api("GET", "/api/v1/links/suggest", params={"q": "nomatch"})) == []
    assert c and d
    assert_problem(s.api("GET", "/api/v1/links/suggest"), 400, "validation", "q")
    assert_problem(s.api("GET", "/api/v1/links/suggest", params={"q": ""}), 400, "validation", "q")
    assert_problem(s.api("GET", "/api/v1/links/suggest", params={"q": "x" * 201}), 400, "validation", "q")
    assert_problem(s.api("GET", "/api/v1/links/suggest", params={"q": "a", "limit": 21}), 400, "validation",
                   "limit")


def test_suggest_merges_the_codes_of_every_domain_of_the_team(server):
    """Each domain's codes are read as a separate range: the answer is still one
    list in code order over the default domain and all the team's domains,
    limited, and never shows another team's codes (even on the shared default
    domain, interleaved with the team's)."""
    s = server
    b = signup(s)
    for host, key in (("m1.example.org", s.key), ("m2.example.org", s.key), ("mb.example.org", b.access)):
        r = s.req("POST", "/api/v1/domains", key, {"hostname": host})
        assert r.status_code == 201, r.text
    mine = {"mrg-b": None, "mrg-e": None, "mrg-h": None,                           # the default domain
            "mrg-a": "m1.example.org", "mrg-d": "m1.example.org", "mrg-g": "m1.example.org",
            "mrg-c": "m2.example.org", "mrg-f": "m2.example.org", "mrg-i": "m2.example.org"}
    for code, host in mine.items():
        create_link(s, s.key, slug=code, **({"domain": host} if host else {}))
    create_link(s, s.key, slug="mrg-d", domain="m2.example.org")  # the same code on a second domain
    theirs = {"mrg-a0": None, "mrg-bb": None, "mrg-d0": None, "mrg-c0": "mb.example.org"}
    for code, host in theirs.items():
        create_link(s, b.access, slug=code, **({"domain": host} if host else {}))
    create_link(s, s.key, slug="zz-merge-title", title="mrg in a title")

    def got(cred, q="mrg", **params):
        r = s.req("GET", "/api/v1/links/suggest", cred, params=dict(q=q, **params))
        return [(i["code"], i["short_url"].split("/")[2], i["matched"]) for i in items(r)]

    default = s.base_url.split("/")[2]
    want = [(c, h or default, "code") for c, h in list(mine.items()) + [("mrg-d", "m2.example.org")]]
    full = got(s.key, limit=20)
    assert [c for c, _, _ in full[:10]] == sorted(c for c, _, _ in want), full
    assert sorted(full[:10]) == sorted(want), full
    assert full[10:] == [("zz-merge-title", default, "title")]
    assert got(s.key) == full[:10]
    assert got(s.key, limit=4) == full[:4]
    assert got(s.key, limit=1) == [("mrg-a", "m1.example.org", "code")]
    assert got(s.key, q="mrg-d") == full[3:5]
    assert got(b.access) == [("mrg-a0", default, "code"), ("mrg-bb", default, "code"),
                             ("mrg-c0", "mb.example.org", "code"), ("mrg-d0", default, "code")]


def test_suggest_by_tag_counts_links_not_tags(server):
    """A link with two matching tags is one suggestion and takes one place of
    the limit: here two links match, and limit=2 shows both (the first link's
    two tags come first in tag order)."""
    s = server
    a = s.create(slug="tgl-a", url="https://example.org/tgl-a", tags=["koala-a", "koala-b"])
    b = s.create(slug="tgl-b", url="https://example.org/tgl-b", tags=["koala-c"])
    got = items(s.api("GET", "/api/v1/links/suggest", params={"q": "koala", "limit": 2}))
    assert sorted((i["code"], i["matched"]) for i in got) == [(a["code"], "tag"), (b["code"], "tag")]


def test_suggest_is_a_reserved_code(server):
    r = server.api("POST", "/api/v1/links", {"url": "https://example.com/", "slug": "suggest"})
    assert_problem(r, 422, "validation", "slug")


# -- reuse ----------------------------------------------------------------------------

def test_reuse_returns_the_existing_link(server):
    s = server
    url = "https://Example.com:443/reuse/" + unique("")
    first = s.create(url=url)
    r = s.api("POST", "/api/v1/links", {"url": url.replace("Example.com:443", "example.com"), "reuse": True})
    assert r.status_code == 200, r.text
    assert_link(r.json(), s)
    assert r.json()["code"] == first["code"] and r.json()["reused"] is True
    # without reuse: a new link
    assert s.create(url=url)["code"] != first["code"]
    # reuse with nothing to reuse creates (201, reused false)
    r = s.api("POST", "/api/v1/links", {"url": "https://example.com/fresh/" + unique(""), "reuse": True})
    assert r.status_code == 201 and r.json()["reused"] is False
    # a slug asks for that code: reused only if it is the one
    r = s.api("POST", "/api/v1/links", {"url": url, "reuse": True, "slug": first["code"]})
    assert r.status_code == 200 and r.json()["code"] == first["code"]
    r = s.api("POST", "/api/v1/links", {"url": url, "reuse": True, "slug": "reuse-" + unique("")})
    assert r.status_code == 201


def test_reuse_skips_dead_links_and_other_teams(server):
    s = server
    url = "https://example.com/once/" + unique("")
    once = s.create(url=url, max_visits=1)
    assert s.get("/" + once["code"]).status_code == 302
    r = s.api("POST", "/api/v1/links", {"url": url, "reuse": True})
    assert r.status_code == 201 and r.json()["code"] != once["code"]
    a = signup(s)
    mine = create_link(s, a.access, url=url, reuse=True)
    assert mine["code"] != once["code"] and mine["reused"] is False


def test_reuse_under_concurrency_creates_one_link(server):
    s = server
    url = "https://example.com/race/" + unique("")

    def go(i, sess):
        r = sess.post(s.url("/api/v1/links"), json={"url": url, "reuse": True}, headers=s.auth(), timeout=10)
        assert r.status_code in (200, 201), r.text
        return r.json()["code"]

    got = parallel(16, go)
    assert len(set(got)) == 1
