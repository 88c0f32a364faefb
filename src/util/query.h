/* query: finds a parameter in a URL query string. Pure; thread-safe.
 * Values are returned raw (not percent-decoded): callers use it for
 * parameters whose valid values need no decoding (numbers, cursors). */
#ifndef LP_UTIL_QUERY_H
#define LP_UTIL_QUERY_H

#include <stddef.h>

/* 1 and the value when name occurs in q ("a=1&b=2", without '?'), else 0.
 * The first occurrence wins; "name" without '=' has an empty value. */
int query_find(const char *q, size_t qlen, const char *name, const char **val, size_t *vlen);

/* The n-th (0-based) occurrence of name, like query_find. */
int query_find_nth(const char *q, size_t qlen, const char *name, unsigned n, const char **val, size_t *vlen);

/* Percent-decodes v[0..vlen) ('+' is a space) into out (capacity cap,
 * NUL-terminated); the decoded length, or -1 if a %-escape is malformed,
 * the result holds a NUL byte or does not fit. */
long query_decode(const char *v, size_t vlen, char *out, size_t cap);

/* The value of a hexadecimal digit (either case), or -1. */
int query_hex_digit(char c);

#endif
