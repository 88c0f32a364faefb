/* sqlite_visits: visits in the SQLite backend: folding the visit journal
 * (store/journal.h) into raw rows, rollups and counters, retention, and
 * the SQL functions over tallies. Reading them back: sqlite_stats.c.
 *
 * A pass (writer thread, one transaction or a few) takes the next durable
 * chunk of the journal (up to PASS_VISITS_MAX visits) and writes:
 * - raw visits (detail ones; retention deletes them later) and their
 *   webhook events, in (link, id) order so the per-link index is written
 *   front to back;
 * - per (link, UTC day) one rollup_day row: day totals, and a tally
 *   (store/tally.h) of hours and breakdown values;
 * - per team and hour one rollup_team row (the team overview);
 * - the links' own counters (links.visits_total, visits_bots); a link
 *   deleted since its visits were captured has no counter row, and its
 *   visits are left out of everything;
 * - unique visitors: a visit's salted hash (sink.c) is remembered per
 *   (day, link) in uniques_seen; the first sighting counts one unique for
 *   the day and for the hour it happened in, so hours add up to days;
 * - the journal position reached, so a crash re-applies nothing twice.
 * The pass sorts its visits by (link, id) and walks them once, in steps of
 * whole links (a link with more visits than a step is split): each (link,
 * day) group becomes one rollup_day upsert and each link one counter
 * update, in key order (a split link gets one a step, which add up).
 * With visits spread over many links, the pages a pass dirties (not the
 * visits in it) are what bound the rate, so a large pass is a cheap one
 * per visit; but it takes seconds, and ops (API writes) queue behind it.
 * So when ops are waiting the pass commits at the next step that ends
 * between two links (a slice: journal_pos keeps the chunk's end and
 * done_below, the first link not yet applied), lets the writer run one
 * batch of them, and goes on; a restart after a crash between slices
 * reads the same chunk and leaves out the links below done_below. Slices
 * follow the key order, so they cost their commits, not more page writes
 * per visit (raw rows, keyed by time, are the exception). A pass that
 * gives way to the request path (YIELD_FACTOR) ends a slice first too,
 * unless it is inside a split link. Its memory (the journal chunk, about 100 bytes of index per visit) is
 * allocated for the pass and freed after it. */
#include "store/sqlite_internal.h"

#include "obs/log.h"
#include "store/journal.h"
#include "store/strtab.h"
#include "store/tally.h"
#include "util/clock.h"
#include "util/id.h"
#include "util/radix.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define W(sql) sqlite_stmt(&s->stmts, s->db, sql)
#define HOUR_MS (3600LL * 1000)
#define DAY_MS (24 * HOUR_MS)
#define PASS_BYTES ((size_t)64 << 20) /* journal bytes read per pass, at most */
#define PASS_VISITS_MAX 262144

static const char hour_names[24] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                    12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23};

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h;
}

static size_t pow2_at_least(size_t n)
{
    size_t c = 64;
    while (c < n)
        c <<= 1;
    return c;
}

/* ---- one pass ---------------------------------------------------------------------- */

/* A pass that finds ops waiting commits its work so far (the links below
 * the next one) once it has held the write lock this long. */
#define SLICE_MIN_MS 10
/* Visits written between two looks at the queue and at the CPU (a step),
 * rounded up to a link's end unless that link has another step's worth. */
#define STEP_VISITS 1024
/* Visits decoded between two looks at the CPU while a pass is prepared. */
#define PREP_VISITS 16384

/* A pass gives way to the request path when the cores are short. nice
 * alone leaves the writer ~20% of a core in a flood: CFS lets a nice-10
 * thread run whenever a worker blocks on its socket. So after each step,
 * after each PREP_VISITS decoded while a pass is prepared, and after each
 * pass that leaves visits waiting, the writer reads its thread's
 * scheduler counters (schedstat: ns run, ns waited runnable) and, when
 * since the last look that judged it waited for a core longer than it
 * ran, it sleeps YIELD_FACTOR times that wall time, at most YIELD_MAX_MS,
 * before going on. A look after less than YIELD_MIN_RUN_NS of running
 * does not judge (so a light load never waits); the next one adds to it.
 * Ops, a visit waiter and the close end the sleep at once; past half of
 * the journal's room (--visit-backlog-mb) it does not give way, so that
 * giving way does not bring the journal to where visits are dropped. The
 * visits are durable meanwhile; they wait in the journal. */
#define YIELD_MIN_RUN_NS 1000000
#define YIELD_FACTOR 4
#define YIELD_MAX_MS 1000

struct pv {
    int64_t id, ts, link_id, team_id;
    const uint8_t *body;
    uint32_t blen;
    uint8_t kind;
    bool bot, detail, has_unique;
    bool gone;      /* its link was deleted after the visit: left out */
    bool candidate; /* the pass's first visit with this (link, day, hash) */
    bool first;     /* and the first ever: one unique */
    uint8_t unique[16];
    const char *dim[TALLY_NDIMS]; /* interned breakdown values ([TALLY_HOUR] unused) */
    uint8_t dimlen[TALLY_NDIMS];
};

struct team_hour;

struct pass {
    struct pv *pv;
    size_t n;
    uint64_t records; /* journal records taken, skipped ones included */
    struct strtab names;
    size_t *useen; /* pv index + 1 per slot; 0 free */
    size_t ucap;
    struct store_visit v; /* a visit decoded for its webhook event */
    /* the slice being written */
    struct tally_entry *te; /* GROUP_VISITS * TALLY_NDIMS */
    uint8_t *blob;          /* TALLY_BYTES_MAX */
    struct team_hour *th;   /* one per visit of the slice */
    size_t nth;
};

/* A visitor seen before in this pass (same link, day and hash) is no first sighting. */
static bool seen_in_pass(struct pass *p, size_t idx)
{
    const struct pv *v = &p->pv[idx];
    int64_t day = v->ts - v->ts % DAY_MS;
    uint64_t h = mix(mix((uint64_t)v->link_id, (uint64_t)day), strtab_hash(v->unique, sizeof(v->unique)));
    for (size_t i = h & (p->ucap - 1);; i = (i + 1) & (p->ucap - 1)) {
        if (p->useen[i] == 0) {
            p->useen[i] = idx + 1;
            return false;
        }
        const struct pv *o = &p->pv[p->useen[i] - 1];
        if (o->link_id == v->link_id && o->ts - o->ts % DAY_MS == day &&
            memcmp(o->unique, v->unique, sizeof(v->unique)) == 0)
            return true;
    }
}

static int set_dim(struct pass *p, struct pv *v, int dim, const char *value, size_t len, const char *fallback)
{
    if (len == 0) {
        value = fallback;
        len = strlen(fallback);
    }
    struct strtab_entry *e = strtab_intern(&p->names, value, len);
    if (e == NULL)
        return -1;
    v->dim[dim] = e->s;
    v->dimlen[dim] = e->len;
    return 0;
}

#define SET_DIM(dim, jt, fallback) set_dim(p, v, dim, jv.text[jt].s, jv.text[jt].len, fallback)

/* Reads the journal chunk (journal_read has checked its records) into
 * pv[] until it holds upto visits, leaving out the links below skip_below
 * (applied by the slices of an interrupted pass); returns how many bytes
 * of it were taken. */
static long parse_chunk(struct pass *p, const uint8_t *buf, size_t len, int64_t skip_below, size_t upto)
{
    size_t off = 0, taken = 0;
    const uint8_t *body;
    size_t blen;
    while (p->n < upto && journal_step(buf, len, &off, &body, &blen) == 1) {
        taken = off;
        p->records++;
        struct journal_view jv;
        if (journal_view(body, blen, &jv) != 0) {
            log_error("journal: skipping a visit record that does not decode");
            continue;
        }
        if (jv.link_id < skip_below)
            continue;
        struct pv *v = &p->pv[p->n];
        *v = (struct pv){.id = id_next(jv.ts),
                         .ts = jv.ts,
                         .link_id = jv.link_id,
                         .team_id = jv.team_id,
                         .body = body,
                         .blen = (uint32_t)blen,
                         .kind = (uint8_t)jv.kind,
                         .bot = jv.bot,
                         .detail = jv.detail,
                         .has_unique = jv.has_unique};
        if (jv.has_unique)
            memcpy(v->unique, jv.unique, sizeof(v->unique));
        if (v->link_id == 0) {
            const char *kind = store_visit_kind_name(jv.kind);
            if (set_dim(p, v, TALLY_KIND, kind, strlen(kind), "") != 0)
                return -1;
        } else if (v->detail) {
            if (SET_DIM(TALLY_REFERRER, JT_REFERRER_HOST, "direct") != 0 ||
                SET_DIM(TALLY_COUNTRY, JT_COUNTRY, "unknown") != 0 || SET_DIM(TALLY_CITY, JT_CITY, "unknown") != 0 ||
                SET_DIM(TALLY_BROWSER, JT_BROWSER, "unknown") != 0 || SET_DIM(TALLY_OS, JT_OS, "unknown") != 0 ||
                SET_DIM(TALLY_DEVICE, JT_DEVICE, "unknown") != 0)
                return -1;
        }
        p->n++;
    }
    return (long)taken;
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const struct journal_view *v, enum journal_text t)
{
    if (v->text[t].len > 0)
        sqlite3_bind_text(st, i, v->text[t].s, v->text[t].len, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/* Raw rows go in RAW_BATCH at a time: one statement of many rows keeps its
 * cursors on the tables' last pages, where one per row seeks from the root
 * again and pays the statement's start and end each time. OR FAIL: a
 * statement of many rows that may abort half-way would keep a statement
 * journal, a copy of every page it is first to touch, and a failure here
 * rolls the whole pass back anyway. */
#define RAW_BATCH 16
#define RAW_ROW "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
#define RAW_ROWS4 RAW_ROW "," RAW_ROW "," RAW_ROW "," RAW_ROW
#define RAW_INSERT                                                                                                     \
    "INSERT OR FAIL INTO visits (id, link_id, team_id, domain_id, ts, kind, ip, country, city, referrer_host,"         \
    " referrer, browser, browser_major, os, device, bot, language, utm_source, utm_medium, utm_campaign, utm_term,"    \
    " utm_content, visited_url, target_url) VALUES "

struct raw_row {
    const struct pv *pv;
    struct journal_view jv;
};

static int bind_raw(sqlite3_stmt *st, int i, const struct raw_row *r)
{
    const struct journal_view *v = &r->jv;
    sqlite3_bind_int64(st, i++, r->pv->id);
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
    sqlite3_bind_text(st, i++, store_visit_kind_name(v->kind), -1, SQLITE_STATIC);
    for (enum journal_text t = JT_IP; t <= JT_BROWSER; t++)
        bind_text_or_null(st, i++, v, t);
    if (v->browser_major >= 0)
        sqlite3_bind_int(st, i, v->browser_major);
    else
        sqlite3_bind_null(st, i);
    i++;
    bind_text_or_null(st, i++, v, JT_OS);
    bind_text_or_null(st, i++, v, JT_DEVICE);
    sqlite3_bind_int(st, i++, v->bot);
    for (enum journal_text t = JT_LANGUAGE; t <= JT_TARGET_URL; t++)
        bind_text_or_null(st, i++, v, t);
    return i;
}

/* Inserts rows[0..n): RAW_BATCH in one statement, fewer one by one. */
static int insert_raw(struct sqlite_store *s, const struct raw_row *rows, size_t n)
{
    sqlite3_stmt *st =
        n == RAW_BATCH ? W(RAW_INSERT RAW_ROWS4 "," RAW_ROWS4 "," RAW_ROWS4 "," RAW_ROWS4) : W(RAW_INSERT RAW_ROW);
    if (st == NULL)
        return STORE_ERROR;
    if (n == RAW_BATCH) {
        int i = 1;
        for (size_t k = 0; k < n; k++)
            i = bind_raw(st, i, &rows[k]);
        return sqlite_exec_stmt(st) == 0 ? STORE_OK : STORE_ERROR;
    }
    for (size_t k = 0; k < n; k++) {
        bind_raw(st, 1, &rows[k]);
        if (sqlite_exec_stmt(st) != 0)
            return STORE_ERROR;
    }
    return STORE_OK;
}

#define GROUP_VISITS 8192 /* a larger (link, day) group is upserted in parts */

struct sums {
    uint32_t total, bots, uniques; /* one pass: at most PASS_VISITS_MAX */
};

static void sums_add(struct sums *to, const struct sums *v)
{
    to->total += v->total;
    to->bots += v->bots;
    to->uniques += v->uniques;
}

struct team_hour {
    int64_t team, hour;
    struct sums c;
};

static int cmp_team_hour(const void *pa, const void *pb)
{
    const struct team_hour *a = pa, *b = pb;
    if (a->team != b->team)
        return a->team < b->team ? -1 : 1;
    return a->hour < b->hour ? -1 : a->hour > b->hour;
}

static void add_entry(struct tally_entry *te, size_t *n, uint8_t dim, const char *name, uint8_t len, const struct pv *v)
{
    te[(*n)++] =
        (struct tally_entry){.dim = dim, .len = len, .name = name, .total = 1, .bots = v->bot, .uniques = v->first};
}

static int upsert_day(struct sqlite_store *s, int64_t link, int64_t day, const struct sums *sum, struct tally_entry *te,
                      size_t n, uint8_t *blob)
{
    long len = tally_encode(te, tally_sum_entries(te, n), blob, TALLY_BYTES_MAX);
    sqlite3_stmt *st = W("INSERT INTO rollup_day (link_id, t, total, bots, uniques, tally) VALUES (?,?,?,?,?,?)"
                         " ON CONFLICT (link_id, t) DO UPDATE SET total=total+excluded.total,"
                         " bots=bots+excluded.bots, uniques=uniques+excluded.uniques,"
                         " tally=lp_tally_merge(tally, excluded.tally)");
    if (len < 0 || st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, link);
    sqlite3_bind_int64(st, 2, day);
    sqlite3_bind_int64(st, 3, sum->total);
    sqlite3_bind_int64(st, 4, sum->bots);
    sqlite3_bind_int64(st, 5, sum->uniques);
    sqlite3_bind_blob(st, 6, blob, (int)len, SQLITE_STATIC);
    return sqlite_exec_stmt(st) == 0 ? STORE_OK : STORE_ERROR;
}

static int update_link(struct sqlite_store *s, int64_t link, const struct sums *sum)
{
    sqlite3_stmt *st = W("UPDATE links SET visits_total=visits_total+?, visits_bots=visits_bots+? WHERE id=?");
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, sum->total);
    sqlite3_bind_int64(st, 2, sum->bots);
    sqlite3_bind_int64(st, 3, link);
    return sqlite_exec_stmt(st) == 0 ? STORE_OK : STORE_ERROR;
}

/* The team overview: one row per (team, hour) the pass touched. */
static int upsert_teams(struct sqlite_store *s, struct team_hour *th, size_t n)
{
    qsort(th, n, sizeof(*th), cmp_team_hour);
    sqlite3_stmt *st = W("INSERT INTO rollup_team (team_id, t, total, bots, uniques) VALUES (?,?,?,?,?)"
                         " ON CONFLICT (team_id, t) DO UPDATE SET total=total+excluded.total,"
                         " bots=bots+excluded.bots, uniques=uniques+excluded.uniques");
    if (st == NULL)
        return STORE_ERROR;
    for (size_t i = 0; i < n;) {
        struct team_hour sum = th[i];
        for (i++; i < n && th[i].team == sum.team && th[i].hour == sum.hour; i++)
            sums_add(&sum.c, &th[i].c);
        sqlite3_bind_int64(st, 1, sum.team);
        sqlite3_bind_int64(st, 2, sum.hour);
        sqlite3_bind_int64(st, 3, sum.c.total);
        sqlite3_bind_int64(st, 4, sum.c.bots);
        sqlite3_bind_int64(st, 5, sum.c.uniques);
        if (sqlite_exec_stmt(st) != 0)
            return STORE_ERROR;
    }
    return STORE_OK;
}

/* One link's visits (order[0..m), in id order: ids follow time, so a day's
 * visits are next to each other): one rollup_day row per day (a day past
 * GROUP_VISITS in parts) and the link's counters; its (team, hour) counts
 * go to p->th. */
static int write_link_rollups(struct sqlite_store *s, struct pass *p, const size_t *order, size_t m)
{
    int64_t link = p->pv[order[0]].link_id;
    for (size_t i = 0; i < m;) {
        const struct pv *first = &p->pv[order[i]];
        int64_t day = first->ts - first->ts % DAY_MS;
        struct sums day_sum = {0};
        size_t ne = 0;
        for (size_t k = 0; k < GROUP_VISITS && i < m; k++, i++) {
            const struct pv *v = &p->pv[order[i]];
            if (v->ts - v->ts % DAY_MS != day)
                break;
            int64_t hour = v->ts - v->ts % HOUR_MS;
            struct sums one = {1, v->bot, v->first};
            sums_add(&day_sum, &one);
            add_entry(p->te, &ne, TALLY_HOUR, &hour_names[(hour - day) / HOUR_MS], 1, v);
            for (int d = 1; d < TALLY_NDIMS; d++)
                if (v->dim[d] != NULL)
                    add_entry(p->te, &ne, (uint8_t)d, v->dim[d], v->dimlen[d], v);
            if (link != 0 && v->team_id != 0)
                p->th[p->nth++] = (struct team_hour){v->team_id, hour, one};
        }
        if (upsert_day(s, link, day, &day_sum, p->te, ne, p->blob) != STORE_OK)
            return STORE_ERROR;
    }
    return STORE_OK;
}

/* The links' counters of the visits order[0..m); a link
 * deleted since its visits were captured has no row to count them in, and
 * its visits are marked gone. */
static int count_links(struct sqlite_store *s, struct pass *p, const size_t *order, size_t m)
{
    for (size_t i = 0, n; i < m; i += n) {
        int64_t link = p->pv[order[i]].link_id;
        struct sums sum = {0};
        for (n = 0; i + n < m && p->pv[order[i + n]].link_id == link; n++) {
            sum.total++;
            sum.bots += p->pv[order[i + n]].bot;
        }
        if (link == 0)
            continue;
        if (update_link(s, link, &sum) != STORE_OK)
            return STORE_ERROR;
        if (sqlite3_changes(s->db) == 0)
            for (size_t k = i; k < i + n; k++)
                p->pv[order[k]].gone = true;
    }
    return STORE_OK;
}

/* The visits order[0..m), table by table (each in key
 * order): the links' counters, first sightings, raw rows and webhook
 * events, then the rollups. Visits of deleted links are left out: their
 * rows went with the link (the links_stats_ad trigger). */
static int write_links(struct sqlite_store *s, struct pass *p, const size_t *order, size_t m, int64_t now)
{
    if (count_links(s, p, order, m) != STORE_OK)
        return STORE_ERROR;
    sqlite3_stmt *seen = W("INSERT OR IGNORE INTO uniques_seen (t, link_id, hash) VALUES (?,?,?)");
    if (seen == NULL)
        return STORE_ERROR;
    for (size_t i = 0; i < m; i++) {
        struct pv *v = &p->pv[order[i]];
        if (!v->candidate || v->gone)
            continue;
        sqlite3_bind_int64(seen, 1, v->ts - v->ts % DAY_MS);
        sqlite3_bind_int64(seen, 2, v->link_id);
        sqlite3_bind_blob(seen, 3, v->unique, sizeof(v->unique), SQLITE_STATIC);
        if (sqlite_exec_stmt(seen) != 0)
            return STORE_ERROR;
        v->first = sqlite3_changes(s->db) > 0;
    }
    struct raw_row rows[RAW_BATCH];
    size_t nrows = 0;
    for (size_t i = 0; i < m; i++) {
        const struct pv *v = &p->pv[order[i]];
        if (v->gone)
            continue;
        if (v->detail) {
            rows[nrows].pv = v;
            if (journal_view(v->body, v->blen, &rows[nrows].jv) != 0)
                return STORE_ERROR; /* it was read a moment ago */
            if (++nrows == RAW_BATCH) {
                if (insert_raw(s, rows, nrows) != STORE_OK)
                    return STORE_ERROR;
                nrows = 0;
            }
        }
        if (sqlite_outbox_wanted(s, v->link_id, v->team_id) &&
            (journal_decode(v->body, v->blen, &p->v) != 0 || sqlite_outbox_visit(s, &p->v, now) != STORE_OK))
            return STORE_ERROR;
    }
    if (nrows > 0 && insert_raw(s, rows, nrows) != STORE_OK)
        return STORE_ERROR;
    for (size_t i = 0, n; i < m; i += n) {
        for (n = 1; i + n < m && p->pv[order[i + n]].link_id == p->pv[order[i]].link_id; n++)
            ;
        if (!p->pv[order[i]].gone && write_link_rollups(s, p, order + i, n) != STORE_OK)
            return STORE_ERROR;
    }
    return STORE_OK;
}

/* Ends the slice's transaction: its team rows, then where the journal
 * stands: the pass done (done_below 0, the position moves on to end), or
 * the links below done_below applied. */
static int commit_slice(struct sqlite_store *s, struct pass *p, struct journal_pos end, int64_t done_below)
{
    if (upsert_teams(s, p->th, p->nth) != STORE_OK)
        return STORE_ERROR;
    p->nth = 0;
    struct journal_pos at = done_below == 0 ? end : s->jpos;
    if (done_below == 0)
        end = (struct journal_pos){0, 0};
    sqlite3_stmt *st = W("UPDATE journal_pos SET seg=?, off=?, end_seg=?, end_off=?, done_below=? WHERE id=1");
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, (int64_t)at.seg);
    sqlite3_bind_int64(st, 2, (int64_t)at.off);
    sqlite3_bind_int64(st, 3, (int64_t)end.seg);
    sqlite3_bind_int64(st, 4, (int64_t)end.off);
    sqlite3_bind_int64(st, 5, done_below);
    if (sqlite_exec_stmt(st) != 0 || sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        return STORE_ERROR;
    s->jslice.end = end;
    s->jslice.done_below = done_below;
    return STORE_OK;
}

static void pass_free(struct pass *p)
{
    free(p->pv);
    free(p->useen);
    free(p->te);
    free(p->blob);
    free(p->th);
    strtab_free(&p->names);
}

uint64_t sqlite_give_way(struct sqlite_give_way *g, uint64_t run_ns, uint64_t wait_ns, uint64_t backlog_bytes,
                         uint64_t room_bytes)
{
    if (run_ns < g->run_ns || wait_ns < g->wait_ns) { /* counters only grow; a bad read starts over */
        *g = (struct sqlite_give_way){run_ns, wait_ns};
        return 0;
    }
    uint64_t ran = run_ns - g->run_ns, waited = wait_ns - g->wait_ns;
    if (ran < YIELD_MIN_RUN_NS)
        return 0; /* too little to judge: the next look adds to it */
    *g = (struct sqlite_give_way){run_ns, wait_ns};
    if (waited <= ran || backlog_bytes > room_bytes / 2)
        return 0;
    uint64_t ms = (ran + waited) / 1000000 * YIELD_FACTOR;
    return ms < YIELD_MAX_MS ? ms : YIELD_MAX_MS;
}

/* The writer's ns run and waited runnable so far; false when unknown. */
static bool sched_counters(struct sqlite_store *s, uint64_t *run, uint64_t *wait)
{
    char buf[96];
    ssize_t n = s->schedstat_fd < 0 ? -1 : pread(s->schedstat_fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    char *end;
    *run = strtoull(buf, &end, 10);
    *wait = strtoull(end, NULL, 10);
    return true;
}

/* How long the writer should give way now (0: not). */
static uint64_t give_way_due(struct sqlite_store *s)
{
    uint64_t run, wait;
    if (!sched_counters(s, &run, &wait))
        return 0;
    struct journal_counts jc;
    journal_counts(s->journal, &jc);
    return sqlite_give_way(&s->give_way, run, wait, jc.backlog_bytes, s->backlog_bytes);
}

static void give_way_for(struct sqlite_store *s, uint64_t ms)
{
    uint64_t t0 = clock_mono_ms();
    sqlite_writer_pause(s, ms);
    atomic_fetch_add(&s->visits_paused_ms, clock_mono_ms() - t0);
    sched_counters(s, &s->give_way.run_ns, &s->give_way.wait_ns); /* the pause is not the next step's */
}

void sqlite_visits_give_way(struct sqlite_store *s)
{
    uint64_t ms = give_way_due(s);
    if (ms > 0)
        give_way_for(s, ms);
}

/* The pass in (link, id) order, STEP_VISITS (whole links, but for links
 * with more) at a time, so the rows it writes are written once (a split
 * link's: once a step) and in key order. When ops are waiting (and the
 * slice has held the lock SLICE_MIN_MS), or when it gives way
 * (YIELD_FACTOR), it commits at the end of a step that ends between two
 * links, runs one batch of the ops, and goes on in a new transaction:
 * slices keep the key order, so they cost little more than their commits.
 * Inside a split link it gives way within the transaction. */
static int pass_write(struct sqlite_store *s, struct pass *p, struct journal_pos end, int64_t now)
{
    size_t *order = malloc((p->n + 1) * sizeof(*order));
    struct radix_item *keys = malloc(2 * (p->n + 1) * sizeof(*keys));
    p->ucap = pow2_at_least(2 * (p->n + 1));
    p->useen = calloc(p->ucap, sizeof(*p->useen));
    p->te = malloc(GROUP_VISITS * TALLY_NDIMS * sizeof(*p->te));
    p->blob = malloc(TALLY_BYTES_MAX);
    p->th = malloc((p->n + 1) * sizeof(*p->th));
    int rc = STORE_ERROR;
    size_t slice_start = 0;
    if (order == NULL || keys == NULL || p->useen == NULL || p->te == NULL || p->blob == NULL || p->th == NULL) {
        log_error("sqlite: no memory for a pass of %zu visits", p->n);
        goto out;
    }
    for (size_t i = 0; i < p->n; i++) {
        struct pv *v = &p->pv[i];
        v->candidate = v->has_unique && v->link_id != 0 && !seen_in_pass(p, i);
        keys[i] = (struct radix_item){.key = (uint64_t)v->link_id, .val = (uint32_t)i};
    }
    /* ids grow with i (id_next), so a stable sort by link is (link, id) order */
    struct radix_item *sorted = radix_sort(keys, keys + p->n + 1, p->n);
    for (size_t i = 0; i < p->n; i++)
        order[i] = sorted[i].val;
    free(keys);
    keys = NULL;
    uint64_t slice_from = clock_mono_ms();
    if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        goto rollback; /* logged there; nothing to undo */
    for (size_t i = 0; i < p->n;) {
        size_t m = i + STEP_VISITS < p->n ? STEP_VISITS : p->n - i, k = m;
        /* then to the link's end, unless it has another step's worth left (orphans, a hot link) */
        while (i + k < p->n && k < m + STEP_VISITS && p->pv[order[i + k]].link_id == p->pv[order[i + k - 1]].link_id)
            k++;
        if (i + k == p->n || p->pv[order[i + k]].link_id != p->pv[order[i + k - 1]].link_id)
            m = k;
        if ((rc = write_links(s, p, order + i, m, now)) != STORE_OK)
            goto rollback;
        i += m;
        if (i == p->n)
            break;
        bool between = p->pv[order[i]].link_id != p->pv[order[i - 1]].link_id; /* where a slice may end */
        uint64_t rest = give_way_due(s);
        if (rest > 0 && !between) { /* inside a split link (orphans, a hot link): in the transaction */
            give_way_for(s, rest);
            rest = 0;
        }
        if (!between || (rest == 0 && (clock_mono_ms() - slice_from < SLICE_MIN_MS || !sqlite_writer_wanted(s))))
            continue;
        /* A slice: for waiting ops, or to give way without holding the write
         * lock and with the work so far visible. */
        if ((rc = commit_slice(s, p, end, p->pv[order[i]].link_id)) != STORE_OK)
            goto rollback;
        atomic_fetch_add(&s->visits_applied, i - slice_start);
        slice_start = i;
        if (rest > 0)
            give_way_for(s, rest);
        if (sqlite_writer_serve(s)) {
            rc = STORE_OK; /* the rest is applied at the next start */
            goto out;
        }
        if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
            rc = STORE_ERROR;
            goto rollback;
        }
        slice_from = clock_mono_ms();
    }
    if ((rc = commit_slice(s, p, end, 0)) != STORE_OK)
        goto rollback;
    atomic_fetch_add(&s->visits_applied, p->n - slice_start);
    s->jpos = end;
    journal_release(s->journal, end, p->records);
    goto out;
rollback:
    log_error("sqlite: recording %zu visits failed: %s", p->n - slice_start, sqlite3_errmsg(s->db));
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
out:
    free(keys);
    free(order);
    return rc;
}

int sqlite_visits_pass(struct sqlite_store *s, int64_t now)
{
    struct pass p = {0};
    int rc = -1;
    uint8_t *buf = malloc(PASS_BYTES); /* large, so mapped for the pass and given back after it */
    struct journal_pos next;
    if (buf == NULL) {
        log_error("sqlite: no memory to read the visit journal");
        goto out;
    }
    long len = journal_read(s->journal, s->jpos, buf, PASS_BYTES, &next);
    if (len < 0)
        goto out; /* logged by the journal */
    if (len == 0 && next.seg == s->jpos.seg && next.off == s->jpos.off) {
        rc = 0;
        goto out;
    }
    /* An interrupted pass goes on over the same chunk. */
    int64_t skip_below = s->jslice.done_below;
    if (skip_below > 0 && next.seg == s->jslice.end.seg && next.off >= s->jslice.end.off) {
        len -= (long)(next.off - s->jslice.end.off);
        next = s->jslice.end;
    } else if (skip_below > 0) { /* durable journal bytes are gone: apply what is left, once */
        log_error("journal: the chunk of an interrupted pass ends before %" PRIu64 ":%" PRIu64 "; going on with less",
                  s->jslice.end.seg, s->jslice.end.off);
    }
    p.pv = malloc(PASS_VISITS_MAX * sizeof(struct pv));
    long taken = 0;
    for (size_t upto = PREP_VISITS;; upto += PREP_VISITS) {
        upto = upto < PASS_VISITS_MAX ? upto : PASS_VISITS_MAX;
        long t = p.pv != NULL ? parse_chunk(&p, buf + taken, (size_t)(len - taken), skip_below, upto) : -1;
        if (t < 0) {
            log_error("sqlite: no memory for a pass over the visit journal");
            goto out;
        }
        taken += t;
        if (p.n < upto || upto == PASS_VISITS_MAX) /* the chunk's end, or the pass is full */
            break;
        sqlite_visits_give_way(s);
    }
    if (taken < len) /* stopped at PASS_VISITS_MAX */
        next = (struct journal_pos){next.seg, next.off - (uint64_t)(len - taken)};
    if (pass_write(s, &p, next, now) != STORE_OK)
        goto out;
    rc = journal_has_after(s->journal, s->jpos) ? 1 : 0;
out:
    pass_free(&p);
    free(buf);
    return rc;
}

#define PURGE_BATCH 10000 /* raw visits per purge op: SINK_PURGE_BATCH (events/sink.h) */

/* Raw visits of deleted links (links_gone), up to `budget` of them. */
static long purge_gone(struct sqlite_store *s, long budget)
{
    long done = 0;
    while (done < budget) {
        sqlite3_stmt *next = W("SELECT link_id FROM links_gone LIMIT 1");
        if (next == NULL)
            return -1;
        int rc = sqlite3_step(next);
        int64_t link = rc == SQLITE_ROW ? sqlite3_column_int64(next, 0) : 0;
        sqlite3_reset(next);
        if (rc != SQLITE_ROW)
            return rc == SQLITE_DONE ? done : -1;
        sqlite3_stmt *del = W("DELETE FROM visits WHERE id IN (SELECT id FROM visits WHERE link_id=? LIMIT ?)");
        if (del == NULL)
            return -1;
        sqlite3_bind_int64(del, 1, link);
        sqlite3_bind_int64(del, 2, budget - done);
        if (sqlite_exec_stmt(del) != 0)
            return -1;
        long n = sqlite3_changes(s->db);
        done += n;
        if (done < budget) { /* none left */
            sqlite3_stmt *gone = W("DELETE FROM links_gone WHERE link_id=?");
            if (gone == NULL)
                return -1;
            sqlite3_bind_int64(gone, 1, link);
            if (sqlite_exec_stmt(gone) != 0)
                return -1;
        }
    }
    return done;
}

int sqlite_visits_purge(struct sqlite_store *s, struct store_op *op)
{
    /* Visit ids start with their millisecond (util/id.h): the primary key
     * orders them by time, so no index on ts is needed. */
    int64_t before_id = op->before > ID_EPOCH_MS ? (op->before - ID_EPOCH_MS) << 22 : 0;
    sqlite3_stmt *st = W("DELETE FROM visits WHERE id IN (SELECT id FROM visits WHERE id<? LIMIT ?)");
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, before_id);
    sqlite3_bind_int64(st, 2, PURGE_BATCH);
    if (sqlite_exec_stmt(st) != 0)
        return STORE_ERROR;
    op->purged = sqlite3_changes(s->db);
    long gone = purge_gone(s, PURGE_BATCH - (long)op->purged);
    if (gone < 0)
        return STORE_ERROR;
    op->purged += gone;
    /* Hashes of days whose salt is gone cannot match again. */
    st = W("DELETE FROM uniques_seen WHERE t<?");
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, op->uniques_before);
    return sqlite_exec_stmt(st) == 0 ? STORE_OK : STORE_ERROR;
}
