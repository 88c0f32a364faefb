"""Password-protected links (issue 4): the form (no JavaScript, CSRF-safe),
HTTP Basic for API clients, rate limits per client and link, and nothing
leaking the destination or the hash."""

import base64
import json
import re

import requests

from conftest import assert_problem, wait_until

PW = "open sesame"


def form_token(r):
    m = re.search(r'name="csrf" value="([0-9a-f]{32})"', r.text)
    assert m, r.text[:500]
    return m.group(1)


def basic(pw, user="anyone"):
    return {"Authorization": "Basic " + base64.b64encode(("%s:%s" % (user, pw)).encode()).decode()}


def unlock(s, code, pw, sess=None):
    sess = sess or requests.Session()
    r = sess.get(s.url("/" + code), allow_redirects=False, timeout=10)
    assert r.status_code == 200
    return sess.post(s.url("/" + code), data={"csrf": form_token(r), "password": pw}, allow_redirects=False,
                     timeout=20)


def test_form_then_redirect(server):
    s = server
    l = s.create(password=PW, url="https://example.com/secret/place")
    assert l["password_protected"] is True and "password" not in l and "password_hash" not in l
    r = s.get("/" + l["code"])
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    assert r.headers["Cache-Control"] == "no-store" and r.headers["X-Robots-Tag"] == "noindex"
    assert "<script" not in r.text and 'method="post"' in r.text
    assert "example.com/secret" not in r.text
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" + l["code"] in cookie
    r = unlock(s, l["code"], PW)
    assert r.status_code == 303 and r.headers["Location"] == "https://example.com/secret/place"
    wait_until(lambda: s.link(l["code"]).json()["visits"]["total"] == 1, what="the unlocked visit recorded")


def test_wrong_password_shows_the_form_again(server):
    s = server
    l = s.create(password=PW)
    r = unlock(s, l["code"], "not it")
    assert r.status_code == 401 and "Wrong password" in r.text and 'name="csrf"' in r.text
    assert "Location" not in r.headers


def test_csrf_is_required(server):
    s = server
    l = s.create(password=PW)
    # no cookie (another site's form): refused, even with the right password
    r = requests.post(s.url("/" + l["code"]), data={"csrf": "0" * 32, "password": PW}, allow_redirects=False,
                      timeout=10)
    assert r.status_code == 403 and "Location" not in r.headers
    # the cookie, but a token that is not its own
    sess = requests.Session()
    form = sess.get(s.url("/" + l["code"]), timeout=10)
    token = form_token(form)
    other = ("1" if token[0] != "1" else "2") + token[1:]
    r = sess.post(s.url("/" + l["code"]), data={"csrf": other, "password": PW}, allow_redirects=False, timeout=10)
    assert r.status_code == 403
    r = sess.post(s.url("/" + l["code"]), data={"password": PW}, allow_redirects=False, timeout=10)
    assert r.status_code == 403


def test_basic_auth_for_api_clients(server):
    s = server
    l = s.create(password=PW, url="https://example.com/basic", redirect_type=307)
    r = s.get("/" + l["code"], headers=basic(PW))
    assert r.status_code == 307 and r.headers["Location"] == "https://example.com/basic"
    r = s.get("/" + l["code"], headers=basic("nope"))
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Basic realm=")
    assert "Location" not in r.headers
    r = s.get("/" + l["code"], headers={"Authorization": "Basic !!!not-base64"})
    assert r.status_code == 401


def test_wrong_passwords_are_rate_limited_per_client_and_link(server_factory):
    s = server_factory(name="pwlimit", args=["--rate-auth", "3"])
    a = s.create(password=PW)
    b = s.create(password=PW)
    got = [s.get("/" + a["code"], headers=basic("guess%d" % i)).status_code for i in range(3)]
    assert got == [401, 401, 401]
    r = s.get("/" + a["code"], headers=basic(PW))
    assert_problem(r, 429, "rate-limited")
    assert r.headers.get("Retry-After")
    # another link has its own budget
    assert s.get("/" + b["code"], headers=basic(PW)).status_code == 302


def test_preview_and_exports_do_not_leak(server):
    s = server
    l = s.create(password=PW, url="https://example.com/hidden-target")
    r = s.get("/" + l["code"] + "+")
    assert r.status_code == 200 and "hidden-target" not in r.text and "password" in r.text
    for fmt in ("json", "csv"):
        r = s.api("GET", "/api/v1/links/export", params={"format": fmt})
        assert "$argon2id" not in r.text
    assert "$argon2id" not in json.dumps(s.list_all())


def test_change_and_remove_the_password(server):
    s = server
    l = s.create(password=PW)
    assert s.get("/" + l["code"], headers=basic(PW)).status_code == 302
    r = s.api("PATCH", "/api/v1/links/" + l["code"], {"password": "new one"})
    assert r.status_code == 200 and r.json()["password_protected"] is True
    assert s.get("/" + l["code"], headers=basic(PW)).status_code == 401
    assert s.get("/" + l["code"], headers=basic("new one")).status_code == 302
    r = s.api("PATCH", "/api/v1/links/" + l["code"], {"password": None})
    assert r.json()["password_protected"] is False
    r = s.get("/" + l["code"])
    assert r.status_code == 302, "no form once the password is gone"
    # and back on: the cached redirect does not bypass it
    assert s.api("PATCH", "/api/v1/links/" + l["code"], {"password": PW}).status_code == 200
    assert s.get("/" + l["code"]).status_code == 200


def test_max_visits_spent_only_by_unlocking(server):
    s = server
    l = s.create(password=PW, max_visits=1)
    for _ in range(3):
        assert s.get("/" + l["code"]).status_code == 200  # the form spends nothing
    assert unlock(s, l["code"], "wrong").status_code == 401
    assert unlock(s, l["code"], PW).status_code == 303
    assert s.get("/" + l["code"], headers=basic(PW)).status_code == 410


def test_bad_passwords_write_nothing(server):
    s = server
    for value in ("", "x" * 129, 5, True):
        r = s.api("POST", "/api/v1/links", {"url": "https://example.com/", "password": value})
        assert_problem(r, 422, "validation", "password")
    assert s.list_all() == []
    r = s.api("POST", "/api/v1/links/bulk", {"links": [{"url": "https://example.com/", "password": PW}]})
    assert r.status_code == 200
    assert [p["name"] for p in r.json()["items"][0]["problem"]["invalid_params"]] == ["password"]
    assert s.list_all() == []
