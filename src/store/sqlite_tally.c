/* sqlite_tally: the SQL functions over tally blobs (store/tally.h) that
 * the SQLite store registers on every connection:
 * - lp_tally_merge(a, b): a and b added up; the visit passes' rollup_day
 *   upserts use it (sqlite_visits.c);
 * - lp_tally(dim, name, total, bots, uniques): an aggregate of rows into
 *   one tally, for migrations.
 * Threading: a connection's functions run on its thread; lp_tally_merge's
 * scratch belongs to its connection. */
#include "store/sqlite_internal.h"

#include "store/strtab.h"
#include "store/tally.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct merge_scratch {
    struct tally_entry entries[TALLY_SCRATCH_ENTRIES];
};

static void fn_tally_merge(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
        sqlite3_result_value(ctx, argv[1]);
        return;
    }
    struct merge_scratch *m = sqlite3_user_data(ctx);
    const void *a = sqlite3_value_blob(argv[0]), *b = sqlite3_value_blob(argv[1]);
    size_t alen = (size_t)sqlite3_value_bytes(argv[0]), blen = (size_t)sqlite3_value_bytes(argv[1]);
    size_t cap = alen + blen + 1;
    uint8_t *out = sqlite3_malloc64(cap);
    if (out == NULL) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    long len = tally_merge(a, alen, b, blen, m->entries, out, cap);
    if (len < 0) {
        sqlite3_free(out);
        sqlite3_result_error(ctx, "lp_tally_merge: malformed tally", -1);
        return;
    }
    sqlite3_result_blob(ctx, out, (int)len, sqlite3_free);
}

/* lp_tally(dim, name, total, bots, uniques): rows into one tally (dim 0:
 * name is the hour). For migrations. */
struct tally_acc {
    struct tally_entry *e;
    size_t n, cap;
    struct strtab names;
    bool failed;
};

static void fn_tally_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    struct tally_acc *acc = sqlite3_aggregate_context(ctx, sizeof(*acc));
    if (acc == NULL || acc->failed)
        return;
    int dim = sqlite3_value_int(argv[0]);
    char hour;
    const char *name;
    size_t len;
    if (dim == TALLY_HOUR) {
        hour = (char)sqlite3_value_int(argv[1]);
        name = &hour;
        len = 1;
    } else {
        name = (const char *)sqlite3_value_text(argv[1]);
        len = name ? strlen(name) : 0;
    }
    struct strtab_entry *copy = len > 0 && len <= TALLY_NAME_MAX ? strtab_intern(&acc->names, name, len) : NULL;
    if (acc->n == acc->cap) {
        size_t cap = acc->cap ? acc->cap * 2 : 64;
        struct tally_entry *e = realloc(acc->e, cap * sizeof(*e));
        if (e == NULL)
            copy = NULL;
        else
            acc->e = e, acc->cap = cap;
    }
    if (copy == NULL || dim < 0 || dim >= TALLY_NDIMS) {
        acc->failed = true;
        return;
    }
    acc->e[acc->n++] = (struct tally_entry){.dim = (uint8_t)dim,
                                            .len = (uint8_t)len,
                                            .name = copy->s,
                                            .total = sqlite3_value_int64(argv[2]),
                                            .bots = sqlite3_value_int64(argv[3]),
                                            .uniques = sqlite3_value_int64(argv[4])};
}

static void fn_tally_final(sqlite3_context *ctx)
{
    struct tally_acc *acc = sqlite3_aggregate_context(ctx, 0);
    struct tally_acc none = {0};
    if (acc == NULL)
        acc = &none;
    uint8_t *out = acc->failed ? NULL : sqlite3_malloc64(TALLY_BYTES_MAX);
    if (out != NULL) {
        long len = tally_encode(acc->e, tally_sum_entries(acc->e, acc->n), out, TALLY_BYTES_MAX);
        if (len >= 0)
            sqlite3_result_blob(ctx, out, (int)len, SQLITE_TRANSIENT);
        else
            sqlite3_result_error(ctx, "lp_tally: bad values", -1);
    } else {
        sqlite3_result_error(ctx, "lp_tally: bad values", -1);
    }
    sqlite3_free(out);
    free(acc->e);
    strtab_free(&acc->names);
}

int sqlite_tally_register(sqlite3 *db)
{
    struct merge_scratch *m = malloc(sizeof(*m));
    if (m == NULL)
        return -1;
    int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;
    if (sqlite3_create_function_v2(db, "lp_tally_merge", 2, flags, m, fn_tally_merge, NULL, NULL, free) != SQLITE_OK)
        return -1; /* SQLite called free(m) */
    if (sqlite3_create_function_v2(db, "lp_tally", 5, flags, NULL, NULL, fn_tally_step, fn_tally_final, NULL) !=
        SQLITE_OK)
        return -1;
    return 0;
}
