/* import: POST /api/v1/links/import?format=F[&dry_run=true] (issue 4).
 * The body is the file itself (up to 8 MiB, at most API_BULK_MAX rows). It
 * is read by core/import.c into rows; each row becomes the link object a
 * create takes (url, slug, title, note, tags) plus what only imports may
 * set (the file's creation time and visit count), and goes through the
 * bulk path: validated like a create, committed in one transaction, or with
 * dry_run checked the same way (codes free, plan) and rolled back.
 * Runs on the request's worker thread. */
#include "api/api.h"

#include "core/import.h"
#include "http/server.h"
#include "util/query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct import_ctx {
    json_t *rows;
    struct api_bulk_extra *extra;
    size_t n;
    bool too_many;
};

json_t *api_import_row_json(const struct import_row *r, struct api_bulk_extra *e)
{
    json_t *o = json_object();
    if (r->url != NULL)
        json_object_set_new(o, "url", json_string(r->url));
    if (r->code != NULL)
        json_object_set_new(o, "slug", json_string(r->code));
    if (r->title != NULL)
        json_object_set_new(o, "title", json_string(r->title));
    if (r->note != NULL)
        json_object_set_new(o, "note", json_string(r->note));
    if (r->ntags > 0) {
        json_t *tags = json_array();
        for (unsigned i = 0; i < r->ntags; i++)
            json_array_append_new(tags, json_string(r->tags[i]));
        json_object_set_new(o, "tags", tags);
    }
    /* jansson refuses strings that are not UTF-8: a row whose fields did not
     * all make it in is refused as a whole rather than imported in part */
    size_t want = (r->url != NULL) + (r->code != NULL) + (r->title != NULL) + (r->note != NULL) + (r->ntags > 0);
    *e = (struct api_bulk_extra){.created_at = r->created_at, .visits = r->visits};
    if (json_object_size(o) != want) {
        e->bad_field = "row";
        e->bad_reason = "is not valid UTF-8";
    } else if (r->date_bad) {
        e->bad_field = "created_at";
        e->bad_reason = "is not a date this importer reads (RFC 3339, or YYYY-MM-DD HH:MM:SS in UTC)";
    } else if (r->visits == -2) {
        e->bad_field = "visits";
        e->bad_reason = "must be a non-negative integer";
    }
    return o;
}

static int add_row(void *ctx, const struct import_row *r)
{
    struct import_ctx *c = ctx;
    if (c->n == API_BULK_MAX) {
        c->too_many = true;
        return 1;
    }
    json_array_append_new(c->rows, api_import_row_json(r, &c->extra[c->n]));
    c->n++;
    return 0;
}

void api_links_import(struct reqctx *rc, const h2o_iovec_t *params)
{
    if (!api_allowed(rc, rc->principal.team_id, ACT_LINK_WRITE, 0))
        return;
    const char *v;
    size_t vlen;
    enum import_format fmt;
    if (!query_find(rc->query.base, rc->query.len, "format", &v, &vlen) || import_format_parse(v, vlen, &fmt) != 0) {
        respond_invalid(rc, 400, "format", "must be one of csv, yourls, shlink, kutt, bitly");
        return;
    }
    bool dry_run = false;
    if (query_find(rc->query.base, rc->query.len, "dry_run", &v, &vlen)) {
        if (vlen == 4 && memcmp(v, "true", 4) == 0)
            dry_run = true;
        else if (!(vlen == 5 && memcmp(v, "false", 5) == 0)) {
            respond_invalid(rc, 400, "dry_run", "must be true or false");
            return;
        }
    }
    h2o_req_t *req = rc->req;
    if (req->entity.base == NULL || req->entity.len == 0) {
        respond_invalid(rc, 400, "body", "is required: the exported file");
        return;
    }
    struct import_ctx c = {.rows = json_array(), .extra = calloc(API_BULK_MAX, sizeof(*c.extra))};
    if (c.extra == NULL) {
        json_decref(c.rows);
        respond_unavailable(rc, "out of memory");
        return;
    }
    char err[160];
    long n = import_parse(fmt, req->entity.base, req->entity.len, add_row, &c, err, sizeof(err));
    if (n < 0 || c.too_many || c.n == 0) {
        if (c.too_many)
            snprintf(err, sizeof(err), "holds more than %d rows; split it, or use `linkpulse import`", API_BULK_MAX);
        else if (n >= 0)
            snprintf(err, sizeof(err), "holds no rows");
        respond_invalid(rc, 422, "body", err);
    } else {
        api_bulk_run(rc, c.rows, c.extra, dry_run);
    }
    json_decref(c.rows);
    free(c.extra);
}
