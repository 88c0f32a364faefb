"""Command line: --help, --version, refusing bad flags, env config, the admin key."""

import os
import re
import stat

import pytest
import requests

from conftest import REPO, clean_env, free_port, run_cli


def test_help(linkpulse_bin, tmp_path):
    r = run_cli(["--help"], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "usage" in r.stdout.lower(), r.stdout
    assert "--listen" in r.stdout and "--data" in r.stdout, r.stdout


def test_version(linkpulse_bin, tmp_path):
    r = run_cli(["--version"], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(r"linkpulse \d+\.\d+\.\d+\s*", r.stdout), repr(r.stdout)
    want = (REPO / "VERSION").read_text().strip()
    assert r.stdout.split()[1] == want


BAD_ARGS = [
    # (extra argv, the flag stderr must name)
    (["--no-such-flag"], "--no-such-flag"),
    (["--workers", "0"], "--workers"),
    (["--workers", "abc"], "--workers"),
    (["--workers", "-3"], "--workers"),
    (["--workers"], "--workers"),  # value missing
    (["--listen", "nonsense"], "--listen"),
    (["--listen", "127.0.0.1:99999"], "--listen"),
    (["--cache-mb", "-1"], "--cache-mb"),
    (["--cache-mb", "lots"], "--cache-mb"),
    (["--code-length", "abc"], "--code-length"),
    (["--code-length", "0"], "--code-length"),
    (["--request-timeout-ms", "abc"], "--request-timeout-ms"),
    (["--request-timeout-ms", "-5"], "--request-timeout-ms"),
    (["--base-url", "not a url"], "--base-url"),
]


@pytest.mark.parametrize("extra,flag", BAD_ARGS, ids=[" ".join(a) for a, _ in BAD_ARGS])
def test_bad_flag_exits_2(linkpulse_bin, tmp_path, extra, flag):
    argv = ["serve", "--data", str(tmp_path / "d")]
    if extra[0] != "--listen":
        argv += ["--listen", "127.0.0.1:%d" % free_port()]
    # the value-less flag must come last so it really lacks its value
    r = run_cli(argv + extra, env=clean_env(LINKPULSE_ADMIN_KEY="k-cli-test-123456"), cwd=tmp_path)
    assert r.returncode == 2, "exit %s, stderr: %s" % (r.returncode, r.stderr)
    assert flag in r.stderr, "stderr should name %s: %r" % (flag, r.stderr)
    assert "k-cli-test-123456" not in r.stdout + r.stderr


def test_env_configuration(server_factory, tmp_path):
    """LINKPULSE_* variables stand in for the flags."""
    port = free_port()
    data = tmp_path / "envdata"
    s = server_factory(start=False, name="env", access_log=False, port=port, flags=False)
    s.extra_env = {
        "LINKPULSE_LISTEN": "127.0.0.1:%d" % port,
        "LINKPULSE_DATA": str(data),
        "LINKPULSE_WORKERS": "1",
        "LINKPULSE_BASE_URL": "https://sho.rt",
        "LINKPULSE_CODE_LENGTH": "10",
        "LINKPULSE_CACHE_MB": "8",
        "LINKPULSE_ACCESS_LOG": "off",
    }
    s.start()
    r = s.api("POST", "/api/v1/links", {"url": "https://example.com/env"})
    assert r.status_code == 201, r.text
    link = r.json()
    assert re.fullmatch(r"[0-9A-Za-z]{10}", link["code"]), link
    assert link["short_url"] == "https://sho.rt/" + link["code"], link
    assert data.is_dir() and any(data.iterdir()), "LINKPULSE_DATA not used"
    # a link to the configured base URL's own host is a redirect loop
    r = s.api("POST", "/api/v1/links", {"url": "https://sho.rt/abc"})
    assert r.status_code == 422, r.text


def test_code_length_flag(server_factory):
    s = server_factory(args=["--code-length", "12"])
    r = s.api("POST", "/api/v1/links", {"url": "https://example.com/cl"})
    assert r.status_code == 201, r.text
    assert re.fullmatch(r"[0-9A-Za-z]{12}", r.json()["code"]), r.json()


def test_generated_admin_key(server_factory):
    s = server_factory(start=False, admin_key=None)
    s.start()
    keyfile = s.data / "admin.key"
    assert keyfile.is_file(), "first start without LINKPULSE_ADMIN_KEY must write admin.key"
    mode = stat.S_IMODE(os.stat(keyfile).st_mode)
    assert mode == 0o600, "admin.key mode %o" % mode
    key = keyfile.read_text().strip()
    assert len(key) >= 16, "weak or empty key %r" % key
    s.key = key
    assert s.api("GET", "/api/v1/links").status_code == 200
    assert s.api("GET", "/api/v1/links", headers={"Authorization": "Bearer nope"}).status_code == 401
    r = requests.get(s.url("/api/v1/links"), headers={"X-Api-Key": key}, timeout=10)
    assert r.status_code == 200
    s.stop()
    first_out = s.stdout()
    assert key in first_out, "the generated key must be printed on stdout once: %r" % first_out
    assert key not in s.stderr()

    s.start()
    assert keyfile.read_text().strip() == key, "admin.key rewritten on second start"
    assert s.api("GET", "/api/v1/links").status_code == 200, "old key stopped working"
    s.stop()
    second_out = s.stdout()
    assert key not in second_out and key not in s.stderr()
    # nothing that looks like a fresh key of the same shape
    charset = "A-Za-z0-9_\\-+/=" if re.search(r"[^A-Za-z0-9]", key) else "A-Za-z0-9"
    looks_like_key = re.findall(r"(?<![%s])[%s]{%d}(?![%s])" % (charset, charset, len(key), charset),
                                second_out)
    assert not looks_like_key, "second start printed a new key? %r" % second_out


def test_env_admin_key_never_printed_or_stored_plain(server_factory):
    s = server_factory()
    key = s.admin_key
    assert s.api("GET", "/api/v1/links").status_code == 200
    r = requests.get(s.url("/api/v1/links"), headers={"X-Api-Key": key}, timeout=10)
    assert r.status_code == 200
    s.create(title="k")
    s.stop()
    assert key not in s.stdout() and key not in s.stderr()
    assert key not in "\n".join(s.access_lines())
    assert not (s.data / "admin.key").exists() or key not in (s.data / "admin.key").read_text()
    raw = key.encode()
    for p in s.data.rglob("*"):
        if p.is_file():
            assert raw not in p.read_bytes(), "admin key stored in plain text in %s" % p
