/* query: finds a parameter in a URL query string. Pure; thread-safe.
 * Values are returned raw (not percent-decoded): callers use it for
 * parameters whose valid values need no decoding (numbers, cursors). */
#ifndef LP_UTIL_QUERY_H
#define LP_UTIL_QUERY_H

#include <stddef.h>

/* 1 and the value when name occurs in q ("a=1&b=2", without '?'), else 0.
 * The first occurrence wins; "name" without '=' has an empty value. */
int query_find(const char *q, size_t qlen, const char *name, const char **val, size_t *vlen);

#endif
