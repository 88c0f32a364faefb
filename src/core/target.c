/* target: the redirect's Location after UTM and forward_query; see target.h. */
#include "core/target.h"

#include <string.h>

size_t target_utm_query(const struct link *l, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (int i = 0; i < LINK_UTM_N; i++) {
        if (l->utm[i][0] == '\0')
            continue;
        if (n > 0)
            out[n++] = '&';
        size_t k = strlen(link_utm_names[i]);
        memcpy(out + n, link_utm_names[i], k);
        n += k;
        out[n++] = '=';
        for (const unsigned char *p = (const unsigned char *)l->utm[i]; *p; p++) {
            if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
                *p == '.' || *p == '_' || *p == '~') {
                out[n++] = (char)*p;
            } else {
                out[n++] = '%';
                out[n++] = hex[*p >> 4];
                out[n++] = hex[*p & 15];
            }
        }
    }
    return n;
}

/* The next non-empty parameter of q[*i..len): start and length; false at the end. */
static bool next_param(const char *q, size_t len, size_t *i, const char **p, size_t *plen)
{
    while (*i < len) {
        size_t s = *i, e = s;
        while (e < len && q[e] != '&')
            e++;
        *i = e + 1;
        if (e > s) {
            *p = q + s;
            *plen = e - s;
            return true;
        }
    }
    return false;
}

static size_t name_len(const char *p, size_t plen)
{
    const char *eq = memchr(p, '=', plen);
    return eq ? (size_t)(eq - p) : plen;
}

static bool has_name(const char *q, size_t len, const char *name, size_t nlen)
{
    size_t i = 0;
    const char *p;
    size_t plen;
    while (next_param(q, len, &i, &p, &plen))
        if (name_len(p, plen) == nlen && memcmp(p, name, nlen) == 0)
            return true;
    return false;
}

static void emit(char *out, size_t *n, char *sep, const char *p, size_t plen)
{
    out[(*n)++] = *sep;
    *sep = '&';
    memcpy(out + *n, p, plen);
    *n += plen;
}

size_t target_build(char *out, const char *url, size_t url_len, const char *utm, size_t utm_len, bool forward,
                    const char *visitor, size_t visitor_len)
{
    if (!forward || visitor == NULL)
        visitor_len = 0;
    const char *hash = memchr(url, '#', url_len);
    size_t end = hash ? (size_t)(hash - url) : url_len;
    const char *qm = memchr(url, '?', end);
    size_t base = qm ? (size_t)(qm - url) : end;
    const char *tq = qm ? qm + 1 : url + end;
    size_t tq_len = qm ? end - base - 1 : 0;

    size_t n = base, i;
    memcpy(out, url, base);
    char sep = '?';
    const char *p;
    size_t plen;
    for (i = 0; next_param(tq, tq_len, &i, &p, &plen);)
        if (!has_name(visitor, visitor_len, p, name_len(p, plen)))
            emit(out, &n, &sep, p, plen);
    for (i = 0; next_param(utm, utm_len, &i, &p, &plen);) {
        size_t nl = name_len(p, plen);
        if (!has_name(tq, tq_len, p, nl) && !has_name(visitor, visitor_len, p, nl))
            emit(out, &n, &sep, p, plen);
    }
    for (i = 0; next_param(visitor, visitor_len, &i, &p, &plen);)
        emit(out, &n, &sep, p, plen);
    memcpy(out + n, url + end, url_len - end);
    return n + url_len - end;
}
