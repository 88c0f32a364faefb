/* snap: the snapshot of a link that the redirect path works from (see
 * api/redirect.c and the password gate, api/unlock.c), and the packed form
 * of it that the link cache holds.
 *
 * Unpacked, a snapshot is a struct link_snap followed by its bytes: the
 * URL, the compiled rules (core/rules.h), the encoded UTM query
 * (core/target.h). Packed, the fixed fields shrink to what they hold: a
 * flags byte, then LEB128 varints (util/leb128.h) for the redirect type,
 * id, team and URL length, then only the optional fields that are set
 * (expiry, visit limit, start, rule and UTM lengths), then the same bytes.
 * A typical link's fields take 8 bytes packed against 52 unpacked, and the
 * cache holds a million of them.
 *
 * The packed form is canonical: a field that is zero is absent, varints are
 * in their shortest form, so snap_unpack followed by snap_pack gives back
 * the input. Pure; no allocation; thread-safe. */
#ifndef LP_CORE_SNAP_H
#define LP_CORE_SNAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/link.h"
#include "core/target.h"
#include "core/url.h"
#include "util/leb128.h"

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

/* Bytes of the bytes that follow a snapshot, at most. */
#define SNAP_TAIL_MAX (URL_MAX_LEN + LINK_RULES_MAX + TARGET_UTM_QUERY_MAX)
/* The largest unpacked snapshot. */
#define SNAP_MAX (sizeof(struct link_snap) + SNAP_TAIL_MAX)
/* The largest packed one: the flags byte and 9 varints more than the tail. */
#define SNAP_PACKED_MAX (1 + 9 * LEB128_MAX + SNAP_TAIL_MAX)

/* Builds the unpacked snapshot of l at buf (capacity SNAP_MAX, aligned for
 * struct link_snap); returns its size. */
size_t snap_of_link(void *buf, const struct link *l);

/* Packs the unpacked snapshot s (its bytes following it) into out
 * (capacity SNAP_PACKED_MAX); returns the packed size. */
size_t snap_pack(uint8_t *out, const struct link_snap *s);

/* Unpacks in[0..n) into buf (capacity cap, aligned for struct link_snap);
 * returns the unpacked size, or 0 when the input is not a canonical packed
 * snapshot or does not fit. */
size_t snap_unpack(void *buf, size_t cap, const uint8_t *in, size_t n);

#endif
