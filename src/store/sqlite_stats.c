/* sqlite_stats: reading visit statistics back from the SQLite store:
 * series from rollup_day (hourly points from its tally) or rollup_team,
 * breakdowns summed from the tallies of a range of days, raw visits newest
 * first, and a team's top links by their counters. Rollups only, never a
 * COUNT over raw visits. Reader connections (any thread with its own
 * reader); the writing side is sqlite_visits.c. */
#include "store/sqlite_internal.h"

#include "obs/log.h"
#include "store/strtab.h"
#include "store/tally.h"

#include <stdlib.h>
#include <string.h>

#define R(sql) sqlite_stmt(&r->stmts, r->db, sql)
#define HOUR_MS (3600LL * 1000)
#define DAY_MS (24 * HOUR_MS)
#define VISIT_SELECT                                                                                                   \
    "SELECT id, link_id, team_id, domain_id, ts, kind, ip, country, city, referrer_host, referrer, browser,"           \
    " browser_major, os, device, bot, language, utm_source, utm_medium, utm_campaign, utm_term, utm_content,"          \
    " visited_url, target_url FROM visits "

int sqlite_stats_series(struct store_reader *base, int64_t link_id, int64_t team_id, bool hourly, int64_t from,
                        int64_t to, store_period_cb cb, void *ctx)
{
    struct sqlite_reader *r = (struct sqlite_reader *)base;
    bool team = link_id == 0 && team_id > 0;
    sqlite3_stmt *st =
        team ? R("SELECT t, total, bots, uniques, NULL FROM rollup_team WHERE team_id=? AND t>=? AND t<? ORDER BY t")
             : R("SELECT t, total, bots, uniques, tally FROM rollup_day WHERE link_id=? AND t>=? AND t<? ORDER BY t");
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, team ? team_id : link_id);
    sqlite3_bind_int64(st, 2, team ? from : from - from % DAY_MS); /* a day row holds the hours after `from` */
    sqlite3_bind_int64(st, 3, to);
    struct store_period day = {.t = -1};
    int rc, stop = 0;
    while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_period p = {sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2),
                                 sqlite3_column_int64(st, 3)};
        if (team && !hourly) { /* team rows are hours: add them up per day */
            int64_t t = p.t - p.t % DAY_MS;
            if (day.t >= 0 && day.t != t)
                stop = cb(ctx, &day);
            if (day.t != t)
                day = (struct store_period){.t = t};
            day.total += p.total;
            day.bots += p.bots;
            day.uniques += p.uniques;
        } else if (team || !hourly) {
            if (p.t >= from)
                stop = cb(ctx, &p);
        } else {
            struct tally_iter it;
            struct tally_entry e;
            const void *blob = sqlite3_column_blob(st, 4);
            if (tally_iter_init(&it, blob, (size_t)sqlite3_column_bytes(st, 4)) != 0) {
                rc = SQLITE_CORRUPT;
                break;
            }
            int k;
            while (!stop && (k = tally_next(&it, &e)) == 1 && e.dim == TALLY_HOUR) {
                struct store_period h = {p.t + (uint8_t)e.name[0] * HOUR_MS, e.total, e.bots, e.uniques};
                if (h.t >= from && h.t < to)
                    stop = cb(ctx, &h);
            }
            if (k < 0) {
                rc = SQLITE_CORRUPT;
                break;
            }
        }
    }
    if (!stop && (rc == SQLITE_DONE) && day.t >= 0)
        cb(ctx, &day);
    sqlite3_reset(st);
    if (rc == SQLITE_CORRUPT)
        log_error("sqlite: a rollup_day tally of link %lld is malformed", (long long)link_id);
    return stop || rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : STORE_ERROR;
}

static int by_count(const void *pa, const void *pb, void *arg)
{
    bool exclude_bots = *(const bool *)arg;
    const struct strtab_entry *a = *(const struct strtab_entry *const *)pa,
                              *b = *(const struct strtab_entry *const *)pb;
    int64_t na = a->total - (exclude_bots ? a->bots : 0), nb = b->total - (exclude_bots ? b->bots : 0);
    if (na != nb)
        return na > nb ? -1 : 1;
    return strcmp(a->s, b->s);
}

int sqlite_stats_dim(struct store_reader *base, int64_t link_id, const char *dim, int64_t from, int64_t to,
                     bool exclude_bots, store_count_cb cb, void *ctx)
{
    struct sqlite_reader *r = (struct sqlite_reader *)base;
    int d = tally_dim_of(dim);
    sqlite3_stmt *st = R("SELECT tally FROM rollup_day WHERE link_id=? AND t>=? AND t<?");
    if (d < 0 || st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, link_id);
    sqlite3_bind_int64(st, 2, from);
    sqlite3_bind_int64(st, 3, to);
    struct strtab names = {0};
    struct strtab_entry **order = NULL;
    int rc, out = STORE_ERROR;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct tally_iter it;
        struct tally_entry e;
        if (tally_iter_init(&it, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0)) != 0)
            goto done;
        int k;
        while ((k = tally_next(&it, &e)) == 1) {
            if (e.dim != d)
                continue;
            struct strtab_entry *n = strtab_intern(&names, e.name, e.len);
            if (n == NULL)
                goto done;
            n->total += e.total;
            n->bots += e.bots;
        }
        if (k < 0)
            goto done;
    }
    if (rc != SQLITE_DONE)
        goto done;
    size_t n = 0;
    if ((order = malloc((names.n + 1) * sizeof(*order))) == NULL)
        goto done;
    for (size_t i = 0; i < names.cap; i++)
        if (names.slots[i].s != NULL && names.slots[i].total - (exclude_bots ? names.slots[i].bots : 0) > 0)
            order[n++] = &names.slots[i];
    qsort_r(order, n, sizeof(*order), by_count, &exclude_bots);
    for (size_t i = 0; i < n; i++)
        if (cb(ctx, order[i]->s, order[i]->total - (exclude_bots ? order[i]->bots : 0)) != 0)
            break;
    out = 0;
done:
    if (out != 0 && rc == SQLITE_ROW)
        log_error("sqlite: a rollup_day tally of link %lld is malformed", (long long)link_id);
    sqlite3_reset(st);
    free(order);
    strtab_free(&names);
    return out;
}

static void text_col(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
    sqlite_copy_text(dst, cap, st, col);
}

int sqlite_visits_list(struct store_reader *base, int64_t link_id, int64_t before_id, int limit, store_visit_cb cb,
                       void *ctx)
{
    struct sqlite_reader *r = (struct sqlite_reader *)base;
    sqlite3_stmt *st = link_id > 0 ? R(VISIT_SELECT "WHERE link_id=? AND id<? ORDER BY id DESC LIMIT ?")
                                   : R(VISIT_SELECT "WHERE link_id IS NULL AND ?=0 AND id<? ORDER BY id DESC LIMIT ?");
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, link_id);
    sqlite3_bind_int64(st, 2, before_id > 0 ? before_id : INT64_MAX);
    sqlite3_bind_int(st, 3, limit);
    struct store_visit v;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        memset(&v, 0, sizeof(v));
        int64_t id = sqlite3_column_int64(st, 0);
        v.link_id = sqlite3_column_int64(st, 1);
        v.team_id = sqlite3_column_int64(st, 2);
        v.domain_id = sqlite3_column_int64(st, 3);
        v.ts = sqlite3_column_int64(st, 4);
        v.kind = store_visit_kind_of((const char *)sqlite3_column_text(st, 5));
        text_col(v.ip, sizeof(v.ip), st, 6);
        text_col(v.country, sizeof(v.country), st, 7);
        text_col(v.city, sizeof(v.city), st, 8);
        text_col(v.referrer_host, sizeof(v.referrer_host), st, 9);
        text_col(v.referrer, sizeof(v.referrer), st, 10);
        text_col(v.browser, sizeof(v.browser), st, 11);
        v.browser_major = sqlite3_column_type(st, 12) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 12);
        text_col(v.os, sizeof(v.os), st, 13);
        text_col(v.device, sizeof(v.device), st, 14);
        v.bot = sqlite3_column_int(st, 15) != 0;
        text_col(v.language, sizeof(v.language), st, 16);
        for (int u = 0; u < 5; u++)
            text_col(v.utm[u], sizeof(v.utm[u]), st, 17 + u);
        text_col(v.visited_url, sizeof(v.visited_url), st, 22);
        text_col(v.target_url, sizeof(v.target_url), st, 23);
        v.detail = true;
        if (cb(ctx, id, &v) != 0)
            break;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : STORE_ERROR;
}

int sqlite_top_links(struct store_reader *base, int64_t team_id, int limit, struct link *scratch, store_link_cb cb,
                     void *ctx)
{
    struct sqlite_reader *r = (struct sqlite_reader *)base;
    sqlite3_stmt *st =
        R("SELECT " LINK_COLUMNS " FROM links WHERE team_id=? AND visits_total>0 ORDER BY visits_total DESC LIMIT ?");
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, team_id);
    sqlite3_bind_int(st, 2, limit);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        sqlite_row_to_link(st, scratch);
        if (cb(ctx, scratch) != 0)
            break;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : STORE_ERROR;
}
