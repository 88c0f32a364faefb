"""The authorization matrix: every API route, every kind of caller.

The routes come from `linkpulse routes`, so an endpoint added later is
covered too, and the module fails if it cannot fill one's path parameters
(see FILL) or does not know what to send it (see KNOWN).

Team A has an admin, an editor and a viewer (users), one API key per role,
a link and a spare key. Team B has an admin, a member, a link and a key.
- Team A's principals calling routes filled with team B's resources get 404:
  never success, never 403 (which would tell B's resources exist).
- Bad credentials (none, expired, tampered, signed with another key, alg
  none, revoked key, ...) get 401 with the Bearer challenge on every route.
- ?team_id=B (or "team_id": B in a body) is 404 for all of team A.
- A's viewer gets 403 for writes and 200 for reads on A's own resources.
- Finally neither team changed."""

import json
import secrets
import time
from types import SimpleNamespace

import pytest

from conftest import (NO_LIMITS, PROBLEM_BASE, add_member, b64u, create_link, jwt_claims,
                      jwt_decode, jwt_encode, jwt_keyring, make_key, make_team, routes, signup,
                      unique, unique_email, utc_in, wait_until)

# Path pattern -> the path parameters, taken from a team's resources (R).
FILL = {
    "/api/v1/links/{code}": lambda R: {"code": R.link},
    "/api/v1/links/{code}/stats": lambda R: {"code": R.link},
    "/api/v1/links/{code}/visits": lambda R: {"code": R.link},
    "/api/v1/links/{code}/live": lambda R: {"code": R.link},
    # redirect rules (issue 4)
    "/api/v1/links/{code}/rules": lambda R: {"code": R.link},
    "/api/v1/teams/{id}": lambda R: {"id": R.team},
    "/api/v1/teams/{id}/members": lambda R: {"id": R.team},
    "/api/v1/teams/{id}/members/{user_id}": lambda R: {"id": R.team, "user_id": R.member},
    "/api/v1/api-keys/{id}": lambda R: {"id": R.key},
    "/api/v1/webhooks/{id}": lambda R: {"id": R.hook},
    "/api/v1/webhooks/{id}/deliveries": lambda R: {"id": R.hook},
    "/api/v1/webhooks/{id}/deliveries/{delivery_id}/retry": lambda R: {"id": R.hook, "delivery_id": R.delivery},
    # QR codes (issue 4)
    "/api/v1/links/{code}/qr": lambda R: {"code": R.link},
    # tags (issue 4)
    "/api/v1/tags/{name}": lambda R: {"name": R.tag},
    # domains (issue 4)
    "/api/v1/domains/{hostname}": lambda R: {"hostname": R.domain},
}

# Every (method, path) the matrix knows, with the body it sends (None: none).
# "EMAIL" is replaced by the e-mail of a team A user (an attempt to join B).
KNOWN = {
    ("GET", "/api/v1/me"): None,
    ("GET", "/api/v1/links"): None,
    ("POST", "/api/v1/links"): {"url": "https://example.com/matrix"},
    ("GET", "/api/v1/links/{code}"): None,
    ("PATCH", "/api/v1/links/{code}"): {"title": "pwned"},
    ("DELETE", "/api/v1/links/{code}"): None,
    ("GET", "/api/v1/links/{code}/stats"): None,
    ("GET", "/api/v1/links/{code}/visits"): None,
    # redirect rules (issue 4)
    ("GET", "/api/v1/links/{code}/rules"): None,
    ("PUT", "/api/v1/links/{code}/rules"): {"rules": [{"url": "https://example.com/pwned",
                                                       "conditions": [{"type": "os", "value": "ios"}]}]},
    ("GET", "/api/v1/stats"): None,
    ("GET", "/api/v1/visits/orphan"): None,
    ("GET", "/api/v1/links/{code}/live"): None,
    ("GET", "/api/v1/live"): None,
    ("GET", "/api/v1/teams"): None,
    ("POST", "/api/v1/teams"): {"name": "matrix-team"},
    ("GET", "/api/v1/teams/{id}"): None,
    ("PATCH", "/api/v1/teams/{id}"): {"name": "pwned"},
    ("GET", "/api/v1/teams/{id}/members"): None,
    ("POST", "/api/v1/teams/{id}/members"): {"email": "EMAIL", "role": "admin"},
    ("PATCH", "/api/v1/teams/{id}/members/{user_id}"): {"role": "viewer"},
    ("DELETE", "/api/v1/teams/{id}/members/{user_id}"): None,
    ("GET", "/api/v1/api-keys"): None,
    ("POST", "/api/v1/api-keys"): {"name": "matrix-key", "role": "admin"},
    ("DELETE", "/api/v1/api-keys/{id}"): None,
    ("GET", "/api/v1/webhooks"): None,
    ("POST", "/api/v1/webhooks"): {"url": "https://example.com/matrix-hook", "events": ["link.created"]},
    ("GET", "/api/v1/webhooks/{id}"): None,
    ("PATCH", "/api/v1/webhooks/{id}"): {"url": "https://example.com/pwned"},
    ("DELETE", "/api/v1/webhooks/{id}"): None,
    ("GET", "/api/v1/webhooks/{id}/deliveries"): None,
    ("POST", "/api/v1/webhooks/{id}/deliveries/{delivery_id}/retry"): None,
    # QR codes (issue 4)
    ("GET", "/api/v1/links/{code}/qr"): None,
    # tags, search (issue 4)
    ("GET", "/api/v1/links/suggest"): None,
    ("GET", "/api/v1/tags"): None,
    ("PATCH", "/api/v1/tags/{name}"): {"name": "pwned"},
    ("DELETE", "/api/v1/tags/{name}"): None,
    # bulk creation, import, export (issue 4)
    ("POST", "/api/v1/links/bulk"): {"links": [{"url": "https://example.com/matrix-bulk"}]},
    ("POST", "/api/v1/links/import"): None,
    ("GET", "/api/v1/links/export"): None,
    # domains (issue 4)
    ("GET", "/api/v1/domains"): None,
    ("POST", "/api/v1/domains"): {"hostname": "matrix.example.org"},
    ("GET", "/api/v1/domains/{hostname}"): None,
    ("PATCH", "/api/v1/domains/{hostname}"): {"not_found_redirect": "https://example.com/pwned"},
    ("DELETE", "/api/v1/domains/{hostname}"): None,
}
# Public routes are outside the matrix (they take no credential); they are
# listed so that a new public route is a deliberate decision too.
PUBLIC = {
    ("POST", "/api/v1/auth/signup"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/refresh"),
    ("POST", "/api/v1/auth/logout"),
}

A_PRINCIPALS = ["admin-jwt", "editor-jwt", "viewer-jwt", "admin-jwt@A", "editor-jwt@A",
                "viewer-jwt@A", "admin-key", "editor-key", "viewer-key", "viewer-key-x-api-key"]
BAD_CREDENTIALS = ["anonymous", "expired-jwt", "revoked-key", "expired-key", "changed-payload", "alg-none",
                   "alg-none-signed", "wrong-key", "unknown-kid", "forged-key", "garbage",
                   "disabled-user"]


def fill(pattern, resources):
    path = pattern
    if "{" in pattern:
        for k, v in FILL[pattern](resources).items():
            path = path.replace("{%s}" % k, v)
    assert "{" not in path, pattern
    return path


@pytest.fixture(scope="module")
def route_list(linkpulse_bin):
    return routes()


def make_hook(admin, team):
    r = admin.call("POST", "/api/v1/webhooks", {"url": "https://example.com/hook", "events": ["link.created"]},
                   params={"team_id": team})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def make_domain(admin, team, hostname):
    r = admin.call("POST", "/api/v1/domains", {"hostname": hostname}, params={"team_id": team})
    assert r.status_code == 201, r.text
    return hostname


def first_delivery(admin, team, hook):
    """The delivery of the team's link.created (the link made after the hook)."""
    r = admin.call("GET", "/api/v1/webhooks/%s/deliveries" % hook, params={"team_id": team})
    assert r.status_code == 200 and len(r.json()["items"]) == 1, r.text
    return r.json()["items"][0]["id"]


@pytest.fixture(scope="module")
def world(module_factory, route_list):
    key, env = jwt_keyring("t1")
    srv = module_factory(name="authz", args=NO_LIMITS, env={"LINKPULSE_JWT_KEYS": env})
    w = SimpleNamespace(srv=srv, jwt_key=key)

    a_admin = signup(srv, unique_email("a-admin"))
    a_editor = signup(srv, unique_email("a-editor"))
    a_viewer = signup(srv, unique_email("a-viewer"))
    b_admin = signup(srv, unique_email("b-admin"))
    b_member = signup(srv, unique_email("b-member"))
    gone = signup(srv, unique_email("gone"))
    w.users = SimpleNamespace(a_admin=a_admin, a_editor=a_editor, a_viewer=a_viewer,
                              b_admin=b_admin, b_member=b_member)

    team_a = make_team(a_admin, unique("A"))
    add_member(a_admin, team_a["id"], a_editor.email, "editor")
    add_member(a_admin, team_a["id"], a_viewer.email, "viewer")
    keys = {r: make_key(a_admin, r, team_id=team_a["id"]) for r in ("admin", "editor", "viewer")}
    spare = make_key(a_admin, "editor", team_id=team_a["id"], name="spare")
    hook_a = make_hook(a_admin, team_a["id"])
    link_a = create_link(srv, a_admin.access, team_id=team_a["id"], title="A's link", tags=["tag-a"])
    delivery_a = first_delivery(a_admin, team_a["id"], hook_a)
    w.A = SimpleNamespace(team=team_a["id"], name=team_a["name"], link=link_a["code"],
                          member=a_editor.id, key=spare["id"], key_secret=spare["key"],
                          link_obj=link_a, hook=hook_a, delivery=delivery_a, tag="tag-a",
                          domain=make_domain(a_admin, team_a["id"], "a.example.org"))

    team_b = make_team(b_admin, unique("B"))
    add_member(b_admin, team_b["id"], b_member.email, "editor")
    b_key = make_key(b_admin, "editor", team_id=team_b["id"])
    hook_b = make_hook(b_admin, team_b["id"])
    link_b = create_link(srv, b_admin.access, team_id=team_b["id"], title="B's link", tags=["tag-b"])
    delivery_b = first_delivery(b_admin, team_b["id"], hook_b)
    w.B = SimpleNamespace(team=team_b["id"], name=team_b["name"], link=link_b["code"],
                          member=b_member.id, key=b_key["id"], key_secret=b_key["key"],
                          link_obj=link_b, hook=hook_b, delivery=delivery_b, tag="tag-b",
                          domain=make_domain(b_admin, team_b["id"], "b.example.org"))

    # team A's valid principals: (credential, via, ?team_id)
    w.principals = {
        "admin-jwt": (a_admin.access, "bearer", None),
        "editor-jwt": (a_editor.access, "bearer", None),
        "viewer-jwt": (a_viewer.access, "bearer", None),
        "admin-jwt@A": (a_admin.access, "bearer", w.A.team),
        "editor-jwt@A": (a_editor.access, "bearer", w.A.team),
        "viewer-jwt@A": (a_viewer.access, "bearer", w.A.team),
        "admin-key": (keys["admin"]["key"], "bearer", None),
        "editor-key": (keys["editor"]["key"], "bearer", None),
        "viewer-key": (keys["viewer"]["key"], "bearer", None),
        "viewer-key-x-api-key": (keys["viewer"]["key"], "x-api-key", None),
    }

    # credentials that must not work anywhere
    w.expiring = make_key(a_admin, "admin", team_id=w.A.team, expires_at=utc_in(2))
    revoked = make_key(a_admin, "admin", team_id=w.A.team)
    r = a_admin.call("DELETE", "/api/v1/api-keys/" + revoked["id"], params={"team_id": w.A.team})
    assert r.status_code == 204, r.text
    # (a CLI failure fails only the disabled-user row, not the whole matrix)
    w.disabled = srv.cli("user", "disable", gone.email, check=False)
    h, p, s = a_admin.access.split(".")
    _, payload = jwt_decode(a_admin.access)
    as_b = dict(payload, sub=b_admin.id)

    def hdr(d):
        return b64u(json.dumps(d, separators=(",", ":")))

    base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    w.bad = {
        "anonymous": None,
        "expired-jwt": jwt_encode(key, jwt_claims(a_admin.id, ttl=60, iat=int(time.time()) - 7200)),
        "revoked-key": revoked["key"],
        "expired-key": w.expiring["key"],
        "changed-payload": h + "." + hdr(as_b) + "." + s,
        "alg-none": hdr({"alg": "none", "typ": "JWT"}) + "." + hdr(as_b) + ".",
        "alg-none-signed": jwt_encode(key, jwt_claims(b_admin.id), {"alg": "none", "typ": "JWT", "kid": "t1"}),
        "wrong-key": jwt_encode(secrets.token_bytes(32), jwt_claims(b_admin.id)),
        "unknown-kid": jwt_encode(key, jwt_claims(b_admin.id), {"alg": "HS256", "typ": "JWT", "kid": "zz"}),
        "forged-key": "lp_" + "".join(secrets.choice(base62) for _ in range(38)),
        "garbage": "not-a-credential",
        "disabled-user": gone.access,
    }
    # sanity: the valid forms of these work
    assert srv.req("GET", "/api/v1/me", jwt_encode(key, jwt_claims(b_admin.id))).status_code == 200
    assert srv.req("GET", "/api/v1/me", keys["admin"]["key"]).status_code == 200
    w.routes = route_list
    w.attacker_email = a_viewer.email
    return w


@pytest.fixture(autouse=True)
def alive(world):
    """A crash fails the test that caused it, not every test after it."""
    yield
    world.srv.assert_alive()


def call(w, method, pattern, resources, cred, via="bearer", team_id=None, body_team=None):
    body = KNOWN[(method, pattern)]
    if isinstance(body, dict):
        body = {k: (w.attacker_email if v == "EMAIL" else v) for k, v in body.items()}
        if body_team is not None:
            body["team_id"] = body_team
    params = {"team_id": team_id} if team_id is not None else None
    path = fill(pattern, resources)
    if pattern.endswith("/live"):
        # A granted live stream never ends: take the head, then hang up.
        r = w.srv.req(method, path, cred, body, params=params, via=via, stream=True)
        if r.status_code == 200:
            r.close()
        else:
            r.content  # a problem: read it whole
    else:
        r = w.srv.req(method, path, cred, body, params=params, via=via)
    return r, "%s %s%s" % (method, path, "?team_id=%s" % team_id if team_id else "")


def problem_mismatch(r, status, name):
    """None if r is the problem status/name, else a description."""
    why = None
    if r.status_code != status:
        why = "status %s" % r.status_code
    elif r.headers.get("Content-Type", "").split(";")[0] != "application/problem+json":
        why = "content type %r" % r.headers.get("Content-Type")
    else:
        try:
            t = r.json().get("type")
        except ValueError:
            t = None
        if t != PROBLEM_BASE + name:
            why = "type %r" % t
        elif status == 401 and r.headers.get("WWW-Authenticate") != 'Bearer realm="linkpulse"':
            why = "WWW-Authenticate %r" % r.headers.get("WWW-Authenticate")
    return None if why is None else "%s (%s)" % (why, r.text[:160])


def api_routes(w):
    return [(r["method"], r["path"]) for r in w.routes if (r["method"], r["path"]) not in PUBLIC]


def param_routes(w):
    return [(m, p) for m, p in api_routes(w) if "{" in p]


# -- the route list is fully known --------------------------------------------------

def test_every_route_is_in_the_matrix(route_list):
    listed = {(r["method"], r["path"]) for r in route_list}
    unknown = listed - set(KNOWN) - PUBLIC
    assert not unknown, ("`linkpulse routes` lists routes the authorization matrix does not know; "
                         "add them to KNOWN (and FILL for new path patterns): %s" % sorted(unknown))
    unfillable = sorted(p for _, p in listed if "{" in p and p not in FILL)
    assert not unfillable, "no parameter filler for %s" % unfillable
    missing = (set(KNOWN) | PUBLIC) - listed
    assert not missing, "routes the matrix expects are not listed: %s" % sorted(missing)
    for r in route_list:
        want = "public" if (r["method"], r["path"]) in PUBLIC else None
        if want:
            assert r["auth"] == want, r
        elif (r["method"], r["path"]) == ("POST", "/api/v1/links"):
            assert r["auth"] == "anonymous-ok", r
        else:
            assert r["auth"] == "required", r


# -- controls: the fillers address real resources --------------------------------------

def test_controls_owner_and_operator_reach_b(world):
    w, srv, b_admin = world, world.srv, world.users.b_admin
    bad = []
    for method, pattern in param_routes(w):
        if method != "GET":
            continue
        for who, cred in (("b-admin", b_admin.access), ("operator", srv.admin_key)):
            r, what = call(w, method, pattern, w.B, cred, team_id=w.B.team)
            if r.status_code != 200:
                bad.append("%s: %s -> %s %s" % (who, what, r.status_code, r.text[:160]))
    # the member and key fillers, which have no GET of their own
    r = b_admin.call("GET", "/api/v1/teams/%s/members" % w.B.team)
    assert w.B.member in [m["user_id"] for m in r.json()["items"]], r.text
    r = b_admin.call("GET", "/api/v1/api-keys", params={"team_id": w.B.team})
    assert w.B.key in [k["id"] for k in r.json()["items"]], r.text
    r = b_admin.call("PATCH", "/api/v1/teams/%s/members/%s" % (w.B.team, w.B.member), {"role": "editor"})
    if r.status_code != 200:
        bad.append("b-admin: no-op PATCH of B's member -> %s %s" % (r.status_code, r.text[:160]))
    assert not bad, "controls failed, the matrix would prove nothing:\n" + "\n".join(bad)


# -- team A against team B's resources: 404 -------------------------------------------

@pytest.mark.parametrize("principal", A_PRINCIPALS)
def test_other_teams_resources_are_404(world, principal):
    w = world
    cred, via, team = w.principals[principal]
    bad = []
    for method, pattern in param_routes(w):
        r, what = call(w, method, pattern, w.B, cred, via=via, team_id=team)
        why = problem_mismatch(r, 404, "not-found")
        if why:
            bad.append("%s -> %s" % (what, why))
    assert not bad, "%s reached team B's resources:\n%s" % (principal, "\n".join(bad))


@pytest.mark.parametrize("principal", A_PRINCIPALS)
def test_selecting_another_team_is_404(world, principal):
    """?team_id=B on every route (paths filled with A's resources), and
    "team_id": B in the bodies that take it."""
    w = world
    cred, via, _ = w.principals[principal]
    bad = []
    for method, pattern in api_routes(w):
        r, what = call(w, method, pattern, w.A, cred, via=via, team_id=w.B.team)
        why = problem_mismatch(r, 404, "not-found")
        if why:
            bad.append("%s -> %s" % (what, why))
    for method, pattern in (("POST", "/api/v1/links"), ("POST", "/api/v1/api-keys")):
        r, what = call(w, method, pattern, w.A, cred, via=via, body_team=w.B.team)
        why = problem_mismatch(r, 404, "not-found")
        if why:
            bad.append("%s with team_id %s in the body -> %s" % (what, w.B.team, why))
    assert not bad, "%s selected team B:\n%s" % (principal, "\n".join(bad))


# -- bad credentials: 401 everywhere ------------------------------------------------

@pytest.mark.parametrize("credential", BAD_CREDENTIALS)
def test_bad_credentials_are_401(world, credential):
    w = world
    cred = w.bad[credential]
    if credential == "disabled-user":
        assert w.disabled.returncode == 0, "linkpulse user disable failed: %s" % w.disabled.stderr[:300]
    if credential == "expired-key":
        wait_until(lambda: w.srv.req("GET", "/api/v1/me", cred).status_code == 401, timeout=15,
                   what="key past its expires_at refused")
    bad = []
    for method, pattern in api_routes(w):
        for resources, team in ((w.B, None), (w.A, None), (w.A, w.A.team)):
            if "{" not in pattern and resources is w.B:
                continue
            for via in (("bearer", "x-api-key") if cred else ("bearer",)):
                r, what = call(w, method, pattern, resources, cred, via=via, team_id=team)
                why = problem_mismatch(r, 401, "unauthorized")
                if why:
                    bad.append("%s [%s] -> %s" % (what, via, why))
    assert not bad, "%s credential was not refused with 401:\n%s" % (credential, "\n".join(bad))


# -- A's viewer on A's own resources: reads yes, writes 403 --------------------------

@pytest.mark.parametrize("principal", ["viewer-jwt@A", "viewer-key", "viewer-key-x-api-key"])
def test_viewer_reads_but_cannot_write(world, principal):
    w = world
    cred, via, team = w.principals[principal]
    # a key of its own to aim at, made by A's admin (who also made the viewer key)
    target = make_key(w.users.a_admin, "editor", team_id=w.A.team)
    A = SimpleNamespace(**dict(vars(w.A), key=target["id"]))
    bad = []
    for method, pattern in param_routes(w):
        r, what = call(w, method, pattern, A, cred, via=via, team_id=team)
        if method == "GET":
            if r.status_code != 200:
                bad.append("%s -> %s %s (want 200)" % (what, r.status_code, r.text[:160]))
        else:
            why = problem_mismatch(r, 403, "forbidden")
            if why:
                bad.append("%s -> %s (want 403 forbidden)" % (what, why))
    # the writes without path parameters: a link, a key
    for method, pattern in (("POST", "/api/v1/links"), ("POST", "/api/v1/api-keys"), ("POST", "/api/v1/links/bulk"),
                            ("POST", "/api/v1/links/import"), ("POST", "/api/v1/domains")):
        r, what = call(w, method, pattern, A, cred, via=via, team_id=team)
        why = problem_mismatch(r, 403, "forbidden")
        if why:
            bad.append("%s -> %s (want 403 forbidden)" % (what, why))
    r = w.srv.req("GET", "/api/v1/me", target["key"])
    if r.status_code != 200:
        bad.append("the key %s was revoked by the viewer" % target["id"])
    assert not bad, "%s on team A:\n%s" % (principal, "\n".join(bad))


ADMIN_WORK = [
    ("PATCH", "/api/v1/teams/{id}"),
    ("POST", "/api/v1/teams/{id}/members"),
    ("PATCH", "/api/v1/teams/{id}/members/{user_id}"),
    ("DELETE", "/api/v1/teams/{id}/members/{user_id}"),
    ("GET", "/api/v1/api-keys"),
    ("POST", "/api/v1/api-keys"),
    ("DELETE", "/api/v1/api-keys/{id}"),
]


@pytest.mark.parametrize("principal", ["editor-jwt@A", "editor-key", "viewer-jwt@A", "viewer-key"])
def test_only_admins_administer(world, principal):
    """Team administration on A's own resources is 403 below admin (the
    member aimed at is A's viewer or editor, never the caller)."""
    w = world
    cred, via, team = w.principals[principal]
    target = make_key(w.users.a_admin, "viewer", team_id=w.A.team)
    member = w.users.a_viewer.id if principal.startswith("editor") else w.users.a_editor.id
    A = SimpleNamespace(**dict(vars(w.A), key=target["id"], member=member))
    bad = []
    for method, pattern in ADMIN_WORK:
        r, what = call(w, method, pattern, A, cred, via=via, team_id=team)
        why = problem_mismatch(r, 403, "forbidden")
        if why:
            bad.append("%s -> %s (want 403 forbidden)" % (what, why))
    assert not bad, "%s administered team A:\n%s" % (principal, "\n".join(bad))


# -- nothing changed -------------------------------------------------------------

def test_nothing_changed(world):
    w, srv = world, world.srv
    u = w.users
    for R, admin, members in ((w.B, u.b_admin, {u.b_admin.id: "admin", u.b_member.id: "editor"}),
                              (w.A, u.a_admin, {u.a_admin.id: "admin", u.a_editor.id: "editor",
                                                u.a_viewer.id: "viewer"})):
        r = admin.call("GET", "/api/v1/links/" + R.link, params={"team_id": R.team})
        assert r.status_code == 200, "link %s gone: %s" % (R.link, r.text)
        assert r.json() == R.link_obj, "link %s changed: %s" % (R.link, r.json())
        assert srv.get("/" + R.link).status_code == 302
        t = admin.call("GET", "/api/v1/teams/" + R.team).json()
        assert t["name"] == R.name and t["plan"] == "free", t
        r = admin.call("GET", "/api/v1/teams/%s/members" % R.team)
        got = {m["user_id"]: m["role"] for m in r.json()["items"]}
        assert got == members, "members of %s changed: %s" % (R.team, got)
        r = srv.req("GET", "/api/v1/me", R.key_secret)
        assert r.status_code == 200, "key %s revoked: %s" % (R.key, r.text)
        r = admin.call("GET", "/api/v1/api-keys", params={"team_id": R.team})
        names = [k["name"] for k in r.json()["items"]]
        assert "matrix-key" not in names, names
        r = admin.call("GET", "/api/v1/links", params={"team_id": R.team, "limit": 100})
        assert [x["code"] for x in r.json()["items"]] == [R.link], r.json()
    # no team was created by a key or a bad credential
    for acct in (u.a_admin, u.a_editor, u.a_viewer, u.b_admin, u.b_member):
        names = [t["name"] for t in acct.call("GET", "/api/v1/teams").json()["items"]]
        assert "matrix-team" not in names, names
