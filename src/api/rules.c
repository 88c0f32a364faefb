/* rules: GET and PUT /api/v1/links/{code}/rules (redirect rules, issue 4).
 * PUT replaces the whole ordered list; core/rules.c validates and compiles
 * it, the writer stores the compact form on the link and the cache entry is
 * invalidated after the commit (api/call.c), as for PATCH. */
#include "api/api.h"

#include "core/rules.h"
#include "http/server.h"

#include <string.h>

static void not_found(struct reqctx *rc)
{
    respond_problem(rc, 404, "not-found", "Link not found", "no link with this code", NULL);
}

static void respond_rules(struct reqctx *rc, const struct link *l)
{
    json_t *arr = rules_json(l->rules, l->rules_len);
    if (arr == NULL) {
        respond_unavailable(rc, "out of memory");
        return;
    }
    respond_json(rc, 200, json_pack("{s:s, s:o}", "code", l->code, "rules", arr));
}

/* The caller's link (404 for other teams and impossible codes), then the
 * role decides (403). */
static bool load(struct reqctx *rc, h2o_iovec_t code, enum access_action act)
{
    if (slug_validate(code.base, code.len) != 0) {
        not_found(rc);
        return false;
    }
    if (!api_domain_param(rc)) /* domains (issue 4) */
        return false;
    int st = store_link_get(rc->w->reader, rc->principal.team_id, rc->domain_id, code.base, code.len, &rc->w->scratch);
    if (st == STORE_NOT_FOUND) {
        not_found(rc);
        return false;
    }
    if (st != STORE_OK) {
        respond_unavailable(rc, "the link store cannot be read");
        return false;
    }
    return api_allowed(rc, rc->w->scratch.team_id, act, 0);
}

static void stored(struct api_call *call, struct reqctx *rc)
{
    if (call->op.status == STORE_NOT_FOUND)
        not_found(rc);
    else if (call->op.status != STORE_OK)
        respond_unavailable(rc, "the change could not be committed");
    else
        respond_rules(rc, &call->op.link);
}

static void put_rules(struct reqctx *rc, h2o_iovec_t code)
{
    json_t *obj = api_read_object(rc);
    if (obj == NULL)
        return;
    json_t *errs = NULL;
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        if (strcmp(key, "rules") != 0)
            errs = problem_param(errs, key, "is not a field of this resource (rules)");
    }
    const json_t *rules = json_object_get(obj, "rules");
    if (rules == NULL)
        errs = problem_param(errs, "rules", "is required");
    struct api_call *call = NULL;
    if (errs == NULL) {
        call = api_call_new(rc, STORE_LINK_RULES_PUT, stored);
        if (call == NULL) {
            json_decref(obj);
            return; /* answered 503 */
        }
        char path[RULES_PATH_MAX];
        const char *why;
        size_t n;
        if (rules_compile(rules, &rc->w->app->policy, call->op.link.rules, &n, path, &why) != 0)
            errs = problem_param(errs, path, why);
        else
            call->op.link.rules_len = n > 2 && json_array_size(rules) > 0 ? (uint16_t)n : 0;
    }
    json_decref(obj);
    if (errs != NULL) {
        if (call != NULL)
            api_call_drop(call);
        respond_problem(rc, 422, "validation", "Invalid field value",
                        "one or more fields are invalid; see invalid_params", errs);
        return;
    }
    call->op.team_id = rc->principal.team_id;
    call->op.domain_id = rc->domain_id;
    memcpy(call->op.key_code, code.base, code.len);
    call->op.key_code[code.len] = '\0';
    api_submit(call);
}

void api_link_rules(struct reqctx *rc, const h2o_iovec_t *params)
{
    h2o_req_t *req = rc->req;
    if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET"))) {
        if (load(rc, params[0], ACT_LINK_READ))
            respond_rules(rc, &rc->w->scratch);
    } else if (load(rc, params[0], ACT_LINK_WRITE)) {
        put_rules(rc, params[0]);
    }
}
