/* rfc3339: RFC 3339 date-times <-> Unix milliseconds, for API fields such
 * as expires_at. Parsing accepts what RFC 3339 section 5.6 allows
 * (fractions of 1-9 digits, 'T'/'t'/' ' separator, Z/z or +-HH:MM) and
 * refuses the rest; formatting always writes UTC with milliseconds.
 * Instants are limited to 1970-01-01T00:00:00Z..9999-12-31T23:59:59.999Z.
 * Pure arithmetic (no TZ, no locale, no libc time calls); thread-safe. */
#ifndef LP_UTIL_RFC3339_H
#define LP_UTIL_RFC3339_H

#include <stddef.h>
#include <stdint.h>

#define RFC3339_BUF 32     /* "YYYY-MM-DDTHH:MM:SS.mmmZ" + NUL, with room */
#define RFC3339_MAX_LEN 35 /* "YYYY-MM-DDTHH:MM:SS.nnnnnnnnn+HH:MM" */
#define RFC3339_MIN_MS INT64_C(0)
#define RFC3339_MAX_MS INT64_C(253402300799999) /* 9999-12-31T23:59:59.999Z */

/* Parses s[0..len) exactly (no surrounding space). A leap second (:60) is
 * read as :59; fraction digits beyond milliseconds are dropped. 0, or -1 on
 * any syntax or range error, including instants outside the range above. */
int rfc3339_parse(const char *s, size_t len, int64_t *unix_ms);

/* Writes e.g. "2026-11-23T22:13:53.123Z" and its NUL; returns the length
 * (24). unix_ms outside [RFC3339_MIN_MS, RFC3339_MAX_MS] is clamped. */
size_t rfc3339_format(int64_t unix_ms, char out[RFC3339_BUF]);

#endif
