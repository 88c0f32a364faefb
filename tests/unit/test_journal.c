/* journal: the visit journal of the SQLite store (store/journal.h): the
 * record codec (round trip, refusals), and the segment files: what is
 * synced is what the consumer reads, a torn tail is cut at open, the
 * consumer resumes at the position it released, wholly read segments are
 * deleted, the backlog cap refuses appends, and appends go on during a
 * sync on another thread. */
#include "store/journal.h"
#include "util/crc32c.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sched.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static struct store_visit full_visit(int64_t ts)
{
    struct store_visit v;
    memset(&v, 0, sizeof(v));
    v.ts = ts;
    v.link_id = 1234567890123LL;
    v.team_id = 7;
    v.domain_id = 3;
    v.kind = VISIT_REDIRECT;
    v.bot = true;
    v.detail = true;
    v.has_unique = true;
    memset(v.unique, 0xab, sizeof(v.unique));
    v.browser_major = 120;
    /* every text field at its longest */
    memset(v.ip, 'i', sizeof(v.ip) - 1);
    strcpy(v.country, "GB");
    memset(v.city, 'c', sizeof(v.city) - 1);
    memset(v.referrer_host, 'h', sizeof(v.referrer_host) - 1);
    memset(v.referrer, 'r', sizeof(v.referrer) - 1);
    strcpy(v.browser, "Chrome");
    strcpy(v.os, "Windows");
    strcpy(v.device, "desktop");
    strcpy(v.language, "en-gb");
    for (int u = 0; u < 5; u++)
        memset(v.utm[u], 'a' + u, sizeof(v.utm[u]) - 1);
    memset(v.visited_url, 'v', sizeof(v.visited_url) - 1);
    memset(v.target_url, 't', sizeof(v.target_url) - 1);
    return v;
}

static void assert_same(const struct store_visit *a, const struct store_visit *b)
{
    cr_assert_eq(memcmp(a, b, sizeof(*a)), 0, "the visit survives the round trip byte for byte");
}

static int decode_record(const uint8_t *rec, size_t len, struct store_visit *out)
{
    size_t off = 0;
    const uint8_t *body;
    size_t blen;
    if (journal_next(rec, len, &off, &body, &blen) != 1)
        return -2;
    return journal_decode(body, blen, out);
}

Test(journal, codec_round_trip)
{
    uint8_t rec[JOURNAL_RECORD_MAX];
    struct store_visit v = full_visit(1767225600123LL), got;
    size_t n = journal_encode(&v, rec);
    cr_assert_leq(n, JOURNAL_RECORD_MAX);
    cr_assert_eq(decode_record(rec, n, &got), 0);
    assert_same(&v, &got);

    /* counts only: no unique, no text */
    struct store_visit c;
    memset(&c, 0, sizeof(c));
    c.ts = 5;
    c.link_id = 9;
    c.kind = VISIT_BASE_URL;
    c.browser_major = -1;
    n = journal_encode(&c, rec);
    cr_assert_lt(n, 64, "a counts-only visit is small");
    cr_assert_eq(decode_record(rec, n, &got), 0);
    assert_same(&c, &got);
}

Test(journal, corrupt_records_are_found)
{
    uint8_t rec[JOURNAL_RECORD_MAX];
    struct store_visit v = full_visit(1), got;
    size_t n = journal_encode(&v, rec);
    size_t off = 0;
    const uint8_t *body;
    size_t blen;
    cr_assert_eq(journal_next(rec, n - 1, &off, &body, &blen), 0, "a record cut short is not whole yet");
    rec[n / 2] ^= 1;
    cr_assert_eq(journal_next(rec, n, &off, &body, &blen), -1, "a flipped bit fails the CRC");
    uint8_t zero[16] = {0};
    cr_assert_eq(journal_next(zero, sizeof(zero), &off, &body, &blen), -1, "a zero length is no record");
    uint8_t huge[8] = {0xff, 0xff, 0, 0};
    cr_assert_eq(journal_next(huge, sizeof(huge), &off, &body, &blen), -1, "longer than a record can be");
    (void)got;
}

/* journal_view reads the record in place: the same values as the decoder,
 * texts pointing into the body. */
Test(journal, view_reads_in_place)
{
    uint8_t rec[JOURNAL_RECORD_MAX];
    struct store_visit v = full_visit(1767225600123LL);
    size_t n = journal_encode(&v, rec);
    struct journal_view jv;
    cr_assert_eq(journal_view(rec + 8, n - 8, &jv), 0);
    cr_assert(jv.ts == v.ts && jv.link_id == v.link_id && jv.team_id == v.team_id && jv.domain_id == v.domain_id);
    cr_assert(jv.kind == v.kind && jv.bot && jv.detail && jv.has_unique && jv.browser_major == 120);
    cr_assert(jv.unique > rec && jv.unique < rec + n && memcmp(jv.unique, v.unique, 16) == 0);
    const char *want[JOURNAL_TEXTS] = {v.ip,     v.country, v.city,        v.referrer_host, v.referrer, v.browser,
                                       v.os,     v.device,  v.language,    v.utm[0],        v.utm[1],   v.utm[2],
                                       v.utm[3], v.utm[4],  v.visited_url, v.target_url};
    for (int t = 0; t < JOURNAL_TEXTS; t++) {
        cr_assert_eq(jv.text[t].len, strlen(want[t]), "text %d", t);
        cr_assert(memcmp(jv.text[t].s, want[t], jv.text[t].len) == 0, "text %d", t);
        cr_assert((const uint8_t *)jv.text[t].s > rec && (const uint8_t *)jv.text[t].s < rec + n, "text %d in place",
                  t);
    }
    struct store_visit c;
    memset(&c, 0, sizeof(c));
    c.ts = 5;
    c.kind = VISIT_BASE_URL;
    c.browser_major = -1;
    n = journal_encode(&c, rec);
    cr_assert_eq(journal_view(rec + 8, n - 8, &jv), 0);
    cr_assert(!jv.detail && !jv.has_unique && jv.unique == NULL && jv.browser_major == -1);
    for (int t = 0; t < JOURNAL_TEXTS; t++)
        cr_assert(jv.text[t].len == 0 && jv.text[t].s[0] == '\0', "a counts-only record has empty texts");
    rec[n - 1] ^= 0xff;
    cr_assert_eq(journal_view(rec + 8, n - 9, &jv), -1, "cut short");
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Records of version 1 (before CRC-32C) carry zlib's CRC-32 and are still
 * read; the version byte picks the check, so flipping it fails the check. */
Test(journal, version_1_records_are_read)
{
    uint8_t rec[JOURNAL_RECORD_MAX];
    struct store_visit v = full_visit(1767225600123LL), got;
    size_t n = journal_encode(&v, rec);
    cr_assert_eq(rec[8], 2, "new records are version 2");
    size_t off = 0;
    const uint8_t *body;
    size_t blen;
    cr_assert_eq(journal_step(rec, n, &off, &body, &blen), 1);
    cr_assert_eq(off, n);
    cr_assert_eq(crc32c(0, body, blen), (uint32_t)(rec[4] | rec[5] << 8 | rec[6] << 16 | (uint32_t)rec[7] << 24),
                 "version 2 is checked by CRC-32C");

    rec[8] = 1;
    cr_assert_eq(decode_record(rec, n, &got), -2, "version 1 with a CRC-32C fails its check");
    put_le32(rec + 4, (uint32_t)crc32(0L, rec + 8, (uInt)(n - 8)));
    cr_assert_eq(decode_record(rec, n, &got), 0, "version 1 with zlib's CRC-32 is read");
    assert_same(&v, &got);
    rec[8] = 2;
    cr_assert_eq(decode_record(rec, n, &got), -2, "the same bytes as version 2 fail");
}

/* journal_step frames without checking: for bytes journal_read checked. */
Test(journal, step_frames_without_the_check)
{
    uint8_t rec[JOURNAL_RECORD_MAX];
    struct store_visit v = full_visit(1);
    size_t n = journal_encode(&v, rec);
    rec[n / 2] ^= 1;
    size_t off = 0;
    const uint8_t *body;
    size_t blen;
    cr_assert_eq(journal_step(rec, n - 1, &off, &body, &blen), 0, "a record cut short is not whole yet");
    cr_assert_eq(journal_step(rec, n, &off, &body, &blen), 1);
    cr_assert(body == rec + 8 && blen == n - 8 && off == n);
    uint8_t zero[16] = {0};
    off = 0;
    cr_assert_eq(journal_step(zero, sizeof(zero), &off, &body, &blen), -1, "a zero length is no record");
}

struct body_case {
    const char *why;
    void (*edit)(uint8_t *body, size_t *len);
};

static void bad_version(uint8_t *b, size_t *len)
{
    (void)len;
    b[0] = 3;
}
static void bad_kind(uint8_t *b, size_t *len)
{
    (void)len;
    b[33] = 4;
}
static void bad_flags(uint8_t *b, size_t *len)
{
    (void)len;
    b[34] |= 8;
}
static void cut(uint8_t *b, size_t *len)
{
    (void)b;
    *len -= 1;
}
static void trailing(uint8_t *b, size_t *len)
{
    b[(*len)++] = 0;
}
static void long_country(uint8_t *b, size_t *len)
{
    /* ip (47 bytes) comes first after the fixed part and the unique hash */
    size_t at = 1 + 32 + 4 + 16 + 2 + 47;
    (void)len;
    b[at] = 3; /* country holds 2 */
}
static void nul_in_text(uint8_t *b, size_t *len)
{
    (void)len;
    b[1 + 32 + 4 + 16 + 2 + 5] = 0;
}

static const struct body_case body_cases[] = {
    {"version", bad_version},       {"kind", bad_kind},
    {"flags", bad_flags},           {"cut short", cut},
    {"trailing byte", trailing},    {"text too long", long_country},
    {"NUL in a text", nul_in_text},
};

Test(journal, decode_refuses_bad_bodies)
{
    struct store_visit v = full_visit(1), got;
    uint8_t rec[JOURNAL_RECORD_MAX + 16];
    for (size_t i = 0; i < sizeof(body_cases) / sizeof(body_cases[0]); i++) {
        size_t n = journal_encode(&v, rec) - 8;
        body_cases[i].edit(rec + 8, &n);
        cr_expect_eq(journal_decode(rec + 8, n, &got), -1, "%s", body_cases[i].why);
    }
}

/* ---- files ---- */

static char dir[64];

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/lp-journal-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

static struct journal *open_at(struct journal_pos at, uint64_t cap)
{
    char err[256];
    struct journal *j = journal_open(dir, at, cap, err, sizeof(err));
    cr_assert_not_null(j, "%s", err);
    return j;
}

/* Reads everything durable after *pos, checking the timestamps count up
 * from *next_ts; returns the records read and advances both. */
static size_t read_all(struct journal *j, struct journal_pos *pos, int64_t *next_ts)
{
    static uint8_t buf[1 << 20];
    size_t got = 0;
    for (;;) {
        struct journal_pos next;
        long n = journal_read(j, *pos, buf, sizeof(buf), &next);
        cr_assert_geq(n, 0);
        if (n == 0 && next.seg == pos->seg && next.off == pos->off)
            return got;
        size_t off = 0;
        const uint8_t *body;
        size_t blen;
        while (journal_next(buf, (size_t)n, &off, &body, &blen) == 1) {
            struct store_visit v;
            cr_assert_eq(journal_decode(body, blen, &v), 0);
            cr_assert_eq(v.ts, (*next_ts)++);
            got++;
        }
        *pos = next;
    }
}

static size_t segments(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0;
    while ((e = readdir(d)) != NULL)
        n += strncmp(e->d_name, "visits-", 7) == 0;
    closedir(d);
    return n;
}

TestSuite(journal_files, .init = setup, .fini = teardown);

Test(journal_files, only_synced_records_are_read_and_a_restart_resumes)
{
    struct journal *j = open_at((struct journal_pos){0, 0}, 1 << 30);
    struct journal_pos pos = {0, 0};
    int64_t ts = 0;
    for (int i = 0; i < 10; i++) {
        struct store_visit v = full_visit(i);
        cr_assert_eq(journal_append(j, &v), 0);
    }
    cr_assert_eq(read_all(j, &pos, &ts), 0, "nothing before the sync");
    cr_assert_not(journal_has_after(j, pos));
    cr_assert_eq(journal_sync(j), 0);
    cr_assert(journal_has_after(j, pos));
    cr_assert_eq(read_all(j, &pos, &ts), 10);
    /* The consumer releases 4 of them only (as if its transaction held 4). */
    struct journal_pos four = {1, 0};
    {
        static uint8_t buf[1 << 16];
        struct journal_pos next;
        long n = journal_read(j, (struct journal_pos){0, 0}, buf, sizeof(buf), &next);
        size_t off = 0;
        const uint8_t *body;
        size_t blen;
        for (int i = 0; i < 4; i++)
            cr_assert_eq(journal_next(buf, (size_t)n, &off, &body, &blen), 1);
        four = (struct journal_pos){next.seg, off};
    }
    journal_release(j, four, 4);
    struct journal_counts c;
    journal_counts(j, &c);
    cr_assert_eq(c.appended, 10);
    cr_assert_eq(c.durable, 10);
    cr_assert_eq(c.backlog, 6);
    journal_close(j);

    /* Restart at the released position: the other 6 are read again, once. */
    j = open_at(four, 1 << 30);
    journal_counts(j, &c);
    cr_assert_eq(c.backlog, 6);
    pos = four;
    ts = 4;
    cr_assert_eq(read_all(j, &pos, &ts), 6);
    for (int i = 10; i < 13; i++) {
        struct store_visit v = full_visit(i);
        cr_assert_eq(journal_append(j, &v), 0);
    }
    cr_assert_eq(journal_sync(j), 0);
    cr_assert_eq(read_all(j, &pos, &ts), 3, "then the new segment");
    journal_release(j, pos, 9);
    cr_assert_eq(segments(), 1, "the segment read to its end was deleted");
    journal_counts(j, &c);
    cr_assert_eq(c.backlog, 0);
    cr_assert_eq(c.backlog_bytes, 0);
    journal_close(j);
}

Test(journal_files, a_torn_tail_is_cut_at_open)
{
    struct journal *j = open_at((struct journal_pos){0, 0}, 1 << 30);
    for (int i = 0; i < 5; i++) {
        struct store_visit v = full_visit(i);
        cr_assert_eq(journal_append(j, &v), 0);
    }
    cr_assert_eq(journal_sync(j), 0);
    journal_close(j);
    /* A crash in the middle of the next write: half a record follows. */
    char path[128];
    snprintf(path, sizeof(path), "%s/visits-00000000000000000001.journal", dir);
    uint8_t rec[JOURNAL_RECORD_MAX];
    struct store_visit v = full_visit(99);
    size_t n = journal_encode(&v, rec);
    int fd = open(path, O_WRONLY | O_APPEND);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, rec, n / 2), (ssize_t)(n / 2));
    close(fd);

    j = open_at((struct journal_pos){0, 0}, 1 << 30);
    struct journal_pos pos = {0, 0};
    int64_t ts = 0;
    cr_assert_eq(read_all(j, &pos, &ts), 5, "the whole records, and not the torn one");
    struct journal_counts c;
    journal_counts(j, &c);
    cr_assert_eq(c.backlog, 5);
    journal_close(j);
}

Test(journal_files, the_backlog_cap_refuses_appends)
{
    struct journal *j = open_at((struct journal_pos){0, 0}, 64 * 1024);
    struct store_visit v = full_visit(0);
    int taken = 0, rc;
    while ((rc = journal_append(j, &v)) == 0)
        v.ts = ++taken;
    cr_assert_eq(rc, JOURNAL_FULL);
    cr_assert_gt(taken, 30);
    cr_assert_lt(taken, 64 * 1024 / 1000);
    cr_assert_eq(journal_sync(j), 0);
    struct journal_pos pos = {0, 0};
    int64_t ts = 0;
    cr_assert_eq(read_all(j, &pos, &ts), (size_t)taken);
    journal_release(j, pos, (uint64_t)taken);
    cr_assert_eq(journal_append(j, &v), 0, "room again once the consumer caught up");
    struct journal_counts c;
    journal_counts(j, &c);
    cr_assert_eq(c.backlog, 1);
    journal_close(j);
}

Test(journal_files, segments_roll_over_and_are_read_in_order, .timeout = 60)
{
    struct journal *j = open_at((struct journal_pos){0, 0}, (uint64_t)1 << 30);
    /* A little more than one segment of the largest records. */
    int total = (int)(JOURNAL_SEGMENT_BYTES / 1400) + 500;
    for (int i = 0; i < total; i++) {
        struct store_visit v = full_visit(i);
        cr_assert_eq(journal_append(j, &v), 0);
        if (i % 1000 == 999)
            cr_assert_eq(journal_sync(j), 0);
    }
    cr_assert_eq(journal_sync(j), 0);
    cr_assert_eq(segments(), 2);
    struct journal_pos pos = {0, 0};
    int64_t ts = 0;
    cr_assert_eq(read_all(j, &pos, &ts), (size_t)total);
    journal_release(j, pos, (uint64_t)total);
    cr_assert_eq(segments(), 1);
    journal_close(j);
}

/* The appender makes no system call: what it takes waits in memory until a
 * sync writes it; with every buffer waiting it refuses, and a sync makes
 * room again. */
Test(journal_files, appends_wait_in_buffers_for_the_syncer, .timeout = 60)
{
    struct journal *j = open_at((struct journal_pos){0, 0}, (uint64_t)1 << 30);
    char path[128];
    snprintf(path, sizeof(path), "%s/visits-00000000000000000001.journal", dir);
    int taken = 0, rc;
    for (;;) {
        struct store_visit v = full_visit(taken);
        if ((rc = journal_append(j, &v)) != 0)
            break;
        taken++;
    }
    cr_assert_eq(rc, JOURNAL_FULL);
    cr_assert_gt(taken, 40000, "64 buffers of a megabyte hold ~47,000 of these records: %d", taken);
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0);
    cr_assert_eq(sb.st_size, 0, "nothing written before a sync");
    cr_assert_eq(journal_sync(j), 0);
    struct journal_pos pos = {0, 0};
    int64_t ts = 0;
    cr_assert_eq(read_all(j, &pos, &ts), (size_t)taken, "every record taken, in order");
    struct store_visit v = full_visit(taken);
    cr_assert_eq(journal_append(j, &v), 0, "room again after the sync");
    journal_close(j);
}

struct appender {
    struct journal *j;
    int total;
    atomic_bool done;
    atomic_int failures; /* asserted on the test's thread */
};

static void *append_all(void *arg)
{
    struct appender *a = arg;
    for (int i = 0; i < a->total; i++) {
        struct store_visit v = full_visit(i);
        int rc;
        while ((rc = journal_append(a->j, &v)) == JOURNAL_FULL)
            sched_yield(); /* every buffer waits for the syncer: offer it again */
        if (rc != 0) {
            atomic_fetch_add(&a->failures, 1);
            break;
        }
    }
    atomic_store(&a->done, true);
    return NULL;
}

static void *sync_until_done(void *arg)
{
    struct appender *a = arg;
    while (!atomic_load(&a->done))
        if (journal_sync(a->j) != 0)
            atomic_fetch_add(&a->failures, 1);
    return NULL;
}

/* The sink appends on one thread while its syncer syncs on another: a
 * sync never loses or reorders what is appended meanwhile, across a
 * segment roll-over, and the consumer reads along as records turn durable. */
Test(journal_files, appends_go_on_during_a_sync, .timeout = 60)
{
    struct journal *j = open_at((struct journal_pos){0, 0}, (uint64_t)1 << 30);
    struct appender a = {.j = j, .total = (int)(JOURNAL_SEGMENT_BYTES / 1400) + 2000};
    pthread_t at, st;
    cr_assert_eq(pthread_create(&at, NULL, append_all, &a), 0);
    cr_assert_eq(pthread_create(&st, NULL, sync_until_done, &a), 0);
    struct journal_pos pos = {0, 0};
    int64_t ts = 0;
    size_t got = 0;
    while (!atomic_load(&a.done))
        got += read_all(j, &pos, &ts);
    pthread_join(at, NULL);
    pthread_join(st, NULL);
    cr_assert_eq(atomic_load(&a.failures), 0);
    /* The roll-over may come with this sync; a few more records then land
     * in the new segment either way, so reading them leaves the first. */
    cr_assert_eq(journal_sync(j), 0);
    for (int i = a.total; i < a.total + 10; i++) {
        struct store_visit v = full_visit(i);
        cr_assert_eq(journal_append(j, &v), 0);
    }
    a.total += 10;
    cr_assert_eq(journal_sync(j), 0);
    got += read_all(j, &pos, &ts);
    cr_assert_eq(got, (size_t)a.total);
    struct journal_counts c;
    journal_counts(j, &c);
    cr_assert_eq(c.appended, (uint64_t)a.total);
    cr_assert_eq(c.durable, (uint64_t)a.total);
    cr_assert_eq(segments(), 2);
    journal_release(j, pos, (uint64_t)a.total);
    cr_assert_eq(segments(), 1);
    journal_close(j);
}
