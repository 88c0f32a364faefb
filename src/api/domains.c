/* domains: the short domains an instance serves (issue 4).
 *   GET    /api/v1/domains               the default domain and the team's
 *   POST   /api/v1/domains               register one (hostname unique across teams)
 *   GET    /api/v1/domains/{hostname}
 *   PATCH  /api/v1/domains/{hostname}    what its bare domain, unknown codes and
 *   DELETE /api/v1/domains/{hostname}    expired links answer; refused while links use it
 * and the hostname table that maps a request's Host to a domain.
 *
 * Threading: each worker owns a table (w->domains), sorted by hostname and
 * searched without locks. A change bumps app->domains_gen after its commit;
 * a worker that sees a new generation reloads its table from its own store
 * reader before answering, so the change applies to the very next request. */
#include "api/api.h"

#include "http/server.h"
#include "util/query.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct domain_entry {
    int64_t id, team_id;
    char host[DOMAIN_HOST_MAX + 1];
    char *redirect[DOMAIN_REDIRECTS]; /* malloc'd, NULL = the built-in page */
};

struct domain_table {
    size_t n, cap;
    struct domain_entry *items; /* sorted by host */
};

static const char *const redirect_names[DOMAIN_REDIRECTS] = {"base_url_redirect", "not_found_redirect",
                                                             "expired_redirect"};

/* ---- the worker's hostname table ---- */

static void table_clear(struct domain_table *t)
{
    for (size_t i = 0; i < t->n; i++)
        for (int k = 0; k < DOMAIN_REDIRECTS; k++)
            free(t->items[i].redirect[k]);
    t->n = 0;
}

void api_domains_free(struct worker *w)
{
    if (w->domains == NULL)
        return;
    table_clear(w->domains);
    free(w->domains->items);
    free(w->domains);
    w->domains = NULL;
}

static int table_add(void *ctx, const struct store_domain *d)
{
    struct domain_table *t = ctx;
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        struct domain_entry *items = realloc(t->items, cap * sizeof(*items));
        if (items == NULL)
            return 1;
        t->items = items;
        t->cap = cap;
    }
    struct domain_entry *e = &t->items[t->n++];
    e->id = d->id;
    e->team_id = d->team_id;
    memcpy(e->host, d->hostname, sizeof(e->host));
    for (int k = 0; k < DOMAIN_REDIRECTS; k++)
        e->redirect[k] = d->redirect[k][0] != '\0' ? strdup(d->redirect[k]) : NULL;
    return 0;
}

/* The worker's table, reloaded if a domain changed since it was read. */
static struct domain_table *table(struct worker *w)
{
    uint64_t gen = atomic_load_explicit(&w->app->domains_gen, memory_order_acquire);
    if (w->domains != NULL && w->domains_gen == gen)
        return w->domains;
    if (w->domains == NULL && (w->domains = calloc(1, sizeof(*w->domains))) == NULL)
        return NULL;
    table_clear(w->domains);
    /* ordered by hostname in the store: ready for bsearch */
    if (store_domains_each(w->reader, -1, table_add, w->domains) == 0)
        w->domains_gen = gen;
    return w->domains;
}

static int entry_cmp(const void *key, const void *item)
{
    return strcmp(key, ((const struct domain_entry *)item)->host);
}

static const struct domain_entry *find(struct worker *w, const char *host)
{
    struct domain_table *t = table(w);
    if (t == NULL || t->n == 0)
        return NULL;
    return bsearch(host, t->items, t->n, sizeof(*t->items), entry_cmp);
}

void api_host_domain(struct reqctx *rc)
{
    rc->domain_id = 0;
    rc->domain = NULL;
    struct domain_table *t = table(rc->w);
    if (t == NULL || t->n == 0)
        return; /* no domain but the default: the Host does not matter */
    h2o_iovec_t a = rc->req->authority;
    char host[DOMAIN_HOST_MAX + 1];
    if (domain_host_of(a.base, a.len, host) == 0)
        return;
    const struct domain_entry *e = find(rc->w, host);
    if (e != NULL) {
        rc->domain_id = e->id;
        rc->domain = e;
    }
}

const char *api_domain_redirect(const struct reqctx *rc, enum store_domain_redirect which)
{
    const struct config *cfg = rc->w->app->cfg;
    if (rc->domain != NULL)
        return rc->domain->redirect[which];
    const char *v = which == DOMAIN_BASE_URL    ? cfg->base_url_redirect
                    : which == DOMAIN_NOT_FOUND ? cfg->not_found_redirect
                                                : cfg->expired_redirect;
    return v[0] != '\0' ? v : NULL;
}

/* The default domain's hostname (the --base-url host). */
static const char *default_host(const struct reqctx *rc)
{
    return rc->w->app->policy.self_host;
}

int api_domain_of_team(struct reqctx *rc, const char *host, size_t len, int64_t *id, const char **name)
{
    char h[DOMAIN_HOST_MAX + 1];
    /* the default domain may be an address (http://127.0.0.1:8080) */
    if (len <= DOMAIN_HOST_MAX && memchr(host, ':', len) == NULL && domain_host_of(host, len, h) > 0 &&
        strcmp(h, default_host(rc)) == 0) {
        *id = 0;
        *name = "";
        return 0;
    }
    if (domain_check_hostname(host, len, h) != NULL)
        return -1;
    const struct domain_entry *e = find(rc->w, h);
    if (e == NULL || e->team_id != rc->principal.team_id)
        return -1;
    *id = e->id;
    *name = e->host;
    return 0;
}

bool api_domain_param(struct reqctx *rc)
{
    const char *v;
    size_t vlen;
    rc->domain_id = 0;
    rc->domain = NULL;
    if (!query_find(rc->query.base, rc->query.len, "domain", &v, &vlen))
        return true;
    const char *name;
    if (api_domain_of_team(rc, v, vlen, &rc->domain_id, &name) != 0) {
        respond_problem(rc, 404, "not-found", "Link not found", "no link with this code on this domain", NULL);
        return false;
    }
    if (rc->domain_id != 0)
        rc->domain = find(rc->w, name);
    return true;
}

size_t api_link_short_url(const struct config *cfg, const char *domain, const char *code, char *buf)
{
    size_t n;
    if (domain == NULL || domain[0] == '\0') {
        n = strlen(cfg->base_url);
        memcpy(buf, cfg->base_url, n);
    } else { /* the scheme of --base-url, the link's domain */
        const char *colon = strstr(cfg->base_url, "://");
        size_t sl = colon ? (size_t)(colon - cfg->base_url) + 3 : 0;
        memcpy(buf, cfg->base_url, sl);
        size_t hl = strlen(domain);
        memcpy(buf + sl, domain, hl);
        n = sl + hl;
    }
    buf[n++] = '/';
    size_t cl = strlen(code);
    memcpy(buf + n, code, cl);
    buf[n + cl] = '\0';
    return n + cl;
}

size_t api_short_url(const struct reqctx *rc, const char *code, size_t len, char *buf)
{
    char c[LINK_CODE_MAX + 1];
    memcpy(c, code, len);
    c[len] = '\0';
    return api_link_short_url(rc->w->app->cfg, rc->domain ? rc->domain->host : "", c, buf);
}

/* ---- the API ---- */

static json_t *domain_json(const struct reqctx *rc, const struct store_domain *d, bool is_default)
{
    json_t *o = json_pack("{s:s, s:b}", "hostname", d->hostname, "default", is_default);
    for (int k = 0; k < DOMAIN_REDIRECTS; k++)
        json_object_set_new(o, redirect_names[k], d->redirect[k][0] ? json_string(d->redirect[k]) : json_null());
    if (!is_default) {
        json_object_set_new(o, "created_at", api_time_json(d->created_at));
        json_object_set_new(o, "updated_at", api_time_json(d->updated_at));
    }
    return o;
}

static json_t *default_json(const struct reqctx *rc)
{
    struct store_domain *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return json_null();
    snprintf(d->hostname, sizeof(d->hostname), "%.*s", (int)(sizeof(d->hostname) - 1), default_host(rc));
    const struct config *cfg = rc->w->app->cfg;
    snprintf(d->redirect[DOMAIN_BASE_URL], sizeof(d->redirect[0]), "%s", cfg->base_url_redirect);
    snprintf(d->redirect[DOMAIN_NOT_FOUND], sizeof(d->redirect[0]), "%s", cfg->not_found_redirect);
    snprintf(d->redirect[DOMAIN_EXPIRED], sizeof(d->redirect[0]), "%s", cfg->expired_redirect);
    json_t *o = domain_json(rc, d, true);
    free(d);
    return o;
}

struct list_ctx {
    const struct reqctx *rc;
    json_t *items;
};

static int list_row(void *ctx, const struct store_domain *d)
{
    struct list_ctx *c = ctx;
    json_array_append_new(c->items, domain_json(c->rc, d, false));
    return 0;
}

void api_domains_list(struct reqctx *rc, const h2o_iovec_t *params)
{
    if (!api_allowed(rc, rc->principal.team_id, ACT_LINK_READ, 0))
        return;
    struct list_ctx c = {rc, json_array()};
    json_array_append_new(c.items, default_json(rc));
    if (store_domains_each(rc->w->reader, rc->principal.team_id, list_row, &c) != 0) {
        json_decref(c.items);
        respond_unavailable(rc, "the domains cannot be read");
        return;
    }
    respond_json(rc, 200, json_pack("{s:o}", "items", c.items));
}

static void domain_done(struct api_call *call, struct reqctx *rc)
{
    struct store_op *op = &call->op;
    switch (op->status) {
    case STORE_OK:
        atomic_fetch_add_explicit(&rc->w->app->domains_gen, 1, memory_order_release);
        if (op->kind == STORE_DOMAIN_DELETE)
            respond_empty(rc, 204);
        else
            respond_json(rc, op->kind == STORE_DOMAIN_CREATE ? 201 : 200, domain_json(rc, &op->domain, false));
        break;
    case STORE_CONFLICT:
        respond_problem(rc, 409, "conflict", "Hostname taken", "another team has registered this hostname",
                        problem_param(NULL, "hostname", "is taken"));
        break;
    case STORE_REFUSED:
        respond_problem(rc, 409, "conflict", "Domain in use", "links use this domain; delete or move them first", NULL);
        break;
    case STORE_NOT_FOUND:
        respond_problem(rc, 404, "not-found", "Domain not found", "the team has no domain with this hostname", NULL);
        break;
    default:
        respond_unavailable(rc, "the change could not be committed");
    }
}

/* The redirect fields of obj into op (bits in op->set); the other keys are
 * the caller's. */
static json_t *decode_redirects(struct reqctx *rc, json_t *obj, struct store_op *op, json_t *errs)
{
    for (int k = 0; k < DOMAIN_REDIRECTS; k++) {
        json_t *v = json_object_get(obj, redirect_names[k]);
        if (v == NULL)
            continue;
        size_t n;
        const char *why = NULL;
        if (json_is_null(v))
            op->domain.redirect[k][0] = '\0';
        else if (!json_is_string(v))
            why = "must be an http(s) URL or null";
        else
            why = link_check_url(&rc->w->app->policy, json_string_value(v), json_string_length(v),
                                 op->domain.redirect[k], &n);
        if (why != NULL)
            errs = problem_param(errs, redirect_names[k], why);
        else
            op->set |= 1u << k;
    }
    return errs;
}

/* The body and a call for a change of the team's domains; NULL after answering. */
static struct api_call *begin(struct reqctx *rc, enum store_op_kind kind, json_t **obj)
{
    if ((*obj = api_read_object(rc)) == NULL)
        return NULL;
    struct api_call *call = api_call_new(rc, kind, domain_done);
    if (call == NULL) {
        json_decref(*obj);
        return NULL;
    }
    call->op.team_id = rc->principal.team_id;
    return call;
}

void api_domains_create(struct reqctx *rc, const h2o_iovec_t *params)
{
    json_t *obj;
    struct api_call *call;
    if (!api_allowed(rc, rc->principal.team_id, ACT_LINK_WRITE, 0) ||
        (call = begin(rc, STORE_DOMAIN_CREATE, &obj)) == NULL)
        return;
    struct store_op *op = &call->op;
    json_t *errs = NULL, *v;
    const char *key;
    json_object_foreach(obj, key, v)
    {
        bool known = strcmp(key, "hostname") == 0;
        for (int k = 0; k < DOMAIN_REDIRECTS; k++)
            known |= strcmp(key, redirect_names[k]) == 0;
        if (!known)
            errs = problem_param(errs, key, "is not a known field");
    }
    v = json_object_get(obj, "hostname");
    const char *why = v == NULL ? "is required"
                      : !json_is_string(v)
                          ? "must be a hostname"
                          : domain_check_hostname(json_string_value(v), json_string_length(v), op->domain.hostname);
    if (why == NULL && strcmp(op->domain.hostname, default_host(rc)) == 0)
        why = "is the default domain already";
    if (why != NULL)
        errs = problem_param(errs, "hostname", why);
    errs = decode_redirects(rc, obj, op, errs);
    json_decref(obj);
    if (errs != NULL) {
        api_call_drop(call);
        respond_problem(rc, 422, "validation", "Invalid field value", "see invalid_params", errs);
        return;
    }
    api_submit(call);
}

/* The team's domain named by the path: tenant first (404), then the role. */
static bool team_domain(struct reqctx *rc, h2o_iovec_t name, enum access_action act, struct store_domain *out)
{
    char host[DOMAIN_HOST_MAX + 1];
    const struct domain_entry *e = NULL;
    if (domain_check_hostname(name.base, name.len, host) == NULL)
        e = find(rc->w, host);
    if (e == NULL || e->team_id != rc->principal.team_id) {
        respond_problem(rc, 404, "not-found", "Domain not found", "the team has no domain with this hostname", NULL);
        return false;
    }
    if (out != NULL) {
        memset(out, 0, sizeof(*out));
        out->id = e->id;
        out->team_id = e->team_id;
        memcpy(out->hostname, e->host, sizeof(out->hostname));
        for (int k = 0; k < DOMAIN_REDIRECTS; k++)
            if (e->redirect[k] != NULL)
                snprintf(out->redirect[k], sizeof(out->redirect[k]), "%s", e->redirect[k]);
    }
    return api_allowed(rc, rc->principal.team_id, act, 0);
}

struct one_ctx {
    const char *host;
    struct store_domain *out;
    bool found;
};

static int one_row(void *ctx, const struct store_domain *d)
{
    struct one_ctx *c = ctx;
    if (strcmp(d->hostname, c->host) != 0)
        return 0;
    *c->out = *d;
    c->found = true;
    return 1;
}

void api_domain_get(struct reqctx *rc, const h2o_iovec_t *params)
{
    struct store_domain *d = calloc(1, sizeof(*d));
    if (d == NULL) {
        respond_unavailable(rc, "out of memory");
        return;
    }
    if (team_domain(rc, params[0], ACT_LINK_READ, d)) {
        char host[DOMAIN_HOST_MAX + 1];
        memcpy(host, d->hostname, sizeof(host));
        struct one_ctx c = {host, d, false}; /* with its times, from the store */
        if (store_domains_each(rc->w->reader, rc->principal.team_id, one_row, &c) != 0 || !c.found)
            respond_unavailable(rc, "the domain cannot be read");
        else
            respond_json(rc, 200, domain_json(rc, d, false));
    }
    free(d);
}

void api_domain_patch(struct reqctx *rc, const h2o_iovec_t *params)
{
    json_t *obj;
    struct api_call *call;
    if (!team_domain(rc, params[0], ACT_LINK_WRITE, NULL) || (call = begin(rc, STORE_DOMAIN_UPDATE, &obj)) == NULL)
        return;
    struct store_op *op = &call->op;
    domain_check_hostname(params[0].base, params[0].len, op->domain.hostname);
    json_t *errs = NULL, *v;
    const char *key;
    json_object_foreach(obj, key, v)
    {
        bool known = false;
        for (int k = 0; k < DOMAIN_REDIRECTS; k++)
            known |= strcmp(key, redirect_names[k]) == 0;
        if (!known)
            errs = problem_param(errs, key,
                                 strcmp(key, "hostname") == 0 ? "cannot be changed; register a new domain"
                                                              : "is not a known field");
    }
    errs = decode_redirects(rc, obj, op, errs);
    if (errs == NULL && op->set == 0)
        errs = problem_param(errs, "body", "must contain at least one field to change");
    json_decref(obj);
    if (errs != NULL) {
        api_call_drop(call);
        respond_problem(rc, 422, "validation", "Invalid field value", "see invalid_params", errs);
        return;
    }
    api_submit(call);
}

void api_domain_delete(struct reqctx *rc, const h2o_iovec_t *params)
{
    if (!team_domain(rc, params[0], ACT_LINK_WRITE, NULL))
        return;
    struct api_call *call = api_call_new(rc, STORE_DOMAIN_DELETE, domain_done);
    if (call == NULL)
        return;
    call->op.team_id = rc->principal.team_id;
    domain_check_hostname(params[0].base, params[0].len, call->op.domain.hostname);
    api_submit(call);
}
