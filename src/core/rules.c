/* rules: compile, check and evaluate redirect rules; see rules.h. */
#include "core/rules.h"

#include "util/rfc3339.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define RULES_VERSION 1

static const char *const device_names[] = {
    [UA_DEVICE_DESKTOP] = "desktop", [UA_DEVICE_MOBILE] = "mobile", [UA_DEVICE_TABLET] = "tablet"};
static const char *const os_names[RULES_OS__N] = {
    [RULES_OS_IOS] = "ios",     [RULES_OS_ANDROID] = "android", [RULES_OS_WINDOWS] = "windows",
    [RULES_OS_MACOS] = "macos", [RULES_OS_LINUX] = "linux",     [RULES_OS_CHROMEOS] = "chromeos",
};
static const char *const browser_names[RULES_BR__N] = {
    [RULES_BR_CHROME] = "chrome", [RULES_BR_FIREFOX] = "firefox", [RULES_BR_SAFARI] = "safari",
    [RULES_BR_EDGE] = "edge",     [RULES_BR_OPERA] = "opera",     [RULES_BR_SAMSUNG] = "samsung",
    [RULES_BR_IE] = "ie",         [RULES_BR_YANDEX] = "yandex",   [RULES_BR_UC] = "uc",
    [RULES_BR_BRAVE] = "brave",   [RULES_BR_VIVALDI] = "vivaldi",
};
static const char *const type_names[] = {
    [RULES_C_DEVICE] = "device",     [RULES_C_OS] = "os",           [RULES_C_BROWSER] = "browser",
    [RULES_C_LANGUAGE] = "language", [RULES_C_COUNTRY] = "country", [RULES_C_QUERY] = "query",
    [RULES_C_BEFORE] = "before",     [RULES_C_AFTER] = "after",     [RULES_C_IP] = "ip",
};
#define NTYPES (sizeof(type_names) / sizeof(type_names[0]))

static int name_index(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (names[i] != NULL && strcmp(names[i], s) == 0)
            return (int)i;
    return -1;
}

static bool starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

void rules_facts_ua(struct rules_facts *f, const struct ua_info *ua)
{
    f->device = ua->device;
    const char *o = ua->os;
    if (strcmp(o, "iOS") == 0)
        f->os = RULES_OS_IOS;
    else if (strcmp(o, "Android") == 0)
        f->os = RULES_OS_ANDROID;
    else if (starts(o, "Windows"))
        f->os = RULES_OS_WINDOWS;
    else if (strcmp(o, "Mac OS X") == 0 || strcmp(o, "Mac OS") == 0)
        f->os = RULES_OS_MACOS;
    else if (strcmp(o, "Linux") == 0 || strcmp(o, "Ubuntu") == 0 || strcmp(o, "Debian") == 0 ||
             strcmp(o, "Fedora") == 0)
        f->os = RULES_OS_LINUX;
    else if (strcmp(o, "Chrome OS") == 0)
        f->os = RULES_OS_CHROMEOS;
    else
        f->os = RULES_OS_OTHER;

    const char *b = ua->browser;
    if (starts(b, "Chrome") || strcmp(b, "Chromium") == 0)
        f->browser = RULES_BR_CHROME; /* Chrome, Chrome Mobile, Chrome Mobile iOS, Chrome Mobile WebView */
    else if (starts(b, "Firefox"))
        f->browser = RULES_BR_FIREFOX;
    else if (strcmp(b, "Safari") == 0 || strcmp(b, "Mobile Safari") == 0)
        f->browser = RULES_BR_SAFARI;
    else if (starts(b, "Edge"))
        f->browser = RULES_BR_EDGE;
    else if (starts(b, "Opera"))
        f->browser = RULES_BR_OPERA;
    else if (strcmp(b, "Samsung Internet") == 0)
        f->browser = RULES_BR_SAMSUNG;
    else if (strcmp(b, "IE") == 0 || strcmp(b, "IE Mobile") == 0)
        f->browser = RULES_BR_IE;
    else if (strcmp(b, "Yandex Browser") == 0)
        f->browser = RULES_BR_YANDEX;
    else if (strcmp(b, "UC Browser") == 0)
        f->browser = RULES_BR_UC;
    else if (strcmp(b, "Brave") == 0)
        f->browser = RULES_BR_BRAVE;
    else if (strcmp(b, "Vivaldi") == 0)
        f->browser = RULES_BR_VIVALDI;
    else
        f->browser = RULES_BR_OTHER;
}

/* ---- Accept-Language --------------------------------------------------- */

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_alnum(char c)
{
    return is_alpha(c) || (c >= '0' && c <= '9');
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* language-range = (1*8ALPHA *("-" 1*8alphanum)) / "*" */
static bool lang_range_ok(const char *s, size_t n)
{
    if (n == 1 && s[0] == '*')
        return true;
    if (n == 0 || n > RULES_LANG_MAX)
        return false;
    size_t run = 0;
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '-') {
            if (run == 0)
                return false;
            run = 0;
            first = false;
            continue;
        }
        if (!(first ? is_alpha(s[i]) : is_alnum(s[i])) || ++run > 8)
            return false;
    }
    return run > 0;
}

/* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ); -1 if bad. */
static int parse_q(const char *s, size_t n)
{
    if (n == 0 || (s[0] != '0' && s[0] != '1'))
        return -1;
    int q = (s[0] - '0') * 1000;
    if (n == 1)
        return q;
    if (s[1] != '.' || n > 5)
        return -1;
    int scale = 100;
    for (size_t i = 2; i < n; i++, scale /= 10) {
        if (s[i] < '0' || s[i] > '9' || (q == 1000 && s[i] != '0'))
            return -1;
        q += (s[i] - '0') * scale;
    }
    return q;
}

static bool ows(char c)
{
    return c == ' ' || c == '\t';
}

size_t rules_accept_language(const char *h, size_t len, struct rules_lang *out, size_t cap)
{
    size_t n = 0, i = 0;
    while (i < len && n < cap) {
        size_t e = i;
        while (e < len && h[e] != ',')
            e++;
        /* element h[i..e): range *( OWS ";" OWS param ) */
        size_t a = i, b = e;
        while (a < b && ows(h[a]))
            a++;
        while (b > a && ows(h[b - 1]))
            b--;
        size_t t = a;
        while (t < b && h[t] != ';' && !ows(h[t]))
            t++;
        int q = 1000;
        bool ok = lang_range_ok(h + a, t - a);
        size_t p = t;
        while (ok && p < b) {
            while (p < b && ows(h[p]))
                p++;
            if (p >= b)
                break;
            if (h[p] != ';') {
                ok = false;
                break;
            }
            p++;
            while (p < b && ows(h[p]))
                p++;
            size_t pe = p;
            while (pe < b && h[pe] != ';' && !ows(h[pe]))
                pe++;
            if (pe - p >= 2 && (h[p] == 'q' || h[p] == 'Q') && h[p + 1] == '=') {
                q = parse_q(h + p + 2, pe - p - 2);
                if (q < 0)
                    ok = false;
            } else {
                ok = false; /* Accept-Language takes no other parameter */
            }
            p = pe;
        }
        if (ok) {
            out[n].tag = h + a;
            out[n].len = (uint8_t)(t - a);
            out[n].q = (uint16_t)q;
            n++;
        }
        i = e + 1;
    }
    return n;
}

bool rules_lang_match(const char *h, size_t hlen, const char *tag, size_t taglen)
{
    struct rules_lang l[RULES_ACCEPT_LANG_MAX];
    size_t n = rules_accept_language(h, hlen, l, RULES_ACCEPT_LANG_MAX);
    for (size_t i = 0; i < n; i++) {
        if (l[i].q == 0 || l[i].len < taglen)
            continue;
        if (l[i].len > taglen && l[i].tag[taglen] != '-')
            continue;
        size_t k = 0;
        while (k < taglen && lower(l[i].tag[k]) == tag[k])
            k++;
        if (k == taglen)
            return true;
    }
    return false;
}

/* ---- query parameters -------------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = lower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Whether the form-decoded s[0..n) ('+' is a space, %XX a byte) equals
 * want[0..wn). A malformed escape stands for itself. */
static bool decoded_eq(const char *s, size_t n, const char *want, size_t wn)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++, k++) {
        char c = s[i];
        if (c == '+')
            c = ' ';
        else if (c == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            c = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        }
        if (k >= wn || want[k] != c)
            return false;
    }
    return k == wn;
}

static bool query_match(const char *q, size_t qlen, const char *name, size_t nlen, bool has_value, const char *val,
                        size_t vlen)
{
    size_t i = 0;
    while (i < qlen) {
        size_t e = i;
        while (e < qlen && q[e] != '&')
            e++;
        size_t eq = i;
        while (eq < e && q[eq] != '=')
            eq++;
        if (decoded_eq(q + i, eq - i, name, nlen)) {
            if (!has_value)
                return true;
            const char *v = eq < e ? q + eq + 1 : q + e;
            size_t vn = eq < e ? e - eq - 1 : 0;
            if (decoded_eq(v, vn, val, vlen))
                return true;
        }
        i = e + 1;
    }
    return false;
}

/* ---- compile ----------------------------------------------------------- */

struct out {
    uint8_t *b;
    size_t n;
    bool full;
};

static void put(struct out *o, const void *p, size_t n)
{
    if (o->n + n > RULES_BLOB_MAX) {
        o->full = true;
        return;
    }
    memcpy(o->b + o->n, p, n);
    o->n += n;
}

static void put8(struct out *o, unsigned v)
{
    uint8_t c = (uint8_t)v;
    put(o, &c, 1);
}

static void put_i64(struct out *o, int64_t v)
{
    uint8_t c[8];
    for (int i = 0; i < 8; i++)
        c[i] = (uint8_t)((uint64_t)v >> (8 * i));
    put(o, c, 8);
}

__attribute__((format(printf, 4, 5))) static int fail(char path[RULES_PATH_MAX], const char **why, const char *reason,
                                                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, RULES_PATH_MAX, fmt, ap);
    va_end(ap);
    *why = reason;
    return -1;
}

#define CPATH "rules[%zu].conditions[%zu]"

static int compile_cond(const json_t *c, size_t r, size_t k, struct out *o, char path[RULES_PATH_MAX], const char **why)
{
    if (!json_is_object(c))
        return fail(path, why, "must be an object", CPATH, r, k);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)c, key, v)
    {
        if (strcmp(key, "type") != 0 && strcmp(key, "value") != 0 && strcmp(key, "name") != 0) {
            snprintf(path, RULES_PATH_MAX, CPATH ".%.16s", r, k, key);
            *why = "is not a condition field (type, name, value)";
            return -1;
        }
    }
    const json_t *t = json_object_get(c, "type");
    int type = json_is_string(t) ? name_index(type_names, NTYPES, json_string_value(t)) : -1;
    if (type <= 0)
        return fail(path, why, "must be one of device, os, browser, language, country, query, before, after, ip",
                    CPATH ".type", r, k);
    const json_t *val = json_object_get(c, "value");
    const json_t *name = json_object_get(c, "name");
    if (name != NULL && type != RULES_C_QUERY)
        return fail(path, why, "only query conditions take a name", CPATH ".name", r, k);
    const char *s = json_is_string(val) ? json_string_value(val) : NULL;
    size_t sn = s ? json_string_length(val) : 0;
    if (type != RULES_C_QUERY && s == NULL)
        return fail(path, why, "must be a string", CPATH ".value", r, k);
    put8(o, (unsigned)type);
    switch (type) {
    case RULES_C_DEVICE: {
        int i = name_index(device_names, sizeof(device_names) / sizeof(device_names[0]), s);
        if (i < 0)
            return fail(path, why, "must be mobile, tablet or desktop", CPATH ".value", r, k);
        put8(o, (unsigned)i);
        break;
    }
    case RULES_C_OS: {
        int i = name_index(os_names, RULES_OS__N, s);
        if (i <= 0)
            return fail(path, why, "must be ios, android, windows, macos, linux or chromeos", CPATH ".value", r, k);
        put8(o, (unsigned)i);
        break;
    }
    case RULES_C_BROWSER: {
        int i = name_index(browser_names, RULES_BR__N, s);
        if (i <= 0)
            return fail(path, why,
                        "must be chrome, firefox, safari, edge, opera, samsung, ie, yandex, uc, brave or vivaldi",
                        CPATH ".value", r, k);
        put8(o, (unsigned)i);
        break;
    }
    case RULES_C_LANGUAGE: {
        if (sn == 1 || !lang_range_ok(s, sn))
            return fail(path, why, "must be a language tag such as fr or pt-BR", CPATH ".value", r, k);
        put8(o, (unsigned)sn);
        for (size_t i = 0; i < sn; i++)
            put8(o, (unsigned char)lower(s[i]));
        break;
    }
    case RULES_C_COUNTRY:
        if (sn != 2 || !is_alpha(s[0]) || !is_alpha(s[1]))
            return fail(path, why, "must be an ISO 3166-1 alpha-2 country code", CPATH ".value", r, k);
        put8(o, (unsigned)(s[0] & ~0x20));
        put8(o, (unsigned)(s[1] & ~0x20));
        break;
    case RULES_C_QUERY: {
        if (!json_is_string(name) || json_string_length(name) == 0 || json_string_length(name) > RULES_QUERY_NAME_MAX ||
            strlen(json_string_value(name)) != json_string_length(name))
            return fail(path, why, "must be a parameter name of 1 to 64 bytes", CPATH ".name", r, k);
        if (val != NULL && !json_is_null(val) && (s == NULL || sn > RULES_QUERY_VALUE_MAX || strlen(s) != sn))
            return fail(path, why, "must be null or a string of at most 128 bytes", CPATH ".value", r, k);
        size_t nn = json_string_length(name);
        put8(o, (unsigned)nn);
        put(o, json_string_value(name), nn);
        put8(o, s != NULL);
        if (s != NULL) {
            put8(o, (unsigned)sn);
            put(o, s, sn);
        }
        break;
    }
    case RULES_C_BEFORE:
    case RULES_C_AFTER: {
        int64_t ms;
        if (rfc3339_parse(s, sn, &ms) != 0)
            return fail(path, why, "must be an RFC 3339 date-time", CPATH ".value", r, k);
        put_i64(o, ms);
        break;
    }
    case RULES_C_IP: {
        struct ipaddr_cidr_list l;
        if (memchr(s, ',', sn) != NULL || ipaddr_cidr_list_parse(s, sn, &l, NULL, 0) != 0 || l.n != 1)
            return fail(path, why, "must be an IPv4 or IPv6 address or CIDR block", CPATH ".value", r, k);
        put8(o, l.items[0].addr.family);
        put8(o, l.items[0].prefix);
        put(o, l.items[0].addr.bytes, 16);
        break;
    }
    }
    return 0;
}

int rules_compile(const json_t *rules, const struct link_policy *p, uint8_t *buf, size_t *outlen,
                  char path[RULES_PATH_MAX], const char **why)
{
    struct out o = {buf, 0, false};
    if (!json_is_array(rules))
        return fail(path, why, "must be an array", "rules");
    size_t n = json_array_size(rules);
    if (n > RULES_MAX)
        return fail(path, why, "must hold at most 32 rules", "rules");
    put8(&o, RULES_VERSION);
    put8(&o, (unsigned)n);
    for (size_t r = 0; r < n; r++) {
        const json_t *rule = json_array_get(rules, r);
        if (!json_is_object(rule))
            return fail(path, why, "must be an object", "rules[%zu]", r);
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)rule, key, v)
        {
            if (strcmp(key, "url") != 0 && strcmp(key, "conditions") != 0) {
                snprintf(path, RULES_PATH_MAX, "rules[%zu].%.16s", r, key);
                *why = "is not a rule field (url, conditions)";
                return -1;
            }
        }
        const json_t *u = json_object_get(rule, "url");
        char url[URL_MAX_LEN + 1];
        size_t ulen;
        if (!json_is_string(u))
            return fail(path, why, "must be a string", "rules[%zu].url", r);
        const char *uwhy = link_check_url(p, json_string_value(u), json_string_length(u), url, &ulen);
        if (uwhy != NULL)
            return fail(path, why, uwhy, "rules[%zu].url", r);
        put8(&o, (unsigned)(ulen & 0xff));
        put8(&o, (unsigned)(ulen >> 8));
        put(&o, url, ulen);
        const json_t *cs = json_object_get(rule, "conditions");
        if (!json_is_array(cs) || json_array_size(cs) == 0)
            return fail(path, why, "must be a non-empty array", "rules[%zu].conditions", r);
        if (json_array_size(cs) > RULES_COND_MAX)
            return fail(path, why, "must hold at most 8 conditions", "rules[%zu].conditions", r);
        put8(&o, (unsigned)json_array_size(cs));
        for (size_t k = 0; k < json_array_size(cs); k++)
            if (compile_cond(json_array_get(cs, k), r, k, &o, path, why) != 0)
                return -1;
        if (o.full)
            return fail(path, why, "take more than 4096 bytes together; use fewer or shorter rules", "rules");
    }
    *outlen = o.n;
    return 0;
}

/* ---- reading the compact form ------------------------------------------- */

struct rd {
    const uint8_t *b;
    size_t n, i;
    bool bad;
};

static unsigned get8(struct rd *d)
{
    if (d->i >= d->n) {
        d->bad = true;
        return 0;
    }
    return d->b[d->i++];
}

static const uint8_t *take(struct rd *d, size_t n)
{
    if (d->n - d->i < n || d->i > d->n) {
        d->bad = true;
        return NULL;
    }
    const uint8_t *p = d->b + d->i;
    d->i += n;
    return p;
}

static int64_t get_i64(struct rd *d)
{
    const uint8_t *p = take(d, 8);
    uint64_t v = 0;
    for (int i = 0; p != NULL && i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return (int64_t)v;
}

/* One decoded condition; strings point into the compact form. */
struct cond {
    unsigned type;
    unsigned code;
    const char *s, *v;
    size_t sn, vn;
    bool has_value;
    int64_t t;
    struct ipaddr_cidr cidr;
};

static bool read_cond(struct rd *d, struct cond *c)
{
    memset(c, 0, sizeof(*c));
    c->type = get8(d);
    switch (c->type) {
    case RULES_C_DEVICE:
        c->code = get8(d);
        return !d->bad && c->code < sizeof(device_names) / sizeof(device_names[0]) && device_names[c->code];
    case RULES_C_OS:
        c->code = get8(d);
        return !d->bad && c->code > 0 && c->code < RULES_OS__N;
    case RULES_C_BROWSER:
        c->code = get8(d);
        return !d->bad && c->code > 0 && c->code < RULES_BR__N;
    case RULES_C_LANGUAGE:
        c->sn = get8(d);
        c->s = (const char *)take(d, c->sn);
        if (d->bad || c->sn < 2 || !lang_range_ok(c->s, c->sn))
            return false;
        for (size_t i = 0; i < c->sn; i++)
            if (c->s[i] >= 'A' && c->s[i] <= 'Z')
                return false;
        return true;
    case RULES_C_COUNTRY:
        c->s = (const char *)take(d, 2);
        c->sn = 2;
        return !d->bad && c->s[0] >= 'A' && c->s[0] <= 'Z' && c->s[1] >= 'A' && c->s[1] <= 'Z';
    case RULES_C_QUERY:
        c->sn = get8(d);
        c->s = (const char *)take(d, c->sn);
        c->has_value = get8(d) != 0;
        if (d->bad || c->sn == 0 || c->sn > RULES_QUERY_NAME_MAX || memchr(c->s, 0, c->sn) != NULL ||
            d->b[d->i - 1] > 1)
            return false;
        if (c->has_value) {
            c->vn = get8(d);
            c->v = (const char *)take(d, c->vn);
            if (d->bad || c->vn > RULES_QUERY_VALUE_MAX || (c->vn && memchr(c->v, 0, c->vn) != NULL))
                return false;
        }
        return true;
    case RULES_C_BEFORE:
    case RULES_C_AFTER:
        c->t = get_i64(d);
        return !d->bad;
    case RULES_C_IP: {
        c->cidr.addr.family = (uint8_t)get8(d);
        c->cidr.prefix = (uint8_t)get8(d);
        const uint8_t *a = take(d, 16);
        if (d->bad || (c->cidr.addr.family != 4 && c->cidr.addr.family != 6))
            return false;
        memcpy(c->cidr.addr.bytes, a, 16);
        unsigned bits = c->cidr.addr.family == 4 ? 32 : 128;
        if (c->cidr.prefix > bits)
            return false;
        for (unsigned i = c->cidr.prefix; i < 128; i++)
            if (a[i / 8] & (0x80 >> (i % 8)))
                return false; /* host bits and unused IPv4 bytes are clear */
        return true;
    }
    default:
        return false;
    }
}

struct rule_hdr {
    const char *url;
    size_t url_len;
    unsigned nconds;
};

static bool read_rule(struct rd *d, struct rule_hdr *h)
{
    unsigned lo = get8(d), hi = get8(d);
    h->url_len = lo | hi << 8;
    h->url = (const char *)take(d, h->url_len);
    h->nconds = get8(d);
    return !d->bad && h->url_len > 0 && h->url_len <= URL_MAX_LEN && memchr(h->url, 0, h->url_len) == NULL &&
           h->nconds > 0 && h->nconds <= RULES_COND_MAX;
}

static bool read_head(struct rd *d, unsigned *nrules)
{
    if (get8(d) != RULES_VERSION)
        return false;
    *nrules = get8(d);
    return !d->bad && *nrules <= RULES_MAX;
}

int rules_check(const uint8_t *b, size_t len)
{
    struct rd d = {b, len, 0, false};
    unsigned nr;
    if (len > RULES_BLOB_MAX || !read_head(&d, &nr))
        return -1;
    for (unsigned r = 0; r < nr; r++) {
        struct rule_hdr h;
        if (!read_rule(&d, &h))
            return -1;
        for (unsigned k = 0; k < h.nconds; k++) {
            struct cond c;
            if (!read_cond(&d, &c))
                return -1;
        }
    }
    return d.i == len ? 0 : -1;
}

unsigned rules_needs(const uint8_t *b, size_t len)
{
    struct rd d = {b, len, 0, false};
    unsigned nr, need = 0;
    if (len == 0 || !read_head(&d, &nr))
        return 0;
    for (unsigned r = 0; r < nr; r++) {
        struct rule_hdr h;
        if (!read_rule(&d, &h))
            return need;
        for (unsigned k = 0; k < h.nconds; k++) {
            struct cond c;
            if (!read_cond(&d, &c))
                return need;
            if (c.type == RULES_C_DEVICE || c.type == RULES_C_OS || c.type == RULES_C_BROWSER)
                need |= RULES_NEED_UA;
            else if (c.type == RULES_C_COUNTRY)
                need |= RULES_NEED_COUNTRY;
            else if (c.type == RULES_C_IP)
                need |= RULES_NEED_IP;
        }
    }
    return need;
}

static bool cidr_has(const struct ipaddr_cidr *c, const struct ipaddr *a)
{
    if (a->family != c->addr.family)
        return false;
    for (unsigned i = 0; i < c->prefix; i++) {
        uint8_t m = (uint8_t)(0x80 >> (i % 8));
        if ((a->bytes[i / 8] & m) != (c->addr.bytes[i / 8] & m))
            return false;
    }
    return true;
}

static bool holds(const struct cond *c, const struct rules_facts *f)
{
    switch (c->type) {
    case RULES_C_DEVICE:
        return (unsigned)f->device == c->code;
    case RULES_C_OS:
        return (unsigned)f->os == c->code;
    case RULES_C_BROWSER:
        return (unsigned)f->browser == c->code;
    case RULES_C_LANGUAGE:
        return f->accept_language != NULL && rules_lang_match(f->accept_language, f->accept_language_len, c->s, c->sn);
    case RULES_C_COUNTRY:
        return f->country[0] == c->s[0] && f->country[1] == c->s[1];
    case RULES_C_QUERY:
        return f->query != NULL && query_match(f->query, f->query_len, c->s, c->sn, c->has_value, c->v, c->vn);
    case RULES_C_BEFORE:
        return f->now_ms < c->t;
    case RULES_C_AFTER:
        return f->now_ms >= c->t;
    case RULES_C_IP:
        return cidr_has(&c->cidr, &f->ip);
    }
    return false;
}

int rules_eval(const uint8_t *b, size_t len, const struct rules_facts *f, const char **url, size_t *url_len)
{
    struct rd d = {b, len, 0, false};
    unsigned nr;
    if (len == 0 || !read_head(&d, &nr))
        return 0;
    for (unsigned r = 0; r < nr; r++) {
        struct rule_hdr h;
        if (!read_rule(&d, &h))
            return 0;
        bool all = true;
        for (unsigned k = 0; k < h.nconds; k++) {
            struct cond c;
            if (!read_cond(&d, &c))
                return 0;
            if (all && !holds(&c, f))
                all = false; /* keep reading: the next rule starts after this one's conditions */
        }
        if (all) {
            *url = h.url;
            *url_len = h.url_len;
            return 1;
        }
    }
    return 0;
}

json_t *rules_json(const uint8_t *b, size_t len)
{
    json_t *arr = json_array();
    struct rd d = {b, len, 0, false};
    unsigned nr;
    if (arr == NULL || len == 0 || !read_head(&d, &nr))
        return arr;
    for (unsigned r = 0; r < nr; r++) {
        struct rule_hdr h;
        if (!read_rule(&d, &h))
            break;
        json_t *conds = json_array();
        for (unsigned k = 0; k < h.nconds; k++) {
            struct cond c;
            if (!read_cond(&d, &c))
                break;
            json_t *o = json_pack("{s:s}", "type", type_names[c.type]);
            char buf[RFC3339_BUF > IPADDR_FORMAT_BUF + 4 ? RFC3339_BUF : IPADDR_FORMAT_BUF + 4];
            switch (c.type) {
            case RULES_C_DEVICE:
                json_object_set_new(o, "value", json_string(device_names[c.code]));
                break;
            case RULES_C_OS:
                json_object_set_new(o, "value", json_string(os_names[c.code]));
                break;
            case RULES_C_BROWSER:
                json_object_set_new(o, "value", json_string(browser_names[c.code]));
                break;
            case RULES_C_LANGUAGE:
            case RULES_C_COUNTRY:
                json_object_set_new(o, "value", json_stringn(c.s, c.sn));
                break;
            case RULES_C_QUERY:
                json_object_set_new(o, "name", json_stringn(c.s, c.sn));
                json_object_set_new(o, "value", c.has_value ? json_stringn(c.v, c.vn) : json_null());
                break;
            case RULES_C_BEFORE:
            case RULES_C_AFTER:
                rfc3339_format(c.t, buf);
                json_object_set_new(o, "value", json_string(buf));
                break;
            case RULES_C_IP: {
                size_t n = ipaddr_format(&c.cidr.addr, buf, sizeof(buf));
                snprintf(buf + n, sizeof(buf) - n, "/%u", c.cidr.prefix);
                json_object_set_new(o, "value", json_string(buf));
                break;
            }
            }
            json_array_append_new(conds, o);
        }
        json_array_append_new(arr, json_pack("{s:s%, s:o}", "url", h.url, h.url_len, "conditions", conds));
    }
    return arr;
}
