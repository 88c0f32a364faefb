/* crawl: what crawlers and wary visitors see. /robots.txt allows the
 * crawlable active links and disallows the rest; /{code}+ shows a preview
 * page of a link (destination, title, creation date, visits) without
 * redirecting or counting a visit.
 *
 * /robots.txt at scale: the store walks a partial index over crawlable
 * links only (never all links), stops at API_ROBOTS_MAX_CODES codes or
 * API_ROBOTS_MAX_BYTES (the size Google reads), and each worker keeps the
 * body for API_ROBOTS_TTL_MS, so a million links cost one indexed read per
 * worker per minute. Each response copies the body into its request's pool,
 * so a rebuild never frees bytes a slow client is still being sent. */
#include "api/api.h"

#include "http/server.h"
#include "util/clock.h"
#include "util/rfc3339.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool get_or_head(struct reqctx *rc)
{
    h2o_iovec_t m = rc->req->method;
    if (h2o_memis(m.base, m.len, H2O_STRLIT("GET")) || h2o_memis(m.base, m.len, H2O_STRLIT("HEAD")))
        return true;
    respond_problem(rc, 405, "method-not-allowed", "Method not allowed", "this path answers GET and HEAD", NULL);
    return false;
}

/* The public pages of a link (/{code}+, /{code}/qr) answer like the
 * redirect: unknown codes 404 (spending the per-IP miss budget), expired or
 * exhausted links 410. Fills rc->w->scratch. */
bool api_public_link(struct reqctx *rc, const char *code, size_t len)
{
    if (!get_or_head(rc))
        return false;
    struct worker *w = rc->w;
    switch (store_link_resolve(w->reader, rc->domain_id, code, len, &w->scratch)) {
    case STORE_OK:
        break;
    case STORE_NOT_FOUND:
        if (api_miss_allowed(rc))
            respond_page(rc, 404);
        return false;
    default:
        respond_unavailable(rc, "the link store cannot be read");
        return false;
    }
    int64_t now = (int64_t)rc->req->processed_at.at.tv_sec * 1000 + rc->req->processed_at.at.tv_usec / 1000;
    switch (link_state(&w->scratch, now)) {
    case LINK_ACTIVE:
        return true;
    case LINK_DISABLED: /* lifetime (issue 4): like an unknown code */
    case LINK_NOT_YET:
        respond_page(rc, 404);
        return false;
    default:
        respond_page(rc, 410);
        return false;
    }
}

/* ---- /robots.txt ---------------------------------------------------------- */

struct robots_build {
    char *buf;
    size_t len, cap; /* cap keeps room for the closing "Disallow: /" */
    bool truncated;
};

static int robots_add(void *ctx, const char *code, size_t len)
{
    struct robots_build *b = ctx;
    /* "$" ends the pattern (RFC 9309 2.2.3): /abc must not allow /abcd. */
    if (b->len + len + sizeof("Allow: /$\n") > b->cap) {
        b->truncated = true;
        return 1;
    }
    memcpy(b->buf + b->len, "Allow: /", 8);
    memcpy(b->buf + b->len + 8, code, len);
    memcpy(b->buf + b->len + 8 + len, "$\n", 2);
    b->len += 10 + len;
    return 0;
}

static const char robots_head[] = "User-agent: *\n";
static const char robots_tail[] = "Disallow: /\n";
static const char robots_cut[] = "# truncated: more crawlable links than fit\n";

/* The robots.txt of a domain into a malloc'd *out. */
static int robots_build(struct worker *w, int64_t domain_id, char **out, size_t *out_len)
{
    size_t cap = API_ROBOTS_MAX_BYTES;
    char *buf = malloc(cap);
    if (buf == NULL)
        return -1;
    struct robots_build b = {buf, sizeof(robots_head) - 1, cap - sizeof(robots_tail) - sizeof(robots_cut), false};
    memcpy(buf, robots_head, b.len);
    int n = store_links_crawlable(w->reader, domain_id, clock_wall_ms(), API_ROBOTS_MAX_CODES, robots_add, &b);
    if (n < 0) {
        free(buf);
        return -1;
    }
    if (b.truncated || n == API_ROBOTS_MAX_CODES) {
        memcpy(buf + b.len, robots_cut, sizeof(robots_cut) - 1);
        b.len += sizeof(robots_cut) - 1;
    }
    memcpy(buf + b.len, robots_tail, sizeof(robots_tail) - 1);
    b.len += sizeof(robots_tail) - 1;
    *out = buf;
    *out_len = b.len;
    return 0;
}

/* The default domain's robots.txt is kept per worker for a minute; other
 * domains' (domains, issue 4) are built per request from the same partial
 * index. */
void api_robots(struct reqctx *rc)
{
    if (!get_or_head(rc))
        return;
    struct worker *w = rc->w;
    char *buf = NULL;
    size_t len = 0;
    if (rc->domain_id != 0) {
        if (robots_build(w, rc->domain_id, &buf, &len) != 0) {
            respond_unavailable(rc, "the link store cannot be read");
            return;
        }
    } else {
        if ((w->robots == NULL || clock_mono_ms() - w->robots_at >= API_ROBOTS_TTL_MS) &&
            robots_build(w, 0, &buf, &len) == 0) {
            free(w->robots);
            w->robots = buf;
            w->robots_len = len;
            w->robots_at = clock_mono_ms();
        }
        buf = NULL;
        if (w->robots == NULL) {
            respond_unavailable(rc, "the link store cannot be read");
            return;
        }
    }
    size_t blen = buf != NULL ? len : w->robots_len;
    char *body = h2o_mem_alloc_pool(&rc->req->pool, blen);
    memcpy(body, buf != NULL ? buf : w->robots, blen);
    free(buf);
    h2o_add_header(&rc->req->pool, &rc->req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                   H2O_STRLIT("public, max-age=60"));
    respond_bytes(rc, 200, "text/plain; charset=utf-8", body, blen);
}

/* ---- /{code}+ --------------------------------------------------------------- */

/* Appends s escaped for HTML text and attribute values. */
static size_t esc(char *dst, const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        const char *e = NULL;
        switch (s[i]) {
        case '&':
            e = "&amp;";
            break;
        case '<':
            e = "&lt;";
            break;
        case '>':
            e = "&gt;";
            break;
        case '"':
            e = "&quot;";
            break;
        case '\'':
            e = "&#39;";
            break;
        default:
            dst[n++] = s[i];
            continue;
        }
        size_t el = strlen(e);
        memcpy(dst + n, e, el);
        n += el;
    }
    return n;
}
#define ESC_MAX(n) (6 * (n)) /* "&quot;" is the longest entity */

static size_t put(char *dst, const char *s)
{
    size_t n = strlen(s);
    memcpy(dst, s, n);
    return n;
}

static const char preview_head[] =
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Link preview</title>"
    "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><meta name=\"robots\" content=\"noindex\">"
    "<style>body{font:16px/1.5 system-ui,sans-serif;margin:10vh auto;max-width:40em;padding:0 1em;color:#222}"
    "h1{font-size:1.4em}dt{font-weight:600;margin-top:.6em}dd{margin:0;overflow-wrap:anywhere}"
    ".go{display:inline-block;margin-top:1.2em;padding:.5em 1em;background:#0a58ca;color:#fff;border-radius:4px;"
    "text-decoration:none}</style></head><body><h1>Where this link goes</h1><dl>";

void api_preview(struct reqctx *rc, const char *code, size_t len)
{
    if (!api_public_link(rc, code, len))
        return;
    h2o_req_t *req = rc->req;
    const struct link *l = &rc->w->scratch;
    char short_url[API_SHORT_URL_MAX];
    size_t slen = api_short_url(rc, l->code, strlen(l->code), short_url);
    size_t ulen = strlen(l->url), tlen = l->has_title ? strlen(l->title) : 0;
    size_t cap = sizeof(preview_head) + 1024 + ESC_MAX(slen) + 2 * ESC_MAX(ulen) + ESC_MAX(tlen);
    char *p = h2o_mem_alloc_pool(&req->pool, cap), *o = p;
    char created[RFC3339_BUF], visits[24];
    rfc3339_format(l->created_at, created);
    snprintf(visits, sizeof(visits), "%lld", (long long)l->visits_total);
    o += put(o, preview_head);
    o += put(o, "<dt>Short link</dt><dd>");
    o += esc(o, short_url, slen);
    /* password-protected links (issue 4): the destination stays behind the password */
    bool locked = l->password_hash[0] != '\0';
    o += put(o, "</dd><dt>Destination</dt><dd>");
    if (locked)
        o += put(o, "<em>protected by a password</em>");
    else
        o += esc(o, l->url, ulen);
    o += put(o, "</dd><dt>Title</dt><dd>");
    if (l->has_title)
        o += esc(o, l->title, tlen);
    else
        o += put(o, "<em>none</em>");
    o += put(o, "</dd><dt>Created</dt><dd><time>");
    o += put(o, created);
    o += put(o, "</time></dd><dt>Visits</dt><dd>");
    o += put(o, visits);
    o += put(o, "</dd></dl><a class=\"go\" rel=\"noreferrer nofollow\" href=\"");
    if (locked)
        o += esc(o, short_url, slen);
    else
        o += esc(o, l->url, ulen);
    o += put(o, locked ? "\">Continue (the password is asked there)</a></body></html>\n"
                       : "\">Continue to the destination</a></body></html>\n");
    h2o_headers_t *h = &req->res.headers;
    h2o_add_header_by_str(&req->pool, h, H2O_STRLIT("x-robots-tag"), 0, NULL, H2O_STRLIT("noindex"));
    h2o_add_header_by_str(
        &req->pool, h, H2O_STRLIT("content-security-policy"), 0, NULL,
        H2O_STRLIT("default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none';"
                   " frame-ancestors 'none'"));
    h2o_add_header_by_str(&req->pool, h, H2O_STRLIT("referrer-policy"), 0, NULL, H2O_STRLIT("no-referrer"));
    h2o_add_header(&req->pool, h, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    respond_bytes(rc, 200, "text/html; charset=utf-8", p, (size_t)(o - p));
}
