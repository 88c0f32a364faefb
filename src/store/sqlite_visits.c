/* sqlite_visits: raw visits and their rollups in the SQLite backend.
 *
 * A batch of visits is one op in the writer's transaction: the raw rows,
 * the hourly and daily rollups (total, bots, unique), the daily breakdowns
 * (referrer, country, city, browser, OS, device) and the links' own
 * counters all commit together, so a count never runs ahead of or behind
 * the rows it counts. Reads (stats) touch rollups only.
 * Uniques: a visit's salted hash is remembered per link and period in
 * uniques_seen; the first sighting bumps the period's unique count. The
 * salt changes every day, so a day's hashes are useless the next day and
 * retention deletes them. */
#include "store/sqlite_internal.h"

#include "obs/log.h"
#include "util/id.h"

#include <stdlib.h>
#include <string.h>

#define W(sql) sqlite_stmt(&s->stmts, s->db, sql)
#define R(sql) sqlite_stmt(&r->stmts, r->db, sql)
#define HOUR_MS (3600LL * 1000)
#define DAY_MS (24 * HOUR_MS)
#define PURGE_BATCH 1000

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *v)
{
    if (v[0] != '\0')
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static const char *const kind_names[] = {"redirect", "invalid_short_url", "base_url", "regular_404"};

static int insert_raw(struct sqlite_store *s, const struct store_visit *v)
{
    sqlite3_stmt *st = W("INSERT INTO visits (id, link_id, team_id, domain_id, ts, kind, ip, country, city,"
                         " referrer_host, referrer, browser, browser_major, os, device, bot, language, utm_source,"
                         " utm_medium, utm_campaign, utm_term, utm_content, visited_url, target_url)"
                         " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    if (st == NULL)
        return STORE_ERROR;
    int i = 1;
    sqlite3_bind_int64(st, i++, id_next(v->ts));
    if (v->link_id)
        sqlite3_bind_int64(st, i++, v->link_id);
    else
        sqlite3_bind_null(st, i++);
    if (v->team_id)
        sqlite3_bind_int64(st, i++, v->team_id);
    else
        sqlite3_bind_null(st, i++);
    sqlite3_bind_int64(st, i++, v->domain_id);
    sqlite3_bind_int64(st, i++, v->ts);
    sqlite3_bind_text(st, i++, kind_names[v->kind], -1, SQLITE_STATIC);
    bind_text_or_null(st, i++, v->ip);
    bind_text_or_null(st, i++, v->country);
    bind_text_or_null(st, i++, v->city);
    bind_text_or_null(st, i++, v->referrer_host);
    bind_text_or_null(st, i++, v->referrer);
    bind_text_or_null(st, i++, v->browser);
    if (v->browser_major >= 0)
        sqlite3_bind_int(st, i++, v->browser_major);
    else
        sqlite3_bind_null(st, i++);
    bind_text_or_null(st, i++, v->os);
    bind_text_or_null(st, i++, v->device);
    sqlite3_bind_int(st, i++, v->bot);
    bind_text_or_null(st, i++, v->language);
    for (int u = 0; u < 5; u++)
        bind_text_or_null(st, i++, v->utm[u]);
    bind_text_or_null(st, i++, v->visited_url);
    bind_text_or_null(st, i++, v->target_url);
    return sqlite_exec_stmt(st) == 0 ? STORE_OK : STORE_ERROR;
}

/* A batch is folded into counters first: one upsert per (link, period)
 * and per (link, day, dimension, value), not one per visit. */
enum agg_kind { AGG_LINK, AGG_HOUR, AGG_DAY, AGG_DIM };

struct agg {
    bool used;
    uint8_t kind;
    int64_t link, t;
    const char *dim;  /* AGG_DIM: static name */
    const char *name; /* AGG_DIM: points into the batch's visits */
    int64_t total, bots, uniques;
};

struct useen {
    bool used;
    int64_t link, hour;
    unsigned char hash[16];
};

struct aggs {
    struct agg *slots;
    size_t cap; /* power of two */
    struct useen *useen;
    size_t ucap; /* power of two, > 2 x visits */
};

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h;
}

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    while (*s)
        h = (h ^ (uint8_t)*s++) * 1099511628211ULL;
    return h;
}

static struct agg *agg_slot(struct aggs *a, uint8_t kind, int64_t link, int64_t t, const char *dim, const char *name)
{
    uint64_t h = mix(mix(mix(kind, (uint64_t)link), (uint64_t)t), dim ? str_hash(dim) ^ str_hash(name) : 0);
    for (size_t i = h & (a->cap - 1);; i = (i + 1) & (a->cap - 1)) {
        struct agg *g = &a->slots[i];
        if (!g->used) {
            *g = (struct agg){.used = true, .kind = kind, .link = link, .t = t, .dim = dim, .name = name};
            return g;
        }
        if (g->kind == kind && g->link == link && g->t == t &&
            (dim == NULL || (strcmp(g->dim, dim) == 0 && strcmp(g->name, name) == 0)))
            return g;
    }
}

static void agg_add(struct aggs *a, uint8_t kind, const struct store_visit *v, int64_t t, const char *dim,
                    const char *name)
{
    struct agg *g = agg_slot(a, kind, v->link_id, t, dim, name);
    g->total++;
    g->bots += v->bot;
}

/* 1 when the hash is new for (link, period) and so counts as a unique. */
static int first_sighting(struct sqlite_store *s, const struct store_visit *v, int64_t key_t)
{
    sqlite3_stmt *st = W("INSERT OR IGNORE INTO uniques_seen (link_id, t, hash) VALUES (?,?,?)");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, v->link_id);
    sqlite3_bind_int64(st, 2, key_t);
    sqlite3_bind_blob(st, 3, v->unique, sizeof(v->unique), SQLITE_STATIC);
    if (sqlite_exec_stmt(st) != 0)
        return -1;
    return sqlite3_changes(s->db) > 0;
}

/* A visitor seen earlier in the same batch (same link, hour, hash) needs no
 * lookup: the first sighting already decided. */
static bool seen_in_batch(struct aggs *a, const struct store_visit *v, int64_t hour)
{
    uint64_t h = mix(mix((uint64_t)v->link_id, (uint64_t)hour), 0);
    uint64_t k;
    memcpy(&k, v->unique, sizeof(k));
    h = mix(h, k);
    for (size_t i = h & (a->ucap - 1);; i = (i + 1) & (a->ucap - 1)) {
        struct useen *u = &a->useen[i];
        if (!u->used) {
            *u = (struct useen){true, v->link_id, hour, {0}};
            memcpy(u->hash, v->unique, sizeof(u->hash));
            return false;
        }
        if (u->link == v->link_id && u->hour == hour && memcmp(u->hash, v->unique, sizeof(u->hash)) == 0)
            return true;
    }
}

static int fold(struct sqlite_store *s, struct aggs *a, const struct store_visit *v)
{
    int64_t hour = v->ts - v->ts % HOUR_MS, day = v->ts - v->ts % DAY_MS;
    if (v->link_id != 0)
        agg_add(a, AGG_LINK, v, 0, NULL, NULL);
    agg_add(a, AGG_HOUR, v, hour, NULL, NULL);
    agg_add(a, AGG_DAY, v, day, NULL, NULL);
    if (v->has_unique && !seen_in_batch(a, v, hour)) {
        /* Hour and day share uniques_seen; days are told apart by a negative t. */
        int h = first_sighting(s, v, hour), d = first_sighting(s, v, -day);
        if (h < 0 || d < 0)
            return STORE_ERROR;
        agg_slot(a, AGG_HOUR, v->link_id, hour, NULL, NULL)->uniques += h;
        agg_slot(a, AGG_DAY, v->link_id, day, NULL, NULL)->uniques += d;
    }
    /* Orphan visits roll up under link 0, broken down by kind. */
    if (v->link_id == 0) {
        agg_add(a, AGG_DIM, v, day, "kind", kind_names[v->kind]);
        return STORE_OK;
    }
    if (!v->detail)
        return STORE_OK;
    agg_add(a, AGG_DIM, v, day, "referrer", v->referrer_host[0] ? v->referrer_host : "direct");
    agg_add(a, AGG_DIM, v, day, "country", v->country[0] ? v->country : "unknown");
    agg_add(a, AGG_DIM, v, day, "city", v->city[0] ? v->city : "unknown");
    agg_add(a, AGG_DIM, v, day, "browser", v->browser[0] ? v->browser : "unknown");
    agg_add(a, AGG_DIM, v, day, "os", v->os[0] ? v->os : "unknown");
    agg_add(a, AGG_DIM, v, day, "device", v->device[0] ? v->device : "unknown");
    return STORE_OK;
}

static int flush_agg(struct sqlite_store *s, const struct agg *g)
{
    sqlite3_stmt *st;
    switch (g->kind) {
    case AGG_LINK:
        st = W("UPDATE links SET visits_total=visits_total+?, visits_bots=visits_bots+? WHERE id=?");
        if (st == NULL)
            return STORE_ERROR;
        sqlite3_bind_int64(st, 1, g->total);
        sqlite3_bind_int64(st, 2, g->bots);
        sqlite3_bind_int64(st, 3, g->link);
        break;
    case AGG_HOUR:
    case AGG_DAY:
        st = g->kind == AGG_DAY
                 ? W("INSERT INTO rollup_day (link_id, t, total, bots, uniques) VALUES (?,?,?,?,?)"
                     " ON CONFLICT (link_id, t) DO UPDATE SET total=total+excluded.total,"
                     " bots=bots+excluded.bots, uniques=uniques+excluded.uniques")
                 : W("INSERT INTO rollup_hour (link_id, t, total, bots, uniques) VALUES (?,?,?,?,?)"
                     " ON CONFLICT (link_id, t) DO UPDATE SET total=total+excluded.total,"
                     " bots=bots+excluded.bots, uniques=uniques+excluded.uniques");
        if (st == NULL)
            return STORE_ERROR;
        sqlite3_bind_int64(st, 1, g->link);
        sqlite3_bind_int64(st, 2, g->t);
        sqlite3_bind_int64(st, 3, g->total);
        sqlite3_bind_int64(st, 4, g->bots);
        sqlite3_bind_int64(st, 5, g->uniques);
        break;
    default:
        st = W("INSERT INTO rollup_dim (link_id, t, dim, name, total, bots) VALUES (?,?,?,?,?,?)"
               " ON CONFLICT (link_id, dim, t, name) DO UPDATE SET total=total+excluded.total,"
               " bots=bots+excluded.bots");
        if (st == NULL)
            return STORE_ERROR;
        sqlite3_bind_int64(st, 1, g->link);
        sqlite3_bind_int64(st, 2, g->t);
        sqlite3_bind_text(st, 3, g->dim, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, g->name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, g->total);
        sqlite3_bind_int64(st, 6, g->bots);
        break;
    }
    return sqlite_exec_stmt(st) == 0 ? STORE_OK : STORE_ERROR;
}

/* The fold tables are the writer's, kept between batches (a fresh
 * multi-megabyte calloc per batch cost page faults on every commit) and
 * left empty after each use. */
static int aggs_reserve(struct sqlite_store *s, size_t nvisits)
{
    /* Each visit adds at most 9 counters; keep the table at most half full. */
    size_t cap = 64, ucap = 64;
    while (cap < nvisits * 18)
        cap <<= 1;
    while (ucap < nvisits * 2)
        ucap <<= 1;
    if (cap > s->agg_cap) {
        free(s->agg_slots);
        if ((s->agg_slots = calloc(cap, sizeof(struct agg))) == NULL) {
            s->agg_cap = 0;
            return -1;
        }
        s->agg_cap = cap;
    }
    if (ucap > s->useen_cap) {
        free(s->useen);
        if ((s->useen = calloc(ucap, sizeof(struct useen))) == NULL) {
            s->useen_cap = 0;
            return -1;
        }
        s->useen_cap = ucap;
    }
    return 0;
}

void sqlite_visits_free(struct sqlite_store *s)
{
    free(s->agg_slots);
    free(s->useen);
}

int sqlite_visits_insert(struct sqlite_store *s, struct store_op *op, int64_t now)
{
    if (aggs_reserve(s, op->nvisits) != 0)
        return STORE_ERROR;
    struct aggs a = {.slots = s->agg_slots, .cap = s->agg_cap, .useen = s->useen, .ucap = s->useen_cap};
    int rc = STORE_OK;
    for (size_t i = 0; rc == STORE_OK && i < op->nvisits; i++) {
        const struct store_visit *v = &op->visits[i];
        if (v->detail)
            rc = insert_raw(s, v);
        if (rc == STORE_OK)
            rc = fold(s, &a, v);
        if (rc == STORE_OK)
            rc = sqlite_outbox_visit(s, v, now);
    }
    for (size_t i = 0; i < a.cap; i++) {
        if (a.slots[i].used && rc == STORE_OK)
            rc = flush_agg(s, &a.slots[i]);
        a.slots[i].used = false;
    }
    for (size_t i = 0; i < a.ucap; i++)
        a.useen[i].used = false;
    if (rc != STORE_OK)
        log_error("sqlite: recording visits failed: %s", sqlite3_errmsg(s->db));
    return rc;
}

int sqlite_visits_purge(struct sqlite_store *s, struct store_op *op)
{
    int64_t cutoff = op->before;
    /* Visit ids start with their millisecond (util/id.h): the primary key
     * orders them by time, so no index on ts is needed. */
    int64_t before_id = cutoff > ID_EPOCH_MS ? (cutoff - ID_EPOCH_MS) << 22 : 0;
    sqlite3_stmt *st = W("DELETE FROM visits WHERE id IN (SELECT id FROM visits WHERE id<? LIMIT 1000)");
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, before_id);
    if (sqlite_exec_stmt(st) != 0)
        return STORE_ERROR;
    op->purged = sqlite3_changes(s->db);
    /* Hashes of days whose salt is gone cannot match again. */
    st = W("DELETE FROM uniques_seen WHERE (t>0 AND t<?) OR (t<0 AND -t<?)");
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, op->uniques_before);
    sqlite3_bind_int64(st, 2, op->uniques_before);
    return sqlite_exec_stmt(st) == 0 ? STORE_OK : STORE_ERROR;
}

/* ---- reads ----------------------------------------------------------------- */

int sqlite_stats_series(struct store_reader *base, int64_t link_id, int64_t team_id, bool hourly, int64_t from,
                        int64_t to, store_period_cb cb, void *ctx)
{
    struct sqlite_reader *r = (struct sqlite_reader *)base;
    sqlite3_stmt *st;
    if (link_id == 0 && team_id > 0)
        st = hourly ? R("SELECT d.t, sum(d.total), sum(d.bots), sum(d.uniques) FROM rollup_hour d"
                        " JOIN links l ON l.id = d.link_id WHERE l.team_id=? AND d.t>=? AND d.t<? GROUP BY d.t"
                        " ORDER BY d.t")
                    : R("SELECT d.t, sum(d.total), sum(d.bots), sum(d.uniques) FROM rollup_day d"
                        " JOIN links l ON l.id = d.link_id WHERE l.team_id=? AND d.t>=? AND d.t<? GROUP BY d.t"
                        " ORDER BY d.t");
    else
        st = hourly ? R("SELECT t, total, bots, uniques FROM rollup_hour WHERE link_id=? AND t>=? AND t<? ORDER BY t")
                    : R("SELECT t, total, bots, uniques FROM rollup_day WHERE link_id=? AND t>=? AND t<? ORDER BY t");
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, link_id == 0 && team_id > 0 ? team_id : link_id);
    sqlite3_bind_int64(st, 2, from);
    sqlite3_bind_int64(st, 3, to);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_period p = {sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
                                 sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3)};
        if (cb(ctx, &p) != 0)
            break;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : STORE_ERROR;
}

int sqlite_stats_dim(struct store_reader *base, int64_t link_id, const char *dim, int64_t from, int64_t to,
                     bool exclude_bots, store_count_cb cb, void *ctx)
{
    struct sqlite_reader *r = (struct sqlite_reader *)base;
    sqlite3_stmt *st = R("SELECT name, sum(total) - ? * sum(bots) AS n FROM rollup_dim"
                         " WHERE link_id=? AND dim=? AND t>=? AND t<? GROUP BY name HAVING n>0 ORDER BY n DESC, name");
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int(st, 1, exclude_bots);
    sqlite3_bind_int64(st, 2, link_id);
    sqlite3_bind_text(st, 3, dim, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, from);
    sqlite3_bind_int64(st, 5, to);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (cb(ctx, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1)) != 0)
            break;
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : STORE_ERROR;
}

static void text_col(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
    sqlite_copy_text(dst, cap, st, col);
}

int sqlite_visits_list(struct store_reader *base, int64_t link_id, int64_t before_id, int limit, store_visit_cb cb,
                       void *ctx)
{
    struct sqlite_reader *r = (struct sqlite_reader *)base;
    sqlite3_stmt *st =
        link_id > 0
            ? R("SELECT id, link_id, team_id, domain_id, ts, kind, ip, country, city, referrer_host, referrer, browser,"
                " browser_major, os, device, bot, language, utm_source, utm_medium, utm_campaign, utm_term,"
                " utm_content, visited_url, target_url FROM visits WHERE link_id=? AND id<? ORDER BY id DESC LIMIT ?")
            : R("SELECT id, link_id, team_id, domain_id, ts, kind, ip, country, city, referrer_host, referrer, browser,"
                " browser_major, os, device, bot, language, utm_source, utm_medium, utm_campaign, utm_term,"
                " utm_content, visited_url, target_url FROM visits WHERE link_id IS NULL AND ?=0 AND id<?"
                " ORDER BY id DESC LIMIT ?");
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
        const char *kind = (const char *)sqlite3_column_text(st, 5);
        for (int k = 0; kind && k < 4; k++)
            if (strcmp(kind, kind_names[k]) == 0)
                v.kind = (enum store_visit_kind)k;
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
