/* redirect: GET/HEAD /{code}, the hot path.
 * A cache hit reads no database and allocates only the Location value from
 * the request's pool; the visit is copied into the worker's ring for the
 * sink (events/sink.h), never written here. Links with a visit limit take
 * one trip through the writer, which counts the visit and refuses it past
 * the limit, so the limit holds exactly however many workers serve the
 * link; HEAD requests and link-preview fetchers only look, spending nothing.
 * Unknown codes spend a per-IP budget (--rate-miss) so that scanning the
 * code space is slow, and are recorded as orphan visits only within it;
 * hits never touch it. */
#include "api/api.h"

#include "analytics/geoip.h"
#include "analytics/ua.h"
#include "core/rules.h"
#include "core/snap.h"
#include "core/target.h"
#include "http/server.h"
#include "util/clock.h"

#include <string.h>

/* A header's value in the request (not copied); NULL, 0 when absent. */
static const char *header(h2o_req_t *req, const h2o_token_t *token, size_t *len)
{
    ssize_t i = h2o_find_header(&req->headers, token, -1);
    *len = i < 0 ? 0 : req->headers.entries[i].value.len;
    return i < 0 ? NULL : req->headers.entries[i].value.base;
}

static bool header_is_1(h2o_req_t *req, const char *name, size_t nlen)
{
    ssize_t i = h2o_find_header_by_str(&req->headers, name, nlen, -1);
    return i >= 0 && h2o_memis(req->headers.entries[i].value.base, req->headers.entries[i].value.len, "1", 1);
}

/* redirect rules (issue 4): the visit records the URL after rules. */
static void domain_page(struct reqctx *rc, int status);
static void gone(struct reqctx *rc);
static void capture_to(struct reqctx *rc, enum store_visit_kind kind, const struct link_snap *link, const char *target,
                       size_t target_len);

void api_capture(struct reqctx *rc, enum store_visit_kind kind, const struct link_snap *link)
{
    capture_to(rc, kind, link, link ? (const char *)(link + 1) : NULL, link ? link->url_len : 0);
}

static void capture_to(struct reqctx *rc, enum store_visit_kind kind, const struct link_snap *link, const char *target,
                       size_t target_len)
{
    struct worker *w = rc->w;
    const struct config *cfg = w->app->cfg;
    h2o_req_t *req = rc->req;
    struct visit_head head;
    head.ts = (int64_t)req->processed_at.at.tv_sec * 1000 + req->processed_at.at.tv_usec / 1000;
    head.kind = (uint8_t)kind;
    head.link_id = link ? link->id : 0;
    head.team_id = link ? link->team_id : 0;
    head.domain_id = rc->domain_id; /* domains (issue 4) */
    head.flags = 0;
    if (!cfg->tracking ||
        (cfg->respect_dnt && (header_is_1(req, H2O_STRLIT("dnt")) || header_is_1(req, H2O_STRLIT("sec-gpc")))))
        head.flags |= VISIT_F_NO_DETAIL;
    api_client_ip(rc);
    memcpy(head.ip, rc->client_ip, 16);
    head.country[0] = head.country[1] = 0;
    if (cfg->geoip_header[0] != '\0' && rc->peer_trusted) {
        ssize_t i = h2o_find_header_by_str(&req->headers, cfg->geoip_header, strlen(cfg->geoip_header), -1);
        if (i >= 0 && req->headers.entries[i].value.len == 2) {
            const char *c = req->headers.entries[i].value.base;
            if (c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z') {
                head.country[0] = c[0];
                head.country[1] = c[1];
            }
        }
    }
    struct visit_text text = {.url = req->path.base, .url_len = req->path.len};
    text.ua = header(req, H2O_TOKEN_USER_AGENT, &text.ua_len);
    text.ref = header(req, H2O_TOKEN_REFERER, &text.ref_len);
    text.lang = header(req, H2O_TOKEN_ACCEPT_LANGUAGE, &text.lang_len);
    if (link != NULL) {
        text.target = target;
        text.target_len = target_len;
    }
    if (!sink_push(w->app->sink, w->index, &head, &text))
        metric_add(&w->metrics.visits_dropped, 1);
}

/* Crawlers and previews: search engines index a redirect's target under the
 * short URL unless told not to; only crawlable links allow it. A static
 * header value: nothing is copied. */
static void robots_header(struct reqctx *rc, const struct link_snap *s)
{
    if (!s->crawlable)
        h2o_add_header_by_str(&rc->req->pool, &rc->req->res.headers, H2O_STRLIT("x-robots-tag"), 0, NULL,
                              H2O_STRLIT("noindex"));
}

struct consume_call {
    struct api_call call; /* first */
    struct link_snap snap;
    const char *loc; /* the Location, in the request's pool (issue 4: after rules, UTM, forward_query) */
    size_t loc_len;
};

static void consume_reply(struct api_call *call, struct reqctx *rc)
{
    struct consume_call *cc = (struct consume_call *)call;
    switch (call->op.status) {
    case STORE_OK:
        capture_to(rc, VISIT_REDIRECT, &cc->snap, cc->loc, cc->loc_len);
        robots_header(rc, &cc->snap);
        respond_redirect(rc, cc->snap.redirect_type, cc->loc, cc->loc_len);
        break;
    case STORE_REFUSED:
    case STORE_NOT_FOUND:
        gone(rc);
        break;
    default:
        respond_unavailable(rc, "the visit could not be recorded");
    }
}

/* The domain's page for an unknown code or a dead link, or its redirect
 * (domains, issue 4). */
static void domain_page(struct reqctx *rc, int status)
{
    const char *to = api_domain_redirect(rc, status == 410 ? DOMAIN_EXPIRED : DOMAIN_NOT_FOUND);
    if (to != NULL)
        respond_redirect(rc, 302, to, strlen(to));
    else
        respond_page(rc, status);
}

/* An expired or used-up link: an orphan visit, as in Shlink, so the link's
 * own counts stay those of its redirects. */
static void gone(struct reqctx *rc)
{
    api_capture(rc, VISIT_INVALID_SHORT_URL, NULL);
    domain_page(rc, 410);
}

/* An unknown code (or a hidden link) within the client's miss budget is an
 * orphan visit; past it the answer is a 429 and nothing is recorded, so a
 * scan over its budget costs no enrichment, journal space or writer time. */
static void not_found(struct reqctx *rc)
{
    if (!api_miss_allowed(rc))
        return;
    api_capture(rc, VISIT_INVALID_SHORT_URL, NULL);
    domain_page(rc, 404);
}

/* HEAD and previews: is there a visit left? One read, nothing spent.
 * STORE_OK, STORE_NOT_FOUND (none left, or the link is gone) or STORE_ERROR. */
static int visits_left(struct reqctx *rc, const char *code, size_t len, int64_t now)
{
    struct worker *w = rc->w;
    int st = store_link_resolve(w->reader, rc->domain_id, code, len, &w->scratch);
    if (st == STORE_OK && link_state_at(0, w->scratch.max_visits, w->scratch.visits, now) != LINK_ACTIVE)
        st = STORE_NOT_FOUND;
    return st;
}

/* Link-preview fetchers (Slackbot, WhatsApp, ...) must not spend a visit. */
static bool is_preview(h2o_req_t *req)
{
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_USER_AGENT, -1);
    struct ua_info ua;
    if (i < 0)
        ua_parse("", 0, &ua);
    else
        ua_parse(req->headers.entries[i].value.base, req->headers.entries[i].value.len, &ua);
    return ua.preview;
}

/* ---- redirect rules (issue 4) ----------------------------------------------
 * Facts are gathered only when a rule reads them: the user agent is parsed
 * for device/os/browser conditions, the client address resolved for ip and
 * country ones, GeoIP (or the trusted country header) consulted for
 * country. Nothing is allocated; the winning URL points into the snapshot. */
static void rule_country(struct reqctx *rc, const struct ipaddr *ip, char out[2])
{
    const struct config *cfg = rc->w->app->cfg;
    h2o_req_t *req = rc->req;
    if (cfg->geoip_header[0] != '\0' && rc->peer_trusted) {
        ssize_t i = h2o_find_header_by_str(&req->headers, cfg->geoip_header, strlen(cfg->geoip_header), -1);
        if (i >= 0 && req->headers.entries[i].value.len == 2) {
            const char *c = req->headers.entries[i].value.base;
            if (c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z') {
                out[0] = c[0];
                out[1] = c[1];
                return;
            }
        }
    }
    struct geoip_result g;
    if (rc->w->app->geo != NULL && geoip_lookup(rc->w->app->geo, ip, &g) == 0 && g.country[0] != '\0') {
        out[0] = g.country[0];
        out[1] = g.country[1];
    }
}

static void apply_rules(struct reqctx *rc, const uint8_t *rules, size_t rules_len, int64_t now, const char **target,
                        size_t *target_len)
{
    h2o_req_t *req = rc->req;
    struct rules_facts f;
    memset(&f, 0, sizeof(f));
    f.now_ms = now;
    if (req->query_at != SIZE_MAX) {
        f.query = req->path.base + req->query_at + 1;
        f.query_len = req->path.len - req->query_at - 1;
    }
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_ACCEPT_LANGUAGE, -1);
    if (i >= 0) {
        f.accept_language = req->headers.entries[i].value.base;
        f.accept_language_len = req->headers.entries[i].value.len;
    }
    unsigned need = rules_needs(rules, rules_len);
    if (need & RULES_NEED_UA) {
        struct ua_info ua;
        i = h2o_find_header(&req->headers, H2O_TOKEN_USER_AGENT, -1);
        if (i < 0)
            ua_parse("", 0, &ua);
        else
            ua_parse(req->headers.entries[i].value.base, req->headers.entries[i].value.len, &ua);
        rules_facts_ua(&f, &ua);
    }
    if (need & (RULES_NEED_IP | RULES_NEED_COUNTRY)) {
        static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        api_client_ip(rc);
        if (memcmp(rc->client_ip, v4mapped, 12) == 0) {
            f.ip.family = 4;
            memcpy(f.ip.bytes, rc->client_ip + 12, 4);
        } else {
            f.ip.family = 6;
            memcpy(f.ip.bytes, rc->client_ip, 16);
        }
        if (need & RULES_NEED_COUNTRY)
            rule_country(rc, &f.ip, f.country);
    }
    const char *u;
    size_t ul;
    if (rules_eval(rules, rules_len, &f, &u, &ul)) {
        *target = u;
        *target_len = ul;
    }
}
/* ---- end redirect rules ---- */

void api_redirect(struct reqctx *rc, const char *code, size_t len)
{
    h2o_req_t *req = rc->req;
    struct worker *w = rc->w;
    bool head = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"));
    bool post = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST")); /* password form (issue 4) */
    if (!head && !post && !h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET"))) {
        respond_problem(rc, 405, "method-not-allowed", "Method not allowed", "short links answer GET and HEAD", NULL);
        return;
    }
    char key[API_CACHE_KEY_MAX];
    size_t klen = api_cache_key(key, rc->domain_id, code, len);
    /* The cache holds packed snapshots (core/snap.h); the one used is
     * unpacked in val. Redirect rules (issue 4) can make a snapshot bigger
     * than a cache entry: those are read each time. */
    uint8_t packed[SNAP_PACKED_MAX];
    _Alignas(8) char val[SNAP_MAX];
    size_t plen, vlen = 0;
    uint64_t gen;
    switch (cache_get(w->app->cache, key, klen, clock_mono_ms(), packed, sizeof(packed), &plen, &gen)) {
    case CACHE_HIT:
        metric_add(&w->metrics.cache_hits, 1);
        vlen = snap_unpack(val, sizeof(val), packed, plen);
        if (vlen == 0) { /* only snap_pack's output is ever put */
            respond_unavailable(rc, "the link cache holds a snapshot that does not unpack");
            return;
        }
        break;
    case CACHE_NEGATIVE:
        metric_add(&w->metrics.cache_negative_hits, 1);
        not_found(rc);
        return;
    case CACHE_MISS:
        metric_add(&w->metrics.cache_misses, 1);
        switch (store_link_resolve(w->reader, rc->domain_id, code, len, &w->scratch)) {
        case STORE_OK:
            vlen = snap_of_link(val, &w->scratch);
            plen = snap_pack(packed, (const struct link_snap *)val);
            if (plen <= CACHE_VALUE_MAX)
                cache_put(w->app->cache, key, klen, packed, plen, gen, clock_mono_ms());
            break;
        case STORE_NOT_FOUND:
            cache_put(w->app->cache, key, klen, NULL, 0, gen, clock_mono_ms());
            not_found(rc);
            return;
        default:
            respond_unavailable(rc, "the link store cannot be read");
            return;
        }
        break;
    }

    const struct link_snap *s = (const struct link_snap *)val;
    int64_t now = (int64_t)req->processed_at.at.tv_sec * 1000 + req->processed_at.at.tv_usec / 1000;
    if (s->disabled || (s->valid_since != 0 && now < s->valid_since)) { /* lifetime (issue 4) */
        not_found(rc);
        return;
    }
    if (s->expires_at != 0 && now >= s->expires_at) {
        gone(rc);
        return;
    }
    if (s->locked) { /* password-protected links (issue 4) */
        struct link_snap *copy = h2o_mem_alloc_pool(&req->pool, vlen);
        memcpy(copy, val, vlen);
        api_unlock(rc, copy, code, len, head, post);
        return;
    }
    if (post) {
        respond_problem(rc, 405, "method-not-allowed", "Method not allowed", "short links answer GET and HEAD", NULL);
        return;
    }
    api_redirect_go(rc, s, code, len, head, now);
}

void api_redirect_go(struct reqctx *rc, const struct link_snap *s, const char *code, size_t len, bool head, int64_t now)
{
    h2o_req_t *req = rc->req;
    const char *url = (const char *)(s + 1);
    /* redirect rules (issue 4) */
    const char *target = url;
    size_t target_len = s->url_len;
    if (s->rules_len > 0)
        apply_rules(rc, (const uint8_t *)url + s->url_len, s->rules_len, now, &target, &target_len);
    /* forward_query and UTM (issue 4): the Location is built in the request's pool */
    bool fwd = s->forward_query && req->query_at != SIZE_MAX;
    char *loc;
    size_t loc_len;
    if (s->utm_len > 0 || fwd) {
        const char *vq = fwd ? req->path.base + req->query_at + 1 : NULL;
        size_t vql = fwd ? req->path.len - req->query_at - 1 : 0;
        loc = h2o_mem_alloc_pool(&req->pool, target_cap(target_len, s->utm_len, vql));
        loc_len = target_build(loc, target, target_len, url + s->url_len + s->rules_len, s->utm_len, fwd, vq, vql);
    } else {
        loc = h2o_mem_alloc_pool(&req->pool, target_len);
        memcpy(loc, target, target_len);
        loc_len = target_len;
    }
    if (s->max_visits != 0 && (head || is_preview(req))) {
        int st = visits_left(rc, code, len, now);
        if (st == STORE_ERROR) {
            respond_unavailable(rc, "the link store cannot be read");
            return;
        }
        if (st != STORE_OK) {
            gone(rc);
            return;
        }
    } else if (s->max_visits != 0) {
        struct consume_call *cc =
            (struct consume_call *)api_call_new_sized(rc, sizeof(*cc), STORE_LINK_CONSUME, consume_reply);
        if (cc == NULL)
            return; /* answered 503 */
        cc->call.op.link.id = s->id;
        cc->snap = *s;
        cc->loc = loc; /* issue 4: the Location after rules, UTM and forward_query */
        cc->loc_len = loc_len;
        api_submit(&cc->call);
        return;
    }
    if (!head)
        capture_to(rc, VISIT_REDIRECT, s, loc, loc_len);
    robots_header(rc, s);
    respond_redirect(rc, s->redirect_type, loc, loc_len);
}
