/* Rollup math of the SQLite store (src/store/sqlite_visits.c), through the
 * store interface on a real database in a temporary directory: visits
 * handed over in several batches must add up, per hour and per day, to
 * exactly what a count over the raw visits gives; bots are counted apart;
 * a visitor (the same unique hash) counts once per hour and once per day
 * however many batches it appears in; the breakdowns rank values and can
 * leave bots out; the link's own counters follow; detail-less visits
 * (tracking off) are counted and nothing else. */
#include "store/store.h"

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
    st = store_sqlite_open(dir, err, sizeof(err));
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

static void insert(struct store_visit *v, size_t n)
{
    struct store_op op = {.kind = STORE_VISITS_INSERT, .visits = v, .nvisits = n};
    cr_assert_eq(store_submit_wait(st, &op), STORE_OK);
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
    /* Batch 2: visitor 1 again in hour 0 (not new), then in hour 5 (new for
     * the hour, not for the day); visitor 4 on day 2. */
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
    cr_assert_eq(h.p[1].uniques, 1);
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

    /* Hourly totals sum to the daily ones. */
    int64_t sum = 0;
    for (size_t i = 0; i < h.n; i++)
        sum += h.p[i].total;
    cr_assert_eq(sum, d.p[0].total + d.p[1].total);

    struct link got;
    cr_assert_eq(store_link_get(rd, 1, 0, "roll", 4, &got), STORE_OK);
    cr_assert_eq(got.visits_total, 7);
    cr_assert_eq(got.visits_bots, 1);
}

Test(rollup, breakdowns_rank_and_exclude_bots)
{
    struct store_visit b[] = {
        visit(T0 + 1, 1, false, "GB", "Chrome"), visit(T0 + 2, 2, false, "GB", "Chrome"),
        visit(T0 + 3, 3, false, "SE", "Firefox"), visit(T0 + 4, 4, true, "US", "Googlebot"),
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
