/* rules: per-link redirect rules. Pure; no allocation; thread-safe.
 *
 * The API hands rules_compile() the JSON array a client PUT; it checks every
 * field (naming the path of the first bad one, e.g.
 * "rules[2].conditions[0].value") and writes the compact form, a byte string
 * that is stored with the link, cached with it, and read on the redirect
 * path by rules_eval() without allocating. rules_json() turns the compact
 * form back into the API's JSON.
 *
 * Compact form (integers little-endian):
 *   u8 version (1), u8 nrules, then per rule:
 *   u16 url_len, url bytes (normalised by link_check_url), u8 nconds, then
 *   per condition u8 type and its payload:
 *     DEVICE, OS, BROWSER   u8 enum value
 *     LANGUAGE              u8 len (1..RULES_LANG_MAX), lower-case tag
 *     COUNTRY               2 upper-case letters
 *     QUERY                 u8 name_len (1..), name, u8 has_value,
 *                           [u8 value_len, value] (percent-decoded text)
 *     BEFORE, AFTER         i64 Unix ms
 *     IP                    u8 family (4|6), u8 prefix, 16 address bytes
 *                           (host bits clear)
 * rules_check() accepts exactly the strings rules_compile() can produce
 * (modulo URL normalisation), so a damaged stored value is refused rather
 * than read out of bounds.
 *
 * Semantics: rules are tried in order; the first whose conditions all hold
 * gives the target; none matching (or no rules) means the link's own URL.
 * A condition whose fact is unknown (no GeoIP country, no Accept-Language)
 * does not hold. Language: a rule for "fr" holds when "fr" or any "fr-XX"
 * is among the visitor's Accept-Language entries with q > 0, wherever it
 * is in the list (not only the preferred one); "fr-ca" holds for "fr-CA"
 * and its subtags only; "*" never satisfies a rule. */
#ifndef LP_CORE_RULES_H
#define LP_CORE_RULES_H

#include "analytics/ua.h"
#include "core/link.h"
#include "util/ipaddr.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RULES_MAX 32                  /* rules per link */
#define RULES_COND_MAX 8              /* conditions per rule */
#define RULES_BLOB_MAX LINK_RULES_MAX /* bytes of the compact form */
#define RULES_LANG_MAX 35             /* a language tag such as "zh-hant-tw" */
#define RULES_QUERY_NAME_MAX 64
#define RULES_QUERY_VALUE_MAX 128
#define RULES_PATH_MAX 64        /* "rules[31].conditions[7].value" fits */
#define RULES_ACCEPT_LANG_MAX 16 /* Accept-Language entries looked at */

enum rules_cond_type {
    RULES_C_DEVICE = 1,
    RULES_C_OS,
    RULES_C_BROWSER,
    RULES_C_LANGUAGE,
    RULES_C_COUNTRY,
    RULES_C_QUERY,
    RULES_C_BEFORE,
    RULES_C_AFTER,
    RULES_C_IP,
};

/* Which visitor facts the rules read (rules_needs), so the redirect path
 * parses the user agent or looks GeoIP up only when a rule asks. */
enum rules_need {
    RULES_NEED_UA = 1u << 0,
    RULES_NEED_COUNTRY = 1u << 1,
    RULES_NEED_IP = 1u << 2,
};

enum rules_os {
    RULES_OS_OTHER,
    RULES_OS_IOS,
    RULES_OS_ANDROID,
    RULES_OS_WINDOWS,
    RULES_OS_MACOS,
    RULES_OS_LINUX,
    RULES_OS_CHROMEOS,
    RULES_OS__N
};
enum rules_browser {
    RULES_BR_OTHER,
    RULES_BR_CHROME,
    RULES_BR_FIREFOX,
    RULES_BR_SAFARI,
    RULES_BR_EDGE,
    RULES_BR_OPERA,
    RULES_BR_SAMSUNG,
    RULES_BR_IE,
    RULES_BR_YANDEX,
    RULES_BR_UC,
    RULES_BR_BRAVE,
    RULES_BR_VIVALDI,
    RULES_BR__N
};

/* What is known about the visitor. Strings need not be NUL-terminated. */
struct rules_facts {
    int64_t now_ms;
    enum ua_device device; /* filled by rules_facts_ua */
    enum rules_os os;
    enum rules_browser browser;
    char country[2];   /* upper case; 0 0 when unknown */
    struct ipaddr ip;  /* family 0 when unknown */
    const char *query; /* the raw query string without '?' */
    size_t query_len;
    const char *accept_language;
    size_t accept_language_len;
};

/* Maps the UA parser's families onto the rule vocabulary. */
void rules_facts_ua(struct rules_facts *f, const struct ua_info *ua);

/* Compiles a JSON array of rules into out (capacity RULES_BLOB_MAX). 0 and
 * *outlen, or -1 with the field path (e.g. "rules[0].url") in path and a
 * short reason in *why. */
int rules_compile(const json_t *rules, const struct link_policy *p, uint8_t *out, size_t *outlen,
                  char path[RULES_PATH_MAX], const char **why);

/* 0 when b[0..len) is a well-formed compact form; -1 otherwise. */
int rules_check(const uint8_t *b, size_t len);

/* Bit set of enum rules_need for a checked compact form. */
unsigned rules_needs(const uint8_t *b, size_t len);

/* Evaluates a checked compact form: 1 and the winning rule's URL (pointing
 * into b), or 0 when no rule matches (or len is 0). */
int rules_eval(const uint8_t *b, size_t len, const struct rules_facts *f, const char **url, size_t *url_len);

/* The API's JSON array for a checked compact form (NULL on allocation
 * failure). */
json_t *rules_json(const uint8_t *b, size_t len);

/* ---- Accept-Language (RFC 9110 section 12.5.4) ---- */

struct rules_lang {
    const char *tag; /* into the header; not NUL-terminated */
    uint8_t len;
    uint16_t q; /* 0..1000 */
};

/* Parses up to cap entries of an Accept-Language value, in header order.
 * Malformed entries (bad tag, bad q) are skipped; "*" is kept. Returns the
 * number of entries written. */
size_t rules_accept_language(const char *h, size_t len, struct rules_lang *out, size_t cap);

/* Whether the visitor's Accept-Language h accepts tag (lower case) as
 * described above. */
bool rules_lang_match(const char *h, size_t hlen, const char *tag, size_t taglen);

#endif
