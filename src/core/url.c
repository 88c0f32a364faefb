#include "core/url.h"

#include <arpa/inet.h>
#include <assert.h>
#include <idn2.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Invariants of a normalised URL, which url_split() and every caller may
 * rely on and which make url_normalize(url_normalize(x)) == url_normalize(x):
 *   - "http://" or "https://", all lower-case;
 *   - host: LDH labels (1-63, no edge hyphen, at most 253 chars, no trailing
 *     dot, punycode for IDN), or a dotted-quad IPv4, or "[" RFC 5952 IPv6 "]";
 *   - ":port" only when it is not the scheme's default, without leading zeros;
 *   - rest starts with '/', '?' or '#' ('/' is added when the path is empty)
 *     and holds no control char, space, non-ASCII byte or "<>\^`{|}.
 * Paths, queries and fragments are otherwise kept byte for byte: decoding
 * %xx or resolving "/../" would change what the target server receives. */

#define URL_IPV6_MAX_LEN 45 /* INET6_ADDRSTRLEN - 1 */
#define URL_IPV4_MAX_LEN 15 /* "255.255.255.255" */
#define URL_PORT_MAX 65535u

#define URL_STR_(x) #x
#define URL_STR(x) URL_STR_(x)

struct url_out {
    char *p;
    size_t len;
    size_t cap; /* bytes, not counting the NUL */
    bool over;
};

static void out_put(struct url_out *o, const char *s, size_t n)
{
    if (o->over || n > o->cap - o->len) {
        o->over = true;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void out_putc(struct url_out *o, char c)
{
    out_put(o, &c, 1);
}

static bool is_ws(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

static bool is_ctl(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

static bool is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool is_hex(unsigned char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static char to_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c + ('a' - 'A')) : c;
}

static bool eq_nocase(const char *s, size_t n, const char *lit)
{
    if (strlen(lit) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (to_lower(s[i]) != lit[i])
            return false;
    return true;
}

/* Browsers read a host whose last label is a number ("1.2.3.4", "127.1",
 * "0x7f.1", "2130706433") as IPv4 in any of several notations. Only the
 * dotted quad is allowed, so the stored text means one address. */
static bool label_is_numeric(const char *s, size_t n)
{
    size_t i = 0;

    if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        for (i = 2; i < n; i++)
            if (!is_hex((unsigned char)s[i]))
                return false;
        return true;
    }
    for (i = 0; i < n; i++)
        if (!is_digit((unsigned char)s[i]))
            return false;
    return n > 0;
}

/* h is lower-case ASCII with the trailing dot already removed. */
static bool host_name_ok(const char *h, size_t n)
{
    size_t label = 0, last = 0;

    if (n == 0 || n > URL_HOST_MAX_LEN)
        return false;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || h[i] == '.') {
            size_t ln = i - label;
            if (ln == 0 || ln > URL_LABEL_MAX_LEN || h[label] == '-' || h[i - 1] == '-')
                return false;
            last = label;
            label = i + 1;
            continue;
        }
        unsigned char c = (unsigned char)h[i];
        if (!((c >= 'a' && c <= 'z') || is_digit(c) || c == '-'))
            return false;
    }
    if (label_is_numeric(h + last, n - last)) {
        char buf[URL_IPV4_MAX_LEN + 1];
        struct in_addr a;
        if (n > URL_IPV4_MAX_LEN)
            return false;
        memcpy(buf, h, n);
        buf[n] = '\0';
        return inet_pton(AF_INET, buf, &a) == 1;
    }
    return true;
}

/* Writes the host of [h, h+n) (no brackets) lower-cased or as punycode. */
static int put_name_host(struct url_out *o, const char *h, size_t n)
{
    bool ascii = true;

    for (size_t i = 0; i < n; i++)
        if ((unsigned char)h[i] >= 0x80)
            ascii = false;

    /* One trailing dot names the same host (the DNS root); drop it so both
     * spellings store the same. Done before IDN so idn2 sees no empty label. */
    bool stripped = n > 0 && h[n - 1] == '.';
    if (stripped)
        n--;
    if (ascii) {
        size_t start = o->len;
        for (size_t i = 0; i < n; i++)
            out_putc(o, to_lower(h[i]));
        if (o->over)
            return URL_ERR_TOO_LONG;
        return host_name_ok(o->p + start, n) ? 0 : URL_ERR_HOST;
    }

    /* The input cap bounds n, so the NUL-terminated copy idn2 needs fits. */
    char in[URL_MAX_LEN + 1];
    char *puny = NULL;
    assert(n <= URL_MAX_LEN);
    for (size_t i = 0; i < n; i++)
        in[i] = to_lower(h[i]);
    in[n] = '\0';
    if (idn2_to_ascii_8z(in, &puny, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL) != IDN2_OK &&
        idn2_to_ascii_8z(in, &puny, IDN2_NFC_INPUT | IDN2_TRANSITIONAL) != IDN2_OK)
        return URL_ERR_IDN;

    size_t pn = strlen(puny);
    size_t start = o->len;
    for (size_t i = 0; i < pn; i++)
        out_putc(o, to_lower(puny[i]));
    idn2_free(puny);
    if (o->over)
        return URL_ERR_TOO_LONG;
    /* U+3002 and friends map to '.', so the dot may only appear now. */
    if (!stripped && pn > 0 && o->p[o->len - 1] == '.') {
        o->len--;
        pn--;
    }
    return host_name_ok(o->p + start, pn) ? 0 : URL_ERR_HOST;
}

static int put_ipv6_host(struct url_out *o, const char *h, size_t n)
{
    char buf[URL_IPV6_MAX_LEN + 1];
    char text[INET6_ADDRSTRLEN];
    struct in6_addr a;

    if (n == 0 || n > URL_IPV6_MAX_LEN)
        return URL_ERR_HOST;
    memcpy(buf, h, n);
    buf[n] = '\0';
    if (inet_pton(AF_INET6, buf, &a) != 1)
        return URL_ERR_HOST;
    /* RFC 5952 text, so "[::0001]" and "[::1]" store the same. */
    if (inet_ntop(AF_INET6, &a, text, sizeof(text)) == NULL)
        return URL_ERR_HOST;
    out_putc(o, '[');
    out_put(o, text, strlen(text));
    out_putc(o, ']');
    return o->over ? URL_ERR_TOO_LONG : 0;
}

/* port text [p, p+n): 0 for an absent or empty port, 1..65535, or -1. */
static long parse_port(const char *p, size_t n)
{
    unsigned long v = 0;

    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit((unsigned char)p[i]))
            return -1;
        v = v * 10 + (unsigned long)(p[i] - '0');
        if (v > URL_PORT_MAX)
            return -1;
    }
    return v == 0 ? -1 : (long)v;
}

/* Bytes a browser would escape itself or that break out of an attribute
 * or a Location header in some client; space and non-ASCII too. */
static bool rest_needs_escape(unsigned char c)
{
    switch (c) {
    case ' ':
    case '"':
    case '<':
    case '>':
    case '\\':
    case '^':
    case '`':
    case '{':
    case '|':
    case '}':
        return true;
    default:
        return c >= 0x80;
    }
}

static void put_rest(struct url_out *o, const char *r, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";

    if (n == 0 || r[0] != '/')
        out_putc(o, '/');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)r[i];
        if (rest_needs_escape(c)) {
            char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
            out_put(o, esc, sizeof(esc));
        } else {
            out_putc(o, (char)c);
        }
    }
}

static int normalize(const char *s, size_t len, struct url_out *o)
{
    size_t i, auth, auth_end;
    const char *host;
    size_t host_len;
    bool https;
    int rc;

    for (i = 0; i < len; i++)
        if (is_ctl((unsigned char)s[i]))
            return URL_ERR_CHARS;

    /* RFC 3986 scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */
    i = 0;
    if (!is_alpha((unsigned char)s[0]))
        return URL_ERR_RELATIVE;
    while (i < len && (is_alpha((unsigned char)s[i]) || is_digit((unsigned char)s[i]) || s[i] == '+' || s[i] == '-' ||
                       s[i] == '.'))
        i++;
    if (i == len || s[i] != ':')
        return URL_ERR_RELATIVE;
    if (eq_nocase(s, i, "https"))
        https = true;
    else if (eq_nocase(s, i, "http"))
        https = false;
    else
        return URL_ERR_SCHEME;
    /* "http:/x" and "http:x" are relative references in RFC 3986 terms. */
    if (len - i < 3 || s[i + 1] != '/' || s[i + 2] != '/')
        return URL_ERR_RELATIVE;

    auth = i + 3;
    for (auth_end = auth; auth_end < len; auth_end++)
        if (s[auth_end] == '/' || s[auth_end] == '?' || s[auth_end] == '#')
            break;
    /* Browsers end the authority at '\' too: "http://evil\@good" goes to
     * evil while a strict parser sees user "evil\" at good. */
    if (memchr(s + auth, '\\', auth_end - auth) != NULL)
        return URL_ERR_HOST;
    if (memchr(s + auth, '@', auth_end - auth) != NULL)
        return URL_ERR_USERINFO;

    out_put(o, https ? "https://" : "http://", https ? 8 : 7);
    host = s + auth;
    const char *port_text = NULL;
    size_t port_len = 0;
    if (auth < auth_end && s[auth] == '[') {
        const char *close = memchr(s + auth, ']', auth_end - auth);
        if (close == NULL)
            return URL_ERR_HOST;
        host = s + auth + 1;
        host_len = (size_t)(close - host);
        const char *after = close + 1;
        if (after < s + auth_end) {
            if (*after != ':')
                return URL_ERR_HOST;
            port_text = after + 1;
            port_len = (size_t)(s + auth_end - port_text);
        }
        rc = put_ipv6_host(o, host, host_len);
    } else {
        const char *colon = memchr(s + auth, ':', auth_end - auth);
        host_len = colon ? (size_t)(colon - host) : auth_end - auth;
        if (colon) {
            port_text = colon + 1;
            port_len = (size_t)(s + auth_end - port_text);
        }
        rc = put_name_host(o, host, host_len);
    }
    if (rc != 0)
        return rc;

    long port = parse_port(port_text, port_len);
    if (port < 0)
        return URL_ERR_PORT;
    if (port != 0 && port != (https ? 443 : 80)) {
        char digits[8];
        int nd = snprintf(digits, sizeof(digits), ":%ld", port);
        out_put(o, digits, (size_t)nd);
    }

    put_rest(o, s + auth_end, len - auth_end);
    return o->over ? URL_ERR_TOO_LONG : 0;
}

int url_normalize(const char *in, size_t len, char *out, size_t outcap, size_t *outlen)
{
    struct url_out o = {.p = out, .len = 0, .cap = URL_MAX_LEN, .over = false};
    int rc;

    assert(out != NULL && outcap > 0);
    assert(outcap >= URL_MAX_LEN + 1);
    if (outcap - 1 < o.cap)
        o.cap = outcap - 1;
    *outlen = 0;
    out[0] = '\0';

    if (len > URL_MAX_LEN)
        return URL_ERR_TOO_LONG;
    while (len > 0 && is_ws((unsigned char)in[0])) {
        in++;
        len--;
    }
    while (len > 0 && is_ws((unsigned char)in[len - 1]))
        len--;
    if (len == 0)
        return URL_ERR_EMPTY;

    rc = normalize(in, len, &o);
    if (rc != 0) {
        out[0] = '\0';
        return rc;
    }
    out[o.len] = '\0';
    *outlen = o.len;
    return 0;
}

int url_split(const char *url, size_t len, struct url_parts *parts)
{
    size_t auth, auth_end, host_end;
    bool https;

    memset(parts, 0, sizeof(*parts));
    if (len >= 8 && memcmp(url, "https://", 8) == 0)
        https = true;
    else if (len >= 7 && memcmp(url, "http://", 7) == 0)
        https = false;
    else
        return -1;
    auth = https ? 8 : 7;
    for (auth_end = auth; auth_end < len; auth_end++)
        if (url[auth_end] == '/' || url[auth_end] == '?' || url[auth_end] == '#')
            break;

    parts->scheme = url;
    parts->scheme_len = https ? 5 : 4;
    if (auth < auth_end && url[auth] == '[') {
        const char *close = memchr(url + auth, ']', auth_end - auth);
        if (close == NULL)
            return -1;
        parts->host = url + auth + 1;
        parts->host_len = (size_t)(close - parts->host);
        host_end = (size_t)(close - url) + 1;
        if (host_end < auth_end && url[host_end] != ':')
            return -1;
    } else {
        const char *colon = memchr(url + auth, ':', auth_end - auth);
        host_end = colon ? (size_t)(colon - url) : auth_end;
        parts->host = url + auth;
        parts->host_len = host_end - auth;
    }
    if (parts->host_len == 0)
        return -1;

    parts->port = https ? 443 : 80;
    if (host_end < auth_end) {
        long port = parse_port(url + host_end + 1, auth_end - host_end - 1);
        if (port <= 0)
            return -1;
        parts->port = (unsigned)port;
    }
    parts->rest = url + auth_end;
    parts->rest_len = len - auth_end;
    return 0;
}

const char *url_strerror(int err)
{
    switch (err) {
    case 0:
        return "is valid";
    case URL_ERR_EMPTY:
        return "URL is empty";
    case URL_ERR_TOO_LONG:
        return "URL is longer than " URL_STR(URL_MAX_LEN) " bytes";
    case URL_ERR_SCHEME:
        return "only http and https URLs are allowed";
    case URL_ERR_RELATIVE:
        return "must be an absolute URL such as https://example.com/";
    case URL_ERR_USERINFO:
        return "URLs with a user name or password are not allowed";
    case URL_ERR_HOST:
        return "host name is not valid";
    case URL_ERR_PORT:
        return "port must be a number from 1 to 65535";
    case URL_ERR_CHARS:
        return "URL contains control characters";
    case URL_ERR_IDN:
        return "international host name is not valid";
    default:
        return "URL is not valid";
    }
}
