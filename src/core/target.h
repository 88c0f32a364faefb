/* target: the Location of a redirect, from the target URL (the link's, or
 * a rule's), the link's UTM parameters and, with forward_query, the
 * visitor's query string. Pure; no allocation (the caller passes the
 * buffer: the redirect path takes it from the request pool); thread-safe.
 *
 * Parameters are compared by their raw name (the bytes before '='):
 * - the visitor's parameters (forward_query) override same-named ones of the
 *   target and the link's UTM values, and come last, in the visitor's order
 *   (as Shlink merges: the request's parameters take precedence);
 * - the link's UTM values are added unless the target URL (or the
 *   forwarded query) already has that parameter: a URL that carries its own
 *   utm_source keeps it;
 * - the target's other parameters keep their order; the fragment stays at
 *   the end. Empty parameters ("a=1&&b") are dropped. */
#ifndef LP_CORE_TARGET_H
#define LP_CORE_TARGET_H

#include <stdbool.h>
#include <stddef.h>

#include "core/link.h"

/* Bytes of the encoded UTM query of a link, at most: */
#define TARGET_UTM_QUERY_MAX (LINK_UTM_N * (sizeof("utm_content=&") + 3 * LINK_UTM_MAX))

/* Writes "utm_source=...&utm_medium=..." (values percent-encoded, only the
 * set ones, in that order) into out (capacity TARGET_UTM_QUERY_MAX);
 * returns its length (0 when none is set). */
size_t target_utm_query(const struct link *l, char *out);

/* Room the output of target_build may need. */
static inline size_t target_cap(size_t url_len, size_t utm_len, size_t visitor_len)
{
    return url_len + utm_len + visitor_len + 2;
}

/* Builds the Location into out (capacity target_cap(...)). visitor is the
 * raw query string without '?' (NULL or "" for none), used only when
 * forward is set. Returns the length. */
size_t target_build(char *out, const char *url, size_t url_len, const char *utm, size_t utm_len, bool forward,
                    const char *visitor, size_t visitor_len);

#endif
