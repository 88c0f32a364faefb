"""Accounts: sign-up, log-in, token refresh and log-out, /me, access tokens,
teams and members (the last-admin rule), API keys, the operator CLI, and
secrets kept out of every log.

One server for the module (rate limits lifted, JWT key known to the tests);
the secrets test runs its own. Users are few: each sign-up or log-in hashes
a password (argon2id, 64 MiB)."""

import hashlib
import hmac
import json
import re
import sqlite3
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from conftest import (APIKEY_RE, HTTP_TIMEOUT, ID_RE, NO_LIMITS, PASSWORD, TS_RE, add_member,
                      assert_problem, assert_token_pair, assert_unauthorized, assert_user,
                      b64u, b64u_decode, create_link, jwt_claims, jwt_decode, jwt_encode,
                      jwt_keyring, login, make_key, make_team, on_every_worker, parallel, parse_ts, routes,
                      signup, unique,
                      unique_email, utc_in, wait_until)

ME = "/api/v1/me"


@pytest.fixture(scope="module")
def jwt_key():
    return jwt_keyring("t1")


@pytest.fixture(scope="module")
def srv(module_factory, jwt_key):
    return module_factory(name="acc", args=NO_LIMITS, env={"LINKPULSE_JWT_KEYS": jwt_key[1]})


@pytest.fixture(autouse=True)
def alive(srv):
    """A crash fails the test that caused it, not every test after it."""
    yield
    srv.assert_alive()


@pytest.fixture(scope="module")
def alice(srv):
    return signup(srv, unique_email("alice"), name="Alice Example")


@pytest.fixture(scope="module")
def bob(srv):
    return signup(srv, unique_email("bob"), name="Bob")


@pytest.fixture(scope="module")
def carol(srv):
    return signup(srv, unique_email("carol"))


def refresh(srv, token):
    return srv.req("POST", "/api/v1/auth/refresh", None, {"refresh_token": token})


def logout(srv, token):
    return srv.req("POST", "/api/v1/auth/logout", None, {"refresh_token": token})


# -- sign-up, log-in, /me -----------------------------------------------------

def test_signup_returns_tokens_and_user(srv):
    email = unique_email("shape")
    r = srv.req("POST", "/api/v1/auth/signup", None,
                {"email": email, "password": PASSWORD, "name": "Shape Tester"})
    assert r.status_code == 201, r.text
    assert r.headers.get("Content-Type", "").startswith("application/json")
    body = assert_token_pair(r.json())
    u = assert_user(body["user"], email)
    assert u["name"] == "Shape Tester"
    # the new access token works at once, with either header
    for via in ("bearer", "x-api-key"):
        me = srv.req("GET", ME, body["access_token"], via=via)
        assert me.status_code == 200, (via, me.text)
        assert me.json()["kind"] == "user" and me.json()["user"] == u, me.json()


def test_signup_without_name(srv, carol):
    assert carol.user["name"] is None, carol.user


def test_me_for_a_user(srv, alice):
    r = alice.call("GET", ME)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["kind"] == "user", body
    assert body["user"] == alice.user, body
    teams = body["teams"]
    personal = [t for t in teams if t["id"] == alice.team]
    assert len(personal) == 1, teams
    t = personal[0]
    assert set(t) >= {"id", "name", "plan", "personal", "role"}, t
    assert t["personal"] is True and t["role"] == "admin" and t["plan"] == "free", t
    assert isinstance(t["name"], str) and t["name"], t


def test_me_for_operator_and_team_keys(srv, alice):
    r = srv.req("GET", ME, srv.admin_key)
    assert r.status_code == 200, r.text
    op = r.json()
    assert op["kind"] == "operator", op
    assert op["team_id"] == "1", "operator's default team is team 1 (instance): %s" % op
    assert isinstance(op["key_id"], str) and ID_RE.match(op["key_id"]), op
    assert op["role"] == "admin", op

    k = make_key(alice, "viewer")
    for via in ("bearer", "x-api-key"):
        r = srv.req("GET", ME, k["key"], via=via)
        assert r.status_code == 200, (via, r.text)
        assert r.json() == {"kind": "api_key", "key_id": k["id"], "team_id": alice.team,
                            "role": "viewer"}, r.json()


def test_instance_team(srv):
    r = srv.req("GET", "/api/v1/teams/1", srv.admin_key)
    assert r.status_code == 200, r.text
    t = r.json()
    assert t["id"] == "1" and t["personal"] is False and t["role"] == "admin", t
    assert TS_RE.match(t["created_at"] or ""), "team 1 needs a created_at like every team: %s" % t


def test_generated_operator_key(server_factory):
    s2 = server_factory(name="genkey", admin_key=None)
    key = (s2.data / "admin.key").read_text().strip()
    assert key.startswith("lpa_"), "generated operator key %r" % key[:6]
    me = s2.req("GET", ME, key)
    assert me.status_code == 200 and me.json()["kind"] == "operator", me.text


def test_duplicate_email_is_case_insensitive(srv):
    local = "Dup." + unique("x")
    first = signup(srv, "%s@Example.COM" % local.upper())
    r = srv.req("POST", "/api/v1/auth/signup", None,
                {"email": "%s@example.com" % local.lower(), "password": PASSWORD})
    assert_problem(r, 409, "conflict", "email")
    # same spelling, too
    r = srv.req("POST", "/api/v1/auth/signup", None, {"email": first.email, "password": PASSWORD})
    assert_problem(r, 409, "conflict", "email")


def test_signup_race_same_email(srv):
    """Five sign-ups of one address (in different letter cases) at once: one account."""
    local = "race-" + unique("r")
    emails = ["%s@example.com" % local, "%s@EXAMPLE.com" % local.upper(), "%s@example.COM" % local,
              "%s@Example.Com" % local.capitalize(), "%s@example.com" % local]

    def go(i, session):
        return session.post(srv.url("/api/v1/auth/signup"), timeout=HTTP_TIMEOUT,
                            json={"email": emails[i], "password": PASSWORD})
    rs = parallel(5, go)
    statuses = sorted(r.status_code for r in rs)
    assert statuses == [201, 409, 409, 409, 409], statuses
    for r in rs:
        if r.status_code == 409:
            assert_problem(r, 409, "conflict", "email")


LONG_LOCAL = "x" * 250 + "@example.com"
SIGNUP_INVALID = [
    # (body with EMAIL standing for a fresh address, status, invalid param)
    ({"email": "EMAIL", "password": "123456789"}, 422, "password"),          # 9 characters
    ({"email": "EMAIL", "password": ""}, 422, "password"),
    ({"email": "EMAIL", "password": "a" * 1025}, 422, "password"),           # over 1024 bytes
    ({"email": "EMAIL", "password": "äöüäöüäö"}, 422, "password"),           # 8 chars, 16 bytes
    ({"email": "EMAIL", "password": 1234567890123}, 422, "password"),
    ({"email": "EMAIL", "password": None}, 422, "password"),
    ({"email": "EMAIL"}, 422, "password"),
    ({"password": PASSWORD}, 422, "email"),
    ({"email": "", "password": PASSWORD}, 422, "email"),
    ({"email": "not-an-email", "password": PASSWORD}, 422, "email"),
    ({"email": "a@", "password": PASSWORD}, 422, "email"),
    ({"email": "@example.com", "password": PASSWORD}, 422, "email"),
    ({"email": "a b@example.com", "password": PASSWORD}, 422, "email"),
    ({"email": "a@exa mple.com", "password": PASSWORD}, 422, "email"),
    ({"email": "a\n@example.com", "password": PASSWORD}, 422, "email"),
    ({"email": "a@@example.com", "password": PASSWORD}, 422, "email"),
    ({"email": LONG_LOCAL, "password": PASSWORD}, 422, "email"),
    ({"email": "a@example.", "password": PASSWORD}, 422, "email"),
    ({"email": "a@.example.com", "password": PASSWORD}, 422, "email"),
    ({"email": "EMAIL", "password": PASSWORD, "name": "n" * 129}, 422, "name"),
    ({"email": "EMAIL", "password": PASSWORD, "name": ""}, 422, "name"),
    ({"email": "EMAIL", "password": PASSWORD, "name": "bell\u0007"}, 422, "name"),
    ({"email": 12345, "password": PASSWORD}, 422, "email"),
    ({"email": "EMAIL", "password": PASSWORD, "name": 7}, 422, "name"),
    ({"email": "EMAIL", "password": PASSWORD, "role": "admin"}, 422, "role"),
    ({"email": "EMAIL", "password": PASSWORD, "personal_team_id": "1"}, 422, "personal_team_id"),
]


@pytest.mark.parametrize("body,status,param", SIGNUP_INVALID,
                         ids=["%s-%d" % (p, i) for i, (_, _, p) in enumerate(SIGNUP_INVALID)])
def test_signup_validation(srv, body, status, param):
    body = dict(body)
    if body.get("email") == "EMAIL":
        body["email"] = unique_email("val")
    r = srv.req("POST", "/api/v1/auth/signup", None, body)
    assert_problem(r, status, "validation", param)


@pytest.mark.parametrize("data,ctype,status", [
    ("not json", "application/json", 400),
    ("[1, 2]", "application/json", 400),
    ('{"email": "x@example.com", "password": "' + PASSWORD + '"}', "text/plain", 415),
])
def test_signup_bad_body(srv, data, ctype, status):
    r = srv.req("POST", "/api/v1/auth/signup", None, data=data, headers={"Content-Type": ctype})
    assert_problem(r, status, "validation" if status == 400 else "unsupported-media-type")


def test_signup_password_edges_accepted(srv):
    # exactly 10 characters; 10 characters that are 20 bytes; 1024 bytes
    for pw in ("abcdefghij", "äöüäöüäöüä", "p" * 1024):
        a = signup(srv, unique_email("pw"), password=pw)
        again = login(srv, a.email, pw)
        assert again.id == a.id
    # one byte over 1024 is refused even though it is otherwise fine
    r = srv.req("POST", "/api/v1/auth/signup", None, {"email": unique_email("pw"), "password": "p" * 1025})
    assert_problem(r, 422, "validation", "password")


def test_login(srv, alice):
    a = login(srv, alice.email)
    assert a.user == alice.user
    assert a.access != alice.access and a.refresh != alice.refresh
    assert srv.req("GET", ME, a.access).status_code == 200
    # e-mail addresses are matched without regard to case
    b = login(srv, alice.email.upper())
    assert b.id == alice.id


@pytest.mark.parametrize("case", ["wrong-password", "unknown-email", "empty-password"])
def test_login_refused(srv, alice, case):
    body = {"wrong-password": {"email": None, "password": PASSWORD + "x"},
            "unknown-email": {"email": unique_email("nobody"), "password": PASSWORD},
            "empty-password": {"email": None, "password": ""}}[case]
    body["email"] = body["email"] or alice.email
    r = srv.req("POST", "/api/v1/auth/login", None, body)
    assert_problem(r, 401, "unauthorized")
    assert "access_token" not in r.text and "refresh_token" not in r.text


@pytest.mark.parametrize("body,param", [
    ({"password": PASSWORD}, "email"),
    ({"email": "someone@example.com"}, "password"),
    ({"email": "someone@example.com", "password": PASSWORD, "remember": True}, "remember"),
])
def test_login_validation(srv, body, param):
    assert_problem(srv.req("POST", "/api/v1/auth/login", None, body), 422, "validation", param)


# -- refresh tokens -------------------------------------------------------------

def test_refresh_rotates(srv, alice):
    a = login(srv, alice.email)
    seen = {a.refresh}
    for _ in range(3):
        r = refresh(srv, a.refresh)
        assert r.status_code == 200, r.text
        body = assert_token_pair(r.json())
        assert body["user"] == alice.user, body
        assert body["refresh_token"] not in seen, "refresh did not rotate"
        seen.add(body["refresh_token"])
        a.update(body)
        me = srv.req("GET", ME, a.access)
        assert me.status_code == 200 and me.json()["user"]["id"] == alice.id


def test_refresh_reuse_revokes_the_family(srv, alice):
    fam = login(srv, alice.email)
    other = login(srv, alice.email)  # a second, unrelated session
    r1 = fam.refresh
    r = refresh(srv, r1)
    assert r.status_code == 200, r.text
    r2 = r.json()["refresh_token"]
    r = refresh(srv, r2)
    assert r.status_code == 200, r.text
    r3 = r.json()["refresh_token"]

    # r1 is presented again: reuse is detected ...
    assert_problem(refresh(srv, r1), 401, "token-reused")
    # ... and the whole family is revoked, including the newest token
    assert_problem(refresh(srv, r3), 401, "unauthorized")
    assert refresh(srv, r2).status_code == 401
    # another log-in's session is untouched
    r = refresh(srv, other.refresh)
    assert r.status_code == 200, "an unrelated session was revoked: %s" % r.text


def test_refresh_reuse_of_the_latest_rotation(srv, alice):
    """Reusing the token just rotated (not the first one) is reuse as well."""
    fam = login(srv, alice.email)
    r = refresh(srv, fam.refresh)
    assert r.status_code == 200, r.text
    newest = r.json()["refresh_token"]
    assert_problem(refresh(srv, fam.refresh), 401, "token-reused")
    assert refresh(srv, newest).status_code == 401


def test_refresh_race(srv, alice):
    """The same refresh token presented five times at once: one rotation wins,
    the rest are reuse."""
    fam = login(srv, alice.email)

    def go(i, session):
        return session.post(srv.url("/api/v1/auth/refresh"), json={"refresh_token": fam.refresh},
                            timeout=HTTP_TIMEOUT)
    rs = parallel(5, go)
    statuses = sorted(r.status_code for r in rs)
    assert statuses == [200, 401, 401, 401, 401], statuses
    # the first loser finds the token spent and revokes the family; the later
    # ones may find the family revoked already
    types = sorted(r.json()["type"].rsplit("/", 1)[1] for r in rs if r.status_code == 401)
    assert "token-reused" in types and set(types) <= {"token-reused", "unauthorized"}, types
    winner = [r for r in rs if r.status_code == 200][0].json()["refresh_token"]
    assert refresh(srv, winner).status_code == 401, "reuse must revoke the winner's token too"


@pytest.mark.parametrize("token", ["garbage", "lpr_" + "A" * 43, "x" * 5000, "a.b.c"])
def test_refresh_garbage(srv, token):
    assert_problem(refresh(srv, token), 401, "unauthorized")


@pytest.mark.parametrize("body,param", [
    ({}, "refresh_token"),
    ({"refresh_token": 5}, "refresh_token"),
    ({"refresh_token": None}, "refresh_token"),
])
def test_refresh_validation(srv, body, param):
    assert_problem(srv.req("POST", "/api/v1/auth/refresh", None, body), 422, "validation", param)


def test_refresh_token_is_not_an_access_token(srv, alice):
    a = login(srv, alice.email)
    assert_unauthorized(srv.req("GET", ME, a.refresh))


def test_logout(srv, alice):
    a = login(srv, alice.email)
    other = login(srv, alice.email)
    r = logout(srv, a.refresh)
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert_problem(refresh(srv, a.refresh), 401, "unauthorized")
    assert logout(srv, a.refresh).status_code == 204  # twice is fine
    assert logout(srv, "lpr_never-issued").status_code == 204  # unknown tokens too
    assert refresh(srv, other.refresh).status_code == 200, "log-out ended another session"


# -- access tokens ----------------------------------------------------------------

def test_access_token_format(srv, alice, jwt_key):
    key, _ = jwt_key
    header, payload = jwt_decode(alice.access)
    assert header == {"alg": "HS256", "typ": "JWT", "kid": "t1"}, header
    assert payload["sub"] == alice.id, payload
    assert isinstance(payload["iat"], int) and isinstance(payload["exp"], int), payload
    assert payload["exp"] - payload["iat"] == 900, payload
    assert abs(payload["iat"] - time.time()) < 600, payload
    assert re.fullmatch(r"[0-9a-f]{16,64}", payload["jti"]), payload
    signing, _, sig = alice.access.rpartition(".")
    want = hmac.new(key, signing.encode(), hashlib.sha256).digest()
    assert b64u_decode(sig) == want, "not signed with the key from LINKPULSE_JWT_KEYS"


def test_forged_tokens(srv, alice, bob, jwt_key):
    key, _ = jwt_key
    # a token the tests sign with the configured key is accepted: key handling works
    good = jwt_encode(key, jwt_claims(bob.id))
    r = srv.req("GET", ME, good)
    assert r.status_code == 200, r.text
    assert r.json()["user"]["id"] == bob.id

    h, p, s = alice.access.split(".")
    _, payload = jwt_decode(alice.access)
    swapped = dict(payload, sub=bob.id)
    bad = {
        "expired": jwt_encode(key, jwt_claims(bob.id, ttl=600, iat=int(time.time()) - 3600)),
        "changed-payload": h + "." + b64u(_json(swapped)) + "." + s,
        "alg-none": b64u(_json({"alg": "none", "typ": "JWT"})) + "." + b64u(_json(swapped)) + ".",
        "alg-none-kid": b64u(_json({"alg": "none", "typ": "JWT", "kid": "t1"})) + "." +
        b64u(_json(swapped)) + ".",
        "alg-None-signed": jwt_encode(key, jwt_claims(bob.id), {"alg": "None", "typ": "JWT", "kid": "t1"}),
        "alg-HS512": jwt_encode(key, jwt_claims(bob.id), {"alg": "HS512", "typ": "JWT", "kid": "t1"}),
        "wrong-key": jwt_encode(jwt_keyring()[0], jwt_claims(bob.id)),
        "unknown-kid": jwt_encode(key, jwt_claims(bob.id), {"alg": "HS256", "typ": "JWT", "kid": "t9"}),
        "no-such-user": jwt_encode(key, jwt_claims("999999999999")),
        "signature-cut": alice.access[:-2],
        "two-segments": h + "." + p,
        "empty-signature": h + "." + p + ".",
        "garbage": "a.b.c",
    }
    for name, tok in bad.items():
        for via in ("bearer", "x-api-key"):
            r = srv.req("GET", ME, tok, via=via)
            assert r.status_code == 401, "%s token via %s accepted: %s %s" % (name, via, r.status_code,
                                                                            r.text[:300])
            assert_unauthorized(r)


def _json(obj):
    return json.dumps(obj, separators=(",", ":"))


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer "}, {"Authorization": "Basic dXNlcjpwYXNz"},
    {"X-Api-Key": ""}, {"Authorization": "Bearer lp_" + "a" * 38},
    {"X-Api-Key": "lpa_not-a-real-key"},
], ids=["none", "empty-bearer", "basic", "empty-x-api-key", "bad-checksum", "bad-operator"])
def test_missing_or_invalid_credentials(srv, headers):
    r = srv.req("GET", ME, None, headers=headers)
    assert_unauthorized(r)


# -- teams ------------------------------------------------------------------------

def test_team_crud(srv, alice):
    name = unique("Team")
    r = alice.call("POST", "/api/v1/teams", {"name": name})
    assert r.status_code == 201, r.text
    t = r.json()
    assert set(t) >= {"id", "name", "plan", "personal", "role", "created_at"}, t
    assert ID_RE.match(t["id"]) and isinstance(t["id"], str), t
    assert t["name"] == name and t["plan"] == "free" and t["personal"] is False and t["role"] == "admin", t
    assert TS_RE.match(t["created_at"]), t

    r = alice.call("GET", "/api/v1/teams")
    assert r.status_code == 200, r.text
    items = {x["id"]: x for x in r.json()["items"]}
    assert t["id"] in items and alice.team in items, items
    assert items[alice.team]["personal"] is True
    assert items[t["id"]]["role"] == "admin"

    r = alice.call("GET", "/api/v1/teams/" + t["id"])
    assert r.status_code == 200, r.text
    assert r.json() == t

    r = alice.call("PATCH", "/api/v1/teams/" + t["id"], {"name": name + "-renamed"})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == name + "-renamed" and r.json()["id"] == t["id"]
    assert alice.call("GET", "/api/v1/teams/" + t["id"]).json()["name"] == name + "-renamed"

    # the plan is the operator's to change
    r = alice.call("PATCH", "/api/v1/teams/" + t["id"], {"plan": "paid"})
    assert_problem(r, 403, "forbidden")
    assert alice.call("GET", "/api/v1/teams/" + t["id"]).json()["plan"] == "free"
    r = srv.req("PATCH", "/api/v1/teams/" + t["id"], srv.admin_key, {"plan": "paid"})
    assert r.status_code == 200, r.text
    assert r.json()["plan"] == "paid"
    assert alice.call("GET", "/api/v1/teams/" + t["id"]).json()["plan"] == "paid"
    me = alice.call("GET", ME).json()
    assert [x["plan"] for x in me["teams"] if x["id"] == t["id"]] == ["paid"], me


@pytest.mark.parametrize("body,param", [
    ({}, "name"),
    ({"name": ""}, "name"),
    ({"name": 5}, "name"),
    ({"name": "x", "plan": "paid"}, "plan"),
    ({"name": "x", "owner": "1"}, "owner"),
    ({"name": "t" * 129}, "name"),
    ({"name": "tab\there"}, "name"),
])
def test_team_create_validation(srv, alice, body, param):
    assert_problem(alice.call("POST", "/api/v1/teams", body), 422, "validation", param)


@pytest.mark.parametrize("body,param", [
    ({}, None),
    ({"name": ""}, "name"),
    ({"name": 5}, "name"),
    ({"name": "x", "members": []}, "members"),
])
def test_team_patch_validation(srv, alice, body, param):
    team = make_team(alice)
    r = alice.call("PATCH", "/api/v1/teams/" + team["id"], body)
    assert_problem(r, 422, "validation", param)
    assert alice.call("GET", "/api/v1/teams/" + team["id"]).json() == team


def test_team_plan_validation(srv, alice):
    team = make_team(alice)
    r = srv.req("PATCH", "/api/v1/teams/" + team["id"], srv.admin_key, {"plan": "gold"})
    assert_problem(r, 422, "validation", "plan")
    assert alice.call("GET", "/api/v1/teams/" + team["id"]).json()["plan"] == "free"


def test_jwt_key_rotation(server_factory):
    """LINKPULSE_JWT_KEYS: the first key signs, every key verifies; a token
    whose key was dropped is refused."""
    k1, line1 = jwt_keyring("old")
    k2, line2 = jwt_keyring("new")
    s = server_factory(name="rot", args=NO_LIMITS, env={"LINKPULSE_JWT_KEYS": line1})
    a = signup(s, unique_email("rot"))
    assert jwt_decode(a.access)[0]["kid"] == "old"
    s.stop()
    s.extra_env["LINKPULSE_JWT_KEYS"] = line2 + "," + line1
    s.start()
    assert s.req("GET", ME, a.access).status_code == 200, "a token of the second key must still verify"
    b = login(s, a.email)
    assert jwt_decode(b.access)[0]["kid"] == "new"
    assert s.req("GET", ME, jwt_encode(k1, jwt_claims(a.id), {"alg": "HS256", "typ": "JWT", "kid": "old"})
                 ).status_code == 200
    s.stop()
    s.extra_env["LINKPULSE_JWT_KEYS"] = line2
    s.start()
    assert_unauthorized(s.req("GET", ME, a.access))
    assert s.req("GET", ME, b.access).status_code == 200
    # the refresh token survives a key rotation: it is not a JWT
    r = refresh(s, a.refresh)
    assert r.status_code == 200, r.text
    assert jwt_decode(r.json()["access_token"])[0]["kid"] == "new"


def test_team_create_with_api_key_forbidden(srv, alice):
    k = make_key(alice, "admin")
    r = srv.req("POST", "/api/v1/teams", k["key"], {"name": unique("keyteam")})
    assert_problem(r, 403, "forbidden")
    names = [t["name"] for t in alice.call("GET", "/api/v1/teams").json()["items"]]
    assert not any(n.startswith("keyteam") for n in names), names


def test_unknown_team_is_404(srv, alice):
    for path in ("/api/v1/teams/999999999", "/api/v1/teams/999999999/members"):
        assert_problem(alice.call("GET", path), 404, "not-found")
    assert_problem(alice.call("GET", "/api/v1/links", params={"team_id": "999999999"}), 404, "not-found")


# -- members ------------------------------------------------------------------------

def members(acct, team):
    r = acct.call("GET", "/api/v1/teams/%s/members" % team)
    assert r.status_code == 200, r.text
    return {m["user_id"]: m for m in r.json()["items"]}


def test_members_and_roles(srv, alice, bob, carol):
    team = make_team(alice)["id"]
    base = "/api/v1/teams/%s/members" % team

    m = add_member(alice, team, bob.email.upper(), "viewer")  # e-mail matched without case
    assert set(m) >= {"user_id", "email", "name", "role", "since"}, m
    assert m["user_id"] == bob.id and m["email"] == bob.email and m["name"] == "Bob", m
    assert m["role"] == "viewer" and TS_RE.match(m["since"]), m

    assert_problem(alice.call("POST", base, {"email": unique_email("ghost"), "role": "viewer"}),
                   404, "not-found")
    assert_problem(alice.call("POST", base, {"email": carol.email, "role": "owner"}), 422,
                   "validation", "role")
    assert_problem(alice.call("POST", base, {"email": carol.email}), 422, "validation", "role")
    assert_problem(alice.call("POST", base, {"role": "viewer"}), 422, "validation", "email")
    assert_problem(alice.call("POST", base, {"email": carol.email, "role": "viewer", "x": 1}),
                   422, "validation", "x")

    # bob sees the team as a viewer, and may read but not change it
    me = bob.call("GET", ME).json()
    assert [t["role"] for t in me["teams"] if t["id"] == team] == ["viewer"], me
    assert bob.call("GET", "/api/v1/teams/" + team).json()["role"] == "viewer"
    ms = members(bob, team)
    assert ms[alice.id]["role"] == "admin" and ms[bob.id]["role"] == "viewer", ms
    assert_problem(bob.call("POST", base, {"email": carol.email, "role": "admin"}), 403, "forbidden")
    assert_problem(bob.call("PATCH", "%s/%s" % (base, bob.id), {"role": "admin"}), 403, "forbidden")
    assert_problem(bob.call("PATCH", "%s/%s" % (base, alice.id), {"role": "viewer"}), 403, "forbidden")
    assert_problem(bob.call("DELETE", "%s/%s" % (base, alice.id)), 403, "forbidden")
    assert_problem(bob.call("PATCH", "/api/v1/teams/" + team, {"name": "bob's"}), 403, "forbidden")
    assert carol.id not in members(alice, team)

    # promote
    r = alice.call("PATCH", "%s/%s" % (base, bob.id), {"role": "editor"})
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "editor" and r.json()["user_id"] == bob.id
    assert members(alice, team)[bob.id]["role"] == "editor"
    assert_problem(alice.call("PATCH", "%s/%s" % (base, bob.id), {"role": "boss"}), 422,
                   "validation", "role")
    assert_problem(alice.call("PATCH", "%s/%s" % (base, carol.id), {"role": "viewer"}), 404, "not-found")
    assert_problem(alice.call("DELETE", "%s/%s" % (base, carol.id)), 404, "not-found")

    # removing a member
    add_member(alice, team, carol.email, "editor")
    r = alice.call("DELETE", "%s/%s" % (base, carol.id))
    assert r.status_code == 204, r.text
    assert carol.id not in members(alice, team)
    assert_problem(carol.call("GET", "/api/v1/teams/" + team), 404, "not-found")


def test_last_admin(srv, alice, bob, carol):
    team = make_team(alice)["id"]
    base = "/api/v1/teams/%s/members" % team
    add_member(alice, team, bob.email, "editor")

    # the only admin can neither step down nor leave
    assert_problem(alice.call("PATCH", "%s/%s" % (base, alice.id), {"role": "editor"}), 409, "last-admin")
    assert_problem(alice.call("PATCH", "%s/%s" % (base, alice.id), {"role": "viewer"}), 409, "last-admin")
    assert_problem(alice.call("DELETE", "%s/%s" % (base, alice.id)), 409, "last-admin")
    assert members(alice, team)[alice.id]["role"] == "admin"

    # nor hand herself a lesser role by re-adding herself
    r = alice.call("POST", base, {"email": alice.email, "role": "viewer"})
    assert_problem(r, 409, "last-admin")
    assert members(alice, team)[alice.id]["role"] == "admin"

    # with a second admin she can
    assert alice.call("PATCH", "%s/%s" % (base, bob.id), {"role": "admin"}).status_code == 200
    r = alice.call("PATCH", "%s/%s" % (base, alice.id), {"role": "editor"})
    assert r.status_code == 200, r.text
    r = alice.call("DELETE", "%s/%s" % (base, alice.id))  # a member may leave
    assert r.status_code == 204, r.text
    assert_problem(alice.call("GET", "/api/v1/teams/" + team), 404, "not-found")
    assert team not in [t["id"] for t in alice.call("GET", "/api/v1/teams").json()["items"]]

    # now bob is the last admin
    assert_problem(bob.call("DELETE", "%s/%s" % (base, bob.id)), 409, "last-admin")
    assert_problem(bob.call("PATCH", "%s/%s" % (base, bob.id), {"role": "viewer"}), 409, "last-admin")

    # a viewer may leave by themself
    add_member(bob, team, carol.email, "viewer")
    r = carol.call("DELETE", "%s/%s" % (base, carol.id))
    assert r.status_code == 204, r.text
    assert set(members(bob, team)) == {bob.id}

    # the personal team: its owner is its only admin
    pbase = "/api/v1/teams/%s/members" % carol.team
    assert_problem(carol.call("DELETE", "%s/%s" % (pbase, carol.id)), 409, "last-admin")
    assert_problem(carol.call("PATCH", "%s/%s" % (pbase, carol.id), {"role": "editor"}), 409, "last-admin")


@pytest.mark.parametrize("how", ["demote", "leave"])
def test_last_admin_race(srv, alice, bob, how):
    """Two admins step down (or leave) at the same moment: one must stay."""
    for _ in range(4):
        team = make_team(alice)["id"]
        add_member(alice, team, bob.email, "admin")
        who = [alice, bob]

        def go(i, session):
            path = srv.url("/api/v1/teams/%s/members/%s" % (team, who[i].id))
            h = {"Authorization": "Bearer " + who[i].access}
            if how == "demote":
                return session.patch(path, json={"role": "viewer"}, headers=h, timeout=HTTP_TIMEOUT)
            return session.delete(path, headers=h, timeout=HTTP_TIMEOUT)
        rs = parallel(2, go)
        ok = 200 if how == "demote" else 204
        statuses = sorted(r.status_code for r in rs)
        assert statuses == [ok, 409], statuses
        for r in rs:
            if r.status_code == 409:
                assert_problem(r, 409, "last-admin")
        stay = [w for w, r in zip(who, rs) if r.status_code == 409][0]
        ms = members(stay, team)
        assert [m["role"] for m in ms.values()].count("admin") == 1, ms


# -- API keys -----------------------------------------------------------------------

KEY_FIELDS = {"id", "prefix", "name", "role", "team_id", "created_by", "created_at", "expires_at",
              "last_used_at", "revoked_at"}


def list_keys(acct, team=None):
    r = acct.call("GET", "/api/v1/api-keys", params={"team_id": team} if team else None)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    for k in items:
        assert "key" not in k, "listing shows the secret: %s" % k
    return {k["id"]: k for k in items}


def test_api_key_lifecycle(srv, alice):
    r = alice.call("POST", "/api/v1/api-keys", {"name": "ci deploy", "role": "editor"})
    assert r.status_code == 201, r.text
    k = r.json()
    assert set(k) == KEY_FIELDS | {"key"}, k
    secret = k["key"]
    assert APIKEY_RE.match(secret) and len(secret) == 41, secret
    assert secret.startswith(k["prefix"]) and len(k["prefix"]) < len(secret) - 8, k
    assert ID_RE.match(k["id"]), k
    assert k["name"] == "ci deploy" and k["role"] == "editor" and k["team_id"] == alice.team, k
    assert k["created_by"] == alice.id, k
    assert TS_RE.match(k["created_at"]), k
    assert k["expires_at"] is None and k["last_used_at"] is None and k["revoked_at"] is None, k

    listed = list_keys(alice)[k["id"]]
    assert {f: listed[f] for f in KEY_FIELDS if f != "last_used_at"} == \
        {f: k[f] for f in KEY_FIELDS if f != "last_used_at"}

    # the key acts as an editor of alice's personal team
    link = create_link(srv, secret, title="by key")
    r = alice.call("GET", "/api/v1/links/" + link["code"])
    assert r.status_code == 200, "a key's link must land in its team: %s" % r.text
    r = srv.req("GET", "/api/v1/links/" + link["code"], secret, via="x-api-key")
    assert r.status_code == 200, r.text

    # its first use sets last_used_at
    def used():
        v = list_keys(alice)[k["id"]]["last_used_at"]
        return v
    last = wait_until(used, timeout=10, what="last_used_at set after use")
    assert TS_RE.match(last), last
    assert abs((parse_ts(last) - datetime.now(timezone.utc)).total_seconds()) < 120, last

    # revoke
    r = alice.call("DELETE", "/api/v1/api-keys/" + k["id"])
    assert r.status_code == 204, r.text
    assert r.content == b""
    for via in ("bearer", "x-api-key"):
        assert_unauthorized(srv.req("GET", ME, secret, via=via))
        assert_unauthorized(srv.req("GET", "/api/v1/links/" + link["code"], secret, via=via))
    assert_problem(alice.call("DELETE", "/api/v1/api-keys/" + k["id"]), 404, "not-found")
    assert_problem(alice.call("DELETE", "/api/v1/api-keys/999999999"), 404, "not-found")


def test_api_key_checksum(srv, alice):
    k = make_key(alice, "viewer")["key"]
    assert srv.req("GET", ME, k).status_code == 200
    last = k[-1]
    flipped = k[:-1] + ("A" if last != "A" else "B")
    mid = k[:10] + ("x" if k[10] != "x" else "y") + k[11:]
    for bad in (flipped, mid, k[:-1], k + "A", k.upper() if k.upper() != k else k.lower()):
        assert_unauthorized(srv.req("GET", ME, bad))


def test_api_key_roles(srv, alice, bob):
    team = make_team(alice)["id"]
    add_member(alice, team, bob.email, "editor")
    viewer = make_key(alice, "viewer", team_id=team)
    editor = make_key(alice, "editor", team_id=team)
    admin = make_key(alice, "admin", team_id=team)
    assert viewer["team_id"] == editor["team_id"] == team

    # viewer key: reads only
    assert srv.req("GET", "/api/v1/links", viewer["key"]).status_code == 200
    assert_problem(srv.req("POST", "/api/v1/links", viewer["key"], {"url": "https://example.com/v"}),
                   403, "forbidden")
    # editor key: writes links, is no team admin
    link = create_link(srv, editor["key"])
    assert srv.req("GET", "/api/v1/links/" + link["code"], viewer["key"]).status_code == 200
    assert_problem(srv.req("PATCH", "/api/v1/links/" + link["code"], viewer["key"], {"title": "v"}),
                   403, "forbidden")
    assert_problem(srv.req("DELETE", "/api/v1/links/" + link["code"], viewer["key"]), 403, "forbidden")
    assert srv.req("PATCH", "/api/v1/links/" + link["code"], editor["key"], {"title": "e"}).status_code == 200
    assert_problem(srv.req("GET", "/api/v1/api-keys", editor["key"]), 403, "forbidden")
    assert_problem(srv.req("POST", "/api/v1/api-keys", editor["key"], {"name": "x", "role": "viewer"}),
                   403, "forbidden")
    # admin key: lists the team's keys
    r = srv.req("GET", "/api/v1/api-keys", admin["key"])
    assert r.status_code == 200, r.text
    assert {viewer["id"], editor["id"], admin["id"]} <= {x["id"] for x in r.json()["items"]}
    assert all("key" not in x for x in r.json()["items"])
    # a key's teams are its own team; it cannot change the plan
    r = srv.req("GET", "/api/v1/teams", admin["key"])
    assert r.status_code == 200, r.text
    assert [t["id"] for t in r.json()["items"]] == [team], r.json()
    assert_problem(srv.req("PATCH", "/api/v1/teams/" + team, admin["key"], {"plan": "paid"}), 403, "forbidden")
    assert alice.call("GET", "/api/v1/teams/" + team).json()["plan"] == "free"
    # a key cannot reach another team, not even its creator's personal team
    for k in (viewer, editor, admin):
        assert_problem(srv.req("GET", "/api/v1/links", k["key"], params={"team_id": alice.team}),
                       404, "not-found")
        r = srv.req("POST", "/api/v1/links", k["key"], {"url": "https://example.com/x", "team_id": alice.team})
        assert_problem(r, 404, "not-found")

    # a non-admin member can neither create nor list keys
    assert_problem(bob.call("POST", "/api/v1/api-keys", {"name": "b", "role": "viewer", "team_id": team}),
                   403, "forbidden")
    assert_problem(bob.call("GET", "/api/v1/api-keys", params={"team_id": team}), 403, "forbidden")


def test_api_key_revoke_by_creator(srv, alice, bob, carol):
    team = make_team(alice)["id"]
    add_member(alice, team, bob.email, "admin")
    add_member(alice, team, carol.email, "admin")
    mine = make_key(alice, "viewer", team_id=team)
    bobs = make_key(bob, "viewer", team_id=team)
    carols = make_key(carol, "viewer", team_id=team)
    assert bobs["created_by"] == bob.id
    # alice steps down to editor: she may still revoke the key she made
    assert alice.call("PATCH", "/api/v1/teams/%s/members/%s" % (team, alice.id),
                      {"role": "editor"}).status_code == 200
    assert_problem(alice.call("DELETE", "/api/v1/api-keys/" + bobs["id"], params={"team_id": team}),
                   403, "forbidden")
    r = alice.call("DELETE", "/api/v1/api-keys/" + mine["id"], params={"team_id": team})
    assert r.status_code == 204, r.text
    assert_unauthorized(srv.req("GET", ME, mine["key"]))
    assert srv.req("GET", ME, bobs["key"]).status_code == 200
    # an admin revokes anyone's key
    r = bob.call("DELETE", "/api/v1/api-keys/" + carols["id"], params={"team_id": team})
    assert r.status_code == 204, r.text
    assert_unauthorized(srv.req("GET", ME, carols["key"]))
    # without ?team_id the key is looked for in the caller's personal team: not there
    assert_problem(bob.call("DELETE", "/api/v1/api-keys/" + bobs["id"]), 404, "not-found")


@pytest.mark.parametrize("body,param", [
    ({"role": "viewer"}, "name"),
    ({"name": "k"}, "role"),
    ({"name": "k", "role": "owner"}, "role"),
    ({"name": "k", "role": "viewer", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
    ({"name": "k", "role": "viewer", "expires_at": "tomorrow"}, "expires_at"),
    ({"name": "k", "role": "viewer", "scopes": ["links"]}, "scopes"),
    ({"name": "k", "role": "viewer", "team_id": "abc"}, "team_id"),
])
def test_api_key_validation(srv, alice, body, param):
    assert_problem(alice.call("POST", "/api/v1/api-keys", body), 422, "validation", param)


def test_api_key_expires(srv, alice):
    k = make_key(alice, "viewer", expires_at=utc_in(3))
    assert k["expires_at"] is not None and TS_RE.match(k["expires_at"])
    assert srv.req("GET", ME, k["key"]).status_code == 200
    wait_until(lambda: srv.req("GET", ME, k["key"]).status_code == 401, timeout=15,
               what="expired key refused")
    assert_unauthorized(srv.req("GET", ME, k["key"]))


# -- the operator CLI ---------------------------------------------------------------

def test_cli_user_create(srv):
    email = unique_email("cli")
    r = srv.cli("user", "create", "--email", email, "--name", "Cli User",
                env={"LINKPULSE_PASSWORD": "cli password 123"})
    m = re.match(r"^user (\d+) created", r.stdout)
    assert m, r.stdout
    assert "cli password 123" not in r.stdout + r.stderr
    a = login(srv, email, "cli password 123")
    assert a.id == m.group(1) and a.user["name"] == "Cli User", (a.user, r.stdout)

    # the password may come on stdin
    email2 = unique_email("cli")
    r = srv.cli("user", "create", "--email", email2, input="stdin password 456\n")
    m2 = re.match(r"^user (\d+) created", r.stdout)
    assert m2, r.stdout
    assert login(srv, email2, "stdin password 456").id == m2.group(1)

    out = srv.cli("user", "list").stdout
    assert email in out and email2 in out, out

    # refusals: short password, bad e-mail, taken e-mail
    r = srv.cli("user", "create", "--email", unique_email("cli"), env={"LINKPULSE_PASSWORD": "short"},
                check=False)
    assert r.returncode != 0, r.stdout
    r = srv.cli("user", "create", "--email", "no-at-sign", env={"LINKPULSE_PASSWORD": PASSWORD}, check=False)
    assert r.returncode != 0, r.stdout
    r = srv.cli("user", "create", "--email", email.upper(), env={"LINKPULSE_PASSWORD": PASSWORD}, check=False)
    assert r.returncode != 0, r.stdout


def test_cli_user_disable(srv):
    dave = signup(srv, unique_email("dave"))
    assert dave.call("GET", ME).status_code == 200
    srv.cli("user", "disable", dave.email)
    assert_unauthorized(dave.call("GET", ME))
    assert_unauthorized(dave.call("GET", "/api/v1/links"))
    assert refresh(srv, dave.refresh).status_code == 401
    r = srv.req("POST", "/api/v1/auth/login", None, {"email": dave.email, "password": PASSWORD})
    assert_problem(r, 401, "unauthorized")
    r = srv.cli("user", "disable", unique_email("nobody"), check=False)
    assert r.returncode != 0, r.stdout


def test_cli_set_plan(srv, alice):
    team = make_team(alice)["id"]
    link = create_link(srv, alice.access, team_id=team)
    assert link["expires_at"] is not None, "free links expire by default: %s" % link

    srv.cli("team", "set-plan", team, "paid")
    assert alice.call("GET", "/api/v1/teams/" + team).json()["plan"] == "paid"
    link = create_link(srv, alice.access, team_id=team)
    assert link["expires_at"] is None, "paid links do not expire by default: %s" % link

    srv.cli("team", "set-plan", team, "free")
    assert alice.call("GET", "/api/v1/teams/" + team).json()["plan"] == "free"
    link = create_link(srv, alice.access, team_id=team)
    assert link["expires_at"] is not None, link

    assert srv.cli("team", "set-plan", team, "gold", check=False).returncode != 0
    assert srv.cli("team", "set-plan", "999999999", "paid", check=False).returncode != 0


def test_cli_keys(srv, alice):
    r = srv.cli("key", "create", "--team", alice.team, "--role", "viewer", "--name", "from-cli")
    secret = r.stdout.strip()
    assert APIKEY_RE.match(secret), r.stdout
    me = srv.req("GET", ME, secret)
    assert me.status_code == 200, me.text
    assert me.json()["kind"] == "api_key" and me.json()["role"] == "viewer"
    assert me.json()["team_id"] == alice.team
    listed = [k for k in list_keys(alice).values() if k["name"] == "from-cli"]
    assert len(listed) == 1 and listed[0]["id"] == me.json()["key_id"], listed
    assert secret.startswith(listed[0]["prefix"])

    # revoke by id
    srv.cli("key", "revoke", listed[0]["id"])
    assert_unauthorized(srv.req("GET", ME, secret))

    # revoke by prefix
    secret2 = srv.cli("key", "create", "--team", alice.team, "--role", "editor").stdout.strip()
    assert APIKEY_RE.match(secret2)
    assert srv.req("GET", ME, secret2).json()["role"] == "editor"
    prefix = [k for k in list_keys(alice).values() if secret2.startswith(k["prefix"])]
    assert len(prefix) == 1, prefix
    srv.cli("key", "revoke", prefix[0]["prefix"])
    assert_unauthorized(srv.req("GET", ME, secret2))

    assert srv.cli("key", "create", "--team", alice.team, "--role", "owner", check=False).returncode != 0
    assert srv.cli("key", "create", "--team", "999999999", "--role", "viewer", check=False).returncode != 0
    assert srv.cli("key", "revoke", "999999999", check=False).returncode != 0


def test_remembered_keys_and_plans_follow_changes_at_once(srv, alice):
    """Each worker remembers the API keys and teams it looked up. A change
    made through the API, or by a CLI command (another process), is seen by
    the very next request on every worker: a revoked key is refused, a new
    plan applies."""
    team = make_team(alice)["id"]
    k1, k2 = make_key(alice, "admin", team_id=team), make_key(alice, "admin", team_id=team)

    # each change right after the calls that remembered what it changes, and
    # made by a call or command that remembers no key of its own
    on_every_worker(srv, lambda: assert_expiry(create_link(srv, k1["key"]), free=True))
    srv.cli("team", "set-plan", team, "paid")
    on_every_worker(srv, lambda: assert_expiry(create_link(srv, k1["key"]), free=False))
    assert alice.call("DELETE", "/api/v1/api-keys/" + k1["id"], params={"team_id": team}).status_code == 204
    on_every_worker(srv, lambda: assert_unauthorized(srv.req("GET", ME, k1["key"])))
    on_every_worker(srv, lambda: assert_ok(srv.req("GET", ME, k2["key"])))
    srv.cli("key", "revoke", k2["id"])
    on_every_worker(srv, lambda: assert_unauthorized(srv.req("GET", ME, k2["key"])))


def test_remembered_users_and_members_follow_changes_at_once(srv, alice):
    """The same for a signed-in user: a changed role, a removed membership
    and a disabled user (a CLI command) apply to the very next request on
    every worker, although the access token stays valid until it expires."""
    dave = signup(srv, unique_email("dave"))
    team = make_team(alice)["id"]
    add_member(alice, team, dave.email, "editor")
    links = "/api/v1/links"

    on_every_worker(srv, lambda: create_link(srv, dave.access, params={"team_id": team}))
    # changed with the operator key, whose call remembers no membership of its
    # own that could take dave's memo's slot
    member = "/api/v1/teams/%s/members/%s" % (team, dave.id)
    assert srv.req("PATCH", member, srv.admin_key, {"role": "viewer"}).status_code == 200
    on_every_worker(srv, lambda: assert_problem(dave.call("POST", links, {"url": "https://example.com/v"},
                                                     params={"team_id": team}), 403, "forbidden"))
    assert srv.req("DELETE", member, srv.admin_key).status_code == 204
    on_every_worker(srv, lambda: assert_problem(dave.call("GET", links, params={"team_id": team}), 404, "not-found"))
    on_every_worker(srv, lambda: assert_ok(dave.call("GET", ME)))
    srv.cli("user", "disable", dave.email)
    on_every_worker(srv, lambda: assert_unauthorized(dave.call("GET", ME)))


def test_without_the_shared_counter_every_call_looks_its_key_up(server_factory):
    """When access.version cannot be mapped, the workers remember nothing:
    a key revoked by a CLI command is still refused at once."""
    srv = server_factory(start=False)
    (srv.data / "access.version").mkdir()
    srv.start()
    assert "cannot map" in srv.stderr()
    secret = srv.cli("key", "create", "--operator").stdout.strip()
    on_every_worker(srv, lambda: assert_ok(srv.req("GET", ME, secret)))
    srv.cli("key", "revoke", srv.req("GET", ME, secret).json()["key_id"])
    on_every_worker(srv, lambda: assert_unauthorized(srv.req("GET", ME, secret)))


def test_a_store_that_cannot_be_read_answers_503(server_factory):
    """A lookup that fails in the store is a 503, never a 401 or 404: a
    client must not take a store fault for a bad key (and throw it away) or
    for a team, member, key or link that is gone. The fault is a table
    renamed under the running server by another connection; once it is put
    back, the same calls work again."""
    srv = server_factory(args=["--webhook-allow-private"])
    alice = signup(srv)
    team = make_team(alice)["id"]
    key = make_key(alice, "admin", team_id=team)
    code = create_link(srv, key["key"])["code"]
    hook = srv.req("POST", "/api/v1/webhooks", key["key"], {"url": "http://127.0.0.1:9/", "events": ["link.created"]})
    assert hook.status_code == 201, hook.text
    db = sqlite3.connect(str(Path(srv.data) / "linkpulse.db"), timeout=10)

    def without(table, method, path, cred, ok, body=None, warm=None):
        if warm:  # a GET makes the workers remember the caller, which is not read again
            on_every_worker(srv, lambda: assert_ok(srv.req("GET", warm, cred)))
        else:  # a CLI command that changes access makes every worker forget it
            srv.cli("key", "create", "--operator")
        db.execute("ALTER TABLE %s RENAME TO %s_renamed" % (table, table))
        try:
            on_every_worker(srv, lambda: assert_problem(srv.req(method, path, cred, body), 503, "unavailable"), 8)
        finally:
            db.execute("ALTER TABLE %s_renamed RENAME TO %s" % (table, table))
        assert srv.req(method, path, cred, body).status_code == ok

    try:
        links = "/api/v1/links?team_id=" + team
        without("api_keys", "GET", ME, key["key"], 200)
        without("api_keys", "GET", ME, "no-such-key-0123456789abcdef", 401)
        without("api_keys", "DELETE", "/api/v1/api-keys/%s?team_id=%s" % (key["id"], team), alice.access, 204)
        without("users", "GET", ME, alice.access, 200)
        without("memberships", "GET", ME, alice.access, 200, warm=ME)  # the list of teams
        without("memberships", "GET", links, alice.access, 200)
        members = "/api/v1/teams/%s/members" % team
        without("memberships", "PATCH", members + "/" + alice.id, alice.access, 200, {"role": "admin"}, warm=members)
        without("teams", "GET", "/api/v1/teams/" + team, alice.access, 200, warm=members)
        without("teams", "PATCH", "/api/v1/teams/" + team, alice.access, 200, {"name": "renamed"}, warm=members)
        without("links", "GET", "/api/v1/links/%s/stats?team_id=%s" % (code, team), alice.access, 200)
        without("webhooks", "GET", "/api/v1/webhooks/%s?team_id=%s" % (hook.json()["id"], team), alice.access, 200)
    finally:
        db.close()


def assert_ok(r):
    assert r.status_code == 200, r.text


def assert_expiry(link, free):
    """Free teams' links expire by default, paid teams' do not."""
    assert (link["expires_at"] is not None) == free, link


def test_cli_operator_key(srv, alice):
    secret = srv.cli("key", "create", "--operator").stdout.strip()
    assert secret and "\n" not in secret and " " not in secret, secret
    me = srv.req("GET", ME, secret)
    assert me.status_code == 200, me.text
    assert me.json()["kind"] == "operator" and me.json()["team_id"] == "1", me.json()
    # super-user for every team
    r = srv.req("GET", "/api/v1/teams/" + alice.team, secret)
    assert r.status_code == 200, r.text
    assert srv.req("GET", "/api/v1/links", secret, params={"team_id": alice.team}).status_code == 200
    srv.cli("key", "revoke", me.json()["key_id"])
    assert_unauthorized(srv.req("GET", ME, secret))


def test_cli_routes(linkpulse_bin):
    rs = routes()
    seen = set()
    for r in rs:
        assert set(r) == {"method", "path", "auth"}, r
        assert r["auth"] in ("required", "public", "anonymous-ok"), r
        assert r["path"].startswith("/api/"), r
        assert (r["method"], r["path"]) not in seen, "listed twice: %s" % r
        seen.add((r["method"], r["path"]))
    auth = {(r["method"], r["path"]): r["auth"] for r in rs}
    want = {
        ("POST", "/api/v1/auth/signup"): "public",
        ("POST", "/api/v1/auth/login"): "public",
        ("POST", "/api/v1/auth/refresh"): "public",
        ("POST", "/api/v1/auth/logout"): "public",
        ("GET", "/api/v1/me"): "required",
        ("POST", "/api/v1/links"): "anonymous-ok",
        ("GET", "/api/v1/links"): "required",
        ("GET", "/api/v1/links/{code}"): "required",
        ("PATCH", "/api/v1/links/{code}"): "required",
        ("DELETE", "/api/v1/links/{code}"): "required",
        ("POST", "/api/v1/teams"): "required",
        ("GET", "/api/v1/teams"): "required",
        ("GET", "/api/v1/teams/{id}"): "required",
        ("PATCH", "/api/v1/teams/{id}"): "required",
        ("GET", "/api/v1/teams/{id}/members"): "required",
        ("POST", "/api/v1/teams/{id}/members"): "required",
        ("PATCH", "/api/v1/teams/{id}/members/{user_id}"): "required",
        ("DELETE", "/api/v1/teams/{id}/members/{user_id}"): "required",
        ("GET", "/api/v1/api-keys"): "required",
        ("POST", "/api/v1/api-keys"): "required",
        ("DELETE", "/api/v1/api-keys/{id}"): "required",
    }
    for route, a in want.items():
        assert auth.get(route) == a, "%s %s: %r (want %r)" % (route + (auth.get(route), a))


# -- secrets never reach the logs ---------------------------------------------------

def test_secrets_not_logged(server_factory):
    jwt_key, jwt_env = jwt_keyring("s1")
    srv = server_factory(name="secrets", args=NO_LIMITS, env={"LINKPULSE_JWT_KEYS": jwt_env})
    secrets_seen = {"operator key": srv.admin_key, "JWT signing key": jwt_env.split(":", 1)[1]}
    pw = "Sup3r secret passphrase " + unique("pw")
    wrong = "Wr0ng secret passphrase " + unique("pw")

    a = signup(srv, unique_email("sec"), password=pw)
    secrets_seen.update({"password": pw, "signup access": a.access, "signup refresh": a.refresh})
    assert srv.req("POST", "/api/v1/auth/login", None,
                   {"email": a.email, "password": wrong}).status_code == 401
    secrets_seen["wrong password"] = wrong
    b = login(srv, a.email, pw)
    secrets_seen.update({"login access": b.access, "login refresh": b.refresh})
    r = refresh(srv, b.refresh)
    assert r.status_code == 200
    secrets_seen.update({"rotated access": r.json()["access_token"],
                         "rotated refresh": r.json()["refresh_token"]})
    assert refresh(srv, b.refresh).status_code == 401  # reuse: logged as an event, not the token
    assert a.call("GET", ME).status_code == 200
    assert srv.req("GET", ME, a.access, via="x-api-key").status_code == 200
    k = make_key(a, "editor")
    secrets_seen["api key"] = k["key"]
    create_link(srv, k["key"])
    assert srv.req("GET", ME, k["key"], via="x-api-key").status_code == 200
    tampered = k["key"][:-1] + ("Z" if k["key"][-1] != "Z" else "Y")  # always differs from the real key
    assert srv.req("GET", ME, tampered).status_code == 401
    assert srv.req("GET", ME, srv.admin_key).status_code == 200
    op = srv.cli("key", "create", "--operator").stdout.strip()
    secrets_seen["cli operator key"] = op
    assert srv.req("GET", "/api/v1/links", op).status_code == 200
    # secrets in a query string are not logged either
    srv.req("GET", "/api/v1/links", None, params={"access_token": a.access, "api_key": k["key"]})
    assert logout(srv, a.refresh).status_code == 204
    assert srv.req("POST", "/api/v1/auth/signup", None,
                   {"email": "bad", "password": pw + "-signup-fail"}).status_code == 422
    secrets_seen["failed signup password"] = pw + "-signup-fail"
    assert srv.req("POST", "/api/v1/auth/refresh", None,
                   {"refresh_token": a.refresh, "oops": 1}).status_code == 422
    metrics = srv.metrics()
    rc = srv.stop(check=False)  # the logs are checked even if the exit is unclean

    # what the tokens are made of: a JWT's signature alone, a key without its prefix
    needles = {}
    for what, s in secrets_seen.items():
        needles[what] = s
        if s.count(".") == 2:
            needles[what + " (signature)"] = s.rsplit(".", 1)[1]
            needles[what + " (payload)"] = s.split(".")[1]
        elif "_" in s[:5]:
            needles[what + " (body)"] = s.split("_", 1)[1]
    logs = {"access log": "\n".join(srv.access_lines()), "stderr": srv.stderr(),
            "stdout": srv.stdout(), "/metrics": metrics}
    assert logs["access log"], "the access log is empty: nothing was checked"
    leaks = ["%s in %s" % (what, where) for where, text in logs.items()
             for what, n in needles.items() if n in text]
    assert not leaks, "secrets leaked: %s" % leaks

    # stored hashed, not in plain text
    raw = [(p, p.read_bytes()) for p in srv.data.rglob("*") if p.is_file()]
    stored = ["%s in %s" % (what, p.name) for p, data in raw for what, s in secrets_seen.items()
              if "access" not in what and s.encode() in data]
    assert not stored, "secrets stored in plain text: %s" % stored
    assert rc == 0, "linkpulse exited %s after SIGTERM\nstderr:\n%s" % (rc, srv.stderr()[-4000:])
