/* webhooks: a team's webhooks and their deliveries.
 *   POST   /api/v1/webhooks                                  create (admin)
 *   GET    /api/v1/webhooks                                  list (any member)
 *   GET    /api/v1/webhooks/{id}                             read
 *   PATCH  /api/v1/webhooks/{id}                             change (admin)
 *   DELETE /api/v1/webhooks/{id}                             delete, with its deliveries (admin)
 *   GET    /api/v1/webhooks/{id}/deliveries?status=          pending, delivered, dead (any member)
 *   POST   /api/v1/webhooks/{id}/deliveries/{did}/retry      a dead delivery goes again (admin)
 * The signing secret is shown when it is made (create, or PATCH with
 * "secret": null) and never again. As everywhere: another team's webhook
 * is 404 before any role is looked at. Delivery itself: events/webhook.h. */
#include "api/api.h"

#include "http/server.h"
#include "util/base62.h"
#include "util/query.h"

#include <sodium.h>
#include <string.h>

#define HOOK_SECRET_PREFIX "whsec_"
#define HOOK_SECRET_RANDOM 32
#define HOOK_SECRET_MIN 16
#define HOOKS_PER_TEAM_MAX 20
#define DELIVERIES_LIMIT_DEFAULT 50
#define DELIVERIES_LIMIT_MAX 500

static const struct {
    const char *name;
    unsigned bit;
} EVENTS[] = {
    {"link.created", HOOK_LINK_CREATED},
    {"link.updated", HOOK_LINK_UPDATED},
    {"link.deleted", HOOK_LINK_DELETED},
    {"visit.created", HOOK_VISIT_CREATED},
    {"link.max_visits_reached", HOOK_LINK_MAX_VISITS_REACHED},
};
#define NEVENTS (sizeof(EVENTS) / sizeof(EVENTS[0]))

static json_t *hook_json(const struct store_hook *h, bool with_secret)
{
    json_t *events = json_array();
    for (size_t i = 0; i < NEVENTS; i++)
        if (h->events & EVENTS[i].bit)
            json_array_append_new(events, json_string(EVENTS[i].name));
    json_t *o = json_pack("{s:o, s:o, s:s, s:o, s:b, s:o, s:o, s:o}", "id", api_id_json(h->id), "team_id",
                          api_id_json(h->team_id), "url", h->url, "events", events, "enabled", h->enabled,
                          "created_by", h->created_by ? api_id_json(h->created_by) : json_null(), "created_at",
                          api_time_json(h->created_at), "updated_at", api_time_json(h->updated_at));
    if (with_secret)
        json_object_set_new(o, "secret", json_string(h->secret));
    return o;
}

static void new_secret(char *out)
{
    memcpy(out, HOOK_SECRET_PREFIX, sizeof(HOOK_SECRET_PREFIX) - 1);
    base62_random(out + sizeof(HOOK_SECRET_PREFIX) - 1, HOOK_SECRET_RANDOM);
    out[sizeof(HOOK_SECRET_PREFIX) - 1 + HOOK_SECRET_RANDOM] = '\0';
}

/* Reads the fields of a create or change into h/set; adds problems to *errs. */
static void read_fields(struct reqctx *rc, json_t *obj, struct store_hook *h, unsigned *set, json_t **errs)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        const char *why = NULL;
        if (strcmp(key, "url") == 0) {
            size_t len;
            if (!json_is_string(v))
                why = "must be an http or https URL";
            else if ((why = link_check_url(&rc->w->app->policy, json_string_value(v), json_string_length(v), h->url,
                                           &len)) == NULL &&
                     strncmp(h->url, "http", 4) != 0)
                why = "must be an http or https URL";
            *set |= HOOK_F_URL;
        } else if (strcmp(key, "events") == 0) {
            size_t i;
            json_t *e;
            h->events = 0;
            json_array_foreach(v, i, e)
            {
                size_t k = 0;
                while (k < NEVENTS && !(json_is_string(e) && strcmp(json_string_value(e), EVENTS[k].name) == 0))
                    k++;
                if (k == NEVENTS) {
                    why = "must be event names: link.created, link.updated, link.deleted, visit.created, "
                          "link.max_visits_reached";
                    break;
                }
                h->events |= EVENTS[k].bit;
            }
            if (why == NULL && (!json_is_array(v) || h->events == 0))
                why = "must be a non-empty array of event names";
            *set |= HOOK_F_EVENTS;
        } else if (strcmp(key, "enabled") == 0) {
            if (!json_is_boolean(v))
                why = "must be true or false";
            h->enabled = json_is_true(v);
            *set |= HOOK_F_ENABLED;
        } else if (strcmp(key, "secret") == 0) {
            if (json_is_null(v)) {
                new_secret(h->secret);
            } else if (!api_json_str(v, h->secret, sizeof(h->secret)) || strlen(h->secret) < HOOK_SECRET_MIN) {
                why = "must be a string of 16-128 bytes, or null for a new one";
            } else {
                for (const char *p = h->secret; *p && why == NULL; p++)
                    if (*p <= 0x20 || *p >= 0x7f)
                        why = "must be printable ASCII without spaces";
            }
            *set |= HOOK_F_SECRET;
        } else {
            why = "is not a known field";
        }
        if (why != NULL)
            *errs = problem_param(*errs, key, why);
    }
}

static int count_hook(void *ctx, const struct store_hook *h)
{
    (void)h;
    (*(size_t *)ctx)++;
    return 0;
}

static void hook_written(struct api_call *call, struct reqctx *rc)
{
    struct store_op *op = &call->op;
    bool show = op->set & HOOK_F_SECRET && op->kind == STORE_HOOK_UPDATE && op->hook.secret[0] != '\0';
    if (op->status == STORE_OK)
        respond_json(rc, op->kind == STORE_HOOK_CREATE ? 201 : 200,
                     hook_json(&op->hook, op->kind == STORE_HOOK_CREATE || show));
    else if (op->status == STORE_NOT_FOUND)
        respond_problem(rc, 404, "not-found", "Webhook not found", "no webhook with this id in the team", NULL);
    else
        respond_unavailable(rc, "the webhook could not be stored");
    sodium_memzero(op->hook.secret, sizeof(op->hook.secret));
}

void api_hooks_create(struct reqctx *rc, const h2o_iovec_t *params)
{
    (void)params;
    if (!api_allowed(rc, rc->principal.team_id, ACT_TEAM_ADMIN, 0))
        return;
    size_t n = 0;
    if (store_hooks_of_team(rc->w->reader, rc->principal.team_id, count_hook, &n) != 0) {
        respond_unavailable(rc, "webhooks cannot be read");
        return;
    }
    if (n >= HOOKS_PER_TEAM_MAX) {
        respond_problem(rc, 409, "limit", "Too many webhooks", "a team has at most 20 webhooks", NULL);
        return;
    }
    json_t *obj = api_read_object(rc);
    if (obj == NULL)
        return;
    struct api_call *call = api_call_new(rc, STORE_HOOK_CREATE, hook_written);
    if (call == NULL) {
        json_decref(obj);
        return;
    }
    struct store_hook *h = &call->op.hook;
    h->enabled = true;
    unsigned set = 0;
    json_t *errs = NULL;
    read_fields(rc, obj, h, &set, &errs);
    if (!(set & HOOK_F_URL))
        errs = problem_param(errs, "url", "is required");
    if (!(set & HOOK_F_EVENTS))
        errs = problem_param(errs, "events", "is required");
    json_decref(obj);
    if (errs != NULL) {
        api_call_drop(call);
        respond_problem(rc, 422, "validation", "Invalid field value", "one or more fields are invalid", errs);
        return;
    }
    if (!(set & HOOK_F_SECRET))
        new_secret(h->secret);
    call->op.team_id = rc->principal.team_id;
    h->created_by = rc->principal.user_id;
    api_submit(call);
}

struct list_ctx {
    json_t *items;
};

static int add_hook(void *ctx, const struct store_hook *h)
{
    json_array_append_new(((struct list_ctx *)ctx)->items, hook_json(h, false));
    return 0;
}

void api_hooks_list(struct reqctx *rc, const h2o_iovec_t *params)
{
    (void)params;
    if (!api_allowed(rc, rc->principal.team_id, ACT_TEAM_READ, 0))
        return;
    struct list_ctx l = {json_array()};
    if (store_hooks_of_team(rc->w->reader, rc->principal.team_id, add_hook, &l) != 0) {
        json_decref(l.items);
        respond_unavailable(rc, "webhooks cannot be read");
        return;
    }
    respond_json(rc, 200, json_pack("{s:o}", "items", l.items));
}

/* The team's webhook {id} into *h, or answers 404 (also for another team's). */
static bool find_hook(struct reqctx *rc, h2o_iovec_t id, struct store_hook *h)
{
    int64_t hid = api_parse_id(id.base, id.len);
    int st = hid < 0 ? STORE_NOT_FOUND : store_hook_get(rc->w->reader, rc->principal.team_id, hid, h);
    if (st != STORE_OK) {
        api_lookup_failed(rc, st, "Webhook not found", "no webhook with this id in the team");
        return false;
    }
    return true;
}

void api_hook_get(struct reqctx *rc, const h2o_iovec_t *params)
{
    struct store_hook h;
    if (find_hook(rc, params[0], &h) && api_allowed(rc, rc->principal.team_id, ACT_TEAM_READ, 0))
        respond_json(rc, 200, hook_json(&h, false));
    sodium_memzero(h.secret, sizeof(h.secret));
}

void api_hook_patch(struct reqctx *rc, const h2o_iovec_t *params)
{
    struct store_hook cur;
    if (!find_hook(rc, params[0], &cur) || !api_allowed(rc, rc->principal.team_id, ACT_TEAM_ADMIN, 0))
        return;
    sodium_memzero(cur.secret, sizeof(cur.secret));
    json_t *obj = api_read_object(rc);
    if (obj == NULL)
        return;
    struct api_call *call = api_call_new(rc, STORE_HOOK_UPDATE, hook_written);
    if (call == NULL) {
        json_decref(obj);
        return;
    }
    unsigned set = 0;
    json_t *errs = NULL;
    read_fields(rc, obj, &call->op.hook, &set, &errs);
    json_decref(obj);
    if (errs != NULL) {
        api_call_drop(call);
        respond_problem(rc, 422, "validation", "Invalid field value", "one or more fields are invalid", errs);
        return;
    }
    call->op.team_id = rc->principal.team_id;
    call->op.hook.id = cur.id;
    call->op.set = set;
    api_submit(call);
}

static void hook_deleted(struct api_call *call, struct reqctx *rc)
{
    if (call->op.status == STORE_OK)
        respond_empty(rc, 204);
    else if (call->op.status == STORE_NOT_FOUND)
        respond_problem(rc, 404, "not-found", "Webhook not found", "no webhook with this id in the team", NULL);
    else
        respond_unavailable(rc, "the webhook could not be deleted");
}

void api_hook_delete(struct reqctx *rc, const h2o_iovec_t *params)
{
    struct store_hook cur;
    if (!find_hook(rc, params[0], &cur) || !api_allowed(rc, rc->principal.team_id, ACT_TEAM_ADMIN, 0))
        return;
    sodium_memzero(cur.secret, sizeof(cur.secret));
    struct api_call *call = api_call_new(rc, STORE_HOOK_DELETE, hook_deleted);
    if (call == NULL)
        return;
    call->op.team_id = rc->principal.team_id;
    call->op.hook.id = cur.id;
    api_submit(call);
}

struct deliveries_ctx {
    json_t *items;
    int limit, n;
    int64_t last_id;
};

static int add_delivery(void *arg, const struct store_delivery *d)
{
    static const char *const status[] = {"pending", "delivered", "dead"};
    struct deliveries_ctx *c = arg;
    if (c->n++ == c->limit)
        return 1; /* one more than the page: there is a next page */
    c->last_id = d->id;
    json_t *payload = json_loads(d->payload, 0, NULL);
    json_array_append_new(
        c->items, json_pack("{s:o, s:s, s:s, s:i, s:o, s:o, s:o, s:o, s:o, s:o}", "id", api_id_json(d->id), "event",
                            d->event, "status", status[d->status], "attempts", d->attempts, "next_attempt_at",
                            d->status == DELIVERY_PENDING ? api_time_json(d->next_attempt_at) : json_null(),
                            "last_status", d->last_status ? json_integer(d->last_status) : json_null(), "last_error",
                            d->last_error[0] ? json_string(d->last_error) : json_null(), "created_at",
                            api_time_json(d->created_at), "finished_at", api_time_json(d->finished_at), "payload",
                            payload ? payload : json_null()));
    return 0;
}

void api_hook_deliveries(struct reqctx *rc, const h2o_iovec_t *params)
{
    struct store_hook h;
    if (!find_hook(rc, params[0], &h) || !api_allowed(rc, rc->principal.team_id, ACT_TEAM_READ, 0))
        return;
    sodium_memzero(h.secret, sizeof(h.secret));
    const char *v;
    size_t n;
    int status = -1;
    if (query_find(rc->query.base, rc->query.len, "status", &v, &n)) {
        static const char *const names[] = {"pending", "delivered", "dead"};
        for (int i = 0; i < 3; i++)
            if (h2o_memis(v, n, names[i], strlen(names[i])))
                status = i;
        if (status < 0) {
            respond_invalid(rc, 400, "status", "must be pending, delivered or dead");
            return;
        }
    }
    int limit = DELIVERIES_LIMIT_DEFAULT;
    if (query_find(rc->query.base, rc->query.len, "limit", &v, &n)) {
        int64_t l = api_parse_id(v, n);
        if (l < 1 || l > DELIVERIES_LIMIT_MAX) {
            respond_invalid(rc, 400, "limit", "must be an integer from 1 to 500");
            return;
        }
        limit = (int)l;
    }
    int64_t before = 0;
    if (query_find(rc->query.base, rc->query.len, "cursor", &v, &n) && (before = api_parse_id(v, n)) < 0) {
        respond_invalid(rc, 400, "cursor", "is not a cursor returned by this API");
        return;
    }
    struct deliveries_ctx c = {.items = json_array(), .limit = limit};
    if (store_deliveries_list(rc->w->reader, h.id, status, before, limit + 1, add_delivery, &c) < 0) {
        json_decref(c.items);
        respond_unavailable(rc, "deliveries cannot be read");
        return;
    }
    respond_json(rc, 200,
                 json_pack("{s:o, s:o}", "items", c.items, "next_cursor",
                           c.n > limit ? api_id_json(c.last_id) : json_null()));
}

static void delivery_retried(struct api_call *call, struct reqctx *rc)
{
    if (call->op.status == STORE_OK)
        respond_json(rc, 202, json_pack("{s:o, s:s}", "id", api_id_json(call->op.delivery.id), "status", "pending"));
    else if (call->op.status == STORE_REFUSED)
        respond_problem(rc, 409, "conflict", "Delivery not dead", "only dead deliveries can be retried", NULL);
    else if (call->op.status == STORE_NOT_FOUND)
        respond_problem(rc, 404, "not-found", "Delivery not found", "no delivery with this id for the webhook",
                        NULL);
    else
        respond_unavailable(rc, "the delivery could not be retried");
}

void api_delivery_retry(struct reqctx *rc, const h2o_iovec_t *params)
{
    struct store_hook h;
    if (!find_hook(rc, params[0], &h) || !api_allowed(rc, rc->principal.team_id, ACT_TEAM_ADMIN, 0))
        return;
    sodium_memzero(h.secret, sizeof(h.secret));
    int64_t did = api_parse_id(params[1].base, params[1].len);
    if (did < 0) {
        respond_problem(rc, 404, "not-found", "Delivery not found", "no delivery with this id for the webhook", NULL);
        return;
    }
    struct api_call *call = api_call_new(rc, STORE_DELIVERY_RETRY, delivery_retried);
    if (call == NULL)
        return;
    call->op.team_id = rc->principal.team_id;
    call->op.hook.id = h.id;
    call->op.delivery.id = did;
    api_submit(call);
}
