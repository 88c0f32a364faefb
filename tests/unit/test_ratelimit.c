/* Unit tests for src/auth/ratelimit: the bucket arithmetic (exact refill,
 * rounding of the header values), the clock edge cases, bounded memory with
 * LRU eviction, and concurrent takes that must add up exactly. */
#include <criterion/criterion.h>

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "auth/ratelimit.h"

#define SEED 0x1234abcd5678ef01ULL

static void setup(void)
{
    cr_assert_geq(sodium_init(), 0);
}

TestSuite(ratelimit, .init = setup);

/* Keys look like the real ones: a scope, then a 16-byte address. */
static size_t make_key(unsigned char out[RATELIMIT_KEY_MAX], const char *scope, uint32_t n)
{
    size_t sl = strlen(scope);
    memcpy(out, scope, sl);
    memset(out + sl, 0, 16);
    out[sl + 10] = out[sl + 11] = 0xff;
    memcpy(out + sl + 12, &n, sizeof(n));
    return sl + 16;
}

static struct ratelimit_result take(struct ratelimiter *rl, const char *key, uint32_t cap, uint32_t rate, uint64_t now)
{
    struct ratelimit_result r;
    memset(&r, 0xa5, sizeof(r));
    cr_assert_eq(ratelimit_take(rl, key, strlen(key), cap, rate, now, &r), 0);
    return r;
}

Test(ratelimit, bad_arguments)
{
    cr_expect_null(ratelimit_memory_new(0, SEED));
    cr_expect_null(ratelimit_memory_new((size_t)RATELIMIT_KEYS_MAX + 1, SEED));
    ratelimit_free(NULL);

    struct ratelimiter *rl = ratelimit_memory_new(100, SEED);
    cr_assert_not_null(rl);
    struct ratelimit_result r;
    unsigned char big[RATELIMIT_KEY_MAX + 1] = {0};
    cr_expect_eq(ratelimit_take(rl, "k", 0, 5, 5, 0, &r), -EINVAL);
    cr_expect_eq(ratelimit_take(rl, NULL, 1, 5, 5, 0, &r), -EINVAL);
    cr_expect_eq(ratelimit_take(rl, "k", 1, 0, 5, 0, &r), -EINVAL);
    cr_expect_eq(ratelimit_take(rl, "k", 1, 5, 5, 0, NULL), -EINVAL);
    cr_expect_eq(ratelimit_take(rl, big, sizeof(big), 5, 5, 0, &r), -E2BIG);
    cr_expect_eq(ratelimit_take(rl, big, RATELIMIT_KEY_MAX, 5, 5, 0, &r), 0);
    cr_expect_eq(ratelimit_memory_tracked(rl), 1);
    ratelimit_free(rl);
}

Test(ratelimit, starts_full_then_refuses)
{
    struct ratelimiter *rl = ratelimit_memory_new(100, SEED);
    cr_assert_not_null(rl);
    for (uint32_t i = 0; i < 5; i++) {
        struct ratelimit_result r = take(rl, "login:a", 5, 60, 1000);
        cr_expect(r.allowed, "take %u", i);
        cr_expect_eq(r.remaining, 4 - i);
        cr_expect_eq(r.retry_after_s, 0);
    }
    struct ratelimit_result r = take(rl, "login:a", 5, 60, 1000);
    cr_expect_not(r.allowed);
    cr_expect_eq(r.remaining, 0);
    cr_expect_geq(r.retry_after_s, 1);
    cr_expect_eq(r.limit, 5);
    ratelimit_free(rl);
}

Test(ratelimit, refill_after_one_minute)
{
    /* 10 per minute: one token every 6 s, all ten back after a minute. */
    struct ratelimiter *rl = ratelimit_memory_new(100, SEED);
    for (int i = 0; i < 10; i++)
        cr_expect(take(rl, "k", 10, 10, 0).allowed);
    cr_expect_not(take(rl, "k", 10, 10, 5999).allowed);
    cr_expect(take(rl, "k", 10, 10, 6000).allowed);
    cr_expect_not(take(rl, "k", 10, 10, 6000).allowed);
    for (int i = 0; i < 10; i++)
        cr_expect(take(rl, "k", 10, 10, 66000).allowed, "take %d", i);
    cr_expect_not(take(rl, "k", 10, 10, 66000).allowed);
    ratelimit_free(rl);
}

Test(ratelimit, partial_refill_is_exact)
{
    /* 20 per minute: one token every 3000 ms. */
    struct ratelimiter *rl = ratelimit_memory_new(100, SEED);
    for (int i = 0; i < 3; i++)
        cr_expect(take(rl, "k", 3, 20, 10000).allowed);
    cr_expect_not(take(rl, "k", 3, 20, 10000).allowed);
    cr_expect_not(take(rl, "k", 3, 20, 12999).allowed);
    struct ratelimit_result r = take(rl, "k", 3, 20, 13000);
    cr_expect(r.allowed);
    cr_expect_eq(r.remaining, 0);
    cr_expect_not(take(rl, "k", 3, 20, 15999).allowed);
    cr_expect(take(rl, "k", 3, 20, 16000).allowed);

    /* Polling every millisecond loses nothing to rounding. */
    for (uint64_t t = 16001; t < 19000; t++)
        cr_expect_not(take(rl, "k", 3, 20, t).allowed, "t %lu", (unsigned long)t);
    cr_expect(take(rl, "k", 3, 20, 19000).allowed);

    /* A rate that does not divide a minute: 7/min is 8571.43 ms a token. */
    cr_expect(take(rl, "seven", 1, 7, 0).allowed);
    cr_expect_not(take(rl, "seven", 1, 7, 8571).allowed);
    cr_expect(take(rl, "seven", 1, 7, 8572).allowed);
    ratelimit_free(rl);
}

Test(ratelimit, burst)
{
    struct ratelimiter *rl = ratelimit_memory_new(100, SEED);
    int allowed = 0;
    for (int i = 0; i < 150; i++)
        allowed += take(rl, "api:key", 100, 6000, 5000).allowed;
    cr_expect_eq(allowed, 100);
    /* 6000/min is 100/s: 10 ms gives one more. */
    cr_expect(take(rl, "api:key", 100, 6000, 5010).allowed);
    cr_expect_not(take(rl, "api:key", 100, 6000, 5010).allowed);
    ratelimit_free(rl);
}

Test(ratelimit, clock_backwards_adds_nothing)
{
    struct ratelimiter *rl = ratelimit_memory_new(100, SEED);
    for (int i = 0; i < 2; i++)
        cr_expect(take(rl, "k", 2, 60, 100000).allowed);
    cr_expect_not(take(rl, "k", 2, 60, 100000).allowed);
    cr_expect_not(take(rl, "k", 2, 60, 0).allowed);
    cr_expect_not(take(rl, "k", 2, 60, 50000).allowed);
    /* The bucket's clock stayed at 100000: going back then forward again
     * must not count the same interval twice. */
    cr_expect_not(take(rl, "k", 2, 60, 100999).allowed);
    struct ratelimit_result r = take(rl, "k", 2, 60, 101000);
    cr_expect(r.allowed);
    cr_expect_eq(r.remaining, 0);
    cr_expect_not(take(rl, "k", 2, 60, 101000).allowed);

    /* From the top of the clock to zero. */
    cr_expect(take(rl, "top", 1, 60, UINT64_MAX).allowed);
    r = take(rl, "top", 1, 60, 0);
    cr_expect_not(r.allowed);
    cr_expect_eq(r.remaining, 0);
    cr_expect_eq(r.retry_after_s, 1);
    ratelimit_free(rl);
}

Test(ratelimit, huge_jump_fills_without_overflow)
{
    struct ratelimiter *rl = ratelimit_memory_new(100, SEED);
    for (int i = 0; i < 5; i++)
        cr_expect(take(rl, "k", 5, 1, 0).allowed);
    struct ratelimit_result r = take(rl, "k", 5, 1, UINT64_MAX);
    cr_expect(r.allowed);
    cr_expect_eq(r.remaining, 4);

    /* Largest capacity and rate: still exact. */
    for (int i = 0; i < 3; i++) {
        r = take(rl, "max", UINT32_MAX, UINT32_MAX, (uint64_t)i * (UINT64_MAX / 3));
        cr_expect(r.allowed);
        cr_expect_eq(r.limit, UINT32_MAX);
        cr_expect_eq(r.remaining, UINT32_MAX - 1);
        cr_expect_eq(r.reset_s, 1); /* one token at 71582788 per ms */
    }
    ratelimit_free(rl);
}

Test(ratelimit, capacity_change_clamps)
{
    struct ratelimiter *rl = ratelimit_memory_new(100, SEED);
    cr_expect_eq(take(rl, "k", 10, 60, 0).remaining, 9);
    cr_expect_eq(take(rl, "k", 3, 60, 0).remaining, 2);
    cr_expect_eq(take(rl, "k", 10, 60, 0).remaining, 1); /* a raise does not hand out tokens */
    cr_expect_eq(take(rl, "k", 10, 60, 8000).remaining, 8);
    ratelimit_free(rl);
}

Test(ratelimit, keys_are_independent)
{
    struct ratelimiter *rl = ratelimit_memory_new(1000, SEED);
    cr_expect(take(rl, "login:a", 1, 1, 0).allowed);
    cr_expect_not(take(rl, "login:a", 1, 1, 0).allowed);
    cr_expect(take(rl, "login:b", 1, 1, 0).allowed);
    cr_expect(take(rl, "signup:a", 1, 1, 0).allowed);
    /* A prefix of a key is another key. */
    cr_expect(take(rl, "login:", 1, 1, 0).allowed);
    cr_expect(take(rl, "login:aa", 1, 1, 0).allowed);
    /* Binary keys with NULs. */
    unsigned char k1[RATELIMIT_KEY_MAX], k2[RATELIMIT_KEY_MAX];
    size_t l1 = make_key(k1, "miss:", 1), l2 = make_key(k2, "miss:", 2);
    struct ratelimit_result r;
    cr_expect_eq(ratelimit_take(rl, k1, l1, 1, 1, 0, &r), 0);
    cr_expect(r.allowed);
    cr_expect_eq(ratelimit_take(rl, k1, l1, 1, 1, 0, &r), 0);
    cr_expect_not(r.allowed);
    cr_expect_eq(ratelimit_take(rl, k2, l2, 1, 1, 0, &r), 0);
    cr_expect(r.allowed);
    cr_expect_eq(ratelimit_memory_tracked(rl), 7);
    ratelimit_free(rl);
}

Test(ratelimit, memory_is_bounded)
{
    static const size_t sizes[] = {1, 7, 63, 64, 100, 1000, 4096, 5000};
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        size_t max = sizes[s];
        struct ratelimiter *rl = ratelimit_memory_new(max, SEED + s);
        cr_assert_not_null(rl);
        unsigned char k[RATELIMIT_KEY_MAX];
        for (uint32_t i = 0; i < 10 * max; i++) {
            struct ratelimit_result r;
            cr_assert_eq(ratelimit_take(rl, k, make_key(k, "miss:", i), 5, 5, i, &r), 0);
            cr_expect(r.allowed);
            cr_assert_leq(ratelimit_memory_tracked(rl), max, "max_keys %zu after %u keys", max, i + 1);
        }
        /* Every slot gets used before anything is evicted. */
        cr_expect_eq(ratelimit_memory_tracked(rl), max, "max_keys %zu", max);
        ratelimit_free(rl);
    }
}

Test(ratelimit, eviction_is_lru_and_evicted_bucket_is_full)
{
    /* 64 keys is one shard (shards hold at least 64), so LRU is exact. */
    struct ratelimiter *rl = ratelimit_memory_new(64, SEED);
    unsigned char k[RATELIMIT_KEY_MAX];
    struct ratelimit_result r;
    for (uint32_t i = 0; i < 64; i++) {
        cr_assert_eq(ratelimit_take(rl, k, make_key(k, "auth:", i), 2, 0, i, &r), 0);
        cr_expect_eq(r.remaining, 1);
    }
    /* Touch key 0, so key 1 is now the least recently used. */
    cr_assert_eq(ratelimit_take(rl, k, make_key(k, "auth:", 0), 2, 0, 100, &r), 0);
    cr_expect_eq(r.remaining, 0);
    cr_assert_eq(ratelimit_take(rl, k, make_key(k, "auth:", 64), 2, 0, 101, &r), 0);
    cr_expect_eq(ratelimit_memory_tracked(rl), 64);
    /* Key 0 kept its spent bucket; key 1 was dropped and starts full. */
    cr_assert_eq(ratelimit_take(rl, k, make_key(k, "auth:", 0), 2, 0, 102, &r), 0);
    cr_expect_not(r.allowed);
    cr_assert_eq(ratelimit_take(rl, k, make_key(k, "auth:", 1), 2, 0, 103, &r), 0);
    cr_expect(r.allowed);
    cr_expect_eq(r.remaining, 1);
    ratelimit_free(rl);
}

Test(ratelimit, header_values)
{
    /* capacity 5, 60/min (a token a second): allowed, remaining, reset_s,
     * retry_after_s after each call. */
    static const struct {
        uint64_t now;
        bool allowed;
        uint32_t remaining, reset_s, retry_after_s;
    } rows[] = {
        {0, true, 4, 1, 0},    {0, true, 3, 2, 0},    {0, true, 2, 3, 0},     {0, true, 1, 4, 0},
        {0, true, 0, 5, 0},    {0, false, 0, 5, 1},   {500, false, 0, 5, 1},  {999, false, 0, 5, 1},
        {1000, true, 0, 5, 0}, {3500, true, 1, 4, 0}, {3500, true, 0, 5, 0},  {3500, false, 0, 5, 1},
        {4001, true, 0, 5, 0}, {6001, true, 1, 4, 0}, {60000, true, 4, 1, 0},
    };
    struct ratelimiter *rl = ratelimit_memory_new(100, SEED);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct ratelimit_result r = take(rl, "k", 5, 60, rows[i].now);
        cr_expect_eq(r.allowed, rows[i].allowed, "row %zu", i);
        cr_expect_eq(r.limit, 5, "row %zu", i);
        cr_expect_eq(r.remaining, rows[i].remaining, "row %zu", i);
        cr_expect_eq(r.reset_s, rows[i].reset_s, "row %zu: reset_s %u", i, r.reset_s);
        cr_expect_eq(r.retry_after_s, rows[i].retry_after_s, "row %zu: retry %u", i, r.retry_after_s);
    }

    /* 7/min: a token is 8571.43 ms, so 9 s to wait, rounded up. */
    cr_expect(take(rl, "seven", 1, 7, 0).allowed);
    struct ratelimit_result r = take(rl, "seven", 1, 7, 0);
    cr_expect_not(r.allowed);
    cr_expect_eq(r.reset_s, 9);
    cr_expect_eq(r.retry_after_s, 9);
    r = take(rl, "seven", 1, 7, 8000);
    cr_expect_eq(r.retry_after_s, 1);

    /* No refill: the wait is "never". */
    r = take(rl, "none", 2, 0, 0);
    cr_expect(r.allowed);
    cr_expect_eq(r.reset_s, UINT32_MAX);
    take(rl, "none", 2, 0, 0);
    r = take(rl, "none", 2, 0, 1000000);
    cr_expect_not(r.allowed);
    cr_expect_eq(r.retry_after_s, UINT32_MAX);

    /* A full bucket after a take at a high rate: well under a second. */
    r = take(rl, "fast", 10, 600000, 0);
    cr_expect_eq(r.reset_s, 1);
    ratelimit_free(rl);
}

/* Another implementation behind the same interface. */
struct fake_limiter {
    struct ratelimiter base;
    int calls;
};

static int fake_take(struct ratelimiter *rl, const void *key, size_t klen, uint32_t capacity,
                     uint32_t refill_per_minute, uint64_t now_ms, struct ratelimit_result *out)
{
    (void)key, (void)klen, (void)capacity, (void)refill_per_minute, (void)now_ms, (void)out;
    ((struct fake_limiter *)rl)->calls++;
    return -EIO;
}

static void fake_free(struct ratelimiter *rl)
{
    ((struct fake_limiter *)rl)->calls = -1;
}

Test(ratelimit, interface_dispatch)
{
    static const struct ratelimiter_ops ops = {.take = fake_take, .free = fake_free};
    struct fake_limiter f = {.base = {.ops = &ops}};
    struct ratelimit_result r;
    cr_expect_eq(ratelimit_take(&f.base, "k", 1, 1, 1, 0, &r), -EIO);
    cr_expect_eq(f.calls, 1);
    cr_expect_eq(ratelimit_memory_tracked(&f.base), 0);
    ratelimit_free(&f.base);
    cr_expect_eq(f.calls, -1);
}

/* ---- concurrency ---- */

#define THREADS 4

struct hammer {
    struct ratelimiter *rl;
    int id;
    int allowed;
    int errors;
};

static void *hammer_one_key(void *arg)
{
    struct hammer *h = arg;
    for (int i = 0; i < 1000; i++) {
        struct ratelimit_result r;
        if (ratelimit_take(h->rl, "api:shared", 10, 1000, 0, (uint64_t)i, &r) != 0)
            h->errors++;
        else
            h->allowed += r.allowed;
    }
    return NULL;
}

Test(ratelimit, threads_share_one_key_exactly)
{
    struct ratelimiter *rl = ratelimit_memory_new(1000, SEED);
    pthread_t t[THREADS];
    struct hammer h[THREADS];
    for (int i = 0; i < THREADS; i++) {
        h[i] = (struct hammer){.rl = rl, .id = i};
        cr_assert_eq(pthread_create(&t[i], NULL, hammer_one_key, &h[i]), 0);
    }
    int total = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        cr_expect_eq(h[i].errors, 0);
        total += h[i].allowed;
    }
    cr_expect_eq(total, 1000);
    ratelimit_free(rl);
}

#define KEYS_PER_THREAD 200

static void *hammer_own_keys(void *arg)
{
    struct hammer *h = arg;
    unsigned char k[RATELIMIT_KEY_MAX];
    for (int round = 0; round < 30; round++) {
        for (uint32_t i = 0; i < KEYS_PER_THREAD; i++) {
            struct ratelimit_result r;
            size_t kl = make_key(k, "api:", (uint32_t)h->id * KEYS_PER_THREAD + i);
            if (ratelimit_take(h->rl, k, kl, 20, 0, (uint64_t)round, &r) != 0)
                h->errors++;
            else
                h->allowed += r.allowed;
        }
    }
    return NULL;
}

Test(ratelimit, threads_on_distinct_keys)
{
    struct ratelimiter *rl = ratelimit_memory_new(THREADS * KEYS_PER_THREAD * 4, SEED);
    pthread_t t[THREADS];
    struct hammer h[THREADS];
    for (int i = 0; i < THREADS; i++) {
        h[i] = (struct hammer){.rl = rl, .id = i};
        cr_assert_eq(pthread_create(&t[i], NULL, hammer_own_keys, &h[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        cr_expect_eq(h[i].errors, 0);
        cr_expect_eq(h[i].allowed, 20 * KEYS_PER_THREAD, "thread %d", i);
    }
    cr_expect_eq(ratelimit_memory_tracked(rl), THREADS * KEYS_PER_THREAD);
    ratelimit_free(rl);
}

/* More keys than slots from every thread: eviction under contention. */
Test(ratelimit, threads_evicting)
{
    struct ratelimiter *rl = ratelimit_memory_new(THREADS * KEYS_PER_THREAD / 4, SEED);
    pthread_t t[THREADS];
    struct hammer h[THREADS];
    for (int i = 0; i < THREADS; i++) {
        h[i] = (struct hammer){.rl = rl, .id = i};
        cr_assert_eq(pthread_create(&t[i], NULL, hammer_own_keys, &h[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        cr_expect_eq(h[i].errors, 0);
        /* Evicted buckets come back full: never fewer than without eviction. */
        cr_expect_geq(h[i].allowed, 20 * KEYS_PER_THREAD, "thread %d", i);
    }
    cr_expect_leq(ratelimit_memory_tracked(rl), THREADS * KEYS_PER_THREAD / 4);
    ratelimit_free(rl);
}
