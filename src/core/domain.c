#include "core/domain.h"

#include <stdbool.h>
#include <string.h>

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

const char *domain_check_hostname(const char *s, size_t len, char *out)
{
    if (len > 0 && s[len - 1] == '.')
        len--; /* the root dot */
    if (len == 0 || len > DOMAIN_HOST_MAX)
        return "must be a hostname of 1 to 253 bytes";
    size_t label = 0, labels = 1;
    bool digits_only = true, last_label_digits = true;
    for (size_t i = 0; i < len; i++) {
        char c = lower(s[i]);
        if (c == '.') {
            if (label == 0 || out[i - 1] == '-')
                return "must be dot-separated labels that neither start nor end with a hyphen";
            labels++;
            label = 0;
            last_label_digits = true;
        } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') {
            if (c == '-' && label == 0)
                return "must be dot-separated labels that neither start nor end with a hyphen";
            if (++label > 63)
                return "must have labels of at most 63 bytes";
            if (!(c >= '0' && c <= '9'))
                digits_only = last_label_digits = false;
        } else {
            return "must hold only letters, digits, hyphens and dots (IDN hosts in their xn-- form)";
        }
        out[i] = c;
    }
    if (label == 0 || out[len - 1] == '-')
        return "must be dot-separated labels that neither start nor end with a hyphen";
    if (labels < 2)
        return "must have at least two labels (s.example.com)";
    if (digits_only || last_label_digits)
        return "must be a name, not an IP address";
    out[len] = '\0';
    return NULL;
}

size_t domain_host_of(const char *host, size_t len, char *out)
{
    if (len > 0 && host[0] == '[')
        return 0; /* an IPv6 literal: never a domain of ours */
    const char *colon = memchr(host, ':', len);
    if (colon != NULL)
        len = (size_t)(colon - host);
    if (len > 0 && host[len - 1] == '.')
        len--;
    if (len == 0 || len > DOMAIN_HOST_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        out[i] = lower(host[i]);
    out[len] = '\0';
    return len;
}
