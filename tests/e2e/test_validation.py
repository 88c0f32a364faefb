"""Every documented error: right status, problem+json, the field named; nothing written."""

import json

import pytest
import requests

from conftest import HTTP_TIMEOUT, assert_problem, unique

SELF = "@SELF@"  # replaced by the server's own base URL
SELF_HP = "@SELFHP@"  # replaced by the server's own host:port
VICTIM = "@VICTIM@"  # replaced by the code of an existing link
TAKEN = "@TAKEN@"  # replaced by the code of another existing link
OK_URL = "https://example.com/ok"


class Case:
    def __init__(self, id, status, name, param=None, method="POST", path="/api/v1/links",
                 body=None, ctype="application/json", headers=None, auth="bearer"):
        self.id, self.status, self.name, self.param = id, status, name, param
        self.method, self.path, self.body, self.ctype = method, path, body, ctype
        self.headers, self.auth = headers or {}, auth

    def send(self, ctx):
        path = self.path.replace(VICTIM, ctx["victim"]).replace(TAKEN, ctx["taken"])
        body = self.body
        if body is not None and not isinstance(body, (str, bytes)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.replace(SELF_HP, ctx["base"].split("//", 1)[1]) \
                       .replace(SELF, ctx["base"]).replace(VICTIM, ctx["victim"]) \
                       .replace(TAKEN, ctx["taken"]).encode()
        h = {}
        if self.auth == "bearer":
            h["Authorization"] = "Bearer " + ctx["key"]
        elif self.auth == "x-api-key":
            h["X-Api-Key"] = ctx["key"]
        elif self.auth:
            h.update(self.auth)
        if body is not None and self.ctype:
            h["Content-Type"] = self.ctype
        h.update(self.headers)
        return requests.request(self.method, ctx["base"] + path, data=body, headers=h,
                                timeout=HTTP_TIMEOUT, allow_redirects=False)


def post(id, body, param, status=422, **kw):
    return Case("POST " + id, status, "validation", param, body=body, **kw)


def patch(id, body, param, status=422, **kw):
    return Case("PATCH " + id, status, "validation", param, method="PATCH",
                path="/api/v1/links/" + VICTIM, body=body, **kw)


BAD_URLS = [
    ("javascript", "javascript:alert(1)"),
    ("javascript-upper", "JavaScript:alert(1)"),
    ("data", "data:text/html,<script>alert(1)</script>"),
    ("file", "file:///etc/passwd"),
    ("ftp", "ftp://example.com/x"),
    ("mailto", "mailto:a@example.com"),
    ("relative-path", "/relative/path"),
    ("relative-word", "example.com/x"),
    ("scheme-relative", "//example.com/x"),
    ("no-host", "http://"),
    ("empty-host", "https:///path"),
    ("userinfo", "http://user:pass@example.com/"),
    ("user-only", "https://user@example.com/"),
    ("control-char", "http://example.com/a\x01b"),
    ("newline", "http://example.com/a\nb"),
    ("tab", "http://example.com/a\tb"),
    ("del", "http://example.com/a\x7fb"),
    ("space-in-host", "http://exa mple.com/"),
    ("bad-port", "http://example.com:99999/"),
    ("port-not-number", "http://example.com:abc/"),
    ("empty", ""),
    ("too-long-3073", "https://example.com/" + "a" * (3073 - 20)),
    ("self", SELF + "/abc"),
    ("self-upper-scheme", "HTTP://" + SELF_HP + "/abc"),
    ("self-default-path", "http://" + SELF_HP),
]


def _bad_url_cases():
    out = []
    for name, url in BAD_URLS:
        out.append(post("url " + name, {"url": url}, "url"))
    return out


CASES = [
    # body shape -> 400
    post("not json", "{not json", None, status=400),
    post("truncated json", '{"url": "https://example.com"', None, status=400),
    post("empty body", "", None, status=400),
    post("array", "[1, 2]", None, status=400),
    post("string", '"https://example.com"', None, status=400),
    post("null", "null", None, status=400),
    post("number", "42", None, status=400),
    # fields -> 422
    post("unknown field", {"url": OK_URL, "bogus": 1}, "bogus"),
    post("read-only field code", {"url": OK_URL, "code": "abc1234"}, "code"),
    post("missing url", {"title": "no url"}, "url"),
    post("empty object", {}, "url"),
    post("url null", {"url": None}, "url"),
    post("url number", {"url": 123}, "url"),
    post("url array", {"url": [OK_URL]}, "url"),
    *_bad_url_cases(),
    # slugs
    post("slug empty", {"url": OK_URL, "slug": ""}, "slug"),
    post("slug 65 chars", {"url": OK_URL, "slug": "a" * 65}, "slug"),
    post("slug space", {"url": OK_URL, "slug": "has space"}, "slug"),
    post("slug slash", {"url": OK_URL, "slug": "a/b"}, "slug"),
    post("slug dot", {"url": OK_URL, "slug": "a.b"}, "slug"),
    post("slug percent", {"url": OK_URL, "slug": "a%20b"}, "slug"),
    post("slug plus", {"url": OK_URL, "slug": "a+b"}, "slug"),
    post("slug non-ascii", {"url": OK_URL, "slug": "bücher"}, "slug"),
    post("slug number", {"url": OK_URL, "slug": 123}, "slug"),
    *[post("slug reserved " + w, {"url": OK_URL, "slug": w}, "slug")
      for w in ("api", "API", "app", "healthz", "ReadyZ", "metrics", "robots.txt",
                "FAVICON.ICO", "static", "Admin", "docs")],
    # redirect_type
    *[post("redirect_type %r" % v, {"url": OK_URL, "redirect_type": v}, "redirect_type")
      for v in (303, 300, 200, 0, 404, "302", 302.5, True)],
    # max_visits
    *[post("max_visits %r" % v, {"url": OK_URL, "max_visits": v}, "max_visits")
      for v in (0, -1, "3", 1.5, True, [3])],
    # expires_at
    *[post("expires_at %r" % v, {"url": OK_URL, "expires_at": v}, "expires_at")
      for v in ("tomorrow", "2099-13-01T00:00:00Z", "2099-02-30T00:00:00Z",
                "2099-01-01", "2099-01-01T00:00:00", "2099-01-01T25:00:00Z",
                "2020-01-01T00:00:00Z", "1970-01-01T00:00:00.000Z", 4102444800, "")],
    # title
    post("title 513 chars", {"url": OK_URL, "title": "x" * 513}, "title"),
    post("title 513 multibyte chars", {"url": OK_URL, "title": "é" * 513}, "title"),
    post("title number", {"url": OK_URL, "title": 5}, "title"),
    post("title object", {"url": OK_URL, "title": {"a": 1}}, "title"),
    # media type
    Case("POST text/plain", 415, "unsupported-media-type", body={"url": OK_URL}, ctype="text/plain"),
    Case("POST form", 415, "unsupported-media-type", body="url=https%3A%2F%2Fexample.com",
         ctype="application/x-www-form-urlencoded"),
    Case("POST no content type", 415, "unsupported-media-type", body={"url": OK_URL}, ctype=None),
    Case("PATCH text/plain", 415, "unsupported-media-type", method="PATCH",
         path="/api/v1/links/" + VICTIM, body={"title": "x"}, ctype="text/plain"),
    # size
    Case("POST body 64KiB+1", 413, "payload-too-large",
         body='{"url": "https://example.com/big"}' + " " * (65537 - 34)),
    Case("POST body 200KiB", 413, "payload-too-large",
         body={"url": OK_URL, "title": "x" * 200000}),
    # auth
    Case("POST no key", 401, "unauthorized", body={"url": OK_URL}, auth=None),
    Case("GET list no key", 401, "unauthorized", method="GET", auth=None),
    Case("GET link no key", 401, "unauthorized", method="GET", path="/api/v1/links/" + VICTIM, auth=None),
    Case("PATCH no key", 401, "unauthorized", method="PATCH", path="/api/v1/links/" + VICTIM,
         body={"url": "https://example.com/hijack"}, auth=None),
    Case("DELETE no key", 401, "unauthorized", method="DELETE", path="/api/v1/links/" + VICTIM, auth=None),
    Case("POST wrong bearer", 401, "unauthorized", body={"url": OK_URL},
         auth={"Authorization": "Bearer wrong-key-0123456789"}),
    Case("POST wrong x-api-key", 401, "unauthorized", body={"url": OK_URL},
         auth={"X-Api-Key": "wrong-key-0123456789"}),
    Case("DELETE wrong x-api-key", 401, "unauthorized", method="DELETE",
         path="/api/v1/links/" + VICTIM, auth={"X-Api-Key": "wrong"}),
    Case("POST empty bearer", 401, "unauthorized", body={"url": OK_URL},
         auth={"Authorization": "Bearer "}),
    Case("POST basic scheme", 401, "unauthorized", body={"url": OK_URL},
         auth={"Authorization": "Basic dXNlcjpwYXNz"}),
    # routing
    Case("GET unknown api path", 404, "not-found", method="GET", path="/api/v1/nope"),
    Case("GET unknown api version", 404, "not-found", method="GET", path="/api/v2/links"),
    Case("GET /api", 404, "not-found", method="GET", path="/api/"),
    Case("GET missing link", 404, "not-found", method="GET", path="/api/v1/links/zzNope99"),
    Case("PATCH missing link", 404, "not-found", method="PATCH", path="/api/v1/links/zzNope99",
         body={"title": "x"}),
    Case("DELETE missing link", 404, "not-found", method="DELETE", path="/api/v1/links/zzNope99"),
    Case("DELETE collection", 405, "method-not-allowed", method="DELETE"),
    Case("PUT collection", 405, "method-not-allowed", method="PUT", body={"url": OK_URL}),
    Case("PUT link", 405, "method-not-allowed", method="PUT", path="/api/v1/links/" + VICTIM,
         body={"url": OK_URL}),
    Case("POST link", 405, "method-not-allowed", method="POST", path="/api/v1/links/" + VICTIM,
         body={"url": OK_URL}),
    # query parameters -> 400
    Case("limit 0", 400, "validation", "limit", method="GET", path="/api/v1/links?limit=0"),
    Case("limit 101", 400, "validation", "limit", method="GET", path="/api/v1/links?limit=101"),
    Case("limit -1", 400, "validation", "limit", method="GET", path="/api/v1/links?limit=-1"),
    Case("limit abc", 400, "validation", "limit", method="GET", path="/api/v1/links?limit=abc"),
    Case("limit 1.5", 400, "validation", "limit", method="GET", path="/api/v1/links?limit=1.5"),
    Case("limit empty", 400, "validation", "limit", method="GET", path="/api/v1/links?limit="),
    Case("cursor garbage", 400, "validation", "cursor", method="GET",
         path="/api/v1/links?cursor=%21%21not%20a%20cursor"),
    # PATCH fields
    patch("not json", "{nope", None, status=400),
    patch("array", "[]", None, status=400),
    patch("unknown field", {"bogus": True}, "bogus"),
    patch("read-only created_at", {"created_at": "2020-01-01T00:00:00.000Z"}, "created_at"),
    patch("url null", {"url": None}, "url"),
    patch("url javascript", {"url": "javascript:alert(1)"}, "url"),
    patch("url self", {"url": SELF + "/x"}, "url"),
    patch("slug reserved", {"slug": "metrics"}, "slug"),
    patch("slug bad chars", {"slug": "no way"}, "slug"),
    patch("slug empty", {"slug": ""}, "slug"),
    patch("max_visits 0", {"max_visits": 0}, "max_visits"),
    patch("redirect_type 303", {"redirect_type": 303}, "redirect_type"),
    patch("expires_at past", {"expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
    patch("title too long", {"title": "t" * 513}, "title"),
    patch("good url + bad field", {"url": "https://example.com/never", "max_visits": -5}, "max_visits"),
    Case("PATCH slug taken", 409, "conflict", method="PATCH", path="/api/v1/links/" + VICTIM,
         body={"slug": TAKEN}),
    Case("POST slug taken", 409, "conflict", body={"url": OK_URL, "slug": TAKEN}),
]


@pytest.fixture(scope="module")
def ctx(module_server):
    s = module_server
    victim = s.create(url="https://example.com/victim", title="victim", max_visits=50)
    taken = s.create(url="https://example.com/taken", slug=unique("taken"))
    return {"srv": s, "base": s.base_url, "key": s.key, "victim": victim["code"],
            "taken": taken["code"], "victim_link": victim, "taken_link": taken}


def _send(case, ctx):
    return case.send(ctx)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_error(ctx, case):
    r = _send(case, ctx)
    assert_problem(r, case.status, case.name, case.param)


def test_bad_requests_change_nothing(ctx):
    s = ctx["srv"]
    before = s.list_all()
    for case in CASES:
        _send(case, ctx)
    after = s.list_all()
    assert after == before, "error requests wrote something"
    assert s.link(ctx["victim"]).json() == ctx["victim_link"]
    assert s.link(ctx["taken"]).json() == ctx["taken_link"]
    r = s.get("/" + ctx["victim"])
    assert r.status_code == 302 and r.headers["Location"] == "https://example.com/victim"


def test_nul_in_url(ctx):
    """JSON allows \\u0000; a URL never does (400 from the JSON decoder or 422)."""
    c = post("nul", {"url": "http://example.com/a\x00b"}, None)
    r = c.send(ctx)
    assert r.status_code in (400, 422), r.text
    assert_problem(r, r.status_code, "validation")


# -- the accepted side of each boundary --------------------------------------

def test_url_3072_bytes_ok(module_server):
    url = "https://example.com/" + "a" * (3072 - 20)
    assert len(url) == 3072
    link = module_server.create(url=url)
    assert link["url"] == url


def test_title_512_chars_ok(module_server):
    assert module_server.create(title="x" * 512)["title"] == "x" * 512
    assert module_server.create(title="é" * 512)["title"] == "é" * 512


def test_body_exactly_64KiB_ok(module_server):
    body = '{"url": "https://example.com/big"}'
    body += " " * (65536 - len(body))
    r = module_server.api("POST", "/api/v1/links", data=body,
                          headers={"Content-Type": "application/json"})
    assert r.status_code == 201, r.text[:300]


@pytest.mark.parametrize("ctype", ["application/json; charset=utf-8", "Application/JSON"])
def test_json_content_type_variants(module_server, ctype):
    r = module_server.api("POST", "/api/v1/links", data=json.dumps({"url": OK_URL}),
                          headers={"Content-Type": ctype})
    assert r.status_code == 201, r.text[:300]


@pytest.mark.parametrize("header", ["Authorization", "X-Api-Key", "bearer-lower"])
def test_auth_header_styles(module_server, header):
    s = module_server
    if header == "Authorization":
        h = {"Authorization": "Bearer " + s.key}
    elif header == "X-Api-Key":
        h = {"X-Api-Key": s.key}
    else:
        h = {"Authorization": "bearer " + s.key}  # auth schemes are case-insensitive
    r = requests.get(s.url("/api/v1/links"), headers=h, timeout=HTTP_TIMEOUT)
    assert r.status_code == 200, r.text[:300]


@pytest.mark.parametrize("limit", [1, 100])
def test_limit_bounds_ok(module_server, limit):
    r = module_server.api("GET", "/api/v1/links", params={"limit": limit})
    assert r.status_code == 200, r.text[:300]
    assert len(r.json()["items"]) <= limit
