/* sqlite_seed: fills a data directory with synthetic links and visit
 * rollups for benchmarks (`linkpulse seed`), fast: one connection,
 * prepared statements, 100,000 rows per transaction, no per-row fsync.
 *
 * Links: codes are random base62 of the configured length (retried on the
 * rare collision), URLs are 40-120 bytes of plausible hosts and paths, all
 * owned by one team on the default domain, created over the last 90 days.
 * Visits: one link gets `visits` visits as rollups only (a rollup_day row
 * per day with its tally of hours and breakdowns, the team's hours and the
 * link's counters, as sqlite_visits.c would have written them for the same
 * traffic): stats read rollups only, so
 * they answer exactly as after real traffic. No raw visit rows are made.
 *
 * Deterministic for a given spec->seed. Meant for a stopped service; runs
 * on the caller's thread. */
#include "store/sqlite_internal.h"

#include "store/tally.h"
#include "util/clock.h"
#include "util/id.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEED_TXN_ROWS 100000
#define SEED_DAYS 90
#define HOUR_MS (3600LL * 1000)
#define DAY_MS (24 * HOUR_MS)

static uint64_t next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t below(uint64_t *s, uint64_t n)
{
    return next(s) % n;
}

static const char *const HOSTS[] = {
    "www.example.com",      "blog.example.org",  "shop.example.net",    "docs.example.io",
    "news.example.co.uk",   "www.example.de",    "media.example.fr",    "cdn.example.com",
    "support.example.com",  "app.example.dev",   "careers.example.com", "events.example.org",
    "store.example.com.au", "learn.example.edu", "www.example.jp",      "static.example.net",
};
static const char *const WORDS[] = {
    "products", "2026",   "spring", "launch",  "guide",  "how-to",  "pricing",         "summer-sale", "article",
    "docs",     "v2",     "api",    "release", "notes",  "landing", "offer",           "campaign",    "news",
    "checkout", "events", "blog",   "post",    "update", "help",    "getting-started",
};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* A URL of exactly `len` bytes (40..120). */
static size_t make_url(uint64_t *s, char *out, size_t len)
{
    size_t n = (size_t)snprintf(out, len + 1, "https://%s", HOSTS[below(s, COUNT(HOSTS))]);
    while (n + 1 < len) {
        const char *w = WORDS[below(s, COUNT(WORDS))];
        n += (size_t)snprintf(out + n, len + 1 - n, "/%s", w);
    }
    if (n < len)
        out[n++] = '/';
    out[len] = '\0';
    return len;
}

static void make_code(uint64_t *s, char *out, unsigned len)
{
    static const char B62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    for (unsigned i = 0; i < len; i++)
        out[i] = B62[below(s, 62)];
    out[len] = '\0';
}

static int fail(sqlite3 *db, char *err, size_t errcap, const char *what)
{
    snprintf(err, errcap, "seed: %s: %s", what, sqlite3_errmsg(db));
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

static int insert_link(sqlite3 *db, sqlite3_stmt *st, const struct store_seed *spec, uint64_t *rng, int64_t now,
                       const char *fixed_code, char *code_out, int64_t *id_out)
{
    char url[128], title[96];
    size_t ulen = make_url(rng, url, 40 + (size_t)below(rng, 81));
    /* a title of three words and a serial, for typeahead and search */
    int tlen = snprintf(title, sizeof(title), "%s %s %s %u", WORDS[below(rng, COUNT(WORDS))],
                        WORDS[below(rng, COUNT(WORDS))], WORDS[below(rng, COUNT(WORDS))], (unsigned)below(rng, 100000));
    for (int attempt = 0; attempt < 16; attempt++) {
        if (fixed_code != NULL)
            snprintf(code_out, LINK_CODE_MAX + 1, "%s", fixed_code);
        else
            make_code(rng, code_out, spec->code_len);
        int64_t created = now - (int64_t)below(rng, (uint64_t)SEED_DAYS * DAY_MS);
        int64_t id = id_next(now);
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, spec->team_id);
        sqlite3_bind_text(st, 3, code_out, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, url, (int)ulen, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, created);
        sqlite3_bind_int64(st, 6, created);
        sqlite3_bind_text(st, 7, title, tlen, SQLITE_STATIC);
        if (sqlite_exec_stmt(st) != 0)
            return -1;
        if (sqlite3_changes(db) == 1) {
            *id_out = id;
            return 0;
        }
        if (fixed_code != NULL)
            return 1; /* the code exists already */
    }
    return -1;
}

/* Splits total over n slots by weights w (sum W), exactly. */
static void split(int64_t total, const double *w, size_t n, int64_t *out)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += w[i];
    int64_t given = 0;
    for (size_t i = 0; i < n; i++) {
        out[i] = (int64_t)((double)total * w[i] / sum);
        given += out[i];
    }
    /* The remainder goes to parts that have weight: a zero weight stays 0. */
    for (size_t i = 0; given < total && sum > 0; i = (i + 1) % n)
        if (w[i] > 0)
            out[i]++, given++;
}

static int by_entry(const void *a, const void *b)
{
    return tally_entry_cmp(a, b);
}

struct dimvals {
    int dim;
    const char *const *names;
    size_t n;
};

static const char *const REFERRERS[] = {"t.co",
                                        "www.google.com",
                                        "www.facebook.com",
                                        "news.ycombinator.com",
                                        "www.reddit.com",
                                        "www.linkedin.com",
                                        "l.instagram.com",
                                        "duckduckgo.com",
                                        "mail.google.com",
                                        "www.bing.com",
                                        "lobste.rs",
                                        "slack.com"};
static const char *const COUNTRIES[] = {"US", "GB", "DE", "FR", "IN", "BR", "JP", "CA", "SE", "NL", "ES", "AU"};
static const char *const CITIES[] = {"New York", "London",  "Berlin",    "Paris",     "Mumbai", "São Paulo",
                                     "Tokyo",    "Toronto", "Stockholm", "Amsterdam", "Madrid", "Sydney"};
static const char *const BROWSERS[] = {"Chrome", "Mobile Safari", "Chrome Mobile",    "Firefox",
                                       "Edge",   "Safari",        "Samsung Internet", "Opera"};
static const char *const OSES[] = {"Windows", "iOS", "Android", "Mac OS X", "Linux", "Chrome OS"};
static const char *const DEVICES[] = {"desktop", "mobile", "tablet"};

static int seed_visits(sqlite3 *db, struct stmt_cache *sc, int64_t link_id, int64_t team_id, uint64_t visits,
                       int64_t now, uint64_t *rng, int64_t *bots_out)
{
    const struct dimvals dims[] = {
        {TALLY_REFERRER, REFERRERS, COUNT(REFERRERS)},
        {TALLY_COUNTRY, COUNTRIES, COUNT(COUNTRIES)},
        {TALLY_CITY, CITIES, COUNT(CITIES)},
        {TALLY_BROWSER, BROWSERS, COUNT(BROWSERS)},
        {TALLY_OS, OSES, COUNT(OSES)},
        {TALLY_DEVICE, DEVICES, COUNT(DEVICES)},
    };
    sqlite3_stmt *day =
        sqlite_stmt(sc, db, "INSERT INTO rollup_day (link_id, t, total, bots, uniques, tally) VALUES (?,?,?,?,?,?)");
    sqlite3_stmt *team =
        sqlite_stmt(sc, db,
                    "INSERT INTO rollup_team (team_id, t, total, bots, uniques) VALUES (?1,?2,?3,?4,?5)"
                    " ON CONFLICT (team_id, t) DO UPDATE SET total=total+excluded.total,"
                    " bots=bots+excluded.bots, uniques=uniques+excluded.uniques");
    static uint8_t blob[TALLY_BYTES_MAX];
    static const char hours[24] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                   12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23};
    if (day == NULL || team == NULL)
        return -1;
    int64_t first_day = (now - now % DAY_MS) - (int64_t)(SEED_DAYS - 1) * DAY_MS;
    /* Days grow towards today; hours follow a day-night curve. */
    double dayw[SEED_DAYS], hourw[24];
    for (int d = 0; d < SEED_DAYS; d++)
        dayw[d] = 1.0 + d / 30.0 + (double)below(rng, 100) / 200.0;
    for (int h = 0; h < 24; h++)
        hourw[h] = 0.3 + (h >= 8 && h <= 22 ? 1.0 : 0.0) + (h >= 12 && h <= 14 ? 0.4 : 0.0);
    int64_t per_day[SEED_DAYS];
    split((int64_t)visits, dayw, SEED_DAYS, per_day);
    int64_t bots_all = 0;
    for (int d = 0; d < SEED_DAYS; d++) {
        int64_t t_day = first_day + d * DAY_MS, per_hour[24], day_bots = 0, day_uniques = 0;
        struct tally_entry e[24 + 6 * 16];
        size_t n = 0;
        /* Today: only the hours up to the current one, so no rollup lies in
         * the future (hourly stats end at now and would miss it). */
        double todayw[24];
        memcpy(todayw, hourw, sizeof(todayw));
        for (int h = 0; d == SEED_DAYS - 1 && h < 24; h++)
            if (t_day + h * HOUR_MS > now)
                todayw[h] = 0;
        split(per_day[d], todayw, 24, per_hour);
        for (int h = 0; h < 24; h++) {
            int64_t total = per_hour[h], b = total / 12, u = total * 3 / 5;
            day_bots += b;
            day_uniques += u;
            if (total > 0)
                e[n++] = (struct tally_entry){TALLY_HOUR, 1, &hours[h], total, b, u};
            sqlite3_bind_int64(team, 1, team_id);
            sqlite3_bind_int64(team, 2, t_day + h * HOUR_MS);
            sqlite3_bind_int64(team, 3, total);
            sqlite3_bind_int64(team, 4, b);
            sqlite3_bind_int64(team, 5, u);
            if (total > 0 && sqlite_exec_stmt(team) != 0)
                return -1;
        }
        bots_all += day_bots;
        for (size_t k = 0; k < COUNT(dims); k++) {
            /* Zipf-like shares; bots spread in proportion (devices: their own value). */
            double w[16];
            int64_t part[16], people = per_day[d] - day_bots;
            for (size_t i = 0; i < dims[k].n; i++)
                w[i] = 1.0 / (double)(i + 1);
            bool device = dims[k].dim == TALLY_DEVICE;
            split(device ? people : per_day[d], w, dims[k].n, part);
            size_t from = n;
            for (size_t i = 0; i <= dims[k].n; i++) {
                if (i == dims[k].n && !device)
                    break;
                const char *name = i < dims[k].n ? dims[k].names[i] : "bot";
                int64_t total = i < dims[k].n ? part[i] : day_bots;
                int64_t b = device ? (i == dims[k].n ? day_bots : 0) : total * day_bots / (per_day[d] ? per_day[d] : 1);
                if (total > 0)
                    e[n++] = (struct tally_entry){(uint8_t)dims[k].dim, (uint8_t)strlen(name), name, total, b, 0};
            }
            qsort(e + from, n - from, sizeof(*e), by_entry);
        }
        long len = tally_encode(e, n, blob, sizeof(blob));
        if (len < 0)
            return -1;
        sqlite3_bind_int64(day, 1, link_id);
        sqlite3_bind_int64(day, 2, t_day);
        sqlite3_bind_int64(day, 3, per_day[d]);
        sqlite3_bind_int64(day, 4, day_bots);
        sqlite3_bind_int64(day, 5, day_uniques);
        sqlite3_bind_blob(day, 6, blob, (int)len, SQLITE_STATIC);
        if (sqlite_exec_stmt(day) != 0)
            return -1;
    }
    sqlite3_stmt *st = sqlite_stmt(sc, db, "UPDATE links SET visits_total=?, visits_bots=? WHERE id=?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, (int64_t)visits);
    sqlite3_bind_int64(st, 2, bots_all);
    sqlite3_bind_int64(st, 3, link_id);
    *bots_out = bots_all;
    return sqlite_exec_stmt(st);
}

int store_sqlite_seed(const char *dir, const struct store_seed *spec, struct store_seed_result *res, char *err,
                      size_t errcap)
{
    memset(res, 0, sizeof(*res));
    /* Creates the directory and database and applies the migrations. */
    struct store *s = store_sqlite_open(dir, STORE_VISIT_BACKLOG_MB, err, errcap);
    if (s == NULL)
        return -1;
    store_close(s);

    char path[4096];
    snprintf(path, sizeof(path), "%s/" SQLITE_DB_FILE, dir);
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK || sqlite_register_functions(db) != 0) {
        snprintf(err, errcap, "seed: cannot open %s", path);
        sqlite3_close(db);
        return -1;
    }
    struct stmt_cache sc = {0};
    sqlite3_busy_timeout(db, 5000);
    int rc = -1;
    /* temp_store: each INSERT OR IGNORE keeps a statement journal (the
     * triggers write other tables), as a temporary file ~21 writes a link */
    if (sqlite3_exec(
            db,
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA temp_store=MEMORY; PRAGMA cache_size=-65536;",
            NULL, NULL, NULL) != SQLITE_OK) {
        fail(db, err, errcap, "pragma");
        goto out;
    }
    sqlite3_stmt *ins = sqlite_stmt(&sc, db,
                                    "INSERT OR IGNORE INTO links (id, team_id, domain_id, code, url, created_at,"
                                    " updated_at, redirect_type, title, url_hash, host)"
                                    " VALUES (?1,?2,0,?3,?4,?5,?6,302,?7,lp_url_hash(?4),lp_url_host(?4))");
    if (ins == NULL) {
        fail(db, err, errcap, "prepare");
        goto out;
    }
    uint64_t rng = spec->seed ? spec->seed : 1;
    int64_t now = clock_wall_ms();
    char code[LINK_CODE_MAX + 1];
    int64_t id;
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        fail(db, err, errcap, "begin");
        goto out;
    }
    for (uint64_t i = 0; i < spec->links; i++) {
        if (insert_link(db, ins, spec, &rng, now, NULL, code, &id) != 0) {
            fail(db, err, errcap, "insert link");
            goto out;
        }
        res->links++;
        if (spec->codes_out != NULL)
            fprintf((FILE *)spec->codes_out, "%s\n", code);
        if ((i + 1) % SEED_TXN_ROWS == 0 &&
            (sqlite_fts_drain(&sc, db) != 0 || sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK ||
             sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)) {
            fail(db, err, errcap, "commit");
            goto out;
        }
    }
    if (spec->visits_code != NULL) {
        int r = insert_link(db, ins, spec, &rng, now, spec->visits_code, code, &id);
        if (r == 1) {
            snprintf(err, errcap, "seed: code %s exists already", spec->visits_code);
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            goto out;
        }
        if (r != 0 || seed_visits(db, &sc, id, spec->team_id, spec->visits, now, &rng, &res->bots) != 0) {
            fail(db, err, errcap, "insert visits");
            goto out;
        }
        res->visits = spec->visits;
    }
    if (sqlite_fts_drain(&sc, db) != 0 || sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        fail(db, err, errcap, "commit");
        goto out;
    }
    sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
    rc = 0;
out:
    sqlite_stmt_cache_free(&sc);
    sqlite3_close(db);
    return rc;
}
