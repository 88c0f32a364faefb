/* redirect: GET/HEAD /{code}, the hot path.
 * A cache hit reads no database and allocates only the Location value from
 * the request's pool. Links with a visit limit take one trip through the
 * writer, which counts the visit and refuses it past the limit, so the limit
 * holds exactly however many workers serve the link; HEAD only looks.
 * Unknown codes spend a per-IP budget (--rate-miss) so that scanning the
 * code space is slow; hits never touch it. */
#include "api/api.h"

#include "http/server.h"
#include "util/clock.h"

#include <string.h>

/* What the cache holds for a link: enough to redirect, nothing more. */
struct snap {
    int64_t id;
    int64_t expires_at;
    int64_t max_visits;
    uint16_t redirect_type;
    uint16_t url_len;
    /* url bytes follow */
};

static size_t snap_encode(char *buf, const struct link *l)
{
    struct snap s = {l->id, l->expires_at, l->max_visits, (uint16_t)l->redirect_type, (uint16_t)strlen(l->url)};
    memcpy(buf, &s, sizeof(s));
    memcpy(buf + sizeof(s), l->url, s.url_len);
    return sizeof(s) + s.url_len;
}

static void consume_reply(struct api_call *call, struct reqctx *rc)
{
    switch (call->op.status) {
    case STORE_OK:
        respond_redirect(rc, call->op.link.redirect_type, call->op.link.url, strlen(call->op.link.url));
        break;
    case STORE_REFUSED:
    case STORE_NOT_FOUND:
        respond_page(rc, 410);
        break;
    default:
        respond_unavailable(rc, "the visit could not be recorded");
    }
}

static void not_found(struct reqctx *rc)
{
    api_client_ip(rc);
    if (api_rate_limit(rc, "miss:", rc->client_ip, 16, rc->w->app->cfg->rate_miss))
        respond_page(rc, 404);
}

void api_redirect(struct reqctx *rc, const char *code, size_t len)
{
    h2o_req_t *req = rc->req;
    struct worker *w = rc->w;
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) &&
        !h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"))) {
        respond_problem(rc, 405, "method-not-allowed", "Method not allowed", "short links answer GET and HEAD", NULL);
        return;
    }
    char key[API_CACHE_KEY_MAX];
    size_t klen = api_cache_key(key, 0, code, len);
    _Alignas(8) char val[CACHE_VALUE_MAX];
    size_t vlen;
    uint64_t gen;
    switch (cache_get(w->app->cache, key, klen, clock_mono_ms(), val, sizeof(val), &vlen, &gen)) {
    case CACHE_HIT:
        metric_add(&w->metrics.cache_hits, 1);
        break;
    case CACHE_NEGATIVE:
        metric_add(&w->metrics.cache_negative_hits, 1);
        not_found(rc);
        return;
    case CACHE_MISS:
        metric_add(&w->metrics.cache_misses, 1);
        switch (store_link_resolve(w->reader, 0, code, len, &w->scratch)) {
        case STORE_OK:
            vlen = snap_encode(val, &w->scratch);
            cache_put(w->app->cache, key, klen, val, vlen, gen, clock_mono_ms());
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

    struct snap s;
    memcpy(&s, val, sizeof(s));
    const char *url = val + sizeof(s);
    int64_t now = (int64_t)req->processed_at.at.tv_sec * 1000 + req->processed_at.at.tv_usec / 1000;
    if (s.expires_at != 0 && now >= s.expires_at) {
        respond_page(rc, 410);
        return;
    }
    bool head = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"));
    if (s.max_visits != 0 && head) {
        /* HEAD (link checkers, previews) looks without spending a visit. */
        if (store_link_resolve(w->reader, 0, code, len, &w->scratch) != STORE_OK ||
            link_state_at(0, w->scratch.max_visits, w->scratch.visits, now) != LINK_ACTIVE) {
            respond_page(rc, 410);
            return;
        }
    } else if (s.max_visits != 0) {
        struct api_call *call = api_call_new(rc, STORE_LINK_CONSUME, consume_reply);
        if (call == NULL) {
            respond_unavailable(rc, "out of memory");
            return;
        }
        call->op.link.id = s.id;
        call->op.link.redirect_type = s.redirect_type;
        memcpy(call->op.link.url, url, s.url_len);
        call->op.link.url[s.url_len] = '\0';
        api_submit(call);
        return;
    }
    char *loc = h2o_mem_alloc_pool(&req->pool, s.url_len);
    memcpy(loc, url, s.url_len);
    respond_redirect(rc, s.redirect_type, loc, s.url_len);
}
