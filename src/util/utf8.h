/* utf8: UTF-8 sequences as RFC 3629 defines them (no overlong forms, no
 * UTF-16 surrogates, nothing past U+10FFFF), for text that comes from
 * outside and must come out as JSON: the JSON writer (util/jsonw.h), city
 * names from the GeoIP database, and a visit's request headers, which are
 * raw bytes and are cut at byte caps. Pure; thread-safe. */
#ifndef LP_UTIL_UTF8_H
#define LP_UTIL_UTF8_H

#include <stddef.h>

/* The sequence at s (n > 0 bytes left): its length (1 to 4; 1 for any
 * ASCII byte, control characters included); 0 if no sequence starts
 * there; -1 if one does but n ends it early. */
int utf8_seq(const unsigned char *s, size_t n);

/* Makes s[0..n) UTF-8 in place: a sequence cut short by the end is
 * dropped (the text was cut at a cap), and every other byte that starts
 * no sequence becomes '?'. Returns the new length (n, or less by at most
 * 3). */
size_t utf8_scrub(char *s, size_t n);

#endif
