#include "util/rfc3339.h"

#include <stdbool.h>
#include <stdio.h>

#define MS_PER_DAY INT64_C(86400000)

/* Howard Hinnant's days_from_civil / civil_from_days: proleptic Gregorian,
 * exact for all years we accept, with no table and no TZ database. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const unsigned char days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Reads exactly n digits at s[*pos]; -1 if any is not a digit. */
static int read_digits(const char *s, size_t len, size_t *pos, size_t n)
{
    int v = 0;

    if (len - *pos < n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[*pos + i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *pos += n;
    return v;
}

static bool expect(const char *s, size_t len, size_t *pos, char c)
{
    if (*pos >= len || s[*pos] != c)
        return false;
    (*pos)++;
    return true;
}

int rfc3339_parse(const char *s, size_t len, int64_t *unix_ms)
{
    size_t p = 0;
    int year, mon, day, hour, min, sec, ms = 0, off_min = 0;

    if (len > RFC3339_MAX_LEN)
        return -1;
    if ((year = read_digits(s, len, &p, 4)) < 0 || !expect(s, len, &p, '-') || (mon = read_digits(s, len, &p, 2)) < 0 ||
        !expect(s, len, &p, '-') || (day = read_digits(s, len, &p, 2)) < 0)
        return -1;
    if (p >= len || (s[p] != 'T' && s[p] != 't' && s[p] != ' '))
        return -1;
    p++;
    if ((hour = read_digits(s, len, &p, 2)) < 0 || !expect(s, len, &p, ':') || (min = read_digits(s, len, &p, 2)) < 0 ||
        !expect(s, len, &p, ':') || (sec = read_digits(s, len, &p, 2)) < 0)
        return -1;

    if (p < len && s[p] == '.') {
        size_t start = ++p;
        while (p < len && s[p] >= '0' && s[p] <= '9') {
            if (p - start < 3)
                ms = ms * 10 + (s[p] - '0');
            p++;
        }
        size_t n = p - start;
        if (n < 1 || n > 9)
            return -1;
        for (; n < 3; n++)
            ms *= 10;
    }

    if (p < len && (s[p] == 'Z' || s[p] == 'z')) {
        p++;
    } else if (p < len && (s[p] == '+' || s[p] == '-')) {
        int sign = s[p++] == '-' ? -1 : 1;
        int oh, om;
        if ((oh = read_digits(s, len, &p, 2)) < 0 || !expect(s, len, &p, ':') || (om = read_digits(s, len, &p, 2)) < 0)
            return -1;
        if (oh > 23 || om > 59)
            return -1;
        off_min = sign * (oh * 60 + om);
    } else {
        return -1;
    }
    if (p != len)
        return -1;

    if (year < 1970 || mon < 1 || mon > 12 || day < 1 || day > days_in_month(year, mon))
        return -1;
    if (hour > 23 || min > 59 || sec > 60)
        return -1;
    /* Unix time has no leap seconds; :60 is the last moment of :59. */
    if (sec == 60)
        sec = 59;

    int64_t t = days_from_civil(year, mon, day) * MS_PER_DAY +
                ((int64_t)hour * 3600 + (int64_t)min * 60 + sec - (int64_t)off_min * 60) * 1000 + ms;
    /* The local date may be in range while the instant is not
     * (1970-01-01T00:00:00+01:00); formatting could not round-trip it. */
    if (t < RFC3339_MIN_MS || t > RFC3339_MAX_MS)
        return -1;
    *unix_ms = t;
    return 0;
}

size_t rfc3339_format(int64_t unix_ms, char out[RFC3339_BUF])
{
    int y, m, d;

    if (unix_ms < RFC3339_MIN_MS)
        unix_ms = RFC3339_MIN_MS;
    if (unix_ms > RFC3339_MAX_MS)
        unix_ms = RFC3339_MAX_MS;
    int64_t days = unix_ms / MS_PER_DAY;
    int64_t rem = unix_ms % MS_PER_DAY;
    civil_from_days(days, &y, &m, &d);
    /* By hand: this runs for every access-log line. y is 0..9999 here. */
    const int parts[7] = {y, m, d, (int)(rem / 3600000), (int)(rem / 60000 % 60), (int)(rem / 1000 % 60),
                          (int)(rem % 1000)};
    static const char seps[7] = {'-', '-', 'T', ':', ':', '.', 'Z'};
    static const int widths[7] = {4, 2, 2, 2, 2, 2, 3};
    char *p = out;
    for (int i = 0; i < 7; i++) {
        int v = parts[i];
        for (int k = widths[i] - 1; k >= 0; k--, v /= 10)
            p[k] = (char)('0' + v % 10);
        p += widths[i];
        *p++ = seps[i];
    }
    *p = '\0';
    return (size_t)(p - out);
}
