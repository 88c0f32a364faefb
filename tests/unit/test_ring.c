/* Unit tests for src/events/ring: order, capacity rounding, refusal when
 * full (the newest record is the one dropped), wraparound, partial pops,
 * argument limits, and a producer and a consumer thread racing over
 * 5,000,000 records, once spinning when full and once dropping. The
 * concurrent tests are also meant to be run under ThreadSanitizer (see the
 * note at the end). */
#include <criterion/criterion.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "events/ring.h"

struct rec {
    uint64_t seq;
    uint64_t check; /* derived from seq: a torn or stale copy shows */
    uint32_t pad;
};

static uint64_t check_of(uint64_t seq)
{
    return (seq * 0x9e3779b97f4a7c15u) ^ 0x5bd1e995u;
}

static struct rec mk(uint64_t seq)
{
    struct rec r;
    memset(&r, 0, sizeof(r)); /* padding too: records are compared whole */
    r.seq = seq;
    r.check = check_of(seq);
    r.pad = (uint32_t)seq;
    return r;
}

static void expect_rec(const struct rec *r, uint64_t seq)
{
    cr_assert_eq(r->seq, seq, "got %llu, want %llu", (unsigned long long)r->seq, (unsigned long long)seq);
    cr_assert_eq(r->check, check_of(seq));
    cr_assert_eq(r->pad, (uint32_t)seq);
}

Test(ring, push_pop_order)
{
    struct ring *r = ring_new(8, sizeof(struct rec));
    cr_assert_not_null(r);
    cr_expect_eq(ring_size_approx(r), 0);
    for (uint64_t i = 0; i < 5; i++) {
        struct rec x = mk(i);
        cr_assert(ring_push(r, &x));
    }
    cr_expect_eq(ring_size_approx(r), 5);
    struct rec out[8];
    cr_assert_eq(ring_pop_many(r, out, 8), 5);
    for (uint64_t i = 0; i < 5; i++)
        expect_rec(&out[i], i);
    cr_expect_eq(ring_size_approx(r), 0);
    cr_expect_eq(ring_pop_many(r, out, 8), 0);
    ring_free(r);
}

Test(ring, capacity_rounds_up_to_power_of_two)
{
    static const struct {
        size_t ask, cap;
    } rows[] = {{1, 1}, {2, 2}, {3, 4}, {5, 8}, {8, 8}, {9, 16}, {1000, 1024}, {RING_CAPACITY_MAX, RING_CAPACITY_MAX}};
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct ring *r = ring_new(rows[i].ask, 1);
        cr_assert_not_null(r, "capacity %zu", rows[i].ask);
        cr_expect_eq(ring_capacity(r), rows[i].cap, "capacity %zu", rows[i].ask);
        ring_free(r);
    }
    /* And the rounded capacity is what a push can really fill. */
    struct ring *r = ring_new(5, sizeof(struct rec));
    cr_assert_not_null(r);
    for (uint64_t i = 0; i < 8; i++) {
        struct rec x = mk(i);
        cr_assert(ring_push(r, &x), "push %llu", (unsigned long long)i);
    }
    struct rec x = mk(8);
    cr_expect_not(ring_push(r, &x));
    ring_free(r);
}

Test(ring, full_ring_refuses_newest)
{
    struct ring *r = ring_new(4, sizeof(struct rec));
    cr_assert_not_null(r);
    for (uint64_t i = 0; i < 4; i++) {
        struct rec x = mk(i);
        cr_assert(ring_push(r, &x));
    }
    for (uint64_t i = 100; i < 110; i++) {
        struct rec x = mk(i);
        cr_expect_not(ring_push(r, &x), "push %llu into a full ring", (unsigned long long)i);
    }
    cr_expect_eq(ring_size_approx(r), 4);
    /* The refused pushes changed nothing: the oldest four are intact. */
    struct rec out[4];
    cr_assert_eq(ring_pop_many(r, out, 1), 1);
    expect_rec(&out[0], 0);
    /* One slot free again: exactly one push fits. */
    struct rec x = mk(4);
    cr_expect(ring_push(r, &x));
    x = mk(5);
    cr_expect_not(ring_push(r, &x));
    cr_assert_eq(ring_pop_many(r, out, 4), 4);
    for (uint64_t i = 0; i < 4; i++)
        expect_rec(&out[i], i + 1);
    ring_free(r);
}

Test(ring, pop_many_partial)
{
    struct ring *r = ring_new(16, sizeof(struct rec));
    cr_assert_not_null(r);
    for (uint64_t i = 0; i < 10; i++) {
        struct rec x = mk(i);
        cr_assert(ring_push(r, &x));
    }
    struct rec out[16];
    cr_assert_eq(ring_pop_many(r, out, 3), 3);
    for (uint64_t i = 0; i < 3; i++)
        expect_rec(&out[i], i);
    cr_expect_eq(ring_size_approx(r), 7);
    cr_assert_eq(ring_pop_many(r, out, 0), 0);
    cr_assert_eq(ring_pop_many(r, NULL, 0), 0);
    cr_assert_eq(ring_pop_many(r, out, 4), 4);
    for (uint64_t i = 0; i < 4; i++)
        expect_rec(&out[i], i + 3);
    /* Fewer queued than asked for: returns what there is. */
    cr_assert_eq(ring_pop_many(r, out, 16), 3);
    for (uint64_t i = 0; i < 3; i++)
        expect_rec(&out[i], i + 7);
    cr_assert_eq(ring_pop_many(r, out, 16), 0);
    ring_free(r);
}

/* Pushes of 1..8 records and pops of 1..8, in a pattern that does not
 * repeat with the capacity, so head and tail sit at every offset, and pops
 * run across the end of the slots, thousands of times over. */
Test(ring, wraparound_many_times)
{
    struct ring *r = ring_new(8, sizeof(struct rec));
    cr_assert_not_null(r);
    uint64_t next_in = 0, next_out = 0;
    struct rec out[8];
    for (unsigned round = 0; round < 20000; round++) {
        unsigned want_push = 1 + (round * 7) % 8;
        for (unsigned k = 0; k < want_push; k++) {
            struct rec x = mk(next_in);
            bool ok = ring_push(r, &x);
            cr_assert_eq(ok, next_in - next_out < 8, "round %u", round);
            if (ok)
                next_in++;
        }
        cr_assert_eq(ring_size_approx(r), next_in - next_out);
        size_t n = ring_pop_many(r, out, 1 + (round * 5) % 8);
        for (size_t k = 0; k < n; k++)
            expect_rec(&out[k], next_out++);
    }
    size_t n;
    while ((n = ring_pop_many(r, out, 8)) > 0)
        for (size_t k = 0; k < n; k++)
            expect_rec(&out[k], next_out++);
    cr_expect_eq(next_out, next_in);
    cr_expect_geq(next_in / 8, 5000, "laps of the ring: %llu", (unsigned long long)(next_in / 8));
    ring_free(r);
}

/* Odd record sizes: slots are not aligned, only copied. */
Test(ring, odd_record_size)
{
    struct ring *r = ring_new(4, 3);
    cr_assert_not_null(r);
    char out[4 * 3];
    for (int round = 0; round < 100; round++) {
        cr_assert(ring_push(r, "abc"));
        cr_assert(ring_push(r, "def"));
        cr_assert_eq(ring_pop_many(r, out, 4), 2);
        cr_assert_eq(memcmp(out, "abcdef", 6), 0);
    }
    ring_free(r);
}

Test(ring, new_refuses_bad_sizes)
{
    cr_expect_null(ring_new(0, 8));
    cr_expect_null(ring_new(8, 0));
    cr_expect_null(ring_new(RING_CAPACITY_MAX + 1, 1));
    cr_expect_null(ring_new(SIZE_MAX, 1));
    cr_expect_null(ring_new(2, SIZE_MAX));          /* cap * size overflows */
    cr_expect_null(ring_new(1024, SIZE_MAX / 512)); /* likewise */
    cr_expect_null(ring_new(2, RING_BYTES_MAX / 2 + 1));
    struct ring *r = ring_new(1, 4096);
    cr_expect_not_null(r);
    ring_free(r);
    ring_free(NULL);
}

/* ---- One producer, one consumer --------------------------------------- */

#define CONC_RECORDS 5000000u
#define CONC_CAPACITY 1024
#define CONC_POP_MAX 300

struct conc {
    struct ring *ring;
    bool drop; /* producer drops when full instead of spinning */
    atomic_bool done;
    atomic_bool dropped_once;
    uint64_t pushed_ok, full_seen;               /* producer's */
    uint64_t popped, bad_order, bad_check, last; /* consumer's */
    uint8_t *pushed, *seen;                      /* per sequence number: pushed OK, popped (count) */
};

static void *producer(void *arg)
{
    struct conc *c = arg;
    for (uint64_t seq = 0; seq < CONC_RECORDS; seq++) {
        struct rec x = mk(seq);
        while (!ring_push(c->ring, &x)) {
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
        c->pushed[seq] = 1;
        c->pushed_ok++;
    next:;
    }
    atomic_store_explicit(&c->done, true, memory_order_release);
    return NULL;
}

static void *consumer(void *arg)
{
    struct conc *c = arg;
    struct rec *buf = malloc(CONC_POP_MAX * sizeof(*buf));
    if (buf == NULL)
        return (void *)1;
    /* In drop mode, let the ring fill so the drop path surely runs. */
    while (c->drop && !atomic_load_explicit(&c->dropped_once, memory_order_relaxed) &&
           !atomic_load_explicit(&c->done, memory_order_acquire))
        sched_yield();
    bool first = true;
    for (size_t round = 0;; round++) {
        bool done = atomic_load_explicit(&c->done, memory_order_acquire);
        size_t n = ring_pop_many(c->ring, buf, 1 + round % CONC_POP_MAX);
        if (n == 0) {
            if (done) /* done was set after the last push, so that pop saw everything */
                break;
            sched_yield();
            continue;
        }
        for (size_t k = 0; k < n; k++) {
            uint64_t s = buf[k].seq;
            if (buf[k].check != check_of(s) || buf[k].pad != (uint32_t)s || s >= CONC_RECORDS) {
                c->bad_check++;
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
    }
    free(buf);
    return NULL;
}

static void run_concurrent(bool drop)
{
    struct conc c = {.drop = drop};
    atomic_init(&c.done, false);
    atomic_init(&c.dropped_once, false);
    c.ring = ring_new(CONC_CAPACITY, sizeof(struct rec));
    c.pushed = calloc(CONC_RECORDS, 1);
    c.seen = calloc(CONC_RECORDS, 1);
    cr_assert(c.ring != NULL && c.pushed != NULL && c.seen != NULL);
    pthread_t p, q;
    cr_assert_eq(pthread_create(&q, NULL, consumer, &c), 0);
    cr_assert_eq(pthread_create(&p, NULL, producer, &c), 0);
    void *qres;
    pthread_join(p, NULL);
    pthread_join(q, &qres);
    cr_assert_null(qres);

    cr_expect_eq(c.bad_check, 0, "torn or foreign records: %llu", (unsigned long long)c.bad_check);
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
