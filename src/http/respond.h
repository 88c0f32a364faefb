/* respond: every response LinkPulse sends goes through here, so each is
 * counted in the metrics and written to the access log exactly once, and
 * every error has the same RFC 9457 shape.
 * Threading: called on the request's worker thread only. */
#ifndef LP_HTTP_RESPOND_H
#define LP_HTTP_RESPOND_H

#include "core/access.h"
#include "obs/metrics.h"
#include "util/jsonw.h"

#include <h2o.h>
#include <jansson.h>

#define PROBLEM_TYPE_BASE "https://linkpulse.dev/problems/"

/* Per-request state, allocated from the request's pool by the router. */
struct reqctx {
    h2o_req_t *req;
    struct worker *w;
    enum metrics_route route;
    h2o_iovec_t request_id;
    h2o_iovec_t path; /* without the query string */
    h2o_iovec_t query; /* after '?', empty if none */
    struct principal principal; /* set by api_authenticate */
    uint8_t client_ip[16];      /* IPv4-mapped when IPv4; resolved through --trusted-proxies */
    bool client_ip_set;
    bool peer_trusted;          /* the TCP peer is one of --trusted-proxies */
    /* domains (issue 4): the domain the request is about (the Host header's
     * on public paths, ?domain= on per-link API paths); 0 and NULL for the
     * default one */
    int64_t domain_id;
    const struct domain_entry *domain;
};

/* Adds RateLimit-Limit/-Remaining/-Reset (and Retry-After on a refusal). */
void respond_ratelimit_headers(struct reqctx *rc, uint32_t limit, uint32_t remaining, uint32_t reset_s,
                               uint32_t retry_after_s);

/* body must outlive the request: static, or from the request's pool. */
void respond_bytes(struct reqctx *rc, int status, const char *ctype, const char *body, size_t len);
/* Takes ownership of body. */
void respond_json(struct reqctx *rc, int status, json_t *body);
/* A JSON body written by hand (util/jsonw.h) into the request's pool:
 * respond_jw_init, the writes, then respond_jw, which adds the newline. */
void respond_jw_init(struct reqctx *rc, struct jw *w);
void respond_jw(struct reqctx *rc, int status, struct jw *w);
/* A jansson value (not taken) as the next value of w; one jansson cannot
 * write (a string that is not UTF-8) is written as null, not cut short. */
void respond_jw_value(struct jw *w, json_t *v);
/* name: the problem type's last path segment (e.g. "validation").
 * invalid_params: a JSON array of {"name","reason"}, stolen, may be NULL. */
void respond_problem(struct reqctx *rc, int status, const char *name, const char *title, const char *detail,
                     json_t *invalid_params);
/* 503 problem: the store or a queue cannot take the request now. */
void respond_unavailable(struct reqctx *rc, const char *detail);
/* Serialises body (taking it) into buf for an idempotency record; 0 if it
 * does not fit. */
size_t respond_render(json_t *body, char *buf, size_t cap);
/* A problem with one invalid parameter. */
void respond_invalid(struct reqctx *rc, int status, const char *param, const char *reason);
void respond_redirect(struct reqctx *rc, int status, const char *url, size_t len);
/* The small built-in HTML pages: 404 (unknown code) and 410 (expired). */
void respond_page(struct reqctx *rc, int status);
void respond_empty(struct reqctx *rc, int status);
/* A 200 whose body the caller streams with h2o_send through gen (live
 * streams); counted and logged now, when it starts. */
void respond_stream_start(struct reqctx *rc, h2o_generator_t *gen, const char *ctype);

/* The problem object itself (no request_id), for problems inside a body
 * (bulk results); invalid_params stolen, may be NULL. */
json_t *problem_json(int status, const char *name, const char *title, const char *detail, json_t *invalid_params);
/* Appends {"name": name, "reason": reason} to arr (creating it if NULL). */
json_t *problem_param(json_t *arr, const char *name, const char *reason);

#endif
