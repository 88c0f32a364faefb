/* cli import: `linkpulse import FILE --team ID --format F [--dry-run]`
 * (issue 4). Reads the file with core/import.c, checks every row like an
 * API create (api_link_decode_new, the team's plan), and commits the valid
 * rows through the store in transactions of API_BULK_MAX rows; with
 * --dry-run each batch is checked and rolled back. Problems go to stderr
 * (one line per row), the summary to stdout as JSON.
 * Single-threaded, on the main thread; safe while the server runs (the
 * store's writer waits for the server's transactions). */
#include "cli/cli.h"

#include "api/api.h"
#include "core/import.h"
#include "core/plan.h"
#include "store/store.h"
#include "util/clock.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define IMPORT_FILE_MAX ((size_t)256 * 1024 * 1024)

struct run {
    struct store *store;
    struct store_team team;
    bool dry_run;
    struct store_bulk_item *items;
    size_t *lines; /* the file line of each pending item */
    size_t n;
    struct store_op *tmp;
    long created, reused, failed;
    int error; /* a store error stops the run */
};

static void problem(size_t line, const char *field, const char *reason)
{
    fprintf(stderr, "line %zu: %s %s\n", line, field, reason);
}

static const char *store_reason(int st)
{
    switch (st) {
    case STORE_CONFLICT:
        return "is taken (the code exists already)";
    case STORE_LIMIT:
        return "exceeds the team's plan (active links)";
    default:
        return "could not be committed";
    }
}

static void flush(struct run *r)
{
    if (r->n == 0 || r->error)
        return;
    struct store_op op = {.kind = STORE_LINK_BULK, .team_id = r->team.id, .bulk = r->items, .nbulk = r->n};
    op.max_active = plan_max_active_links(r->team.plan);
    int rc = store_submit_wait(r->store, &op);
    if (rc != STORE_OK) {
        fprintf(stderr, "linkpulse: import: the store failed (%d); nothing of this batch was written\n", rc);
        r->error = 1;
        return;
    }
    for (size_t i = 0; i < r->n; i++) {
        const struct store_bulk_item *it = &r->items[i];
        if (it->status == STORE_OK && it->reused)
            r->reused++;
        else if (it->status == STORE_OK)
            r->created++;
        else {
            r->failed++;
            problem(r->lines[i], it->status == STORE_LIMIT ? "row" : "code", store_reason(it->status));
        }
    }
    r->n = 0;
}

static void report_errs(size_t line, json_t *errs)
{
    size_t i;
    json_t *p;
    json_array_foreach(errs, i, p)
        problem(line, json_string_value(json_object_get(p, "name")), json_string_value(json_object_get(p, "reason")));
}

static int on_row(void *ctx, const struct import_row *row)
{
    struct run *r = ctx;
    struct api_bulk_extra e;
    json_t *obj = api_import_row_json(row, &e);
    memset(r->tmp, 0, sizeof(*r->tmp));
    json_t *errs = api_link_decode_new(NULL, obj, r->tmp);
    json_decref(obj);
    if (e.bad_field != NULL)
        errs = problem_param(errs, e.bad_field, e.bad_reason);
    if (errs != NULL) {
        report_errs(row->line, errs);
        json_decref(errs);
        r->failed++;
        return 0;
    }
    struct store_bulk_item *it = &r->items[r->n];
    memset(it, 0, sizeof(*it));
    it->link = r->tmp->link;
    it->set = r->tmp->set;
    it->dry_run = r->dry_run;
    it->link.created_at = e.created_at;
    it->link.visits_total = e.visits > 0 ? e.visits : 0;
    int64_t wanted = (it->set & LINK_F_EXPIRES) ? it->link.expires_at : 0;
    plan_stamp_new(r->team.plan, clock_wall_ms(), wanted, &it->link);
    if (!(it->set & LINK_F_SLUG))
        it->random_code_len = LINK_CODE_LEN_DEFAULT;
    r->lines[r->n++] = row->line;
    if (r->n == API_BULK_MAX)
        flush(r);
    return r->error;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "linkpulse: import: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    struct stat sb;
    char *buf = NULL;
    if (fstat(fileno(f), &sb) != 0 || (size_t)sb.st_size > IMPORT_FILE_MAX) {
        fprintf(stderr, "linkpulse: import: %s is larger than 256 MiB\n", path);
    } else if ((buf = malloc((size_t)sb.st_size + 1)) != NULL) {
        *len = fread(buf, 1, (size_t)sb.st_size, f);
        buf[*len] = '\0';
    }
    fclose(f);
    return buf;
}

int cli_import(struct store *store, struct store_reader *reader, const char *file, const char *team, const char *format,
               bool dry_run)
{
    enum import_format fmt;
    if (file == NULL || team == NULL || format == NULL || import_format_parse(format, strlen(format), &fmt) != 0) {
        fprintf(stderr, "linkpulse: import FILE --team ID --format csv|yourls|shlink|kutt|bitly [--dry-run]\n");
        return 2;
    }
    struct run r = {.store = store, .dry_run = dry_run};
    int64_t id = api_parse_id(team, strlen(team));
    if (id <= 0 || store_team_get(reader, id, &r.team) != STORE_OK) {
        fprintf(stderr, "linkpulse: import: no team with id %s\n", team);
        return 1;
    }
    size_t len = 0;
    char *data = read_file(file, &len);
    r.items = calloc(API_BULK_MAX, sizeof(*r.items));
    r.lines = calloc(API_BULK_MAX, sizeof(*r.lines));
    r.tmp = calloc(1, sizeof(*r.tmp));
    int rc = 1;
    if (data != NULL && r.items != NULL && r.lines != NULL && r.tmp != NULL) {
        char err[160];
        long rows = import_parse(fmt, data, len, on_row, &r, err, sizeof(err));
        flush(&r);
        if (rows < 0) {
            fprintf(stderr, "linkpulse: import: %s: %s\n", file, err);
        } else if (!r.error) {
            printf("{\"format\": \"%s\", \"rows\": %ld, \"%s\": %ld, \"%s\": %ld, \"failed\": %ld%s}\n",
                   import_format_name(fmt), rows, dry_run ? "would_create" : "created", r.created,
                   dry_run ? "would_reuse" : "reused", r.reused, r.failed, dry_run ? ", \"dry_run\": true" : "");
            rc = 0;
        }
    }
    free(data);
    free(r.items);
    free(r.lines);
    free(r.tmp);
    return rc;
}
