/* links: /api/v1/links and /api/v1/links/{code}. */
#include "api/api.h"

#include "http/server.h"
#include "util/base62.h"
#include "util/clock.h"
#include "util/query.h"
#include "core/plan.h"
#include "util/rfc3339.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* ---- encoding ------------------------------------------------------------- */

static void time_field(struct jw *w, const char *key, int64_t ms)
{
    jw_key(w, key);
    if (ms == 0) {
        jw_null(w);
        return;
    }
    char buf[RFC3339_BUF];
    jw_str(w, buf, rfc3339_format(ms, buf));
}

static void opt_str_field(struct jw *w, const char *key, bool has, const char *s)
{
    jw_key(w, key);
    if (has)
        jw_strz(w, s);
    else
        jw_null(w);
}

void api_link_fields(struct jw *w, const struct app *app, const struct link *l)
{
    char short_url[API_SHORT_URL_MAX];
    size_t slen = api_link_short_url(app->cfg, l->domain, l->code, short_url); /* domains (issue 4) */
    jw_key(w, "code");
    jw_strz(w, l->code);
    jw_key(w, "short_url");
    jw_str(w, short_url, slen);
    jw_key(w, "url");
    jw_strz(w, l->url);
    opt_str_field(w, "title", l->has_title, l->title);
    time_field(w, "created_at", l->created_at);
    time_field(w, "updated_at", l->updated_at);
    time_field(w, "expires_at", l->expires_at);
    jw_key(w, "max_visits");
    if (l->max_visits)
        jw_int(w, l->max_visits);
    else
        jw_null(w);
    jw_key(w, "redirect_type");
    jw_int(w, l->redirect_type);
    /* forward_query and UTM fields (issue 4) */
    jw_key(w, "forward_query");
    jw_bool(w, l->forward_query);
    for (int i = 0; i < LINK_UTM_N; i++)
        opt_str_field(w, link_utm_names[i], l->utm[i][0] != '\0', l->utm[i]);
    jw_key(w, "visits");
    jw_obj(w);
    jw_key(w, "total");
    jw_int(w, l->visits_total);
    jw_key(w, "non_bots");
    jw_int(w, l->visits_total - l->visits_bots);
    jw_key(w, "bots");
    jw_int(w, l->visits_bots);
    jw_obj_end(w);
    jw_key(w, "crawlable"); /* crawlers and previews */
    jw_bool(w, l->crawlable);
    /* tags and notes (issue 4) */
    jw_key(w, "tags");
    jw_arr(w);
    for (unsigned i = 0; i < l->ntags; i++)
        jw_strz(w, l->tags[i]);
    jw_arr_end(w);
    opt_str_field(w, "note", l->has_note, l->note);
    time_field(w, "valid_since", l->valid_since); /* lifetime (issue 4) */
    jw_key(w, "enabled");
    jw_bool(w, !l->disabled);
    jw_key(w, "password_protected");
    jw_bool(w, l->password_hash[0] != '\0');
    jw_key(w, "domain");
    jw_strz(w, l->domain[0] ? l->domain : app->policy.self_host);
}

/* ---- decoding ------------------------------------------------------------- */

static void copy_str(char *dst, const char *src, size_t len)
{
    memcpy(dst, src, len);
    dst[len] = '\0';
}

/* forward_query and UTM fields (issue 4): which utm[] a key names, or -1. */
static int utm_index(const char *key)
{
    for (int i = 0; i < LINK_UTM_N; i++)
        if (strcmp(key, link_utm_names[i]) == 0)
            return i;
    return -1;
}

/* tags and notes (issue 4): a JSON array of tags into l (duplicates without
 * case dropped); NULL or the reason. */
static const char *decode_tags(json_t *v, struct link *l)
{
    if (!json_is_array(v))
        return "must be an array of strings";
    if (json_array_size(v) > LINK_TAGS_MAX)
        return "must hold at most 20 tags";
    size_t i;
    json_t *t;
    l->ntags = 0;
    json_array_foreach(v, i, t)
    {
        if (!json_is_string(t))
            return "must be an array of strings";
        const char *why = link_check_tag(json_string_value(t), json_string_length(t));
        if (why != NULL)
            return why;
        bool dup = false;
        for (unsigned j = 0; j < l->ntags && !dup; j++)
            dup = strlen(l->tags[j]) == json_string_length(t) && strcasecmp(l->tags[j], json_string_value(t)) == 0;
        if (!dup)
            copy_str(l->tags[l->ntags++], json_string_value(t), json_string_length(t));
    }
    return NULL;
}

/* Decodes the link fields of obj into op (set bits in op->set); returns errs
 * with the invalid_params added, or NULL when everything is acceptable. */
static json_t *decode_fields(const struct link_policy *policy, json_t *obj, struct store_op *op, json_t *errs)
{
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
            else if ((why = link_check_url(policy, json_string_value(v), json_string_length(v), l->url, &n)) == NULL)
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
        } else if (strcmp(key, "crawlable") == 0) { /* crawlers and previews */
            if (!json_is_boolean(v)) {
                why = "must be true or false";
            } else {
                l->crawlable = json_is_true(v);
                op->set |= LINK_F_CRAWLABLE;
            }
        } else if (strcmp(key, "forward_query") == 0) { /* forward_query and UTM fields (issue 4) */
            if (!json_is_boolean(v))
                why = "must be true or false";
            else {
                l->forward_query = json_is_true(v);
                op->set |= LINK_F_FORWARD_QUERY;
            }
        } else if (strncmp(key, "utm_", 4) == 0 && utm_index(key) >= 0) {
            int i = utm_index(key);
            if (json_is_null(v)) {
                l->utm[i][0] = '\0';
                op->set |= LINK_F_UTM << i;
            } else if (!json_is_string(v)) {
                why = "must be a string or null";
            } else if ((why = link_check_utm(json_string_value(v), json_string_length(v))) == NULL) {
                copy_str(l->utm[i], json_string_value(v), json_string_length(v));
                op->set |= LINK_F_UTM << i;
            }
        } else if (strcmp(key, "tags") == 0) { /* tags and notes (issue 4) */
            if ((why = decode_tags(v, l)) == NULL)
                op->set |= LINK_F_TAGS;
        } else if (strcmp(key, "note") == 0) {
            if (json_is_null(v)) {
                l->has_note = false;
                op->set |= LINK_F_NOTE;
            } else if (!json_is_string(v)) {
                why = "must be a string or null";
            } else if ((why = link_check_note(json_string_value(v), json_string_length(v))) == NULL) {
                copy_str(l->note, json_string_value(v), json_string_length(v));
                l->has_note = true;
                op->set |= LINK_F_NOTE;
            }
        } else if (strcmp(key, "valid_since") == 0) { /* lifetime (issue 4) */
            int64_t ms = 0;
            if (json_is_null(v))
                op->set |= LINK_F_VALID_SINCE;
            else if (!json_is_string(v) || rfc3339_parse(json_string_value(v), json_string_length(v), &ms) != 0 ||
                     ms <= 0)
                why = "must be an RFC 3339 date-time (e.g. 2030-01-31T12:00:00Z) or null";
            else
                op->set |= LINK_F_VALID_SINCE;
            l->valid_since = ms;
        } else if (strcmp(key, "enabled") == 0) {
            if (!json_is_boolean(v))
                why = "must be true or false";
            else {
                l->disabled = !json_is_true(v);
                op->set |= LINK_F_ENABLED;
            }
        } else if (strcmp(key, "password") == 0) { /* password-protected links (issue 4) */
            /* the password itself waits in password_hash until a job hashes
             * it (api_link_hash_password); the store refuses anything but a hash */
            if (json_is_null(v)) {
                l->password_hash[0] = '\0';
                op->set |= LINK_F_PASSWORD;
            } else if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > LINK_PASSWORD_MAX) {
                why = "must be a string of 1 to 128 bytes, or null";
            } else {
                copy_str(l->password_hash, json_string_value(v), json_string_length(v));
                op->set |= LINK_F_PASSWORD;
            }
        } else if (strcmp(key, "team_id") == 0 || strcmp(key, "domain") == 0) {
            continue; /* decided by the caller before decoding */
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
    case STORE_LIMIT:
        respond_problem(rc, 403, "plan-limit", "Plan limit reached",
                        "the free plan allows at most 50 active links; delete some or upgrade the team", NULL);
        break;
    default:
        respond_unavailable(rc, "the change could not be committed");
    }
}

/* The plan cut the expiry asked for. */
static void capped_field(struct jw *w, bool capped)
{
    if (capped) {
        jw_key(w, "expires_at_capped");
        jw_bool(w, true);
    }
}

/* 200 and one link. */
static void respond_link(struct reqctx *rc, const struct link *l, bool capped)
{
    struct jw w;
    respond_jw_init(rc, &w);
    jw_obj(&w);
    api_link_fields(&w, rc->w->app, l);
    capped_field(&w, capped);
    jw_obj_end(&w);
    respond_jw(rc, 200, &w);
}

/* 201 and the new link; 200 and the link found when "reuse" found one. */
static int created_body(struct jw *w, const struct app *app, const struct store_op *op)
{
    jw_obj(w);
    api_link_fields(w, app, &op->link);
    capped_field(w, op->set & LINK_F_CAPPED);
    if (op->reuse) { /* tags, reuse (issue 4) */
        jw_key(w, "reused");
        jw_bool(w, op->reused);
    }
    jw_obj_end(w);
    return op->reused ? 200 : 201;
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
    struct jw w;
    respond_jw_init(rc, &w);
    int status = created_body(&w, call->w->app, &call->op);
    respond_jw(rc, status, &w);
}

/* What an Idempotency-Key replay of a create answers (writer thread). */
static size_t render_created(struct store_op *op, char *buf, size_t cap, int *status)
{
    struct api_call *call = (struct api_call *)((char *)op - offsetof(struct api_call, op));
    struct jw w;
    jw_init(&w, buf, cap, NULL, NULL);
    *status = created_body(&w, call->w->app, op);
    return w.failed ? 0 : w.len;
}

static void updated(struct api_call *call, struct reqctx *rc)
{
    if (call->op.status != STORE_OK) {
        reply_store_error(rc, call->op.status, call->op.link.code);
        return;
    }
    respond_link(rc, &call->op.link, call->op.set & LINK_F_CAPPED);
}

static void deleted(struct api_call *call, struct reqctx *rc)
{
    if (call->op.status != STORE_OK)
        reply_store_error(rc, call->op.status, call->op.key_code);
    else
        respond_empty(rc, 204);
}

/* ---- password-protected links (issue 4) ------------------------------------
 * A password sent with a create or update is hashed (argon2id) on the job
 * pool, never on the worker's loop; the op then goes to the writer. */

static void hash_job(struct api_call *call)
{
    struct link *l = &call->op.link;
    char hash[crypto_pwhash_STRBYTES];
    int rc = crypto_pwhash_str(hash, l->password_hash, strlen(l->password_hash), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                               crypto_pwhash_MEMLIMIT_INTERACTIVE);
    sodium_memzero(l->password_hash, sizeof(l->password_hash));
    if (rc != 0 || strlen(hash) > LINK_PWHASH_MAX)
        call->op.status = STORE_ERROR;
    else
        memcpy(l->password_hash, hash, strlen(hash) + 1);
    sodium_memzero(hash, sizeof(hash));
}

static void after_hash(struct api_call *call, struct reqctx *rc, api_reply_fn next)
{
    if (call->op.status != STORE_OK || !api_resubmit(call, next))
        respond_unavailable(rc, "the link could not be saved");
}

static void hashed_create(struct api_call *call, struct reqctx *rc)
{
    after_hash(call, rc, created);
}
static void hashed_update(struct api_call *call, struct reqctx *rc)
{
    after_hash(call, rc, updated);
}

/* Submits the op, by way of the job pool when a password needs hashing. */
static void submit_link(struct api_call *call, api_reply_fn hashed)
{
    if ((call->op.set & LINK_F_PASSWORD) && call->op.link.password_hash[0] != '\0') {
        call->reply = hashed;
        api_run_job(call, hash_job);
    } else {
        api_submit(call);
    }
}

/* ---- handlers -------------------------------------------------------------- */

json_t *api_link_decode_new(const struct link_policy *policy, json_t *obj, struct store_op *op)
{
    op->link.redirect_type = 302;
    json_t *errs = NULL, *reuse = json_object_get(obj, "reuse"); /* tags, reuse (issue 4) */
    if (reuse != NULL && !json_is_boolean(reuse))
        errs = problem_param(errs, "reuse", "must be true or false");
    if (reuse != NULL) {
        op->reuse = json_is_true(reuse);
        json_object_del(obj, "reuse");
    }
    errs = decode_fields(policy, obj, op, errs);
    if (json_object_get(obj, "url") == NULL)
        errs = problem_param(errs, "url", "is required");
    if ((op->set & LINK_F_VALID_SINCE) && (op->set & LINK_F_EXPIRES) && op->link.valid_since != 0 &&
        op->link.expires_at != 0 && op->link.valid_since >= op->link.expires_at) /* lifetime (issue 4) */
        errs = problem_param(errs, "valid_since", "must be before expires_at");
    return errs;
}

void api_link_plan_new(struct reqctx *rc, struct store_op *op, struct link *l, unsigned *set, unsigned *code_len)
{
    struct principal *p = &rc->principal;
    int64_t now = clock_wall_ms();
    int64_t wanted = (*set & LINK_F_EXPIRES) ? l->expires_at : 0;
    if (p->kind == PRINCIPAL_ANONYMOUS) {
        /* Anonymous links: the free plan's limits per client IP, and a
         * short life unless an earlier one is asked for. */
        op->per_ip_limit = true;
        api_client_bucket(rc, op->creator_ip);
        if (wanted == 0 || wanted > now + PLAN_ANON_LIFETIME_MS) {
            wanted = now + PLAN_ANON_LIFETIME_MS;
            *set |= LINK_F_CAPPED;
        }
    }
    if (plan_stamp_new(p->plan, now, wanted, l) && (*set & LINK_F_EXPIRES))
        *set |= LINK_F_CAPPED; /* only a requested expiry is "capped" */
    op->max_active = plan_max_active_links(p->plan);
    if (!(*set & LINK_F_SLUG))
        *code_len = rc->w->app->cfg->code_length;
}

static void create_link(struct reqctx *rc)
{
    json_t *obj = api_read_object(rc);
    if (obj == NULL)
        return;
    struct principal *p = &rc->principal;
    json_t *team = json_object_get(obj, "team_id");
    if (team != NULL && p->kind != PRINCIPAL_ANONYMOUS) {
        int64_t id = api_json_id(team);
        if (id < 0) {
            json_decref(obj);
            respond_invalid(rc, 422, "team_id", "must be a team id");
            return;
        }
        if (api_select_team(rc, id) != 0) {
            json_decref(obj);
            return;
        }
    }
    if (p->kind == PRINCIPAL_ANONYMOUS) {
        p->team_id = API_ANONYMOUS_TEAM;
        p->plan = PLAN_FREE;
    } else if (!api_allowed(rc, p->team_id, ACT_LINK_WRITE, 0)) {
        json_decref(obj);
        return;
    }
    struct api_call *call = api_call_new(rc, STORE_LINK_CREATE, created);
    if (call == NULL) {
        json_decref(obj);
        return; /* answered 503 */
    }
    struct store_op *op = &call->op;
    op->team_id = p->team_id;
    op->created_by = p->user_id;
    json_t *errs = api_link_decode_new(&rc->w->app->policy, obj, op);
    json_t *dom = json_object_get(obj, "domain"); /* domains (issue 4) */
    if (dom != NULL) {
        const char *name;
        if (!json_is_string(dom) || p->kind == PRINCIPAL_ANONYMOUS ||
            api_domain_of_team(rc, json_string_value(dom), json_string_length(dom), &op->domain_id, &name) != 0)
            errs = problem_param(errs, "domain", "must be the default domain or one of the team's domains");
        else
            copy_str(op->link.domain, name, strlen(name));
    }
    json_decref(obj);
    if (errs != NULL) {
        api_call_drop(call);
        invalid_fields(rc, errs);
        return;
    }
    if (api_idem_attach(rc, op, render_created) != 0) {
        api_call_drop(call);
        return;
    }
    api_link_plan_new(rc, op, &op->link, &op->set, &op->random_code_len);
    submit_link(call, hashed_create);
}

void api_links(struct reqctx *rc, const h2o_iovec_t *params)
{
    if (h2o_memis(rc->req->method.base, rc->req->method.len, H2O_STRLIT("POST")))
        create_link(rc);
    else if (api_allowed(rc, rc->principal.team_id, ACT_LINK_READ, 0))
        api_links_list(rc); /* find.c */
}

static void update_link(struct reqctx *rc, const char *code, size_t len)
{
    json_t *obj = api_read_object(rc);
    if (obj == NULL)
        return;
    struct api_call *call = api_call_new(rc, STORE_LINK_UPDATE, updated);
    if (call == NULL) {
        json_decref(obj);
        return; /* answered 503 */
    }
    struct store_op *op = &call->op;
    op->team_id = rc->principal.team_id;
    op->domain_id = rc->domain_id; /* domains (issue 4): from ?domain= */
    copy_str(op->key_code, code, len);
    json_t *errs = decode_fields(&rc->w->app->policy, obj, op, NULL);
    if (json_object_get(obj, "domain") != NULL)
        errs = problem_param(errs, "domain", "cannot be changed; create the link on the other domain");
    if (json_object_get(obj, "team_id") != NULL)
        errs = problem_param(errs, "team_id", "cannot be changed; pass ?team_id= to pick the link's team");
    bool empty = json_object_size(obj) == 0;
    json_decref(obj);
    if (empty)
        errs = problem_param(errs, "body", "must contain at least one field to change");
    if (errs != NULL) {
        api_call_drop(call);
        invalid_fields(rc, errs);
        return;
    }
    /* The writer caps the expiry at creation + six months and counts a
     * revived link against the plan (it knows created_at and the count). */
    op->max_active = plan_max_active_links(rc->principal.plan);
    submit_link(call, hashed_update);
}

/* A code in the path that no link can have is simply not found. */
static bool code_ok(struct reqctx *rc, h2o_iovec_t code)
{
    if (slug_validate(code.base, code.len) == 0)
        return true;
    reply_store_error(rc, STORE_NOT_FOUND, "");
    return false;
}

void api_link_get(struct reqctx *rc, const h2o_iovec_t *params)
{
    if (!code_ok(rc, params[0]) || !api_domain_param(rc))
        return;
    int st = store_link_get(rc->w->reader, rc->principal.team_id, rc->domain_id, params[0].base, params[0].len,
                            &rc->w->scratch);
    if (st != STORE_OK)
        reply_store_error(rc, st, "");
    else if (api_allowed(rc, rc->w->scratch.team_id, ACT_LINK_READ, 0))
        respond_link(rc, &rc->w->scratch, false);
}

/* Tenant before role: a code that is not in the caller's team is 404 for
 * every role, and only then does the role decide (403). */
static bool may_write(struct reqctx *rc, h2o_iovec_t code)
{
    if (!code_ok(rc, code) || !api_domain_param(rc))
        return false;
    int st = store_link_get(rc->w->reader, rc->principal.team_id, rc->domain_id, code.base, code.len, &rc->w->scratch);
    if (st != STORE_OK) {
        reply_store_error(rc, st, "");
        return false;
    }
    return api_allowed(rc, rc->w->scratch.team_id, ACT_LINK_WRITE, 0);
}

void api_link_patch(struct reqctx *rc, const h2o_iovec_t *params)
{
    if (may_write(rc, params[0]))
        update_link(rc, params[0].base, params[0].len);
}

void api_link_delete(struct reqctx *rc, const h2o_iovec_t *params)
{
    if (!may_write(rc, params[0]))
        return;
    struct api_call *call = api_call_new(rc, STORE_LINK_DELETE, deleted);
    if (call == NULL)
        return; /* answered 503 */
    call->op.team_id = rc->principal.team_id;
    call->op.domain_id = rc->domain_id;
    copy_str(call->op.key_code, params[0].base, params[0].len);
    api_submit(call);
}
