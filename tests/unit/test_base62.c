/* base62: random codes (alphabet, length, collisions, uniformity) and the
 * u64 encode/decode pair. */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/base62.h"

#define N_CODES 1000000
#define SET_BITS 21 /* 2M slots for 1M keys: load below one half */

static void setup(void)
{
    cr_assert_geq(sodium_init(), 0);
}

TestSuite(base62, .init = setup);

/* Open-addressing set of u64 keys; a slot holds key + 1 so 0 means empty. */
struct u64_set {
    uint64_t *slot;
    size_t mask;
};

static void set_init(struct u64_set *s)
{
    s->mask = ((size_t)1 << SET_BITS) - 1;
    s->slot = calloc(s->mask + 1, sizeof(uint64_t));
    cr_assert_not_null(s->slot);
}

/* true when key was new */
static bool set_add(struct u64_set *s, uint64_t key)
{
    uint64_t h = key;
    /* splitmix64 finaliser: codes are uniform already, but decode() keeps
     * the leading char in the high bits, so mix before masking. */
    h ^= h >> 30;
    h *= UINT64_C(0xbf58476d1ce4e5b9);
    h ^= h >> 27;
    h *= UINT64_C(0x94d049bb133111eb);
    h ^= h >> 31;
    for (size_t i = (size_t)h & s->mask;; i = (i + 1) & s->mask) {
        if (s->slot[i] == 0) {
            s->slot[i] = key + 1;
            return true;
        }
        if (s->slot[i] == key + 1)
            return false;
    }
}

static int alpha_index(char c)
{
    const char *p = strchr(BASE62_ALPHABET, c);
    return (c != '\0' && p != NULL) ? (int)(p - BASE62_ALPHABET) : -1;
}

/* Generates N_CODES codes of len chars; returns the number of repeats and
 * fills per-position char counts. */
static size_t generate(size_t len, size_t counts[][62], void (*draw)(char *, size_t))
{
    struct u64_set set;
    char code[16];
    size_t dups = 0;

    cr_assert_lt(len, sizeof(code));
    set_init(&set);
    for (size_t n = 0; n < N_CODES; n++) {
        uint64_t key;
        memset(code, '!', sizeof(code));
        draw(code, len);
        if (code[len] != '!')
            cr_assert_fail("code %zu: wrote past len", n);
        for (size_t i = 0; i < len; i++) {
            int k = alpha_index(code[i]);
            if (k < 0)
                cr_assert_fail("code %zu: byte 0x%02x is not in the alphabet", n, (unsigned char)code[i]);
            counts[i][k]++;
        }
        if (base62_decode_u64(code, len, &key) != 0)
            cr_assert_fail("code %zu: \"%.*s\" does not decode", n, (int)len, code);
        if (!set_add(&set, key))
            dups++;
    }
    free(set.slot);
    return dups;
}

static void codes_7(void (*draw)(char *, size_t))
{
    static size_t counts[7][62];
    memset(counts, 0, sizeof(counts));
    size_t dups = generate(7, counts, draw);

    /* 62^7 = 3.5e12 codes: 1M draws repeat one with probability ~13%
     * (birthday bound n^2/2N = 0.14 expected repeats), so "no repeats" would
     * be a flaky test. More than 3 has probability ~2e-5. The store's unique
     * index and a retry are what make codes unique. */
    cr_expect_leq(dups, 3, "%zu repeated codes among %d", dups, N_CODES);

    /* Rejection sampling must leave every char equally likely. The bound is
     * loose (over 30 standard deviations overall) so only bias fails it. */
    double expect_all = 7.0 * N_CODES / 62, expect_pos = (double)N_CODES / 62;
    for (int k = 0; k < 62; k++) {
        size_t total = 0;
        for (int i = 0; i < 7; i++) {
            total += counts[i][k];
            cr_expect(counts[i][k] > 0.9 * expect_pos && counts[i][k] < 1.1 * expect_pos,
                      "position %d char '%c': %zu, expected ~%.0f", i, BASE62_ALPHABET[k], counts[i][k], expect_pos);
        }
        cr_expect(total > 0.9 * expect_all && total < 1.1 * expect_all, "char '%c': %zu, expected ~%.0f",
                  BASE62_ALPHABET[k], total, expect_all);
    }
}

Test(base62, codes_7_chars)
{
    codes_7(base62_random);
}

Test(base62, codes_7_chars_from_the_pool)
{
    codes_7(base62_random_code);
}

Test(base62, codes_10_chars_unique)
{
    static size_t counts[10][62];

    /* 62^10 = 8.4e17: a repeat among 1M has probability 6e-7. */
    cr_expect_eq(generate(10, counts, base62_random), 0);
    cr_expect_eq(generate(10, counts, base62_random_code), 0);
}

Test(base62, random_lengths)
{
    char buf[300];

    for (size_t len = 0; len < 256; len++) {
        memset(buf, '!', sizeof(buf));
        base62_random(buf, len);
        for (size_t i = 0; i < len; i++)
            cr_assert_geq(alpha_index(buf[i]), 0, "len %zu pos %zu", len, i);
        cr_assert_eq(buf[len], '!', "len %zu wrote past the end", len);
    }
    base62_random(NULL, 0);
}

Test(base62, encode_known)
{
    static const struct {
        uint64_t v;
        const char *s;
    } k[] = {
        {0, "0"},
        {9, "9"},
        {10, "A"},
        {35, "Z"},
        {36, "a"},
        {61, "z"},
        {62, "10"},
        {3843, "zz"},
        {UINT64_C(3521614606207), "zzzzzzz"},
        {UINT64_C(1795472033123), "Vbpxfoh"},
        {UINT64_C(9223372036854775808), "AzL8n0Y58m8"},
        {UINT64_MAX, "LygHa16AHYF"},
    };
    char buf[BASE62_U64_MAX_LEN + 1];

    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
        uint64_t v;
        memset(buf, 0, sizeof(buf));
        size_t n = base62_encode_u64(k[i].v, buf);
        cr_expect_eq(n, strlen(k[i].s), "encode %zu", i);
        cr_expect_str_eq(buf, k[i].s, "encode %zu", i);
        cr_expect_eq(base62_decode_u64(k[i].s, strlen(k[i].s), &v), 0, "decode %zu", i);
        cr_expect_eq(v, k[i].v, "decode %zu", i);
    }
}

Test(base62, decode_errors)
{
    static const char *const bad[] = {
        "", "-", "a b", "abc!", "ab/c", "\xc3\xa9", "LygHa16AHYG", "zzzzzzzzzzz", "100000000000",
    };
    uint64_t v = 7;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_expect_eq(base62_decode_u64(bad[i], strlen(bad[i]), &v), -1, "\"%s\"", bad[i]);
        cr_expect_eq(v, 7, "output untouched on error");
    }
    cr_expect_eq(base62_decode_u64("a\0b", 3, &v), -1);
    cr_expect_eq(base62_decode_u64("0000000000000000000001", 22, &v), 0);
    cr_expect_eq(v, 1);
    cr_expect_eq(base62_decode_u64("zzz", 2, &v), 0);
    cr_expect_eq(v, 3843);
}

Test(base62, round_trip_random)
{
    char buf[BASE62_U64_MAX_LEN];

    for (int i = 0; i < 200000; i++) {
        uint64_t v, back;
        randombytes_buf(&v, sizeof(v));
        v >>= (unsigned)i % 64; /* short values too */
        size_t n = base62_encode_u64(v, buf);
        cr_assert(n >= 1 && n <= BASE62_U64_MAX_LEN);
        cr_assert(n == 1 || buf[0] != '0', "no leading zero");
        cr_assert_eq(base62_decode_u64(buf, n, &back), 0);
        cr_assert_eq(back, v);
    }
}
