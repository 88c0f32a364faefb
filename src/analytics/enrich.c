#include "analytics/enrich.h"

#include <stdbool.h>
#include <string.h>

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

static void put(char *out, size_t cap, const char *s, size_t n)
{
    if (cap == 0)
        return;
    if (n >= cap)
        n = cap - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = lower(s[i]);
    out[n] = '\0';
}

void enrich_referrer_host(const char *ref, size_t len, char *out, size_t cap)
{
    out[0] = '\0';
    size_t skip;
    if (len > 7 && strncasecmp(ref, "http://", 7) == 0)
        skip = 7;
    else if (len > 8 && strncasecmp(ref, "https://", 8) == 0)
        skip = 8;
    else
        return;
    const char *h = ref + skip;
    size_t n = 0, rest = len - skip;
    while (n < rest && h[n] != '/' && h[n] != '?' && h[n] != '#')
        n++;
    const char *at = memchr(h, '@', n); /* userinfo is never part of the host */
    if (at != NULL) {
        n -= (size_t)(at + 1 - h);
        h = at + 1;
    }
    size_t hl = n;
    if (hl > 0 && h[0] == '[') {
        const char *close = memchr(h, ']', hl);
        hl = close ? (size_t)(close - h) + 1 : hl;
    } else {
        const char *colon = memchr(h, ':', hl);
        if (colon != NULL)
            hl = (size_t)(colon - h);
    }
    for (size_t i = 0; i < hl; i++)
        if ((unsigned char)h[i] <= 0x20 || h[i] == 0x7f)
            return;
    put(out, cap, h, hl);
}

/* q=0.8 → 800; a malformed q counts as 0 (not acceptable). */
static int parse_q(const char *s, size_t n)
{
    while (n > 0 && (*s == ' ' || *s == '\t'))
        s++, n--;
    if (n < 3 || lower(s[0]) != 'q' || s[1] != '=')
        return 0;
    s += 2;
    n -= 2;
    if (s[0] == '1')
        return 1000;
    if (s[0] != '0')
        return 0;
    int q = 0, scale = 100;
    for (size_t i = 2; i < n && i < 5 && s[1] == '.'; i++, scale /= 10) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        q += (s[i] - '0') * scale;
    }
    return q;
}

void enrich_language(const char *al, size_t len, char *out, size_t cap)
{
    out[0] = '\0';
    int best = 0;
    size_t i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && al[end] != ',')
            end++;
        size_t t = i;
        while (t < end && (al[t] == ' ' || al[t] == '\t'))
            t++;
        size_t tag_end = t;
        while (tag_end < end && al[tag_end] != ';' && al[tag_end] != ' ')
            tag_end++;
        const char *semi = memchr(al + tag_end, ';', end - tag_end);
        int q = semi ? parse_q(semi + 1, (size_t)(al + end - semi - 1)) : 1000;
        bool valid = tag_end > t && !(tag_end - t == 1 && al[t] == '*');
        for (size_t k = t; valid && k < tag_end; k++) {
            char c = lower(al[k]);
            valid = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
        }
        if (valid && q > best) {
            best = q;
            put(out, cap, al + t, tag_end - t);
        }
        i = end + 1;
    }
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = lower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static void decode_into(char *out, size_t cap, const char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            c = (unsigned char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        }
        if (c < 0x20 || c == 0x7f)
            continue;
        out[o++] = (char)c;
    }
    out[o] = '\0';
}

void enrich_utm(const char *query, size_t len, char out[5][64])
{
    static const char *const names[5] = {"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"};
    for (int u = 0; u < 5; u++)
        out[u][0] = '\0';
    size_t i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && query[end] != '&')
            end++;
        const char *eq = memchr(query + i, '=', end - i);
        if (eq != NULL) {
            size_t klen = (size_t)(eq - (query + i));
            for (int u = 0; u < 5; u++)
                if (out[u][0] == '\0' && klen == strlen(names[u]) && memcmp(query + i, names[u], klen) == 0)
                    decode_into(out[u], 64, eq + 1, (size_t)(query + end - eq - 1));
        }
        i = end + 1;
    }
}
