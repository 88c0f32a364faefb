#include "util/query.h"

#include <string.h>

int query_find(const char *q, size_t qlen, const char *name, const char **val, size_t *vlen)
{
    return query_find_nth(q, qlen, name, 0, val, vlen);
}

int query_find_nth(const char *q, size_t qlen, const char *name, unsigned n, const char **val, size_t *vlen)
{
    size_t nlen = strlen(name);
    size_t i = 0;
    while (i < qlen) {
        size_t end = i;
        while (end < qlen && q[end] != '&')
            end++;
        const char *eq = memchr(q + i, '=', end - i);
        size_t klen = eq ? (size_t)(eq - (q + i)) : end - i;
        if (klen == nlen && memcmp(q + i, name, nlen) == 0 && n-- == 0) {
            *val = eq ? eq + 1 : q + end;
            *vlen = eq ? (size_t)(q + end - (eq + 1)) : 0;
            return 1;
        }
        i = end + 1;
    }
    return 0;
}

int query_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long query_decode(const char *v, size_t vlen, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < vlen; i++) {
        int c = (unsigned char)v[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (i + 2 >= vlen)
                return -1;
            int hi = query_hex_digit(v[i + 1]), lo = query_hex_digit(v[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = hi * 16 + lo;
            i += 2;
        }
        if (c == 0 || o + 1 >= cap)
            return -1;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return (long)o;
}
