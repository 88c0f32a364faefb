/* Rollup math of the SQLite store (src/store/sqlite_visits.c), through the
 * store interface on a real database in a temporary directory: visits
 * handed over in several batches must add up, per hour and per day, to
 * exactly what a count over the raw visits gives; bots are counted apart;
 * a visitor (the same unique hash) counts once per day, in the hour it was
 * first seen, however many batches it appears in; the breakdowns rank values and can
 * leave bots out; the link's own counters follow; detail-less visits
 * (tracking off) are counted and nothing else; and when a pass gives way
 * to requests (sqlite_give_way). */
#include "store/sqlite_internal.h"
#include "store/store.h"
#include "store/tally.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HOUR (3600LL * 1000)
#define DAY (24 * HOUR)
#define T0 (1767225600000LL) /* 2026-01-01T00:00:00Z */

static char dir[64];
static struct store *st;
static struct store_reader *rd;
static struct link lk;

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/lp-rollup-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    char err[256];
    st = store_sqlite_open(dir, STORE_VISIT_BACKLOG_MB, err, sizeof(err));
    cr_assert_not_null(st, "%s", err);
    rd = store_reader_open(st);
    cr_assert_not_null(rd);
    struct store_op op = {.kind = STORE_LINK_CREATE, .team_id = 1, .domain_id = 0};
    strcpy(op.link.code, "roll");
    strcpy(op.link.url, "https://example.com/");
    op.link.redirect_type = 302;
    cr_assert_eq(store_submit_wait(st, &op), STORE_OK);
    lk = op.link;
}

static void teardown(void)
{
    store_reader_close(rd);
    store_close(st);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

/* One visit: at time t, from visitor `who` (its unique hash), bot or not. */
static struct store_visit visit(int64_t t, int who, bool bot, const char *country, const char *browser)
{
    struct store_visit v;
    memset(&v, 0, sizeof(v));
    v.ts = t;
    v.link_id = lk.id;
    v.team_id = 1;
    v.kind = VISIT_REDIRECT;
    v.bot = bot;
    v.detail = true;
    v.has_unique = true;
    v.browser_major = -1;
    memset(v.unique, who, sizeof(v.unique));
    snprintf(v.country, sizeof(v.country), "%s", country);
    snprintf(v.browser, sizeof(v.browser), "%s", browser);
    snprintf(v.device, sizeof(v.device), "%s", bot ? "bot" : "desktop");
    return v;
}

/* One batch: appended to the journal, synced, and applied by the writer. */
static void insert(struct store_visit *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(store_visits_append(st, &v[i]), STORE_OK);
    cr_assert_eq(store_visits_sync(st), STORE_OK);
    cr_assert_eq(store_visits_wait(st, 10000), STORE_OK);
}

#define MAXP 64
struct periods {
    size_t n;
    struct store_period p[MAXP];
};

static int take_period(void *ctx, const struct store_period *p)
{
    struct periods *ps = ctx;
    cr_assert_lt(ps->n, (size_t)MAXP);
    ps->p[ps->n++] = *p;
    return 0;
}

static struct periods series(bool hourly)
{
    struct periods ps = {0};
    cr_assert_geq(store_stats_series(rd, lk.id, 0, hourly, T0 - DAY, T0 + 10 * DAY, take_period, &ps), 0);
    return ps;
}

#define MAXC 16
struct counts {
    size_t n;
    char name[MAXC][32];
    int64_t count[MAXC];
};

static int take_count(void *ctx, const char *name, int64_t count)
{
    struct counts *c = ctx;
    cr_assert_lt(c->n, (size_t)MAXC);
    snprintf(c->name[c->n], sizeof(c->name[0]), "%s", name);
    c->count[c->n++] = count;
    return 0;
}

static struct counts dim(const char *name, bool exclude_bots)
{
    struct counts c = {0};
    cr_assert_geq(store_stats_dim(rd, lk.id, name, T0 - DAY, T0 + 10 * DAY, exclude_bots, take_count, &c), 0);
    return c;
}

TestSuite(rollup, .init = setup, .fini = teardown);

Test(rollup, hours_and_days_add_up_across_batches)
{
    /* Batch 1: hour 0 of day 0: visitors 1, 1, 2 and a bot (3). */
    struct store_visit b1[] = {
        visit(T0 + 10, 1, false, "GB", "Chrome"),
        visit(T0 + 20, 1, false, "GB", "Chrome"),
        visit(T0 + 30, 2, false, "SE", "Firefox"),
        visit(T0 + 40, 3, true, "US", "Googlebot"),
    };
    insert(b1, 4);
    /* Batch 2: visitor 1 again in hour 0 and in hour 5 (not new either
     * time: it was seen today); visitor 4 on day 2. */
    struct store_visit b2[] = {
        visit(T0 + 50, 1, false, "GB", "Chrome"),
        visit(T0 + 5 * HOUR + 1, 1, false, "GB", "Chrome"),
        visit(T0 + 2 * DAY + 7, 4, false, "SE", "Safari"),
    };
    insert(b2, 3);

    struct periods h = series(true);
    cr_assert_eq(h.n, 3);
    cr_assert_eq(h.p[0].t, T0);
    cr_assert_eq(h.p[0].total, 5);
    cr_assert_eq(h.p[0].bots, 1);
    cr_assert_eq(h.p[0].uniques, 3); /* visitors 1, 2 and the bot 3 */
    cr_assert_eq(h.p[1].t, T0 + 5 * HOUR);
    cr_assert_eq(h.p[1].total, 1);
    cr_assert_eq(h.p[1].uniques, 0);
    cr_assert_eq(h.p[2].t, T0 + 2 * DAY);
    cr_assert_eq(h.p[2].total, 1);

    struct periods d = series(false);
    cr_assert_eq(d.n, 2);
    cr_assert_eq(d.p[0].t, T0);
    cr_assert_eq(d.p[0].total, 6);
    cr_assert_eq(d.p[0].bots, 1);
    cr_assert_eq(d.p[0].uniques, 3); /* visitor 1's later hour is not a new visitor today */
    cr_assert_eq(d.p[1].t, T0 + 2 * DAY);
    cr_assert_eq(d.p[1].uniques, 1);

    /* Hourly totals and uniques sum to the daily ones. */
    int64_t sum = 0, usum = 0;
    for (size_t i = 0; i < h.n; i++)
        sum += h.p[i].total, usum += h.p[i].uniques;
    cr_assert_eq(sum, d.p[0].total + d.p[1].total);
    cr_assert_eq(usum, d.p[0].uniques + d.p[1].uniques);

    struct link got;
    cr_assert_eq(store_link_get(rd, 1, 0, "roll", 4, &got), STORE_OK);
    cr_assert_eq(got.visits_total, 7);
    cr_assert_eq(got.visits_bots, 1);
}

Test(rollup, breakdowns_rank_and_exclude_bots)
{
    struct store_visit b[] = {
        visit(T0 + 1, 1, false, "GB", "Chrome"),   visit(T0 + 2, 2, false, "GB", "Chrome"),
        visit(T0 + 3, 3, false, "SE", "Firefox"),  visit(T0 + 4, 4, true, "US", "Googlebot"),
        visit(T0 + 5, 5, true, "US", "Googlebot"), visit(T0 + DAY, 6, true, "US", "Googlebot"),
    };
    insert(b, 6);
    struct counts all = dim("country", false);
    cr_assert_eq(all.n, 3);
    cr_assert_str_eq(all.name[0], "US");
    cr_assert_eq(all.count[0], 3);
    cr_assert_str_eq(all.name[1], "GB");
    cr_assert_eq(all.count[1], 2);
    cr_assert_str_eq(all.name[2], "SE");
    cr_assert_eq(all.count[2], 1);

    struct counts people = dim("country", true);
    cr_assert_eq(people.n, 2, "bot-only values vanish when bots are excluded");
    cr_assert_str_eq(people.name[0], "GB");
    cr_assert_str_eq(people.name[1], "SE");

    struct counts dev = dim("device", false);
    cr_assert_eq(dev.n, 2);
    cr_assert_str_eq(dev.name[0], "bot");
    cr_assert_eq(dev.count[0], 3);
}

Test(rollup, counts_only_visits_leave_no_detail)
{
    struct store_visit v = visit(T0 + 1, 9, false, "GB", "Chrome");
    v.detail = false;
    v.has_unique = false;
    v.country[0] = v.browser[0] = v.device[0] = '\0';
    insert(&v, 1);
    struct periods d = series(false);
    cr_assert_eq(d.n, 1);
    cr_assert_eq(d.p[0].total, 1);
    cr_assert_eq(d.p[0].uniques, 0);
    cr_assert_eq(dim("country", false).n, 0);
}

struct many {
    int64_t sum, other;
    size_t n, twice;
};

static int take_many(void *ctx, const char *name, int64_t count)
{
    struct many *m = ctx;
    m->n++;
    m->sum += count;
    if (strcmp(name, TALLY_OTHER) == 0)
        m->other = count;
    else if (count == 2)
        m->twice++;
    return 0;
}

Test(rollup, past_the_values_cap_the_least_counted_add_up_as_other)
{
    /* 1,005 cities in one day over two batches: 5 of them twice. */
    static struct store_visit v[1010];
    for (int i = 0; i < 1010; i++) {
        v[i] = visit(T0 + i, i % 200, false, "GB", "Chrome");
        snprintf(v[i].city, sizeof(v[i].city), "city-%04d", i < 1005 ? i : i - 1005);
    }
    insert(v, 600);
    insert(v + 600, 410);
    struct many m = {0, -1, 0, 0};
    cr_assert_geq(store_stats_dim(rd, lk.id, "city", T0 - DAY, T0 + DAY, false, take_many, &m), 0);
    cr_assert_eq(m.n, TALLY_VALUES_MAX);
    cr_assert_eq(m.sum, 1010, "nothing is lost in the fold");
    cr_assert_eq(m.twice, 5, "the values seen twice are kept by name");
    cr_assert_eq(m.other, 1010 - 10 - (TALLY_VALUES_MAX - 1 - 5));
}

Test(rollup, a_backlog_larger_than_a_pass_is_applied_whole, .timeout = 60)
{
    /* More visits than one pass takes, to 50 links of two teams. */
    int64_t ids[50];
    for (int i = 0; i < 50; i++) {
        struct store_op op = {.kind = STORE_LINK_CREATE, .team_id = 1 + i % 2};
        snprintf(op.link.code, sizeof(op.link.code), "many%d", i);
        strcpy(op.link.url, "https://example.com/");
        op.link.redirect_type = 302;
        cr_assert_eq(store_submit_wait(st, &op), STORE_OK);
        ids[i] = op.link.id;
    }
    enum { N = 70001 };
    struct store_visit v = visit(T0, 1, false, "GB", "Chrome");
    for (int i = 0; i < N; i++) {
        v.ts = T0 + i * 1000;
        v.link_id = ids[i % 50];
        v.team_id = 1 + (i % 50) % 2;
        v.bot = i % 7 == 0;
        memset(v.unique, i % 1000, sizeof(v.unique));
        cr_assert_eq(store_visits_append(st, &v), STORE_OK);
        if (i % 5000 == 0)
            cr_assert_eq(store_visits_sync(st), STORE_OK);
    }
    cr_assert_eq(store_visits_sync(st), STORE_OK);
    cr_assert_eq(store_visits_wait(st, 50000), STORE_OK);
    struct store_visit_counts vc;
    store_visits_counts(st, &vc);
    cr_assert_eq(vc.applied, N);
    cr_assert_eq(vc.backlog, 0);
    int64_t total = 0;
    for (int i = 0; i < 50; i++) {
        struct link got;
        char code[16];
        int len = snprintf(code, sizeof(code), "many%d", i);
        cr_assert_eq(store_link_get(rd, 1 + i % 2, 0, code, (size_t)len, &got), STORE_OK);
        cr_assert_eq(got.visits_total, N / 50 + (i < N % 50));
        total += got.visits_total;
    }
    cr_assert_eq(total, N);
    /* The team overview adds up too: team 1 got the even links. */
    struct periods ps = {0};
    cr_assert_geq(store_stats_series(rd, 0, 1, false, T0 - DAY, T0 + 10 * DAY, take_period, &ps), 0);
    int64_t team1 = 0;
    for (size_t i = 0; i < ps.n; i++)
        team1 += ps.p[i].total;
    cr_assert_eq(team1, (N + 1) / 2);
}

/* More visits than a pass decodes between two looks at the CPU
 * (PREP_VISITS), made durable at once so that one pass takes them all. */
Test(rollup, a_pass_decoded_in_pieces_applies_every_visit, .timeout = 60)
{
    enum { N = 40000 };
    struct store_visit v = visit(T0, 1, false, "GB", "Chrome");
    for (int i = 0; i < N; i++) {
        v.ts = T0 + i * 1000;
        v.bot = i % 3 == 0;
        memset(v.unique, i % 100, sizeof(v.unique));
        cr_assert_eq(store_visits_append(st, &v), STORE_OK);
    }
    cr_assert_eq(store_visits_sync(st), STORE_OK);
    cr_assert_eq(store_visits_wait(st, 50000), STORE_OK);
    struct store_visit_counts vc;
    store_visits_counts(st, &vc);
    cr_assert_eq(vc.applied, N);
    struct link got;
    cr_assert_eq(store_link_get(rd, 1, 0, "roll", 4, &got), STORE_OK);
    cr_assert_eq(got.visits_total, N);
    cr_assert_eq(got.visits_bots, (N + 2) / 3);
    struct periods ps = series(false);
    int64_t total = 0;
    for (size_t i = 0; i < ps.n; i++)
        total += ps.p[i].total;
    cr_assert_eq(total, N);
}

Test(rollup, durable_visits_survive_a_restart_and_count_once)
{
    struct store_visit v = visit(T0 + 1, 1, false, "GB", "Chrome");
    insert(&v, 1);
    /* Appended and synced, then the store closes: close applies them; the
     * next open must not apply them again. */
    for (int i = 0; i < 3; i++) {
        v.ts = T0 + 10 + i;
        cr_assert_eq(store_visits_append(st, &v), STORE_OK);
    }
    cr_assert_eq(store_visits_sync(st), STORE_OK);
    store_reader_close(rd);
    store_close(st);
    char err[256];
    st = store_sqlite_open(dir, STORE_VISIT_BACKLOG_MB, err, sizeof(err));
    cr_assert_not_null(st, "%s", err);
    rd = store_reader_open(st);
    cr_assert_eq(store_visits_wait(st, 10000), STORE_OK);
    struct periods d = series(false);
    cr_assert_eq(d.n, 1);
    cr_assert_eq(d.p[0].total, 4);
    struct store_visit_counts vc;
    store_visits_counts(st, &vc);
    cr_assert_eq(vc.backlog, 0);
}

Test(rollup, orphan_visits_roll_up_by_kind)
{
    struct store_visit v = visit(T0 + 1, 1, false, "", "");
    v.link_id = 0;
    v.team_id = 0;
    v.kind = VISIT_INVALID_SHORT_URL;
    struct store_visit b[3] = {v, v, v};
    b[2].kind = VISIT_BASE_URL;
    insert(b, 3);
    struct counts c = {0};
    cr_assert_geq(store_stats_dim(rd, 0, "kind", T0 - DAY, T0 + DAY, false, take_count, &c), 0);
    cr_assert_eq(c.n, 2);
    cr_assert_str_eq(c.name[0], "invalid_short_url");
    cr_assert_eq(c.count[0], 2);
    cr_assert_str_eq(c.name[1], "base_url");
}

static int count_visit(void *ctx, int64_t id, const struct store_visit *v)
{
    (void)id;
    (void)v;
    (*(int *)ctx)++;
    return 0;
}

static int raw_visits(int64_t link_id)
{
    int n = 0;
    cr_assert_geq(store_visits_list(rd, link_id, 0, 1000, count_visit, &n), 0);
    return n;
}

/* Deleting a link deletes its statistics: the rollups with it, the raw
 * visits at the next purge (after older ones), and visits captured before
 * the delete but applied after it are left out. Other links keep theirs. */
Test(rollup, deleted_links_leave_nothing)
{
    struct store_op op = {.kind = STORE_LINK_CREATE, .team_id = 1, .domain_id = 0};
    strcpy(op.link.code, "keep");
    strcpy(op.link.url, "https://example.com/keep");
    op.link.redirect_type = 302;
    cr_assert_eq(store_submit_wait(st, &op), STORE_OK);
    struct link keep = op.link;

    struct store_visit b[4] = {visit(T0 + 1, 1, false, "GB", "Chrome"), visit(T0 + 2, 2, false, "SE", "Firefox"),
                               visit(T0 + DAY, 1, true, "US", "Googlebot"), visit(T0 + 3, 3, false, "GB", "Chrome")};
    b[3].link_id = keep.id;
    insert(b, 4);
    cr_assert_eq(series(false).n, 2);
    cr_assert_eq(raw_visits(lk.id), 3);

    op = (struct store_op){.kind = STORE_LINK_DELETE, .team_id = 1, .domain_id = 0};
    strcpy(op.key_code, "roll");
    cr_assert_eq(store_submit_wait(st, &op), STORE_OK);
    cr_assert_eq(series(false).n, 0, "the rollups went with the link");
    cr_assert_eq(raw_visits(lk.id), 3, "raw visits wait for the purge");

    struct store_visit late[2] = {visit(T0 + 5, 4, false, "GB", "Chrome"), visit(T0 + 2 * DAY, 5, false, "SE", "")};
    insert(late, 2);
    cr_assert_eq(series(false).n, 0, "visits applied after the delete are left out");
    cr_assert_eq(raw_visits(lk.id), 3);

    struct store_op purge = {.kind = STORE_VISITS_PURGE, .before = T0 - 10 * DAY, .uniques_before = 0};
    cr_assert_eq(store_submit_wait(st, &purge), STORE_OK);
    cr_assert_eq(purge.purged, 3);
    cr_assert_eq(raw_visits(lk.id), 0);
    purge.purged = -1;
    cr_assert_eq(store_submit_wait(st, &purge), STORE_OK);
    cr_assert_eq(purge.purged, 0, "nothing more to purge");

    cr_assert_eq(raw_visits(keep.id), 1, "the other link keeps its visit");
    struct periods ps = {0};
    cr_assert_geq(store_stats_series(rd, keep.id, 0, false, T0 - DAY, T0 + 10 * DAY, take_period, &ps), 0);
    cr_assert(ps.n == 1 && ps.p[0].total == 1);
}

/* A pass gives way only when the writer waited for a core longer than it
 * ran, ran long enough to judge, and the journal has room to spare. Each
 * row is one look after the last look that judged, at {0, 0}. */
Test(rollup, give_way_table)
{
    static const struct {
        uint64_t ran_ns, waited_ns, backlog, room, want_ms;
    } rows[] = {
        {30000000, 10000000, 0, 1000, 0},      /* ran more than it waited: the cores are free enough */
        {30000000, 30000000, 0, 1000, 0},      /* as long: still not */
        {30000000, 120000000, 0, 1000, 600},   /* waited 4x: 4 times the 150 ms */
        {500000, 20000000, 0, 1000, 0},        /* too little run to judge */
        {30000000, 900000000, 0, 1000, 1000},  /* capped */
        {30000000, 120000000, 500, 1000, 600}, /* half the room: still */
        {30000000, 120000000, 501, 1000, 0},   /* past half: the journal must not fill */
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct sqlite_give_way g = {0};
        cr_assert_eq(sqlite_give_way(&g, rows[i].ran_ns, rows[i].waited_ns, rows[i].backlog, rows[i].room),
                     rows[i].want_ms, "row %zu", i);
    }
}

/* Looks in a row: one after too little run does not judge, and its time
 * counts at the next; the look that judges starts the next count; a read
 * that goes backwards starts over. */
Test(rollup, give_way_looks)
{
    static const struct {
        uint64_t run_ns, wait_ns, want_ms;
    } looks[] = {
        {600000, 20000000, 0},    /* 0.6 ms run: not judged */
        {1200000, 40000000, 164}, /* with the last: 1.2 ms run, 40 ms waited */
        {1700000, 80000000, 0},   /* 0.5 ms more: not judged */
        {2300000, 90000000, 204}, /* from look 1: 1.1 ms run, 50 ms waited */
        {3400000, 90500000, 0},   /* 1.1 ms run, 0.5 ms waited: the cores are free */
        {1000, 1000, 0},          /* backwards: starts over from here */
        {1201000, 40001000, 164}, /* counted from the restart */
    };
    struct sqlite_give_way g = {0};
    for (size_t i = 0; i < sizeof(looks) / sizeof(looks[0]); i++)
        cr_assert_eq(sqlite_give_way(&g, looks[i].run_ns, looks[i].wait_ns, 0, 1000), looks[i].want_ms, "look %zu", i);
}
