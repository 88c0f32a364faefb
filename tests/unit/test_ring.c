/* Unit tests for src/events/ring: order and contents of records of many
 * lengths, size rounding, refusal when full (the newest record is the one
 * dropped, the ring unchanged), records placed at the start instead of
 * wrapping, the longest record at every offset, peek/release and
 * reserve/commit corner cases, argument limits, and a producer and a
 * consumer thread racing over 5,000,000 records of 8 to 200 bytes, once
 * spinning when full and once dropping. The concurrent tests are also
 * meant to be run under ThreadSanitizer (see the note at the end). */
#include <criterion/criterion.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "events/ring.h"

/* Bytes a record of len bytes takes: its header and len rounded up to 8. */
static size_t footprint(size_t len)
{
    return 8 + ((len + 7) & ~(size_t)7);
}

/* A record's length and bytes follow from its sequence number, so a torn,
 * stale or misplaced copy shows. */
static size_t len_of(uint64_t seq, size_t max)
{
    return 1 + (size_t)((seq * 0x9e3779b97f4a7c15u) >> 40) % max;
}

static unsigned char byte_of(uint64_t seq, size_t i)
{
    return (unsigned char)(seq * 31 + i * 7 + (seq >> 8));
}

static bool push(struct ring *r, uint64_t seq, size_t len)
{
    unsigned char *p = ring_reserve(r, len);
    if (p == NULL)
        return false;
    cr_assert_eq((uintptr_t)p % 8, 0, "records are 8-byte aligned");
    for (size_t i = 0; i < len; i++)
        p[i] = byte_of(seq, i);
    ring_commit(r);
    return true;
}

static bool matches(const unsigned char *p, size_t len, uint64_t seq, size_t want_len)
{
    if (len != want_len)
        return false;
    for (size_t i = 0; i < len; i++)
        if (p[i] != byte_of(seq, i))
            return false;
    return true;
}

static void expect_pop(struct ring *r, uint64_t seq, size_t want_len)
{
    size_t len = 0;
    const unsigned char *p = ring_peek(r, &len);
    cr_assert_not_null(p, "record %llu is there", (unsigned long long)seq);
    cr_assert(matches(p, len, seq, want_len), "record %llu: length %zu, want %zu, or other bytes",
              (unsigned long long)seq, len, want_len);
    ring_release(r);
}

Test(ring, order_and_contents)
{
    struct ring *r = ring_new(4096);
    cr_assert_not_null(r);
    cr_expect_eq(ring_size_approx(r), 0);
    size_t used = 0;
    for (uint64_t seq = 0; seq < 20; seq++) {
        cr_assert(push(r, seq, len_of(seq, 100)));
        used += footprint(len_of(seq, 100));
    }
    cr_expect_eq(ring_size_approx(r), used);
    for (uint64_t seq = 0; seq < 20; seq++)
        expect_pop(r, seq, len_of(seq, 100));
    cr_expect_eq(ring_size_approx(r), 0);
    size_t len;
    cr_expect_null(ring_peek(r, &len));
    ring_free(r);
}

Test(ring, size_rounding)
{
    static const struct {
        size_t ask, cap;
    } rows[] = {{64, 64}, {65, 128}, {100, 128}, {1024, 1024}, {1025, 2048}, {RING_BYTES_MAX, RING_BYTES_MAX}};
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct ring *r = ring_new(rows[i].ask);
        cr_assert_not_null(r, "ask %zu", rows[i].ask);
        cr_expect_eq(ring_capacity(r), rows[i].cap, "capacity for %zu", rows[i].ask);
        cr_expect_eq(ring_record_max(r), rows[i].cap / 2 - 8);
        ring_free(r);
    }
}

Test(ring, limits)
{
    cr_expect_null(ring_new(0));
    cr_expect_null(ring_new(RING_BYTES_MIN - 1));
    cr_expect_null(ring_new(RING_BYTES_MAX + 1));
    cr_expect_null(ring_new(SIZE_MAX));
    struct ring *r = ring_new(256);
    cr_assert_not_null(r);
    cr_expect_null(ring_reserve(r, 0));
    cr_expect_null(ring_reserve(r, ring_record_max(r) + 1));
    cr_expect_null(ring_reserve(r, SIZE_MAX));
    ring_commit(r); /* after a refusal: publishes nothing */
    cr_expect_eq(ring_size_approx(r), 0);
    size_t len;
    cr_expect_null(ring_peek(r, &len));
    ring_release(r); /* after an empty peek: nothing */
    cr_expect_eq(ring_size_approx(r), 0);
    ring_free(r);
    ring_free(NULL);
}

Test(ring, full_drops_the_newest)
{
    struct ring *r = ring_new(256);
    cr_assert_not_null(r);
    uint64_t seq = 0;
    while (push(r, seq, 20)) /* 32 bytes each: 8 fit */
        seq++;
    cr_expect_eq(seq, 8);
    cr_expect_eq(ring_size_approx(r), 256);
    for (int i = 0; i < 3; i++)
        cr_expect_null(ring_reserve(r, 1), "a full ring refuses even one byte");
    ring_commit(r);
    cr_expect_eq(ring_size_approx(r), 256, "the refusals changed nothing");
    expect_pop(r, 0, 20);
    cr_expect_null(ring_reserve(r, 25), "32 bytes free, 40 asked");
    cr_assert(push(r, 8, 24), "32 bytes free, 32 asked");
    for (uint64_t k = 1; k <= 8; k++)
        expect_pop(r, k, k == 8 ? 24 : 20);
    cr_expect_eq(ring_size_approx(r), 0);
    ring_free(r);
}

Test(ring, record_placed_at_start_instead_of_wrapping)
{
    struct ring *r = ring_new(128);
    cr_assert_not_null(r);
    cr_assert(push(r, 1, 40)); /* [0, 48) */
    cr_assert(push(r, 2, 40)); /* [48, 96) */
    cr_expect_null(ring_reserve(r, 40), "48 wanted: 32 free at the end, none at the start");
    expect_pop(r, 1, 40);
    /* 32 bytes left at the end, 48 needed: skipped, and the record goes to
     * offset 0, where the first one was. */
    cr_assert(push(r, 3, 40));
    cr_expect_eq(ring_size_approx(r), 48 + 32 + 48);
    cr_expect_null(ring_reserve(r, 1));
    expect_pop(r, 2, 40);
    cr_expect_eq(ring_size_approx(r), 32 + 48, "the skipped end is freed with the record after it");
    expect_pop(r, 3, 40);
    cr_expect_eq(ring_size_approx(r), 0);
    size_t len;
    cr_expect_null(ring_peek(r, &len));
    ring_free(r);
}

/* Whatever offset the last record ended at, an empty ring takes the
 * longest record. Fillers of random lengths bring the end to each offset
 * of a 512-byte ring in turn: every multiple of 8 but 8 itself, which no
 * record can end at (a record takes at least 16 bytes and never crosses
 * the end). */
Test(ring, longest_record_at_every_offset)
{
    struct ring *r = ring_new(512);
    cr_assert_not_null(r);
    size_t max = ring_record_max(r);
    unsigned char *base = (unsigned char *)ring_reserve(r, 1) - 8; /* a fresh ring's first record is at 0 */
    bool tried[512 / 8] = {false};
    size_t ntried = 0;
    for (uint64_t seq = 0; seq < 5000 && ntried < 512 / 8 - 1; seq++) {
        size_t len = len_of(seq, 60);
        unsigned char *p = ring_reserve(r, len);
        cr_assert_not_null(p);
        for (size_t i = 0; i < len; i++)
            p[i] = byte_of(seq, i);
        ring_commit(r);
        expect_pop(r, seq, len);
        size_t end = ((size_t)(p - base) - 8 + footprint(len)) % 512;
        if (!tried[end / 8]) {
            tried[end / 8] = true;
            ntried++;
            cr_assert(push(r, 100000 + end, max), "the longest record after an end at %zu", end);
            expect_pop(r, 100000 + end, max);
        }
    }
    cr_expect_eq(ntried, 512 / 8 - 1, "every offset came: %zu of 63", ntried);
    cr_expect_not(tried[1]);
    ring_free(r);
}

Test(ring, peek_again_and_second_reserve)
{
    struct ring *r = ring_new(256);
    cr_assert_not_null(r);
    cr_assert_not_null(ring_reserve(r, 50));
    size_t len;
    cr_expect_null(ring_peek(r, &len), "reserved is not committed");
    cr_assert(push(r, 7, 10)); /* replaces the reservation */
    const unsigned char *a = ring_peek(r, &len);
    const unsigned char *b = ring_peek(r, &len);
    cr_assert(a != NULL && a == b, "the same record until released");
    cr_expect(matches(b, len, 7, 10));
    cr_expect_eq(ring_size_approx(r), footprint(10));
    ring_release(r);
    ring_release(r); /* a second release frees nothing more */
    cr_expect_eq(ring_size_approx(r), 0);
    cr_expect_null(ring_peek(r, &len));
    ring_free(r);
}

/* Random lengths through a small ring, checked against a model. */
Test(ring, interleaved_against_model)
{
    struct ring *r = ring_new(1024);
    cr_assert_not_null(r);
    uint64_t next_in = 0, next_out = 0;
    size_t used = 0;
    for (int round = 0; round < 20000; round++) {
        int pushes = round % 7;
        for (int k = 0; k < pushes; k++) {
            size_t len = len_of(next_in, 120);
            bool ok = push(r, next_in, len);
            if (!ok)
                break;
            used += footprint(len);
            next_in++;
        }
        int pops = (round * 5) % 6;
        for (int k = 0; k < pops && next_out < next_in; k++) {
            size_t len = len_of(next_out, 120);
            expect_pop(r, next_out, len);
            used -= footprint(len);
            next_out++;
        }
        if (next_out == next_in)
            used = 0; /* skipped ends are freed with the record after them */
        cr_assert_geq(ring_size_approx(r), used);
        cr_assert_leq(ring_size_approx(r), used + 128, "at most one skipped end beyond the records");
    }
    while (next_out < next_in) {
        expect_pop(r, next_out, len_of(next_out, 120));
        next_out++;
    }
    cr_expect_gt(next_in, 10000);
    ring_free(r);
}

/* ---- One producer, one consumer --------------------------------------- */

#define CONC_RECORDS 5000000u
#define CONC_BYTES 4096
#define CONC_LEN_MAX 200 /* lengths 8..200: every record carries its number */

struct conc {
    struct ring *ring;
    bool drop; /* producer drops when full instead of spinning */
    atomic_bool done;
    atomic_bool dropped_once;
    uint64_t pushed_ok, full_seen;         /* producer's */
    uint64_t popped, bad, bad_order, last; /* consumer's */
    uint8_t *pushed, *seen;                /* per sequence number: pushed OK, popped (count) */
};

static size_t conc_len(uint64_t seq)
{
    return 7 + len_of(seq, CONC_LEN_MAX - 7);
}

static void *producer(void *arg)
{
    struct conc *c = arg;
    for (uint64_t seq = 0; seq < CONC_RECORDS; seq++) {
        size_t len = conc_len(seq);
        unsigned char *p;
        while ((p = ring_reserve(c->ring, len)) == NULL) {
            c->full_seen++;
            if (c->drop) {
                atomic_store_explicit(&c->dropped_once, true, memory_order_relaxed);
                goto next;
            }
            /* Spinning: give the consumer the CPU when there are fewer
             * cores than threads (CI machines, TSan). */
            if (c->full_seen % 64 == 0)
                sched_yield();
        }
        memcpy(p, &seq, sizeof(seq));
        for (size_t i = sizeof(seq); i < len; i++)
            p[i] = byte_of(seq, i);
        ring_commit(c->ring);
        c->pushed[seq] = 1;
        c->pushed_ok++;
    next:;
    }
    atomic_store_explicit(&c->done, true, memory_order_release);
    return NULL;
}

/* The sequence number a record carries in its first 8 bytes, if the rest
 * of it is that number's. */
static bool decode(const unsigned char *p, size_t len, uint64_t *seq)
{
    uint64_t s;
    if (len < sizeof(s))
        return false;
    memcpy(&s, p, sizeof(s));
    if (s >= CONC_RECORDS || len != conc_len(s))
        return false;
    for (size_t i = sizeof(s); i < len; i++)
        if (p[i] != byte_of(s, i))
            return false;
    *seq = s;
    return true;
}

static void *consumer(void *arg)
{
    struct conc *c = arg;
    /* In drop mode, let the ring fill so the drop path surely runs. */
    while (c->drop && !atomic_load_explicit(&c->dropped_once, memory_order_relaxed) &&
           !atomic_load_explicit(&c->done, memory_order_acquire))
        sched_yield();
    bool first = true;
    for (;;) {
        bool done = atomic_load_explicit(&c->done, memory_order_acquire);
        size_t len;
        const unsigned char *p = ring_peek(c->ring, &len);
        if (p == NULL) {
            if (done) /* done was set after the last commit, so that peek saw everything */
                break;
            sched_yield();
            continue;
        }
        uint64_t s;
        bool ok = decode(p, len, &s);
        ring_release(c->ring);
        if (!ok) {
            c->bad++;
            continue;
        }
        if (!first && s <= c->last)
            c->bad_order++;
        first = false;
        c->last = s;
        if (c->seen[s] < 255)
            c->seen[s]++;
        c->popped++;
    }
    return NULL;
}

static void run_concurrent(bool drop)
{
    struct conc c = {.drop = drop};
    atomic_init(&c.done, false);
    atomic_init(&c.dropped_once, false);
    c.ring = ring_new(CONC_BYTES);
    c.pushed = calloc(CONC_RECORDS, 1);
    c.seen = calloc(CONC_RECORDS, 1);
    cr_assert(c.ring != NULL && c.pushed != NULL && c.seen != NULL);
    pthread_t p, q;
    cr_assert_eq(pthread_create(&q, NULL, consumer, &c), 0);
    cr_assert_eq(pthread_create(&p, NULL, producer, &c), 0);
    pthread_join(p, NULL);
    pthread_join(q, NULL);

    cr_expect_eq(c.bad, 0, "torn or foreign records: %llu", (unsigned long long)c.bad);
    cr_expect_eq(c.bad_order, 0, "out of order: %llu", (unsigned long long)c.bad_order);
    cr_expect_eq(c.pushed_ok, c.popped, "pushed %llu, popped %llu", (unsigned long long)c.pushed_ok,
                 (unsigned long long)c.popped);
    uint64_t lost = 0, dup = 0, ghost = 0;
    for (uint64_t s = 0; s < CONC_RECORDS; s++) {
        if (c.pushed[s] && c.seen[s] == 0)
            lost++;
        else if (c.seen[s] > 1)
            dup++;
        else if (!c.pushed[s] && c.seen[s] != 0)
            ghost++;
    }
    cr_expect_eq(lost, 0, "lost %llu", (unsigned long long)lost);
    cr_expect_eq(dup, 0, "duplicated %llu", (unsigned long long)dup);
    cr_expect_eq(ghost, 0, "popped but never pushed %llu", (unsigned long long)ghost);
    if (drop) {
        cr_expect_gt(c.full_seen, 0, "the drop path ran");
        cr_expect_eq(c.pushed_ok + c.full_seen, CONC_RECORDS);
    } else {
        cr_expect_eq(c.pushed_ok, CONC_RECORDS);
    }
    cr_expect_eq(ring_size_approx(c.ring), 0);
    cr_log_info("%s: pushed %llu, full %llu times", drop ? "drop" : "spin", (unsigned long long)c.pushed_ok,
                (unsigned long long)c.full_seen);
    free(c.pushed);
    free(c.seen);
    ring_free(c.ring);
}

Test(ring, concurrent_spin_when_full, .timeout = 120)
{
    run_concurrent(false);
}

Test(ring, concurrent_drop_when_full, .timeout = 120)
{
    run_concurrent(true);
}

/* ThreadSanitizer: Criterion 2.4's runner does not start under TSan
 * ("Could not initialize inheritable arena"). To run these tests under it,
 * compile a file that defines CRITERION_H_, maps Test(s, n, ...) to
 * `static void s##_##n(void)` and the cr_* macros to plain checks, includes
 * this file and calls the tests from main(), with -fsanitize=thread and
 * src/events/ring.c. It reports a race at once if the acquire/release pairs
 * in ring.c are weakened to relaxed. */
