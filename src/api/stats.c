/* stats: visit statistics, read from rollups only (never a COUNT over raw
 * visits), and the raw visits themselves (JSON pages or CSV).
 *
 *   GET /api/v1/links/{code}/stats   summary, series and breakdowns
 *   GET /api/v1/links/{code}/visits  raw visits, newest first
 *   GET /api/v1/stats                the team's totals, series, top links
 *   GET /api/v1/visits/orphan        unknown codes, bare domain, other 404s
 *
 * Periods: a series point covers the hour or UTC day starting at "t";
 * "unique": a visitor counts once per link and UTC day, in the hour first
 * seen (so hours add up to days); never recognised across days, the salt
 * changes daily. */
#include "api/api.h"

#include "http/server.h"
#include "util/base62.h"
#include "util/clock.h"
#include "util/query.h"
#include "util/rfc3339.h"
#include "util/utf8.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define HOUR_MS (3600LL * 1000)
#define DAY_MS (24 * HOUR_MS)
#define DEFAULT_RANGE_MS (30 * DAY_MS)
#define MAX_HOURLY_RANGE_MS (93 * DAY_MS) /* ~2,200 points at most */
#define BREAKDOWN_TOP 10
#define VISITS_LIMIT_DEFAULT 50
#define VISITS_LIMIT_MAX 1000

struct range {
    int64_t from, to;
    bool hourly, exclude_bots;
};

static bool query_time(struct reqctx *rc, const char *name, int64_t *out)
{
    const char *v;
    size_t n;
    if (!query_find(rc->query.base, rc->query.len, name, &v, &n))
        return true;
    /* '+' in a query means a space; an offset like +02:00 must come percent-encoded. */
    char buf[RFC3339_MAX_LEN + 1];
    size_t k = 0;
    for (size_t i = 0; i < n && k < sizeof(buf) - 1; i++) {
        if (v[i] == '%' && i + 2 < n && v[i + 1] == '3' && (v[i + 2] == 'A' || v[i + 2] == 'a')) {
            buf[k++] = ':';
            i += 2;
        } else if (v[i] == '%' && i + 2 < n && v[i + 1] == '2' && (v[i + 2] == 'B' || v[i + 2] == 'b')) {
            buf[k++] = '+';
            i += 2;
        } else {
            buf[k++] = v[i];
        }
    }
    if (rfc3339_parse(buf, k, out) == 0)
        return true;
    respond_invalid(rc, 400, name, "must be an RFC 3339 date-time (e.g. 2030-01-31T00:00:00Z)");
    return false;
}

static bool read_range(struct reqctx *rc, struct range *r)
{
    const char *v;
    size_t n;
    r->to = clock_wall_ms();
    r->from = 0;
    r->hourly = false;
    r->exclude_bots = false;
    if (!query_time(rc, "from", &r->from) || !query_time(rc, "to", &r->to))
        return false;
    if (r->from == 0)
        r->from = r->to - DEFAULT_RANGE_MS;
    if (query_find(rc->query.base, rc->query.len, "interval", &v, &n)) {
        if (h2o_memis(v, n, H2O_STRLIT("hour")))
            r->hourly = true;
        else if (!h2o_memis(v, n, H2O_STRLIT("day"))) {
            respond_invalid(rc, 400, "interval", "must be hour or day");
            return false;
        }
    }
    if (query_find(rc->query.base, rc->query.len, "exclude_bots", &v, &n)) {
        if (h2o_memis(v, n, H2O_STRLIT("true")) || h2o_memis(v, n, H2O_STRLIT("1")))
            r->exclude_bots = true;
        else if (!h2o_memis(v, n, H2O_STRLIT("false")) && !h2o_memis(v, n, H2O_STRLIT("0"))) {
            respond_invalid(rc, 400, "exclude_bots", "must be true or false");
            return false;
        }
    }
    if (r->from >= r->to) {
        respond_invalid(rc, 400, "from", "must be before to");
        return false;
    }
    if (r->hourly && r->to - r->from > MAX_HOURLY_RANGE_MS) {
        respond_invalid(rc, 400, "interval", "hour series cover at most 93 days; use interval=day");
        return false;
    }
    int64_t unit = r->hourly ? HOUR_MS : DAY_MS;
    r->from -= r->from % unit; /* the period that holds "from" counts */
    return true;
}

struct series_ctx {
    json_t *series;
    bool exclude_bots;
    int64_t total, bots, uniques;
};

static int add_period(void *ctx, const struct store_period *p)
{
    struct series_ctx *c = ctx;
    c->total += p->total;
    c->bots += p->bots;
    c->uniques += p->uniques;
    json_array_append_new(c->series,
                          json_pack("{s:o, s:I, s:I, s:I}", "t", api_time_json(p->t), "total",
                                    (json_int_t)(c->exclude_bots ? p->total - p->bots : p->total), "non_bots",
                                    (json_int_t)(p->total - p->bots), "unique", (json_int_t)p->uniques));
    return 0;
}

static json_t *summary_json(const struct series_ctx *c)
{
    return json_pack("{s:I, s:I, s:I, s:I}", "total", (json_int_t)c->total, "non_bots",
                     (json_int_t)(c->total - c->bots), "bots", (json_int_t)c->bots, "unique", (json_int_t)c->uniques);
}

/* Text stored before the sink kept a visit's text as UTF-8 (visits, and the
 * breakdown names of their rollups) may hold other bytes, which jansson
 * refuses: such a visit used to vanish from the page, such a name from its
 * breakdown. They are shown scrubbed (util/utf8.h). */
static json_t *text_json(const char *s)
{
    json_t *j = json_string(s);
    if (j != NULL)
        return j;
    char buf[STORE_VISIT_TEXT];
    size_t n = strnlen(s, sizeof(buf));
    memcpy(buf, s, n);
    return json_stringn(buf, utf8_scrub(buf, n));
}

static json_t *str_or_null(const char *s)
{
    return s[0] == '\0' ? json_null() : text_json(s);
}

struct dim_ctx {
    json_t *items;
    int64_t other;
    size_t n;
};

static int add_count(void *ctx, const char *name, int64_t count)
{
    struct dim_ctx *d = ctx;
    if (d->n++ < BREAKDOWN_TOP)
        json_array_append_new(d->items, json_pack("{s:o, s:I}", "name", text_json(name), "count", (json_int_t)count));
    else
        d->other += count;
    return 0;
}

/* Top 10 of one dimension, plus "other" for the rest. */
static json_t *breakdown(struct reqctx *rc, int64_t link_id, const char *dim, const struct range *r)
{
    struct dim_ctx d = {json_array(), 0, 0};
    if (store_stats_dim(rc->w->reader, link_id, dim, r->from, r->to, r->exclude_bots, add_count, &d) != 0) {
        json_decref(d.items);
        return NULL;
    }
    if (d.other > 0)
        json_array_append_new(d.items, json_pack("{s:s, s:I}", "name", "other", "count", (json_int_t)d.other));
    return d.items;
}

/* The link named by {code} in the caller's team, readable by the caller. */
bool api_find_link(struct reqctx *rc, h2o_iovec_t code)
{
    if (!api_domain_param(rc)) /* domains (issue 4) */
        return false;
    int st =
        slug_validate(code.base, code.len) != 0
            ? STORE_NOT_FOUND
            : store_link_get(rc->w->reader, rc->principal.team_id, rc->domain_id, code.base, code.len, &rc->w->scratch);
    if (st != STORE_OK) {
        api_lookup_failed(rc, st, "Link not found", "no link with this code");
        return false;
    }
    return api_allowed(rc, rc->w->scratch.team_id, ACT_LINK_READ, 0);
}

void api_link_stats(struct reqctx *rc, const h2o_iovec_t *params)
{
    struct range r;
    if (!api_find_link(rc, params[0]) || !read_range(rc, &r))
        return;
    int64_t link = rc->w->scratch.id;
    struct series_ctx c = {.series = json_array(), .exclude_bots = r.exclude_bots};
    json_t *body = json_object();
    json_object_set_new(body, "series", c.series);
    if (store_stats_series(rc->w->reader, link, 0, r.hourly, r.from, r.to, add_period, &c) != 0)
        goto unavailable;
    json_object_set_new(body, "summary", summary_json(&c));
    static const char *const dims[][2] = {
        {"referrers", "referrer"}, {"countries", "country"}, {"cities", "city"}, {"browsers", "browser"}, {"os", "os"},
        {"devices", "device"}};
    for (size_t i = 0; i < sizeof(dims) / sizeof(dims[0]); i++) {
        json_t *b = breakdown(rc, link, dims[i][1], &r);
        if (b == NULL)
            goto unavailable;
        json_object_set_new(body, dims[i][0], b);
    }
    json_object_set_new(body, "from", api_time_json(r.from));
    json_object_set_new(body, "to", api_time_json(r.to));
    json_object_set_new(body, "interval", json_string(r.hourly ? "hour" : "day"));
    respond_json(rc, 200, body);
    return;
unavailable:
    json_decref(body);
    respond_unavailable(rc, "statistics cannot be read");
}

/* ---- raw visits ------------------------------------------------------------------ */

static json_t *visit_json(int64_t id, const struct store_visit *v)
{
    json_t *o = json_pack("{s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:o, s:o, s:o}", "id",
                          api_id_json(id), "time", api_time_json(v->ts), "kind", store_visit_kind_name(v->kind), "ip",
                          str_or_null(v->ip), "country", str_or_null(v->country), "city", str_or_null(v->city),
                          "referrer_host", str_or_null(v->referrer_host), "referrer", str_or_null(v->referrer),
                          "browser", str_or_null(v->browser), "os", str_or_null(v->os), "device",
                          str_or_null(v->device), "bot", v->bot, "language", str_or_null(v->language), "visited_url",
                          str_or_null(v->visited_url), "target_url", str_or_null(v->target_url));
    json_object_set_new(o, "browser_major", v->browser_major >= 0 ? json_integer(v->browser_major) : json_null());
    static const char *const utm[5] = {"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"};
    for (int u = 0; u < 5; u++)
        json_object_set_new(o, utm[u], str_or_null(v->utm[u]));
    return o;
}

/* RFC 4180 field: quoted when it holds a comma, quote or line break; a
 * leading = + - @ is prefixed with ' so spreadsheets do not run it. */
static void csv_field(h2o_buffer_t **buf, const char *s, bool last)
{
    bool quote = strpbrk(s, ",\"\r\n") != NULL;
    bool formula = s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@';
    size_t n = strlen(s);
    h2o_iovec_t dst = h2o_buffer_reserve(buf, 2 * n + 4);
    size_t o = 0;
    if (quote)
        dst.base[o++] = '"';
    if (formula)
        dst.base[o++] = '\'';
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            dst.base[o++] = '"';
        dst.base[o++] = s[i];
    }
    if (quote)
        dst.base[o++] = '"';
    dst.base[o++] = last ? '\n' : ',';
    (*buf)->size += o;
}

struct visits_ctx {
    json_t *items;
    h2o_buffer_t *csv;
    int limit, seen;
    int64_t last_id;
    bool more;
};

static int add_visit(void *ctx, int64_t id, const struct store_visit *v)
{
    struct visits_ctx *c = ctx;
    if (c->seen == c->limit) {
        c->more = true;
        return 1;
    }
    c->seen++;
    c->last_id = id;
    if (c->csv == NULL) {
        json_array_append_new(c->items, visit_json(id, v));
        return 0;
    }
    char idb[24], ts[RFC3339_BUF], major[12];
    snprintf(idb, sizeof(idb), "%" PRId64, id);
    rfc3339_format(v->ts, ts);
    snprintf(major, sizeof(major), "%d", v->browser_major);
    const char *fields[] = {idb,
                            ts,
                            store_visit_kind_name(v->kind),
                            v->ip,
                            v->country,
                            v->city,
                            v->referrer_host,
                            v->referrer,
                            v->browser,
                            v->browser_major >= 0 ? major : "",
                            v->os,
                            v->device,
                            v->bot ? "true" : "false",
                            v->language,
                            v->utm[0],
                            v->utm[1],
                            v->utm[2],
                            v->utm[3],
                            v->utm[4],
                            v->visited_url,
                            v->target_url};
    size_t nf = sizeof(fields) / sizeof(fields[0]);
    for (size_t i = 0; i < nf; i++)
        csv_field(&c->csv, fields[i], i + 1 == nf);
    return 0;
}

static bool wants_csv(h2o_req_t *req)
{
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_ACCEPT, -1);
    return i >= 0 && h2o_strstr(req->headers.entries[i].value.base, req->headers.entries[i].value.len,
                                H2O_STRLIT("text/csv")) != SIZE_MAX;
}

static void list_visits(struct reqctx *rc, int64_t link_id)
{
    const char *v;
    size_t n;
    unsigned long limit = VISITS_LIMIT_DEFAULT;
    if (query_find(rc->query.base, rc->query.len, "limit", &v, &n)) {
        limit = 0;
        for (size_t i = 0; i < n && limit <= VISITS_LIMIT_MAX; i++)
            limit = (v[i] >= '0' && v[i] <= '9') ? limit * 10 + (unsigned long)(v[i] - '0') : VISITS_LIMIT_MAX + 1;
        if (n == 0 || limit < 1 || limit > VISITS_LIMIT_MAX) {
            respond_invalid(rc, 400, "limit", "must be an integer from 1 to 1000");
            return;
        }
    }
    uint64_t before = 0;
    if (query_find(rc->query.base, rc->query.len, "cursor", &v, &n) && n > 0 &&
        (base62_decode_u64(v, n, &before) != 0 || before == 0 || before > INT64_MAX)) {
        respond_invalid(rc, 400, "cursor", "is not a cursor returned by this API");
        return;
    }
    struct visits_ctx c = {.limit = (int)limit};
    bool csv = wants_csv(rc->req);
    if (csv) {
        h2o_buffer_init(&c.csv, &h2o_socket_buffer_prototype);
        static const char head[] = "id,time,kind,ip,country,city,referrer_host,referrer,browser,browser_major,os,"
                                   "device,bot,language,utm_source,utm_medium,utm_campaign,utm_term,utm_content,"
                                   "visited_url,target_url\n";
        h2o_iovec_t dst = h2o_buffer_reserve(&c.csv, sizeof(head));
        memcpy(dst.base, head, sizeof(head) - 1);
        c.csv->size += sizeof(head) - 1;
    } else {
        c.items = json_array();
    }
    if (store_visits_list(rc->w->reader, link_id, (int64_t)before, (int)limit + 1, add_visit, &c) != 0) {
        json_decref(c.items);
        if (c.csv)
            h2o_buffer_dispose(&c.csv);
        respond_unavailable(rc, "visits cannot be read");
        return;
    }
    char cur[16] = "";
    if (c.more)
        cur[base62_encode_u64((uint64_t)c.last_id, cur)] = '\0';
    if (csv) {
        char *body = h2o_mem_alloc_pool(&rc->req->pool, c.csv->size);
        memcpy(body, c.csv->bytes, c.csv->size);
        size_t len = c.csv->size;
        h2o_buffer_dispose(&c.csv);
        if (c.more) { /* the cursor for the next page travels in a header */
            char *h = h2o_mem_alloc_pool(&rc->req->pool, sizeof(cur));
            memcpy(h, cur, sizeof(cur));
            h2o_add_header_by_str(&rc->req->pool, &rc->req->res.headers, H2O_STRLIT("next-cursor"), 0, NULL, h,
                                  strlen(h));
        }
        respond_bytes(rc, 200, "text/csv; charset=utf-8", body, len);
        return;
    }
    respond_json(rc, 200,
                 json_pack("{s:o, s:o}", "items", c.items, "next_cursor", c.more ? json_string(cur) : json_null()));
}

void api_link_visits(struct reqctx *rc, const h2o_iovec_t *params)
{
    if (api_find_link(rc, params[0]))
        list_visits(rc, rc->w->scratch.id);
}

void api_orphan_visits(struct reqctx *rc, const h2o_iovec_t *params)
{
    /* Orphan visits belong to the instance's domain, not to a team. */
    if (rc->principal.kind != PRINCIPAL_OPERATOR) {
        respond_problem(rc, 403, "forbidden", "Forbidden", "orphan visits are visible to operator keys only", NULL);
        return;
    }
    list_visits(rc, 0);
}

/* ---- the team's overview ---------------------------------------------------------- */

static int add_top(void *ctx, const struct link *l)
{
    json_array_append_new(ctx, json_pack("{s:s, s:s, s:{s:I, s:I, s:I}}", "code", l->code, "url", l->url, "visits",
                                         "total", (json_int_t)l->visits_total, "non_bots",
                                         (json_int_t)(l->visits_total - l->visits_bots), "bots",
                                         (json_int_t)l->visits_bots));
    return 0;
}

void api_team_stats(struct reqctx *rc, const h2o_iovec_t *params)
{
    struct range r;
    if (!api_allowed(rc, rc->principal.team_id, ACT_LINK_READ, 0) || !read_range(rc, &r))
        return;
    struct series_ctx c = {.series = json_array(), .exclude_bots = r.exclude_bots};
    json_t *top = json_array();
    if (store_stats_series(rc->w->reader, 0, rc->principal.team_id, r.hourly, r.from, r.to, add_period, &c) != 0 ||
        store_top_links(rc->w->reader, rc->principal.team_id, BREAKDOWN_TOP, &rc->w->scratch, add_top, top) != 0) {
        json_decref(c.series);
        json_decref(top);
        respond_unavailable(rc, "statistics cannot be read");
        return;
    }
    respond_json(rc, 200,
                 json_pack("{s:o, s:o, s:o, s:o, s:o, s:s}", "summary", summary_json(&c), "series", c.series,
                           "top_links", top, "from", api_time_json(r.from), "to", api_time_json(r.to), "interval",
                           r.hourly ? "hour" : "day"));
}
