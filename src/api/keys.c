/* keys: team API keys. A key is shown once, at creation; the store keeps
 * its SHA-256 and a short display prefix. Creating, listing and revoking
 * keys is team-admin work, except that anyone may revoke a key they made
 * themselves (the ownership rule of access_check). */
#include "api/api.h"

#include "auth/token.h"
#include "http/server.h"
#include "util/clock.h"
#include "util/rfc3339.h"

#include <sodium.h>
#include <string.h>

struct key_call {
    struct api_call call; /* first */
    char secret[TOKEN_APIKEY_LEN + 1];
};

static json_t *key_json(const struct store_apikey *k, int64_t team_id)
{
    return json_pack("{s:o, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "id", api_id_json(k->id), "prefix",
                     k->display, "name", k->name, "role", access_role_name(k->role), "team_id", api_id_json(team_id),
                     "created_by", k->user_id ? api_id_json(k->user_id) : json_null(), "created_at",
                     api_time_json(k->created_at), "expires_at", api_time_json(k->expires_at), "last_used_at",
                     api_time_json(k->last_used_at), "revoked_at", api_time_json(k->revoked_at));
}

struct list_ctx {
    json_t *items;
    int64_t team;
};

static int add_key(void *ctx, const struct store_apikey *k)
{
    struct list_ctx *l = ctx;
    json_array_append_new(l->items, key_json(k, l->team));
    return 0;
}

void api_keys_list(struct reqctx *rc, const h2o_iovec_t *params)
{
    if (!api_allowed(rc, rc->principal.team_id, ACT_TEAM_ADMIN, 0))
        return;
    struct list_ctx l = {json_array(), rc->principal.team_id};
    if (store_apikeys_of_team(rc->w->reader, l.team, add_key, &l) != 0) {
        json_decref(l.items);
        respond_unavailable(rc, "keys cannot be read");
        return;
    }
    respond_json(rc, 200, json_pack("{s:o}", "items", l.items));
}

static void key_created(struct api_call *call, struct reqctx *rc)
{
    struct key_call *kc = (struct key_call *)call;
    if (call->op.status != STORE_OK) {
        sodium_memzero(kc->secret, sizeof(kc->secret));
        respond_unavailable(rc, "the key could not be stored");
        return;
    }
    json_t *body = key_json(&call->op.key, call->op.team_id);
    json_object_set_new(body, "key", json_string(kc->secret));
    sodium_memzero(kc->secret, sizeof(kc->secret));
    respond_json(rc, 201, body);
}

/* A replayed creation answers the key's metadata: the secret is never stored. */
static size_t render_key(struct store_op *op, char *buf, size_t cap, int *status)
{
    json_t *body = key_json(&op->key, op->team_id);
    json_object_set_new(body, "key", json_null());
    *status = 201;
    return respond_render(body, buf, cap);
}

void api_keys_create(struct reqctx *rc, const h2o_iovec_t *params)
{
    json_t *obj = api_read_object(rc);
    if (obj == NULL)
        return;
    struct key_call *kc = (struct key_call *)api_call_new_sized(rc, sizeof(*kc), STORE_APIKEY_CREATE, key_created);
    if (kc == NULL) {
        json_decref(obj);
        return; /* answered 503 */
    }
    struct store_apikey *k = &kc->call.op.key;
    json_t *errs = NULL;
    int64_t team = rc->principal.team_id;
    const char *key;
    json_t *v;
    k->role = ROLE_NONE;
    json_object_foreach(obj, key, v)
    {
        const char *why = NULL;
        if (strcmp(key, "name") == 0) {
            if (!api_json_str(v, k->name, sizeof(k->name)) || k->name[0] == '\0')
                why = "must be a string of 1-64 bytes";
        } else if (strcmp(key, "team_id") == 0) {
            if ((team = api_json_id(v)) < 0)
                why = "must be a team id";
        } else if (strcmp(key, "role") == 0) {
            k->role = json_is_string(v) ? access_role_parse(json_string_value(v)) : ROLE_NONE;
            if (k->role == ROLE_NONE)
                why = "must be \"admin\", \"editor\" or \"viewer\"";
        } else if (strcmp(key, "expires_at") == 0) {
            if (!json_is_null(v) &&
                (!json_is_string(v) || rfc3339_parse(json_string_value(v), json_string_length(v), &k->expires_at) ||
                 k->expires_at <= clock_wall_ms()))
                why = "must be a future RFC 3339 date-time or null";
        } else {
            why = "is not a known field";
        }
        if (why != NULL)
            errs = problem_param(errs, key, why);
    }
    if (json_object_get(obj, "name") == NULL)
        errs = problem_param(errs, "name", "is required");
    if (json_object_get(obj, "role") == NULL)
        errs = problem_param(errs, "role", "is required");
    json_decref(obj);
    if (errs != NULL) {
        api_call_drop(&kc->call);
        respond_problem(rc, 422, "validation", "Invalid field value", "one or more fields are invalid", errs);
        return;
    }
    if ((team != rc->principal.team_id && api_select_team(rc, team) != 0) ||
        !api_allowed(rc, rc->principal.team_id, ACT_TEAM_ADMIN, 0)) {
        api_call_drop(&kc->call);
        return;
    }
    kc->call.op.team_id = rc->principal.team_id;
    k->user_id = rc->principal.user_id;
    token_apikey_generate(kc->secret);
    token_hash(kc->secret, TOKEN_APIKEY_LEN, k->hash);
    memcpy(k->display, kc->secret, TOKEN_APIKEY_DISPLAY);
    k->display[TOKEN_APIKEY_DISPLAY] = '\0';
    if (api_idem_attach(rc, &kc->call.op, render_key) != 0) {
        api_call_drop(&kc->call);
        return;
    }
    api_submit(&kc->call);
}

struct find_ctx {
    int64_t id;
    struct store_apikey found;
    bool ok;
};

static int find_key(void *ctx, const struct store_apikey *k)
{
    struct find_ctx *f = ctx;
    if (k->id != f->id)
        return 0;
    f->found = *k;
    f->ok = true;
    return 1;
}

static void key_revoked(struct api_call *call, struct reqctx *rc)
{
    if (call->op.status == STORE_OK)
        respond_empty(rc, 204);
    else if (call->op.status == STORE_NOT_FOUND)
        respond_problem(rc, 404, "not-found", "Key not found", "no active key with this id in the team", NULL);
    else
        respond_unavailable(rc, "the key could not be revoked");
}

void api_key_delete(struct reqctx *rc, const h2o_iovec_t *params)
{
    struct find_ctx f = {.id = api_parse_id(params[0].base, params[0].len)};
    int st = f.id < 0 ? STORE_NOT_FOUND : store_apikeys_of_team(rc->w->reader, rc->principal.team_id, find_key, &f);
    if (st == STORE_OK && (!f.ok || f.found.revoked_at != 0))
        st = STORE_NOT_FOUND;
    if (st != STORE_OK) {
        api_lookup_failed(rc, st, "Key not found", "no active key with this id in the team");
        return;
    }
    if (!api_allowed(rc, rc->principal.team_id, ACT_OWN_SECRET, f.found.user_id))
        return;
    struct api_call *call = api_call_new(rc, STORE_APIKEY_REVOKE, key_revoked);
    if (call == NULL)
        return; /* answered 503 */
    call->op.team_id = rc->principal.team_id;
    call->op.key.id = f.id;
    api_submit(call);
}
