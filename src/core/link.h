/* link: the link record and the rules for its fields. Pure; thread-safe.
 * The API layer decodes JSON into typed values and asks these functions
 * whether each value is acceptable; each returns NULL when it is, or a short
 * reason for the problem's invalid_params. */
#ifndef LP_CORE_LINK_H
#define LP_CORE_LINK_H

#include "core/domain.h"
#include "core/slug.h"
#include "core/url.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LINK_CODE_MAX SLUG_MAX_LEN
#define LINK_CODE_LEN_DEFAULT 7
#define LINK_CODE_LEN_MIN 4
#define LINK_CODE_LEN_MAX 32
#define LINK_TITLE_MAX_CHARS 512
#define LINK_TITLE_MAX_BYTES (4 * LINK_TITLE_MAX_CHARS)
#define LINK_MAX_VISITS_CAP 1000000000000LL
/* redirect rules (issue 4): bytes of a link's compiled rules (core/rules.h) */
#define LINK_RULES_MAX 4096
/* forward_query and UTM fields (issue 4) */
#define LINK_UTM_N 5        /* utm_source, utm_medium, utm_campaign, utm_term, utm_content */
#define LINK_UTM_MAX 128    /* bytes of one UTM value */
/* tags and notes (issue 4) */
#define LINK_TAGS_MAX 20    /* tags on one link */
#define LINK_TAG_MAX_BYTES 64
#define LINK_NOTE_MAX_BYTES 4096
/* password-protected links (issue 4) */
#define LINK_PASSWORD_MAX 128 /* bytes of a link's password */
#define LINK_PWHASH_MAX 127   /* crypto_pwhash_STRBYTES - 1 */

struct link {
    int64_t id;
    int64_t team_id;
    int64_t domain_id;
    int64_t created_at; /* Unix ms */
    int64_t updated_at;
    int64_t expires_at; /* 0: never */
    int64_t max_visits; /* 0: unlimited */
    int64_t visits;     /* visits spent against max_visits (bots and HEAD excluded) */
    int64_t visits_total; /* every recorded visit, bots included */
    int64_t visits_bots;
    int redirect_type;
    bool has_title;
    char code[LINK_CODE_MAX + 1];
    char url[URL_MAX_LEN + 1];
    char title[LINK_TITLE_MAX_BYTES + 1];
    /* Crawlers and previews (issue 4): listed as Allow in /robots.txt, and
     * its redirects carry no X-Robots-Tag: noindex. */
    bool crawlable;
    /* redirect rules (issue 4): the compact form of core/rules.h, 0 bytes when none */
    uint16_t rules_len;
    uint8_t rules[LINK_RULES_MAX];
    /* forward_query and UTM fields (issue 4); "" = not set */
    bool forward_query;
    char utm[LINK_UTM_N][LINK_UTM_MAX + 1];
    /* tags and notes (issue 4): tags sorted without case, as the team spells them */
    bool has_note;
    uint8_t ntags;
    char note[LINK_NOTE_MAX_BYTES + 1];
    char tags[LINK_TAGS_MAX][LINK_TAG_MAX_BYTES + 1];
    /* lifetime (issue 4): before valid_since (0: always) or while disabled,
     * the short link answers like an unknown code */
    int64_t valid_since;
    bool disabled;
    /* password-protected links (issue 4): the argon2id hash (crypto_pwhash_str), "" when none */
    char password_hash[LINK_PWHASH_MAX + 1];
    /* domains (issue 4): the link's short domain, "" for the default one */
    char domain[DOMAIN_HOST_MAX + 1];
};

/* Fields a create or update may carry (bit set in link_change.set). */
enum link_field {
    LINK_F_URL = 1u << 0,
    LINK_F_SLUG = 1u << 1,
    LINK_F_TITLE = 1u << 2,
    LINK_F_EXPIRES = 1u << 3,
    LINK_F_MAX_VISITS = 1u << 4,
    LINK_F_REDIRECT = 1u << 5,
    LINK_F_TAGS = 1u << 6, /* tags and notes (issue 4) */
    LINK_F_NOTE = 1u << 7,
    LINK_F_VALID_SINCE = 1u << 8, /* lifetime (issue 4) */
    LINK_F_ENABLED = 1u << 9,
    LINK_F_PASSWORD = 1u << 10, /* password-protected links (issue 4) */
    LINK_F_CRAWLABLE = 1u << 14, /* crawlers and previews */
    LINK_F_CAPPED = 1u << 16, /* not a field: the plan shortened the requested expiry */
    /* forward_query and UTM fields (issue 4) */
    LINK_F_FORWARD_QUERY = 1u << 24,
    LINK_F_UTM = 1u << 25, /* bit 25 + i: utm[i] */
    LINK_F_REDIRECT_OPTS = 0x3fu << 24, /* all of the above */
};

/* The service's own origin, so links back to it (redirect loops) are refused. */
struct link_policy {
    char self_host[256];
    unsigned self_port;
};

enum link_state { LINK_ACTIVE, LINK_EXPIRED, LINK_EXHAUSTED, LINK_NOT_YET, LINK_DISABLED };

/* Normalises raw into out (capacity URL_MAX_LEN + 1); NULL or a reason. */
const char *link_check_url(const struct link_policy *p, const char *raw, size_t len, char *out, size_t *outlen);
const char *link_check_slug(const char *s, size_t len);
const char *link_check_title(const char *s, size_t len);
const char *link_check_expires(int64_t expires_ms, int64_t now_ms);
const char *link_check_max_visits(int64_t v);
const char *link_check_redirect_type(int64_t v);

/* forward_query and UTM fields (issue 4) */
extern const char *const link_utm_names[LINK_UTM_N]; /* "utm_source", ... */
/* A UTM value: 1 to LINK_UTM_MAX bytes, no control characters. */
const char *link_check_utm(const char *s, size_t len);

/* tags and notes (issue 4). A tag: 1 to 64 bytes of UTF-8 without control
 * characters, commas or leading/trailing spaces; teams compare tags without
 * ASCII case. A note: up to 4096 bytes, no control characters but newlines
 * and tabs. */
const char *link_check_tag(const char *s, size_t len);
const char *link_check_note(const char *s, size_t len);
/* Lower-cases ASCII letters of s[0..len) into out (capacity len + 1). */
void link_tag_fold(const char *s, size_t len, char *out);

enum link_state link_state_at(int64_t expires_at, int64_t max_visits, int64_t visits, int64_t now_ms);
/* The same with the lifetime switches: disabled, then not yet valid, then
 * link_state_at. The first two answer like an unknown code. */
enum link_state link_state(const struct link *l, int64_t now_ms);

/* Fills p from a base URL such as "https://s.example.com"; -1 if unusable. */
int link_policy_from_base_url(struct link_policy *p, const char *base_url);

#endif
