/* bulk: many links in one request (issue 4).
 *   POST /api/v1/links/bulk   {"links": [ up to 1,000 link objects ]}
 * Each item is decoded and validated on its own, exactly like POST
 * /api/v1/links; the valid ones go to the writer as one STORE_LINK_BULK op
 * (one transaction, a savepoint per item), and the answer lists, per item
 * and in request order, the link or the problem. Imports (import.c) feed
 * the same path with rows turned into link objects.
 * Runs on the request's worker thread; the op's items and the results are
 * owned by the call and freed with it. */
#include "api/api.h"

#include "http/server.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bulk_call {
    struct api_call call; /* first: api_call_new_sized */
    json_t *results;      /* per request item, in order: its problem, or null for the next of op.bulk */
    bool dry_run;
};

static void bulk_cleanup(struct api_call *call)
{
    struct bulk_call *bc = (struct bulk_call *)call;
    json_decref(bc->results);
    free(call->op.bulk);
}

static json_t *item_problem(size_t index, int status, const char *name, const char *title, const char *detail,
                            json_t *params)
{
    return json_pack("{s:I, s:i, s:o}", "index", (json_int_t)index, "status", status, "problem",
                     problem_json(status, name, title, detail, params));
}

/* A bulk item the writer handled, written into the answer. */
static void item_write(struct jw *w, const struct app *app, size_t index, const struct store_bulk_item *it)
{
    json_t *problem;
    switch (it->status) {
    case STORE_OK:
        jw_obj(w);
        jw_key(w, "index");
        jw_int(w, (int64_t)index);
        jw_key(w, "status");
        jw_int(w, it->reused ? 200 : 201);
        jw_key(w, "link");
        jw_obj(w);
        api_link_fields(w, app, &it->link);
        if (it->reused) {
            jw_key(w, "reused");
            jw_bool(w, true);
        }
        jw_obj_end(w);
        jw_obj_end(w);
        return;
    case STORE_CONFLICT: {
        char detail[128];
        snprintf(detail, sizeof(detail), "the code \"%s\" is already taken", it->link.code);
        problem =
            item_problem(index, 409, "conflict", "Code already taken", detail, problem_param(NULL, "slug", "is taken"));
        break;
    }
    case STORE_LIMIT:
        problem = item_problem(index, 403, "plan-limit", "Plan limit reached",
                               "the team's plan allows no more active links", NULL);
        break;
    default:
        problem = item_problem(index, 503, "unavailable", "Not committed", "the item could not be committed", NULL);
    }
    respond_jw_value(w, problem);
    json_decref(problem);
}

/* 200: per item in request order, its problem (results[i], when it was
 * refused before the writer) or what the writer made of it (results[i] is
 * null: the next of op's items), then the counts. */
static void bulk_respond(struct reqctx *rc, json_t *results, const struct store_op *op, bool dry_run)
{
    struct jw w;
    respond_jw_init(rc, &w);
    jw_obj(&w);
    jw_key(&w, "items");
    jw_arr(&w);
    size_t k = 0, created = 0, reused = 0, failed = 0;
    size_t i;
    json_t *r;
    json_array_foreach(results, i, r)
    {
        if (!json_is_null(r)) {
            failed++;
            respond_jw_value(&w, r);
            continue;
        }
        const struct store_bulk_item *it = &op->bulk[k++];
        if (it->status != STORE_OK)
            failed++;
        else if (it->reused)
            reused++;
        else
            created++;
        item_write(&w, rc->w->app, i, it);
    }
    jw_arr_end(&w);
    jw_key(&w, dry_run ? "would_create" : "created");
    jw_int(&w, (int64_t)created);
    jw_key(&w, dry_run ? "would_reuse" : "reused");
    jw_int(&w, (int64_t)reused);
    jw_key(&w, "failed");
    jw_int(&w, (int64_t)failed);
    if (dry_run) {
        jw_key(&w, "dry_run");
        jw_bool(&w, true);
    }
    jw_obj_end(&w);
    respond_jw(rc, 200, &w);
}

static void bulk_done(struct api_call *call, struct reqctx *rc)
{
    struct bulk_call *bc = (struct bulk_call *)call;
    if (call->op.status != STORE_OK) {
        respond_unavailable(rc, "the links could not be committed");
        return;
    }
    bulk_respond(rc, bc->results, &call->op, bc->dry_run);
}

int api_bulk_run(struct reqctx *rc, json_t *rows, const struct api_bulk_extra *extra, bool dry_run)
{
    size_t n = json_array_size(rows);
    struct bulk_call *bc = (struct bulk_call *)api_call_new_sized(rc, sizeof(*bc), STORE_LINK_BULK, bulk_done);
    if (bc == NULL)
        return -1; /* answered 503 */
    struct api_call *call = &bc->call;
    call->cleanup = bulk_cleanup;
    bc->dry_run = dry_run;
    bc->results = json_array();
    call->op.bulk = calloc(n ? n : 1, sizeof(*call->op.bulk));
    struct store_op *tmp = calloc(1, sizeof(*tmp));
    if (bc->results == NULL || call->op.bulk == NULL || tmp == NULL) {
        free(tmp);
        api_call_drop(call);
        respond_unavailable(rc, "out of memory");
        return -1;
    }
    struct store_op *op = &call->op;
    op->team_id = rc->principal.team_id;
    op->created_by = rc->principal.user_id;
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        json_array_append_new(bc->results, json_null());
        if (!json_is_object(row)) {
            char name[32];
            snprintf(name, sizeof(name), "links[%zu]", i);
            json_array_set_new(bc->results, i,
                               item_problem(i, 422, "validation", "Invalid field value", "each item must be an object",
                                            problem_param(NULL, name, "must be a link object")));
            continue;
        }
        memset(tmp, 0, sizeof(*tmp));
        json_t *errs = api_link_decode_new(&rc->w->app->policy, row, tmp);
        if (extra != NULL && extra[i].bad_field != NULL)
            errs = problem_param(errs, extra[i].bad_field, extra[i].bad_reason);
        json_t *dom = json_object_get(row, "domain"); /* domains (issue 4) */
        const char *dname = "";
        if (dom != NULL &&
            (!json_is_string(dom) ||
             api_domain_of_team(rc, json_string_value(dom), json_string_length(dom), &tmp->domain_id, &dname) != 0))
            errs = problem_param(errs, "domain", "must be the default domain or one of the team's domains");
        if ((tmp->set & LINK_F_PASSWORD) && tmp->link.password_hash[0] != '\0') { /* hashing 1,000 would take minutes */
            sodium_memzero(tmp->link.password_hash, sizeof(tmp->link.password_hash));
            errs = problem_param(errs, "password", "cannot be set in bulk; set it on the link with PATCH");
        }
        if (errs != NULL) {
            json_array_set_new(bc->results, i,
                               item_problem(i, 422, "validation", "Invalid field value",
                                            "one or more fields are invalid; see invalid_params", errs));
            continue;
        }
        struct store_bulk_item *it = &op->bulk[op->nbulk];
        it->link = tmp->link;
        it->domain_id = tmp->domain_id;
        snprintf(it->link.domain, sizeof(it->link.domain), "%s", dname);
        it->set = tmp->set;
        it->reuse = tmp->reuse;
        it->dry_run = dry_run;
        if (extra != NULL) { /* imports: the file's creation time and visit count */
            it->link.created_at = extra[i].created_at;
            it->link.visits_total = extra[i].visits > 0 ? extra[i].visits : 0;
        }
        api_link_plan_new(rc, op, &it->link, &it->set, &it->random_code_len);
        op->nbulk++;
    }
    free(tmp);
    if (op->nbulk == 0) { /* nothing valid: nothing to write; every result is a problem */
        bulk_respond(rc, bc->results, op, dry_run);
        api_call_drop(call);
        return 0;
    }
    api_submit(call);
    return 0;
}

void api_links_bulk(struct reqctx *rc, const h2o_iovec_t *params)
{
    if (!api_allowed(rc, rc->principal.team_id, ACT_LINK_WRITE, 0))
        return;
    json_t *obj = api_read_object(rc);
    if (obj == NULL)
        return;
    json_t *errs = NULL, *links = NULL;
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        if (strcmp(key, "links") != 0)
            errs = problem_param(errs, key, "is not a known field");
        else if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > API_BULK_MAX)
            errs = problem_param(errs, key, "must be an array of 1 to 1000 link objects");
        else
            links = v;
    }
    if (errs == NULL && links == NULL)
        errs = problem_param(errs, "links", "is required");
    if (errs != NULL) {
        json_decref(obj);
        respond_problem(rc, 422, "validation", "Invalid field value", "see invalid_params", errs);
        return;
    }
    api_bulk_run(rc, links, NULL, false);
    json_decref(obj);
}
