/* Unit tables for the small pure helpers: query strings, JSON escaping in
 * logs, UTF-8 sequences, id ordering, the metrics text format, CRC-32C and the radix sort. */
#include "obs/log.h"
#include "obs/metrics.h"
#include "util/crc32c.h"
#include "util/dec.h"
#include "util/id.h"
#include "util/query.h"
#include "util/radix.h"
#include "util/utf8.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

Test(query, table)
{
    static const struct {
        const char *q, *name;
        int found;
        const char *val;
    } cases[] = {
        {"limit=5", "limit", 1, "5"},
        {"a=1&limit=20&cursor=abc", "cursor", 1, "abc"},
        {"a=1&limit=20&cursor=abc", "limit", 1, "20"},
        {"limit", "limit", 1, ""},
        {"limit=", "limit", 1, ""},
        {"limits=3", "limit", 0, NULL},
        {"xlimit=3", "limit", 0, NULL},
        {"", "limit", 0, NULL},
        {"&&limit=7&", "limit", 1, "7"},
        {"limit=1&limit=2", "limit", 1, "1"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *v = NULL;
        size_t n = 0;
        int f = query_find(cases[i].q, strlen(cases[i].q), cases[i].name, &v, &n);
        cr_expect_eq(f, cases[i].found, "case %zu", i);
        if (f && cases[i].found)
            cr_expect(n == strlen(cases[i].val) && memcmp(v, cases[i].val, n) == 0, "case %zu value", i);
    }
}

Test(query, nth)
{
    const char *q = "tag=a&x=1&tag=b%20c&tag";
    const char *v;
    size_t n;
    cr_assert(query_find_nth(q, strlen(q), "tag", 0, &v, &n) && n == 1 && v[0] == 'a');
    cr_assert(query_find_nth(q, strlen(q), "tag", 1, &v, &n) && n == 5 && memcmp(v, "b%20c", 5) == 0);
    cr_assert(query_find_nth(q, strlen(q), "tag", 2, &v, &n) && n == 0);
    cr_assert(!query_find_nth(q, strlen(q), "tag", 3, &v, &n));
}

Test(query, decode_table)
{
    static const struct {
        const char *in;
        long len;
        const char *out;
    } cases[] = {
        {"abc", 3, "abc"},
        {"a+b", 3, "a b"},
        {"a%20b", 3, "a b"},
        {"%C3%A9t%c3%a9", 5, "\xc3\xa9t\xc3\xa9"},
        {"", 0, ""},
        {"%", -1, NULL},
        {"%4", -1, NULL},
        {"%4g", -1, NULL},
        {"%00", -1, NULL},
        {"%2B%2b", 2, "++"},
        {"0123456789abcdef", -1, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[16];
        long n = query_decode(cases[i].in, strlen(cases[i].in), out, sizeof(out));
        cr_expect_eq(n, cases[i].len, "case %zu: %ld", i, n);
        if (n >= 0 && cases[i].len >= 0)
            cr_expect_str_eq(out, cases[i].out, "case %zu", i);
    }
}

Test(log, json_escape)
{
    char buf[64];
    size_t n = log_json_escape(buf, sizeof(buf), "a\"b\\c\n\x01", 7);
    cr_assert_eq(n, strlen("a\\\"b\\\\c\\n\\u0001"));
    cr_assert(memcmp(buf, "a\\\"b\\\\c\\n\\u0001", n) == 0);
    n = log_json_escape(buf, sizeof(buf), "/\xff\xc3\xa9", 4); /* a raw path: not UTF-8, then UTF-8 */
    cr_assert_eq(n, 6);
    cr_assert(memcmp(buf, "/\xef\xbf\xbd\xc3\xa9", n) == 0);
    cr_assert_eq(log_json_escape(buf, 3, "abcd", 4), 0, "does not fit");
    cr_assert_eq(log_json_escape(buf, 5, "\x01", 1), 0, "an escape that does not fit");
}

Test(utf8, sequences)
{
    static const struct {
        const char *s;
        int want;
    } cases[] = {
        {"a", 1},
        {"\x01", 1},
        {"\xc3\xa9", 2},
        {"\xe2\x82\xac", 3},
        {"\xf0\x9f\x94\x97", 4},
        {"\xf4\x8f\xbf\xbf", 4},
        {"\xed\x9f\xbf", 3},
        {"\x80", 0},
        {"\xc0\xaf", 0},
        {"\xc1\xbf", 0},
        {"\xe0\x80\xaf", 0},
        {"\xed\xa0\x80", 0},
        {"\xf0\x80\x80\x80", 0},
        {"\xf4\x90\x80\x80", 0},
        {"\xf5\x80\x80\x80", 0},
        {"\xff", 0},
        {"\xc3", -1},
        {"\xe2\x82", -1},
        {"\xf0\x9f\x94", -1},
        {"\xe2\x28", 0},
        {"\xc3\x28", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        cr_assert_eq(utf8_seq((const unsigned char *)cases[i].s, strlen(cases[i].s)), cases[i].want, "case %zu", i);
}

Test(utf8, scrub)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"", ""},
        {"plain caf\xc3\xa9 \xf0\x9f\x94\x97", "plain caf\xc3\xa9 \xf0\x9f\x94\x97"},
        {"/q=\xff\xfeok", "/q=??ok"},
        {"a\xc0\xafz", "a??z"},
        {"\xed\xa0\x80", "???"},
        {"cut \xc3", "cut "}, /* a character cut at the end is dropped */
        {"cut \xf0\x9f\x94", "cut "},
        {"\xe2\x82z", "??z"}, /* cut short before the end: replaced */
        {"\xe9t\xc3", "?t"},
        {"0123456789abcdef\xff"
         "0123456789",
         "0123456789abcdef?0123456789"}, /* past the 8-byte steps */
        {"01234\xc3\xa9"
         "789abcdef\xe2\x82",
         "01234\xc3\xa9"
         "789abcdef"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[64];
        size_t n = strlen(cases[i].in);
        memcpy(buf, cases[i].in, n);
        n = utf8_scrub(buf, n);
        buf[n] = '\0';
        cr_assert_str_eq(buf, cases[i].want, "case %zu", i);
    }
}

Test(id, strictly_increasing_and_time_ordered)
{
    cr_assert(sodium_init() >= 0);
    int64_t prev = 0;
    for (int i = 0; i < 100000; i++) {
        int64_t id = id_next(ID_EPOCH_MS + 1000);
        cr_assert_gt(id, prev);
        prev = id;
    }
    int64_t later = id_next(ID_EPOCH_MS + 10 * 1000);
    cr_assert_gt(later >> 22, (int64_t)1000, "the millisecond is in the high bits");
    int64_t now = 1800000000000LL, made = id_next(now);
    cr_assert_eq(id_time_ms(made), now, "id_time_ms gives back the millisecond");
}

Test(metrics, render_contains_series)
{
    static struct metrics_worker w1, w2;
    static struct metrics_writer wr;
    metrics_observe_request(&w1, ROUTE_REDIRECT, 302, 80);
    metrics_observe_request(&w2, ROUTE_REDIRECT, 302, 3000);
    metrics_observe_request(&w2, ROUTE_LINKS, 201, 900);
    metrics_observe_request(&w2, ROUTE_LINKS, 299, 900);
    metrics_observe_batch(&wr, 5, 1500);
    struct metrics_worker *ws[] = {&w1, &w2};
    struct metrics_gauges g = {.cache_entries = 7};
    static char buf[65536];
    size_t n = metrics_render(buf, sizeof(buf), ws, 2, &wr, &g);
    cr_assert_gt(n, 0);
    buf[n] = '\0';
    cr_assert(strstr(buf, "linkpulse_http_requests_total{route=\"redirect\",status=\"302\"} 2\n"));
    cr_assert(strstr(buf, "linkpulse_http_requests_total{route=\"links\",status=\"201\"} 1\n"));
    cr_assert(strstr(buf, "linkpulse_http_requests_total{route=\"links\",status=\"other\"} 1\n"));
    cr_assert(strstr(buf, "linkpulse_http_request_duration_seconds_bucket{le=\"0.0001\"} 1\n"));
    cr_assert(strstr(buf, "linkpulse_http_request_duration_seconds_bucket{le=\"+Inf\"} 4\n"));
    cr_assert(strstr(buf, "linkpulse_writer_batch_size_bucket{le=\"8\"} 1\n"));
    cr_assert(strstr(buf, "linkpulse_writer_commit_seconds_count 1\n"));
    cr_assert(strstr(buf, "linkpulse_cache_entries 7\n"));
    cr_assert_eq(metrics_render(buf, 100, ws, 2, &wr, &g), 0, "too small a buffer is reported, not truncated");
}

Test(dec, u64_table)
{
    static const struct {
        uint64_t v;
        const char *want;
    } cases[] = {{0, "0"},
                 {7, "7"},
                 {10, "10"},
                 {99, "99"},
                 {100, "100"},
                 {4294967295u, "4294967295"},
                 {UINT64_MAX, "18446744073709551615"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[DEC_U64_MAX + 1];
        size_t n = dec_u64(buf, cases[i].v);
        buf[n] = '\0';
        cr_expect_str_eq(buf, cases[i].want);
    }
    char buf[DEC_U64_MAX + 1]; /* every power of ten and the number before it, as snprintf writes them */
    for (uint64_t p = 1; p <= 1000000000000000000ull; p *= 10)
        for (uint64_t v = p - 1; v <= p; v++) {
            char want[32];
            snprintf(want, sizeof(want), "%llu", (unsigned long long)v);
            buf[dec_u64(buf, v)] = '\0';
            cr_expect_str_eq(buf, want);
        }
}

/* CRC-32C check values (RFC 3720 B.4 and the usual "123456789"), and the
 * CPU's instruction agreeing with the table at every length and alignment. */
Test(crc32c, vectors)
{
    uint8_t b[48];
    cr_assert_eq(crc32c(0, "123456789", 9), 0xe3069283u);
    cr_assert_eq(crc32c_sw(0, "123456789", 9), 0xe3069283u);
    cr_assert_eq(crc32c(0, "", 0), 0u);
    memset(b, 0, 32);
    cr_assert_eq(crc32c(0, b, 32), 0x8a9136aau);
    memset(b, 0xff, 32);
    cr_assert_eq(crc32c(0, b, 32), 0x62a8ab43u);
    for (int i = 0; i < 32; i++)
        b[i] = (uint8_t)i;
    cr_assert_eq(crc32c(0, b, 32), 0x46dd794eu);
    cr_assert_eq(crc32c(crc32c(0, b, 13), b + 13, 19), 0x46dd794eu, "a CRC continues across calls");
}

Test(crc32c, hardware_matches_table)
{
    uint8_t buf[300 + 8];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 131 + 7);
    for (size_t align = 0; align < 8; align++)
        for (size_t len = 0; len <= 300; len++)
            cr_assert_eq(crc32c(0, buf + align, len), crc32c_sw(0, buf + align, len), "len %zu align %zu", len, align);
}

static int by_key_then_val(const void *pa, const void *pb)
{
    const struct radix_item *a = pa, *b = pb;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return a->val < b->val ? -1 : a->val > b->val;
}

/* The radix sort against qsort by (key, input position): many equal keys
 * (stability), keys of every width up to 64 bits, and none or one item. */
Test(radix, sorts_stably)
{
    enum { N = 5000 };
    static struct radix_item a[N], tmp[N], want[N];
    static const uint64_t masks[] = {0, 0x3, 0xff, 0xfffff, 0xffffffffffULL, UINT64_MAX};
    uint64_t x = 88172645463325252ULL;
    for (size_t m = 0; m < sizeof(masks) / sizeof(masks[0]); m++)
        for (size_t n = 0; n <= N; n = n < 2 ? n + 1 : n * 7) {
            for (size_t i = 0; i < n; i++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                a[i] = (struct radix_item){.key = x & masks[m], .val = (uint32_t)i};
            }
            memcpy(want, a, n * sizeof(*a));
            qsort(want, n, sizeof(*want), by_key_then_val);
            struct radix_item *got = radix_sort(a, tmp, n);
            cr_assert(got == a || got == tmp);
            for (size_t i = 0; i < n; i++)
                cr_assert(got[i].key == want[i].key && got[i].val == want[i].val, "mask %zu, n %zu, at %zu", m, n, i);
        }
}
