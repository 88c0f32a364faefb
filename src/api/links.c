/* links: /api/v1/links and /api/v1/links/{code}. */
#include "api/api.h"

#include "http/server.h"
#include "util/base62.h"
#include "util/clock.h"
#include "util/query.h"
#include "util/rfc3339.h"

#include <stdlib.h>
#include <string.h>

#define LIST_LIMIT_DEFAULT 20
#define LIST_LIMIT_MAX 100

/* ---- auth ----------------------------------------------------------------- */

static h2o_iovec_t presented_key(h2o_req_t *req)
{
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    if (i >= 0) {
        h2o_iovec_t v = req->headers.entries[i].value;
        if (v.len > 7 && h2o_lcstris(v.base, 7, H2O_STRLIT("bearer ")))
            return h2o_iovec_init(v.base + 7, v.len - 7);
        return h2o_iovec_init(NULL, 0);
    }
    i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("x-api-key"), -1);
    if (i >= 0)
        return req->headers.entries[i].value;
    return h2o_iovec_init(NULL, 0);
}

static bool authorized(struct reqctx *rc)
{
    h2o_iovec_t key = presented_key(rc->req);
    if (key.len == 0) {
        respond_problem(rc, 401, "unauthorized", "Authentication required",
                        "send an API key as 'Authorization: Bearer KEY' or 'X-Api-Key: KEY'", NULL);
        return false;
    }
    if (apikey_check(&rc->w->app->keys, key.base, key.len) == APIKEY_NONE) {
        respond_problem(rc, 401, "unauthorized", "Authentication failed", "the API key is not valid", NULL);
        return false;
    }
    return true;
}

/* ---- encoding ------------------------------------------------------------- */

static json_t *time_or_null(int64_t ms)
{
    if (ms == 0)
        return json_null();
    char buf[RFC3339_BUF];
    size_t n = rfc3339_format(ms, buf);
    return json_stringn(buf, n);
}

static json_t *link_json(const struct app *app, const struct link *l)
{
    size_t blen = strlen(app->cfg->base_url), clen = strlen(l->code);
    char short_url[CONFIG_BASE_URL_MAX + 1 + LINK_CODE_MAX + 1];
    memcpy(short_url, app->cfg->base_url, blen);
    short_url[blen] = '/';
    memcpy(short_url + blen + 1, l->code, clen);
    return json_pack("{s:s, s:s%, s:s, s:o, s:o, s:o, s:o, s:o, s:i}", "code", l->code, "short_url", short_url,
                     blen + 1 + clen, "url", l->url, "title", l->has_title ? json_string(l->title) : json_null(),
                     "created_at", time_or_null(l->created_at), "updated_at", time_or_null(l->updated_at),
                     "expires_at", time_or_null(l->expires_at), "max_visits",
                     l->max_visits ? json_integer(l->max_visits) : json_null(), "redirect_type", l->redirect_type);
}

/* ---- decoding ------------------------------------------------------------- */

static bool is_json_type(h2o_req_t *req)
{
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_TYPE, -1);
    if (i < 0)
        return false;
    h2o_iovec_t v = req->headers.entries[i].value;
    size_t n = 0;
    while (n < v.len && v.base[n] != ';' && v.base[n] != ' ')
        n++;
    return h2o_lcstris(v.base, n, H2O_STRLIT("application/json")) ||
           (n > 5 && h2o_lcstris(v.base + n - 5, 5, H2O_STRLIT("+json")));
}

/* The request body as a JSON object, or NULL after answering the error. */
static json_t *read_object(struct reqctx *rc)
{
    h2o_req_t *req = rc->req;
    if (!is_json_type(req)) {
        respond_problem(rc, 415, "unsupported-media-type", "Unsupported media type",
                        "send the body as application/json", NULL);
        return NULL;
    }
    if (req->entity.base == NULL || req->entity.len == 0) {
        respond_invalid(rc, 400, "body", "is required (a JSON object)");
        return NULL;
    }
    json_error_t jerr;
    json_t *obj = json_loadb(req->entity.base, req->entity.len, JSON_REJECT_DUPLICATES, &jerr);
    if (obj == NULL) {
        char reason[256];
        snprintf(reason, sizeof(reason), "is not valid JSON: %s (line %d, column %d)", jerr.text, jerr.line,
                 jerr.column);
        respond_invalid(rc, 400, "body", reason);
        return NULL;
    }
    if (!json_is_object(obj)) {
        json_decref(obj);
        respond_invalid(rc, 400, "body", "must be a JSON object");
        return NULL;
    }
    return obj;
}

static void copy_str(char *dst, const char *src, size_t len)
{
    memcpy(dst, src, len);
    dst[len] = '\0';
}

/* Decodes the link fields of obj into op (set bits in op->set); returns the
 * array of invalid_params, or NULL when everything is acceptable. */
static json_t *decode_fields(struct reqctx *rc, json_t *obj, struct store_op *op)
{
    json_t *errs = NULL;
    struct link *l = &op->link;
    const char *key;
    json_t *v;
    int64_t now = clock_wall_ms();
    json_object_foreach(obj, key, v)
    {
        const char *why = NULL;
        if (strcmp(key, "url") == 0) {
            size_t n;
            if (!json_is_string(v))
                why = "must be a string";
            else if ((why = link_check_url(&rc->w->app->policy, json_string_value(v), json_string_length(v), l->url,
                                           &n)) == NULL)
                op->set |= LINK_F_URL;
        } else if (strcmp(key, "slug") == 0) {
            if (!json_is_string(v))
                why = "must be a string";
            else if ((why = link_check_slug(json_string_value(v), json_string_length(v))) == NULL) {
                copy_str(l->code, json_string_value(v), json_string_length(v));
                op->set |= LINK_F_SLUG;
            }
        } else if (strcmp(key, "title") == 0) {
            if (json_is_null(v)) {
                l->has_title = false;
                op->set |= LINK_F_TITLE;
            } else if (!json_is_string(v)) {
                why = "must be a string or null";
            } else if ((why = link_check_title(json_string_value(v), json_string_length(v))) == NULL) {
                copy_str(l->title, json_string_value(v), json_string_length(v));
                l->has_title = true;
                op->set |= LINK_F_TITLE;
            }
        } else if (strcmp(key, "expires_at") == 0) {
            int64_t ms = 0;
            if (json_is_null(v))
                op->set |= LINK_F_EXPIRES;
            else if (!json_is_string(v) || rfc3339_parse(json_string_value(v), json_string_length(v), &ms) != 0)
                why = "must be an RFC 3339 date-time (e.g. 2030-01-31T12:00:00Z) or null";
            else if ((why = link_check_expires(ms, now)) == NULL)
                op->set |= LINK_F_EXPIRES;
            l->expires_at = ms;
        } else if (strcmp(key, "max_visits") == 0) {
            if (json_is_null(v)) {
                l->max_visits = 0;
                op->set |= LINK_F_MAX_VISITS;
            } else if (!json_is_integer(v)) {
                why = "must be an integer or null";
            } else if ((why = link_check_max_visits(json_integer_value(v))) == NULL) {
                l->max_visits = json_integer_value(v);
                op->set |= LINK_F_MAX_VISITS;
            }
        } else if (strcmp(key, "redirect_type") == 0) {
            if (!json_is_integer(v))
                why = "must be one of 301, 302, 307, 308";
            else if ((why = link_check_redirect_type(json_integer_value(v))) == NULL) {
                l->redirect_type = (int)json_integer_value(v);
                op->set |= LINK_F_REDIRECT;
            }
        } else {
            why = "is not a known field";
        }
        if (why != NULL)
            errs = problem_param(errs, key, why);
    }
    return errs;
}

static void invalid_fields(struct reqctx *rc, json_t *errs)
{
    respond_problem(rc, 422, "validation", "Invalid field value", "one or more fields are invalid; see invalid_params",
                    errs);
}

/* ---- replies --------------------------------------------------------------- */

static void reply_store_error(struct reqctx *rc, int status, const char *code)
{
    switch (status) {
    case STORE_NOT_FOUND:
        respond_problem(rc, 404, "not-found", "Link not found", "no link with this code", NULL);
        break;
    case STORE_CONFLICT: {
        char detail[128];
        snprintf(detail, sizeof(detail), "the code \"%s\" is already taken", code);
        respond_problem(rc, 409, "conflict", "Code already taken", detail, problem_param(NULL, "slug", "is taken"));
        break;
    }
    default:
        respond_problem(rc, 503, "unavailable", "Service unavailable", "the change could not be committed", NULL);
    }
}

static void created(struct api_call *call, struct reqctx *rc)
{
    if (call->op.status != STORE_OK) {
        reply_store_error(rc, call->op.status, call->op.link.code);
        return;
    }
    char loc[sizeof("/api/v1/links/") + LINK_CODE_MAX];
    int n = snprintf(loc, sizeof(loc), "/api/v1/links/%s", call->op.link.code);
    char *p = h2o_mem_alloc_pool(&rc->req->pool, (size_t)n);
    memcpy(p, loc, (size_t)n);
    h2o_add_header(&rc->req->pool, &rc->req->res.headers, H2O_TOKEN_LOCATION, NULL, p, (size_t)n);
    respond_json(rc, 201, link_json(rc->w->app, &call->op.link));
}

static void updated(struct api_call *call, struct reqctx *rc)
{
    if (call->op.status != STORE_OK)
        reply_store_error(rc, call->op.status, call->op.link.code);
    else
        respond_json(rc, 200, link_json(rc->w->app, &call->op.link));
}

static void deleted(struct api_call *call, struct reqctx *rc)
{
    if (call->op.status != STORE_OK)
        reply_store_error(rc, call->op.status, call->op.key_code);
    else
        respond_empty(rc, 204);
}

/* ---- handlers -------------------------------------------------------------- */

static bool submit_or_503(struct reqctx *rc, struct api_call *call)
{
    if (call == NULL) {
        respond_problem(rc, 503, "unavailable", "Service unavailable", "out of memory", NULL);
        return false;
    }
    api_submit(call);
    return true;
}

static void create_link(struct reqctx *rc)
{
    json_t *obj = read_object(rc);
    if (obj == NULL)
        return;
    struct api_call *call = api_call_new(rc, STORE_LINK_CREATE, created);
    if (call == NULL) {
        json_decref(obj);
        submit_or_503(rc, NULL);
        return;
    }
    struct store_op *op = &call->op;
    op->team_id = API_INSTANCE_TEAM;
    op->link.redirect_type = 302;
    json_t *errs = decode_fields(rc, obj, op);
    if (json_object_get(obj, "url") == NULL)
        errs = problem_param(errs, "url", "is required");
    json_decref(obj);
    if (errs != NULL) {
        *call->guard = NULL;
        free(call);
        invalid_fields(rc, errs);
        return;
    }
    if (!(op->set & LINK_F_SLUG))
        op->random_code_len = rc->w->app->cfg->code_length;
    submit_or_503(rc, call);
}

struct list_state {
    struct reqctx *rc;
    json_t *items;
    int limit, seen;
    int64_t last_id;
    bool more;
};

static int list_row(void *ctx, const struct link *l)
{
    struct list_state *st = ctx;
    if (st->seen == st->limit) {
        st->more = true;
        return 1;
    }
    json_array_append_new(st->items, link_json(st->rc->w->app, l));
    st->last_id = l->id;
    st->seen++;
    return 0;
}

static void list_links(struct reqctx *rc)
{
    h2o_req_t *req = rc->req;
    const char *q = req->query_at != SIZE_MAX ? req->path.base + req->query_at + 1 : "";
    size_t qlen = req->query_at != SIZE_MAX ? req->path.len - req->query_at - 1 : 0;
    const char *v;
    size_t vlen;
    unsigned long limit = LIST_LIMIT_DEFAULT;
    if (query_find(q, qlen, "limit", &v, &vlen)) {
        limit = 0;
        for (size_t i = 0; i < vlen && limit <= LIST_LIMIT_MAX; i++)
            limit = (v[i] >= '0' && v[i] <= '9') ? limit * 10 + (unsigned long)(v[i] - '0') : LIST_LIMIT_MAX + 1;
        if (vlen == 0 || limit < 1 || limit > LIST_LIMIT_MAX) {
            respond_invalid(rc, 400, "limit", "must be an integer from 1 to 100");
            return;
        }
    }
    uint64_t before = 0;
    if (query_find(q, qlen, "cursor", &v, &vlen) && vlen > 0) {
        if (base62_decode_u64(v, vlen, &before) != 0 || before == 0 || before > INT64_MAX) {
            respond_invalid(rc, 400, "cursor", "is not a cursor returned by this API");
            return;
        }
    }
    struct list_state st = {.rc = rc, .items = json_array(), .limit = (int)limit};
    int n = store_links_list(rc->w->reader, API_INSTANCE_TEAM, (int64_t)before, (int)limit + 1, &rc->w->scratch,
                             list_row, &st);
    if (n < 0) {
        json_decref(st.items);
        respond_problem(rc, 503, "unavailable", "Service unavailable", "the link store cannot be read", NULL);
        return;
    }
    json_t *next = json_null();
    if (st.more) {
        char cur[16];
        size_t cl = base62_encode_u64((uint64_t)st.last_id, cur);
        next = json_stringn(cur, cl);
    }
    respond_json(rc, 200, json_pack("{s:o, s:o}", "items", st.items, "next_cursor", next));
}

void api_links(struct reqctx *rc)
{
    if (!authorized(rc))
        return;
    h2o_iovec_t m = rc->req->method;
    if (h2o_memis(m.base, m.len, H2O_STRLIT("GET")))
        list_links(rc);
    else if (h2o_memis(m.base, m.len, H2O_STRLIT("POST")))
        create_link(rc);
    else
        respond_problem(rc, 405, "method-not-allowed", "Method not allowed", "use GET or POST", NULL);
}

static void update_link(struct reqctx *rc, const char *code, size_t len)
{
    json_t *obj = read_object(rc);
    if (obj == NULL)
        return;
    struct api_call *call = api_call_new(rc, STORE_LINK_UPDATE, updated);
    if (call == NULL) {
        json_decref(obj);
        submit_or_503(rc, NULL);
        return;
    }
    struct store_op *op = &call->op;
    op->team_id = API_INSTANCE_TEAM;
    copy_str(op->key_code, code, len);
    json_t *errs = decode_fields(rc, obj, op);
    bool empty = json_object_size(obj) == 0;
    json_decref(obj);
    if (empty)
        errs = problem_param(errs, "body", "must contain at least one field to change");
    if (errs != NULL) {
        *call->guard = NULL;
        free(call);
        invalid_fields(rc, errs);
        return;
    }
    submit_or_503(rc, call);
}

void api_link(struct reqctx *rc, const char *code, size_t len)
{
    if (!authorized(rc))
        return;
    h2o_iovec_t m = rc->req->method;
    bool get = h2o_memis(m.base, m.len, H2O_STRLIT("GET"));
    bool patch = h2o_memis(m.base, m.len, H2O_STRLIT("PATCH"));
    bool del = h2o_memis(m.base, m.len, H2O_STRLIT("DELETE"));
    if (!get && !patch && !del) {
        respond_problem(rc, 405, "method-not-allowed", "Method not allowed", "use GET, PATCH or DELETE", NULL);
        return;
    }
    if (slug_validate(code, len) != 0) { /* no link can have this code */
        reply_store_error(rc, STORE_NOT_FOUND, "");
        return;
    }
    if (get) {
        int rcode = store_link_get(rc->w->reader, API_INSTANCE_TEAM, 0, code, len, &rc->w->scratch);
        if (rcode != STORE_OK)
            reply_store_error(rc, rcode, "");
        else
            respond_json(rc, 200, link_json(rc->w->app, &rc->w->scratch));
    } else if (patch) {
        update_link(rc, code, len);
    } else {
        struct api_call *call = api_call_new(rc, STORE_LINK_DELETE, deleted);
        if (call != NULL) {
            call->op.team_id = API_INSTANCE_TEAM;
            copy_str(call->op.key_code, code, len);
        }
        submit_or_503(rc, call);
    }
}
