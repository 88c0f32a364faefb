/* tally: the blob format of rollup_day (store/tally.h): a table of blobs
 * that must be refused, round trips, merges that add up, entries summed
 * before encoding, and the fold of a dimension past TALLY_VALUES_MAX values
 * into "other". */
#include "store/tally.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char H3 = 3, H7 = 7;

static long enc(struct tally_entry *e, size_t n, uint8_t *out)
{
    return tally_encode(e, n, out, TALLY_BYTES_MAX);
}

/* Every entry of a blob, in order; -1 if malformed. */
static int decode_all(const uint8_t *b, size_t len, struct tally_entry *out, size_t cap)
{
    struct tally_iter it;
    if (tally_iter_init(&it, b, len) != 0)
        return -1;
    int n = 0, k;
    while ((k = tally_next(&it, &out[n])) == 1)
        if ((size_t)++n == cap)
            break;
    return k < 0 ? -1 : n;
}

Test(tally, round_trip)
{
    struct tally_entry e[] = {
        {TALLY_HOUR, 1, &H3, 5, 1, 2},
        {TALLY_HOUR, 1, &H7, 300, 0, 200},
        {TALLY_COUNTRY, 2, "GB", 4, 0, 0},
        {TALLY_COUNTRY, 2, "SE", 1, 1, 0},
        {TALLY_CITY, 6, "London", TALLY_COUNT_MAX, 0, 0},
    };
    uint8_t *b = malloc(TALLY_BYTES_MAX);
    long len = enc(e, 5, b);
    cr_assert_gt(len, 0);
    struct tally_entry d[8];
    cr_assert_eq(decode_all(b, (size_t)len, d, 8), 5);
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(d[i].dim, e[i].dim);
        cr_assert_eq(d[i].len, e[i].len);
        cr_assert_eq(memcmp(d[i].name, e[i].name, e[i].len), 0);
        cr_assert_eq(d[i].total, e[i].total);
        cr_assert_eq(d[i].bots, e[i].bots);
        cr_assert_eq(d[i].uniques, e[i].uniques);
    }
    cr_assert_eq(decode_all(b, 0, d, 8), 0, "an empty blob is an empty tally");
    free(b);
}

Test(tally, encode_refuses_what_it_cannot_write)
{
    uint8_t *b = malloc(TALLY_BYTES_MAX);
    char h24 = 24;
    struct tally_entry unsorted[] = {{TALLY_OS, 3, "iOS", 1, 0, 0}, {TALLY_COUNTRY, 2, "GB", 1, 0, 0}};
    struct tally_entry dup[] = {{TALLY_OS, 3, "iOS", 1, 0, 0}, {TALLY_OS, 3, "iOS", 1, 0, 0}};
    struct tally_entry bad_hour[] = {{TALLY_HOUR, 1, &h24, 1, 0, 0}};
    struct tally_entry empty_name[] = {{TALLY_OS, 0, "", 1, 0, 0}};
    struct tally_entry bad_dim[] = {{TALLY_NDIMS, 1, "x", 1, 0, 0}};
    cr_assert_eq(enc(unsorted, 2, b), -1);
    cr_assert_eq(enc(dup, 2, b), -1);
    cr_assert_eq(enc(bad_hour, 1, b), -1);
    cr_assert_eq(enc(empty_name, 1, b), -1);
    cr_assert_eq(enc(bad_dim, 1, b), -1);
    struct tally_entry ok[] = {{TALLY_OS, 3, "iOS", 1, 0, 0}};
    cr_assert_eq(tally_encode(ok, 1, b, 4), -1, "out too small");
    free(b);
}

struct bad_case {
    const char *why;
    size_t len;
    uint8_t bytes[24];
};

/* clang-format off */
static const struct bad_case bad[] = {
    {"version 2", 1, {2}},
    {"header cut", 2, {1, TALLY_COUNTRY}},
    {"name past the end", 5, {1, TALLY_COUNTRY, 3, 'G', 'B'}},
    {"counts missing", 5, {1, TALLY_COUNTRY, 2, 'G', 'B'}},
    {"varint never ends", 14, {1, TALLY_COUNTRY, 2, 'G', 'B', 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80}},
    {"count above 2^62", 17, {1, TALLY_COUNTRY, 2, 'G', 'B', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0, 0}},
    {"overlong varint", 9, {1, TALLY_COUNTRY, 2, 'G', 'B', 0x81, 0x00, 0, 0}},
    {"unknown dim", 7, {1, TALLY_NDIMS, 1, 'x', 1, 0, 0}},
    {"empty name", 6, {1, TALLY_COUNTRY, 0, 1, 0, 0}},
    {"hour 24", 7, {1, TALLY_HOUR, 1, 24, 1, 0, 0}},
    {"hour name of two bytes", 8, {1, TALLY_HOUR, 2, 1, 1, 1, 0, 0}},
    {"out of order", 13, {1, TALLY_COUNTRY, 2, 'S', 'E', 1, 0, 0, TALLY_COUNTRY, 2, 'G', 'B', 1}},
    {"twice the same", 15, {1, TALLY_COUNTRY, 2, 'G', 'B', 1, 0, 0, TALLY_COUNTRY, 2, 'G', 'B', 1, 0, 0}},
};
/* clang-format on */

Test(tally, malformed_blobs_are_refused)
{
    uint8_t *out = malloc(TALLY_BYTES_MAX);
    struct tally_entry *scratch = malloc(TALLY_SCRATCH_ENTRIES * sizeof(*scratch));
    struct tally_entry d[8];
    uint8_t good[] = {1, TALLY_COUNTRY, 2, 'G', 'B', 1, 0, 0};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_expect_eq(decode_all(bad[i].bytes, bad[i].len, d, 8), -1, "%s", bad[i].why);
        cr_expect_eq(tally_merge(bad[i].bytes, bad[i].len, good, sizeof(good), scratch, out, TALLY_BYTES_MAX), -1,
                     "merge: %s", bad[i].why);
        cr_expect_eq(tally_merge(good, sizeof(good), bad[i].bytes, bad[i].len, scratch, out, TALLY_BYTES_MAX), -1,
                     "merge (second): %s", bad[i].why);
    }
    free(out);
    free(scratch);
}

Test(tally, merge_adds_matching_entries_and_keeps_the_rest)
{
    struct tally_entry a[] = {
        {TALLY_HOUR, 1, &H3, 2, 1, 1}, {TALLY_COUNTRY, 2, "GB", 4, 0, 0}, {TALLY_OS, 3, "iOS", 1, 0, 0}};
    struct tally_entry b[] = {{TALLY_HOUR, 1, &H3, 3, 0, 1},
                              {TALLY_HOUR, 1, &H7, 1, 0, 0},
                              {TALLY_COUNTRY, 2, "SE", 1, 0, 0},
                              {TALLY_OS, 3, "iOS", TALLY_COUNT_MAX, 0, 0}};
    uint8_t *ba = malloc(TALLY_BYTES_MAX), *bb = malloc(TALLY_BYTES_MAX), *out = malloc(TALLY_BYTES_MAX);
    struct tally_entry *scratch = malloc(TALLY_SCRATCH_ENTRIES * sizeof(*scratch));
    long la = enc(a, 3, ba), lb = enc(b, 4, bb);
    long len = tally_merge(ba, (size_t)la, bb, (size_t)lb, scratch, out, (size_t)(la + lb + 1));
    cr_assert_gt(len, 0, "the merge fits in the two inputs' size");
    struct tally_entry d[8];
    cr_assert_eq(decode_all(out, (size_t)len, d, 8), 5);
    cr_assert_eq(d[0].total, 5);
    cr_assert_eq(d[0].bots, 1);
    cr_assert_eq(d[0].uniques, 2);
    cr_assert_eq(d[1].name[0], 7);
    cr_assert_eq(memcmp(d[2].name, "GB", 2), 0);
    cr_assert_eq(memcmp(d[3].name, "SE", 2), 0);
    cr_assert_eq(d[4].total, TALLY_COUNT_MAX, "sums saturate");
    cr_assert_eq(tally_merge(ba, (size_t)la, NULL, 0, scratch, out, TALLY_BYTES_MAX), la, "merging nothing");
    free(ba);
    free(bb);
    free(out);
    free(scratch);
}

Test(tally, sum_entries_sorts_and_adds_up_equal_ones)
{
    /* unsorted, with repeats of one hour and one country; "GB" and "GBR"
     * share a prefix and stay apart */
    struct tally_entry e[] = {{TALLY_COUNTRY, 2, "SE", 1, 0, 1},  {TALLY_HOUR, 1, &H7, 1, 1, 0},
                              {TALLY_COUNTRY, 3, "GBR", 1, 0, 0}, {TALLY_COUNTRY, 2, "SE", 2, 1, 0},
                              {TALLY_HOUR, 1, &H3, 1, 0, 1},      {TALLY_COUNTRY, 2, "GB", 5, 0, 0},
                              {TALLY_HOUR, 1, &H7, 3, 0, 1}};
    size_t m = tally_sum_entries(e, 7);
    cr_assert_eq(m, 5);
    struct {
        int dim;
        const char *name;
        size_t len;
        int64_t total, bots, uniques;
    } want[] = {{TALLY_HOUR, &H3, 1, 1, 0, 1},
                {TALLY_HOUR, &H7, 1, 4, 1, 1},
                {TALLY_COUNTRY, "GB", 2, 5, 0, 0},
                {TALLY_COUNTRY, "GBR", 3, 1, 0, 0},
                {TALLY_COUNTRY, "SE", 2, 3, 1, 1}};
    for (size_t i = 0; i < m; i++) {
        cr_assert_eq(e[i].dim, want[i].dim, "entry %zu", i);
        cr_assert_eq(e[i].len, want[i].len, "entry %zu", i);
        cr_assert_eq(memcmp(e[i].name, want[i].name, want[i].len), 0, "entry %zu", i);
        cr_assert_eq(e[i].total, want[i].total, "entry %zu", i);
        cr_assert_eq(e[i].bots, want[i].bots, "entry %zu", i);
        cr_assert_eq(e[i].uniques, want[i].uniques, "entry %zu", i);
    }
    cr_assert_eq(tally_sum_entries(e, 0), 0, "nothing");

    /* counts from SQL are not trusted: sums saturate, negatives count 0 */
    struct tally_entry big[] = {{TALLY_COUNTRY, 2, "SE", TALLY_COUNT_MAX, INT64_MAX, -5},
                                {TALLY_COUNTRY, 2, "SE", TALLY_COUNT_MAX, 1, 2}};
    cr_assert_eq(tally_sum_entries(big, 2), 1);
    cr_assert_eq(big[0].total, TALLY_COUNT_MAX);
    cr_assert_eq(big[0].bots, TALLY_COUNT_MAX);
    cr_assert_eq(big[0].uniques, 2);
}

Test(tally, a_full_dimension_folds_into_other)
{
    enum { N = 2500 };
    struct tally_entry *e = calloc(N + 1, sizeof(*e));
    char(*names)[16] = calloc(N, 16);
    int64_t sum = 0;
    e[0] = (struct tally_entry){TALLY_HOUR, 1, &H3, N, 0, 0};
    for (int i = 0; i < N; i++) {
        snprintf(names[i], 16, "c%05d", i);
        /* c00000..c00009 are the most counted; everything else once */
        e[i + 1] = (struct tally_entry){TALLY_CITY, 6, names[i], i < 10 ? 100 : 1, 0, 0};
        sum += e[i + 1].total;
    }
    uint8_t *b = malloc(TALLY_BYTES_MAX);
    long len = enc(e, N + 1, b);
    cr_assert_gt(len, 0);
    struct tally_entry *d = calloc(N, sizeof(*d));
    int n = decode_all(b, (size_t)len, d, N);
    cr_assert_eq(n, 1 + TALLY_VALUES_MAX);
    int64_t got = 0, other = 0;
    int top = 0;
    for (int i = 1; i < n; i++) {
        got += d[i].total;
        if (d[i].len == 5 && memcmp(d[i].name, TALLY_OTHER, 5) == 0)
            other = d[i].total;
        if (d[i].total == 100)
            top++;
    }
    cr_assert_eq(got, sum);
    cr_assert_eq(top, 10, "the most counted keep their names");
    cr_assert_eq(other, N - (TALLY_VALUES_MAX - 1));

    /* Merging two full dimensions stays within the cap and adds up. */
    uint8_t *out = malloc(TALLY_BYTES_MAX);
    struct tally_entry *scratch = malloc(TALLY_SCRATCH_ENTRIES * sizeof(*scratch));
    long m = tally_merge(b, (size_t)len, b, (size_t)len, scratch, out, TALLY_BYTES_MAX);
    cr_assert_gt(m, 0);
    n = decode_all(out, (size_t)m, d, N);
    cr_assert_eq(n, 1 + TALLY_VALUES_MAX);
    got = 0;
    for (int i = 1; i < n; i++)
        got += d[i].total;
    cr_assert_eq(got, 2 * sum);
    free(e);
    free(names);
    free(b);
    free(d);
    free(out);
    free(scratch);
}

Test(tally, dimension_names)
{
    cr_assert_eq(tally_dim_of("referrer"), TALLY_REFERRER);
    cr_assert_eq(tally_dim_of("device"), TALLY_DEVICE);
    cr_assert_eq(tally_dim_of("kind"), TALLY_KIND);
    cr_assert_eq(tally_dim_of("hour"), -1);
    cr_assert_eq(tally_dim_of(""), -1);
}
