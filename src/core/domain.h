/* domain: the rules for a short domain's hostname (issue 4). Pure;
 * thread-safe. */
#ifndef LP_CORE_DOMAIN_H
#define LP_CORE_DOMAIN_H

#include <stddef.h>

#define DOMAIN_HOST_MAX 253

/* A DNS name of letters, digits and hyphens in dot-separated labels (1-63
 * bytes, no hyphen at either end), at least two labels, at most 253 bytes,
 * not all-numeric (no IP literals); written lower-cased into out (capacity
 * DOMAIN_HOST_MAX + 1). NULL, or the reason it is refused. */
const char *domain_check_hostname(const char *s, size_t len, char *out);

/* The host of a Host header value (port dropped, lower-cased, a trailing
 * dot dropped) into out (capacity DOMAIN_HOST_MAX + 1); its length, or 0
 * when it cannot be a hostname. */
size_t domain_host_of(const char *host, size_t len, char *out);

#endif
