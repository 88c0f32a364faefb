/* snap: the snapshot of a link that the cache holds for redirects (see
 * redirect.c), shared with the password gate (unlock.c). Plain data. */
#ifndef LP_API_SNAP_H
#define LP_API_SNAP_H

#include <stdbool.h>
#include <stdint.h>

/* What the cache holds for a link: enough to redirect, nothing more. */
struct link_snap {
    int64_t id;
    int64_t team_id;
    int64_t expires_at;
    int64_t max_visits;
    int64_t valid_since; /* lifetime (issue 4): before this instant it answers like an unknown code (0: always) */
    uint16_t redirect_type;
    uint16_t url_len;
    /* redirect rules, forward_query and UTM (issue 4) */
    uint16_t rules_len;
    uint16_t utm_len;
    uint8_t crawlable; /* crawlers and previews: no X-Robots-Tag: noindex */
    bool forward_query;
    bool disabled; /* lifetime (issue 4): answers like an unknown code */
    bool locked;   /* password-protected (issue 4): the form first */
    /* url bytes follow, then rules_len bytes of compiled rules (core/rules.h),
     * then utm_len bytes of the encoded UTM query (core/target.h); the
     * fields above are ordered so that no padding comes between them */
};

#endif
