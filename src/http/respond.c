#include "http/respond.h"

#include "http/server.h"
#include "util/clock.h"
#include "util/dec.h"

#include <string.h>
#include <sys/time.h>

static const char page_404[] =
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Link not found</title>"
    "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
    "<style>body{font:16px/1.5 system-ui,sans-serif;margin:15vh auto;max-width:32em;padding:0 1em;color:#222}"
    "h1{font-size:1.5em}</style></head><body><h1>This link does not exist</h1>"
    "<p>Check that the address was copied completely. Short links are case-sensitive.</p></body></html>\n";

static const char page_410[] =
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Link expired</title>"
    "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
    "<style>body{font:16px/1.5 system-ui,sans-serif;margin:15vh auto;max-width:32em;padding:0 1em;color:#222}"
    "h1{font-size:1.5em}</style></head><body><h1>This link is no longer available</h1>"
    "<p>It has expired or reached its visit limit.</p></body></html>\n";

static const char *reason_of(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 304: return "Not Modified"; /* QR codes: If-None-Match */
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
    }
}

static void finish(struct reqctx *rc, int status, size_t bytes)
{
    h2o_req_t *req = rc->req;
    struct worker *w = rc->w;
    struct timeval now;
    gettimeofday(&now, NULL);
    int64_t us = (int64_t)(now.tv_sec - req->timestamps.request_begin_at.tv_sec) * 1000000 +
                 (now.tv_usec - req->timestamps.request_begin_at.tv_usec);
    if (us < 0)
        us = 0;
    metrics_observe_request(&w->metrics, rc->route, status, (uint64_t)us);
    if (accesslog_enabled(w->app->alog)) {
        struct accesslog_entry e = {
            .time_ms = (int64_t)now.tv_sec * 1000 + now.tv_usec / 1000,
            .request_id = rc->request_id.base,
            .request_id_len = rc->request_id.len,
            .method = req->method.base,
            .method_len = req->method.len,
            .path = rc->path.base,
            .path_len = rc->path.len,
            .status = status,
            .duration_us = (uint64_t)us,
            .bytes_out = bytes,
        };
        if (accesslog_write(w->app->alog, w->index, &e) != 0)
            metric_add(&w->metrics.access_log_dropped, 1);
    }
    req->res.status = status;
    req->res.reason = reason_of(status);
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-request-id"), 0, NULL, rc->request_id.base,
                          rc->request_id.len);
}

/* body must outlive the request (static or from the request's pool). */
static void send_body(struct reqctx *rc, const char *ctype, const char *body, size_t len)
{
    static h2o_generator_t generator = {NULL, NULL};
    h2o_req_t *req = rc->req;
    if (ctype != NULL)
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, ctype, strlen(ctype));
    req->res.content_length = len;
    h2o_start_response(req, &generator);
    h2o_iovec_t iov = h2o_iovec_init(body, len);
    if (len == 0 || h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD")))
        h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
    else
        h2o_send(req, &iov, 1, H2O_SEND_STATE_FINAL);
}

void respond_bytes(struct reqctx *rc, int status, const char *ctype, const char *body, size_t len)
{
    finish(rc, status, len);
    send_body(rc, ctype, body, len);
}

void respond_stream_start(struct reqctx *rc, h2o_generator_t *gen, const char *ctype)
{
    finish(rc, 200, 0);
    h2o_add_header(&rc->req->pool, &rc->req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, ctype, strlen(ctype));
    h2o_start_response(rc->req, gen);
}

void respond_empty(struct reqctx *rc, int status)
{
    respond_bytes(rc, status, NULL, NULL, 0);
}

void respond_redirect(struct reqctx *rc, int status, const char *url, size_t len)
{
    h2o_req_t *req = rc->req;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_LOCATION, NULL, url, len);
    respond_empty(rc, status);
}

void respond_page(struct reqctx *rc, int status)
{
    const char *page = status == 410 ? page_410 : page_404;
    size_t len = status == 410 ? sizeof(page_410) - 1 : sizeof(page_404) - 1;
    respond_bytes(rc, status, "text/html; charset=utf-8", page, len);
}

/* A body written in one pass into the request's pool (json_dumpb would
 * take two: one to measure, one to write). Grows by doubling; the pool
 * frees every step with the request. */
#define JSON_BODY_FIRST 2048

static int pool_reserve(struct jw *w, size_t need)
{
    size_t cap = w->cap * 2;
    while (cap - w->len < need)
        cap *= 2;
    char *b = h2o_mem_alloc_pool((h2o_mem_pool_t *)w->ctx, cap);
    memcpy(b, w->buf, w->len);
    w->buf = b;
    w->cap = cap;
    return 0;
}

void respond_jw_init(struct reqctx *rc, struct jw *w)
{
    jw_init(w, h2o_mem_alloc_pool(&rc->req->pool, JSON_BODY_FIRST), JSON_BODY_FIRST, pool_reserve, &rc->req->pool);
}

void respond_jw(struct reqctx *rc, int status, struct jw *w)
{
    jw_put("\n", 1, w);
    respond_bytes(rc, status, status >= 400 ? "application/problem+json" : "application/json", w->buf, w->len);
}

void respond_jw_value(struct jw *w, json_t *v)
{
    jw_sep(w);
    size_t mark = w->len;
    if (json_dump_callback(v, jw_put, w, JSON_COMPACT) != 0 && !w->failed) {
        w->len = mark;
        jw_put("null", 4, w);
    }
}

void respond_json(struct reqctx *rc, int status, json_t *body)
{
    struct jw w;
    respond_jw_init(rc, &w);
    jw_sep(&w);
    if (json_dump_callback(body, jw_put, &w, JSON_COMPACT) != 0)
        w.len = 0; /* as json_dumpb did: a string that is not UTF-8 makes an empty body */
    json_decref(body);
    respond_jw(rc, status, &w);
}

json_t *problem_json(int status, const char *name, const char *title, const char *detail, json_t *invalid_params)
{
    char type[128];
    snprintf(type, sizeof(type), PROBLEM_TYPE_BASE "%s", name);
    json_t *p = json_pack("{s:s, s:s, s:i, s:s}", "type", type, "title", title, "status", status, "detail", detail);
    if (invalid_params != NULL)
        json_object_set_new(p, "invalid_params", invalid_params);
    return p;
}

void respond_problem(struct reqctx *rc, int status, const char *name, const char *title, const char *detail,
                     json_t *invalid_params)
{
    json_t *p = problem_json(status, name, title, detail, invalid_params);
    json_object_set_new(p, "request_id", json_stringn(rc->request_id.base, rc->request_id.len));
    if (status == 405) {
        const char *allow = rc->route == ROUTE_LINKS ? "GET, POST" : rc->route == ROUTE_LINK ? "GET, PATCH, DELETE"
                                                                                             : "GET, HEAD";
        h2o_add_header(&rc->req->pool, &rc->req->res.headers, H2O_TOKEN_ALLOW, NULL, allow, strlen(allow));
    }
    respond_json(rc, status, p);
}

json_t *problem_param(json_t *arr, const char *name, const char *reason)
{
    if (arr == NULL)
        arr = json_array();
    json_array_append_new(arr, json_pack("{s:s, s:s}", "name", name, "reason", reason));
    return arr;
}

void respond_invalid(struct reqctx *rc, int status, const char *param, const char *reason)
{
    char detail[256];
    snprintf(detail, sizeof(detail), "%s %s", param, reason);
    respond_problem(rc, status, "validation", status == 422 ? "Invalid field value" : "Invalid request", detail,
                    problem_param(NULL, param, reason));
}

static void add_uint_header(struct reqctx *rc, const char *name, size_t nlen, uint32_t v)
{
    char *buf = h2o_mem_alloc_pool(&rc->req->pool, DEC_U64_MAX);
    h2o_add_header_by_str(&rc->req->pool, &rc->req->res.headers, name, nlen, 0, NULL, buf, dec_u64(buf, v));
}

void respond_ratelimit_headers(struct reqctx *rc, uint32_t limit, uint32_t remaining, uint32_t reset_s,
                               uint32_t retry_after_s)
{
    add_uint_header(rc, H2O_STRLIT("ratelimit-limit"), limit);
    add_uint_header(rc, H2O_STRLIT("ratelimit-remaining"), remaining);
    add_uint_header(rc, H2O_STRLIT("ratelimit-reset"), reset_s);
    if (retry_after_s > 0)
        add_uint_header(rc, H2O_STRLIT("retry-after"), retry_after_s);
}

void respond_unavailable(struct reqctx *rc, const char *detail)
{
    respond_problem(rc, 503, "unavailable", "Service unavailable", detail, NULL);
}

size_t respond_render(json_t *body, char *buf, size_t cap)
{
    size_t n = json_dumpb(body, buf, cap, JSON_COMPACT);
    json_decref(body);
    return n <= cap ? n : 0;
}
