/* ipaddr: client addresses. See ipaddr.h for the contract.
 *
 * The literals themselves are read by libc's inet_pton (glibc's already
 * refuses leading zeros in dotted quads, octal and hex parts, and short
 * forms such as "1.2.3") and IPv6 ones written by inet_ntop; IPv4 is
 * written by hand (format_v4). This file adds the length cap,
 * the character set (so no zone id, port or NUL slips through), brackets,
 * and the IPv4-mapped normalisation. Everything else is byte arithmetic. */
#include "util/ipaddr.h"

#include "util/dec.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static const uint8_t v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static unsigned family_bits(uint8_t family)
{
    return family == 4 ? 32 : 128;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static void trim(const char **s, size_t *len)
{
    while (*len > 0 && is_blank(**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && is_blank((*s)[*len - 1]))
        (*len)--;
}

static bool is_literal_char(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
}

static bool is_v4mapped(const struct ipaddr *a)
{
    return a->family == 6 && memcmp(a->bytes, v4mapped_prefix, sizeof(v4mapped_prefix)) == 0;
}

static void unmap(struct ipaddr *a)
{
    uint8_t v4[4];
    memcpy(v4, a->bytes + 12, 4);
    memset(a->bytes, 0, sizeof(a->bytes));
    memcpy(a->bytes, v4, 4);
    a->family = 4;
}

/* Parses without unmapping, so the CIDR parser can adjust a mapped block's
 * prefix. */
static int parse_literal(const char *s, size_t len, struct ipaddr *out)
{
    char buf[IPADDR_TEXT_MAX + 1];
    bool bracketed = false, colon = false;

    memset(out, 0, sizeof(*out));
    if (s == NULL || len == 0 || len > IPADDR_TEXT_MAX)
        return -EINVAL;
    if (s[0] == '[') {
        if (len < 2 || s[len - 1] != ']')
            return -EINVAL;
        s++;
        len -= 2;
        bracketed = true;
    }
    for (size_t i = 0; i < len; i++) {
        if (!is_literal_char(s[i]))
            return -EINVAL;
        colon |= s[i] == ':';
    }
    if (bracketed && !colon)
        return -EINVAL; /* brackets are for IPv6 only (RFC 3986 IP-literal) */
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (inet_pton(colon ? AF_INET6 : AF_INET, buf, out->bytes) != 1) {
        memset(out, 0, sizeof(*out));
        return -EINVAL;
    }
    out->family = colon ? 6 : 4;
    return 0;
}

int ipaddr_parse(const char *s, size_t len, struct ipaddr *out)
{
    int rc = parse_literal(s, len, out);
    if (rc == 0 && is_v4mapped(out))
        unmap(out);
    return rc;
}

int ipaddr_from_sockaddr(const struct sockaddr *sa, struct ipaddr *out)
{
    if (sa == NULL || out == NULL)
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
        memcpy(out->bytes, &sin->sin_addr, 4);
        out->family = 4;
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
        memcpy(out->bytes, &sin6->sin6_addr, 16);
        out->family = 6;
        if (is_v4mapped(out))
            unmap(out);
        return 0;
    }
    return -EAFNOSUPPORT;
}

/* Dotted quad by hand: glibc's inet_ntop goes through sprintf (1,700
 * instructions), and the visit sink formats an address per visit. */
static void format_v4(const uint8_t b[4], char *out)
{
    for (int i = 0; i < 4; i++) {
        out += dec_u64(out, b[i]);
        *out++ = i < 3 ? '.' : '\0';
    }
}

size_t ipaddr_format(const struct ipaddr *a, char *buf, size_t cap)
{
    char tmp[IPADDR_FORMAT_BUF];
    const char *r = NULL;

    if (buf == NULL || cap == 0)
        return 0;
    buf[0] = '\0';
    if (a == NULL)
        return 0;
    if (a->family == 4) {
        format_v4(a->bytes, tmp);
        r = tmp;
    } else if (a->family == 6)
        r = inet_ntop(AF_INET6, a->bytes, tmp, sizeof(tmp));
    if (r == NULL)
        return 0;
    size_t n = strlen(tmp);
    if (n >= cap)
        return 0;
    memcpy(buf, tmp, n + 1);
    return n;
}

static void mask_to_prefix(struct ipaddr *a, unsigned prefix)
{
    unsigned nbytes = family_bits(a->family) / 8;
    for (unsigned i = 0; i < nbytes; i++) {
        unsigned keep = prefix > 8 * i ? prefix - 8 * i : 0;
        if (keep < 8)
            a->bytes[i] &= (uint8_t)(0xff00u >> keep);
    }
}

static bool in_cidr(const struct ipaddr_cidr *c, const struct ipaddr *a)
{
    if (c->addr.family != a->family || c->prefix > family_bits(a->family))
        return false;
    unsigned full = c->prefix / 8, rest = c->prefix % 8;
    if (memcmp(c->addr.bytes, a->bytes, full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t m = (uint8_t)(0xff00u >> rest);
    return (a->bytes[full] & m) == (c->addr.bytes[full] & m);
}

bool ipaddr_in_list(const struct ipaddr_cidr_list *l, const struct ipaddr *a)
{
    if (l == NULL || a == NULL)
        return false;
    size_t n = l->n < IPADDR_CIDRS_MAX ? l->n : IPADDR_CIDRS_MAX;
    for (size_t i = 0; i < n; i++)
        if (in_cidr(&l->items[i], a))
            return true;
    return false;
}

/* "/N": decimal, no sign, no leading zero (so "/08" is not silently 8). */
static int parse_prefix(const char *s, size_t len, unsigned *out)
{
    if (len == 0 || len > 3 || (len > 1 && s[0] == '0'))
        return -EINVAL;
    unsigned v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return 0;
}

/* One item, already trimmed and non-empty. On error returns a reason. */
static const char *parse_cidr(const char *s, size_t len, struct ipaddr_cidr *out)
{
    const char *slash = memchr(s, '/', len);
    size_t alen = slash ? (size_t)(slash - s) : len;
    unsigned prefix = 0;

    if (parse_literal(s, alen, &out->addr) != 0)
        return "not an IP address";
    unsigned bits = family_bits(out->addr.family);
    if (slash == NULL) {
        prefix = bits;
    } else if (parse_prefix(slash + 1, len - alen - 1, &prefix) != 0 || prefix > bits) {
        return out->addr.family == 4 ? "prefix must be a number from 0 to 32" : "prefix must be a number from 0 to 128";
    }
    if (is_v4mapped(&out->addr)) {
        if (prefix < 96)
            return "an IPv4-mapped block needs a prefix of at least 96";
        unmap(&out->addr);
        prefix -= 96;
    }
    mask_to_prefix(&out->addr, prefix);
    out->prefix = (uint8_t)prefix;
    return NULL;
}

#define STR_(x) #x
#define STR(x) STR_(x)
/* Item text is quoted in messages up to this many bytes. */
#define ITEM_QUOTE_MAX 60

int ipaddr_cidr_list_parse(const char *s, size_t len, struct ipaddr_cidr_list *out, char *err, size_t errcap)
{
    const char *why = NULL;
    const char *item = NULL;
    size_t ilen = 0, itemno = 0;

    if (out == NULL)
        return -EINVAL;
    out->n = 0;
    if (err != NULL && errcap > 0)
        err[0] = '\0';
    if (s == NULL && len > 0) {
        why = "no text";
        goto fail;
    }
    if (len > IPADDR_CIDR_LIST_TEXT_MAX) {
        why = "list too long (more than " STR(IPADDR_CIDR_LIST_TEXT_MAX) " bytes)";
        goto fail;
    }
    const char *all = s;
    size_t alllen = len;
    trim(&all, &alllen);
    if (alllen == 0)
        return 0; /* "" means no blocks, e.g. an empty environment variable */

    size_t pos = 0;
    for (;;) {
        const char *comma = memchr(s + pos, ',', len - pos);
        size_t end = comma ? (size_t)(comma - s) : len;
        item = s + pos;
        ilen = end - pos;
        trim(&item, &ilen);
        itemno++;
        if (ilen == 0) {
            why = "empty item";
            goto fail;
        }
        if (out->n == IPADDR_CIDRS_MAX) {
            why = "too many items (at most " STR(IPADDR_CIDRS_MAX) ")";
            goto fail;
        }
        why = parse_cidr(item, ilen, &out->items[out->n]);
        if (why != NULL)
            goto fail;
        out->n++;
        if (comma == NULL)
            break;
        pos = end + 1;
    }
    return 0;

fail:
    out->n = 0;
    if (err != NULL && errcap > 0) {
        if (item != NULL)
            snprintf(err, errcap, "item %zu (\"%.*s\"): %s", itemno,
                     (int)(ilen < ITEM_QUOTE_MAX ? ilen : ITEM_QUOTE_MAX), item, why);
        else
            snprintf(err, errcap, "%s", why);
    }
    return -EINVAL;
}

struct ipaddr ipaddr_client(const struct ipaddr *peer, const struct ipaddr_cidr_list *trusted, const char *xff,
                            size_t xff_len)
{
    struct ipaddr cur = *peer;
    size_t lo = 0;
    bool cut = false;

    if (xff == NULL || xff_len == 0 || !ipaddr_in_list(trusted, peer))
        return cur;
    if (xff_len > IPADDR_XFF_MAX) {
        lo = xff_len - IPADDR_XFF_MAX;
        cut = xff[lo - 1] != ',';
    }
    /* Entries right of the current one were written by trusted proxies, so
     * each step left believes one more hop. */
    for (size_t end = xff_len;;) {
        size_t start = end;
        while (start > lo && xff[start - 1] != ',')
            start--;
        if (start == lo && cut)
            return cur; /* a partial entry could read as another address */
        const char *e = xff + start;
        size_t elen = end - start;
        trim(&e, &elen);
        if (elen > 0) {
            struct ipaddr next;
            if (ipaddr_parse(e, elen, &next) != 0)
                return cur;
            cur = next;
            if (!ipaddr_in_list(trusted, &cur))
                return cur;
        }
        if (start == lo)
            return cur;
        end = start - 1;
    }
}

struct ipaddr ipaddr_anonymize(const struct ipaddr *a)
{
    struct ipaddr r;
    memset(&r, 0, sizeof(r));
    r.family = a->family;
    if (a->family == 4)
        memcpy(r.bytes, a->bytes, 3);
    else if (a->family == 6)
        memcpy(r.bytes, a->bytes, 6);
    return r;
}
