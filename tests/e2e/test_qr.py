"""QR codes: GET /{code}/qr (public) and GET /api/v1/links/{code}/qr.

Every image is decoded with zbarimg (Debian's zbar-tools) and must hold the
exact short URL. SVGs are rasterised here by a small reader of the one path
format LinkPulse writes ("M x y h n v1 h-n z" per dark run), into a PGM
that zbarimg reads."""

import re
import struct
import subprocess
import zlib

import pytest

from conftest import assert_problem, signup, unique

SVG_RE = re.compile(r'^<svg xmlns="http://www.w3.org/2000/svg" width="(\d+)" height="(\d+)" '
                    r'viewBox="0 0 (\d+) (\d+)" shape-rendering="crispEdges">'
                    r'<rect width="\d+" height="\d+" fill="#([0-9a-f]{6})"/>'
                    r'<path fill="#([0-9a-f]{6})" d="([^"]*)"/></svg>\n$')
RUN_RE = re.compile(r"M(\d+) (\d+)h(\d+)v1h-(\d+)z")
PX = 6  # pixels per module when rasterising an SVG


@pytest.fixture(scope="module")
def srv(module_server):
    return module_server


def zbar(tmp_path, data, suffix):
    f = tmp_path / ("img-%s.%s" % (unique("q"), suffix))
    f.write_bytes(data)
    r = subprocess.run(["zbarimg", "--quiet", "--raw", str(f)], capture_output=True, timeout=30)
    assert r.returncode == 0, "zbarimg found no code in %s: %s" % (f, r.stderr[-500:])
    return r.stdout.decode().strip()


def parse_svg(text):
    m = SVG_RE.match(text)
    assert m, "unexpected SVG: %s" % text[:300]
    w, h, n, n2, bg, fg, d = m.groups()
    assert w == h and n == n2
    runs = RUN_RE.findall(d)
    assert "".join("M%s %sh%sv1h-%sz" % r for r in runs) == d, "path has other commands"
    return {"size": int(w), "modules": int(n), "bg": bg, "fg": fg,
            "runs": [tuple(int(x) for x in r) for r in runs]}


def svg_to_pgm(svg):
    n = svg["modules"]
    grid = [[255] * n for _ in range(n)]
    for x, y, length, back in svg["runs"]:
        assert length == back and x + length <= n and y < n
        for i in range(x, x + length):
            grid[y][i] = 0
    side = n * PX
    rows = bytearray()
    for row in grid:
        line = bytearray()
        for v in row:
            line += bytes([v]) * PX
        rows += bytes(line) * PX
    return b"P5 %d %d 255\n" % (side, side) + bytes(rows)


def png_chunks(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:16]
    i, out = 8, {}
    while i < len(data):
        (length,) = struct.unpack(">I", data[i:i + 4])
        kind = data[i + 4:i + 8].decode()
        body = data[i + 8:i + 8 + length]
        assert struct.unpack(">I", data[i + 8 + length:i + 12 + length])[0] == zlib.crc32(data[i + 4:i + 8 + length])
        out.setdefault(kind, []).append(body)
        i += 12 + length
    return out


def decode_svg(tmp_path, r):
    assert r.status_code == 200, r.text[:300]
    assert r.headers["Content-Type"] == "image/svg+xml"
    svg = parse_svg(r.text)
    return svg, zbar(tmp_path, svg_to_pgm(svg), "pgm")


def decode_png(tmp_path, r):
    assert r.status_code == 200, r.text[:300]
    assert r.headers["Content-Type"] == "image/png"
    chunks = png_chunks(r.content)
    w, h, depth, ctype = struct.unpack(">IIBB", chunks["IHDR"][0][:10])
    return {"width": w, "height": h, "depth": depth, "ctype": ctype, "plte": chunks["PLTE"][0]}, \
        zbar(tmp_path, r.content, "png")


def test_public_svg_decodes_to_short_url(srv, tmp_path):
    link = srv.create()
    r = srv.get("/%s/qr" % link["code"])
    svg, text = decode_svg(tmp_path, r)
    assert text == link["short_url"] == srv.base_url + "/" + link["code"]
    assert svg["size"] == 256 and svg["fg"] == "000000" and svg["bg"] == "ffffff"
    # margin 4: the finder pattern's top row starts at (4, 4)
    assert svg["runs"][0] == (4, 4, 7, 7), svg["runs"][:3]
    assert r.headers["Cache-Control"] == "public, max-age=3600"
    etag = r.headers["ETag"]
    assert re.match(r'^"[0-9a-f]{16}"$', etag), etag
    again = srv.get("/%s/qr" % link["code"], headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["ETag"] == etag
    other = srv.get("/%s/qr?size=300" % link["code"], headers={"If-None-Match": etag})
    assert other.status_code == 200 and other.headers["ETag"] != etag
    head = srv.head("/%s/qr" % link["code"])
    assert head.status_code == 200 and head.headers["Content-Type"] == "image/svg+xml"


@pytest.mark.parametrize("ecc", ["L", "M", "Q", "H"])
def test_each_ecc_level_decodes_in_both_formats(srv, tmp_path, ecc):
    link = srv.create(slug=unique("Ecc-%s" % ecc))
    svg, text = decode_svg(tmp_path, srv.get("/%s/qr?ecc=%s" % (link["code"], ecc)))
    assert text == link["short_url"]
    png, text = decode_png(tmp_path, srv.get("/%s/qr?ecc=%s&format=png" % (link["code"], ecc)))
    assert text == link["short_url"]
    assert (png["width"], png["height"], png["depth"], png["ctype"]) == (256, 256, 1, 3)


def test_ecc_levels_differ(srv):
    """Higher levels carry more redundancy: never fewer modules, and H more than L."""
    link = srv.create(slug=unique("a-rather-long-slug-so-versions-change"))
    sizes = [parse_svg(srv.get("/%s/qr?ecc=%s&margin=0" % (link["code"], e)).text)["modules"]
             for e in "LMQH"]
    assert sizes == sorted(sizes) and sizes[3] > sizes[0], sizes
    bodies = {srv.get("/%s/qr?ecc=%s" % (link["code"], e)).text for e in "LMQH"}
    assert len(bodies) == 4


def test_colours_appear_and_still_decode(srv, tmp_path):
    link = srv.create()
    svg, text = decode_svg(tmp_path, srv.get("/%s/qr?fg=1A237E&bg=%%23fff8e1" % link["code"]))
    assert (svg["fg"], svg["bg"]) == ("1a237e", "fff8e1") and text == link["short_url"]
    png, text = decode_png(tmp_path, srv.get("/%s/qr?format=png&fg=%%231a237e&bg=fff8e1" % link["code"]))
    assert png["plte"] == bytes.fromhex("fff8e1") + bytes.fromhex("1a237e")  # index 0 bg, 1 fg
    assert text == link["short_url"]


def test_size_and_margin(srv, tmp_path):
    link = srv.create()
    png, text = decode_png(tmp_path, srv.get("/%s/qr?format=png&size=2048" % link["code"]))
    assert (png["width"], png["height"]) == (2048, 2048) and text == link["short_url"]
    png, text = decode_png(tmp_path, srv.get("/%s/qr?format=png&size=333&margin=1" % link["code"]))
    assert png["width"] == 333 and text == link["short_url"]
    svg, text = decode_svg(tmp_path, srv.get("/%s/qr?size=64&margin=16" % link["code"]))
    assert svg["size"] == 64 and svg["runs"][0][:2] == (16, 16) and text == link["short_url"]
    svg0 = parse_svg(srv.get("/%s/qr?margin=0" % link["code"]).text)
    assert svg0["modules"] == svg["modules"] - 32


BAD_PARAMS = [
    ("format=gif", "format"), ("format=", "format"),
    ("size=15", "size"), ("size=2049", "size"), ("size=abc", "size"), ("size=-5", "size"),
    ("size=16", "size"),  # fewer pixels than modules
    ("margin=17", "margin"), ("margin=x", "margin"),
    ("ecc=X", "ecc"), ("ecc=", "ecc"),
    ("fg=12345", "fg"), ("fg=zzzzzz", "fg"), ("bg=%2312", "bg"), ("bg=blue", "bg"),
    ("fg=ffffff", "fg"),                 # same as the background
    ("fg=ffffff&bg=000000", "fg"),       # light on dark
    ("fg=777777&bg=888888", "fg"),       # too little contrast
]


@pytest.mark.parametrize("query,param", BAD_PARAMS)
def test_bad_params_name_the_param(srv, query, param):
    link = srv.create()
    assert_problem(srv.get("/%s/qr?%s" % (link["code"], query)), 400, "validation", param)
    assert_problem(srv.api("GET", "/api/v1/links/%s/qr?%s" % (link["code"], query)), 400, "validation", param)


def test_public_route_unknown_and_spent(srv):
    r = srv.get("/no-such-code-%s/qr" % unique("x"))
    assert r.status_code == 404 and r.headers["Content-Type"].startswith("text/html")
    link = srv.create(max_visits=1)
    assert srv.get("/%s/qr" % link["code"]).status_code == 200
    assert srv.get("/" + link["code"]).status_code == 302
    r = srv.get("/%s/qr" % link["code"])
    assert r.status_code == 410 and r.headers["Content-Type"].startswith("text/html")
    assert srv.api("DELETE", "/api/v1/links/" + link["code"]).status_code == 204
    assert srv.get("/%s/qr" % link["code"]).status_code == 404
    r = srv.http.post(srv.url("/%s/qr" % srv.create()["code"]))
    assert_problem(r, 405, "method-not-allowed")


def test_api_route(srv, tmp_path):
    link = srv.create()
    r = srv.api("GET", "/api/v1/links/%s/qr?format=png&size=300&ecc=H" % link["code"])
    png, text = decode_png(tmp_path, r)
    assert png["width"] == 300 and text == link["short_url"]
    assert r.headers["Cache-Control"] == "private, no-cache"
    assert_problem(srv.api("GET", "/api/v1/links/nosuchcode1/qr"), 404, "not-found")
    assert_problem(srv.api("GET", "/api/v1/links/%s/qr" % link["code"], auth=False), 401, "unauthorized")


def test_api_route_is_team_scoped(srv, tmp_path):
    a, b = signup(srv), signup(srv)
    r = srv.req("POST", "/api/v1/links", a.access, {"url": "https://example.com/" + unique("qa")})
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    ok = a.call("GET", "/api/v1/links/%s/qr" % code)
    assert decode_svg(tmp_path, ok)[1] == r.json()["short_url"]
    assert_problem(b.call("GET", "/api/v1/links/%s/qr" % code), 404, "not-found")
    assert_problem(b.call("GET", "/api/v1/links/%s/qr" % code, params={"team_id": a.team}), 404, "not-found")
