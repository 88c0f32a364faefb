/* find: finding a team's links and naming them (issue 4).
 *   GET    /api/v1/links           filters, search, order, keyset cursor
 *   GET    /api/v1/links/suggest   typeahead over code, tag, title, host
 *   GET    /api/v1/tags            the team's tags with link counts
 *   PATCH  /api/v1/tags/{name}     rename, or merge into an existing tag
 *   DELETE /api/v1/tags/{name}
 * Runs on a worker thread; reads through the worker's store reader, writes
 * through the writer like every other change. */
#include "api/api.h"

#include "http/server.h"
#include "util/base62.h"
#include "util/clock.h"
#include "util/query.h"
#include "util/rfc3339.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_LIMIT_DEFAULT 20
#define LIST_LIMIT_MAX 100
#define SUGGEST_LIMIT_DEFAULT 10
#define SUGGEST_LIMIT_MAX 20
#define TAGS_LIST_MAX 10000

/* The raw query string of the request ("" when none). */
static void query_of(const h2o_req_t *req, const char **q, size_t *qlen)
{
    *q = req->query_at != SIZE_MAX ? req->path.base + req->query_at + 1 : "";
    *qlen = req->query_at != SIZE_MAX ? req->path.len - req->query_at - 1 : 0;
}

/* ?name= as an integer from 1 to max (def when absent); -1 after a 400. */
static int read_limit(struct reqctx *rc, const char *q, size_t qlen, int def, int max)
{
    const char *v;
    size_t vlen;
    if (!query_find(q, qlen, "limit", &v, &vlen))
        return def;
    long n = 0;
    for (size_t i = 0; i < vlen && n <= max; i++)
        n = (v[i] >= '0' && v[i] <= '9') ? n * 10 + (v[i] - '0') : max + 1;
    if (vlen == 0 || n < 1 || n > max) {
        char why[48];
        snprintf(why, sizeof(why), "must be an integer from 1 to %d", max);
        respond_invalid(rc, 400, "limit", why);
        return -1;
    }
    return (int)n;
}

/* A decoded text parameter of at most cap-1 bytes: 1 found, 0 absent, -1 after a 400. */
static int read_text(struct reqctx *rc, const char *q, size_t qlen, const char *name, unsigned nth, char *out,
                     size_t cap, const char *why)
{
    const char *v;
    size_t vlen;
    if (!query_find_nth(q, qlen, name, nth, &v, &vlen))
        return 0;
    if (query_decode(v, vlen, out, cap) < 0) {
        respond_invalid(rc, 400, name, why);
        return -1;
    }
    return 1;
}

/* One of the words in opts (index), def when absent; -1 after a 400. */
static int read_choice(struct reqctx *rc, const char *q, size_t qlen, const char *name, const char *const *opts,
                       int nopts, int def, const char *why)
{
    const char *v;
    size_t vlen;
    if (!query_find(q, qlen, name, &v, &vlen))
        return def;
    for (int i = 0; i < nopts; i++)
        if (strlen(opts[i]) == vlen && memcmp(opts[i], v, vlen) == 0)
            return i;
    respond_invalid(rc, 400, name, why);
    return -1;
}

static int read_time(struct reqctx *rc, const char *q, size_t qlen, const char *name, int64_t *out)
{
    char buf[64];
    int f = read_text(rc, q, qlen, name, 0, buf, sizeof(buf), "must be an RFC 3339 date-time");
    if (f <= 0)
        return f;
    if (rfc3339_parse(buf, strlen(buf), out) != 0 || *out <= 0) {
        respond_invalid(rc, 400, name, "must be an RFC 3339 date-time (e.g. 2030-01-31T12:00:00Z)");
        return -1;
    }
    return 1;
}

/* ---- cursors: created "c.<created_at>.<id>", visits "v.<visits>.<id>",
 * title "t.<hex of the title>.<id>" (numbers in base62) ---- */

static bool parse_u62(const char *s, size_t n, int64_t *out, bool zero_ok)
{
    uint64_t v;
    if (n == 0 || base62_decode_u64(s, n, &v) != 0 || v > INT64_MAX || (!zero_ok && v == 0))
        return false;
    *out = (int64_t)v;
    return true;
}

static bool parse_cursor(const char *v, size_t n, struct store_link_query *lq)
{
    char tag = "cvt"[lq->order];
    const char *dot = n > 2 ? memchr(v + 2, '.', n - 2) : NULL;
    if (n < 5 || v[0] != tag || v[1] != '.' || dot == NULL)
        return false;
    const char *key = v + 2, *id = dot + 1;
    size_t klen = (size_t)(dot - key), ilen = n - (size_t)(id - v);
    if (!parse_u62(id, ilen, &lq->after_id, false))
        return false;
    if (lq->order != LINKS_BY_TITLE)
        return parse_u62(key, klen, &lq->after_num, true);
    if (klen % 2 != 0 || klen / 2 > LINK_TITLE_MAX_BYTES)
        return false;
    for (size_t i = 0; i < klen; i += 2) {
        int hi = query_hex_digit(key[i]), lo = query_hex_digit(key[i + 1]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
            return false;
        lq->after_text[i / 2] = (char)(hi * 16 + lo);
    }
    lq->after_text[klen / 2] = '\0';
    return true;
}

/* The next page's cursor: c.<created_at>.<id>, v.<visits>.<id> or
 * t.<title in hex>.<id>. */
static void cursor_write(struct jw *w, const struct store_link_query *lq, const struct link *last)
{
    char c[2 * LINK_TITLE_MAX_BYTES + 32];
    size_t n = 0;
    if (lq->order != LINKS_BY_TITLE) {
        bool created = lq->order == LINKS_BY_CREATED;
        c[n++] = created ? 'c' : 'v';
        c[n++] = '.';
        n += base62_encode_u64((uint64_t)(created ? last->created_at : last->visits_total), c + n);
    } else {
        static const char hex[] = "0123456789abcdef";
        c[n++] = 't';
        c[n++] = '.';
        for (const char *t = last->has_title ? last->title : ""; *t != '\0'; t++) {
            c[n++] = hex[(unsigned char)*t >> 4];
            c[n++] = hex[(unsigned char)*t & 15];
        }
    }
    c[n++] = '.';
    n += base62_encode_u64((uint64_t)last->id, c + n);
    jw_str(w, c, n);
}

/* ---- GET /api/v1/links ---- */

struct list_state {
    struct reqctx *rc;
    struct jw out; /* {"items":[ the links so far */
    int limit, seen;
    struct link last; /* the page's last row, for the cursor */
    bool more;
};

static int list_row(void *ctx, const struct link *l)
{
    struct list_state *st = ctx;
    if (st->seen == st->limit) {
        st->more = true;
        return 1;
    }
    jw_obj(&st->out);
    api_link_fields(&st->out, st->rc->w->app, l);
    jw_obj_end(&st->out);
    st->last.id = l->id;
    st->last.created_at = l->created_at;
    st->last.visits_total = l->visits_total;
    st->last.has_title = l->has_title;
    memcpy(st->last.title, l->title, strlen(l->title) + 1);
    st->seen++;
    return 0;
}

bool api_links_read_filters(struct reqctx *rc, struct store_link_query *lq)
{
    const char *q;
    size_t qlen;
    query_of(rc->req, &q, &qlen);
    static const char *const orders[] = {"created", "visits", "title"};
    static const char *const dirs[] = {"asc", "desc"};
    static const char *const states[] = {"any", "active", "expired", "disabled", "scheduled"};
    static const char *const modes[] = {"any", "all"};
    static const char *const bools[] = {"false", "true"};
    int order = read_choice(rc, q, qlen, "order", orders, 3, 0, "must be one of created, visits, title");
    if (order < 0)
        return false;
    lq->order = (enum store_link_order)order;
    int dir = read_choice(rc, q, qlen, "dir", dirs, 2, order == LINKS_BY_TITLE ? 0 : 1, "must be asc or desc");
    int state =
        read_choice(rc, q, qlen, "state", states, 5, 0, "must be one of any, active, expired, disabled, scheduled");
    int mode = read_choice(rc, q, qlen, "tag_mode", modes, 2, 0, "must be any or all");
    int untagged = read_choice(rc, q, qlen, "untagged", bools, 2, 0, "must be true or false");
    if (dir < 0 || state < 0 || mode < 0 || untagged < 0)
        return false;
    lq->desc = dir == 1;
    lq->state = (enum store_link_state)state;
    lq->tags_all = mode == 1;
    lq->untagged = untagged == 1;
    int limit = read_limit(rc, q, qlen, LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX);
    if (limit < 0)
        return false;
    lq->limit = limit + 1; /* one more tells whether there is a next page */
    for (unsigned i = 0;; i++) {
        char tag[LINK_TAG_MAX_BYTES + 1];
        int f = read_text(rc, q, qlen, "tag", i, tag, sizeof(tag), "must be a tag (at most 64 bytes)");
        if (f < 0)
            return false;
        if (f == 0)
            break;
        const char *why = link_check_tag(tag, strlen(tag));
        if (why == NULL && i >= STORE_FILTER_TAGS_MAX)
            why = "at most 10 tags can be given";
        if (why != NULL) {
            respond_invalid(rc, 400, "tag", why);
            return false;
        }
        char folded[LINK_TAG_MAX_BYTES + 1];
        link_tag_fold(tag, strlen(tag), folded);
        bool dup = false;
        for (unsigned j = 0; j < lq->ntags && !dup; j++)
            dup = strcmp(lq->tags[j], folded) == 0;
        if (!dup)
            memcpy(lq->tags[lq->ntags++], folded, strlen(folded) + 1);
    }
    if (lq->untagged && lq->ntags > 0) {
        respond_invalid(rc, 400, "untagged", "cannot be combined with tag");
        return false;
    }
    const char *dv;
    size_t dvlen;
    if (query_find(q, qlen, "domain", &dv, &dvlen)) { /* domains (issue 4) */
        const char *name;
        if (api_domain_of_team(rc, dv, dvlen, &lq->domain_id, &name) != 0) {
            respond_invalid(rc, 400, "domain", "must be the default domain or one of the team's domains");
            return false;
        }
        lq->by_domain = true;
    }
    if (read_text(rc, q, qlen, "q", 0, lq->search, sizeof(lq->search),
                  "must be percent-encoded text of at most 200 bytes") < 0 ||
        read_time(rc, q, qlen, "created_after", &lq->created_from) < 0 ||
        read_time(rc, q, qlen, "created_before", &lq->created_to) < 0)
        return false;
    const char *v;
    size_t vlen;
    if (query_find(q, qlen, "cursor", &v, &vlen) && vlen > 0) {
        if (!parse_cursor(v, vlen, lq)) {
            respond_invalid(rc, 400, "cursor", "is not a cursor returned by this API for this order");
            return false;
        }
        lq->has_cursor = true;
    }
    return true;
}

void api_links_list(struct reqctx *rc)
{
    struct store_link_query *lq = calloc(1, sizeof(*lq));
    if (lq == NULL) {
        respond_unavailable(rc, "out of memory");
        return;
    }
    lq->team_id = rc->principal.team_id;
    lq->now = clock_wall_ms();
    if (!api_links_read_filters(rc, lq)) {
        free(lq);
        return;
    }
    struct list_state *st = calloc(1, sizeof(*st));
    if (st == NULL) {
        free(lq);
        respond_unavailable(rc, "out of memory");
        return;
    }
    st->rc = rc;
    respond_jw_init(rc, &st->out);
    jw_obj(&st->out);
    jw_key(&st->out, "items");
    jw_arr(&st->out);
    st->limit = lq->limit - 1;
    int n = store_links_find(rc->w->reader, lq, &rc->w->scratch, list_row, st);
    if (n < 0) {
        respond_unavailable(rc, "the link store cannot be read");
    } else {
        jw_arr_end(&st->out);
        jw_key(&st->out, "next_cursor");
        if (st->more)
            cursor_write(&st->out, lq, &st->last);
        else
            jw_null(&st->out);
        jw_obj_end(&st->out);
        respond_jw(rc, 200, &st->out);
    }
    free(st);
    free(lq);
}

void api_links_query_after(struct store_link_query *lq, const struct link *last)
{
    lq->has_cursor = true;
    lq->after_id = last->id;
    lq->after_num = lq->order == LINKS_BY_CREATED ? last->created_at : last->visits_total;
    const char *t = last->has_title ? last->title : "";
    memcpy(lq->after_text, t, strlen(t) + 1);
}

/* ---- GET /api/v1/links/suggest ---- */

static int suggest_row(void *ctx, const struct link *l, enum store_match match)
{
    static const char *const names[] = {"code", "tag", "title", "host"};
    struct reqctx *rc = ((void **)ctx)[0];
    json_t *items = ((void **)ctx)[1];
    char short_url[API_SHORT_URL_MAX];
    size_t n = api_link_short_url(rc->w->app->cfg, l->domain, l->code, short_url);
    json_t *tags = json_array();
    for (unsigned i = 0; i < l->ntags; i++)
        json_array_append_new(tags, json_string(l->tags[i]));
    json_array_append_new(items,
                          json_pack("{s:s, s:s%, s:s, s:o, s:o, s:s}", "code", l->code, "short_url", short_url, n,
                                    "url", l->url, "title", l->has_title ? json_string(l->title) : json_null(), "tags",
                                    tags, "matched", names[match]));
    return 0;
}

void api_links_suggest(struct reqctx *rc, const h2o_iovec_t *params)
{
    if (!api_allowed(rc, rc->principal.team_id, ACT_LINK_READ, 0))
        return;
    const char *q;
    size_t qlen;
    query_of(rc->req, &q, &qlen);
    char prefix[STORE_SEARCH_MAX + 1];
    int f = read_text(rc, q, qlen, "q", 0, prefix, sizeof(prefix), "must be percent-encoded text of 1 to 200 bytes");
    if (f < 0)
        return;
    if (f == 0 || prefix[0] == '\0') {
        respond_invalid(rc, 400, "q", "is required: 1 to 200 bytes of text");
        return;
    }
    int limit = read_limit(rc, q, qlen, SUGGEST_LIMIT_DEFAULT, SUGGEST_LIMIT_MAX);
    if (limit < 0)
        return;
    json_t *items = json_array();
    void *ctx[2] = {rc, items};
    if (store_links_suggest(rc->w->reader, rc->principal.team_id, prefix, limit, &rc->w->scratch, suggest_row, ctx) <
        0) {
        json_decref(items);
        respond_unavailable(rc, "the link store cannot be read");
        return;
    }
    respond_json(rc, 200, json_pack("{s:o}", "items", items));
}

/* ---- /api/v1/tags ---- */

static int tag_row(void *ctx, const char *name, int64_t links)
{
    json_array_append_new(ctx, json_pack("{s:s, s:I}", "name", name, "links", (json_int_t)links));
    return 0;
}

void api_tags_list(struct reqctx *rc, const h2o_iovec_t *params)
{
    if (!api_allowed(rc, rc->principal.team_id, ACT_LINK_READ, 0))
        return;
    json_t *items = json_array();
    if (store_tags_of_team(rc->w->reader, rc->principal.team_id, NULL, TAGS_LIST_MAX, tag_row, items) < 0) {
        json_decref(items);
        respond_unavailable(rc, "the tags cannot be read");
        return;
    }
    respond_json(rc, 200, json_pack("{s:o}", "items", items));
}

static void tag_done(struct api_call *call, struct reqctx *rc)
{
    switch (call->op.status) {
    case STORE_OK:
        if (call->op.kind == STORE_TAG_DELETE)
            respond_empty(rc, 204);
        else
            respond_json(rc, 200,
                         json_pack("{s:s, s:I}", "name", call->op.tag_to, "links", (json_int_t)call->op.purged));
        break;
    case STORE_NOT_FOUND:
        respond_problem(rc, 404, "not-found", "Tag not found", "the team has no tag with this name", NULL);
        break;
    default:
        respond_unavailable(rc, "the change could not be committed");
    }
}

static int tag_seen(void *ctx, const char *name, int64_t links)
{
    *(bool *)ctx = true;
    return 1;
}

/* The {name} of the path (percent-decoded) into out, when it names one of
 * the caller's team's tags and the caller may change them; otherwise
 * answers 404 (tenant first, as for links) or 401/403 and returns false. */
static bool writable_tag(struct reqctx *rc, h2o_iovec_t name, char out[LINK_TAG_MAX_BYTES + 1])
{
    char folded[LINK_TAG_MAX_BYTES + 1];
    bool found = false;
    if (query_decode(name.base, name.len, out, LINK_TAG_MAX_BYTES + 1) > 0 &&
        link_check_tag(out, strlen(out)) == NULL) {
        link_tag_fold(out, strlen(out), folded);
        if (store_tags_of_team(rc->w->reader, rc->principal.team_id, folded, 1, tag_seen, &found) < 0) {
            respond_unavailable(rc, "the tags cannot be read");
            return false;
        }
    }
    if (!found) {
        respond_problem(rc, 404, "not-found", "Tag not found", "the team has no tag with this name", NULL);
        return false;
    }
    return api_allowed(rc, rc->principal.team_id, ACT_LINK_WRITE, 0);
}

void api_tag_patch(struct reqctx *rc, const h2o_iovec_t *params)
{
    char from[LINK_TAG_MAX_BYTES + 1];
    if (!writable_tag(rc, params[0], from))
        return;
    json_t *obj = api_read_object(rc);
    if (obj == NULL)
        return;
    json_t *errs = NULL;
    const char *key;
    json_t *v;
    char to[LINK_TAG_MAX_BYTES + 1] = "";
    json_object_foreach(obj, key, v)
    {
        const char *why = NULL;
        if (strcmp(key, "name") != 0)
            why = "is not a known field";
        else if (!json_is_string(v))
            why = "must be a string";
        else if ((why = link_check_tag(json_string_value(v), json_string_length(v))) == NULL)
            memcpy(to, json_string_value(v), json_string_length(v) + 1);
        if (why != NULL)
            errs = problem_param(errs, key, why);
    }
    if (errs == NULL && to[0] == '\0')
        errs = problem_param(errs, "name", "is required");
    json_decref(obj);
    if (errs != NULL) {
        respond_problem(rc, 422, "validation", "Invalid field value", "see invalid_params", errs);
        return;
    }
    struct api_call *call = api_call_new(rc, STORE_TAG_RENAME, tag_done);
    if (call == NULL)
        return; /* answered 503 */
    call->op.team_id = rc->principal.team_id;
    memcpy(call->op.tag, from, sizeof(from));
    memcpy(call->op.tag_to, to, sizeof(to));
    api_submit(call);
}

void api_tag_delete(struct reqctx *rc, const h2o_iovec_t *params)
{
    char name[LINK_TAG_MAX_BYTES + 1];
    if (!writable_tag(rc, params[0], name))
        return;
    struct api_call *call = api_call_new(rc, STORE_TAG_DELETE, tag_done);
    if (call == NULL)
        return; /* answered 503 */
    call->op.team_id = rc->principal.team_id;
    memcpy(call->op.tag, name, sizeof(name));
    api_submit(call);
}
