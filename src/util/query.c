#include "util/query.h"

#include <string.h>

int query_find(const char *q, size_t qlen, const char *name, const char **val, size_t *vlen)
{
    size_t nlen = strlen(name);
    size_t i = 0;
    while (i < qlen) {
        size_t end = i;
        while (end < qlen && q[end] != '&')
            end++;
        const char *eq = memchr(q + i, '=', end - i);
        size_t klen = eq ? (size_t)(eq - (q + i)) : end - i;
        if (klen == nlen && memcmp(q + i, name, nlen) == 0) {
            *val = eq ? eq + 1 : q + end;
            *vlen = eq ? (size_t)(q + end - (eq + 1)) : 0;
            return 1;
        }
        i = end + 1;
    }
    return 0;
}
