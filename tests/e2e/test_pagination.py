"""GET /api/v1/links: newest first, cursors stable while links keep arriving."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from conftest import HTTP_TIMEOUT, assert_link, assert_problem

N = 250


@pytest.fixture(scope="module")
def seeded(module_server):
    s = module_server

    def make(i):
        with requests.Session() as sess:
            r = sess.post(s.url("/api/v1/links"), json={"url": "https://example.com/seed/%d" % i},
                          headers=s.auth(), timeout=HTTP_TIMEOUT)
            assert r.status_code == 201, r.text
            return r.json()["code"]

    with ThreadPoolExecutor(4) as ex:
        codes = list(ex.map(make, range(N)))
    assert len(set(codes)) == N
    return s, set(codes)


def test_default_and_bounds(seeded):
    s, _ = seeded
    r = s.api("GET", "/api/v1/links")
    assert r.status_code == 200
    body = r.json()
    assert len(body["items"]) == 20
    assert isinstance(body["next_cursor"], str) and body["next_cursor"]
    for limit in (1, 100):
        r = s.api("GET", "/api/v1/links", params={"limit": limit})
        assert r.status_code == 200
        assert len(r.json()["items"]) == limit
    for bad in ("0", "101", "-5", "x"):
        assert_problem(s.api("GET", "/api/v1/links", params={"limit": bad}), 400, "validation", "limit")
    assert_problem(s.api("GET", "/api/v1/links", params={"cursor": "definitely not a cursor"}),
                   400, "validation", "cursor")


def test_paging_stable_under_inserts(seeded):
    s, original = seeded
    stop = threading.Event()
    added = []
    errors = []

    def writer():
        with requests.Session() as sess:
            i = 0
            while not stop.is_set():
                r = sess.post(s.url("/api/v1/links"), json={"url": "https://example.com/bg/%d" % i},
                              headers=s.auth(), timeout=HTTP_TIMEOUT)
                if r.status_code != 201:
                    errors.append(r.text)
                    return
                added.append(r.json()["code"])
                i += 1

    t = threading.Thread(target=writer)
    t.start()
    try:
        seen, cursor, pages = [], None, 0
        while True:
            params = {"limit": 37}
            if cursor is not None:
                params["cursor"] = cursor
            r = s.api("GET", "/api/v1/links", params=params)
            assert r.status_code == 200, r.text
            body = r.json()
            assert len(body["items"]) <= 37
            for item in body["items"]:
                assert_link(item, s)
            seen += body["items"]
            pages += 1
            cursor = body["next_cursor"]
            if cursor is None:
                break
            assert body["items"], "empty page with a next_cursor"
            assert pages < 50, "paging does not end"
            # let the writer get a few links in between pages
            n = len(added)
            for _ in range(100):
                if len(added) > n or errors:
                    break
                stop.wait(0.01)
    finally:
        stop.set()
        t.join()
    assert not errors, errors
    assert added, "background writer created nothing"

    codes = [i["code"] for i in seen]
    dups = {c for c in codes if codes.count(c) > 1}
    assert not dups, "duplicates across pages: %s" % sorted(dups)[:10]
    missing = original - set(codes)
    assert not missing, "%d original links never listed, e.g. %s" % (len(missing), sorted(missing)[:5])
    unexpected = set(codes) - original - set(added)
    assert not unexpected, unexpected
    stamps = [i["created_at"] for i in seen]
    assert stamps == sorted(stamps, reverse=True), "not newest first"


def test_newest_first_exact(seeded):
    s, _ = seeded
    made = [s.create()["code"] for _ in range(4)]
    r = s.api("GET", "/api/v1/links", params={"limit": 4})
    assert [i["code"] for i in r.json()["items"]] == made[::-1]
    # the cursor continues right after the page
    nxt = s.api("GET", "/api/v1/links", params={"limit": 2, "cursor": r.json()["next_cursor"]})
    assert nxt.status_code == 200
    assert not set(i["code"] for i in nxt.json()["items"]) & set(made)
