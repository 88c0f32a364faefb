/* api: request handlers. Each decodes its request, asks core whether the
 * values are acceptable, calls the store (reads directly on the worker's
 * reader, writes asynchronously through the writer) and encodes the reply
 * through http/respond.h. Handlers run on the request's worker thread and
 * never touch sockets.
 *
 * Asynchronous writes: api_submit() hands a store op to the writer and
 * returns; the reply is sent from api_ops_done() on the same worker once the
 * op is committed. If the client disconnects meanwhile, the op still
 * completes and its result is dropped. */
#ifndef LP_API_API_H
#define LP_API_API_H

#include "http/respond.h"
#include "store/store.h"
#include "util/config.h"
#include "util/leb128.h"

#include <h2o.h>

/* The team operator keys act in unless they pick another, and the team
 * that holds anonymous links (both made by migration 2). */
#define API_INSTANCE_TEAM 1
#define API_ANONYMOUS_TEAM 2

struct api_call;
typedef void (*api_reply_fn)(struct api_call *call, struct reqctx *rc);

/* One store op in flight for one request. Owned by the worker from submit
 * until api_ops_done() frees it. */
struct api_call {
    h2o_multithread_message_t msg; /* first: the writer posts it back */
    struct worker *w;
    struct reqctx *rc;   /* NULL once the client has gone */
    struct api_call **guard; /* in the request pool; cleared when the call ends */
    api_reply_fn reply;
    void (*cleanup)(struct api_call *call); /* optional: frees what the op points to, before the call */
    bool resubmitted;                       /* api_resubmit from inside reply */
    struct store_op op;
};

/* NULL after answering 503 when out of memory. */
struct api_call *api_call_new(struct reqctx *rc, enum store_op_kind kind, api_reply_fn reply);
/* For structs that embed struct api_call as their first member. */
struct api_call *api_call_new_sized(struct reqctx *rc, size_t size, enum store_op_kind kind, api_reply_fn reply);
/* Frees a call that was never submitted (e.g. its request failed validation). */
void api_call_drop(struct api_call *call);
/* Queues call->op; on a full queue replies 503 itself and frees the call. */
void api_submit(struct api_call *call);
/* From inside a reply (e.g. after a job hashed a password): hands call->op
 * to the writer, whose commit then calls reply. false if the queue refused
 * it (the caller answers; the call is freed as usual). */
bool api_resubmit(struct api_call *call, api_reply_fn reply);
/* The worker's receiver for finished ops (registered by the server). */
void api_ops_done(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages);

/* Runs fn(call) on the blocking-work pool (password hashing), then
 * call->reply on the worker, like a store op. */
void api_run_job(struct api_call *call, void (*fn)(struct api_call *call));
int api_jobs_start(size_t threads);
void api_jobs_stop(void);

/* Idempotency-Key of the request, attached to a create op; render makes the
 * response to remember (on the writer's thread). 0 (also without the
 * header), or -1 after answering 400 for a malformed key. */
int api_idem_attach(struct reqctx *rc, struct store_op *op,
                    size_t (*render)(struct store_op *op, char *buf, size_t cap, int *status));

/* The cache key of a link: its domain id as a varint (one byte for the
 * first 127 domains; a varint ends itself, so no code can run into it)
 * then the code. Returns its length. */
size_t api_cache_key(char *buf, int64_t domain_id, const char *code, size_t code_len);
#define API_CACHE_KEY_MAX (LEB128_MAX + LINK_CODE_MAX)

/* ---- routing (routes.c) ---- */

enum api_auth {
    API_AUTH_REQUIRED, /* a token or key */
    API_AUTH_PUBLIC,   /* none; rate limited per client IP (login, signup, refresh) */
    API_AUTH_ANON_OK,  /* none accepted when --allow-anonymous is set */
};

#define API_PARAMS_MAX 2
typedef void (*api_handler_fn)(struct reqctx *rc, const h2o_iovec_t *params);

struct api_route {
    const char *method;
    const char *pattern; /* segments; "{name}" matches one non-empty segment */
    enum metrics_route metric;
    enum api_auth auth;
    api_handler_fn handler;
};

extern const struct api_route api_routes[];
extern const size_t api_nroutes;

/* Routes an /api/ request: 404/405 problems, authentication, rate limits,
 * then the handler. */
void api_dispatch(struct reqctx *rc);

/* ---- who is calling (principal.c) ---- */

/* Fills rc->principal (team from ?team_id= or the default) and applies the
 * per-principal rate limit. 0, or -1 after answering 401/404/429 (503 when
 * the store cannot be read). */
int api_authenticate(struct reqctx *rc, bool anonymous_ok);
/* Switches rc->principal to team_id (404 unless visible to the caller, 503
 * when the store cannot be read). */
int api_select_team(struct reqctx *rc, int64_t team_id);
/* access_check, answering 401/403/404 itself when it says no. */
bool api_allowed(struct reqctx *rc, int64_t resource_team, enum access_action action, int64_t owner);
/* Answers a reader lookup that returned st: 404 with this title and detail
 * for STORE_NOT_FOUND, 503 for a store error (never a 404 that is not true). */
void api_lookup_failed(struct reqctx *rc, int st, const char *title, const char *detail);
/* Takes a token from the bucket scope+id; answers 429 itself when empty. */
bool api_rate_limit(struct reqctx *rc, const char *scope, const void *id, size_t idlen, uint32_t per_minute);
/* Spends one of the client's --rate-miss budget (an unknown code); answers
 * 429 itself when it is spent. */
bool api_miss_allowed(struct reqctx *rc);
/* Resolves rc->client_ip (peer, or X-Forwarded-For from a trusted proxy). */
void api_client_ip(struct reqctx *rc);
/* The client's rate-limit identity: its IPv4 address, or its IPv6 /64. */
void api_client_bucket(struct reqctx *rc, uint8_t out[16]);
/* A positive decimal id, or -1. */
int64_t api_parse_id(const char *s, size_t len);

/* ---- JSON helpers (json.c) ---- */

/* The request body as a JSON object, or NULL after answering the error. */
json_t *api_read_object(struct reqctx *rc);
json_t *api_time_json(int64_t unix_ms); /* RFC 3339 or null for 0 */
json_t *api_id_json(int64_t id);        /* ids are strings: they exceed 2^53 */
/* A JSON string or integer holding a positive id; -1 otherwise. */
int64_t api_json_id(const json_t *v);
/* Copies a JSON string of at most cap-1 bytes; false if it is not one. */
bool api_json_str(const json_t *v, char *dst, size_t cap);

/* ---- handlers ---- */
void api_links(struct reqctx *rc, const h2o_iovec_t *params);      /* GET, POST /api/v1/links */
void api_link_get(struct reqctx *rc, const h2o_iovec_t *params);   /* /api/v1/links/{code} */
void api_link_patch(struct reqctx *rc, const h2o_iovec_t *params);
void api_link_delete(struct reqctx *rc, const h2o_iovec_t *params);
void api_link_stats(struct reqctx *rc, const h2o_iovec_t *params);
void api_link_visits(struct reqctx *rc, const h2o_iovec_t *params);
/* redirect rules (issue 4) */
void api_link_rules(struct reqctx *rc, const h2o_iovec_t *params); /* GET, PUT /api/v1/links/{code}/rules */
void api_team_stats(struct reqctx *rc, const h2o_iovec_t *params);
void api_orphan_visits(struct reqctx *rc, const h2o_iovec_t *params);
void api_auth_signup(struct reqctx *rc, const h2o_iovec_t *params);
void api_auth_login(struct reqctx *rc, const h2o_iovec_t *params);
void api_auth_refresh(struct reqctx *rc, const h2o_iovec_t *params);
void api_auth_logout(struct reqctx *rc, const h2o_iovec_t *params);
void api_me(struct reqctx *rc, const h2o_iovec_t *params);
void api_teams_list(struct reqctx *rc, const h2o_iovec_t *params);
void api_teams_create(struct reqctx *rc, const h2o_iovec_t *params);
void api_team_get(struct reqctx *rc, const h2o_iovec_t *params);
void api_team_patch(struct reqctx *rc, const h2o_iovec_t *params);
void api_members_list(struct reqctx *rc, const h2o_iovec_t *params);
void api_members_add(struct reqctx *rc, const h2o_iovec_t *params);
void api_member_patch(struct reqctx *rc, const h2o_iovec_t *params);
void api_member_delete(struct reqctx *rc, const h2o_iovec_t *params);
void api_keys_list(struct reqctx *rc, const h2o_iovec_t *params);
void api_keys_create(struct reqctx *rc, const h2o_iovec_t *params);
void api_key_delete(struct reqctx *rc, const h2o_iovec_t *params);

void api_redirect(struct reqctx *rc, const char *code, size_t len); /* /{code} */

/* ---- tags, notes, search (issue 4; links.c, find.c) ---- */
struct app;
/* The link object of the API: its fields, written into an open object. */
void api_link_fields(struct jw *w, const struct app *app, const struct link *l);
struct store_op;
/* The fields of a new link in obj into op (reuse, url required, ...):
 * invalid_params, or NULL. Removes "reuse" from obj. */
json_t *api_link_decode_new(const struct link_policy *policy, json_t *obj, struct store_op *op);
/* The plan's rules for a new link of the caller's team: expiry cap (anonymous
 * links: per client IP and short-lived), op->max_active, the random code length. */
void api_link_plan_new(struct reqctx *rc, struct store_op *op, struct link *l, unsigned *set, unsigned *code_len);
/* bulk creation, import, export (issue 4; bulk.c, import.c, export.c) */
#define API_BULK_MAX 1000 /* items of one bulk request */
void api_links_bulk(struct reqctx *rc, const h2o_iovec_t *params); /* POST /api/v1/links/bulk */
/* What an imported row carries besides link fields. */
struct api_bulk_extra {
    int64_t created_at; /* Unix ms, 0: now */
    int64_t visits;     /* historical total */
    const char *bad_field, *bad_reason; /* static: the row is refused with this problem */
};
void api_links_import(struct reqctx *rc, const h2o_iovec_t *params); /* POST /api/v1/links/import */
struct import_row;
/* An imported row as the link object a create takes; e gets the row's
 * creation time, visit count, and the problem of a field no create has. */
json_t *api_import_row_json(const struct import_row *r, struct api_bulk_extra *e);
void api_links_export(struct reqctx *rc, const h2o_iovec_t *params); /* GET /api/v1/links/export */
/* Validates each object of rows like a create and commits the valid ones in
 * one transaction (dry_run: checked, rolled back), answering the per-item
 * results. extra: NULL, or one per row. 0, or -1 after answering 503. */
int api_bulk_run(struct reqctx *rc, json_t *rows, const struct api_bulk_extra *extra, bool dry_run);
void api_links_list(struct reqctx *rc);                              /* GET /api/v1/links */
struct store_link_query;
/* The list filters of the request's query string into lq (team and now
 * set by the caller); false after answering 400. */
bool api_links_read_filters(struct reqctx *rc, struct store_link_query *lq);
/* Moves lq's keyset cursor to just after last, in lq's order. */
void api_links_query_after(struct store_link_query *lq, const struct link *last);
void api_links_suggest(struct reqctx *rc, const h2o_iovec_t *params); /* GET /api/v1/links/suggest */
void api_tags_list(struct reqctx *rc, const h2o_iovec_t *params);     /* GET /api/v1/tags */
void api_tag_patch(struct reqctx *rc, const h2o_iovec_t *params);     /* PATCH /api/v1/tags/{name} */
void api_tag_delete(struct reqctx *rc, const h2o_iovec_t *params);    /* DELETE /api/v1/tags/{name} */

/* The caller's link {code} into rc->w->scratch, if the caller may read it;
 * otherwise answers 404/403 itself and returns false. */
bool api_find_link(struct reqctx *rc, h2o_iovec_t code);

/* ---- live streams (live.c) ---- */
void api_link_live(struct reqctx *rc, const h2o_iovec_t *params); /* GET /api/v1/links/{code}/live */
void api_team_live(struct reqctx *rc, const h2o_iovec_t *params); /* GET /api/v1/live */
struct worker;
void api_live_worker_init(struct worker *w); /* on the worker's thread, at setup */
void api_live_stop(struct worker *w);        /* shutdown: end every stream */
void api_live_notify(void *app);             /* the hub's callback (sink thread) */

/* ---- webhooks (webhooks.c) ---- */
void api_hooks_create(struct reqctx *rc, const h2o_iovec_t *params);
void api_hooks_list(struct reqctx *rc, const h2o_iovec_t *params);
void api_hook_get(struct reqctx *rc, const h2o_iovec_t *params);
void api_hook_patch(struct reqctx *rc, const h2o_iovec_t *params);
void api_hook_delete(struct reqctx *rc, const h2o_iovec_t *params);
void api_hook_deliveries(struct reqctx *rc, const h2o_iovec_t *params);
void api_delivery_retry(struct reqctx *rc, const h2o_iovec_t *params);
/* ---- QR codes, crawlers and previews (issue 4; qr.c, crawl.c) ---- */
#define API_ROBOTS_TTL_MS 60000             /* a worker rebuilds /robots.txt at most once a minute */
#define API_ROBOTS_MAX_BYTES (500 * 1024)   /* Google reads the first 500 KiB of robots.txt */
#define API_ROBOTS_MAX_CODES 20000
void api_link_qr(struct reqctx *rc, const h2o_iovec_t *params); /* GET /api/v1/links/{code}/qr */
void api_qr_public(struct reqctx *rc, const char *code, size_t len); /* GET /{code}/qr */
void api_preview(struct reqctx *rc, const char *code, size_t len);   /* GET /{code}+ */
void api_robots(struct reqctx *rc);                                   /* GET /robots.txt */
/* The short URL of code on the request's domain (domains.c), NUL-terminated
 * in buf (API_SHORT_URL_MAX); its length. */
size_t api_short_url(const struct reqctx *rc, const char *code, size_t len, char *buf);
/* ---- domains (issue 4; domains.c) ---- */
#define API_SHORT_URL_MAX (CONFIG_BASE_URL_MAX + DOMAIN_HOST_MAX + 2 + LINK_CODE_MAX)
struct domain_entry;
/* The link's short URL: --base-url's scheme, the link's domain (the base
 * URL when ""), the code; NUL-terminated in buf (API_SHORT_URL_MAX); its length. */
size_t api_link_short_url(const struct config *cfg, const char *domain, const char *code, char *buf);
/* Sets rc->domain_id/rc->domain from the Host header (public paths). */
void api_host_domain(struct reqctx *rc);
/* Sets rc->domain_id from ?domain= (per-link API paths): the caller's
 * team's domain or the default one; false after answering 404. */
bool api_domain_param(struct reqctx *rc);
/* host names the default domain or one of the caller's team's: 0 and its
 * id and hostname ("" for the default), else -1. */
int api_domain_of_team(struct reqctx *rc, const char *host, size_t len, int64_t *id, const char **name);
/* What the request's domain answers instead of a built-in page, or NULL. */
const char *api_domain_redirect(const struct reqctx *rc, enum store_domain_redirect which);
void api_domains_free(struct worker *w);
void api_domains_list(struct reqctx *rc, const h2o_iovec_t *params);   /* GET /api/v1/domains */
void api_domains_create(struct reqctx *rc, const h2o_iovec_t *params); /* POST /api/v1/domains */
void api_domain_get(struct reqctx *rc, const h2o_iovec_t *params);     /* /api/v1/domains/{hostname} */
void api_domain_patch(struct reqctx *rc, const h2o_iovec_t *params);
void api_domain_delete(struct reqctx *rc, const h2o_iovec_t *params);
/* GET/HEAD of an active link for the public pages; answers 405/404/410/503
 * itself and returns false. Fills rc->w->scratch. */
bool api_public_link(struct reqctx *rc, const char *code, size_t len);

/* Pushes a visit to the worker's ring (see events/sink.h). link is the
 * cache snapshot of the link redirected to, NULL for orphan visits. */
struct link_snap;
/* The redirect proper, once the link is known to be active: rules, the
 * Location, max_visits, the visit, the answer (redirect.c). */
void api_redirect_go(struct reqctx *rc, const struct link_snap *s, const char *code, size_t len, bool head,
                     int64_t now);
/* password-protected links (issue 4; unlock.c): the form, Basic auth or the
 * form's POST for a locked link; s lives in the request's pool. */
void api_unlock(struct reqctx *rc, struct link_snap *s, const char *code, size_t len, bool head, bool post);
void api_capture(struct reqctx *rc, enum store_visit_kind kind, const struct link_snap *link);
void api_healthz(struct reqctx *rc);
void api_readyz(struct reqctx *rc);
void api_metrics(struct reqctx *rc);

#endif
