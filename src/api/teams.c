/* teams: teams and their members. The team in the path is resolved through
 * api_select_team (404 unless the caller is in it), then access_check
 * decides by role. A team always keeps one admin (the store refuses the
 * change that would remove the last). */
#include "api/api.h"

#include "core/account.h"
#include "http/server.h"

#include <string.h>

static json_t *team_json(const struct store_team *t, enum role role)
{
    return json_pack("{s:o, s:s, s:s, s:b, s:s, s:o}", "id", api_id_json(t->id), "name", t->name, "plan",
                     access_plan_name(t->plan), "personal", t->personal, "role", access_role_name(role), "created_at",
                     api_time_json(t->created_at));
}

static json_t *member_json(const struct store_member *m)
{
    return json_pack("{s:o, s:s, s:o, s:s, s:o}", "user_id", api_id_json(m->user_id), "email", m->email, "name",
                     m->name[0] ? json_string(m->name) : json_null(), "role", access_role_name(m->role), "since",
                     api_time_json(m->created_at));
}

/* The team named by the {id} path parameter, selected for the principal. */
static bool path_team(struct reqctx *rc, h2o_iovec_t id, enum access_action action)
{
    int64_t team = api_parse_id(id.base, id.len);
    if (team < 0) {
        respond_problem(rc, 404, "not-found", "Team not found", "no team with this id is visible to you", NULL);
        return false;
    }
    return api_select_team(rc, team) == 0 && api_allowed(rc, team, action, 0);
}

static void store_failed(struct reqctx *rc, int status, const char *what)
{
    switch (status) {
    case STORE_NOT_FOUND:
        respond_problem(rc, 404, "not-found", "Not found", what, NULL);
        break;
    case STORE_REFUSED:
        respond_problem(rc, 409, "last-admin", "A team needs an admin",
                        "this change would leave the team without an admin", NULL);
        break;
    default:
        respond_unavailable(rc, "the change could not be committed");
    }
}

/* ---- teams ------------------------------------------------------------------ */

static int add_team(void *ctx, const struct store_team *t)
{
    json_array_append_new(ctx, team_json(t, t->role));
    return 0;
}

void api_teams_list(struct reqctx *rc, const h2o_iovec_t *params)
{
    json_t *items = json_array();
    const struct principal *p = &rc->principal;
    if (p->kind == PRINCIPAL_USER) {
        if (store_teams_of_user(rc->w->reader, p->user_id, add_team, items) != 0) {
            json_decref(items);
            respond_unavailable(rc, "teams cannot be read");
            return;
        }
    } else {
        struct store_team t;
        if (store_team_get(rc->w->reader, p->team_id, &t) == STORE_OK)
            json_array_append_new(items, team_json(&t, p->role));
    }
    respond_json(rc, 200, json_pack("{s:o}", "items", items));
}

static void team_created(struct api_call *call, struct reqctx *rc)
{
    if (call->op.status != STORE_OK)
        store_failed(rc, call->op.status, "");
    else
        respond_json(rc, 201, team_json(&call->op.team, ROLE_ADMIN));
}

static size_t render_team(struct store_op *op, char *buf, size_t cap, int *status)
{
    *status = 201;
    return respond_render(team_json(&op->team, ROLE_ADMIN), buf, cap);
}

/* Reads {"name": ...} (and for PATCH "plan"); NULL after answering. */
static json_t *read_team_fields(struct reqctx *rc, struct store_team *t, bool *has_plan)
{
    json_t *obj = api_read_object(rc);
    if (obj == NULL)
        return NULL;
    json_t *errs = NULL;
    const char *key;
    json_t *v;
    *has_plan = false;
    json_object_foreach(obj, key, v)
    {
        const char *why = NULL;
        if (strcmp(key, "name") == 0) {
            if (!json_is_string(v))
                why = "must be a string";
            else if ((why = account_check_name(json_string_value(v), json_string_length(v))) == NULL)
                memcpy(t->name, json_string_value(v), json_string_length(v) + 1);
        } else if (strcmp(key, "plan") == 0) {
            const char *pl = json_string_value(v);
            if (pl == NULL || (strcmp(pl, "free") != 0 && strcmp(pl, "paid") != 0))
                why = "must be \"free\" or \"paid\"";
            else {
                t->plan = strcmp(pl, "paid") == 0 ? PLAN_PAID : PLAN_FREE;
                *has_plan = true;
            }
        } else {
            why = "is not a known field";
        }
        if (why != NULL)
            errs = problem_param(errs, key, why);
    }
    json_decref(obj);
    if (errs != NULL) {
        respond_problem(rc, 422, "validation", "Invalid field value", "one or more fields are invalid", errs);
        return NULL;
    }
    return json_true();
}

void api_teams_create(struct reqctx *rc, const h2o_iovec_t *params)
{
    const struct principal *p = &rc->principal;
    if (p->kind == PRINCIPAL_KEY) {
        respond_problem(rc, 403, "forbidden", "Forbidden", "API keys belong to one team and cannot create teams",
                        NULL);
        return;
    }
    struct api_call *call = api_call_new(rc, STORE_TEAM_CREATE, team_created);
    if (call == NULL)
        return; /* answered 503 */
    bool has_plan;
    if (read_team_fields(rc, &call->op.team, &has_plan) == NULL) {
        api_call_drop(call);
        return;
    }
    if (call->op.team.name[0] == '\0' || has_plan) {
        bool no_name = call->op.team.name[0] == '\0';
        api_call_drop(call);
        respond_invalid(rc, 422, no_name ? "name" : "plan",
                        no_name ? "is required" : "is set by the operator, not at creation");
        return;
    }
    call->op.user.id = p->kind == PRINCIPAL_USER ? p->user_id : 0;
    if (api_idem_attach(rc, &call->op, render_team) != 0) {
        api_call_drop(call);
        return;
    }
    api_submit(call);
}

void api_team_get(struct reqctx *rc, const h2o_iovec_t *params)
{
    if (!path_team(rc, params[0], ACT_TEAM_READ))
        return;
    struct store_team t;
    int st = store_team_get(rc->w->reader, rc->principal.team_id, &t);
    if (st != STORE_OK) {
        api_lookup_failed(rc, st, "Team not found", "no team with this id is visible to you");
        return;
    }
    respond_json(rc, 200, team_json(&t, rc->principal.role));
}

static void team_patched(struct api_call *call, struct reqctx *rc)
{
    struct store_team t;
    if (call->op.status != STORE_OK)
        store_failed(rc, call->op.status, "no such team");
    else if (store_team_get(rc->w->reader, call->op.team.id, &t) == STORE_OK)
        respond_json(rc, 200, team_json(&t, rc->principal.role));
    else
        store_failed(rc, STORE_NOT_FOUND, "no such team");
}

void api_team_patch(struct reqctx *rc, const h2o_iovec_t *params)
{
    if (!path_team(rc, params[0], ACT_TEAM_ADMIN))
        return;
    struct api_call *call = api_call_new(rc, STORE_TEAM_SET_PLAN, team_patched);
    if (call == NULL)
        return; /* answered 503 */
    bool has_plan;
    struct store_team *t = &call->op.team;
    if (read_team_fields(rc, t, &has_plan) == NULL) {
        api_call_drop(call);
        return;
    }
    if (has_plan && rc->principal.kind != PRINCIPAL_OPERATOR) {
        api_call_drop(call);
        respond_problem(rc, 403, "forbidden", "Forbidden", "only the instance operator changes a team's plan",
                        problem_param(NULL, "plan", "is set by the operator"));
        return;
    }
    if (!has_plan && t->name[0] == '\0') {
        api_call_drop(call);
        respond_invalid(rc, 422, "body", "must contain name or plan");
        return;
    }
    struct store_team cur;
    int st = store_team_get(rc->w->reader, rc->principal.team_id, &cur);
    if (st != STORE_OK) {
        api_call_drop(call);
        api_lookup_failed(rc, st, "Not found", "no such team");
        return;
    }
    if (!has_plan)
        t->plan = cur.plan;
    if (t->name[0] == '\0')
        memcpy(t->name, cur.name, sizeof(t->name));
    t->id = rc->principal.team_id;
    api_submit(call);
}

/* ---- members ------------------------------------------------------------------ */

static int add_member(void *ctx, const struct store_member *m)
{
    json_array_append_new(ctx, member_json(m));
    return 0;
}

void api_members_list(struct reqctx *rc, const h2o_iovec_t *params)
{
    if (!path_team(rc, params[0], ACT_TEAM_READ))
        return;
    json_t *items = json_array();
    if (store_members_of_team(rc->w->reader, rc->principal.team_id, add_member, items) != 0) {
        json_decref(items);
        respond_unavailable(rc, "members cannot be read");
        return;
    }
    respond_json(rc, 200, json_pack("{s:o}", "items", items));
}

static void member_put(struct api_call *call, struct reqctx *rc)
{
    if (call->op.status != STORE_OK)
        store_failed(rc, call->op.status, "no active user with this e-mail or id");
    else
        respond_json(rc, call->op.kind == STORE_MEMBER_PUT && call->op.team.id == 0 ? 201 : 200,
                     member_json(&call->op.member));
}

static size_t render_member(struct store_op *op, char *buf, size_t cap, int *status)
{
    *status = 201;
    return respond_render(member_json(&op->member), buf, cap);
}

/* Reads {"role"} and, when adding, {"email"}. */
static bool read_member(struct reqctx *rc, struct store_op *op, bool adding)
{
    json_t *obj = api_read_object(rc);
    if (obj == NULL)
        return false;
    json_t *errs = NULL;
    const char *key;
    json_t *v;
    op->role = ROLE_NONE;
    json_object_foreach(obj, key, v)
    {
        const char *why = NULL;
        if (strcmp(key, "role") == 0) {
            op->role = json_is_string(v) ? access_role_parse(json_string_value(v)) : ROLE_NONE;
            if (op->role == ROLE_NONE)
                why = "must be \"admin\", \"editor\" or \"viewer\"";
        } else if (adding && strcmp(key, "email") == 0) {
            if (!json_is_string(v))
                why = "must be a string";
            else
                why = account_check_email(json_string_value(v), json_string_length(v), op->user.email_lc);
        } else {
            why = "is not a known field";
        }
        if (why != NULL)
            errs = problem_param(errs, key, why);
    }
    if (json_object_get(obj, "role") == NULL)
        errs = problem_param(errs, "role", "is required");
    if (adding && json_object_get(obj, "email") == NULL)
        errs = problem_param(errs, "email", "is required");
    json_decref(obj);
    if (errs != NULL)
        respond_problem(rc, 422, "validation", "Invalid field value", "one or more fields are invalid", errs);
    return errs == NULL;
}

void api_members_add(struct reqctx *rc, const h2o_iovec_t *params)
{
    if (!path_team(rc, params[0], ACT_TEAM_ADMIN))
        return;
    struct api_call *call = api_call_new(rc, STORE_MEMBER_PUT, member_put);
    if (call == NULL)
        return; /* answered 503 */
    call->op.team_id = rc->principal.team_id;
    if (!read_member(rc, &call->op, true) || api_idem_attach(rc, &call->op, render_member) != 0) {
        api_call_drop(call);
        return;
    }
    api_submit(call);
}

/* The {user_id} of a member path; -1 after answering 404. */
static int64_t path_member(struct reqctx *rc, h2o_iovec_t id)
{
    int64_t user = api_parse_id(id.base, id.len);
    enum role role;
    int st = user < 0 ? STORE_NOT_FOUND : store_member_role(rc->w->reader, rc->principal.team_id, user, &role);
    if (st != STORE_OK) {
        api_lookup_failed(rc, st, "Member not found", "no member with this user id in the team");
        return -1;
    }
    return user;
}

void api_member_patch(struct reqctx *rc, const h2o_iovec_t *params)
{
    if (!path_team(rc, params[0], ACT_TEAM_ADMIN))
        return;
    int64_t user = path_member(rc, params[1]);
    if (user < 0)
        return;
    struct api_call *call = api_call_new(rc, STORE_MEMBER_PUT, member_put);
    if (call == NULL)
        return; /* answered 503 */
    call->op.team_id = rc->principal.team_id;
    call->op.team.id = call->op.team_id; /* marks a change, answered 200 */
    call->op.user.id = user;
    if (!read_member(rc, &call->op, false)) {
        api_call_drop(call);
        return;
    }
    api_submit(call);
}

static void member_deleted(struct api_call *call, struct reqctx *rc)
{
    if (call->op.status != STORE_OK)
        store_failed(rc, call->op.status, "no member with this user id in the team");
    else
        respond_empty(rc, 204);
}

void api_member_delete(struct reqctx *rc, const h2o_iovec_t *params)
{
    int64_t team = api_parse_id(params[0].base, params[0].len);
    if (team < 0) {
        respond_problem(rc, 404, "not-found", "Team not found", "no team with this id is visible to you", NULL);
        return;
    }
    if (api_select_team(rc, team) != 0)
        return;
    int64_t user = api_parse_id(params[1].base, params[1].len);
    /* Anyone may leave a team; removing someone else takes an admin. */
    bool self = rc->principal.kind == PRINCIPAL_USER && user == rc->principal.user_id;
    if (!self && !api_allowed(rc, team, ACT_TEAM_ADMIN, 0))
        return;
    if (!self && path_member(rc, params[1]) < 0)
        return;
    struct api_call *call = api_call_new(rc, STORE_MEMBER_DELETE, member_deleted);
    if (call == NULL)
        return; /* answered 503 */
    call->op.team_id = team;
    call->op.user.id = user;
    api_submit(call);
}
