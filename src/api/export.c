/* export: GET /api/v1/links/export?format=csv|json (issue 4), with the
 * filters and order of GET /api/v1/links. The team's links with their
 * visit counts, streamed: each time the client has taken a chunk (h2o's
 * proceed), the next EXPORT_PAGE links are read and written, so memory does
 * not grow with the number of links. The CSV re-imports with
 * /api/v1/links/import?format=csv.
 * Runs on the request's worker thread; the state lives in the request's
 * pool and its buffer is freed with it. */
#include "api/api.h"

#include "http/server.h"
#include "util/clock.h"
#include "util/query.h"
#include "util/rfc3339.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT_PAGE 500

static const char csv_header[] = "code,short_url,url,title,tags,note,created_at,expires_at,valid_since,enabled,"
                                 "max_visits,redirect_type,visits,visits_bots,crawlable\r\n";

struct export_state {
    h2o_generator_t gen; /* first: h2o hands it back to proceed/stop */
    struct reqctx *rc;
    struct store_link_query q;
    bool csv, started, done;
    size_t rows;
    char *buf;
    size_t len, cap;
};

static bool grow(struct export_state *st, size_t more)
{
    if (st->len + more <= st->cap)
        return true;
    size_t cap = st->cap ? st->cap : 64 * 1024;
    while (cap < st->len + more)
        cap *= 2;
    char *b = realloc(st->buf, cap);
    if (b == NULL)
        return false;
    st->buf = b;
    st->cap = cap;
    return true;
}

static void put(struct export_state *st, const char *s, size_t n)
{
    if (grow(st, n)) {
        memcpy(st->buf + st->len, s, n);
        st->len += n;
    }
}

/* jsonw's reserve: a link's JSON is written straight into the buffer. */
static int json_reserve(struct jw *w, size_t need)
{
    struct export_state *st = w->ctx;
    st->len = w->len;
    if (!grow(st, need))
        return -1;
    w->buf = st->buf;
    w->cap = st->cap;
    return 0;
}

/* One CSV cell: quoted when it holds a separator, a quote or a line break;
 * text cells a spreadsheet would run as a formula get a leading '. */
static void cell(struct export_state *st, const char *s, bool text, bool last)
{
    size_t n = strlen(s);
    bool quote = strpbrk(s, ",\"\r\n") != NULL;
    if (grow(st, 2 * n + 4)) {
        char *o = st->buf + st->len;
        if (quote)
            *o++ = '"';
        if (text && n > 0 && strchr("=+-@", s[0]) != NULL)
            *o++ = '\'';
        for (size_t i = 0; i < n; i++) {
            if (s[i] == '"')
                *o++ = '"';
            *o++ = s[i];
        }
        if (quote)
            *o++ = '"';
        *o++ = last ? '\r' : ',';
        if (last)
            *o++ = '\n';
        st->len = (size_t)(o - st->buf);
    }
}

static void time_cell(struct export_state *st, int64_t ms)
{
    char t[RFC3339_BUF] = "";
    if (ms != 0)
        rfc3339_format(ms, t);
    cell(st, t, false, false);
}

static void int_cell(struct export_state *st, int64_t v, bool blank_zero, bool last)
{
    char n[24] = "";
    if (v != 0 || !blank_zero)
        snprintf(n, sizeof(n), "%lld", (long long)v);
    cell(st, n, false, last);
}

static int row(void *ctx, const struct link *l)
{
    struct export_state *st = ctx;
    if (!st->csv) {
        size_t mark = st->len;
        struct jw w;
        jw_init(&w, st->buf, st->cap, json_reserve, st);
        w.len = st->len;
        w.comma = st->rows > 0;
        jw_obj(&w);
        api_link_fields(&w, st->rc->w->app, l);
        jw_obj_end(&w);
        st->len = w.failed ? mark : w.len; /* out of memory: the row is left out whole */
    } else {
        char short_url[API_SHORT_URL_MAX], tags[LINK_TAGS_MAX * (LINK_TAG_MAX_BYTES + 1) + 1];
        size_t sl = api_link_short_url(st->rc->w->app->cfg, l->domain, l->code, short_url);
        short_url[sl] = '\0';
        size_t tl = 0;
        for (unsigned i = 0; i < l->ntags; i++)
            tl += (size_t)snprintf(tags + tl, sizeof(tags) - tl, "%s%s", i ? "|" : "", l->tags[i]);
        tags[tl] = '\0';
        cell(st, l->code, false, false);
        cell(st, short_url, false, false);
        cell(st, l->url, false, false);
        cell(st, l->has_title ? l->title : "", true, false);
        cell(st, tags, true, false);
        cell(st, l->has_note ? l->note : "", true, false);
        time_cell(st, l->created_at);
        time_cell(st, l->expires_at);
        time_cell(st, l->valid_since);
        cell(st, l->disabled ? "false" : "true", false, false);
        int_cell(st, l->max_visits, true, false);
        int_cell(st, l->redirect_type, false, false);
        int_cell(st, l->visits_total, false, false);
        int_cell(st, l->visits_bots, false, false);
        cell(st, l->crawlable ? "true" : "false", false, true);
    }
    st->rows++;
    api_links_query_after(&st->q, l);
    return 0;
}

/* Writes the next chunk and hands it to h2o (or ends the response). */
static void next_chunk(struct export_state *st)
{
    st->len = 0;
    if (!st->started) {
        st->started = true;
        if (st->csv)
            put(st, csv_header, sizeof(csv_header) - 1);
        else
            put(st, "{\"links\":[", 10);
    }
    size_t before = st->rows;
    int n = store_links_find(st->rc->w->reader, &st->q, &st->rc->w->scratch, row, st);
    bool last = n < 0 || st->rows - before < (size_t)st->q.limit;
    if (last && !st->csv) {
        char tail[48];
        int tl = snprintf(tail, sizeof(tail), "],\"count\":%zu}\n", st->rows);
        put(st, tail, (size_t)tl);
    }
    h2o_iovec_t iov = h2o_iovec_init(st->buf, st->len);
    st->done = last;
    /* a read error ends the body early; the missing trailer (JSON) or the
     * short row count tells the client, and the error is logged */
    h2o_send(st->rc->req, &iov, 1, last ? H2O_SEND_STATE_FINAL : H2O_SEND_STATE_IN_PROGRESS);
}

static void on_proceed(h2o_generator_t *gen, h2o_req_t *req)
{
    struct export_state *st = (struct export_state *)gen;
    if (!st->done)
        next_chunk(st);
}

static void on_stop(h2o_generator_t *gen, h2o_req_t *req)
{
    ((struct export_state *)gen)->done = true;
}

static void on_dispose(void *p)
{
    free(((struct export_state *)p)->buf);
}

void api_links_export(struct reqctx *rc, const h2o_iovec_t *params)
{
    if (!api_allowed(rc, rc->principal.team_id, ACT_LINK_READ, 0))
        return;
    struct export_state *st = h2o_mem_alloc_shared(&rc->req->pool, sizeof(*st), on_dispose);
    memset(st, 0, sizeof(*st));
    st->rc = rc;
    st->q.team_id = rc->principal.team_id;
    st->q.now = clock_wall_ms();
    const char *v;
    size_t vlen;
    if (query_find(rc->query.base, rc->query.len, "format", &v, &vlen) && !(vlen == 4 && memcmp(v, "json", 4) == 0)) {
        if (!(vlen == 3 && memcmp(v, "csv", 3) == 0)) {
            respond_invalid(rc, 400, "format", "must be csv or json");
            return;
        }
        st->csv = true;
    }
    if (!api_links_read_filters(rc, &st->q))
        return;
    st->q.limit = EXPORT_PAGE;
    st->gen.proceed = on_proceed;
    st->gen.stop = on_stop;
    h2o_add_header_by_str(&rc->req->pool, &rc->req->res.headers, H2O_STRLIT("content-disposition"), 0, NULL,
                          st->csv ? "attachment; filename=\"links.csv\"" : "attachment; filename=\"links.json\"",
                          st->csv ? strlen("attachment; filename=\"links.csv\"")
                                  : strlen("attachment; filename=\"links.json\""));
    respond_stream_start(rc, &st->gen, st->csv ? "text/csv; charset=utf-8" : "application/json");
    next_chunk(st);
}
