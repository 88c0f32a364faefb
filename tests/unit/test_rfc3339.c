/* rfc3339: a parse table with exact milliseconds (expected values computed
 * independently with Python's datetime), then formatting and round trips. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "util/rfc3339.h"

struct ts_case {
    const char *in;
    int rc;
    int64_t ms;
};

/* clang-format off */
#define OK(s, v) {(s), 0, INT64_C(v)}
#define BAD(s) {(s), -1, 0}

static const struct ts_case ts_cases[] = {
    OK("1970-01-01T00:00:00Z", 0),
    OK("1970-01-01T00:00:00.001Z", 1),
    OK("2026-11-23T22:13:53.123Z", 1795472033123),
    OK("2026-11-23t22:13:53.123z", 1795472033123),
    OK("2026-11-23 22:13:53.123Z", 1795472033123),
    OK("2026-11-23T22:13:53.123+00:00", 1795472033123),
    OK("2026-11-23T22:13:53.123-00:00", 1795472033123),
    OK("2026-11-23T22:13:53+05:30", 1795452233000),
    OK("2026-11-23T22:13:53-08:00", 1795500833000),
    OK("1996-12-19T16:39:57-08:00", 851042397000),
    OK("1985-04-12T23:20:50.52Z", 482196050520),
    OK("1985-04-12T23:20:50.5Z", 482196050500),
    OK("1985-04-12T23:20:50.520999999Z", 482196050520), /* truncated, not rounded */
    OK("1985-04-12T23:20:50.0000Z", 482196050000),
    OK("2024-02-29T12:00:00Z", 1709208000000),
    OK("2000-02-29T00:00:00Z", 951782400000),
    OK("2100-03-01T00:00:00Z", 4107542400000),
    OK("2038-01-19T03:14:08Z", 2147483648000),
    OK("1999-12-31T23:59:59Z", 946684799000),
    OK("2016-12-31T23:59:60Z", 1483228799000), /* leap second read as :59 */
    OK("2016-12-31T23:59:60.5Z", 1483228799500),
    OK("2024-12-31T23:59:59.999Z", 1735689599999),
    OK("2025-01-01T00:00:00-23:59", 1735775940000),
    OK("1970-01-01T01:00:00+01:00", 0),
    OK("9999-12-31T23:59:59.999Z", 253402300799999),
    OK("9999-12-31T23:59:59+00:00", 253402300799000),

    BAD(""),
    BAD("2023-02-29T00:00:00Z"), /* not a leap year */
    BAD("1900-02-29T00:00:00Z"),
    BAD("2100-02-29T00:00:00Z"),
    BAD("2024-02-30T00:00:00Z"),
    BAD("2024-04-31T00:00:00Z"),
    BAD("2024-00-10T00:00:00Z"),
    BAD("2024-13-10T00:00:00Z"),
    BAD("2024-01-00T00:00:00Z"),
    BAD("2024-01-32T00:00:00Z"),
    BAD("2024-01-10T24:00:00Z"),
    BAD("2024-01-10T23:60:00Z"),
    BAD("2024-01-10T23:59:61Z"),
    BAD("2024-01-10T23:59:59+24:00"),
    BAD("2024-01-10T23:59:59+23:60"),
    BAD("2024-01-10T23:59:59+0100"),
    BAD("2024-01-10T23:59:59+01"),
    BAD("2024-01-10T23:59:59"), /* offset is required */
    BAD("2024-01-10T23:59:59.Z"),
    BAD("2024-01-10T23:59:59.1234567890Z"),
    BAD("2024-01-10T23:59:59Zjunk"),
    BAD("2024-01-10T23:59:59Z "),
    BAD(" 2024-01-10T23:59:59Z"),
    BAD("2024-01-10T23:59:59+01:00x"),
    BAD("2024-01-10X23:59:59Z"),
    BAD("2024-01-10"),
    BAD("24-01-10T23:59:59Z"),
    BAD("2024-1-10T23:59:59Z"),
    BAD("2024-01-10T3:59:59Z"),
    BAD("2024/01/10T23:59:59Z"),
    BAD("+2024-01-10T23:59:59Z"),
    BAD("2024-01-10T23:59:5aZ"),
    BAD("1969-12-31T23:59:59Z"),
    BAD("1970-01-01T00:00:00+00:01"), /* before the epoch in UTC */
    BAD("0000-01-01T00:00:00Z"),
    BAD("9999-12-31T23:59:59-00:01"), /* year 10000 in UTC */
    BAD("10000-01-01T00:00:00Z"),
};
/* clang-format on */

Test(rfc3339, table)
{
    size_t n = sizeof(ts_cases) / sizeof(ts_cases[0]);

    cr_assert_geq(n, 25);
    for (size_t i = 0; i < n; i++) {
        const struct ts_case *c = &ts_cases[i];
        int64_t ms = -42;
        int rc = rfc3339_parse(c->in, strlen(c->in), &ms);

        cr_expect_eq(rc, c->rc, "case %zu \"%s\": rc %d", i, c->in, rc);
        if (rc == 0 && c->rc == 0)
            cr_expect_eq(ms, c->ms, "case %zu \"%s\": %lld != %lld", i, c->in, (long long)ms, (long long)c->ms);
        if (rc != 0)
            cr_expect_eq(ms, -42, "case %zu: output untouched on error", i);
    }
}

Test(rfc3339, parse_respects_len)
{
    const char *s = "2026-11-23T22:13:53.123Z trailing";
    int64_t ms;

    cr_expect_eq(rfc3339_parse(s, 24, &ms), 0);
    cr_expect_eq(ms, INT64_C(1795472033123));
    cr_expect_eq(rfc3339_parse(s, 23, &ms), -1);
    cr_expect_eq(rfc3339_parse(s, 0, &ms), -1);
}

Test(rfc3339, format)
{
    char buf[RFC3339_BUF];
    static const struct {
        int64_t ms;
        const char *out;
    } f[] = {
        {0, "1970-01-01T00:00:00.000Z"},
        {1, "1970-01-01T00:00:00.001Z"},
        {INT64_C(1795472033123), "2026-11-23T22:13:53.123Z"},
        {INT64_C(1709208000000), "2024-02-29T12:00:00.000Z"},
        {INT64_C(951782399999), "2000-02-28T23:59:59.999Z"},
        {INT64_C(253402300799999), "9999-12-31T23:59:59.999Z"},
        {-1, "1970-01-01T00:00:00.000Z"},                       /* clamped */
        {INT64_MIN, "1970-01-01T00:00:00.000Z"},                /* clamped */
        {INT64_C(253402300800000), "9999-12-31T23:59:59.999Z"}, /* clamped */
        {INT64_MAX, "9999-12-31T23:59:59.999Z"},                /* clamped */
    };

    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        size_t n = rfc3339_format(f[i].ms, buf);
        cr_expect_str_eq(buf, f[i].out, "format %zu", i);
        cr_expect_eq(n, strlen(f[i].out), "format %zu", i);
    }
}

Test(rfc3339, round_trip_table)
{
    char buf[RFC3339_BUF];

    for (size_t i = 0; i < sizeof(ts_cases) / sizeof(ts_cases[0]); i++) {
        int64_t ms, again;
        if (ts_cases[i].rc != 0)
            continue;
        cr_assert_eq(rfc3339_parse(ts_cases[i].in, strlen(ts_cases[i].in), &ms), 0);
        size_t n = rfc3339_format(ms, buf);
        cr_expect_eq(rfc3339_parse(buf, n, &again), 0, "\"%s\"", buf);
        cr_expect_eq(again, ms, "\"%s\"", buf);
    }
}

/* Every day from 1970 to 9999 once, at a time of day that moves with it,
 * so month lengths and every leap rule are crossed both ways. */
Test(rfc3339, round_trip_every_day)
{
    char buf[RFC3339_BUF];
    const int64_t day = INT64_C(86400000);
    int64_t prev_day = -1;

    for (int64_t d = 0; d * day <= RFC3339_MAX_MS; d++) {
        int64_t ms = d * day + (d * INT64_C(7919) % day), again;
        size_t n = rfc3339_format(ms, buf);
        cr_assert_eq(n, 24, "%s", buf);
        cr_assert_eq(rfc3339_parse(buf, n, &again), 0, "%s", buf);
        cr_assert_eq(again, ms, "%s", buf);
        cr_assert_eq(ms / day, prev_day + 1);
        prev_day = ms / day;
    }
}
