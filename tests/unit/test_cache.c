/* Unit tests for src/cache: lookups, TTLs, eviction, the generation check
 * against lost invalidations, and a concurrent run whose readers check every
 * value they get. */
#include <criterion/criterion.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cache/cache.h"

#define SEED 0x5eedf00dcafe1234ULL
#define TTL 1000
#define NEG_TTL 100

/* Keys look like the real ones: an 8-byte domain id, then the code. */
static size_t make_key(unsigned char *out, uint64_t domain, unsigned n)
{
    memcpy(out, &domain, sizeof(domain));
    int len = snprintf((char *)out + 8, CACHE_KEY_MAX - 8, "c%06u", n);
    return 8 + (size_t)len;
}

static size_t key_charge(size_t klen, size_t vlen)
{
    return klen + vlen + CACHE_ENTRY_OVERHEAD;
}

Test(cache, siphash_reference_vectors)
{
    /* From the SipHash paper (key 00..0f, message 00..len-1); the others
     * were checked against libsodium's crypto_shorthash. */
    static const struct {
        size_t len;
        uint64_t want;
    } vec[] = {
        {0, 0x726fdb47dd0e0e31ULL},  {7, 0xab0200f58b01d137ULL},  {8, 0x93f5f5799a932462ULL},
        {15, 0xa129ca6149be45e5ULL}, {63, 0x958a324ceb064572ULL},
    };
    unsigned char msg[64];
    for (unsigned i = 0; i < sizeof(msg); i++)
        msg[i] = (unsigned char)i;
    for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++)
        cr_expect_eq(cache_siphash24(0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL, msg, vec[i].len), vec[i].want,
                     "len %zu", vec[i].len);
    /* The seed matters. */
    cr_expect_neq(cache_siphash24(1, 2, msg, 16), cache_siphash24(1, 3, msg, 16));
}

Test(cache, new_rejects_bad_args)
{
    cr_expect_null(cache_new(0, TTL, NEG_TTL, SEED));
    cr_expect_null(cache_new(1 << 20, 0, NEG_TTL, SEED));
    struct cache *c = cache_new(1000, TTL, NEG_TTL, SEED); /* tiny still works */
    cr_assert_not_null(c);
    cr_expect_eq(cache_entry_limit(c), 1000 / 8);
    unsigned char k[CACHE_KEY_MAX];
    size_t kl = make_key(k, 1, 1);
    cr_expect_eq(cache_put(c, k, kl, "ab", 2, 0, 0), 0);
    cache_free(c);
}

Test(cache, hit_miss_negative)
{
    struct cache *c = cache_new(64 * 1024, TTL, NEG_TTL, SEED);
    cr_assert_not_null(c);
    unsigned char k1[CACHE_KEY_MAX], k2[CACHE_KEY_MAX], k3[CACHE_KEY_MAX];
    size_t l1 = make_key(k1, 7, 1), l2 = make_key(k2, 7, 2), l3 = make_key(k3, 8, 1);
    char buf[256];
    size_t vlen = 99;
    uint64_t gen = 99;

    cr_expect_eq(cache_get(c, k1, l1, 0, buf, sizeof(buf), &vlen, &gen), CACHE_MISS);
    cr_expect_eq(vlen, 0);
    cr_expect_eq(cache_put(c, k1, l1, "https://example.com/", 20, gen, 0), 0);
    cr_expect_eq(cache_get(c, k1, l1, 1, buf, sizeof(buf), &vlen, &gen), CACHE_HIT);
    cr_expect_eq(vlen, 20);
    cr_expect_arr_eq(buf, "https://example.com/", 20);

    cr_expect_eq(cache_get(c, k2, l2, 1, buf, sizeof(buf), &vlen, &gen), CACHE_MISS);
    cr_expect_eq(cache_put(c, k2, l2, NULL, 0, gen, 1), 0);
    vlen = 99;
    cr_expect_eq(cache_get(c, k2, l2, 2, buf, sizeof(buf), &vlen, NULL), CACHE_NEGATIVE);
    cr_expect_eq(vlen, 0);

    /* Same code, other domain: another key. */
    cr_expect_eq(cache_get(c, k3, l3, 2, buf, sizeof(buf), NULL, NULL), CACHE_MISS);

    /* A present but empty value is a hit, not a negative. */
    cr_expect_eq(cache_put(c, k3, l3, "", 0, 0, 2), 0);
    cr_expect_eq(cache_get(c, k3, l3, 2, NULL, 0, &vlen, NULL), CACHE_HIT);
    cr_expect_eq(vlen, 0);

    struct cache_stats st;
    cache_stats(c, &st);
    cr_expect_eq(st.entries, 3);
    cr_expect_eq(st.bytes, key_charge(l1, 20) + key_charge(l2, 0) + key_charge(l3, 0));
    cr_expect_eq(st.max_bytes, 64 * 1024);
    cr_expect_eq(cache_check(c), 0);
    cache_free(c);
}

Test(cache, replace)
{
    struct cache *c = cache_new(64 * 1024, TTL, NEG_TTL, SEED);
    unsigned char k[CACHE_KEY_MAX];
    size_t kl = make_key(k, 1, 42);
    char buf[64];
    size_t vlen;

    cr_expect_eq(cache_put(c, k, kl, "first-value", 11, 0, 0), 0);
    cr_expect_eq(cache_put(c, k, kl, "second", 6, 0, 0), 0);
    cr_expect_eq(cache_get(c, k, kl, 0, buf, sizeof(buf), &vlen, NULL), CACHE_HIT);
    cr_expect_eq(vlen, 6);
    cr_expect_arr_eq(buf, "second", 6);
    /* Positive to negative and back. */
    cr_expect_eq(cache_put(c, k, kl, NULL, 0, 0, 0), 0);
    cr_expect_eq(cache_get(c, k, kl, 0, buf, sizeof(buf), &vlen, NULL), CACHE_NEGATIVE);
    cr_expect_eq(cache_put(c, k, kl, "third", 5, 0, 0), 0);
    cr_expect_eq(cache_get(c, k, kl, 0, buf, sizeof(buf), &vlen, NULL), CACHE_HIT);

    struct cache_stats st;
    cache_stats(c, &st);
    cr_expect_eq(st.entries, 1);
    cr_expect_eq(st.bytes, key_charge(kl, 5));
    cr_expect_eq(cache_check(c), 0);
    cache_free(c);
}

Test(cache, invalidate)
{
    struct cache *c = cache_new(64 * 1024, TTL, NEG_TTL, SEED);
    unsigned char k[CACHE_KEY_MAX], other[CACHE_KEY_MAX];
    size_t kl = make_key(k, 1, 1), ol = make_key(other, 1, 2);
    char buf[64];
    uint64_t gen0, gen1;

    cr_expect_eq(cache_get(c, k, kl, 0, buf, sizeof(buf), NULL, &gen0), CACHE_MISS);
    cr_expect_eq(cache_put(c, k, kl, "v", 1, gen0, 0), 0);
    cr_expect_eq(cache_put(c, other, ol, "w", 1, 0, 0), 0);
    cache_invalidate(c, k, kl);
    cr_expect_eq(cache_get(c, k, kl, 0, buf, sizeof(buf), NULL, &gen1), CACHE_MISS);
    cr_expect_gt(gen1, gen0);
    cr_expect_eq(cache_get(c, other, ol, 0, buf, sizeof(buf), NULL, NULL), CACHE_HIT);
    /* Invalidating an absent key is fine, and still moves the generation. */
    cache_invalidate(c, k, kl);
    uint64_t gen2;
    cr_expect_eq(cache_get(c, k, kl, 0, buf, sizeof(buf), NULL, &gen2), CACHE_MISS);
    cr_expect_gt(gen2, gen1);

    struct cache_stats st;
    cache_stats(c, &st);
    cr_expect_eq(st.entries, 1);
    cr_expect_eq(st.bytes, key_charge(ol, 1));
    cache_free(c);
}

Test(cache, ttl_expiry_positive_and_negative)
{
    struct cache *c = cache_new(64 * 1024, TTL, NEG_TTL, SEED);
    unsigned char kp[CACHE_KEY_MAX], kn[CACHE_KEY_MAX];
    size_t pl = make_key(kp, 1, 1), nl = make_key(kn, 1, 2);
    char buf[64];
    uint64_t t0 = 5000000;

    cr_expect_eq(cache_put(c, kp, pl, "pos", 3, 0, t0), 0);
    cr_expect_eq(cache_put(c, kn, nl, NULL, 0, 0, t0), 0);

    cr_expect_eq(cache_get(c, kn, nl, t0 + NEG_TTL - 1, buf, sizeof(buf), NULL, NULL), CACHE_NEGATIVE);
    cr_expect_eq(cache_get(c, kn, nl, t0 + NEG_TTL, buf, sizeof(buf), NULL, NULL), CACHE_MISS);
    cr_expect_eq(cache_get(c, kp, pl, t0 + NEG_TTL, buf, sizeof(buf), NULL, NULL), CACHE_HIT);
    cr_expect_eq(cache_get(c, kp, pl, t0 + TTL - 1, buf, sizeof(buf), NULL, NULL), CACHE_HIT);
    cr_expect_eq(cache_get(c, kp, pl, t0 + TTL, buf, sizeof(buf), NULL, NULL), CACHE_MISS);

    /* A refill after expiry starts a fresh TTL. */
    uint64_t gen;
    cr_expect_eq(cache_get(c, kp, pl, t0 + TTL, buf, sizeof(buf), NULL, &gen), CACHE_MISS);
    cr_expect_eq(cache_put(c, kp, pl, "new", 3, gen, t0 + TTL), 0);
    cr_expect_eq(cache_get(c, kp, pl, t0 + 2 * TTL - 1, buf, sizeof(buf), NULL, NULL), CACHE_HIT);
    cache_free(c);
}

Test(cache, negative_entries_off)
{
    struct cache *c = cache_new(64 * 1024, TTL, 0, SEED);
    unsigned char k[CACHE_KEY_MAX];
    size_t kl = make_key(k, 1, 1);
    cr_expect_eq(cache_put(c, k, kl, NULL, 0, 0, 0), 1);
    cr_expect_eq(cache_get(c, k, kl, 0, NULL, 0, NULL, NULL), CACHE_MISS);
    cache_free(c);
}

Test(cache, expired_entries_reclaimed_without_evictions)
{
    struct cache *c = cache_new(64 * 1024, TTL, NEG_TTL, SEED);
    unsigned char k[CACHE_KEY_MAX];
    char val[200], buf[256];
    memset(val, 'x', sizeof(val));
    struct cache_stats st;

    /* Fill to 80% with entries that expire at TTL... */
    unsigned old = 0;
    do {
        size_t kl = make_key(k, 1, old++);
        cr_assert_eq(cache_put(c, k, kl, val, sizeof(val), 0, 0), 0);
        cache_stats(c, &st);
    } while (st.bytes < st.max_bytes / 10 * 8);
    cr_assert_eq(st.evictions, 0);
    /* ...then, after they expired, add half as many again (each one read,
     * as a live link would be): the hand reclaims expired entries and
     * evicts nothing live. */
    for (unsigned i = 0; i < old / 2; i++) {
        size_t kl = make_key(k, 2, i);
        cr_assert_eq(cache_put(c, k, kl, val, sizeof(val), 0, TTL), 0);
        cr_assert_eq(cache_get(c, k, kl, TTL, buf, sizeof(buf), NULL, NULL), CACHE_HIT);
    }
    cache_stats(c, &st);
    cr_expect_eq(st.evictions, 0);
    cr_expect_lt(st.entries, old + old / 2, "some expired entries were reclaimed");
    cr_expect_leq(st.bytes, st.max_bytes);
    for (unsigned i = 0; i < old / 2; i++) {
        size_t kl = make_key(k, 2, i);
        cr_expect_eq(cache_get(c, k, kl, TTL, buf, sizeof(buf), NULL, NULL), CACHE_HIT, "key %u", i);
    }
    cr_expect_eq(cache_check(c), 0);
    cache_free(c);
}

Test(cache, value_too_large_for_buffer_is_a_miss)
{
    struct cache *c = cache_new(64 * 1024, TTL, NEG_TTL, SEED);
    unsigned char k[CACHE_KEY_MAX];
    size_t kl = make_key(k, 1, 1);
    char buf[8];
    size_t vlen = 99;
    uint64_t gen = 99;

    cr_expect_eq(cache_put(c, k, kl, "0123456789", 10, 0, 0), 0);
    memset(buf, '#', sizeof(buf));
    cr_expect_eq(cache_get(c, k, kl, 0, buf, sizeof(buf), &vlen, &gen), CACHE_MISS);
    cr_expect_eq(vlen, 0);
    cr_expect_eq(gen, 0);
    for (size_t i = 0; i < sizeof(buf); i++)
        cr_expect_eq(buf[i], '#', "buffer written at %zu", i);
    char big[10];
    cr_expect_eq(cache_get(c, k, kl, 0, big, sizeof(big), &vlen, NULL), CACHE_HIT);
    cr_expect_eq(vlen, 10);
    cache_free(c);
}

Test(cache, bad_args_and_size_limits)
{
    struct cache *c = cache_new(64 * 1024, TTL, NEG_TTL, SEED);
    static unsigned char key[CACHE_KEY_MAX + 1];
    static unsigned char val[CACHE_VALUE_MAX + 1];
    memset(key, 'k', sizeof(key));

    cr_expect_eq(cache_put(c, key, CACHE_KEY_MAX + 1, "v", 1, 0, 0), -E2BIG);
    cr_expect_eq(cache_put(c, key, 8, val, CACHE_VALUE_MAX + 1, 0, 0), -E2BIG);
    cr_expect_eq(cache_put(c, NULL, 8, "v", 1, 0, 0), -EINVAL);
    cr_expect_eq(cache_put(c, key, 0, "v", 1, 0, 0), -EINVAL);
    cr_expect_eq(cache_put(c, key, 8, NULL, 5, 0, 0), -EINVAL);
    cr_expect_eq(cache_get(c, key, CACHE_KEY_MAX + 1, 0, NULL, 0, NULL, NULL), CACHE_MISS);
    cache_invalidate(c, key, CACHE_KEY_MAX + 1); /* no-op, no crash */

    /* 64 KB: two 32 KB shards, so one entry may take 4 KB. A 3.2 KB link
     * snapshot fits; the largest key+value the caps allow does not. */
    cr_expect_eq(cache_entry_limit(c), 4096);
    cr_expect_eq(cache_put(c, key, 80, val, 3200, 0, 0), 0);
    cr_expect_eq(cache_put(c, key, CACHE_KEY_MAX, val, CACHE_VALUE_MAX, 0, 0), 1);
    char buf[CACHE_VALUE_MAX];
    size_t vlen;
    cr_expect_eq(cache_get(c, key, 80, 0, buf, sizeof(buf), &vlen, NULL), CACHE_HIT);
    cr_expect_eq(vlen, 3200);

    struct cache_stats st;
    cache_stats(c, &st);
    cr_expect_eq(st.entries, 1);
    cache_free(c);
}

Test(cache, generation_race_refuses_stale_fill)
{
    struct cache *c = cache_new(64 * 1024, TTL, NEG_TTL, SEED);
    unsigned char k[CACHE_KEY_MAX];
    size_t kl = make_key(k, 1, 1);
    char buf[64];
    uint64_t gen;

    /* Worker misses and goes to the database... */
    cr_expect_eq(cache_get(c, k, kl, 0, buf, sizeof(buf), NULL, &gen), CACHE_MISS);
    /* ...the writer commits a PATCH and invalidates... */
    cache_invalidate(c, k, kl);
    /* ...and the worker's fill, read before the commit, must not land. */
    cr_expect_eq(cache_put(c, k, kl, "old-target", 10, gen, 0), 1);
    cr_expect_eq(cache_get(c, k, kl, 0, buf, sizeof(buf), NULL, &gen), CACHE_MISS);
    struct cache_stats st;
    cache_stats(c, &st);
    cr_expect_eq(st.stale_fills_refused, 1);
    cr_expect_eq(st.entries, 0);

    /* A fill that started after the invalidation lands. */
    cr_expect_eq(cache_put(c, k, kl, "new-target", 10, gen, 0), 0);
    size_t vlen;
    cr_expect_eq(cache_get(c, k, kl, 0, buf, sizeof(buf), &vlen, NULL), CACHE_HIT);
    cr_expect_arr_eq(buf, "new-target", 10);

    /* Negative fills are checked the same way (a create racing a 404). */
    unsigned char k2[CACHE_KEY_MAX];
    size_t kl2 = make_key(k2, 1, 2);
    cr_expect_eq(cache_get(c, k2, kl2, 0, buf, sizeof(buf), NULL, &gen), CACHE_MISS);
    cache_invalidate(c, k2, kl2);
    cr_expect_eq(cache_put(c, k2, kl2, NULL, 0, gen, 0), 1);
    cache_free(c);
}

Test(cache, clear)
{
    struct cache *c = cache_new(1 << 20, TTL, NEG_TTL, SEED);
    unsigned char k[CACHE_KEY_MAX];
    uint64_t gen;
    size_t kl = make_key(k, 1, 0);
    cr_expect_eq(cache_get(c, k, kl, 0, NULL, 0, NULL, &gen), CACHE_MISS);
    for (unsigned i = 0; i < 1000; i++) {
        kl = make_key(k, 1, i);
        cr_assert_eq(cache_put(c, k, kl, "value", 5, 0, 0), 0);
    }
    cache_clear(c);
    struct cache_stats st;
    cache_stats(c, &st);
    cr_expect_eq(st.entries, 0);
    cr_expect_eq(st.bytes, 0);
    for (unsigned i = 0; i < 1000; i++) {
        kl = make_key(k, 1, i);
        cr_expect_eq(cache_get(c, k, kl, 0, NULL, 0, NULL, NULL), CACHE_MISS);
    }
    /* A fill that started before the clear is refused. */
    kl = make_key(k, 1, 0);
    cr_expect_eq(cache_put(c, k, kl, "value", 5, gen, 0), 1);
    /* And the cache works after it. */
    cr_expect_eq(cache_get(c, k, kl, 0, NULL, 0, NULL, &gen), CACHE_MISS);
    cr_expect_eq(cache_put(c, k, kl, "value", 5, gen, 0), 0);
    cr_expect_eq(cache_check(c), 0);
    cache_free(c);
}

Test(cache, grows_and_keeps_everything)
{
    /* Big enough that nothing is evicted: every shard's table doubles
     * several times, and every key must still be found. */
    struct cache *c = cache_new(64u << 20, TTL, NEG_TTL, SEED);
    unsigned char k[CACHE_KEY_MAX];
    char buf[64], want[64];
    enum { N = 50000 };
    size_t total = 0;

    for (unsigned i = 0; i < N; i++) {
        size_t kl = make_key(k, 3, i);
        int vl = snprintf(want, sizeof(want), "https://example.org/%u", i);
        if (i % 5 == 0) {
            cr_assert_eq(cache_put(c, k, kl, NULL, 0, 0, 0), 0);
            total += key_charge(kl, 0);
        } else {
            cr_assert_eq(cache_put(c, k, kl, want, (size_t)vl, 0, 0), 0);
            total += key_charge(kl, (size_t)vl);
        }
    }
    cr_assert_eq(cache_check(c), 0);
    for (unsigned i = 0; i < N; i++) {
        size_t kl = make_key(k, 3, i), vlen;
        int vl = snprintf(want, sizeof(want), "https://example.org/%u", i);
        enum cache_lookup r = cache_get(c, k, kl, 1, buf, sizeof(buf), &vlen, NULL);
        if (i % 5 == 0) {
            cr_assert_eq(r, CACHE_NEGATIVE, "key %u", i);
        } else {
            cr_assert_eq(r, CACHE_HIT, "key %u", i);
            cr_assert_eq(vlen, (size_t)vl);
            cr_assert_arr_eq(buf, want, (size_t)vl);
        }
    }
    /* Invalidate half; the table shifts entries back over the holes. */
    for (unsigned i = 0; i < N; i += 2) {
        size_t kl = make_key(k, 3, i);
        cache_invalidate(c, k, kl);
    }
    cr_assert_eq(cache_check(c), 0);
    for (unsigned i = 0; i < N; i++) {
        size_t kl = make_key(k, 3, i);
        enum cache_lookup r = cache_get(c, k, kl, 1, buf, sizeof(buf), NULL, NULL);
        cr_assert_eq(r == CACHE_MISS, i % 2 == 0, "key %u", i);
    }
    struct cache_stats st;
    cache_stats(c, &st);
    cr_expect_eq(st.entries, N / 2);
    cr_expect_eq(st.evictions, 0);
    cr_expect_lt(st.bytes, total);
    cache_free(c); /* with entries in it: ASan's leak check watches */
}

Test(cache, eviction_stays_in_budget_and_gives_second_chances)
{
    struct cache *c = cache_new(64 * 1024, 1000000, NEG_TTL, SEED);
    unsigned char k[CACHE_KEY_MAX];
    char val[100], buf[128];
    memset(val, 'v', sizeof(val));
    enum { HOT = 40, COLD = 40, MORE = 3000 };
    struct cache_stats st;

    /* Hot and cold keys arrive together; only the hot ones are read. */
    for (unsigned i = 0; i < HOT + COLD; i++) {
        size_t kl = make_key(k, 1, i);
        cr_assert_eq(cache_put(c, k, kl, val, sizeof(val), 0, 0), 0);
    }
    for (unsigned i = HOT + COLD; i < HOT + COLD + MORE; i++) {
        if (i % 10 == 0)
            for (unsigned h = 0; h < HOT; h++) {
                size_t kl = make_key(k, 1, h);
                cache_get(c, k, kl, 1, buf, sizeof(buf), NULL, NULL);
            }
        size_t kl = make_key(k, 1, i);
        cr_assert_eq(cache_put(c, k, kl, val, sizeof(val), 0, 1), 0);
        cache_stats(c, &st);
        cr_assert_leq(st.bytes, st.max_bytes);
    }
    cache_stats(c, &st);
    cr_expect_gt(st.evictions, 0);
    cr_expect_gt(st.bytes, st.max_bytes / 2, "a full cache stays mostly full: %llu", (unsigned long long)st.bytes);
    cr_expect_eq(cache_check(c), 0);

    unsigned hot_alive = 0, cold_alive = 0;
    for (unsigned i = 0; i < HOT + COLD; i++) {
        size_t kl = make_key(k, 1, i);
        if (cache_get(c, k, kl, 2, buf, sizeof(buf), NULL, NULL) == CACHE_HIT)
            *(i < HOT ? &hot_alive : &cold_alive) += 1;
    }
    cr_expect_geq(hot_alive, HOT * 9 / 10, "hot survivors %u of %d", hot_alive, HOT);
    cr_expect_leq(cold_alive, COLD / 10, "cold survivors %u of %d", cold_alive, COLD);
    cache_free(c);
}

/* ---- concurrent readers, fillers and an invalidating writer ---- */

enum { CN_KEYS = 10000, CN_READERS = 4 };
#define CN_RUN_MS 1000

/* The "database": a version per key, bumped by the writer before it
 * invalidates; published_version says which invalidations have finished.
 * Keys with n % 8 == 0 do not exist (negative entries). */
struct cn_state {
    struct cache *cache;
    _Atomic uint32_t db_version[CN_KEYS];
    _Atomic uint32_t published_version[CN_KEYS];
    _Atomic bool stop;
    _Atomic uint64_t hits, negatives, misses, fills, errors;
    char first_error[160];
    pthread_mutex_t err_lock;
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static bool cn_exists(unsigned n)
{
    return n % 8 != 0;
}

/* Value: key number, version, then a payload whose length and bytes both
 * depend on them, so a torn or misplaced value cannot pass for a good one. */
static size_t cn_value(unsigned char *out, unsigned n, uint32_t version)
{
    size_t len = 8 + 16 + (n * 7 + version) % 300;
    memcpy(out, &n, 4);
    memcpy(out + 4, &version, 4);
    for (size_t j = 8; j < len; j++)
        out[j] = (unsigned char)(n * 31 + version * 17 + j);
    return len;
}

static void cn_fail(struct cn_state *st, const char *what, unsigned n)
{
    if (atomic_fetch_add(&st->errors, 1) == 0) {
        pthread_mutex_lock(&st->err_lock);
        snprintf(st->first_error, sizeof(st->first_error), "%s (key %u)", what, n);
        pthread_mutex_unlock(&st->err_lock);
    }
}

static void cn_check_value(struct cn_state *st, unsigned n, const unsigned char *v, size_t len, uint32_t min_version)
{
    unsigned got_n;
    uint32_t version;
    unsigned char want[CACHE_VALUE_MAX];

    if (len < 8) {
        cn_fail(st, "short value", n);
        return;
    }
    memcpy(&got_n, v, 4);
    memcpy(&version, v + 4, 4);
    if (got_n != n) {
        cn_fail(st, "value of another key", n);
        return;
    }
    if (version < min_version) {
        cn_fail(st, "stale value after its invalidation finished", n);
        return;
    }
    size_t want_len = cn_value(want, n, version);
    if (want_len != len || memcmp(want, v, len) != 0)
        cn_fail(st, "torn value", n);
}

/* The miss path of a worker: remember the generation, read the database,
 * fill. */
static void cn_fill(struct cn_state *st, const unsigned char *k, size_t kl, unsigned n, uint64_t gen)
{
    unsigned char v[CACHE_VALUE_MAX];
    uint32_t version = atomic_load_explicit(&st->db_version[n], memory_order_acquire);
    int rc;
    if (cn_exists(n))
        rc = cache_put(st->cache, k, kl, v, cn_value(v, n, version), gen, mono_ms());
    else
        rc = cache_put(st->cache, k, kl, NULL, 0, gen, mono_ms());
    if (rc < 0)
        cn_fail(st, "put failed", n);
    else if (rc == 0)
        atomic_fetch_add_explicit(&st->fills, 1, memory_order_relaxed);
}

static void *cn_reader(void *arg)
{
    struct cn_state *st = arg;
    uint64_t rng = (uint64_t)(uintptr_t)&rng | 1;
    unsigned char k[CACHE_KEY_MAX], buf[CACHE_VALUE_MAX];

    while (!atomic_load_explicit(&st->stop, memory_order_relaxed)) {
        /* Half the reads go to a hot tenth of the keys, so hits are common
         * enough to check many values. */
        uint64_t r = xorshift(&rng);
        unsigned n = (unsigned)((r >> 32) % (r & 1 ? CN_KEYS : CN_KEYS / 10));
        size_t kl = make_key(k, 9, n), vlen;
        uint64_t gen;
        uint32_t published = atomic_load_explicit(&st->published_version[n], memory_order_acquire);
        switch (cache_get(st->cache, k, kl, mono_ms(), buf, sizeof(buf), &vlen, &gen)) {
        case CACHE_HIT:
            atomic_fetch_add_explicit(&st->hits, 1, memory_order_relaxed);
            if (!cn_exists(n))
                cn_fail(st, "hit on a key that does not exist", n);
            else
                cn_check_value(st, n, buf, vlen, published);
            break;
        case CACHE_NEGATIVE:
            atomic_fetch_add_explicit(&st->negatives, 1, memory_order_relaxed);
            if (cn_exists(n))
                cn_fail(st, "negative on a key that exists", n);
            break;
        case CACHE_MISS:
            atomic_fetch_add_explicit(&st->misses, 1, memory_order_relaxed);
            if (xorshift(&rng) % 2)
                cn_fill(st, k, kl, n, gen);
            break;
        }
    }
    return NULL;
}

static void *cn_filler(void *arg)
{
    struct cn_state *st = arg;
    uint64_t rng = 0x9e3779b97f4a7c15ULL;
    unsigned char k[CACHE_KEY_MAX];

    while (!atomic_load_explicit(&st->stop, memory_order_relaxed)) {
        unsigned n = (unsigned)(xorshift(&rng) % CN_KEYS);
        size_t kl = make_key(k, 9, n);
        uint64_t gen;
        if (cache_get(st->cache, k, kl, mono_ms(), NULL, 0, NULL, &gen) == CACHE_MISS)
            cn_fill(st, k, kl, n, gen);
    }
    return NULL;
}

static void *cn_writer(void *arg)
{
    struct cn_state *st = arg;
    uint64_t rng = 0x2545f4914f6cdd1dULL;
    unsigned char k[CACHE_KEY_MAX];
    unsigned rounds = 0;

    while (!atomic_load_explicit(&st->stop, memory_order_relaxed)) {
        unsigned n = (unsigned)(xorshift(&rng) % CN_KEYS);
        size_t kl = make_key(k, 9, n);
        /* Commit, then invalidate, then let readers hold us to it. */
        uint32_t v = atomic_fetch_add_explicit(&st->db_version[n], 1, memory_order_acq_rel) + 1;
        cache_invalidate(st->cache, k, kl);
        atomic_store_explicit(&st->published_version[n], v, memory_order_release);
        if (++rounds % 20000 == 0)
            cache_clear(st->cache);
    }
    return NULL;
}

Test(cache, concurrent_readers_fillers_writer, .timeout = 30)
{
    static struct cn_state st; /* too big for the stack */
    memset(&st, 0, sizeof(st));
    pthread_mutex_init(&st.err_lock, NULL);
    /* 256 KB: eight shards, far less than 10k keys need, so eviction runs
     * all along; TTLs short enough that entries expire during the run. */
    st.cache = cache_new(256 * 1024, 200, 50, SEED);
    cr_assert_not_null(st.cache);

    pthread_t readers[CN_READERS], filler, writer;
    for (int i = 0; i < CN_READERS; i++)
        cr_assert_eq(pthread_create(&readers[i], NULL, cn_reader, &st), 0);
    cr_assert_eq(pthread_create(&filler, NULL, cn_filler, &st), 0);
    cr_assert_eq(pthread_create(&writer, NULL, cn_writer, &st), 0);

    struct timespec pause = {.tv_sec = CN_RUN_MS / 1000, .tv_nsec = (CN_RUN_MS % 1000) * 1000000L};
    nanosleep(&pause, NULL);
    atomic_store(&st.stop, true);
    for (int i = 0; i < CN_READERS; i++)
        pthread_join(readers[i], NULL);
    pthread_join(filler, NULL);
    pthread_join(writer, NULL);

    struct cache_stats cs;
    cache_stats(st.cache, &cs);
    cr_log_info("hits %llu negatives %llu misses %llu fills %llu evictions %llu stale refused %llu entries %llu "
                "bytes %llu",
                (unsigned long long)st.hits, (unsigned long long)st.negatives, (unsigned long long)st.misses,
                (unsigned long long)st.fills, (unsigned long long)cs.evictions,
                (unsigned long long)cs.stale_fills_refused, (unsigned long long)cs.entries,
                (unsigned long long)cs.bytes);
    cr_expect_eq(st.errors, 0, "%llu errors, first: %s", (unsigned long long)st.errors, st.first_error);
    cr_expect_gt(st.hits, 0);
    cr_expect_gt(st.negatives, 0);
    cr_expect_gt(cs.evictions, 0);
    cr_expect_leq(cs.bytes, cs.max_bytes);
    cr_expect_eq(cache_check(st.cache), 0);
    cache_free(st.cache);
    pthread_mutex_destroy(&st.err_lock);
}
