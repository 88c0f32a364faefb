"""Black-box harness for LinkPulse: starts the real binary, talks HTTP to it.

The binary comes from $LINKPULSE_BIN (make test points it at the ASan+UBSan
build), else <repo>/build/linkpulse. Every server gets a free loopback port,
its own data dir, its own access log and a random admin key; teardown sends
SIGTERM and insists on exit status 0 (so sanitizer reports fail the test that
owned the server; leak detection follows ASAN_OPTIONS, off unless set, as in
`make e2e`).

Accounts helpers: signup/login return an Account (tokens, ids); Server.req
calls as any credential; Server.cli runs operator commands on the server's
data dir; jwt_* forge tokens for servers started with a known
LINKPULSE_JWT_KEYS; parallel() releases threads together; pipeline() floods
one keep-alive connection. module_factory starts servers shared by a module.
"""

import base64
import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
BIN = os.environ.get("LINKPULSE_BIN") or str(REPO / "build" / "linkpulse")

READY_TIMEOUT = 15.0
STOP_TIMEOUT = 30.0  # ASan builds are slow to flush and check for leaks
HTTP_TIMEOUT = 15.0

PROBLEM_BASE = "https://linkpulse.dev/problems/"
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
CODE_RE = re.compile(r"^[0-9A-Za-z]{7}$")
LINK_FIELDS = {"code", "short_url", "url", "title", "created_at", "updated_at",
               "expires_at", "max_visits", "redirect_type", "tags", "note",
               "valid_since", "enabled"}


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra):
    """The caller's environment minus any LINKPULSE_* settings, plus extra.
    Sanitizer options default to those of `make e2e` (leak detection off:
    libh2o cannot free its event loops at exit), so running pytest directly
    judges the binary the same way; set ASAN_OPTIONS to override."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINKPULSE_")}
    env.setdefault("ASAN_OPTIONS", "detect_leaks=0")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    env.update({k: str(v) for k, v in extra.items() if v is not None})
    return env


def rfc3339(dt):
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + \
        "%03dZ" % (dt.microsecond // 1000)


def parse_ts(text):
    """Our RFC 3339 (UTC, milliseconds) back to an aware datetime."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def utc_in(seconds):
    return rfc3339(datetime.now(timezone.utc) + timedelta(seconds=seconds))


def unique(prefix="t"):
    return "%s-%s" % (prefix, secrets.token_hex(5))


def require_binary():
    if not (os.path.isfile(BIN) and os.access(BIN, os.X_OK)):
        pytest.fail("LinkPulse binary not found or not executable: %s "
                    "(build it, or set LINKPULSE_BIN)" % BIN, pytrace=False)


def run_cli(args, env=None, timeout=8, cwd=None):
    """Runs the binary to completion (for --help, bad flags, ...). cwd: where a
    misparsed relative path would land; keep it a tmp dir, never the repo."""
    require_binary()
    try:
        return subprocess.run([BIN] + list(args), env=env if env is not None else clean_env(),
                              cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        pytest.fail("%s %s did not exit within %ss (stderr: %s)"
                    % (BIN, " ".join(args), timeout, (e.stderr or b"")[-2000:]))


def assert_problem(resp, status, name, param=None):
    """An RFC 9457 problem with our type URI; param: a name invalid_params must hold."""
    where = "%s %s -> %s %s" % (resp.request.method, resp.request.url[:120],
                                resp.status_code, resp.text[:500])
    assert resp.status_code == status, where
    ctype = resp.headers.get("Content-Type", "")
    assert ctype.split(";")[0].strip().lower() == "application/problem+json", \
        "content type %r: %s" % (ctype, where)
    assert resp.headers.get("X-Request-Id"), "no X-Request-Id: " + where
    body = resp.json()
    assert isinstance(body, dict), where
    assert body.get("type") == PROBLEM_BASE + name, where
    assert isinstance(body.get("title"), str) and body["title"], where
    assert body.get("status") == status and type(body["status"]) is int, where
    assert isinstance(body.get("detail"), str), where
    if name == "validation":
        ip = body.get("invalid_params")
        assert isinstance(ip, list), "validation problem without invalid_params: " + where
        for p in ip:
            assert isinstance(p, dict) and isinstance(p.get("name"), str) \
                and isinstance(p.get("reason"), str), where
    if status == 405:
        assert resp.headers.get("Allow"), "405 without Allow: " + where
    if param is not None:
        names = [p.get("name") for p in body.get("invalid_params") or []]
        assert param in names, "invalid_params should name %r: %s" % (param, where)
    return body


def assert_link(obj, server=None):
    assert isinstance(obj, dict), obj
    missing = LINK_FIELDS - set(obj)
    assert not missing, "link object lacks %s: %s" % (sorted(missing), obj)
    for f in ("created_at", "updated_at"):
        assert TS_RE.match(obj[f]), "%s=%r" % (f, obj[f])
    if obj["expires_at"] is not None:
        assert TS_RE.match(obj["expires_at"]), obj["expires_at"]
    assert obj["redirect_type"] in (301, 302, 307, 308), obj
    if server is not None:
        assert obj["short_url"] == server.base_url + "/" + obj["code"], obj
    return obj


class Server:
    """One linkpulse process. start()/stop()/restart() keep port and data dir."""

    def __init__(self, root, name="srv", admin_key=True, args=(), env=None,
                 workers=2, access_log=True, port=None, flags=True, extra_args=()):
        self.root = Path(root)
        self.data = self.root / ("%s-data" % name)
        self.data.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self.base_url = "http://%s:%d" % (self.host, self.port)
        self.access_log = (self.root / ("%s-access.log" % name)) if access_log else None
        self.admin_key = (secrets.token_urlsafe(24) if admin_key is True else admin_key)
        self.key = self.admin_key
        self.extra_args = list(args) + list(extra_args)
        self.extra_env = dict(env or {})
        self.workers = workers
        self.flags = flags  # False: configure through LINKPULSE_* env only
        self.proc = None
        self.runs = 0
        self.http = requests.Session()

    # -- process -------------------------------------------------------------
    def argv(self):
        if not self.flags:
            return [BIN, "serve"] + self.extra_args
        argv = [BIN, "serve", "--listen", "%s:%d" % (self.host, self.port),
                "--data", str(self.data)]
        if self.workers is not None:
            argv += ["--workers", str(self.workers)]
        if self.access_log is not None:
            argv += ["--access-log", str(self.access_log)]
        return argv + self.extra_args

    def start(self, timeout=READY_TIMEOUT):
        require_binary()
        assert self.proc is None, "already running"
        self.runs += 1
        self.stdout_path = self.root / ("%s-stdout.%d" % (self.name, self.runs))
        self.stderr_path = self.root / ("%s-stderr.%d" % (self.name, self.runs))
        env = clean_env(**self.extra_env)
        if self.admin_key:
            env["LINKPULSE_ADMIN_KEY"] = self.admin_key
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(self.argv(), env=env, cwd=self.root, stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=err)
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=READY_TIMEOUT):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                rc = self.proc.returncode
                self.proc = None
                pytest.fail("linkpulse exited with %s before ready\nargv: %s\nstderr:\n%s"
                            % (rc, self.argv(), self.stderr()[-4000:]), pytrace=False)
            try:
                r = requests.get(self.base_url + "/readyz", timeout=1)
                if r.status_code == 200:
                    return
                last = r.status_code
            except requests.RequestException as e:
                last = e
            time.sleep(0.05)
        self.kill()
        pytest.fail("linkpulse not ready after %ss (last: %s)\nstderr:\n%s"
                    % (timeout, last, self.stderr()[-4000:]), pytrace=False)

    def send_signal(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)

    def wait_exit(self, timeout=STOP_TIMEOUT):
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail("linkpulse did not exit within %ss of SIGTERM\nstderr:\n%s"
                        % (timeout, self.stderr()[-4000:]), pytrace=False)
        self.proc = None
        self.http.close()
        self.http = requests.Session()
        return rc

    def stop(self, sig=signal.SIGTERM, check=True):
        """SIGTERM (or sig), wait, and assert a clean exit 0."""
        if self.proc is None:
            return 0
        self.http.close()  # idle keep-alive connections would only delay the exit
        self.send_signal(sig)
        rc = self.wait_exit()
        if check:
            assert rc == 0, "linkpulse exited %s after %s\nstderr:\n%s" % (
                rc, sig.name if hasattr(sig, "name") else sig, self.stderr()[-6000:])
        return rc

    def restart(self):
        self.stop()
        return self.start()

    def assert_alive(self):
        """Fails if the process died (a crash in the test just run); restarts
        it first, on the same port and data, so the module's next tests run."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                if requests.get(self.base_url + "/healthz", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            try:  # not answering: give a sanitizer report time to finish
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                return
        rc = self.proc.returncode
        err = self.stderr()[-6000:]
        self.proc = None
        self.http.close()
        self.http = requests.Session()
        self.start()
        pytest.fail("linkpulse died (exit %s) during this test; restarted for the next ones\n"
                    "stderr:\n%s" % (rc, err), pytrace=False)

    def kill(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def stdout(self):
        return self.stdout_path.read_text(errors="replace")

    def stderr(self):
        return self.stderr_path.read_text(errors="replace")

    def access_lines(self):
        if self.access_log is None or not self.access_log.exists():
            return []
        return [l for l in self.access_log.read_text(errors="replace").splitlines() if l.strip()]

    # -- HTTP ----------------------------------------------------------------
    def url(self, path):
        return self.base_url + path

    def auth(self, key=None):
        return {"Authorization": "Bearer " + (key or self.key)}

    def get(self, path, **kw):
        """Unauthenticated GET that never follows redirects."""
        kw.setdefault("timeout", HTTP_TIMEOUT)
        kw.setdefault("allow_redirects", False)
        return self.http.get(self.url(path), **kw)

    def head(self, path, **kw):
        kw.setdefault("timeout", HTTP_TIMEOUT)
        kw.setdefault("allow_redirects", False)
        return self.http.head(self.url(path), **kw)

    def api(self, method, path, json_body=None, headers=None, data=None, auth=True, **kw):
        """Authorised API call; json_body is sent as application/json."""
        h = dict(self.auth()) if auth else {}
        if json_body is not None:
            data = json.dumps(json_body)
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        kw.setdefault("timeout", HTTP_TIMEOUT)
        kw.setdefault("allow_redirects", False)
        return self.http.request(method, self.url(path), data=data, headers=h, **kw)

    def create(self, **fields):
        fields.setdefault("url", "https://example.com/" + unique("p"))
        r = self.api("POST", "/api/v1/links", fields)
        assert r.status_code == 201, "create %s -> %s %s" % (fields, r.status_code, r.text[:500])
        return assert_link(r.json(), self)

    def link(self, code):
        return self.api("GET", "/api/v1/links/" + code)

    def list_all(self, limit=100):
        """Every link, following cursors."""
        items, cursor = [], None
        while True:
            params = {"limit": limit}
            if cursor:
                params["cursor"] = cursor
            r = self.api("GET", "/api/v1/links", params=params)
            assert r.status_code == 200, r.text[:500]
            body = r.json()
            items += body["items"]
            cursor = body["next_cursor"]
            if not cursor:
                return items

    def metrics(self):
        r = self.get("/metrics")
        assert r.status_code == 200, r.text[:500]
        return r.text

    # -- accounts ------------------------------------------------------------
    def req(self, method, path, cred=None, json_body=None, params=None, headers=None,
            via="bearer", session=None, **kw):
        """An API call as the holder of cred (None: no credential at all).
        via: "bearer" (Authorization: Bearer) or "x-api-key"."""
        h = {}
        if cred is not None:
            if via == "bearer":
                h["Authorization"] = "Bearer " + cred
            else:
                h["X-Api-Key"] = cred
        data = kw.pop("data", None)
        if json_body is not None:
            data = json.dumps(json_body)
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        kw.setdefault("timeout", HTTP_TIMEOUT)
        kw.setdefault("allow_redirects", False)
        return (session or self.http).request(method, self.url(path), data=data, headers=h,
                                              params=params, **kw)

    def cli(self, *args, env=None, input=None, check=True, timeout=30):
        """`linkpulse ARGS --data DIR` against this server's data dir (it may be
        running). check: assert exit 0."""
        require_binary()
        e = clean_env(**(env or {}))
        r = subprocess.run([BIN] + list(args) + ["--data", str(self.data)], env=e, cwd=self.root,
                           input=input if input is not None else "", capture_output=True,
                           text=True, timeout=timeout)
        if check:
            assert r.returncode == 0, "linkpulse %s -> exit %s\nstdout: %s\nstderr: %s" % (
                " ".join(args), r.returncode, r.stdout[-2000:], r.stderr[-2000:])
        return r


# -- accounts, tokens and keys ------------------------------------------------

PASSWORD = "correct horse battery staple"
ID_RE = re.compile(r"^[1-9][0-9]{0,18}$")
APIKEY_RE = re.compile(r"^lp_[0-9A-Za-z]{38}$")
# Modules that are not about rate limits lift them, so that the many log-ins
# of a test module (all from 127.0.0.1) are never refused.
NO_LIMITS = ["--rate-auth", "10000000", "--rate-api-free", "10000000",
             "--rate-api-paid", "10000000"]


def b64u(raw):
    if isinstance(raw, str):
        raw = raw.encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64u_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwt_decode(token):
    """(header, payload) of a compact JWS, unverified."""
    h, p, _ = token.split(".")
    return json.loads(b64u_decode(h)), json.loads(b64u_decode(p))


def jwt_encode(key, payload, header=None, alg_sig=True):
    """A compact HS256 JWS signed with key (bytes) the way LinkPulse writes them."""
    header = header if header is not None else {"alg": "HS256", "typ": "JWT", "kid": "t1"}
    signing = b64u(json.dumps(header, separators=(",", ":"))) + "." + \
        b64u(json.dumps(payload, separators=(",", ":")))
    sig = hmac.new(key, signing.encode(), hashlib.sha256).digest() if alg_sig else b""
    return signing + "." + b64u(sig)


def jwt_claims(sub, ttl=900, iat=None):
    now = int(time.time())
    iat = now if iat is None else iat
    return {"sub": str(sub), "iat": iat, "exp": iat + ttl, "jti": secrets.token_hex(16)}


def jwt_keyring(kid="t1"):
    """(key bytes, LINKPULSE_JWT_KEYS value) for a server whose key tests know."""
    key = secrets.token_bytes(32)
    return key, "%s:%s" % (kid, b64u(key))


def wait_until(fn, timeout=10.0, interval=0.05, what="condition"):
    """Polls fn() until it returns something truthy; returns that value."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            pytest.fail("%s not reached within %ss (last: %r)" % (what, timeout, v), pytrace=False)
        time.sleep(interval)


def assert_unauthorized(resp, name="unauthorized"):
    """401 problem with the WWW-Authenticate challenge."""
    body = assert_problem(resp, 401, name)
    if name == "unauthorized":
        challenge = resp.headers.get("WWW-Authenticate", "")
        assert challenge == 'Bearer realm="linkpulse"', \
            "401 without the Bearer challenge (%r): %s %s" % (challenge, resp.request.method,
                                                              resp.request.url)
    return body


def assert_token_pair(body):
    assert set(body) >= {"access_token", "token_type", "expires_in", "refresh_token", "user"}, body
    assert body["token_type"] == "Bearer", body
    assert body["expires_in"] == 900 and type(body["expires_in"]) is int, body
    assert isinstance(body["access_token"], str) and body["access_token"].count(".") == 2, body
    assert isinstance(body["refresh_token"], str) and len(body["refresh_token"]) >= 32, body
    assert "." not in body["refresh_token"], body
    return body


def assert_user(u, email=None):
    assert isinstance(u, dict), u
    assert set(u) >= {"id", "email", "name", "personal_team_id", "created_at"}, u
    assert isinstance(u["id"], str) and ID_RE.match(u["id"]), "ids are strings: %r" % u
    assert isinstance(u["personal_team_id"], str) and ID_RE.match(u["personal_team_id"]), u
    assert TS_RE.match(u["created_at"]), u
    if email is not None:
        assert u["email"] == email, u
    return u


class Account:
    """A signed-up (or logged-in) user and their current tokens."""

    def __init__(self, srv, body, email, password):
        self.srv = srv
        self.email = email
        self.password = password
        self.update(body)

    def update(self, body):
        assert_token_pair(body)
        self.body = body
        self.user = body["user"]
        self.id = body["user"]["id"]
        self.team = body["user"]["personal_team_id"]
        self.access = body["access_token"]
        self.refresh = body["refresh_token"]
        return self

    def call(self, method, path, json_body=None, **kw):
        return self.srv.req(method, path, self.access, json_body, **kw)

    def __repr__(self):
        return "<Account %s %s>" % (self.id, self.email)


def unique_email(prefix="u"):
    return "%s-%s@example.com" % (prefix, secrets.token_hex(5))


def signup(srv, email=None, password=PASSWORD, name=None):
    email = email or unique_email()
    body = {"email": email, "password": password}
    if name is not None:
        body["name"] = name
    r = srv.req("POST", "/api/v1/auth/signup", None, body)
    assert r.status_code == 201, "signup %s -> %s %s" % (email, r.status_code, r.text[:500])
    assert_user(r.json()["user"], email)
    return Account(srv, r.json(), email, password)


def login(srv, email, password=PASSWORD):
    r = srv.req("POST", "/api/v1/auth/login", None, {"email": email, "password": password})
    assert r.status_code == 200, "login %s -> %s %s" % (email, r.status_code, r.text[:500])
    return Account(srv, r.json(), email, password)


def make_team(acct, name=None):
    r = acct.call("POST", "/api/v1/teams", {"name": name or unique("team")})
    assert r.status_code == 201, r.text[:500]
    return r.json()


def add_member(admin, team_id, email, role):
    r = admin.call("POST", "/api/v1/teams/%s/members" % team_id, {"email": email, "role": role})
    assert r.status_code == 201, "add %s as %s -> %s %s" % (email, role, r.status_code, r.text[:500])
    return r.json()


def make_key(acct, role, team_id=None, name=None, **extra):
    body = {"name": name or unique("key"), "role": role}
    if team_id is not None:
        body["team_id"] = team_id
    body.update(extra)
    r = acct.call("POST", "/api/v1/api-keys", body)
    assert r.status_code == 201, "key %s -> %s %s" % (body, r.status_code, r.text[:500])
    k = r.json()
    assert APIKEY_RE.match(k["key"] or ""), k
    return k


def create_link(srv, cred, expect=201, **fields):
    fields.setdefault("url", "https://example.com/" + unique("p"))
    params = fields.pop("params", None)
    r = srv.req("POST", "/api/v1/links", cred, fields, params=params)
    assert r.status_code == expect, "create %s -> %s %s" % (fields, r.status_code, r.text[:500])
    return r.json()


def count_links(srv, cred, team_id=None):
    n, cursor = 0, None
    while True:
        params = {"limit": 100}
        if team_id is not None:
            params["team_id"] = team_id
        if cursor:
            params["cursor"] = cursor
        r = srv.req("GET", "/api/v1/links", cred, params=params)
        assert r.status_code == 200, r.text[:500]
        body = r.json()
        n += len(body["items"])
        cursor = body["next_cursor"]
        if not cursor:
            return n


def routes():
    """`linkpulse routes` as a list of dicts."""
    r = run_cli(["routes"], cwd="/")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert isinstance(out, list) and out, r.stdout
    return out


@contextlib.contextmanager
def fresh_connections(srv):
    """Every request through srv's session in the block opens its own
    connection (Connection: close), so that the kernel's SO_REUSEPORT hash
    spreads them over the server's workers; the session otherwise keeps one
    connection, which one worker serves."""
    srv.http.headers["Connection"] = "close"
    try:
        yield
    finally:
        srv.http.headers["Connection"] = "keep-alive"


def on_every_worker(srv, check, times=16):
    """check() on 16 fresh connections: both of two workers, but for a
    chance of 2 in 65,536."""
    with fresh_connections(srv):
        for _ in range(times):
            check()


def parallel(n, fn, timeout=60):
    """Runs fn(i, session) in n threads released together; the results in order."""
    from concurrent.futures import ThreadPoolExecutor
    barrier = threading.Barrier(n)

    def run(i):
        s = requests.Session()
        try:
            barrier.wait(timeout)
            return fn(i, s)
        finally:
            s.close()

    with ThreadPoolExecutor(n) as ex:
        return list(ex.map(run, range(n), timeout=timeout))


# -- raw HTTP/1.1 pipelining (floods without client overhead) --------------------

def _read_response(f):
    line = f.readline()
    if not line:
        raise EOFError("connection closed")
    status = int(line.split()[1])
    headers = {}
    while True:
        h = f.readline()
        if h in (b"\r\n", b"\n", b""):
            break
        k, _, v = h.decode("latin-1").partition(":")
        headers[k.strip().lower()] = v.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int(f.readline().split(b";")[0], 16)
            if size == 0:
                while f.readline() not in (b"\r\n", b"\n", b""):
                    pass
                break
            body += f.read(size)
            f.readline()
    else:
        body = f.read(int(headers.get("content-length", "0")))
    return status, headers, body


def http_request_bytes(method, path, host, body=None, headers=None):
    h = {"Host": host}
    if body is not None:
        h["Content-Type"] = "application/json"
        h["Content-Length"] = str(len(body))
    h.update(headers or {})
    head = "%s %s HTTP/1.1\r\n" % (method, path) + "".join("%s: %s\r\n" % kv for kv in h.items())
    return head.encode() + b"\r\n" + (body or b"")


def pipeline(srv, reqs, timeout=60):
    """Writes every request (bytes) on one keep-alive connection without
    waiting, reads the answers in order: [(status, headers, body)]."""
    sock = socket.create_connection((srv.host, srv.port), timeout=timeout)
    try:
        sender = threading.Thread(target=lambda: sock.sendall(b"".join(reqs)), daemon=True)
        sender.start()
        f = sock.makefile("rb")
        out = [_read_response(f) for _ in reqs]
        sender.join(timeout)
        return out
    finally:
        sock.close()


@pytest.fixture(scope="session")
def linkpulse_bin():
    require_binary()
    return BIN


class ServerFactory:
    def __init__(self, root):
        self.root = Path(root)
        self.servers = []
        self.n = 0

    def __call__(self, start=True, **kw):
        self.n += 1
        kw.setdefault("name", "srv%d" % self.n)
        s = Server(self.root, **kw)
        self.servers.append(s)
        return s.start() if start else s

    def stop_all(self):
        errors = []
        for s in self.servers:
            if s.proc is None:
                continue
            s.http.close()
            s.send_signal(signal.SIGTERM)
            rc = s.wait_exit()
            if rc != 0:
                errors.append("%s exited %s\nstderr:\n%s" % (s.name, rc, s.stderr()[-6000:]))
        assert not errors, "\n\n".join(errors)


@pytest.fixture
def server_factory(tmp_path, linkpulse_bin):
    """Start servers inside a test; all are SIGTERMed (exit 0 asserted) at teardown."""
    f = ServerFactory(tmp_path)
    yield f
    f.stop_all()


@pytest.fixture(scope="module")
def module_factory(tmp_path_factory, linkpulse_bin):
    """Start servers shared by a module's tests (extra flags and env per
    server: module_factory(args=[...], env={...})); all stopped at the end."""
    f = ServerFactory(tmp_path_factory.mktemp("lpm"))
    yield f
    f.stop_all()


@pytest.fixture(scope="module")
def module_server(tmp_path_factory, linkpulse_bin):
    """One server shared by a module's read-mostly tests."""
    f = ServerFactory(tmp_path_factory.mktemp("lp"))
    s = f(name="mod")
    yield s
    f.stop_all()


@pytest.fixture
def server(server_factory):
    """A fresh server of the test's own."""
    return server_factory(name="fn")
