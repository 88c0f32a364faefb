/* enrich: pure helpers that turn raw request bytes into visit fields:
 * the referrer's host, the preferred language, the visitor's UTM
 * parameters. Bytes in, bounded strings out; thread-safe. */
#ifndef LP_ANALYTICS_ENRICH_H
#define LP_ANALYTICS_ENRICH_H

#include <stddef.h>

/* "https://Www.Example.com:8443/x?y" → "www.example.com"; "" when the
 * referrer is not an absolute http(s) URL. */
void enrich_referrer_host(const char *ref, size_t len, char *out, size_t cap);

/* The tag with the highest q in an Accept-Language value, lower-cased
 * ("da, en-GB;q=0.8" → "da"); "" when none. Ties keep the first. */
void enrich_language(const char *al, size_t len, char *out, size_t cap);

/* utm_source, utm_medium, utm_campaign, utm_term, utm_content from a query
 * string (without '?'), percent- and '+'-decoded, control bytes dropped,
 * each truncated to cap - 1 bytes; "" when absent. */
void enrich_utm(const char *query, size_t len, char out[5][64]);

#endif
